//! [`SinkRow`]: one row to write, with the sink's columns.

use std::sync::Arc;

use bytes::Bytes;

use crate::row::Row;

/// One row to write: Spark's sink columns `topic`, `key`, `value`,
/// `partition` and `headers`, built with chained setters.
///
/// * `topic`: `None` is a null topic, which fails the write unless the
///   sink has a `topic` option (which overrides it for every row).
/// * `key`, `value`: `None` is null (a null value is a tombstone).
/// * `partition`: `None` lets the producer's partitioner choose (Kafka's
///   default: murmur2 of the key, as Java's producer; null keys go to a
///   sticky partition that changes per batch).
/// * `headers`: in order, duplicates kept, `None` values allowed.
/// * `timestamp` (not a Spark sink column): milliseconds since the epoch;
///   `None` is the time of sending, as in Spark.
///
/// ```
/// use ferrokafka_streaming::sink::SinkRow;
///
/// let row = SinkRow::new()
///     .topic("orders")
///     .key("customer-7")
///     .value(&b"{\"total\":12}"[..])
///     .header("trace", Some("a1"))
///     .header("trace", None::<&str>)
///     .partition(2);
/// assert_eq!(row.headers.len(), 2);
/// ```
///
/// A row read by a [`BatchSource`](crate::batch::BatchSource) or a
/// streaming query converts with `From`, columns for columns, as Spark
/// writes a Kafka read back to Kafka (the read's timestamp is not kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkRow {
    /// `topic`.
    pub topic: Option<Arc<str>>,
    /// `key`.
    pub key: Option<Bytes>,
    /// `value`.
    pub value: Option<Bytes>,
    /// `partition`.
    pub partition: Option<i32>,
    /// `headers`: (key, value) pairs.
    pub headers: Vec<(String, Option<Bytes>)>,
    /// The record's timestamp, ms since the epoch (not a Spark column).
    pub timestamp: Option<i64>,
}

impl SinkRow {
    /// A row with every column null (and no headers).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `topic`.
    pub fn topic(mut self, topic: impl Into<Arc<str>>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// Sets `key`.
    pub fn key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sets `value`.
    pub fn value(mut self, value: impl Into<Bytes>) -> Self {
        self.value = Some(value.into());
        self
    }

    /// Sets `partition`.
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Appends a header.
    pub fn header(mut self, key: impl Into<String>, value: Option<impl Into<Bytes>>) -> Self {
        self.headers.push((key.into(), value.map(Into::into)));
        self
    }

    /// Sets the record's timestamp (ms since the epoch).
    pub fn timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }
}

impl From<Row> for SinkRow {
    /// The read row's `topic`, `key`, `value`, `partition` and `headers`
    /// (header keys decoded as UTF-8, invalid bytes replaced), without
    /// copying key and value bytes.
    fn from(row: Row) -> Self {
        let record = row.into_record();
        SinkRow {
            topic: Some(record.topic),
            key: record.key,
            value: record.value,
            partition: Some(record.partition),
            headers: record
                .headers
                .into_iter()
                .map(|header| {
                    (
                        String::from_utf8_lossy(&header.key).into_owned(),
                        header.value,
                    )
                })
                .collect(),
            timestamp: None,
        }
    }
}

impl From<&Row> for SinkRow {
    /// As `From<Row>`, sharing the row's bytes.
    fn from(row: &Row) -> Self {
        row.clone().into()
    }
}
