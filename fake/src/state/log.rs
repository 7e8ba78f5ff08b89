//! One partition's log: real record batches (v2) in memory, with the
//! offsets, watermarks and transaction bookkeeping a broker keeps.
//!
//! Every replica is always in sync, so the high watermark is the log end
//! offset. The last stable offset is the first offset of the oldest open
//! transaction, or the high watermark when none is open.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::record::{
    write_control_batch, BatchOptions, EndTransactionMarker, RecordBatch, TimestampType,
};

/// Bytes of a batch before the part its CRC covers.
const CRC_START: usize = 21;
/// Position of the CRC field.
const CRC_AT: usize = 17;
/// Position of the attributes field.
const ATTRIBUTES_AT: usize = 21;
/// Position of `maxTimestamp`.
const MAX_TIMESTAMP_AT: usize = 35;
/// Position of `partitionLeaderEpoch`.
const LEADER_EPOCH_AT: usize = 12;
/// Attribute bit 3: timestamps are log-append times.
const LOG_APPEND_TIME_BIT: i16 = 1 << 3;

/// A batch as stored: its bytes (offsets assigned) and the header fields
/// the broker looks at.
#[derive(Debug, Clone)]
pub(crate) struct StoredBatch {
    pub(crate) batch: RecordBatch,
}

impl StoredBatch {
    pub(crate) fn base_offset(&self) -> i64 {
        self.batch.base_offset()
    }
    pub(crate) fn last_offset(&self) -> i64 {
        self.batch.last_offset()
    }
    pub(crate) fn bytes(&self) -> &Bytes {
        self.batch.as_bytes()
    }
}

/// A transaction that ended in an abort, as Fetch reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AbortedTxn {
    pub(crate) producer_id: i64,
    pub(crate) first_offset: i64,
    /// Offset of the abort marker.
    pub(crate) last_offset: i64,
}

/// The in-memory log of one partition.
#[derive(Debug, Default)]
pub(crate) struct PartitionLog {
    batches: Vec<StoredBatch>,
    log_start_offset: i64,
    next_offset: i64,
    /// Open transactions: producer id → first offset.
    open_txns: BTreeMap<i64, (i64, i16)>,
    aborted: Vec<AbortedTxn>,
}

/// What an append assigned.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Appended {
    pub(crate) base_offset: i64,
    pub(crate) last_offset: i64,
    /// The log-append time written into the batch, if the topic uses it.
    pub(crate) log_append_time: Option<i64>,
}

impl PartitionLog {
    pub(crate) fn log_start_offset(&self) -> i64 {
        self.log_start_offset
    }

    /// The log end offset, which is also the high watermark.
    pub(crate) fn high_watermark(&self) -> i64 {
        self.next_offset
    }

    /// The first offset of the oldest open transaction, or the high watermark.
    pub(crate) fn last_stable_offset(&self) -> i64 {
        self.open_txns
            .values()
            .map(|(first, _)| *first)
            .min()
            .unwrap_or(self.next_offset)
    }

    pub(crate) fn batches(&self) -> &[StoredBatch] {
        &self.batches
    }

    /// Producer ids with an open transaction on this partition, with the
    /// epoch that opened it.
    pub(crate) fn open_transactions(&self) -> impl Iterator<Item = (i64, i16)> + '_ {
        self.open_txns
            .iter()
            .map(|(pid, (_, epoch))| (*pid, *epoch))
    }

    /// Appends one validated producer batch: rewrites its base offset and
    /// leader epoch (neither is covered by the CRC) and, for a topic using
    /// log-append time, its timestamp type and max timestamp (then the CRC).
    pub(crate) fn append(
        &mut self,
        batch: &RecordBatch,
        leader_epoch: i32,
        log_append_time: Option<i64>,
    ) -> Appended {
        let base_offset = self.next_offset;
        let mut bytes = BytesMut::from(&batch.as_bytes()[..]);
        bytes[0..8].copy_from_slice(&base_offset.to_be_bytes());
        bytes[LEADER_EPOCH_AT..LEADER_EPOCH_AT + 4].copy_from_slice(&leader_epoch.to_be_bytes());
        if let Some(now) = log_append_time {
            let attributes = i16::from_be_bytes([bytes[ATTRIBUTES_AT], bytes[ATTRIBUTES_AT + 1]])
                | LOG_APPEND_TIME_BIT;
            bytes[ATTRIBUTES_AT..ATTRIBUTES_AT + 2].copy_from_slice(&attributes.to_be_bytes());
            bytes[MAX_TIMESTAMP_AT..MAX_TIMESTAMP_AT + 8].copy_from_slice(&now.to_be_bytes());
            let crc = crc32c::crc32c(&bytes[CRC_START..]);
            bytes[CRC_AT..CRC_AT + 4].copy_from_slice(&crc.to_be_bytes());
        }
        let stored = RecordBatch::parse(bytes.freeze())
            .expect("a batch that parsed before still parses after its offsets are assigned");
        let last_offset = stored.last_offset();
        if stored.is_transactional() && !stored.is_control() {
            self.open_txns
                .entry(stored.producer_id())
                .or_insert((base_offset, stored.producer_epoch()));
        }
        self.next_offset = last_offset + 1;
        self.batches.push(StoredBatch { batch: stored });
        Appended {
            base_offset,
            last_offset,
            log_append_time,
        }
    }

    /// Ends `producer_id`'s open transaction with a commit or abort marker;
    /// returns the marker's offset, or `None` when no transaction is open.
    pub(crate) fn end_transaction(
        &mut self,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        leader_epoch: i32,
        now: i64,
    ) -> Option<i64> {
        let (first_offset, _) = self.open_txns.remove(&producer_id)?;
        let marker_offset = self.next_offset;
        let mut out = BytesMut::new();
        let options = BatchOptions {
            base_offset: marker_offset,
            partition_leader_epoch: leader_epoch,
            producer_id,
            producer_epoch,
            timestamp_type: TimestampType::CreateTime,
            ..BatchOptions::default()
        };
        let marker = if commit {
            EndTransactionMarker::commit(0)
        } else {
            EndTransactionMarker::abort(0)
        };
        write_control_batch(&mut out, &options, now, marker)
            .expect("a control batch with valid options always encodes");
        let batch = RecordBatch::parse(out.freeze()).expect("a control batch we wrote parses");
        self.next_offset = batch.last_offset() + 1;
        self.batches.push(StoredBatch { batch });
        if !commit {
            self.aborted.push(AbortedTxn {
                producer_id,
                first_offset,
                last_offset: marker_offset,
            });
        }
        Some(marker_offset)
    }

    /// Index of the first batch holding an offset at or after `offset`.
    pub(crate) fn batch_index_for(&self, offset: i64) -> usize {
        self.batches.partition_point(|b| b.last_offset() < offset)
    }

    /// Aborted transactions that overlap `[from, to)`, for a read_committed fetch.
    pub(crate) fn aborted_between(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.aborted
            .iter()
            .filter(|t| t.first_offset < to && t.last_offset >= from)
            .copied()
            .collect()
    }

    /// Moves the log start offset forward to `offset` (at most the high
    /// watermark) and drops every batch that lies wholly before it. A batch
    /// that straddles the new start stays, as in Kafka: readers skip the
    /// records before the start.
    pub(crate) fn delete_before(&mut self, offset: i64) {
        if offset <= self.log_start_offset {
            return;
        }
        self.log_start_offset = offset.min(self.next_offset);
        let keep_from = self.batch_index_for(self.log_start_offset);
        self.batches.drain(..keep_from);
        let start = self.log_start_offset;
        self.aborted.retain(|t| t.last_offset >= start);
    }

    /// The first offset whose record timestamp is at or after `timestamp`,
    /// with that record's timestamp and the leader epoch of its batch.
    /// Records before the log start offset do not count.
    pub(crate) fn offset_for_timestamp(&self, timestamp: i64) -> Option<(i64, i64, i32)> {
        for stored in &self.batches {
            let batch = &stored.batch;
            if batch.max_timestamp() < timestamp || batch.is_control() {
                continue;
            }
            if batch.timestamp_type() == TimestampType::LogAppendTime {
                let first = batch.base_offset().max(self.log_start_offset);
                return Some((first, batch.max_timestamp(), batch.partition_leader_epoch()));
            }
            let Ok(records) = batch.records() else {
                continue;
            };
            for record in records.iter().flatten() {
                if record.offset() >= self.log_start_offset && record.timestamp() >= timestamp {
                    return Some((
                        record.offset(),
                        record.timestamp(),
                        batch.partition_leader_epoch(),
                    ));
                }
            }
        }
        None
    }

    /// The offset and timestamp of the record with the largest timestamp
    /// (the first such record on ties), as ListOffsets MAX_TIMESTAMP asks.
    pub(crate) fn max_timestamp_offset(&self) -> Option<(i64, i64, i32)> {
        let mut best: Option<(i64, i64, i32)> = None;
        for stored in &self.batches {
            let batch = &stored.batch;
            if batch.is_control() {
                continue;
            }
            if best.is_some_and(|(_, ts, _)| batch.max_timestamp() <= ts) {
                continue;
            }
            if batch.timestamp_type() == TimestampType::LogAppendTime {
                best = Some((
                    batch.base_offset().max(self.log_start_offset),
                    batch.max_timestamp(),
                    batch.partition_leader_epoch(),
                ));
                continue;
            }
            if let Ok(records) = batch.records() {
                for record in records.iter().flatten() {
                    if record.offset() >= self.log_start_offset
                        && best.is_none_or(|(_, ts, _)| record.timestamp() > ts)
                    {
                        best = Some((
                            record.offset(),
                            record.timestamp(),
                            batch.partition_leader_epoch(),
                        ));
                    }
                }
            }
        }
        best
    }
}
