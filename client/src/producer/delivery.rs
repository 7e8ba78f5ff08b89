//! Delivery futures: one per record, one shared outcome per batch.
//!
//! Every record of a batch meets the same fate (written at consecutive
//! offsets, or failed with the same error), so the batch holds a single
//! [`BatchOutcome`] and each record's [`DeliveryFuture`] holds a reference
//! to it and its own index and timestamp. Sending a record costs one
//! reference count, not a channel allocation; resolving a batch of
//! thousands of records sets one value and wakes the futures that wait.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};

use super::{ProduceError, RecordMetadata, WriteStatus};
use crate::error::{Error, ErrorKind};
use crate::types::TopicPartition;

/// How a batch ended.
enum Resolution {
    /// Written at `base_offset` (-1 when unknown), with the broker's
    /// append time (-1 when the topic keeps the records' own timestamps).
    Written { base_offset: i64, append_time: i64 },
    /// Not written, or maybe written, for `error`.
    Failed { error: Error, status: WriteStatus },
}

/// The outcome of one batch, shared by its records' futures.
pub(crate) struct BatchOutcome {
    partition: TopicPartition,
    resolution: OnceLock<Resolution>,
    /// Futures waiting for the outcome. Each future remembers its slot so
    /// that polling it again replaces its waker instead of adding one.
    waiting: Mutex<Vec<Waker>>,
}

impl BatchOutcome {
    pub(crate) fn new(partition: TopicPartition) -> Arc<Self> {
        Arc::new(BatchOutcome {
            partition,
            resolution: OnceLock::new(),
            waiting: Mutex::new(Vec::new()),
        })
    }

    /// The future of the record at `index` in the batch.
    pub(crate) fn future(self: &Arc<Self>, index: u32, timestamp: i64) -> DeliveryFuture {
        DeliveryFuture {
            outcome: Arc::clone(self),
            index,
            timestamp,
            slot: NO_SLOT,
        }
    }

    /// The batch was written at `base_offset` (-1 when not known).
    pub(crate) fn written(&self, base_offset: i64, append_time: i64) {
        self.resolve(Resolution::Written {
            base_offset,
            append_time,
        });
    }

    /// The batch failed.
    pub(crate) fn failed(&self, error: Error, status: WriteStatus) {
        self.resolve(Resolution::Failed { error, status });
    }

    /// Whether the batch has its outcome.
    pub(crate) fn is_resolved(&self) -> bool {
        self.resolution.get().is_some()
    }

    /// Sets the outcome (the first one wins) and wakes every waiting
    /// future.
    fn resolve(&self, resolution: Resolution) {
        if self.resolution.set(resolution).is_err() {
            return;
        }
        // Taken under the lock a poll holds while it checks the outcome and
        // registers its waker: a future either sees the outcome or is woken.
        let waiting = std::mem::take(&mut *self.waiting.lock().unwrap_or_else(|e| e.into_inner()));
        for waker in waiting {
            waker.wake();
        }
    }

    fn result(&self, index: u32, timestamp: i64) -> Option<Result<RecordMetadata, ProduceError>> {
        Some(match self.resolution.get()? {
            Resolution::Written {
                base_offset,
                append_time,
            } => Ok(RecordMetadata {
                topic: Arc::clone(&self.partition.topic),
                partition: self.partition.partition,
                offset: if *base_offset >= 0 {
                    base_offset + i64::from(index)
                } else {
                    -1
                },
                timestamp: if *append_time >= 0 {
                    *append_time
                } else {
                    timestamp
                },
            }),
            Resolution::Failed { error, status } => Err(ProduceError {
                error: error.duplicate(),
                status: *status,
            }),
        })
    }
}

/// The outcome of one record; resolves once the broker acknowledged the
/// record's batch or the producer gave up on it.
#[derive(Debug)]
#[must_use = "the record's outcome is only known by awaiting its future"]
pub struct DeliveryFuture {
    outcome: Arc<BatchOutcome>,
    index: u32,
    timestamp: i64,
    /// Where this future's waker is in the batch's waiting list, or
    /// [`NO_SLOT`]. (A `u32`, not an `Option<usize>`: producers keep
    /// hundreds of thousands of these futures, and this keeps one at 24
    /// bytes.)
    slot: u32,
}

const NO_SLOT: u32 = u32::MAX;

impl std::fmt::Debug for BatchOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchOutcome")
            .field("partition", &self.partition)
            .field("resolved", &self.is_resolved())
            .finish_non_exhaustive()
    }
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata, ProduceError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        if let Some(result) = this.outcome.result(this.index, this.timestamp) {
            return Poll::Ready(result);
        }
        let mut waiting = this
            .outcome
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        // Checked again under the lock `resolve` takes after setting it.
        if let Some(result) = this.outcome.result(this.index, this.timestamp) {
            return Poll::Ready(result);
        }
        match waiting.get_mut(this.slot as usize) {
            Some(waker) => {
                if !waker.will_wake(cx.waker()) {
                    *waker = cx.waker().clone();
                }
            }
            None => {
                // Each future takes one slot at most, and a batch holds at
                // most i32::MAX records: the index always fits.
                this.slot = u32::try_from(waiting.len()).unwrap_or(NO_SLOT);
                waiting.push(cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

/// The outcome a batch gets when it is dropped without one (its sender
/// task ended with the runtime): the records may have been written.
pub(crate) fn abandoned() -> (Error, WriteStatus) {
    (Error::new(ErrorKind::Shutdown), WriteStatus::MaybeWritten)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::Wake;

    struct Count(AtomicUsize);
    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn poll(
        future: &mut DeliveryFuture,
        waker: &Waker,
    ) -> Poll<Result<RecordMetadata, ProduceError>> {
        Pin::new(future).poll(&mut Context::from_waker(waker))
    }

    #[test]
    fn a_delivery_future_stays_small_and_can_go_anywhere() {
        assert!(std::mem::size_of::<DeliveryFuture>() <= 24);
        fn spawnable<T: Send + Sync + Unpin + 'static>() {}
        spawnable::<DeliveryFuture>();
    }

    #[test]
    fn every_record_gets_its_offset_and_timestamp() {
        let outcome = BatchOutcome::new(TopicPartition::new("t", 2));
        let mut futures: Vec<_> = (0..3)
            .map(|i| outcome.future(i, 100 + i64::from(i)))
            .collect();
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&count));
        for f in &mut futures {
            assert!(poll(f, &waker).is_pending());
            // Polling again does not add a second waker.
            assert!(poll(f, &waker).is_pending());
        }
        assert_eq!(outcome.waiting.lock().unwrap().len(), 3);
        outcome.written(40, -1);
        assert_eq!(
            count.0.load(Ordering::SeqCst),
            3,
            "each waiting future is woken once"
        );
        for (i, f) in futures.iter_mut().enumerate() {
            let Poll::Ready(Ok(meta)) = poll(f, &waker) else {
                panic!("record {i} is not written");
            };
            assert_eq!(
                (meta.partition, meta.offset, meta.timestamp),
                (2, 40 + i as i64, 100 + i as i64)
            );
            assert_eq!(&*meta.topic, "t");
        }
    }

    #[test]
    fn append_time_and_unknown_offsets() {
        let outcome = BatchOutcome::new(TopicPartition::new("t", 0));
        let mut f = outcome.future(5, 1);
        outcome.written(-1, 999);
        // The first outcome wins.
        outcome.failed(Error::new(ErrorKind::Shutdown), WriteStatus::NotWritten);
        let waker = Waker::noop();
        let Poll::Ready(Ok(meta)) = poll(&mut f, waker) else {
            panic!("not written");
        };
        assert_eq!((meta.offset, meta.timestamp), (-1, 999));
    }

    #[test]
    fn a_failure_reaches_every_record_with_its_status() {
        let outcome = BatchOutcome::new(TopicPartition::new("t", 0));
        let mut a = outcome.future(0, 1);
        let mut b = outcome.future(1, 1);
        outcome.failed(
            Error::new(ErrorKind::Timeout(std::time::Duration::from_secs(1))),
            WriteStatus::MaybeWritten,
        );
        for f in [&mut a, &mut b] {
            let Poll::Ready(Err(e)) = poll(f, Waker::noop()) else {
                panic!("not failed");
            };
            assert_eq!(e.status, WriteStatus::MaybeWritten);
            assert!(matches!(e.error.kind(), ErrorKind::Timeout(_)), "{e}");
        }
    }

    #[test]
    fn a_new_waker_replaces_the_old_one() {
        let outcome = BatchOutcome::new(TopicPartition::new("t", 0));
        let mut f = outcome.future(0, 1);
        let first = Arc::new(Count(AtomicUsize::new(0)));
        let second = Arc::new(Count(AtomicUsize::new(0)));
        assert!(poll(&mut f, &Waker::from(Arc::clone(&first))).is_pending());
        assert!(poll(&mut f, &Waker::from(Arc::clone(&second))).is_pending());
        outcome.written(0, -1);
        assert_eq!(first.0.load(Ordering::SeqCst), 0);
        assert_eq!(second.0.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn futures_resolved_from_another_thread_wake_up() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .build()
            .unwrap();
        rt.block_on(async {
            for round in 0..200 {
                let outcome = BatchOutcome::new(TopicPartition::new("t", 0));
                let futures: Vec<_> = (0..8).map(|i| outcome.future(i, 0)).collect();
                let resolver = tokio::spawn(async move {
                    tokio::task::yield_now().await;
                    outcome.written(round, -1);
                });
                let results = futures::future::join_all(futures).await;
                resolver.await.unwrap();
                for (i, r) in results.into_iter().enumerate() {
                    assert_eq!(r.unwrap().offset, round + i as i64);
                }
            }
        });
    }
}
