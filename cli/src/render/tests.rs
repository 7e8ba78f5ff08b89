use bytes::Bytes;

use super::*;

/// A row as the renderers see it.
struct TestRow {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<RecordHeader>,
    timestamp: i64,
}

impl Printable for TestRow {
    fn topic(&self) -> &str {
        "orders"
    }
    fn partition(&self) -> i32 {
        3
    }
    fn offset(&self) -> i64 {
        42
    }
    fn timestamp_millis(&self) -> i64 {
        self.timestamp
    }
    fn timestamp_type_code(&self) -> i32 {
        0
    }
    fn key(&self) -> Option<&[u8]> {
        self.key.as_deref()
    }
    fn value(&self) -> Option<&[u8]> {
        self.value.as_deref()
    }
    fn headers(&self) -> &[RecordHeader] {
        &self.headers
    }
}

fn header(key: &str, value: Option<&[u8]>) -> RecordHeader {
    RecordHeader {
        key: Bytes::copy_from_slice(key.as_bytes()),
        value: value.map(Bytes::copy_from_slice),
    }
}

fn sample() -> TestRow {
    TestRow {
        key: Some(b"k1".to_vec()),
        value: Some("h\u{e9}llo \"x\"\n".as_bytes().to_vec()),
        headers: vec![
            header("h", Some(b"1")),
            header("h", Some(b"2")),
            header("gone", None),
        ],
        timestamp: 1_700_000_000_123,
    }
}

#[test]
fn kcat_format_strings_print_every_field() {
    let pieces = parse_format("%t %p %o %T %k=%s [%h] %K/%S 100%%\\n").unwrap();
    assert!(shows_headers(&pieces));
    let mut out = Vec::new();
    render_format(&mut out, &sample(), &pieces, b"");
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "orders 3 42 1700000000123 k1=h\u{e9}llo \"x\"\n [h=1,h=2,gone] 2/11 100%\n"
    );
    let null_row = TestRow {
        key: None,
        value: None,
        headers: vec![],
        timestamp: -1,
    };
    let mut out = Vec::new();
    render_format(
        &mut out,
        &null_row,
        &parse_format("%k|%s|%K|%S|%h").unwrap(),
        b"NULL",
    );
    assert_eq!(String::from_utf8(out).unwrap(), "NULL|NULL|-1|-1|");
}

#[test]
fn bad_format_strings_say_what_is_accepted() {
    let err = parse_format("%t %x").unwrap_err();
    assert!(
        err.0.contains("%x is not a field") && err.0.contains("%s value"),
        "{err}"
    );
    let err = parse_format("50%").unwrap_err();
    assert!(err.0.contains("lone %"), "{err}");
    // An unknown escape is kept as written.
    assert_eq!(
        parse_format("a\\qb").unwrap(),
        vec![Piece::Literal(b"a\\qb".to_vec())]
    );
    assert!(!shows_headers(&parse_format("%s").unwrap()));
}

#[test]
fn json_lines_are_what_write_takes_back() {
    let mut out = Vec::new();
    render_json(&mut out, &sample(), Encoding::Utf8, true).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.ends_with("}\n") && text.matches('\n').count() == 1,
        "{text}"
    );
    let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        parsed,
        serde_json::json!({
            "topic": "orders", "partition": 3, "offset": 42,
            "timestamp": 1_700_000_000_123_i64, "timestampType": 0,
            "key": "k1", "value": "h\u{e9}llo \"x\"\n",
            "headers": [
                {"key": "h", "value": "1"},
                {"key": "h", "value": "2"},
                {"key": "gone", "value": null}
            ]
        })
    );
    // What write decodes is what was read.
    let value = crate::cmd::write::decode_bytes("value", &parsed["value"], Encoding::Utf8).unwrap();
    assert_eq!(value.as_deref(), sample().value.as_deref());

    let binary = TestRow {
        key: None,
        value: Some(vec![0xff, 0x00, 0xfe]),
        headers: vec![header("bin", Some(&[0x80]))],
        timestamp: 5,
    };
    let mut out = Vec::new();
    let err = render_json(&mut out, &binary, Encoding::Utf8, false).unwrap_err();
    assert!(
        err.0.contains("orders-3 offset 42") && err.0.contains("--encoding base64"),
        "{err}"
    );
    let mut out = Vec::new();
    render_json(&mut out, &binary, Encoding::Base64, true).unwrap();
    let parsed: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(parsed["key"], serde_json::Value::Null);
    assert_eq!(parsed["value"], "/wD+");
    assert_eq!(parsed["headers"][0]["value"], "gA==");
    let decoded =
        crate::cmd::write::decode_bytes("value", &parsed["value"], Encoding::Base64).unwrap();
    assert_eq!(decoded.as_deref(), Some(&[0xff, 0x00, 0xfe][..]));
    // Without headers asked for, there is no headers field.
    let mut out = Vec::new();
    render_json(&mut out, &sample(), Encoding::Utf8, false).unwrap();
    assert!(!String::from_utf8(out).unwrap().contains("headers"));
}

#[test]
fn table_cells_are_readable() {
    let cells = table_cells(&sample(), 8);
    assert_eq!(cells[0], "3");
    assert_eq!(cells[1], "42");
    assert_eq!(cells[2], "2023-11-14T22:13:20.123Z");
    assert_eq!(cells[3], "k1");
    // Quotes and newlines escaped, cut to 8 characters.
    assert_eq!(cells[4], "h\u{e9}llo \\…");
    assert_eq!(table_cells(&sample(), 40)[4], "h\u{e9}llo \\\"x\\\"\\n");
    assert_eq!(cells[5], "h=1,h=2,gone");
    let binary = TestRow {
        key: None,
        value: Some(vec![0xff, 0x01]),
        headers: vec![],
        timestamp: -1,
    };
    let cells = table_cells(&binary, 40);
    assert_eq!(
        (
            cells[2].as_str(),
            cells[3].as_str(),
            cells[4].as_str(),
            cells[5].as_str()
        ),
        ("-1", "-", "0xff01", "-")
    );
    let mut out = Vec::new();
    table_line(&mut out, &["a".to_owned(), "bb".to_owned()], &[3, 3]);
    assert_eq!(out, b"a    bb\n");
}
