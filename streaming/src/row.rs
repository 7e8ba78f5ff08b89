//! [`Row`]: one record as a row of Spark's Kafka source schema (§5).

use std::sync::Arc;

use bytes::Bytes;
use ferrokafka::{Record, RecordHeader, TimestampType};

/// One record as a row of Spark's Kafka source: `key`, `value`, `topic`,
/// `partition`, `offset`, `timestamp`, `timestampType` and, with
/// `includeHeaders`, `headers`.
///
/// A row wraps the fetched [`Record`] without copying: key, value and
/// header bytes are slices of the fetched (or decompressed) buffer.
///
/// ```
/// use ferrokafka_streaming::Row;
/// # fn show(row: &Row) {
/// println!(
///     "{}-{}@{}: {:?} at {} µs (type {}), headers {:?}",
///     row.topic(), row.partition(), row.offset(), row.value(),
///     row.timestamp_micros(), row.timestamp_type_code(), row.headers(),
/// );
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    record: Record,
}

impl Row {
    /// The row of a record read without headers, or with
    /// `includeHeaders` (see [`drop_headers`]).
    #[inline]
    pub(crate) fn wrap(record: Record) -> Self {
        Row { record }
    }

    /// `key`: the record's key, `None` for a null key.
    pub fn key(&self) -> Option<&Bytes> {
        self.record.key.as_ref()
    }

    /// `value`: the record's value, `None` for a null value (a tombstone).
    pub fn value(&self) -> Option<&Bytes> {
        self.record.value.as_ref()
    }

    /// `topic`.
    pub fn topic(&self) -> &str {
        &self.record.topic
    }

    /// The topic, shared by every row of the partition.
    pub fn topic_arc(&self) -> &Arc<str> {
        &self.record.topic
    }

    /// `partition`.
    pub fn partition(&self) -> i32 {
        self.record.partition
    }

    /// `offset`.
    pub fn offset(&self) -> i64 {
        self.record.offset
    }

    /// The record's timestamp as Kafka has it: milliseconds since the epoch.
    pub fn timestamp_millis(&self) -> i64 {
        self.record.timestamp
    }

    /// `timestamp` as Spark holds it: microseconds since the epoch
    /// (milliseconds × 1000, so Kafka's `-1` becomes `-1000`, one
    /// millisecond before the epoch), saturating where Spark's exact
    /// multiplication would fail.
    pub fn timestamp_micros(&self) -> i64 {
        timestamp_micros(&self.record)
    }

    /// Whether the producer or the broker set the timestamp.
    pub fn timestamp_type(&self) -> TimestampType {
        self.record.timestamp_type
    }

    /// `timestampType` as Spark has it: Kafka's `TimestampType.id`, `0`
    /// for create time, `1` for log-append time.
    pub fn timestamp_type_code(&self) -> i32 {
        timestamp_type_code(&self.record)
    }

    /// `headers`, in record order with duplicates kept: `None` when the
    /// record has none (Spark's null, not an empty array), and always
    /// `None` when the read does not include headers (Spark then has no
    /// `headers` column).
    pub fn headers(&self) -> Option<&[RecordHeader]> {
        headers(&self.record)
    }

    /// The row's bytes: key, value, and header keys and values.
    pub fn size_in_bytes(&self) -> u64 {
        size_in_bytes(&self.record)
    }

    /// The fetched record (with no headers when the read does not include
    /// them).
    pub fn record(&self) -> &Record {
        &self.record
    }

    /// The fetched record (with no headers when the read does not include
    /// them).
    pub fn into_record(self) -> Record {
        self.record
    }
}

// The columns of a row, computed from the fetched record, shared by `Row`
// and the readers and Arrow builder that hold records a batch at a time.

/// Empties the headers of a record read without `includeHeaders`.
#[inline]
pub(crate) fn drop_headers(record: &mut Record) {
    if !record.headers.is_empty() {
        record.headers = Vec::new();
    }
}

pub(crate) fn timestamp_micros(record: &Record) -> i64 {
    record.timestamp.saturating_mul(1000)
}

pub(crate) fn timestamp_type_code(record: &Record) -> i32 {
    match record.timestamp_type {
        TimestampType::CreateTime => 0,
        TimestampType::LogAppendTime => 1,
    }
}

pub(crate) fn headers(record: &Record) -> Option<&[RecordHeader]> {
    (!record.headers.is_empty()).then_some(record.headers.as_slice())
}

pub(crate) fn size_in_bytes(record: &Record) -> u64 {
    let len = |bytes: Option<&Bytes>| bytes.map_or(0, |b| b.len() as u64);
    let headers: u64 = record
        .headers
        .iter()
        .map(|h| h.key.len() as u64 + len(h.value.as_ref()))
        .sum();
    len(record.key.as_ref()) + len(record.value.as_ref()) + headers
}
