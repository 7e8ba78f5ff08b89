//! The producer: records go into per-partition batches
//! (`accumulator`), a sender task per partition (`sender`) writes them
//! to the partition's leader with retries, and each record's
//! [`DeliveryFuture`] resolves to where it landed or why it did not.
//!
//! * Partitioning is the Java client's ([`partitioner`]): murmur2 for keys,
//!   sticky for null keys, an explicit partition is honoured, and a
//!   [`Partitioner`] of your own can be supplied.
//! * Idempotence (KIP-98) is on by default: the producer gets a producer
//!   id, numbers each partition's records, and a retried batch keeps its
//!   identity, so the broker drops duplicates ([`idempotence`]).
//! * `send` waits while `buffer.memory` is full, for at most
//!   `max.block.ms`, then fails with a typed error.
//!
//! ```no_run
//! use ferrokafka::{Client, ClientConfig};
//! use ferrokafka::producer::{Producer, ProducerConfig, ProducerRecord};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let client = Client::connect(ClientConfig::builder().bootstrap_servers("localhost:9092").build()?).await?;
//! let config = ProducerConfig::default().with("compression.type", "zstd")?;
//! let producer = Producer::new(client, config).await?;
//! let delivery = producer
//!     .send(ProducerRecord::new("events").key("user-1").value("clicked"))
//!     .await?;
//! let written = delivery.await?;
//! println!("partition {} offset {}", written.partition, written.offset);
//! producer.close(std::time::Duration::from_secs(5)).await?;
//! # Ok(()) }
//! ```

pub(crate) mod accumulator;
pub mod config;
pub mod idempotence;
pub mod partitioner;
mod sender;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::{oneshot, Notify, Semaphore, TryAcquireError};
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::types::TopicPartition;

use accumulator::Accumulator;
pub use config::{Acks, ProducerConfig};
pub use idempotence::{FatalReason, IdempotenceState, ProducerIdAndEpoch};
pub use partitioner::{DefaultPartitioner, Partitioner};

/// One record to produce.
///
/// ```
/// use ferrokafka::producer::ProducerRecord;
/// let record = ProducerRecord::new("events")
///     .key("user-1")
///     .value(&b"{}"[..])
///     .header("trace-id", Some("abc"))
///     .partition(3);
/// assert_eq!(record.partition, Some(3));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProducerRecord {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition, or `None` to let the partitioner choose.
    pub partition: Option<i32>,
    /// The key (`None` = null key).
    pub key: Option<Bytes>,
    /// The value (`None` = null value, a tombstone on compacted topics).
    pub value: Option<Bytes>,
    /// Headers in order; duplicates allowed; `None` = null header value.
    pub headers: Vec<(String, Option<Bytes>)>,
    /// Milliseconds since the epoch; `None` = now.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    /// A record with null key and value for `topic`.
    pub fn new(topic: impl Into<Arc<str>>) -> Self {
        ProducerRecord {
            topic: topic.into(),
            partition: None,
            key: None,
            value: None,
            headers: Vec::new(),
            timestamp: None,
        }
    }
    /// Sets the key.
    pub fn key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }
    /// Sets the value.
    pub fn value(mut self, value: impl Into<Bytes>) -> Self {
        self.value = Some(value.into());
        self
    }
    /// Appends a header.
    pub fn header(mut self, key: impl Into<String>, value: Option<impl Into<Bytes>>) -> Self {
        self.headers.push((key.into(), value.map(Into::into)));
        self
    }
    /// Sends the record to this partition.
    pub fn partition(mut self, partition: i32) -> Self {
        self.partition = Some(partition);
        self
    }
    /// Sets the timestamp (ms since the epoch).
    pub fn timestamp(mut self, timestamp: i64) -> Self {
        self.timestamp = Some(timestamp);
        self
    }

    /// Bytes the record takes in the buffer (an upper bound of its encoded
    /// size, used for `buffer.memory`, `batch.size` and `max.request.size`).
    pub fn size_estimate(&self) -> usize {
        let field = |b: &Option<Bytes>| b.as_ref().map_or(0, Bytes::len) + 5;
        32 + field(&self.key)
            + field(&self.value)
            + self
                .headers
                .iter()
                .map(|(k, v)| k.len() + 5 + field(v))
                .sum::<usize>()
    }
}

/// Where a record was written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordMetadata {
    /// The topic.
    pub topic: Arc<str>,
    /// The partition.
    pub partition: i32,
    /// The record's offset, or -1 when it is not known: with `acks=0` (the
    /// broker does not answer), or when the broker reported the batch as a
    /// duplicate of one written earlier without saying where.
    pub offset: i64,
    /// The record's timestamp (the broker's when the topic uses
    /// `LogAppendTime`).
    pub timestamp: i64,
}

/// Whether a failed record is in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WriteStatus {
    /// The record was not written: sending it again does not duplicate it.
    NotWritten,
    /// The record may have been written (a request was sent and its answer
    /// never came); sending it again may duplicate it.
    MaybeWritten,
}

/// A record that was not (or maybe not) delivered.
#[derive(Debug, thiserror::Error)]
#[error("{error} ({})", match .status { WriteStatus::NotWritten => "the record was not written", WriteStatus::MaybeWritten => "the record may have been written" })]
#[non_exhaustive]
pub struct ProduceError {
    /// Why.
    #[source]
    pub error: Error,
    /// Whether the record is in the log.
    pub status: WriteStatus,
}

impl ProduceError {
    pub(crate) fn not_written(error: Error) -> Self {
        ProduceError {
            error,
            status: WriteStatus::NotWritten,
        }
    }
}

/// The outcome of one record; resolves once the broker acknowledged the
/// record's batch or the producer gave up on it.
#[derive(Debug)]
#[must_use = "the record's outcome is only known by awaiting its future"]
pub struct DeliveryFuture {
    receiver: oneshot::Receiver<Result<RecordMetadata, ProduceError>>,
}

impl Future for DeliveryFuture {
    type Output = Result<RecordMetadata, ProduceError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.receiver).poll(cx).map(|r| {
            r.unwrap_or_else(|_| {
                Err(ProduceError {
                    error: Error::new(ErrorKind::Shutdown),
                    status: WriteStatus::MaybeWritten,
                })
            })
        })
    }
}

pub(crate) type Completion = oneshot::Sender<Result<RecordMetadata, ProduceError>>;

/// A Kafka producer. Dropping it without [`close`](Self::close) still
/// sends what was buffered, in the background.
pub struct Producer {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) config: ProducerConfig,
    partitioner: Arc<dyn Partitioner>,
    pub(crate) accumulator: Accumulator,
    /// `buffer.memory`, in bytes (one permit a byte).
    pub(crate) buffer: Arc<Semaphore>,
    pub(crate) idempotence: Option<Mutex<IdempotenceState>>,
    /// One InitProducerId at a time.
    pub(crate) bump: tokio::sync::Mutex<()>,
    /// Records sent and not yet resolved.
    pub(crate) pending: AtomicUsize,
    pub(crate) idle: Notify,
    /// While > 0, batches go out without lingering.
    pub(crate) flushing: AtomicUsize,
    pub(crate) closing: AtomicBool,
    /// Partition count per topic and when it was learnt (ms since the
    /// epoch: `send` reads the wall clock for the record's timestamp anyway,
    /// so the cache check costs no second clock read).
    partition_counts: Mutex<std::collections::HashMap<Arc<str>, (i32, i64)>>,
}

impl Producer {
    /// A producer on `client` with the default partitioner. With
    /// idempotence on, gets a producer id first (failing here, with what to
    /// do, when the principal may not write idempotently).
    pub async fn new(client: Client, config: ProducerConfig) -> Result<Producer, Error> {
        let partitioner = Arc::new(DefaultPartitioner::new(config.batch_size().max(1)));
        Self::with_partitioner(client, config, partitioner).await
    }

    /// As [`new`](Self::new), with a partitioner of your own.
    pub async fn with_partitioner(
        client: Client,
        mut config: ProducerConfig,
        partitioner: Arc<dyn Partitioner>,
    ) -> Result<Producer, Error> {
        config.validate()?;
        let client_config = client.config();
        if config.idempotence() && client_config.max_in_flight() > 5 {
            return Err(Error::from(crate::config::ConfigError::Conflict {
                key: "max.in.flight.requests.per.connection",
                value: client_config.max_in_flight().to_string(),
                other: config::keys::ENABLE_IDEMPOTENCE,
                other_value: "true".to_owned(),
                hint: "idempotence keeps order for at most 5 requests in flight; lower it or set enable.idempotence=false",
            }));
        }
        if config.delivery_timeout() < config.linger() + client_config.request_timeout() {
            return Err(Error::from(crate::config::ConfigError::Conflict {
                key: config::keys::DELIVERY_TIMEOUT_MS,
                value: config.delivery_timeout().as_millis().to_string(),
                other: "linger.ms + request.timeout.ms",
                other_value: (config.linger() + client_config.request_timeout())
                    .as_millis()
                    .to_string(),
                hint: "a record must get at least one full try; raise delivery.timeout.ms",
            }));
        }
        let buffer = config.buffer_memory().min(Semaphore::MAX_PERMITS);
        let inner = Arc::new(Inner {
            idempotence: config
                .idempotence()
                .then(|| Mutex::new(IdempotenceState::new())),
            accumulator: Accumulator::new(&config),
            buffer: Arc::new(Semaphore::new(buffer)),
            bump: tokio::sync::Mutex::new(()),
            pending: AtomicUsize::new(0),
            idle: Notify::new(),
            flushing: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
            partition_counts: Mutex::new(Default::default()),
            client,
            config,
            partitioner,
        });
        if inner.idempotence.is_some() {
            sender::init_producer_id(&inner, None).await?;
        }
        Ok(Producer { inner })
    }

    /// The configuration.
    pub fn config(&self) -> &ProducerConfig {
        &self.inner.config
    }

    /// The producer id and epoch in use (with idempotence on).
    pub fn producer_id(&self) -> Option<ProducerIdAndEpoch> {
        self.inner
            .idempotence
            .as_ref()
            .and_then(|s| s.lock().unwrap_or_else(|e| e.into_inner()).producer())
    }

    /// Adds a record to its partition's batch. Waits (at most
    /// `max.block.ms`) for the topic's metadata and for buffer space;
    /// returns the record's [`DeliveryFuture`].
    ///
    /// Fails, with the record not written, when the producer is closed or
    /// failed fatally, the topic or partition does not exist, the record is
    /// larger than `max.request.size` or `buffer.memory`, or no space
    /// freed up in time.
    pub async fn send(&self, record: ProducerRecord) -> Result<DeliveryFuture, ProduceError> {
        let inner = &self.inner;
        // One clock read per record on the common path: the wall clock gives
        // the record's timestamp and the metadata cache's age, and
        // `max.block.ms` is only timed once `send` has to wait.
        let now = now_ms();
        let mut wait_deadline = None;
        let mut deadline =
            || *wait_deadline.get_or_insert_with(|| Instant::now() + inner.config.max_block());
        if inner.closing.load(Ordering::Acquire) {
            return Err(ProduceError::not_written(Error::new(ErrorKind::Shutdown)));
        }
        if let Some(reason) = inner.fatal() {
            return Err(ProduceError::not_written(sender::fatal_error(&reason)));
        }
        let size = record.size_estimate();
        let limit = inner
            .config
            .max_request_size()
            .min(inner.config.buffer_memory());
        if size > limit {
            return Err(ProduceError::not_written(
                Error::new(ErrorKind::InvalidArgument(format!(
                    "the record takes {size} bytes, more than max.request.size / buffer.memory ({limit})"
                )))
                .with_topic(&record.topic)
                .with_hint("send smaller records or raise max.request.size and buffer.memory (and the topic's max.message.bytes)"),
            ));
        }
        let count = match self.cached_partition_count(&record.topic, now) {
            Some(count) => count,
            None => {
                self.fetch_partition_count(&record.topic, deadline())
                    .await?
            }
        };
        let partition = match record.partition {
            Some(p) if (0..count).contains(&p) => p,
            Some(p) => {
                return Err(ProduceError::not_written(
                    Error::new(ErrorKind::UnknownTopicOrPartition)
                        .with_topic_partition(TopicPartition::new(&*record.topic, p))
                        .with_hint(format!("the topic has {count} partitions")),
                ))
            }
            None => inner
                .partitioner
                .partition(&record.topic, record.key.as_deref(), count),
        };
        if !(0..count).contains(&partition) {
            return Err(ProduceError::not_written(Error::new(
                ErrorKind::InvalidArgument(format!(
                    "the partitioner chose partition {partition} of a topic with {count}"
                )),
            )));
        }
        let permits = u32::try_from(size).unwrap_or(u32::MAX);
        // Space is usually free: take it without setting up a timer. (The
        // semaphore hands freed permits to queued waiters first, so this does
        // not overtake a record that is already waiting.)
        let permit = match Arc::clone(&inner.buffer).try_acquire_many_owned(permits) {
            Ok(permit) => {
                // Stay a yield point, as the waiting acquire is: a task that
                // sends in a loop must still let the sender tasks (and
                // anything else on its worker) run.
                tokio::task::coop::consume_budget().await;
                Ok(Ok(permit))
            }
            Err(TryAcquireError::Closed) => Ok(Err(())),
            Err(TryAcquireError::NoPermits) => tokio::time::timeout_at(
                deadline(),
                Arc::clone(&inner.buffer).acquire_many_owned(permits),
            )
            .await
            .map(|acquired| acquired.map_err(|_| ())),
        };
        let permit = match permit {
            Ok(Ok(permit)) => permit,
            Ok(Err(_)) => return Err(ProduceError::not_written(Error::new(ErrorKind::Shutdown))),
            Err(_) => {
                return Err(ProduceError::not_written(
                    Error::new(ErrorKind::Timeout(inner.config.max_block()))
                        .with_topic_partition(TopicPartition::new(&*record.topic, partition))
                        .with_hint("buffer.memory stayed full for max.block.ms: the brokers take records slower than they are sent; raise buffer.memory or max.block.ms, or send less"),
                ))
            }
        };
        let timestamp = record.timestamp.unwrap_or(now);
        let tp = TopicPartition::new(&*record.topic, partition);
        let (tx, rx) = oneshot::channel();
        inner.pending.fetch_add(1, Ordering::AcqRel);
        let appended = inner
            .accumulator
            .append(inner, &tp, timestamp, &record, tx, permit);
        if let Err(error) = appended {
            inner.resolved(1);
            return Err(ProduceError::not_written(error.with_topic_partition(tp)));
        }
        inner.partitioner.on_append(&record.topic, partition, size);
        Ok(DeliveryFuture { receiver: rx })
    }

    /// Sends every buffered record now and waits until each sent so far
    /// has its outcome.
    pub async fn flush(&self) {
        let inner = &self.inner;
        inner.flushing.fetch_add(1, Ordering::AcqRel);
        inner.accumulator.wake_all();
        loop {
            let idle = inner.idle.notified();
            if inner.pending.load(Ordering::Acquire) == 0 {
                break;
            }
            idle.await;
        }
        inner.flushing.fetch_sub(1, Ordering::AcqRel);
    }

    /// Refuses new records, sends what is buffered and waits for the
    /// outcomes, at most `timeout`. Fails with a timeout error if records
    /// were still pending then (they keep being sent in the background
    /// until `delivery.timeout.ms`).
    pub async fn close(&self, timeout: Duration) -> Result<(), Error> {
        self.inner.closing.store(true, Ordering::Release);
        match tokio::time::timeout(timeout, self.flush()).await {
            Ok(()) => Ok(()),
            Err(_) => Err(Error::new(ErrorKind::Timeout(timeout)).with_hint(format!(
                "{} records were still pending when close timed out",
                self.inner.pending.load(Ordering::Acquire)
            ))),
        }
    }

    /// The topic's partition count if it was learnt less than
    /// `metadata.max.age.ms` before `now` (ms since the epoch). A clock that
    /// went backwards counts as expired.
    fn cached_partition_count(&self, topic: &Arc<str>, now: i64) -> Option<i32> {
        let max_age = i64::try_from(self.inner.client.config().metadata_max_age().as_millis())
            .unwrap_or(i64::MAX);
        let counts = self
            .inner
            .partition_counts
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let &(count, learnt) = counts.get(topic)?;
        cache_fresh(learnt, now, max_age).then_some(count)
    }

    async fn fetch_partition_count(
        &self,
        topic: &Arc<str>,
        deadline: Instant,
    ) -> Result<i32, ProduceError> {
        let info = tokio::time::timeout_at(deadline, self.inner.client.topic_metadata(topic))
            .await
            .map_err(|_| {
                ProduceError::not_written(
                    Error::new(ErrorKind::Timeout(self.inner.config.max_block()))
                        .with_topic(topic)
                        .with_hint("no metadata for the topic within max.block.ms"),
                )
            })?
            .map_err(ProduceError::not_written)?;
        if info.error_code != 0 || info.partitions.is_empty() {
            let error = Error::from_code(info.error_code)
                .unwrap_or_else(|| Error::new(ErrorKind::UnknownTopicOrPartition));
            return Err(ProduceError::not_written(error.with_topic(topic)));
        }
        let count = i32::try_from(info.partitions.len()).unwrap_or(i32::MAX);
        self.inner
            .partition_counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(Arc::clone(topic), (count, now_ms()));
        Ok(count)
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        // The sender tasks send what is left and stop.
        self.inner.closing.store(true, Ordering::Release);
        self.inner.accumulator.wake_all();
    }
}

impl Inner {
    pub(crate) fn fatal(&self) -> Option<FatalReason> {
        self.idempotence
            .as_ref()
            .and_then(|s| s.lock().unwrap_or_else(|e| e.into_inner()).fatal().cloned())
    }

    /// `n` records got their outcome.
    pub(crate) fn resolved(&self, n: usize) {
        if self.pending.fetch_sub(n, Ordering::AcqRel) == n {
            self.idle.notify_waiters();
        }
    }

    pub(crate) fn urgent(&self) -> bool {
        self.flushing.load(Ordering::Acquire) > 0 || self.closing.load(Ordering::Acquire)
    }
}

/// Whether a cache entry learnt at `learnt` is still fresh at `now` (both
/// ms since the epoch) given `max_age` ms.
fn cache_fresh(learnt: i64, now: i64, max_age: i64) -> bool {
    now >= learnt && now.saturating_sub(learnt) < max_age
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::cache_fresh;

    #[test]
    fn metadata_cache_is_fresh_until_max_age() {
        assert!(cache_fresh(1_000, 1_000, 300_000));
        assert!(cache_fresh(1_000, 300_999, 300_000));
        assert!(!cache_fresh(1_000, 301_000, 300_000));
    }

    #[test]
    fn a_clock_that_went_backwards_expires_the_metadata_cache() {
        assert!(!cache_fresh(10_000, 9_999, 300_000));
    }
}
