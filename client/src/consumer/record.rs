//! What a reader hands out: offset ranges in, records and per-partition
//! watermarks out.

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use ferrokafka_protocol::record::TimestampType;

use crate::types::TopicPartition;

/// Offsets `[start, end)` of one partition to read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReadRange {
    /// The partition.
    pub tp: TopicPartition,
    /// The first offset to return.
    pub start: i64,
    /// One past the last offset to return.
    pub end: i64,
}

impl ReadRange {
    /// Offsets `range` of `topic`-`partition`.
    pub fn new(topic: impl Into<Arc<str>>, partition: i32, range: Range<i64>) -> Self {
        ReadRange {
            tp: TopicPartition::new(topic, partition),
            start: range.start,
            end: range.end,
        }
    }

    /// How many offsets the range spans (0 for an empty or inverted one).
    pub fn len(&self) -> u64 {
        u64::try_from(self.end.saturating_sub(self.start)).unwrap_or(0)
    }

    /// Whether the range holds no offset.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One header of a record. Kafka allows repeated keys and null values;
/// both are kept as they came.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordHeader {
    /// The key, as bytes (Kafka says UTF-8; see [`key_str`](Self::key_str)).
    pub key: Bytes,
    /// The value, or `None` for a null value.
    pub value: Option<Bytes>,
}

impl RecordHeader {
    /// The key as UTF-8.
    pub fn key_str(&self) -> std::result::Result<&str, std::str::Utf8Error> {
        std::str::from_utf8(&self.key)
    }
}

/// One record. Key, value and headers share the fetched buffer (no copy).
///
/// Equality and `Debug` cover the public fields, not the shared buffer.
#[derive(Clone)]
#[non_exhaustive]
pub struct Record {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The offset.
    pub offset: i64,
    /// Milliseconds since the epoch.
    pub timestamp: i64,
    /// Whether the producer or the broker set the timestamp.
    pub timestamp_type: TimestampType,
    /// The key, or `None` for a null key.
    pub key: Option<Bytes>,
    /// The value, or `None` for a null value (a tombstone).
    pub value: Option<Bytes>,
    /// The headers, in order.
    pub headers: Vec<RecordHeader>,
    /// The leader epoch of the batch, when set.
    pub leader_epoch: Option<i32>,
    /// The decoded records of the record's batch, which key, value and
    /// header bytes are slices of.
    pub(crate) batch_buffer: Bytes,
}

impl Record {
    /// The decoded records of this record's batch (decompressed if the
    /// batch was compressed): [`key`](Self::key), [`value`](Self::value)
    /// and the header bytes are slices of it. Columnar consumers use it to
    /// reference values by position instead of copying them (an Arrow view
    /// array over one buffer per batch); a slice's position is its address
    /// minus the buffer's.
    pub fn batch_buffer(&self) -> &Bytes {
        &self.batch_buffer
    }
}

impl PartialEq for Record {
    fn eq(&self, other: &Self) -> bool {
        // The buffer is where the bytes live, not what the record says.
        self.topic == other.topic
            && self.partition == other.partition
            && self.offset == other.offset
            && self.timestamp == other.timestamp
            && self.timestamp_type == other.timestamp_type
            && self.key == other.key
            && self.value == other.value
            && self.headers == other.headers
            && self.leader_epoch == other.leader_epoch
    }
}

impl Eq for Record {}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("topic", &self.topic)
            .field("partition", &self.partition)
            .field("offset", &self.offset)
            .field("timestamp", &self.timestamp)
            .field("timestamp_type", &self.timestamp_type)
            .field("key", &self.key)
            .field("value", &self.value)
            .field("headers", &self.headers)
            .field("leader_epoch", &self.leader_epoch)
            .finish()
    }
}

/// Where a partition's log stood at the broker, as of the last fetch
/// answer for it: what lag metrics ("offsets behind latest") need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionWatermarks {
    /// One past the last offset replicated to every in-sync replica: the
    /// end of what `read_uncommitted` readers see.
    pub high_watermark: i64,
    /// One past the last offset of a decided transaction: the end of what
    /// `read_committed` readers see (`None` when the broker does not say).
    pub last_stable_offset: Option<i64>,
    /// The first offset the partition still holds (`None` when the broker
    /// does not say).
    pub log_start_offset: Option<i64>,
}

impl PartitionWatermarks {
    /// The watermarks a fetch answer reports, with Kafka's -1 ("unknown")
    /// as `None`; `None` when not even the high watermark is known.
    pub(crate) fn from_fetch(
        high_watermark: i64,
        last_stable_offset: i64,
        log_start_offset: i64,
    ) -> Option<Self> {
        (high_watermark >= 0).then_some(PartitionWatermarks {
            high_watermark,
            last_stable_offset: (last_stable_offset >= 0).then_some(last_stable_offset),
            log_start_offset: (log_start_offset >= 0).then_some(log_start_offset),
        })
    }

    /// How many offsets lie between `position` (the next offset a reader
    /// would take) and the end a reader at `isolation` can see; 0 when the
    /// reader is at or past it.
    pub fn offsets_behind(&self, position: i64, isolation: crate::IsolationLevel) -> i64 {
        let end = match isolation {
            crate::IsolationLevel::ReadCommitted => {
                self.last_stable_offset.unwrap_or(self.high_watermark)
            }
            _ => self.high_watermark,
        };
        end.saturating_sub(position).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::IsolationLevel;

    #[test]
    fn watermarks_from_a_fetch_answer_and_lag() {
        assert_eq!(PartitionWatermarks::from_fetch(-1, -1, -1), None);
        let w = PartitionWatermarks::from_fetch(100, 90, -1).unwrap();
        assert_eq!(w.last_stable_offset, Some(90));
        assert_eq!(w.log_start_offset, None);
        assert_eq!(w.offsets_behind(40, IsolationLevel::ReadUncommitted), 60);
        assert_eq!(w.offsets_behind(40, IsolationLevel::ReadCommitted), 50);
        assert_eq!(w.offsets_behind(120, IsolationLevel::ReadUncommitted), 0);
        let w = PartitionWatermarks::from_fetch(7, -1, 2).unwrap();
        assert_eq!(w.offsets_behind(0, IsolationLevel::ReadCommitted), 7);
    }

    #[test]
    fn range_length() {
        assert_eq!(ReadRange::new("t", 0, 3..10).len(), 7);
        assert!(ReadRange::new("t", 0, 5..5).is_empty());
        let inverted = ReadRange {
            end: 5,
            ..ReadRange::new("t", 0, 9..10)
        };
        assert!(inverted.is_empty());
    }
}
