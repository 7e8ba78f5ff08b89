//! Per-partition batches waiting to be sent.
//!
//! Records are appended to the partition's open batch (encoded at once
//! into the batch's buffer). A batch is closed and queued for its
//! partition's sender when the next record would take it past
//! `batch.size` (or `max.request.size`), and the sender takes an open batch
//! on its own once it is `linger.ms` old, or at once while flushing.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrokafka_protocol::compression::Compression;
use ferrokafka_protocol::record::BatchBuilder;
use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

use super::delivery::{abandoned, BatchOutcome, DeliveryFuture};
use super::partitioner::StickyPartition;
use super::{Inner, ProducerConfig, ProducerRecord};
use crate::error::{Error, ErrorKind};
use crate::types::TopicPartition;

/// Records of one partition sent together.
pub(crate) struct Batch {
    pub(crate) builder: BatchBuilder,
    /// The outcome every record's future waits for.
    pub(crate) outcome: Arc<BatchOutcome>,
    pub(crate) created: Instant,
    /// Records appended.
    pub(crate) records: usize,
    /// The `buffer.memory` (bytes) the records hold until the batch is
    /// resolved; given back when it is dropped.
    bytes: usize,
    buffer: Arc<Semaphore>,
}

impl Batch {
    fn new(builder: BatchBuilder, partition: &TopicPartition, buffer: &Arc<Semaphore>) -> Self {
        Batch {
            builder,
            outcome: BatchOutcome::new(partition.clone()),
            created: Instant::now(),
            records: 0,
            bytes: 0,
            buffer: Arc::clone(buffer),
        }
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        if !self.outcome.is_resolved() {
            // Dropped without an outcome (the runtime shut down under the
            // sender): the futures must not wait forever.
            let (error, status) = abandoned();
            self.outcome.failed(error, status);
        }
        self.buffer.add_permits(self.bytes);
    }
}

/// What a partition's sender should do next.
pub(crate) enum Next {
    /// Send this batch.
    Send(Box<Batch>),
    /// Nothing to send before this time (an open batch's linger), or
    /// before a wake-up when `None`.
    Wait(Option<Instant>),
    /// Nothing is buffered.
    Empty,
}

/// One partition's batches.
pub(crate) struct PartitionQueue {
    partition: TopicPartition,
    state: Mutex<QueueState>,
    pub(crate) wake: Notify,
}

#[derive(Default)]
struct QueueState {
    open: Option<Box<Batch>>,
    ready: VecDeque<Box<Batch>>,
}

impl PartitionQueue {
    /// The next batch to send, given `linger.ms` and whether to send now.
    pub(crate) fn next(&self, linger: Duration, urgent: bool) -> Next {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(batch) = state.ready.pop_front() {
            return Next::Send(batch);
        }
        match &state.open {
            None => Next::Empty,
            Some(open) => {
                let due = open.created + linger;
                if urgent || Instant::now() >= due {
                    state.open.take().map_or(Next::Empty, Next::Send)
                } else {
                    Next::Wait(Some(due))
                }
            }
        }
    }

    /// The partition.
    pub(crate) fn partition(&self) -> &TopicPartition {
        &self.partition
    }
}

/// Builders kept for reuse: each holds a record buffer and a compressor
/// (a zstd or gzip context is costly to set up for every batch).
const SPARE_BUILDERS: usize = 64;

/// The most record-buffer capacity idle builders may keep in all: beyond
/// it a returned builder is dropped, so that idle buffers (up to
/// `batch.size` each) do not add to the producer's footprint on top of
/// `buffer.memory`.
const SPARE_BYTES: usize = 4 << 20;

/// What the producer knows of one topic.
struct TopicEntry {
    name: Arc<str>,
    /// The partition count and when it was learnt (ms since the epoch);
    /// `None` until metadata came.
    partitions: Option<(i32, i64)>,
    /// The default partitioner's partition for null-key records.
    sticky: StickyPartition,
    /// Each partition's queue, made (with its sender) on first use.
    queues: Vec<Option<Arc<PartitionQueue>>>,
}

/// Every topic the producer wrote to, found with one lookup per record.
#[derive(Default)]
struct TopicTable {
    /// The entry looked up last: most producers write one topic, and
    /// comparing the record's topic with it (usually the same `Arc`)
    /// costs less than hashing it.
    last: Option<usize>,
    index: HashMap<Arc<str>, usize>,
    entries: Vec<TopicEntry>,
}

impl TopicTable {
    fn entry(&mut self, topic: &Arc<str>) -> &mut TopicEntry {
        let found = match self.last {
            Some(i)
                if Arc::ptr_eq(&self.entries[i].name, topic)
                    || *self.entries[i].name == **topic =>
            {
                i
            }
            _ => match self.index.get(topic) {
                Some(&i) => i,
                None => {
                    let i = self.entries.len();
                    self.entries.push(TopicEntry {
                        name: Arc::clone(topic),
                        partitions: None,
                        sticky: StickyPartition::default(),
                        queues: Vec::new(),
                    });
                    self.index.insert(Arc::clone(topic), i);
                    i
                }
            },
        };
        self.last = Some(found);
        &mut self.entries[found]
    }
}

/// Where a record goes, as far as [`Accumulator::route`] could tell.
pub(crate) enum Route<E> {
    /// Append it to this partition's queue.
    To {
        partition: i32,
        queue: Arc<PartitionQueue>,
    },
    /// The topic's partition count is unknown or older than
    /// `metadata.max.age.ms`: learn it and route again.
    NeedsMetadata,
    /// The chosen partition is refused.
    Refused(E),
}

/// Every partition's batches.
pub(crate) struct Accumulator {
    topics: Mutex<TopicTable>,
    batch_limit: usize,
    compression: Compression,
    spare: Mutex<Vec<BatchBuilder>>,
    /// `buffer.memory`, in bytes (one permit a byte); a batch gives its
    /// bytes back when it is dropped.
    pub(crate) buffer: Arc<Semaphore>,
}

impl Accumulator {
    pub(crate) fn new(config: &ProducerConfig) -> Self {
        let buffer = config.buffer_memory().min(Semaphore::MAX_PERMITS);
        Accumulator {
            topics: Mutex::new(TopicTable::default()),
            batch_limit: config.batch_size().min(config.max_request_size()),
            compression: config.compression(),
            spare: Mutex::new(Vec::new()),
            buffer: Arc::new(Semaphore::new(buffer)),
        }
    }

    fn builder(&self) -> BatchBuilder {
        self.spare
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_else(|| BatchBuilder::new(self.compression))
    }

    /// Takes back a builder whose batch was written out.
    pub(crate) fn recycle(&self, builder: BatchBuilder) {
        let mut spare = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        let kept: usize = spare.iter().map(BatchBuilder::retained_capacity).sum();
        if spare.len() < SPARE_BUILDERS && kept + builder.retained_capacity() <= SPARE_BYTES {
            spare.push(builder);
        }
    }

    /// Records `topic`'s partition count, learnt at `now` (ms since the
    /// epoch).
    pub(crate) fn learn_partition_count(&self, topic: &Arc<str>, count: i32, now: i64) {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        topics.entry(topic).partitions = Some((count, now));
    }

    /// Finds where a record of `topic` goes, with one table lookup: the
    /// partition count (if learnt less than `max_age` ms before `now`),
    /// then `choose` picks the partition from the count and the topic's
    /// sticky state, then the partition's queue (made, with its sender
    /// task, on first use). `choose` runs under the table's lock.
    pub(crate) fn route<E>(
        &self,
        inner: &Arc<Inner>,
        topic: &Arc<str>,
        now: i64,
        max_age: i64,
        choose: impl FnOnce(i32, &mut StickyPartition) -> Result<i32, E>,
    ) -> Route<E> {
        let mut topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        let entry = topics.entry(topic);
        let count = match entry.partitions {
            Some((count, learnt)) if super::cache_fresh(learnt, now, max_age) => count,
            _ => return Route::NeedsMetadata,
        };
        let partition = match choose(count, &mut entry.sticky) {
            Ok(p) => p,
            Err(e) => return Route::Refused(e),
        };
        let Ok(index) = usize::try_from(partition) else {
            return Route::NeedsMetadata;
        };
        if entry.queues.len() <= index {
            entry.queues.resize(index + 1, None);
        }
        let queue = entry.queues[index].get_or_insert_with(|| {
            let partition = TopicPartition::new(Arc::clone(&entry.name), partition);
            let queue = Arc::new(PartitionQueue {
                partition: partition.clone(),
                state: Mutex::new(QueueState::default()),
                wake: Notify::new(),
            });
            tokio::spawn(super::sender::run_partition(
                Arc::clone(inner),
                partition,
                Arc::clone(&queue),
            ));
            queue
        });
        Route::To {
            partition,
            queue: Arc::clone(queue),
        }
    }

    /// Appends a record to `queue`'s open batch. `size` bytes of
    /// `buffer.memory`, already taken by the caller, go with the batch
    /// (and back to the buffer if the record cannot be encoded).
    pub(crate) fn append(
        &self,
        queue: &PartitionQueue,
        timestamp: i64,
        record: &ProducerRecord,
        size: usize,
    ) -> Result<DeliveryFuture, Error> {
        let headers: Vec<(&str, Option<&[u8]>)> = record
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
        let mut wake = false;
        let delivery = {
            let mut state = queue.state.lock().unwrap_or_else(|e| e.into_inner());
            let full = state
                .open
                .as_ref()
                .is_some_and(|open| open.bytes + size > self.batch_limit);
            if full {
                if let Some(open) = state.open.take() {
                    state.ready.push_back(open);
                    wake = true;
                }
            }
            let open = state.open.get_or_insert_with(|| {
                wake = true;
                Box::new(Batch::new(self.builder(), &queue.partition, &self.buffer))
            });
            let appended = open.builder.try_append(
                timestamp,
                record.key.as_deref(),
                record.value.as_deref(),
                &headers,
            );
            if let Err(e) = appended {
                self.buffer.add_permits(size);
                return Err(Error::new(ErrorKind::InvalidArgument(format!(
                    "the record cannot be encoded: {e}"
                ))));
            }
            let index = u32::try_from(open.records).unwrap_or(u32::MAX);
            let delivery = open.outcome.future(index, timestamp);
            open.records += 1;
            open.bytes += size;
            if open.bytes >= self.batch_limit {
                if let Some(open) = state.open.take() {
                    state.ready.push_back(open);
                    wake = true;
                }
            }
            delivery
        };
        if wake {
            queue.wake.notify_one();
        }
        Ok(delivery)
    }

    /// Wakes every partition's sender (flush, close).
    pub(crate) fn wake_all(&self) {
        let topics = self.topics.lock().unwrap_or_else(|e| e.into_inner());
        for queue in topics
            .entries
            .iter()
            .flat_map(|t| t.queues.iter().flatten())
        {
            queue.wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder_holding(bytes: usize) -> BatchBuilder {
        let mut builder = BatchBuilder::new(Compression::None);
        builder
            .try_append(0, None, Some(&vec![7u8; bytes]), &[])
            .unwrap();
        let mut out = bytes::BytesMut::new();
        builder.finish(&mut out).unwrap();
        assert!(builder.retained_capacity() >= bytes);
        builder
    }

    #[test]
    fn idle_builders_keep_a_bounded_amount_of_memory() {
        let accumulator = Accumulator::new(&ProducerConfig::default());
        accumulator.recycle(builder_holding(3 << 20));
        // A second large buffer would take the idle total past the bound.
        accumulator.recycle(builder_holding(3 << 20));
        let spare = accumulator.spare.lock().unwrap();
        assert_eq!(spare.len(), 1);
        drop(spare);
        // Small ones still fit, up to the count limit.
        for _ in 0..100 {
            accumulator.recycle(builder_holding(1000));
        }
        assert_eq!(accumulator.spare.lock().unwrap().len(), SPARE_BUILDERS);
    }
}
