//! The idempotent producer's bookkeeping (KIP-98, KIP-360), as a pure
//! state machine: no I/O, no clock. The sender asks it for the identity of
//! each new batch (producer id, epoch, base sequence), reports every
//! outcome, and does what the returned [`Reaction`] says.
//!
//! Rules it enforces:
//! * sequences are per partition, start at 0 and wrap from `i32::MAX` to 0
//!   (as the broker expects);
//! * at most [`MAX_IN_FLIGHT_PER_PARTITION`] batches of a partition are in
//!   flight, and a retried batch keeps its producer id, epoch and base
//!   sequence;
//! * `DUPLICATE_SEQUENCE_NUMBER` means the broker has the batch: success;
//! * `OUT_OF_ORDER_SEQUENCE_NUMBER` on the oldest batch in flight of a
//!   partition means the broker lost or skipped records: fatal, never a
//!   silent reset (on a later batch it only means an earlier one failed,
//!   so that batch waits and is retried after it);
//! * `UNKNOWN_PRODUCER_ID` on the oldest batch in flight (the broker lost
//!   our state, e.g. retention removed our last records) calls for an
//!   epoch bump, done only once no batch anywhere may have been written
//!   without us knowing; the bump resets every partition's sequence to 0
//!   and re-identifies the batches waiting for a retry;
//! * a batch that failed for good leaves a hole in the sequence, which
//!   also calls for an epoch bump before the partition sends again;
//! * at epoch `i16::MAX` a bump asks for a new producer id instead.

use std::collections::{HashMap, VecDeque};

use crate::types::TopicPartition;

/// Batches of one partition in flight at once with ordering kept (the
/// broker remembers the last five).
pub(super) const MAX_IN_FLIGHT_PER_PARTITION: usize = 5;

/// The producer id and epoch the broker assigned.
pub use ferrokafka_protocol::requests::ProducerIdAndEpoch;

/// What identifies one batch to the broker's duplicate check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct BatchIdentity {
    /// Producer id and epoch.
    pub producer: ProducerIdAndEpoch,
    /// Sequence number of the batch's first record.
    pub base_sequence: i32,
}

/// `base + increment`, wrapping past `i32::MAX` to 0 as Kafka's
/// `DefaultRecordBatch.incrementSequence` does.
pub(super) fn increment_sequence(base: i32, increment: i32) -> i32 {
    if base > i32::MAX - increment {
        increment - (i32::MAX - base) - 1
    } else {
        base + increment
    }
}

/// How a Produce attempt for one batch ended, as the sender saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Error code 0.
    Written,
    /// A Kafka error code from the partition's response.
    Error(i16),
    /// No answer: the connection failed or the request timed out after
    /// the batch was sent. The broker may have appended it.
    Unknown,
}

/// What the sender must do about an outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reaction {
    /// The batch is in the log (for a duplicate: it was already). Complete
    /// its records successfully.
    Complete,
    /// Send the batch again, unchanged, after a backoff (and after the
    /// batches of the same partition that precede it).
    Retry,
    /// Send the batch again after the producer's epoch was bumped; its
    /// identity will change (see [`IdempotenceState::bump_request`]).
    RetryAfterEpochBump,
    /// The batch failed for good and was not written; the records get
    /// this error. Sequences after it are invalid, so the producer bumps
    /// its epoch before the partition sends again.
    Fail,
    /// The producer can no longer guarantee order and no-duplicates:
    /// every pending and future record fails with this reason.
    Fatal(FatalReason),
}

/// Why the idempotent producer stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FatalReason {
    /// The broker answered OUT_OF_ORDER_SEQUENCE_NUMBER for the oldest
    /// batch in flight: records before it are missing from the log.
    OutOfOrderSequence {
        /// The partition.
        partition: TopicPartition,
        /// The batch's base sequence.
        base_sequence: i32,
    },
    /// Another producer with the same id and a newer epoch exists
    /// (PRODUCER_FENCED / INVALID_PRODUCER_EPOCH).
    Fenced,
}

/// What InitProducerId call the sender must make for a bump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BumpRequest {
    /// Ask the broker to bump this producer's epoch (KIP-360: InitProducerId
    /// with the current id and epoch).
    Bump(ProducerIdAndEpoch),
    /// The epoch is exhausted (or the broker cannot bump): ask for a new
    /// producer id (id -1, epoch -1).
    NewProducerId,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct InFlight {
    producer: ProducerIdAndEpoch,
    base_sequence: i32,
    record_count: i32,
    /// Whether an earlier attempt may have reached the log.
    maybe_written: bool,
    /// Whether an attempt is out and unanswered.
    awaiting: bool,
    /// Identities it had before epoch bumps.
    aliases: Vec<(ProducerIdAndEpoch, i32)>,
}

impl InFlight {
    fn is(&self, identity: BatchIdentity) -> bool {
        (self.producer == identity.producer && self.base_sequence == identity.base_sequence)
            || self
                .aliases
                .contains(&(identity.producer, identity.base_sequence))
    }
}

#[derive(Debug, Default)]
struct PartitionState {
    next_sequence: i32,
    /// Batches with a sequence assigned and no final outcome, oldest first.
    in_flight: VecDeque<InFlight>,
}

/// The idempotent producer's state, for every partition.
#[derive(Debug, Default)]
pub(crate) struct IdempotenceState {
    producer: Option<ProducerIdAndEpoch>,
    partitions: HashMap<TopicPartition, PartitionState>,
    bump_needed: bool,
    fatal: Option<FatalReason>,
}

impl IdempotenceState {
    /// A state with no producer id yet.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// The current producer id and epoch, once assigned.
    pub(crate) fn producer(&self) -> Option<ProducerIdAndEpoch> {
        self.producer
    }

    /// The fatal error, once one happened.
    pub(crate) fn fatal(&self) -> Option<&FatalReason> {
        self.fatal.as_ref()
    }

    /// Whether an epoch bump is pending.
    pub(crate) fn bump_needed(&self) -> bool {
        self.bump_needed
    }

    /// Adopts the producer id and epoch InitProducerId returned. After a
    /// bump (or a new id) every partition starts again at sequence 0.
    pub(crate) fn set_producer(&mut self, producer: ProducerIdAndEpoch) {
        self.producer = Some(producer);
        self.bump_needed = false;
        for state in self.partitions.values_mut() {
            state.next_sequence = 0;
        }
    }

    /// Whether a new batch of `tp` may be sent now: a producer id is
    /// known, no bump is pending, nothing is fatal, and fewer than
    /// [`MAX_IN_FLIGHT_PER_PARTITION`] batches of `tp` are in flight.
    pub(crate) fn can_send_new(&self, tp: &TopicPartition) -> bool {
        self.producer.is_some()
            && !self.bump_needed
            && self.fatal.is_none()
            && self
                .partitions
                .get(tp)
                .is_none_or(|p| p.in_flight.len() < MAX_IN_FLIGHT_PER_PARTITION)
    }

    /// Assigns the identity of a new batch of `record_count` records of
    /// `tp` and counts it in flight. `None` when [`can_send_new`] is false.
    ///
    /// [`can_send_new`]: Self::can_send_new
    pub(crate) fn assign(
        &mut self,
        tp: &TopicPartition,
        record_count: i32,
    ) -> Option<BatchIdentity> {
        if !self.can_send_new(tp) {
            return None;
        }
        let producer = self.producer?;
        let state = self.partitions.entry(tp.clone()).or_default();
        let base_sequence = state.next_sequence;
        state.next_sequence = increment_sequence(base_sequence, record_count);
        state.in_flight.push_back(InFlight {
            producer,
            base_sequence,
            record_count,
            maybe_written: false,
            awaiting: true,
            aliases: Vec::new(),
        });
        Some(BatchIdentity {
            producer,
            base_sequence,
        })
    }

    /// Batches of `tp` with an assigned sequence and no final outcome.
    #[cfg(test)]
    pub(crate) fn in_flight(&self, tp: &TopicPartition) -> usize {
        self.partitions.get(tp).map_or(0, |p| p.in_flight.len())
    }

    /// Whether `base_sequence` is the oldest unresolved batch of `tp`
    /// (only that one may be sent after a failure, to keep order).
    #[cfg(test)]
    pub(crate) fn is_oldest(&self, tp: &TopicPartition, base_sequence: i32) -> bool {
        self.partitions
            .get(tp)
            .and_then(|p| p.in_flight.front())
            .is_some_and(|b| b.base_sequence == base_sequence)
    }

    /// Records the outcome of one attempt at the batch of `tp` with
    /// `identity`, and says what to do.
    pub(crate) fn on_outcome(
        &mut self,
        tp: &TopicPartition,
        identity: BatchIdentity,
        outcome: Outcome,
    ) -> Reaction {
        if let Some(reason) = &self.fatal {
            return Reaction::Fatal(reason.clone());
        }
        // A batch of an older epoch (before a bump) is re-identified by
        // `rebase`, so an answer for the old identity is stale.
        let Some(state) = self.partitions.get_mut(tp) else {
            return Reaction::Fail;
        };
        let Some(index) = state.in_flight.iter().position(|b| {
            b.producer == identity.producer && b.base_sequence == identity.base_sequence
        }) else {
            return Reaction::Fail;
        };
        state.in_flight[index].awaiting = false;
        let oldest = index == 0;
        match outcome {
            Outcome::Written => {
                state.in_flight.remove(index);
                Reaction::Complete
            }
            Outcome::Unknown => {
                state.in_flight[index].maybe_written = true;
                Reaction::Retry
            }
            Outcome::Error(code) => {
                // A definite answer to this attempt: had an earlier attempt
                // been appended, the broker would have said DUPLICATE.
                state.in_flight[index].maybe_written = false;
                if oldest {
                    // The broker appends a partition's batches only in
                    // sequence order: with the oldest not in the log,
                    // none after it (same epoch) can be.
                    for later in &mut state.in_flight {
                        later.maybe_written = false;
                    }
                }
                self.on_error(tp, identity, index, code)
            }
        }
    }

    fn on_error(
        &mut self,
        tp: &TopicPartition,
        identity: BatchIdentity,
        index: usize,
        code: i16,
    ) -> Reaction {
        let oldest = index == 0;
        let Some(state) = self.partitions.get_mut(tp) else {
            return Reaction::Fail;
        };
        {
            match code {
                DUPLICATE_SEQUENCE_NUMBER => {
                    state.in_flight.remove(index);
                    Reaction::Complete
                }
                OUT_OF_ORDER_SEQUENCE_NUMBER if oldest => {
                    let reason = FatalReason::OutOfOrderSequence {
                        partition: tp.clone(),
                        base_sequence: identity.base_sequence,
                    };
                    self.fatal = Some(reason.clone());
                    Reaction::Fatal(reason)
                }
                // An earlier batch of the partition failed or is being
                // retried; this one follows it.
                OUT_OF_ORDER_SEQUENCE_NUMBER => Reaction::Retry,
                UNKNOWN_PRODUCER_ID if oldest => {
                    self.bump_needed = true;
                    Reaction::RetryAfterEpochBump
                }
                UNKNOWN_PRODUCER_ID => Reaction::Retry,
                INVALID_PRODUCER_EPOCH | PRODUCER_FENCED => {
                    self.fatal = Some(FatalReason::Fenced);
                    Reaction::Fatal(FatalReason::Fenced)
                }
                code if is_retriable_code(code) => Reaction::Retry,
                _ => {
                    // Not written; later sequences of the partition are
                    // now invalid.
                    state.in_flight.remove(index);
                    self.bump_needed = true;
                    Reaction::Fail
                }
            }
        }
    }

    /// Records that an attempt started with
    /// [`begin_attempt`](Self::begin_attempt) never left (no leader, no
    /// connection): nothing about the batch changed.
    pub(crate) fn not_sent(&mut self, tp: &TopicPartition, identity: BatchIdentity) {
        if let Some(batch) = self
            .partitions
            .get_mut(tp)
            .and_then(|p| p.in_flight.iter_mut().find(|b| b.is(identity)))
        {
            batch.awaiting = false;
        }
    }

    /// Marks an attempt at the batch first identified as `identity` as
    /// out, and returns the identity to send it with (after an epoch bump
    /// it differs). `None` for a batch the state does not hold.
    pub(crate) fn begin_attempt(
        &mut self,
        tp: &TopicPartition,
        identity: BatchIdentity,
    ) -> Option<BatchIdentity> {
        let batch = self
            .partitions
            .get_mut(tp)?
            .in_flight
            .iter_mut()
            .find(|b| b.is(identity))?;
        batch.awaiting = true;
        Some(BatchIdentity {
            producer: batch.producer,
            base_sequence: batch.base_sequence,
        })
    }

    /// Drops a batch that will not be sent again (its delivery timed out
    /// or the producer closed). If it may have been written, sequences can
    /// no longer be trusted, so a bump is needed.
    pub(crate) fn abandon(&mut self, tp: &TopicPartition, identity: BatchIdentity) {
        if let Some(state) = self.partitions.get_mut(tp) {
            if let Some(index) = state.in_flight.iter().position(|b| b.is(identity)) {
                state.in_flight.remove(index);
                self.bump_needed = true;
            }
        }
    }

    /// The InitProducerId call to make for a pending bump, once it is
    /// safe: `None` while no bump is needed, while an attempt is out
    /// without its answer, or while some batch may have been written
    /// without an answer (retry it first, under the current epoch, so its
    /// outcome is known and it is not written twice).
    pub(crate) fn bump_request(&self) -> Option<BumpRequest> {
        if !self.bump_needed || self.fatal.is_some() {
            return None;
        }
        let unresolved = self
            .partitions
            .values()
            .flat_map(|p| p.in_flight.iter())
            .any(|b| b.maybe_written || b.awaiting);
        if unresolved {
            return None;
        }
        Some(match self.producer {
            Some(p) if p.epoch < i16::MAX => BumpRequest::Bump(p),
            _ => BumpRequest::NewProducerId,
        })
    }

    /// After [`set_producer`](Self::set_producer) following a bump: gives
    /// the batches still waiting for a retry new identities under the new
    /// epoch, in their original order, and returns them as
    /// `(partition, old base sequence, new identity)`.
    pub(crate) fn rebase(&mut self) -> Vec<(TopicPartition, i32, BatchIdentity)> {
        let Some(producer) = self.producer else {
            return Vec::new();
        };
        let mut moved = Vec::new();
        for (tp, state) in &mut self.partitions {
            let mut next = 0;
            for batch in &mut state.in_flight {
                let old = batch.base_sequence;
                batch.aliases.push((batch.producer, old));
                batch.producer = producer;
                batch.base_sequence = next;
                batch.maybe_written = false;
                next = increment_sequence(next, batch.record_count);
                moved.push((
                    tp.clone(),
                    old,
                    BatchIdentity {
                        producer,
                        base_sequence: batch.base_sequence,
                    },
                ));
            }
            state.next_sequence = next;
        }
        moved
    }
}

const OUT_OF_ORDER_SEQUENCE_NUMBER: i16 = 45;
const DUPLICATE_SEQUENCE_NUMBER: i16 = 46;
const INVALID_PRODUCER_EPOCH: i16 = 47;
const UNKNOWN_PRODUCER_ID: i16 = 59;
const PRODUCER_FENCED: i16 = 90;

/// Whether a Produce partition error may succeed when sent again.
pub(crate) fn is_retriable_code(code: i16) -> bool {
    kafka_protocol::error::ResponseError::try_from_code(code).is_some_and(|e| e.is_retriable())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tp(p: i32) -> TopicPartition {
        TopicPartition::new("t", p)
    }

    fn ready() -> IdempotenceState {
        let mut s = IdempotenceState::new();
        s.set_producer(ProducerIdAndEpoch { id: 7, epoch: 0 });
        s
    }

    #[test]
    fn sequences_are_per_partition_and_wrap() {
        let mut s = ready();
        let a = s.assign(&tp(0), 3).unwrap();
        let b = s.assign(&tp(0), 2).unwrap();
        let c = s.assign(&tp(1), 4).unwrap();
        assert_eq!(
            (a.base_sequence, b.base_sequence, c.base_sequence),
            (0, 3, 0)
        );
        assert_eq!(a.producer, ProducerIdAndEpoch { id: 7, epoch: 0 });
        assert_eq!(increment_sequence(i32::MAX, 1), 0);
        assert_eq!(increment_sequence(i32::MAX - 1, 3), 1);
        assert_eq!(increment_sequence(5, 3), 8);
        // Force a partition close to the wrap.
        s.partitions.entry(tp(2)).or_default().next_sequence = i32::MAX - 1;
        let d = s.assign(&tp(2), 5).unwrap();
        let e = s.assign(&tp(2), 1).unwrap();
        assert_eq!(d.base_sequence, i32::MAX - 1);
        assert_eq!(e.base_sequence, 3);
    }

    #[test]
    fn at_most_five_in_flight_per_partition() {
        let mut s = ready();
        for _ in 0..MAX_IN_FLIGHT_PER_PARTITION {
            assert!(s.assign(&tp(0), 1).is_some());
        }
        assert!(!s.can_send_new(&tp(0)));
        assert!(s.assign(&tp(0), 1).is_none());
        assert!(s.can_send_new(&tp(1)));
        let first = BatchIdentity {
            producer: s.producer().unwrap(),
            base_sequence: 0,
        };
        assert_eq!(
            s.on_outcome(&tp(0), first, Outcome::Written),
            Reaction::Complete
        );
        assert!(s.can_send_new(&tp(0)));
    }

    #[test]
    fn no_producer_id_no_send() {
        let mut s = IdempotenceState::new();
        assert!(s.assign(&tp(0), 1).is_none());
    }

    #[test]
    fn duplicate_is_success_and_retry_keeps_identity() {
        let mut s = ready();
        let a = s.assign(&tp(0), 2).unwrap();
        assert_eq!(s.on_outcome(&tp(0), a, Outcome::Unknown), Reaction::Retry);
        // Still in flight with the same identity: the retry sends `a` again.
        assert!(s.is_oldest(&tp(0), a.base_sequence));
        assert_eq!(s.in_flight(&tp(0)), 1);
        assert_eq!(
            s.on_outcome(&tp(0), a, Outcome::Error(46)),
            Reaction::Complete
        );
        assert_eq!(s.in_flight(&tp(0)), 0);
        let b = s.assign(&tp(0), 1).unwrap();
        assert_eq!(b.base_sequence, 2);
    }

    #[test]
    fn out_of_order_on_oldest_is_fatal_never_a_reset() {
        let mut s = ready();
        let a = s.assign(&tp(0), 1).unwrap();
        let b = s.assign(&tp(0), 1).unwrap();
        // On a later batch: it waits for the earlier one.
        assert_eq!(s.on_outcome(&tp(0), b, Outcome::Error(45)), Reaction::Retry);
        assert!(s.fatal().is_none());
        let r = s.on_outcome(&tp(0), a, Outcome::Error(45));
        assert_eq!(
            r,
            Reaction::Fatal(FatalReason::OutOfOrderSequence {
                partition: tp(0),
                base_sequence: 0
            })
        );
        assert!(s.fatal().is_some());
        // Nothing more is sent, and no bump resets it.
        assert!(!s.can_send_new(&tp(1)));
        assert!(s.bump_request().is_none());
        assert!(matches!(
            s.on_outcome(&tp(0), b, Outcome::Written),
            Reaction::Fatal(_)
        ));
    }

    #[test]
    fn unknown_producer_id_bumps_the_epoch_when_safe() {
        let mut s = ready();
        let a = s.assign(&tp(0), 3).unwrap();
        let b = s.assign(&tp(0), 2).unwrap();
        let c = s.assign(&tp(1), 1).unwrap();
        // c's connection broke: it may be in the log.
        assert_eq!(s.on_outcome(&tp(1), c, Outcome::Unknown), Reaction::Retry);
        // A later batch with UNKNOWN_PRODUCER_ID just waits.
        assert_eq!(s.on_outcome(&tp(0), b, Outcome::Error(59)), Reaction::Retry);
        assert!(!s.bump_needed());
        assert_eq!(
            s.on_outcome(&tp(0), a, Outcome::Error(59)),
            Reaction::RetryAfterEpochBump
        );
        assert!(s.bump_needed());
        assert!(
            !s.can_send_new(&tp(2)),
            "no new batches while a bump is pending"
        );
        // Not safe while c's outcome is unknown: retry c first.
        assert_eq!(s.bump_request(), None);
        assert_eq!(
            s.on_outcome(&tp(1), c, Outcome::Error(46)),
            Reaction::Complete
        );
        assert_eq!(
            s.bump_request(),
            Some(BumpRequest::Bump(ProducerIdAndEpoch { id: 7, epoch: 0 }))
        );
        s.set_producer(ProducerIdAndEpoch { id: 7, epoch: 1 });
        let mut moved = s.rebase();
        moved.sort_by_key(|(tp, old, _)| (tp.partition, *old));
        assert_eq!(moved.len(), 2);
        assert_eq!((moved[0].1, moved[0].2.base_sequence), (0, 0));
        assert_eq!((moved[1].1, moved[1].2.base_sequence), (3, 3));
        assert_eq!(moved[0].2.producer.epoch, 1);
        assert_eq!(s.assign(&tp(0), 1).unwrap().base_sequence, 5);
        assert_eq!(s.assign(&tp(1), 1).unwrap().base_sequence, 0);
    }

    #[test]
    fn a_definite_error_on_the_oldest_resolves_the_later_batches() {
        let mut s = ready();
        let a = s.assign(&tp(0), 1).unwrap();
        let b = s.assign(&tp(0), 1).unwrap();
        // Both were cut off: maybe written.
        assert_eq!(s.on_outcome(&tp(0), a, Outcome::Unknown), Reaction::Retry);
        assert_eq!(s.on_outcome(&tp(0), b, Outcome::Unknown), Reaction::Retry);
        // The resent oldest is unknown to the broker: neither is in the log,
        // so the bump is safe at once.
        assert_eq!(
            s.on_outcome(&tp(0), a, Outcome::Error(59)),
            Reaction::RetryAfterEpochBump
        );
        assert!(s.bump_request().is_some());
    }

    #[test]
    fn epoch_exhaustion_asks_for_a_new_producer_id() {
        let mut s = IdempotenceState::new();
        s.set_producer(ProducerIdAndEpoch {
            id: 9,
            epoch: i16::MAX,
        });
        let a = s.assign(&tp(0), 1).unwrap();
        assert_eq!(
            s.on_outcome(&tp(0), a, Outcome::Error(59)),
            Reaction::RetryAfterEpochBump
        );
        assert_eq!(s.bump_request(), Some(BumpRequest::NewProducerId));
    }

    #[test]
    fn a_failed_batch_leaves_a_hole_that_needs_a_bump() {
        let mut s = ready();
        let a = s.assign(&tp(0), 1).unwrap();
        // MESSAGE_TOO_LARGE (10): not retriable, not written.
        assert_eq!(s.on_outcome(&tp(0), a, Outcome::Error(10)), Reaction::Fail);
        assert!(s.bump_needed());
        assert_eq!(
            s.bump_request(),
            Some(BumpRequest::Bump(ProducerIdAndEpoch { id: 7, epoch: 0 }))
        );
        // NOT_LEADER_OR_FOLLOWER (6) is retriable and keeps the batch.
        let mut s = ready();
        let b = s.assign(&tp(0), 1).unwrap();
        assert_eq!(s.on_outcome(&tp(0), b, Outcome::Error(6)), Reaction::Retry);
        assert!(!s.bump_needed());
    }

    #[test]
    fn fencing_is_fatal() {
        for code in [47, 90] {
            let mut s = ready();
            let a = s.assign(&tp(0), 1).unwrap();
            assert_eq!(
                s.on_outcome(&tp(0), a, Outcome::Error(code)),
                Reaction::Fatal(FatalReason::Fenced)
            );
        }
    }
}
