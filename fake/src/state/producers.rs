//! Idempotent-producer state of one partition, checked as Kafka's
//! `ProducerStateManager` / `ProducerAppendInfo` check it.
//!
//! Per producer id the partition keeps the current epoch and the metadata
//! of the last five batches appended (Kafka's `NUM_BATCHES_TO_RETAIN`).
//! For each new batch, in this order:
//!
//! 1. Duplicate: same epoch, and a retained batch with the same first and
//!    last sequence → not appended; answered with success and the offset
//!    the original got.
//! 2. Epoch older than the current one → `INVALID_PRODUCER_EPOCH`.
//! 3. Epoch newer than the current one → the first sequence must be 0,
//!    else `OUT_OF_ORDER_SEQUENCE_NUMBER`.
//! 4. No state for the producer on this partition (never written, or its
//!    batches were all removed by DeleteRecords) and a first sequence other
//!    than 0 → `UNKNOWN_PRODUCER_ID`.
//! 5. Same epoch: the first sequence must follow the last one (with the
//!    wrap from `i32::MAX` to 0), else `OUT_OF_ORDER_SEQUENCE_NUMBER`.

use std::collections::{HashMap, VecDeque};

/// Batches kept per producer for duplicate detection.
pub(crate) const BATCHES_TO_RETAIN: usize = 5;

/// Kafka error codes this module returns.
pub(crate) const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
pub(crate) const INVALID_PRODUCER_EPOCH: i16 = 47;
pub(crate) const UNKNOWN_PRODUCER_ID: i16 = 59;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct BatchMeta {
    first_seq: i32,
    last_seq: i32,
    first_offset: i64,
    last_offset: i64,
    /// Log-append time given when it was appended, for the duplicate answer.
    log_append_time: Option<i64>,
}

#[derive(Debug, Clone, Default)]
struct ProducerEntry {
    epoch: i16,
    batches: VecDeque<BatchMeta>,
}

/// The result of checking a batch against the producer state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SequenceCheck {
    /// Append it.
    Append,
    /// Already appended: answer with the original offsets, append nothing.
    Duplicate {
        first_offset: i64,
        log_append_time: Option<i64>,
    },
    /// Refuse it with this error code.
    Reject(i16),
}

/// The sequence numbers of a batch, as [`ProducerStates::check`] wants them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchSequence {
    pub(crate) producer_id: i64,
    pub(crate) epoch: i16,
    pub(crate) first_seq: i32,
    pub(crate) record_count: i32,
}

impl BatchSequence {
    fn last_seq(&self) -> i32 {
        // Sequences wrap from i32::MAX to 0, as in Kafka's DefaultRecordBatch.
        let last = i64::from(self.first_seq) + i64::from(self.record_count) - 1;
        if last > i64::from(i32::MAX) {
            (last - i64::from(i32::MAX) - 1) as i32
        } else {
            last as i32
        }
    }
}

fn in_sequence(last_seq: i32, next_seq: i32) -> bool {
    i64::from(next_seq) == i64::from(last_seq) + 1 || (next_seq == 0 && last_seq == i32::MAX)
}

/// Producer states of one partition.
#[derive(Debug, Default)]
pub(crate) struct ProducerStates {
    producers: HashMap<i64, ProducerEntry>,
}

impl ProducerStates {
    /// Checks a batch; nothing changes until [`record`](Self::record).
    pub(crate) fn check(&self, batch: &BatchSequence) -> SequenceCheck {
        let Some(entry) = self.producers.get(&batch.producer_id) else {
            return if batch.first_seq == 0 {
                SequenceCheck::Append
            } else {
                SequenceCheck::Reject(UNKNOWN_PRODUCER_ID)
            };
        };
        let last_seq = batch.last_seq();
        if batch.epoch == entry.epoch {
            if let Some(dup) = entry
                .batches
                .iter()
                .find(|b| b.first_seq == batch.first_seq && b.last_seq == last_seq)
            {
                return SequenceCheck::Duplicate {
                    first_offset: dup.first_offset,
                    log_append_time: dup.log_append_time,
                };
            }
        }
        if batch.epoch < entry.epoch {
            return SequenceCheck::Reject(INVALID_PRODUCER_EPOCH);
        }
        if batch.epoch > entry.epoch {
            return if batch.first_seq == 0 {
                SequenceCheck::Append
            } else {
                SequenceCheck::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER)
            };
        }
        match entry.batches.back() {
            Some(last) if in_sequence(last.last_seq, batch.first_seq) => SequenceCheck::Append,
            // An entry without batches only exists after its batches were
            // deleted; Kafka then accepts any sequence.
            None => SequenceCheck::Append,
            Some(_) => SequenceCheck::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER),
        }
    }

    /// Records an appended batch.
    pub(crate) fn record(
        &mut self,
        batch: &BatchSequence,
        first_offset: i64,
        last_offset: i64,
        log_append_time: Option<i64>,
    ) {
        let entry = self.producers.entry(batch.producer_id).or_default();
        if batch.epoch != entry.epoch {
            entry.epoch = batch.epoch;
            entry.batches.clear();
        }
        if entry.batches.len() == BATCHES_TO_RETAIN {
            entry.batches.pop_front();
        }
        entry.batches.push_back(BatchMeta {
            first_seq: batch.first_seq,
            last_seq: batch.last_seq(),
            first_offset,
            last_offset,
            log_append_time,
        });
    }

    /// Forgets producers all of whose retained batches lie before
    /// `log_start_offset`, as Kafka does when retention or DeleteRecords
    /// removes a producer's last batch.
    pub(crate) fn remove_before(&mut self, log_start_offset: i64) {
        self.producers.retain(|_, entry| {
            entry
                .batches
                .back()
                .is_some_and(|b| b.last_offset >= log_start_offset)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(epoch: i16, first_seq: i32, count: i32) -> BatchSequence {
        BatchSequence {
            producer_id: 7,
            epoch,
            first_seq,
            record_count: count,
        }
    }

    fn append(states: &mut ProducerStates, batch: BatchSequence, offset: i64) {
        assert_eq!(states.check(&batch), SequenceCheck::Append, "{batch:?}");
        let last = offset + i64::from(batch.record_count) - 1;
        states.record(&batch, offset, last, None);
    }

    #[test]
    fn kafka_sequence_rules() {
        let mut states = ProducerStates::default();
        assert_eq!(
            states.check(&seq(0, 5, 1)),
            SequenceCheck::Reject(UNKNOWN_PRODUCER_ID)
        );
        append(&mut states, seq(0, 0, 3), 0);
        append(&mut states, seq(0, 3, 2), 3);
        // A retry of either retained batch is a duplicate.
        assert_eq!(
            states.check(&seq(0, 0, 3)),
            SequenceCheck::Duplicate {
                first_offset: 0,
                log_append_time: None
            }
        );
        // A gap or an overlap that is not an exact retry is out of order.
        assert_eq!(
            states.check(&seq(0, 6, 1)),
            SequenceCheck::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert_eq!(
            states.check(&seq(0, 1, 4)),
            SequenceCheck::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        // Newer epoch: must restart at 0. Older epoch: fenced.
        assert_eq!(
            states.check(&seq(1, 5, 1)),
            SequenceCheck::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        append(&mut states, seq(1, 0, 1), 5);
        assert_eq!(
            states.check(&seq(0, 5, 1)),
            SequenceCheck::Reject(INVALID_PRODUCER_EPOCH)
        );
    }

    #[test]
    fn only_the_last_five_batches_are_deduplicated() {
        let mut states = ProducerStates::default();
        for i in 0..6 {
            append(&mut states, seq(0, i, 1), i64::from(i));
        }
        // Batch 0 fell out of the window: its retry is out of order.
        assert_eq!(
            states.check(&seq(0, 0, 1)),
            SequenceCheck::Reject(OUT_OF_ORDER_SEQUENCE_NUMBER)
        );
        assert!(matches!(
            states.check(&seq(0, 1, 1)),
            SequenceCheck::Duplicate {
                first_offset: 1,
                ..
            }
        ));
    }

    #[test]
    fn sequence_wraps_and_deleted_state_is_unknown() {
        let mut states = ProducerStates::default();
        append(&mut states, seq(0, 0, 3), 0);
        states.record(&seq(0, i32::MAX - 1, 2), 3, 4, None);
        // 0 follows i32::MAX.
        append(&mut states, seq(0, 0, 1), 5);
        states.remove_before(10);
        assert_eq!(
            states.check(&seq(0, 1, 1)),
            SequenceCheck::Reject(UNKNOWN_PRODUCER_ID)
        );
    }
}
