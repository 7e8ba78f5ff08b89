//! Spark's `StreamingQueryProgress` JSON schema, as `progress.scala` writes
//! it and PySpark's `StreamingQueryProgress.fromJson` reads it back: the
//! fields each reader requires, their JSON types, and no field Spark does
//! not know. A progress line that passes loads in Spark's readers.

use serde_json::{Map, Value};

/// What a field holds.
#[derive(Clone, Copy)]
enum Kind {
    Uuid,
    /// `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'`.
    Timestamp,
    String,
    NullableString,
    /// A JSON integer (a Scala `Long`).
    Long,
    /// A JSON number (a Scala `Double`).
    Double,
    /// An object of `Long`s (`durationMs`).
    LongMap,
    /// An object of strings (`eventTime`, `metrics`).
    StringMap,
    /// Kafka source offsets, `{"topic":{"partition":offset}}`, or null.
    Offsets,
    /// Spark's `StateOperatorProgress` list: empty for this source.
    EmptyArray,
    Sources,
    Sink,
    /// `observedMetrics`: rows by name.
    Object,
}

/// (field, kind, required)
const QUERY: &[(&str, Kind, bool)] = &[
    ("id", Kind::Uuid, true),
    ("runId", Kind::Uuid, true),
    ("name", Kind::NullableString, true),
    ("timestamp", Kind::Timestamp, true),
    ("batchId", Kind::Long, true),
    ("batchDuration", Kind::Long, true),
    ("numInputRows", Kind::Long, true),
    ("inputRowsPerSecond", Kind::Double, true),
    ("processedRowsPerSecond", Kind::Double, true),
    ("durationMs", Kind::LongMap, true),
    ("eventTime", Kind::StringMap, false),
    ("stateOperators", Kind::EmptyArray, true),
    ("sources", Kind::Sources, true),
    ("sink", Kind::Sink, true),
    ("observedMetrics", Kind::Object, false),
];

const SOURCE: &[(&str, Kind, bool)] = &[
    ("description", Kind::String, true),
    ("startOffset", Kind::Offsets, true),
    ("endOffset", Kind::Offsets, true),
    ("latestOffset", Kind::Offsets, true),
    ("numInputRows", Kind::Long, true),
    ("inputRowsPerSecond", Kind::Double, true),
    ("processedRowsPerSecond", Kind::Double, true),
    ("metrics", Kind::StringMap, false),
];

const SINK: &[(&str, Kind, bool)] = &[
    ("description", Kind::String, true),
    ("numOutputRows", Kind::Long, true),
    ("metrics", Kind::StringMap, false),
];

/// Parses `line` and checks it against the schema; the parsed value, or
/// what does not fit.
pub(crate) fn check(line: &str) -> Result<Value, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    object(&value, "progress", QUERY)?;
    Ok(value)
}

fn object(value: &Value, path: &str, fields: &[(&str, Kind, bool)]) -> Result<(), String> {
    let map = value
        .as_object()
        .ok_or_else(|| format!("{path} is not an object"))?;
    for key in map.keys() {
        if !fields.iter().any(|(name, ..)| name == key) {
            return Err(format!("{path}.{key} is not a field of Spark's schema"));
        }
    }
    for (name, kind, required) in fields {
        let field_path = format!("{path}.{name}");
        match map.get(*name) {
            Some(field) => field_of(field, &field_path, *kind)?,
            None if *required => return Err(format!("{field_path} is missing")),
            None => {}
        }
    }
    Ok(())
}

fn field_of(value: &Value, path: &str, kind: Kind) -> Result<(), String> {
    let fits = match kind {
        Kind::Uuid => value.as_str().is_some_and(is_uuid),
        Kind::Timestamp => value.as_str().is_some_and(is_timestamp),
        Kind::String => value.is_string(),
        Kind::NullableString => value.is_string() || value.is_null(),
        Kind::Long => value.is_i64(),
        Kind::Double => value.is_number(),
        Kind::LongMap => map_of(value, Value::is_i64),
        Kind::StringMap => map_of(value, Value::is_string),
        Kind::Offsets => value.is_null() || map_of(value, |topic| map_of(topic, Value::is_i64)),
        Kind::EmptyArray => value.as_array().is_some_and(Vec::is_empty),
        Kind::Object => value.is_object(),
        Kind::Sources => {
            let sources = value
                .as_array()
                .ok_or_else(|| format!("{path} is not an array"))?;
            for (i, source) in sources.iter().enumerate() {
                object(source, &format!("{path}[{i}]"), SOURCE)?;
            }
            !sources.is_empty()
        }
        Kind::Sink => return object(value, path, SINK),
    };
    if fits {
        Ok(())
    } else {
        Err(format!("{path} does not fit Spark's schema: {value}"))
    }
}

fn map_of(value: &Value, each: impl Fn(&Value) -> bool) -> bool {
    value
        .as_object()
        .is_some_and(|map: &Map<String, Value>| map.values().all(each))
}

fn is_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

fn is_timestamp(text: &str) -> bool {
    // 2025-03-01T12:00:10.000Z
    let shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    text.len() == shape.len()
        && text.chars().zip(shape.chars()).all(|(c, s)| match s {
            'd' => c.is_ascii_digit(),
            s => c == s,
        })
}
