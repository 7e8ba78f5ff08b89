//! Where one partition's reading stands: the next offset, the end of the
//! range, the leader to fetch from, retry state, and the aborted
//! transactions still ahead (`read_committed`).
//!
//! Sans-IO: [`Cursor::advance`] walks the batches of one fetched partition
//! and [`Cursor::fail`] records a failure at a time it is given; the fetch
//! source does the I/O around them.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet, VecDeque};
use std::time::Duration;

use bytes::Bytes;
use ferrokafka_protocol::record::{BatchDecoder, ControlRecordType, RecordBatch};
use ferrokafka_protocol::ProtocolError;
use tokio::time::Instant;

use super::record::ReadRange;
use crate::backoff::backoff;
use crate::config::IsolationLevel;
use crate::error::{Error, ErrorKind};
use crate::types::TopicPartition;

/// How a failing partition is retried.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RetryPolicy {
    /// First wait (`retry.backoff.ms`).
    pub(crate) backoff: Duration,
    /// Longest wait (`retry.backoff.max.ms`).
    pub(crate) backoff_max: Duration,
    /// A partition failing for this long ends (`default.api.timeout.ms`).
    pub(crate) give_up_after: Duration,
}

/// One partition of a read.
#[derive(Debug)]
pub(crate) struct Cursor {
    pub(crate) tp: TopicPartition,
    /// The next offset to fetch.
    pub(crate) position: i64,
    /// One past the last offset to return.
    pub(crate) end: i64,
    /// The leader's broker id and epoch, once looked up.
    pub(crate) leader: Option<(i32, i32)>,
    /// No fetch or lookup before this instant (backing off).
    pub(crate) retry_at: Option<Instant>,
    /// Failures in a row.
    pub(crate) failures: u32,
    failing_since: Option<Instant>,
    /// Aborted transactions not yet reached: (first offset, producer id).
    aborted: BinaryHeap<Reverse<(i64, i64)>>,
    /// Producers whose current transaction is aborted.
    aborted_producers: HashSet<i64>,
    /// Nothing more to read (range done, or the partition ended with an error).
    pub(crate) done: bool,
}

/// What one partition's fetched records produced.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    /// Batches the consumer should see, in offset order.
    pub(crate) batches: VecDeque<RecordBatch>,
    /// Their size on the wire.
    pub(crate) bytes: usize,
    /// Records in them, from the batch headers (before trimming to the range).
    pub(crate) records: u64,
    /// A malformed batch ended the partition here.
    pub(crate) error: Option<Error>,
}

impl Cursor {
    pub(crate) fn new(range: &ReadRange) -> Self {
        Cursor {
            tp: range.tp.clone(),
            position: range.start,
            end: range.end,
            leader: None,
            retry_at: None,
            failures: 0,
            failing_since: None,
            aborted: BinaryHeap::new(),
            aborted_producers: HashSet::new(),
            done: range.start >= range.end,
        }
    }

    /// Whether the partition wants a fetch or a leader lookup at `now`.
    pub(crate) fn is_due(&self, now: Instant) -> bool {
        !self.done && self.retry_at.is_none_or(|t| t <= now)
    }

    /// Walks the batches of one fetched partition, advancing the position
    /// and keeping the batches the consumer should see.
    ///
    /// `aborted` lists the answer's aborted transactions as (producer id,
    /// first offset).
    ///
    /// An answer without batches never ends the range, even below the
    /// high watermark: a broker answers empty when the fetch's wait ran
    /// out or an earlier partition filled the response, and a Kafka log
    /// keeps a batch at the end of any compacted span, so a fetch past a
    /// gap returns the next batch (which moves the position on). Reading
    /// on is what librdkafka does; the streaming source turns a partition
    /// that stays empty into Spark's timeout or data-loss error.
    pub(crate) fn advance(
        &mut self,
        records: Bytes,
        aborted: &[(i64, i64)],
        isolation: IsolationLevel,
    ) -> Progress {
        let mut progress = Progress::default();
        for &(producer_id, first_offset) in aborted {
            self.aborted.push(Reverse((first_offset, producer_id)));
        }
        let mut decoder = BatchDecoder::new(records);
        for batch in decoder.by_ref() {
            let batch = match batch {
                Ok(b) => b,
                Err(e) => {
                    progress.error = Some(
                        Error::new(ErrorKind::CorruptRecords {
                            offset: self.position,
                            source: ProtocolError::Record(e),
                        })
                        .with_topic_partition(self.tp.clone()),
                    );
                    return progress;
                }
            };
            if batch.next_offset() <= self.position {
                continue; // entirely before the range (or already read)
            }
            if batch.base_offset() >= self.end {
                self.done = true;
                break;
            }
            let skip = if isolation == IsolationLevel::ReadCommitted && batch.is_transactional() {
                self.in_aborted_transaction(&batch)
            } else {
                batch.is_control()
            };
            self.position = batch.next_offset();
            if !skip {
                progress.bytes += batch.size_in_bytes();
                progress.records += u64::try_from(batch.record_count()).unwrap_or(0);
                progress.batches.push_back(batch);
            }
            if self.position >= self.end {
                self.done = true;
                break;
            }
        }
        progress
    }

    /// Whether a transactional batch is to be skipped under
    /// `read_committed`: control batches always, data batches of a
    /// producer whose transaction was aborted.
    fn in_aborted_transaction(&mut self, batch: &RecordBatch) -> bool {
        while let Some(Reverse((first, pid))) = self.aborted.peek().copied() {
            if first > batch.last_offset() {
                break;
            }
            self.aborted.pop();
            self.aborted_producers.insert(pid);
        }
        if batch.is_control() {
            if matches!(batch.control_type(), Ok(Some(ControlRecordType::Abort))) {
                self.aborted_producers.remove(&batch.producer_id());
            }
            true
        } else {
            self.aborted_producers.contains(&batch.producer_id())
        }
    }

    /// Records a failure at `now`: forgets the leader and backs off
    /// (`random` in `[0, 1)` picks the jitter). Returns false when the
    /// partition is done instead: the error is not retriable, or it has
    /// been failing for longer than the policy allows.
    pub(crate) fn fail(
        &mut self,
        now: Instant,
        retriable: bool,
        policy: &RetryPolicy,
        random: f64,
    ) -> bool {
        let since = *self.failing_since.get_or_insert(now);
        self.failures += 1;
        self.leader = None;
        if !retriable || now.saturating_duration_since(since) >= policy.give_up_after {
            self.done = true;
            return false;
        }
        self.retry_at =
            Some(now + backoff(policy.backoff, policy.backoff_max, self.failures, random));
        true
    }

    /// Records a successful answer: the failure streak ends.
    pub(crate) fn succeeded(&mut self) {
        self.failures = 0;
        self.failing_since = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::consumer::stream::decode_batch;
    use bytes::BytesMut;
    use ferrokafka_protocol::compression::Compression;
    use ferrokafka_protocol::record::{
        write_control_batch, BatchBuilder, BatchOptions, EndTransactionMarker,
    };

    fn batch(out: &mut BytesMut, base: i64, count: i64, options: BatchOptions) {
        let mut b = BatchBuilder::with_options(BatchOptions {
            base_offset: base,
            ..options
        })
        .unwrap();
        for o in 0..count {
            let v = format!("v{}", base + o);
            b.append(1000 + base + o, None, Some(v.as_bytes()), &[]);
        }
        b.finish(out).unwrap();
    }

    fn range(start: i64, end: i64) -> Cursor {
        Cursor::new(&ReadRange::new("t", 0, start..end))
    }

    fn offsets(
        c: &mut Cursor,
        data: Bytes,
        aborted: &[(i64, i64)],
        iso: IsolationLevel,
    ) -> Vec<i64> {
        let p = c.advance(data, aborted, iso);
        let tp = c.tp.clone();
        let mut out = VecDeque::new();
        // The stream trims with the position from before the fetch.
        for b in &p.batches {
            decode_batch(&tp, b, i64::MIN, c.end, true, |r| out.push_back(r)).unwrap();
        }
        out.iter().map(|r| r.offset).collect()
    }

    #[test]
    fn trims_and_cuts_to_the_range() {
        let mut data = BytesMut::new();
        batch(&mut data, 0, 5, BatchOptions::default());
        batch(&mut data, 5, 5, BatchOptions::default());
        batch(&mut data, 10, 5, BatchOptions::default());
        let data = data.freeze();
        let mut c = range(3, 12);
        let p = c.advance(data.clone(), &[], IsolationLevel::ReadUncommitted);
        assert_eq!(p.batches.len(), 3);
        assert_eq!(p.records, 15, "counted from the batch headers");
        assert!(c.done);
        let mut out = VecDeque::new();
        for b in &p.batches {
            decode_batch(&c.tp, b, 3, 12, true, |r| out.push_back(r)).unwrap();
        }
        let got: Vec<i64> = out.iter().map(|r| r.offset).collect();
        assert_eq!(got, (3..12).collect::<Vec<_>>());
        assert_eq!(out[0].value.as_deref(), Some(&b"v3"[..]));
        assert_eq!(out[0].timestamp, 1003);

        // A batch wholly before the position is skipped; one past the end stops.
        let mut c = range(5, 10);
        let p = c.advance(data, &[], IsolationLevel::ReadUncommitted);
        assert_eq!(p.batches.len(), 1);
        assert_eq!(c.position, 10);
        assert!(c.done);
    }

    #[test]
    fn read_committed_skips_aborted_and_control_batches() {
        let txn = |pid| BatchOptions {
            producer_id: pid,
            producer_epoch: 0,
            base_sequence: 0,
            transactional: true,
            ..BatchOptions::default()
        };
        let mut data = BytesMut::new();
        batch(&mut data, 0, 2, txn(7)); // aborted
        batch(&mut data, 2, 2, txn(8)); // committed
        write_control_batch(
            &mut data,
            &BatchOptions {
                base_offset: 4,
                ..txn(7)
            },
            0,
            EndTransactionMarker::abort(0),
        )
        .unwrap();
        write_control_batch(
            &mut data,
            &BatchOptions {
                base_offset: 5,
                ..txn(8)
            },
            0,
            EndTransactionMarker::commit(0),
        )
        .unwrap();
        batch(&mut data, 6, 2, BatchOptions::default());
        let data = data.freeze();

        let mut c = range(0, 8);
        let got = offsets(
            &mut c,
            data.clone(),
            &[(7, 0)],
            IsolationLevel::ReadCommitted,
        );
        assert_eq!(got, vec![2, 3, 6, 7]);
        assert!(c.done);
        assert!(
            c.aborted_producers.is_empty(),
            "the abort marker ends the aborted transaction"
        );

        let mut c = range(0, 8);
        let got = offsets(&mut c, data, &[(7, 0)], IsolationLevel::ReadUncommitted);
        assert_eq!(
            got,
            vec![0, 1, 2, 3, 6, 7],
            "control records are never returned"
        );
    }

    #[test]
    fn compressed_batches_and_partial_tails() {
        let mut data = BytesMut::new();
        batch(
            &mut data,
            0,
            4,
            BatchOptions {
                compression: Compression::Zstd,
                ..BatchOptions::default()
            },
        );
        let mut second = BytesMut::new();
        batch(&mut second, 4, 4, BatchOptions::default());
        data.extend_from_slice(&second[..second.len() - 3]); // cut by the broker
        let mut c = range(1, 8);
        let got = offsets(&mut c, data.freeze(), &[], IsolationLevel::ReadUncommitted);
        assert_eq!(
            got,
            vec![0, 1, 2, 3],
            "untrimmed here; the position moved past the first batch"
        );
        assert_eq!(c.position, 4, "the cut batch is fetched again");
        assert!(!c.done);
    }

    #[test]
    fn an_empty_answer_never_ends_the_range() {
        // A broker whose fetch wait ran out answers empty although records
        // 3 and 4 exist: ending the range here would lose them silently.
        let mut c = range(3, 5);
        for _ in 0..3 {
            let p = c.advance(Bytes::new(), &[], IsolationLevel::ReadUncommitted);
            assert!(p.batches.is_empty());
            assert!(!c.done, "an empty answer is no proof that nothing is there");
            assert_eq!(c.position, 3);
        }
    }

    #[test]
    fn garbage_records_are_an_error_not_a_panic() {
        let mut c = range(0, 5);
        let p = c.advance(
            Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]),
            &[],
            IsolationLevel::ReadUncommitted,
        );
        assert!(
            matches!(
                p.error.as_ref().map(Error::kind),
                Some(ErrorKind::CorruptRecords { .. })
            ),
            "{:?}",
            p.error
        );
    }

    #[test]
    fn failures_back_off_then_give_up() {
        let policy = RetryPolicy {
            backoff: Duration::from_millis(100),
            backoff_max: Duration::from_millis(1000),
            give_up_after: Duration::from_secs(5),
        };
        let start = Instant::now();
        let mut c = range(0, 5);
        c.leader = Some((1, 0));
        assert!(c.fail(start, true, &policy, 0.5));
        assert_eq!(c.leader, None, "a failure forgets the leader");
        assert_eq!(c.retry_at, Some(start + Duration::from_millis(100)));
        assert!(!c.is_due(start) && c.is_due(start + Duration::from_millis(100)));
        assert!(c.fail(start + Duration::from_secs(1), true, &policy, 0.5));
        assert_eq!(
            c.retry_at,
            Some(start + Duration::from_secs(1) + Duration::from_millis(200))
        );
        // A success ends the streak.
        c.succeeded();
        assert!(c.fail(start + Duration::from_secs(10), true, &policy, 0.5));
        assert_eq!(c.failures, 1);
        // Failing for longer than allowed, or a lasting error, ends the partition.
        assert!(!c.fail(start + Duration::from_secs(15), true, &policy, 0.5));
        assert!(c.done);
        let mut c = range(0, 5);
        assert!(!c.fail(start, false, &policy, 0.5));
        assert!(c.done);
    }
}
