//! The ranged reader: records of given `[start, end)` offset ranges, as a
//! [`futures::Stream`], in offset order per partition.
//!
//! A driver task fetches from each partition's leader (one fetch in flight
//! per broker) and hands whole fetched batches to the stream, which decodes
//! records as they are polled. Memory is bounded three ways: each fetch
//! asks for at most `fetch.max.bytes` (and `max.partition.fetch.bytes` per
//! partition), and every fetch first reserves its size from the client-wide
//! `fetch.buffer.max.bytes` budget, which is given back as the consumer
//! takes the records: a slow consumer stops the fetching (backpressure).
//! A reader with no fetch in flight whose consumer has taken everything
//! may fetch even when the budget is spent (by other readers' unread
//! records), so that streams drained one after the other cannot starve
//! each other; the overdraft is at most one fetch per reader.
//!
//! Per partition:
//! - a batch that starts before the requested offset is trimmed, and one
//!   that runs past the end is cut;
//! - `OFFSET_OUT_OF_RANGE` ends that partition with
//!   [`ErrorKind::OffsetOutOfRange`] (carrying the available range); the
//!   other partitions go on;
//! - with `read_committed`, records of aborted transactions and control
//!   records are skipped (control records are skipped in any case);
//! - a leader change (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, …, or a
//!   lost connection) refreshes metadata and moves the fetch to the new
//!   leader, with backoff; a partition that keeps failing past
//!   `default.api.timeout.ms` ends with the last error.
//!
//! A range whose end lies past the partition's high watermark waits for
//! the records to be written (long polling with `fetch.max.wait.ms`).
//! Records in the range that no longer exist (compaction) are skipped.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet, VecDeque};
use std::ops::Range;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use ferrokafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use ferrokafka_protocol::messages::{ApiKey, BrokerId, FetchRequest, FetchResponse, TopicName};
use ferrokafka_protocol::record::{BatchDecoder, ControlRecordType, RecordBatch, TimestampType};
use ferrokafka_protocol::{ProtocolError, StrBytes};
use futures::stream::FuturesUnordered;
use futures::{FutureExt, Stream, StreamExt};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use crate::backoff::backoff_with_jitter;
use crate::client::Client;
use crate::config::IsolationLevel;
use crate::error::{Error, ErrorKind, Result};
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
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

/// Which isolation level and ranges to read; see [`Client::read`].
#[derive(Debug, Clone)]
struct ReadPlan {
    ranges: Vec<ReadRange>,
    isolation: IsolationLevel,
}

impl Client {
    /// Reads `ranges` at the configured `isolation.level`. Must be called
    /// inside a tokio runtime (it spawns the fetch driver, which stops
    /// when the stream is dropped).
    ///
    /// Empty ranges are skipped; an invalid one (negative start, end
    /// before start) is yielded as an error for its partition.
    pub fn read(&self, ranges: Vec<ReadRange>) -> RecordStream {
        self.read_with(ranges, self.config().isolation_level())
    }

    /// As [`read`](Self::read), at the given isolation level.
    pub fn read_with(&self, ranges: Vec<ReadRange>, isolation: IsolationLevel) -> RecordStream {
        let (events_tx, events) = mpsc::unbounded_channel();
        let failed = Arc::new(Mutex::new(HashSet::new()));
        let driver = Driver::new(
            self.clone(),
            ReadPlan { ranges, isolation },
            events_tx,
            Arc::clone(&failed),
        );
        let driver = tokio::spawn(driver.run());
        RecordStream {
            events,
            chunk: None,
            ready: VecDeque::new(),
            failed,
            driver,
        }
    }
}

/// Fetched batches of one partition, handed from the driver to the stream.
struct Chunk {
    tp: TopicPartition,
    batches: VecDeque<RecordBatch>,
    /// Records below this offset are trimmed.
    low: i64,
    /// Records at or above this offset are cut.
    high: i64,
    verify: bool,
    /// Fetch-budget bytes, given back when the chunk is consumed.
    _budget: Option<OwnedSemaphorePermit>,
    /// Counts the chunk as waiting for this reader's consumer.
    _held: Held,
}

/// How much of one reader holds on to memory: fetches in flight and
/// fetched chunks its consumer has not taken yet.
#[derive(Debug, Default)]
struct Buffered {
    holds: std::sync::atomic::AtomicUsize,
    /// Signalled when the count drops to zero.
    emptied: tokio::sync::Notify,
}

impl Buffered {
    fn hold(self: &Arc<Self>) -> Held {
        self.holds.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Held(Arc::clone(self))
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.holds.load(std::sync::atomic::Ordering::SeqCst) == 0
    }

    /// Reserves `want` bytes of the client-wide budget, waiting for them
    /// only while this reader holds something (a fetch in flight, unread
    /// chunks): holding nothing, a spent budget is other readers' unread
    /// records, and waiting on them could wait forever (their consumer may
    /// be waiting on us). Then it fetches without a reservation. The
    /// fetch is held from then on (the check and the hold are one atomic
    /// step, so two fetches cannot both skip the reservation).
    async fn reserve(
        self: &Arc<Self>,
        budget: &Arc<Semaphore>,
        want: u32,
    ) -> (Option<OwnedSemaphorePermit>, Held) {
        use std::sync::atomic::Ordering::SeqCst;
        loop {
            let emptied = self.emptied.notified();
            tokio::pin!(emptied);
            emptied.as_mut().enable();
            if let Ok(permit) = Arc::clone(budget).try_acquire_many_owned(want) {
                return (Some(permit), self.hold());
            }
            if self.holds.compare_exchange(0, 1, SeqCst, SeqCst).is_ok() {
                return (None, Held(Arc::clone(self)));
            }
            tokio::select! {
                permit = Arc::clone(budget).acquire_many_owned(want) => return (permit.ok(), self.hold()),
                _ = &mut emptied => {}
            }
        }
    }
}

/// One chunk or fetch counted in [`Buffered`]; dropping it uncounts it.
#[derive(Debug)]
struct Held(Arc<Buffered>);

impl Drop for Held {
    fn drop(&mut self) {
        if self
            .0
            .holds
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst)
            == 1
        {
            self.0.emptied.notify_waiters();
        }
    }
}

enum Event {
    Chunk(Chunk),
    Failed(Error),
}

/// The records of a [`Client::read`], as a stream of
/// `Result<Record, Error>`. An error concerns one partition (see
/// [`Error::topic_partition`]); the others go on. The stream ends when
/// every range is read or has failed.
pub struct RecordStream {
    events: mpsc::UnboundedReceiver<Event>,
    chunk: Option<Chunk>,
    ready: VecDeque<Record>,
    failed: Arc<Mutex<HashSet<TopicPartition>>>,
    driver: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for RecordStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordStream")
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

impl Drop for RecordStream {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

impl RecordStream {
    /// Decodes the next batch of the current chunk into `ready`.
    fn decode_next_batch(&mut self) -> Option<Error> {
        let chunk = self.chunk.as_mut()?;
        let batch = chunk.batches.pop_front()?;
        let tp = chunk.tp.clone();
        match decode_batch(
            &tp,
            &batch,
            chunk.low,
            chunk.high,
            chunk.verify,
            &mut self.ready,
        ) {
            Ok(()) => None,
            Err(e) => {
                self.chunk = None;
                self.failed
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(tp);
                Some(e)
            }
        }
    }
}

fn decode_batch(
    tp: &TopicPartition,
    batch: &RecordBatch,
    low: i64,
    high: i64,
    verify: bool,
    out: &mut VecDeque<Record>,
) -> Result<()> {
    let corrupt = |offset: i64, e: ferrokafka_protocol::record::RecordError| {
        Error::new(ErrorKind::CorruptRecords {
            offset,
            source: ProtocolError::Record(e),
        })
        .with_topic_partition(tp.clone())
    };
    if verify {
        batch
            .verify_crc()
            .map_err(|e| corrupt(batch.base_offset(), e))?;
    }
    let records = batch
        .records()
        .map_err(|e| corrupt(batch.base_offset(), e))?;
    let epoch = batch.partition_leader_epoch();
    let timestamp_type = batch.timestamp_type();
    for record in records.iter() {
        let record = record.map_err(|e| corrupt(batch.base_offset(), e))?;
        let offset = record.offset();
        if offset < low {
            continue;
        }
        if offset >= high {
            break;
        }
        out.push_back(Record {
            topic: Arc::clone(&tp.topic),
            partition: tp.partition,
            offset,
            timestamp: record.timestamp(),
            timestamp_type,
            key: record.key_bytes(),
            value: record.value_bytes(),
            headers: record
                .headers()
                .iter()
                .map(|h| {
                    h.map(|h| RecordHeader {
                        key: h.key_bytes(),
                        value: h.value_bytes(),
                    })
                })
                .collect::<std::result::Result<_, _>>()
                .map_err(|e| corrupt(offset, e))?,
            leader_epoch: (epoch >= 0).then_some(epoch),
        });
    }
    Ok(())
}

impl Stream for RecordStream {
    type Item = Result<Record>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(record) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(record)));
            }
            if this.chunk.as_ref().is_some_and(|c| !c.batches.is_empty()) {
                if let Some(e) = this.decode_next_batch() {
                    return Poll::Ready(Some(Err(e)));
                }
                continue;
            }
            // The chunk is consumed: its budget goes back.
            this.chunk = None;
            match this.events.poll_recv(cx) {
                Poll::Ready(Some(Event::Chunk(chunk))) => {
                    let failed = this
                        .failed
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .contains(&chunk.tp);
                    if !failed {
                        this.chunk = Some(chunk);
                    }
                }
                Poll::Ready(Some(Event::Failed(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

/// Where one partition's reading stands.
#[derive(Debug)]
struct Cursor {
    tp: TopicPartition,
    position: i64,
    end: i64,
    leader: Option<(i32, i32)>,
    retry_at: Option<Instant>,
    failures: u32,
    failing_since: Option<Instant>,
    /// Aborted transactions not yet reached: (first offset, producer id).
    aborted: BinaryHeap<Reverse<(i64, i64)>>,
    /// Producers whose current transaction is aborted.
    aborted_producers: HashSet<i64>,
    done: bool,
}

/// What one partition's fetched records produced.
#[derive(Debug, Default)]
struct Progress {
    batches: VecDeque<RecordBatch>,
    bytes: usize,
    error: Option<Error>,
}

impl Cursor {
    fn new(range: &ReadRange) -> Self {
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

    /// Walks the batches of one fetched partition, advancing the position
    /// and keeping the batches the consumer should see. Sans-IO.
    fn advance(
        &mut self,
        records: Bytes,
        aborted: &[(i64, i64)],
        isolation: IsolationLevel,
        readable_end: i64,
        conclusive: bool,
    ) -> Progress {
        let mut progress = Progress::default();
        for &(producer_id, first_offset) in aborted {
            self.aborted.push(Reverse((first_offset, producer_id)));
        }
        let mut decoder = BatchDecoder::new(records);
        let mut saw_batch = false;
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
            saw_batch = true;
            if batch.next_offset() <= self.position {
                continue; // entirely before the range (or already read)
            }
            if batch.base_offset() >= self.end {
                self.done = true;
                break;
            }
            let skip = if isolation == IsolationLevel::ReadCommitted && batch.is_transactional() {
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
            } else {
                batch.is_control()
            };
            self.position = batch.next_offset();
            if !skip {
                progress.bytes += batch.size_in_bytes();
                progress.batches.push_back(batch);
            }
            if self.position >= self.end {
                self.done = true;
                break;
            }
        }
        // Nothing at or after the position below the readable end: the rest
        // of the range was removed (compaction). Only conclusive when no
        // partition before this one in the answer used up the response
        // size (the broker then sends later partitions empty).
        if conclusive && !saw_batch && decoder.partial_tail().is_none() && readable_end >= self.end
        {
            self.done = true;
        }
        progress
    }

    fn fail(&mut self, client: &Client, error: &Error) -> bool {
        let now = Instant::now();
        let since = *self.failing_since.get_or_insert(now);
        self.failures += 1;
        self.leader = None;
        if error.needs_metadata_refresh() {
            client.invalidate_metadata(&self.tp.topic);
        }
        let config = client.config();
        if !error.is_retriable()
            || now.saturating_duration_since(since) >= config.default_api_timeout()
        {
            self.done = true;
            return false;
        }
        self.retry_at = Some(
            now + backoff_with_jitter(
                config.retry_backoff(),
                config.retry_backoff_max(),
                self.failures,
            ),
        );
        true
    }

    fn succeeded(&mut self) {
        self.failures = 0;
        self.failing_since = None;
    }
}

type FetchOutcome = (
    i32,
    Vec<usize>,
    Option<OwnedSemaphorePermit>,
    Result<FetchResponse>,
    // The fetch counts as this reader's until its answer is handled.
    Held,
);

struct Driver {
    client: Client,
    buffered: Arc<Buffered>,
    isolation: IsolationLevel,
    cursors: Vec<Cursor>,
    events: mpsc::UnboundedSender<Event>,
    failed: Arc<Mutex<HashSet<TopicPartition>>>,
    invalid: Vec<Error>,
    turn: usize,
}

impl Driver {
    fn new(
        client: Client,
        plan: ReadPlan,
        events: mpsc::UnboundedSender<Event>,
        failed: Arc<Mutex<HashSet<TopicPartition>>>,
    ) -> Self {
        let mut invalid = Vec::new();
        let mut cursors = Vec::new();
        let mut seen = HashSet::new();
        for range in &plan.ranges {
            if range.start < 0 || range.end < range.start {
                invalid.push(
                    Error::new(ErrorKind::InvalidArgument(format!(
                        "the range [{}, {}) is not a valid offset range; resolve earliest/latest with Admin::list_offsets first",
                        range.start, range.end
                    )))
                    .with_topic_partition(range.tp.clone()),
                );
            } else if !seen.insert(range.tp.clone()) {
                invalid.push(
                    Error::new(ErrorKind::InvalidArgument(
                        "the partition is listed twice; merge its ranges".to_owned(),
                    ))
                    .with_topic_partition(range.tp.clone()),
                );
            } else {
                cursors.push(Cursor::new(range));
            }
        }
        Driver {
            client,
            buffered: Arc::default(),
            isolation: plan.isolation,
            cursors,
            events,
            failed,
            invalid,
            turn: 0,
        }
    }

    fn emit(&self, event: Event) -> bool {
        self.events.send(event).is_ok()
    }

    fn is_cancelled(&self, tp: &TopicPartition) -> bool {
        self.failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(tp)
    }

    async fn run(mut self) {
        for e in std::mem::take(&mut self.invalid) {
            if !self.emit(Event::Failed(e)) {
                return;
            }
        }
        let mut in_flight: FuturesUnordered<futures::future::BoxFuture<'static, FetchOutcome>> =
            FuturesUnordered::new();
        let mut busy: HashSet<i32> = HashSet::new();
        loop {
            for i in 0..self.cursors.len() {
                if self.is_cancelled(&self.cursors[i].tp) {
                    self.cursors[i].done = true;
                }
            }
            if self.cursors.iter().all(|c| c.done) && in_flight.is_empty() {
                return;
            }
            let now = Instant::now();
            // Find leaders for the partitions that need one.
            for i in 0..self.cursors.len() {
                let c = &self.cursors[i];
                if c.done || c.leader.is_some() || c.retry_at.is_some_and(|t| t > now) {
                    continue;
                }
                let tp = c.tp.clone();
                match self.client.leader(&tp).await {
                    Ok(p) => {
                        let c = &mut self.cursors[i];
                        c.leader = Some((p.leader, p.leader_epoch));
                        c.retry_at = None;
                    }
                    Err(e) => {
                        // Metadata errors name the topic only; the consumer
                        // needs to know which of its partitions ended.
                        let e = e.with_topic_partition(tp);
                        let c = &mut self.cursors[i];
                        // Unknown after a refresh and a retry: it does not exist.
                        let gone = matches!(e.kind(), ErrorKind::UnknownTopicOrPartition)
                            && c.failures >= 2;
                        if gone {
                            c.done = true;
                        }
                        if (gone || !c.fail(&self.client, &e)) && !self.emit(Event::Failed(e)) {
                            return;
                        }
                    }
                }
            }
            // One fetch per broker with work and none in flight.
            let mut by_broker: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
            for (i, c) in self.cursors.iter().enumerate() {
                if c.done || c.retry_at.is_some_and(|t| t > now) {
                    continue;
                }
                if let Some((leader, _)) = c.leader {
                    if !busy.contains(&leader) {
                        by_broker.entry(leader).or_default().push(i);
                    }
                }
            }
            for (broker, mut indices) in by_broker {
                // Rotate the order so that no partition is always last
                // when the response size runs out.
                self.turn = self.turn.wrapping_add(1);
                let len = indices.len();
                indices.rotate_left(self.turn % len);
                busy.insert(broker);
                in_flight.push(self.fetch(broker, indices));
            }
            // Wait for an answer or the next retry time.
            let next_retry = self
                .cursors
                .iter()
                .filter(|c| !c.done)
                .filter_map(|c| c.retry_at)
                .min();
            tokio::select! {
                Some((broker, indices, budget, result, fetching)) = in_flight.next(), if !in_flight.is_empty() => {
                    busy.remove(&broker);
                    if !self.handle(indices, budget, result).await {
                        return;
                    }
                    drop(fetching);
                }
                _ = tokio::time::sleep_until(next_retry.unwrap_or(now + Duration::from_secs(3600))), if next_retry.is_some() => {}
                else => {
                    // Nothing in flight and nothing to wait for: leaders
                    // are being looked up again on the next turn.
                    tokio::task::yield_now().await;
                }
            }
        }
    }

    /// Builds one fetch for `indices` (all led by `broker`); reserves its
    /// size from the client-wide budget first.
    fn fetch(
        &self,
        broker: i32,
        indices: Vec<usize>,
    ) -> futures::future::BoxFuture<'static, FetchOutcome> {
        let client = self.client.clone();
        let config = client.config();
        let budget = Arc::clone(client.fetch_budget());
        let buffered = Arc::clone(&self.buffered);
        let cap = config.fetch_buffer_max_bytes();
        // Half the budget per fetch, so one can be in flight while the
        // consumer works through the previous one.
        let want = (config.fetch_max_bytes() as usize)
            .min((cap / 2).max(1))
            .min(u32::MAX as usize) as u32;
        let per_partition = config.max_partition_fetch_bytes().min(want as i32);
        let mut topics: BTreeMap<Arc<str>, Vec<FetchPartition>> = BTreeMap::new();
        for &i in &indices {
            let c = &self.cursors[i];
            let epoch = c.leader.map_or(-1, |(_, e)| e);
            topics.entry(Arc::clone(&c.tp.topic)).or_default().push(
                FetchPartition::default()
                    .with_partition(c.tp.partition)
                    .with_current_leader_epoch(epoch)
                    .with_fetch_offset(c.position)
                    .with_last_fetched_epoch(-1)
                    .with_log_start_offset(-1)
                    .with_partition_max_bytes(per_partition),
            );
        }
        let max_wait = config.fetch_max_wait();
        let request = FetchRequest::default()
            .with_replica_id(BrokerId(-1))
            .with_max_wait_ms(i32::try_from(max_wait.as_millis()).unwrap_or(i32::MAX))
            .with_min_bytes(config.fetch_min_bytes())
            .with_max_bytes(want as i32)
            .with_isolation_level(self.isolation.wire_value())
            .with_session_id(0)
            .with_session_epoch(-1) // no fetch session
            .with_topics(
                topics
                    .into_iter()
                    .map(|(topic, partitions)| {
                        FetchTopic::default()
                            .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
                            .with_partitions(partitions)
                    })
                    .collect(),
            );
        let timeout = client.request_timeout_plus(max_wait);
        let fetch = async move {
            let (permit, fetching) = buffered.reserve(&budget, want).await;
            let result = async {
                let conn = client.broker_connection(broker).await?;
                let version = conn.version(ApiKey::Fetch)?;
                // Before v9 there is no current_leader_epoch field.
                let request = if version < 9 {
                    let mut r = request;
                    for t in &mut r.topics {
                        for p in &mut t.partitions {
                            p.current_leader_epoch = -1;
                        }
                    }
                    r
                } else {
                    request
                };
                conn.send_at(&request, version, timeout).await
            }
            .await;
            (broker, indices, permit, result, fetching)
        };
        // The fetch runs as its own task: it holds the broker's pool slot
        // while connecting, and the driver, busy looking up a leader (a
        // metadata refresh that may need that slot), would otherwise stop
        // polling it and wait for itself. Dropping the handle (the stream
        // went away) cancels the task.
        let (task, handle) = fetch.remote_handle();
        tokio::spawn(task);
        Box::pin(handle)
    }

    /// Applies one fetch answer, then reports out-of-range partitions with
    /// the range they do hold; false when the stream is gone.
    async fn handle(
        &mut self,
        indices: Vec<usize>,
        budget: Option<OwnedSemaphorePermit>,
        result: Result<FetchResponse>,
    ) -> bool {
        let mut out_of_range = Vec::new();
        if !self.apply(indices, budget, result, &mut out_of_range) {
            return false;
        }
        for (i, requested, mut log_start_offset, mut high_watermark) in out_of_range {
            let tp = self.cursors[i].tp.clone();
            // Brokers send -1 for both with OFFSET_OUT_OF_RANGE; ask.
            if log_start_offset < 0 || high_watermark < 0 {
                let specs = [
                    (tp.clone(), crate::admin::OffsetSpec::Earliest),
                    (tp.clone(), crate::admin::OffsetSpec::Latest),
                ];
                if let Ok(found) = self
                    .client
                    .admin()
                    .list_offsets(&specs, self.isolation)
                    .await
                {
                    if let [(_, Ok(earliest)), (_, Ok(latest))] = &found[..] {
                        log_start_offset = earliest.offset;
                        high_watermark = latest.offset;
                    }
                }
            }
            let e = Error::new(ErrorKind::OffsetOutOfRange {
                requested,
                log_start_offset,
                high_watermark,
            })
            .with_topic_partition(tp)
            .with_api(ApiKey::Fetch)
            .with_hint("read from an offset inside the available range (Admin::list_offsets gives earliest and latest)");
            if !self.emit(Event::Failed(e)) {
                return false;
            }
        }
        true
    }

    fn apply(
        &mut self,
        indices: Vec<usize>,
        mut budget: Option<OwnedSemaphorePermit>,
        result: Result<FetchResponse>,
        out_of_range: &mut Vec<(usize, i64, i64, i64)>,
    ) -> bool {
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                for i in indices {
                    let c = &mut self.cursors[i];
                    if !c.fail(&self.client, &e) {
                        let e = e.duplicate().with_topic_partition(c.tp.clone());
                        if !self.emit(Event::Failed(e)) {
                            return false;
                        }
                    }
                }
                return true;
            }
        };
        if let Some(e) = Error::from_code(response.error_code) {
            for i in indices {
                let c = &mut self.cursors[i];
                if !c.fail(&self.client, &e) {
                    let e = e
                        .duplicate()
                        .with_topic_partition(c.tp.clone())
                        .with_api(ApiKey::Fetch);
                    if !self.emit(Event::Failed(e)) {
                        return false;
                    }
                }
            }
            return true;
        }
        let index: HashMap<(&str, i32), usize> = indices
            .iter()
            .map(|&i| {
                (
                    (&*self.cursors[i].tp.topic, self.cursors[i].tp.partition),
                    i,
                )
            })
            .collect();
        let mut answers: Vec<(
            usize,
            ferrokafka_protocol::messages::fetch_response::PartitionData,
        )> = Vec::new();
        for topic in response.responses {
            for p in topic.partitions {
                if let Some(&i) = index.get(&(topic.topic.0.as_str(), p.partition_index)) {
                    answers.push((i, p));
                }
            }
        }
        let mut answered = HashSet::new();
        let mut bytes_before = 0usize;
        for (i, p) in answers {
            let conclusive = bytes_before == 0;
            bytes_before += p.records.as_ref().map_or(0, Bytes::len);
            if !answered.insert(i) {
                continue; // a partition listed twice: the first answer counts
            }
            let isolation = self.isolation;
            let verify = self.client.config().check_crcs();
            let c = &mut self.cursors[i];
            if p.error_code == 1 {
                c.done = true;
                out_of_range.push((i, c.position, p.log_start_offset, p.high_watermark));
                continue;
            }
            if let Some(e) = Error::from_code(p.error_code) {
                let e = e.with_topic_partition(c.tp.clone()).with_api(ApiKey::Fetch);
                if !c.fail(&self.client, &e) && !self.emit(Event::Failed(e)) {
                    return false;
                }
                continue;
            }
            c.succeeded();
            let aborted: Vec<(i64, i64)> = p
                .aborted_transactions
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|a| (a.producer_id.0, a.first_offset))
                .collect();
            let readable_end = match isolation {
                IsolationLevel::ReadCommitted if p.last_stable_offset >= 0 => p.last_stable_offset,
                _ => p.high_watermark,
            };
            let low = c.position;
            let progress = c.advance(
                p.records.unwrap_or_default(),
                &aborted,
                isolation,
                readable_end,
                conclusive,
            );
            let high = c.end;
            let tp = c.tp.clone();
            if !progress.batches.is_empty() {
                let share = budget
                    .as_mut()
                    .and_then(|b| b.split(progress.bytes.min(b.num_permits())));
                let chunk = Chunk {
                    tp: tp.clone(),
                    batches: progress.batches,
                    low,
                    high,
                    verify,
                    _budget: share,
                    _held: self.buffered.hold(),
                };
                if !self.emit(Event::Chunk(chunk)) {
                    return false;
                }
            }
            if let Some(e) = progress.error {
                self.cursors[i].done = true;
                if !self.emit(Event::Failed(e)) {
                    return false;
                }
            }
        }
        // Partitions the broker did not mention are fetched again.
        drop(budget);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let p = c.advance(data, aborted, iso, 0, true);
        let tp = c.tp.clone();
        let mut out = VecDeque::new();
        // The stream trims with the position from before the fetch.
        for b in &p.batches {
            decode_batch(&tp, b, i64::MIN, c.end, true, &mut out).unwrap();
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
        let p = c.advance(data.clone(), &[], IsolationLevel::ReadUncommitted, 15, true);
        assert_eq!(p.batches.len(), 3);
        assert!(c.done);
        let mut out = VecDeque::new();
        for b in &p.batches {
            decode_batch(&c.tp, b, 3, 12, true, &mut out).unwrap();
        }
        let got: Vec<i64> = out.iter().map(|r| r.offset).collect();
        assert_eq!(got, (3..12).collect::<Vec<_>>());
        assert_eq!(out[0].value.as_deref(), Some(&b"v3"[..]));
        assert_eq!(out[0].timestamp, 1003);

        // A batch wholly before the position is skipped; one past the end stops.
        let mut c = range(5, 10);
        let p = c.advance(data, &[], IsolationLevel::ReadUncommitted, 15, true);
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
    fn an_empty_answer_past_the_readable_end_finishes_the_range() {
        let mut c = range(3, 5);
        c.advance(Bytes::new(), &[], IsolationLevel::ReadUncommitted, 9, false);
        assert!(!c.done, "an empty partition after a full one says nothing");
        let p = c.advance(Bytes::new(), &[], IsolationLevel::ReadUncommitted, 9, true);
        assert!(p.batches.is_empty());
        assert!(
            c.done,
            "nothing left in [3, 5) although the log goes to 9: compacted away"
        );
        let mut c = range(3, 5);
        c.advance(Bytes::new(), &[], IsolationLevel::ReadUncommitted, 4, true);
        assert!(!c.done, "records up to 5 are not written yet: keep waiting");
    }

    #[tokio::test]
    async fn a_reader_with_nothing_unread_is_not_starved_by_a_spent_budget() {
        let budget = Arc::new(Semaphore::new(100));
        let others = Arc::clone(&budget).acquire_many_owned(100).await.unwrap();
        let buffered = Arc::new(Buffered::default());
        let (permit, fetching) = buffered.reserve(&budget, 50).await;
        assert!(
            permit.is_none(),
            "nothing of ours is unread: fetch without a reservation"
        );
        // With a fetch or chunk of ours held, it waits, until the budget
        // frees up.
        let held = fetching;
        let waiting = {
            let (budget, buffered) = (Arc::clone(&budget), Arc::clone(&buffered));
            tokio::spawn(async move {
                buffered
                    .reserve(&budget, 50)
                    .await
                    .0
                    .map(|p| p.num_permits())
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(others);
        assert_eq!(waiting.await.unwrap(), Some(50));
        // Or until our consumer takes the chunk.
        let others = Arc::clone(&budget).acquire_many_owned(100).await.unwrap();
        let waiting = {
            let (budget, buffered) = (Arc::clone(&budget), Arc::clone(&buffered));
            tokio::spawn(async move { buffered.reserve(&budget, 50).await.0.is_none() })
        };
        tokio::task::yield_now().await;
        drop(held);
        assert!(waiting.await.unwrap());
        assert!(buffered.is_empty(), "the fetch's hold ended with its task");
        drop(others);
    }

    #[test]
    fn garbage_records_are_an_error_not_a_panic() {
        let mut c = range(0, 5);
        let p = c.advance(
            Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]),
            &[],
            IsolationLevel::ReadUncommitted,
            9,
            true,
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
}
