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
//!   identity, so the broker drops duplicates (the `idempotence` module).
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
mod combine;
mod delivery;
mod idempotence;
pub mod partitioner;
mod sender;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::{Notify, TryAcquireError};
use tokio::time::Instant;

use crate::client::Client;
use crate::error::{Error, ErrorKind};
use crate::types::TopicPartition;

pub use crate::config::{Acks, ProducerConfig, ProducerConfigBuilder};
use accumulator::{Accumulator, Route};
pub use delivery::DeliveryFuture;
use idempotence::IdempotenceState;
pub use idempotence::{FatalReason, ProducerIdAndEpoch};
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

/// How partitions are chosen.
enum Partitioning {
    /// The Java client's default, with its sticky state kept in the
    /// producer's topic table (one lookup per record).
    Default { switch_after_bytes: usize },
    /// A partitioner of the user's.
    Custom(Arc<dyn Partitioner>),
}

pub(crate) struct Inner {
    pub(crate) client: Client,
    pub(crate) config: ProducerConfig,
    partitioning: Partitioning,
    pub(crate) accumulator: Accumulator,
    /// Each broker's open Produce request, which other partitions' batches
    /// may join.
    pub(crate) combiners: combine::Combiners,
    pub(crate) idempotence: Option<Mutex<IdempotenceState>>,
    /// Set once the idempotence state failed for good, so that `send`
    /// checks an atomic instead of taking the state's lock.
    pub(crate) fatal_seen: AtomicBool,
    /// One InitProducerId at a time.
    pub(crate) bump: tokio::sync::Mutex<()>,
    /// Records sent and not yet resolved.
    pub(crate) pending: AtomicUsize,
    pub(crate) idle: Notify,
    /// While > 0, batches go out without lingering.
    pub(crate) flushing: AtomicUsize,
    pub(crate) closing: AtomicBool,
}

impl Client {
    /// A producer on this client's connections, with the default
    /// partitioner; see [`Producer::new`].
    pub async fn producer(&self, config: ProducerConfig) -> Result<Producer, Error> {
        Producer::new(self.clone(), config).await
    }
}

impl Producer {
    /// A producer on `client` with the default partitioner. With
    /// idempotence on, gets a producer id first (failing here, with what to
    /// do, when the principal may not write idempotently).
    pub async fn new(client: Client, config: ProducerConfig) -> Result<Producer, Error> {
        let switch_after_bytes = DefaultPartitioner::new(config.batch_size()).switch_after_bytes();
        Self::build(client, config, Partitioning::Default { switch_after_bytes }).await
    }

    /// As [`new`](Self::new), with a partitioner of your own.
    pub async fn with_partitioner(
        client: Client,
        config: ProducerConfig,
        partitioner: Arc<dyn Partitioner>,
    ) -> Result<Producer, Error> {
        Self::build(client, config, Partitioning::Custom(partitioner)).await
    }

    async fn build(
        client: Client,
        config: ProducerConfig,
        partitioning: Partitioning,
    ) -> Result<Producer, Error> {
        config.validate()?;
        let client_config = client.config();
        if config.idempotence() && client_config.max_in_flight() > 5 {
            return Err(Error::from(crate::config::ConfigError::Conflict {
                key: "max.in.flight.requests.per.connection",
                value: client_config.max_in_flight().to_string(),
                other: crate::config::keys::ENABLE_IDEMPOTENCE,
                other_value: "true".to_owned(),
                hint: "idempotence keeps order for at most 5 requests in flight; lower it or set enable.idempotence=false",
            }));
        }
        if config.delivery_timeout() < config.linger() + client_config.request_timeout() {
            return Err(Error::from(crate::config::ConfigError::Conflict {
                key: crate::config::keys::DELIVERY_TIMEOUT_MS,
                value: config.delivery_timeout().as_millis().to_string(),
                other: "linger.ms + request.timeout.ms",
                other_value: (config.linger() + client_config.request_timeout())
                    .as_millis()
                    .to_string(),
                hint: "a record must get at least one full try; raise delivery.timeout.ms",
            }));
        }
        let inner = Arc::new(Inner {
            idempotence: config
                .idempotence()
                .then(|| Mutex::new(IdempotenceState::new())),
            fatal_seen: AtomicBool::new(false),
            accumulator: Accumulator::new(&config),
            combiners: combine::Combiners::default(),
            bump: tokio::sync::Mutex::new(()),
            pending: AtomicUsize::new(0),
            idle: Notify::new(),
            flushing: AtomicUsize::new(0),
            closing: AtomicBool::new(false),
            client,
            config,
            partitioning,
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
        let max_age =
            i64::try_from(inner.client.config().metadata_max_age().as_millis()).unwrap_or(i64::MAX);
        let choose = |count: i32, sticky: &mut partitioner::StickyPartition| {
            inner.choose_partition(&record, size, count, sticky)
        };
        let route = match inner
            .accumulator
            .route(inner, &record.topic, now, max_age, choose)
        {
            Route::NeedsMetadata => {
                // A topic seen for the first time: a name the broker would
                // refuse fails here, before any request.
                crate::admin::check_topic_name(&record.topic).map_err(ProduceError::not_written)?;
                self.fetch_partition_count(&record.topic, deadline())
                    .await?;
                // Just learnt: fresh whatever `metadata.max.age.ms` says.
                inner
                    .accumulator
                    .route(inner, &record.topic, now_ms(), i64::MAX, choose)
            }
            route => route,
        };
        let (partition, queue) = match route {
            Route::To { partition, queue } => (partition, queue),
            Route::Refused(error) => return Err(ProduceError::not_written(error)),
            Route::NeedsMetadata => {
                return Err(ProduceError::not_written(
                    Error::new(ErrorKind::UnknownTopicOrPartition).with_topic(&record.topic),
                ))
            }
        };
        let permits = u32::try_from(size).unwrap_or(u32::MAX);
        inner
            .reserve_buffer(permits, queue.partition(), &mut deadline)
            .await?;
        let timestamp = record.timestamp.unwrap_or(now);
        inner.pending.fetch_add(1, Ordering::AcqRel);
        match inner
            .accumulator
            .append(&queue, timestamp, &record, permits as usize)
        {
            Ok(delivery) => {
                if let Partitioning::Custom(partitioner) = &inner.partitioning {
                    partitioner.on_append(&record.topic, partition, size);
                }
                Ok(delivery)
            }
            Err(error) => {
                inner.resolved(1);
                Err(ProduceError::not_written(
                    error.with_topic_partition(queue.partition().clone()),
                ))
            }
        }
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

    /// Learns the partition count of `topic`, asking the broker to
    /// create it when it does not exist (as Java's producer does: the
    /// broker's `auto.create.topics.enable` decides). A topic being
    /// created (no leader yet) is waited for until `deadline`; one the
    /// broker will not create fails after a few tries, saying so.
    async fn fetch_partition_count(
        &self,
        topic: &Arc<str>,
        deadline: Instant,
    ) -> Result<i32, ProduceError> {
        let client = &self.inner.client;
        let config = client.config();
        let timed_out = || {
            ProduceError::not_written(
                Error::new(ErrorKind::Timeout(self.inner.config.max_block()))
                    .with_topic(topic)
                    .with_hint("no metadata for the topic within max.block.ms"),
            )
        };
        let mut unknown = 0;
        let mut failures = 0;
        loop {
            let refreshed = tokio::time::timeout_at(
                deadline,
                client.refresh_metadata_with(Some(std::slice::from_ref(topic)), true),
            )
            .await
            .map_err(|_| timed_out())?;
            // (error code, partition count) of the topic in the answer.
            let answer = match refreshed {
                Ok(response) => response
                    .topics
                    .iter()
                    .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == &**topic))
                    .map(|t| (t.error_code, t.partitions.len())),
                Err(e) if e.is_retriable() => None,
                Err(e) => return Err(ProduceError::not_written(e.with_topic(topic))),
            };
            match answer {
                Some((0, partitions)) if partitions > 0 => {
                    let count = i32::try_from(partitions).unwrap_or(i32::MAX);
                    self.inner
                        .accumulator
                        .learn_partition_count(topic, count, now_ms());
                    return Ok(count);
                }
                // UNKNOWN_TOPIC_OR_PARTITION to a request that asked for the
                // topic to be created: the broker does not create topics.
                // (It may be a lagging broker, so ask again a few times.)
                Some((3, _)) => {
                    unknown += 1;
                    if unknown >= 3 {
                        return Err(ProduceError::not_written(
                            Error::new(ErrorKind::UnknownTopicOrPartition)
                                .with_topic(topic)
                                .with_hint("the topic does not exist and the broker did not create it (auto.create.topics.enable is off on the broker): create it first, e.g. with Admin::create_topic"),
                        ));
                    }
                }
                Some((code, _)) => {
                    if let Some(e) = Error::from_code(code) {
                        if !e.is_retriable() {
                            return Err(ProduceError::not_written(e.with_topic(topic)));
                        }
                    }
                }
                // A retriable failure of the request itself.
                None => {}
            }
            // The topic is being created (LEADER_NOT_AVAILABLE, no
            // partitions yet) or the request failed for now: again, after a backoff.
            failures += 1;
            let wait = crate::backoff::backoff_with_jitter(
                config.retry_backoff(),
                config.retry_backoff_max(),
                failures,
            );
            if Instant::now() + wait >= deadline {
                return Err(timed_out());
            }
            tokio::time::sleep(wait).await;
        }
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
        if !self.fatal_seen.load(Ordering::Acquire) {
            return None;
        }
        self.idempotence
            .as_ref()
            .and_then(|s| s.lock().unwrap_or_else(|e| e.into_inner()).fatal().cloned())
    }

    /// The partition of `record` (taking `size` bytes) in a topic of
    /// `count` partitions: the explicit one, else the partitioner's. Runs
    /// under the topic table's lock, with the topic's sticky state.
    fn choose_partition(
        &self,
        record: &ProducerRecord,
        size: usize,
        count: i32,
        sticky: &mut partitioner::StickyPartition,
    ) -> Result<i32, Error> {
        let key = record.key.as_deref();
        let partition = match (record.partition, &self.partitioning) {
            (Some(p), _) => {
                if !(0..count).contains(&p) {
                    return Err(Error::new(ErrorKind::UnknownTopicOrPartition)
                        .with_topic_partition(TopicPartition::new(Arc::clone(&record.topic), p))
                        .with_hint(format!("the topic has {count} partitions")));
                }
                p
            }
            (None, Partitioning::Default { switch_after_bytes }) => match key {
                Some(key) => partitioner::partition_for_key(key, count),
                None => {
                    let p = sticky.partition(count, *switch_after_bytes);
                    sticky.appended(p, size);
                    p
                }
            },
            (None, Partitioning::Custom(partitioner)) => {
                partitioner.partition(&record.topic, key, count)
            }
        };
        if !(0..count).contains(&partition) {
            return Err(Error::new(ErrorKind::InvalidArgument(format!(
                "the partitioner chose partition {partition} of a topic with {count}"
            )))
            .with_topic(&record.topic));
        }
        Ok(partition)
    }

    /// Takes `permits` bytes of `buffer.memory` for a record of
    /// `partition`, waiting until `deadline()` when the buffer is full. The
    /// permits are forgotten here; the record's batch gives them back.
    async fn reserve_buffer(
        &self,
        permits: u32,
        partition: &TopicPartition,
        deadline: &mut impl FnMut() -> Instant,
    ) -> Result<(), ProduceError> {
        let buffer = &self.accumulator.buffer;
        // Space is usually free: take it without setting up a timer. (The
        // semaphore hands freed permits to queued waiters first, so this does
        // not overtake a record that is already waiting.)
        let taken = match buffer.try_acquire_many(permits) {
            Ok(permit) => {
                permit.forget();
                // Stay a yield point, as the waiting acquire is: a task that
                // sends in a loop must still let the sender tasks (and
                // anything else on its worker) run.
                tokio::task::coop::consume_budget().await;
                Ok(Ok(()))
            }
            Err(TryAcquireError::Closed) => Ok(Err(())),
            Err(TryAcquireError::NoPermits) => {
                tokio::time::timeout_at(deadline(), buffer.acquire_many(permits))
                    .await
                    .map(|acquired| acquired.map(|permit| permit.forget()).map_err(|_| ()))
            }
        };
        match taken {
            Ok(Ok(())) => Ok(()),
            Ok(Err(())) => Err(ProduceError::not_written(Error::new(ErrorKind::Shutdown))),
            Err(_) => Err(ProduceError::not_written(
                Error::new(ErrorKind::Timeout(self.config.max_block()))
                    .with_topic_partition(partition.clone())
                    .with_hint("buffer.memory stayed full for max.block.ms: the brokers take records slower than they are sent; raise buffer.memory or max.block.ms, or send less"),
            )),
        }
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
