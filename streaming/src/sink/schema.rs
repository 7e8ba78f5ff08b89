//! The shape of a sink's input columns (§6.1): which columns it takes,
//! their types, and Spark's errors when they do not fit.

use super::error::SchemaError;

/// A column's type as Spark's sink sees it: the types it accepts, and any
/// other by its Spark name (`catalogString`), for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SparkType {
    /// `string`.
    String,
    /// `binary`.
    Binary,
    /// `int` (32-bit).
    Int,
    /// `array<struct<key:string,value:binary>>`: Kafka headers.
    Headers,
    /// Any other type, by its Spark name (e.g. `bigint`,
    /// `array<struct<key:string,value:string>>`).
    Other(String),
}

impl SparkType {
    /// The type's Spark name (`DataType.catalogString`).
    pub fn catalog_string(&self) -> &str {
        match self {
            SparkType::String => "string",
            SparkType::Binary => "binary",
            SparkType::Int => "int",
            SparkType::Headers => HEADERS_TYPE,
            SparkType::Other(name) => name,
        }
    }
}

/// The Spark name of the `headers` column's type.
pub(crate) const HEADERS_TYPE: &str = "array<struct<key:string,value:binary>>";

/// Where a sink finds each of its columns among the input's (by index),
/// once [`check_columns`] accepted them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkColumns {
    /// `topic`: `None` when the `topic` option gives it (the column, if
    /// any, is then neither checked nor read).
    pub topic: Option<usize>,
    /// `key`: `None` for null keys.
    pub key: Option<usize>,
    /// `value`.
    pub value: usize,
    /// `headers`: `None` for no headers.
    pub headers: Option<usize>,
    /// `partition`: `None` to let the partitioner choose.
    pub partition: Option<usize>,
}

/// Checks input columns (name and type, in order) as Spark's
/// `KafkaWriter.validateQuery` does, before any record is sent: `topic`
/// (unless `topic_option` is set), `key`, `value`, `headers`,
/// `partition`, in that order, each looked up by exact name (the first
/// of that name wins). Other columns are ignored.
///
/// The errors are Spark's, word for word:
///
/// ```
/// use ferrokafka_streaming::sink::{check_columns, SparkType};
///
/// let columns = [("topic", SparkType::String), ("value", SparkType::Other("bigint".into()))];
/// assert_eq!(
///     check_columns(&columns, None).unwrap_err().to_string(),
///     "value attribute unsupported type bigint. value must be a(n) string or binary"
/// );
/// let columns = [("value", SparkType::Binary)];
/// assert_eq!(
///     check_columns(&columns, None).unwrap_err().to_string(),
///     "topic option required when no 'topic' attribute is present. Use the topic option for setting a topic."
/// );
/// let plan = check_columns(&columns, Some("orders")).unwrap();
/// assert_eq!((plan.topic, plan.value), (None, 0));
/// ```
pub fn check_columns<N: AsRef<str>>(
    columns: &[(N, SparkType)],
    topic_option: Option<&str>,
) -> Result<SinkColumns, SchemaError> {
    let find = |name: &str| columns.iter().position(|(n, _)| n.as_ref() == name);
    let check = |index: Option<usize>,
                 attribute: &'static str,
                 accepted: &[SparkType],
                 expected: &'static str|
     -> Result<Option<usize>, SchemaError> {
        let Some(index) = index else {
            return Ok(None);
        };
        let found = &columns[index].1;
        if accepted.contains(found) {
            Ok(Some(index))
        } else {
            Err(SchemaError::UnsupportedType {
                attribute,
                found: found.catalog_string().to_owned(),
                expected,
            })
        }
    };
    let topic = match topic_option {
        Some(_) => None,
        None => {
            let index = find("topic").ok_or(SchemaError::MissingTopic)?;
            check(Some(index), "topic", &[SparkType::String], "string")?
        }
    };
    let binary = [SparkType::String, SparkType::Binary];
    let key = check(find("key"), "key", &binary, "string or binary")?;
    let value = find("value").ok_or(SchemaError::MissingValue)?;
    check(Some(value), "value", &binary, "string or binary")?;
    let headers = check(
        find("headers"),
        "headers",
        &[SparkType::Headers],
        HEADERS_TYPE,
    )?;
    let partition = check(find("partition"), "partition", &[SparkType::Int], "int")?;
    Ok(SinkColumns {
        topic,
        key,
        value,
        headers,
        partition,
    })
}
