//! `ferrokafka read`: what `write` wrote comes back byte-exact (keys,
//! values, headers with duplicates and nulls, partitions, timestamps),
//! against the fake cluster and Nisshi; every output form; the exit code
//! of each failure.

mod support;

use ferrokafka_fake::FakeCluster;
use ferrokafka_tests::Nisshi;
use serde_json::{json, Value};
use support::{failed, ferrokafka, json_lines, ok};

/// Records with every awkward shape, as base64 JSON lines for `write`.
fn awkward_records() -> Vec<Value> {
    let mut records = Vec::new();
    for i in 0..60u32 {
        let partition = i % 3;
        let key = match i % 5 {
            0 => Value::Null,
            1 => json!(""),
            _ => json!(b64(&[i as u8, 0, 0xff, b'k'])),
        };
        let value = match i % 7 {
            0 => Value::Null,
            1 => json!(""),
            // Bytes that are not UTF-8, and a larger value.
            2 => json!(b64(&vec![0x80 | i as u8; 3000])),
            _ => json!(b64(format!("value {i} \"quoted\"\n\ttabbed é").as_bytes())),
        };
        let headers = match i % 4 {
            0 => json!([]),
            1 => json!([{"key": "h", "value": b64(b"1")}, {"key": "h", "value": b64(b"1")}]),
            2 => json!([{"key": "n", "value": null}, {"key": "é", "value": b64(&[0, 0xfe])}]),
            _ => json!([{"key": "empty", "value": ""}]),
        };
        records.push(json!({
            "partition": partition,
            "timestamp": 1_700_000_000_000_i64 + i64::from(i) * 1_001,
            "key": key,
            "value": value,
            "headers": headers,
        }));
    }
    records
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `write` the awkward records, `read` them back, compare byte for byte.
fn round_trip(bootstrap: &str) {
    ok(&ferrokafka(
        &["-b", bootstrap, "topics", "create", "awkward", "-p", "3"],
        None,
    ));
    let records = awkward_records();
    let input: String = records.iter().map(|r| format!("{r}\n")).collect();
    ok(&ferrokafka(
        &[
            "-b",
            bootstrap,
            "write",
            "awkward",
            "--format",
            "json",
            "--encoding",
            "base64",
        ],
        Some(input.as_bytes()),
    ));
    let read = json_lines(&ok(&ferrokafka(
        &[
            "-b",
            bootstrap,
            "read",
            "awkward",
            "--output",
            "json",
            "--encoding",
            "base64",
        ],
        None,
    )));
    assert_eq!(read.len(), records.len());
    for partition in 0..3 {
        let written: Vec<&Value> = records
            .iter()
            .filter(|r| r["partition"] == partition)
            .collect();
        let mut back: Vec<&Value> = read
            .iter()
            .filter(|r| r["partition"] == partition)
            .collect();
        back.sort_by_key(|r| r["offset"].as_i64());
        assert_eq!(back.len(), written.len());
        for (offset, (w, r)) in written.iter().zip(&back).enumerate() {
            assert_eq!(r["topic"], "awkward");
            assert_eq!(r["offset"], offset as i64, "{r}");
            assert_eq!(r["timestampType"], 0);
            for field in ["timestamp", "key", "value", "headers"] {
                assert_eq!(
                    r[field], w[field],
                    "partition {partition} offset {offset} {field}"
                );
            }
        }
    }
    // What read prints, write takes back: a second topic gets the same.
    let dump: String = read.iter().map(|r| format!("{r}\n")).collect();
    ok(&ferrokafka(
        &["-b", bootstrap, "topics", "create", "copy", "-p", "3"],
        None,
    ));
    ok(&ferrokafka(
        &[
            "-b",
            bootstrap,
            "write",
            "copy",
            "--format",
            "json",
            "--encoding",
            "base64",
        ],
        Some(dump.as_bytes()),
    ));
    let copied = json_lines(&ok(&ferrokafka(
        &[
            "-b",
            bootstrap,
            "read",
            "copy",
            "--output",
            "json",
            "--encoding",
            "base64",
        ],
        None,
    )));
    let strip = |rows: &[Value]| {
        let mut rows: Vec<Value> = rows
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.as_object_mut().unwrap().remove("topic");
                r
            })
            .collect();
        rows.sort_by_key(|r| (r["partition"].as_i64(), r["offset"].as_i64()));
        rows
    };
    assert_eq!(strip(&copied), strip(&read));
}

#[test]
fn write_then_read_is_byte_exact_on_the_fake_cluster() {
    let cluster = FakeCluster::builder().build().unwrap();
    round_trip(&cluster.bootstrap());
}

#[test]
fn write_then_read_is_byte_exact_on_nisshi() {
    let broker = Nisshi::start();
    round_trip(&broker.bootstrap());
}

#[test]
fn every_output_form() {
    let cluster = FakeCluster::builder().topic("t", 1).build().unwrap();
    let b = cluster.bootstrap();
    let input = "a:one\nb:two\nc:three é\n";
    ok(&ferrokafka(
        &["-b", &b, "write", "t", "-K", ":"],
        Some(input.as_bytes()),
    ));
    let out = ok(&ferrokafka(
        &["-b", &b, "read", "t", "-f", "%t %p %o %k=%s|%K|%S\\n"],
        None,
    ));
    assert_eq!(
        out,
        "t 0 0 a=one|1|3\nt 0 1 b=two|1|3\nt 0 2 c=three é|1|8\n"
    );
    let out = ok(&ferrokafka(
        &["-b", &b, "read", "t", "--output", "raw"],
        None,
    ));
    assert_eq!(out, "one\ntwo\nthree é\n");
    let out = ok(&ferrokafka(
        &[
            "-b", &b, "read", "t", "--output", "raw", "-D", ";", "-c", "2",
        ],
        None,
    ));
    assert_eq!(out, "one;two;");
    let out = ok(&ferrokafka(
        &["-b", &b, "read", "t", "--output", "table"],
        None,
    ));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert!(
        lines[0].starts_with("partition  offset  timestamp"),
        "{out}"
    );
    assert!(lines[3].contains("three é"), "{out}");
    // Spark's options: start at an offset, stop before another.
    let out = ok(&ferrokafka(
        &[
            "-b",
            &b,
            "read",
            "-o",
            "assign={\"t\":[0]}",
            "-o",
            "startingOffsets={\"t\":{\"0\":1}}",
            "-o",
            "endingOffsets={\"t\":{\"0\":2}}",
            "-f",
            "%o %s\\n",
        ],
        None,
    ));
    assert_eq!(out, "1 two\n");
    // Text that is not UTF-8 in JSON is refused with the way out.
    ok(&ferrokafka(
        &[
            "-b",
            &b,
            "write",
            "t",
            "--format",
            "json",
            "--encoding",
            "base64",
        ],
        Some(b"{\"value\": \"/w==\"}\n"),
    ));
    let (code, text) = failed(&ferrokafka(
        &["-b", &b, "read", "t", "--output", "json"],
        None,
    ));
    assert_eq!(code, 1, "{text}");
    assert!(
        text.contains("t-0 offset 3") && text.contains("--encoding base64"),
        "{text}"
    );
}

#[test]
fn each_read_failure_has_its_exit_code() {
    let cluster = FakeCluster::builder().topic("t", 1).build().unwrap();
    let b = cluster.bootstrap();
    // A format with a field that does not exist: the command line is wrong.
    let (code, text) = failed(&ferrokafka(&["-b", &b, "read", "t", "-f", "%q"], None));
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("%q is not a field"), "{text}");
    // Nothing to read named; a Spark option refused with Spark's reason.
    let (code, text) = failed(&ferrokafka(&["-b", &b, "read"], None));
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("subscribe"), "{text}");
    let (code, text) = failed(&ferrokafka(
        &[
            "-b",
            &b,
            "read",
            "t",
            "-o",
            "kafka.auto.offset.reset=earliest",
        ],
        None,
    ));
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("auto.offset.reset"), "{text}");
    let (code, text) = failed(&ferrokafka(
        &["-b", &b, "read", "t", "-o", "endingOffsets=earliest"],
        None,
    ));
    assert_eq!(code, 3, "{text}");
    assert!(text.contains("endingOffsets"), "{text}");
    // Records the read asks for are gone.
    let input: String = (0..10).map(|i| format!("v{i}\n")).collect();
    ok(&ferrokafka(
        &["-b", &b, "write", "t"],
        Some(input.as_bytes()),
    ));
    cluster.delete_records("t", 0, 5).unwrap();
    let (code, text) = failed(&ferrokafka(
        &[
            "-b",
            &b,
            "read",
            "-o",
            "assign={\"t\":[0]}",
            "-o",
            "startingOffsets={\"t\":{\"0\":2}}",
        ],
        None,
    ));
    assert_eq!(code, 6, "{text}");
    assert!(text.contains("t-0"), "{text}");
    // With failOnDataLoss=false the rest is read and the skip reported.
    let out = ferrokafka(
        &[
            "-b",
            &b,
            "read",
            "-o",
            "assign={\"t\":[0]}",
            "-o",
            "startingOffsets={\"t\":{\"0\":2}}",
            "-o",
            "failOnDataLoss=false",
            "--output",
            "raw",
        ],
        None,
    );
    assert_eq!(ok(&out), "v5\nv6\nv7\nv8\nv9\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("3 offsets were gone"), "{stderr}");
}
