//! How `ferrokafka read` prints rows: JSON lines (what `ferrokafka write
//! --format json` takes back), a table for people, raw values, or a
//! kcat-style format string.
//!
//! Every renderer appends to a byte buffer, so a read writes large blocks
//! to stdout and builds no intermediate values per row.

use std::fmt;

use base64::Engine as _;
use ferrokafka::RecordHeader;
use ferrokafka_streaming::Row;

use crate::cmd::write::Encoding;

/// Why a row cannot be printed as asked.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct RenderError(pub(crate) String);

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What printing needs of a row (a trait so the renderers are tested
/// without a broker).
pub(crate) trait Printable {
    fn topic(&self) -> &str;
    fn partition(&self) -> i32;
    fn offset(&self) -> i64;
    fn timestamp_millis(&self) -> i64;
    fn timestamp_type_code(&self) -> i32;
    fn key(&self) -> Option<&[u8]>;
    fn value(&self) -> Option<&[u8]>;
    fn headers(&self) -> &[RecordHeader];
}

impl Printable for Row {
    fn topic(&self) -> &str {
        Row::topic(self)
    }
    fn partition(&self) -> i32 {
        Row::partition(self)
    }
    fn offset(&self) -> i64 {
        Row::offset(self)
    }
    fn timestamp_millis(&self) -> i64 {
        Row::timestamp_millis(self)
    }
    fn timestamp_type_code(&self) -> i32 {
        Row::timestamp_type_code(self)
    }
    fn key(&self) -> Option<&[u8]> {
        Row::key(self).map(|k| &k[..])
    }
    fn value(&self) -> Option<&[u8]> {
        Row::value(self).map(|v| &v[..])
    }
    fn headers(&self) -> &[RecordHeader] {
        Row::headers(self).unwrap_or_default()
    }
}

/// One piece of a kcat-style format string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Bytes printed as they are.
    Literal(Vec<u8>),
    /// `%s`: the value.
    Value,
    /// `%k`: the key.
    Key,
    /// `%t`: the topic.
    Topic,
    /// `%p`: the partition.
    Partition,
    /// `%o`: the offset.
    Offset,
    /// `%T`: the timestamp, milliseconds since the epoch.
    Timestamp,
    /// `%h`: the headers, `key=value` separated by commas (a null value
    /// prints the key alone).
    Headers,
    /// `%K`: the key's length in bytes (-1 for a null key).
    KeyLength,
    /// `%S`: the value's length in bytes (-1 for a null value).
    ValueLength,
}

/// What the format string's `%` letters mean (for `--help` and errors).
pub(crate) const FORMAT_HELP: &str = "%s value, %k key, %t topic, %p partition, %o offset, \
     %T timestamp (ms), %h headers (k=v,…), %K key length, %S value length, %% a percent sign; \
     \\n \\r \\t \\\\ as in C";

/// Parses a kcat-style format string such as `'%t %p %o %k %s\n'`.
pub(crate) fn parse_format(format: &str) -> Result<Vec<Piece>, RenderError> {
    let mut pieces = Vec::new();
    let mut literal = Vec::new();
    let mut chars = format.chars();
    let flush = |literal: &mut Vec<u8>, pieces: &mut Vec<Piece>| {
        if !literal.is_empty() {
            pieces.push(Piece::Literal(std::mem::take(literal)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '%' => {
                let piece = match chars.next() {
                    Some('s') => Piece::Value,
                    Some('k') => Piece::Key,
                    Some('t') => Piece::Topic,
                    Some('p') => Piece::Partition,
                    Some('o') => Piece::Offset,
                    Some('T') => Piece::Timestamp,
                    Some('h') => Piece::Headers,
                    Some('K') => Piece::KeyLength,
                    Some('S') => Piece::ValueLength,
                    Some('%') => {
                        literal.push(b'%');
                        continue;
                    }
                    Some(other) => {
                        return Err(RenderError(format!(
                            "--format: %{other} is not a field; use {FORMAT_HELP}"
                        )))
                    }
                    None => {
                        return Err(RenderError(format!(
                            "--format ends with a lone %; use {FORMAT_HELP}"
                        )))
                    }
                };
                flush(&mut literal, &mut pieces);
                pieces.push(piece);
            }
            '\\' => match chars.next() {
                Some('n') => literal.push(b'\n'),
                Some('r') => literal.push(b'\r'),
                Some('t') => literal.push(b'\t'),
                Some('\\') => literal.push(b'\\'),
                Some(other) => {
                    literal.push(b'\\');
                    let mut utf8 = [0; 4];
                    literal.extend_from_slice(other.encode_utf8(&mut utf8).as_bytes());
                }
                None => literal.push(b'\\'),
            },
            other => {
                let mut utf8 = [0; 4];
                literal.extend_from_slice(other.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
    flush(&mut literal, &mut pieces);
    Ok(pieces)
}

/// Whether printing with `pieces` shows headers.
pub(crate) fn shows_headers(pieces: &[Piece]) -> bool {
    pieces.contains(&Piece::Headers)
}

/// Appends `row` as `pieces` say; null keys and values print as `null_text`.
pub(crate) fn render_format(
    out: &mut Vec<u8>,
    row: &impl Printable,
    pieces: &[Piece],
    null_text: &[u8],
) {
    use std::io::Write as _;
    for piece in pieces {
        // Writing into a Vec cannot fail.
        let _ = match piece {
            Piece::Literal(bytes) => {
                out.extend_from_slice(bytes);
                Ok(())
            }
            Piece::Value => {
                out.extend_from_slice(row.value().unwrap_or(null_text));
                Ok(())
            }
            Piece::Key => {
                out.extend_from_slice(row.key().unwrap_or(null_text));
                Ok(())
            }
            Piece::Topic => {
                out.extend_from_slice(row.topic().as_bytes());
                Ok(())
            }
            Piece::Partition => write!(out, "{}", row.partition()),
            Piece::Offset => write!(out, "{}", row.offset()),
            Piece::Timestamp => write!(out, "{}", row.timestamp_millis()),
            Piece::KeyLength => write!(out, "{}", row.key().map_or(-1, |k| k.len() as i64)),
            Piece::ValueLength => write!(out, "{}", row.value().map_or(-1, |v| v.len() as i64)),
            Piece::Headers => {
                for (i, header) in row.headers().iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    out.extend_from_slice(&header.key);
                    if let Some(value) = &header.value {
                        out.push(b'=');
                        out.extend_from_slice(value);
                    }
                }
                Ok(())
            }
        };
    }
}

/// Appends `row` as one JSON object and a newline: `topic`, `partition`,
/// `offset`, `timestamp` (ms), `timestampType` (Spark's code: 0 create
/// time, 1 log-append time), `key`, `value` and, when the row has them,
/// `headers` (`[{"key": …, "value": … or null}]`, in order, duplicates
/// kept). Keys, values and header values are UTF-8 text, or base64 with
/// [`Encoding::Base64`]; bytes that are not UTF-8 are an error that says to
/// use base64, never a lossy replacement.
pub(crate) fn render_json(
    out: &mut Vec<u8>,
    row: &impl Printable,
    encoding: Encoding,
    with_headers: bool,
) -> Result<(), RenderError> {
    use std::io::Write as _;
    let _ = write!(out, "{{\"topic\":");
    json_string(out, row.topic());
    let _ = write!(
        out,
        ",\"partition\":{},\"offset\":{},\"timestamp\":{},\"timestampType\":{},\"key\":",
        row.partition(),
        row.offset(),
        row.timestamp_millis(),
        row.timestamp_type_code()
    );
    json_bytes(out, row.key(), encoding).map_err(|e| located(row, &format!("its key {e}")))?;
    out.extend_from_slice(b",\"value\":");
    json_bytes(out, row.value(), encoding).map_err(|e| located(row, &format!("its value {e}")))?;
    if with_headers {
        out.extend_from_slice(b",\"headers\":[");
        for (i, header) in row.headers().iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"key\":");
            // Kafka's header keys are Java strings: always text.
            json_string(out, &String::from_utf8_lossy(&header.key));
            out.extend_from_slice(b",\"value\":");
            json_bytes(out, header.value.as_deref(), encoding).map_err(|e| {
                located(
                    row,
                    &format!("its header {:?} {e}", String::from_utf8_lossy(&header.key)),
                )
            })?;
            out.push(b'}');
        }
        out.push(b']');
    }
    out.extend_from_slice(b"}\n");
    Ok(())
}

fn located(row: &impl Printable, what: &str) -> RenderError {
    RenderError(format!(
        "the record at {}-{} offset {}: {what}",
        row.topic(),
        row.partition(),
        row.offset()
    ))
}

fn json_string(out: &mut Vec<u8>, text: &str) {
    // serde_json escapes exactly what JSON needs; a Vec never fails.
    let _ = serde_json::to_writer(&mut *out, text);
}

fn json_bytes(out: &mut Vec<u8>, bytes: Option<&[u8]>, encoding: Encoding) -> Result<(), String> {
    match (bytes, encoding) {
        (None, _) => out.extend_from_slice(b"null"),
        (Some(bytes), Encoding::Utf8) => match std::str::from_utf8(bytes) {
            Ok(text) => json_string(out, text),
            Err(_) => {
                return Err(
                    "is not UTF-8 text: read it with --encoding base64 (write takes that back)"
                        .to_owned(),
                )
            }
        },
        (Some(bytes), Encoding::Base64) => {
            let engine = base64::engine::general_purpose::STANDARD;
            let start = out.len() + 1;
            let length = base64::encoded_len(bytes.len(), true).unwrap_or(0);
            out.push(b'"');
            out.resize(start + length, 0);
            let written = engine
                .encode_slice(bytes, &mut out[start..])
                .unwrap_or_default();
            out.truncate(start + written);
            out.push(b'"');
        }
    }
    Ok(())
}

/// The columns of the table output.
pub(crate) const TABLE_COLUMNS: [&str; 6] = [
    "partition",
    "offset",
    "timestamp",
    "key",
    "value",
    "headers",
];

/// The cells of `row` in the table: text as it is (control characters
/// escaped, long text cut with `…`), bytes that are not text as `0x…`,
/// null as `-`; the timestamp in UTC.
pub(crate) fn table_cells(row: &impl Printable, width: usize) -> [String; 6] {
    let time = u64::try_from(row.timestamp_millis())
        .ok()
        .map(|ms| {
            humantime::format_rfc3339_millis(
                std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms),
            )
            .to_string()
        })
        .unwrap_or_else(|| row.timestamp_millis().to_string());
    let headers = row
        .headers()
        .iter()
        .map(|h| {
            let key = String::from_utf8_lossy(&h.key);
            match &h.value {
                Some(v) => format!("{key}={}", shown(Some(&v[..]), width)),
                None => key.into_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(",");
    [
        row.partition().to_string(),
        row.offset().to_string(),
        time,
        shown(row.key(), width),
        shown(row.value(), width),
        if headers.is_empty() {
            "-".to_owned()
        } else {
            headers
        },
    ]
}

/// Bytes as a table cell.
fn shown(bytes: Option<&[u8]>, width: usize) -> String {
    let Some(bytes) = bytes else {
        return "-".to_owned();
    };
    let text: String = match std::str::from_utf8(bytes) {
        Ok(text) => text.escape_debug().collect(),
        Err(_) => {
            let mut hex = String::from("0x");
            for b in bytes.iter().take(width) {
                hex.push_str(&format!("{b:02x}"));
            }
            hex
        }
    };
    if text.chars().count() > width {
        let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
        cut.push('…');
        cut
    } else {
        text
    }
}

/// Appends one table line: cells padded to `widths`, two spaces apart.
pub(crate) fn table_line(out: &mut Vec<u8>, cells: &[String], widths: &[usize]) {
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i > 0 {
            line.push_str("  ");
        }
        line.push_str(cell);
        let pad = width.saturating_sub(cell.chars().count());
        line.extend(std::iter::repeat_n(' ', pad));
    }
    out.extend_from_slice(line.trim_end().as_bytes());
    out.push(b'\n');
}

#[cfg(test)]
mod tests;
