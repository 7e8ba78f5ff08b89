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
use tokio::sync::{Notify, OwnedSemaphorePermit};
use tokio::time::Instant;

use super::{Completion, Inner, ProducerConfig, ProducerRecord};
use crate::error::{Error, ErrorKind};
use crate::types::TopicPartition;

/// Records of one partition sent together.
pub(crate) struct Batch {
    pub(crate) builder: BatchBuilder,
    pub(crate) completions: Vec<Completion>,
    pub(crate) timestamps: Vec<i64>,
    pub(crate) created: Instant,
    bytes: usize,
    /// The `buffer.memory` the records hold until they are resolved.
    pub(crate) permit: Option<OwnedSemaphorePermit>,
}

impl Batch {
    fn new(builder: BatchBuilder) -> Self {
        Batch {
            builder,
            completions: Vec::new(),
            timestamps: Vec::new(),
            created: Instant::now(),
            bytes: 0,
            permit: None,
        }
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
}

/// Builders kept for reuse: each holds a record buffer and a compressor
/// (a zstd or gzip context is costly to set up for every batch).
const SPARE_BUILDERS: usize = 64;

/// The most record-buffer capacity idle builders may keep in all: beyond
/// it a returned builder is dropped, so that idle buffers (up to
/// `batch.size` each) do not add to the producer's footprint on top of
/// `buffer.memory`.
const SPARE_BYTES: usize = 4 << 20;

/// Every partition's batches.
pub(crate) struct Accumulator {
    queues: Mutex<HashMap<TopicPartition, Arc<PartitionQueue>>>,
    batch_limit: usize,
    compression: Compression,
    spare: Mutex<Vec<BatchBuilder>>,
}

impl Accumulator {
    pub(crate) fn new(config: &ProducerConfig) -> Self {
        Accumulator {
            queues: Mutex::new(HashMap::new()),
            batch_limit: config.batch_size().min(config.max_request_size()),
            compression: config.compression(),
            spare: Mutex::new(Vec::new()),
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

    /// Appends a record to `tp`'s open batch, starting the partition's
    /// sender on first use.
    pub(crate) fn append(
        &self,
        inner: &Arc<Inner>,
        tp: &TopicPartition,
        timestamp: i64,
        record: &ProducerRecord,
        completion: Completion,
        permit: OwnedSemaphorePermit,
    ) -> Result<(), Error> {
        let queue = {
            let mut queues = self.queues.lock().unwrap_or_else(|e| e.into_inner());
            match queues.get(tp) {
                Some(q) => Arc::clone(q),
                None => {
                    let q = Arc::new(PartitionQueue {
                        state: Mutex::new(QueueState::default()),
                        wake: Notify::new(),
                    });
                    queues.insert(tp.clone(), Arc::clone(&q));
                    tokio::spawn(super::sender::run_partition(
                        Arc::clone(inner),
                        tp.clone(),
                        Arc::clone(&q),
                    ));
                    q
                }
            }
        };
        let size = permit.num_permits();
        let headers: Vec<(&str, Option<&[u8]>)> = record
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
        let mut wake = false;
        {
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
                Box::new(Batch::new(self.builder()))
            });
            open.builder
                .try_append(
                    timestamp,
                    record.key.as_deref(),
                    record.value.as_deref(),
                    &headers,
                )
                .map_err(|e| {
                    Error::new(ErrorKind::InvalidArgument(format!(
                        "the record cannot be encoded: {e}"
                    )))
                })?;
            open.completions.push(completion);
            open.timestamps.push(timestamp);
            open.bytes += size;
            match &mut open.permit {
                Some(p) => p.merge(permit),
                slot @ None => *slot = Some(permit),
            }
            if open.bytes >= self.batch_limit {
                if let Some(open) = state.open.take() {
                    state.ready.push_back(open);
                    wake = true;
                }
            }
        }
        if wake {
            queue.wake.notify_one();
        }
        Ok(())
    }

    /// Wakes every partition's sender (flush, close).
    pub(crate) fn wake_all(&self) {
        for q in self
            .queues
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            q.wake.notify_one();
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
