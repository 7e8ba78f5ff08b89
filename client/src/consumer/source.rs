//! The fetch source: one task per read that looks up leaders, keeps one
//! fetch in flight per broker, and applies the answers to the partitions'
//! cursors, handing kept batches to the stream.
//!
//! A fetch first reserves its size from the client-wide budget (see
//! [`budget`](super::budget)); a partition whose fetch fails backs off and
//! moves to the new leader after a metadata refresh; `OFFSET_OUT_OF_RANGE`
//! ends a partition with the range the broker does hold.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use ferrokafka_protocol::messages::fetch_response::PartitionData;
use ferrokafka_protocol::messages::{ApiKey, FetchResponse};
use ferrokafka_protocol::requests::{fetch_request, FetchPosition, FetchSettings};
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use tokio::sync::{mpsc, OwnedSemaphorePermit};
use tokio::time::Instant;

use super::budget::{Buffered, Held};
use super::cursor::{Cursor, RetryPolicy};
use super::record::{PartitionWatermarks, ReadRange};
use super::stream::{Chunk, Event, Shared};
use crate::client::Client;
use crate::config::IsolationLevel;
use crate::error::{Error, ErrorKind, Result};
use crate::hooks::FetchApplied;

type FetchOutcome = (
    i32,
    Vec<usize>,
    Option<OwnedSemaphorePermit>,
    Result<FetchResponse>,
    // The fetch counts as this reader's until its answer is handled.
    Held,
);

/// A partition that answered OFFSET_OUT_OF_RANGE: its cursor, the offset
/// asked for, and the log range the broker reported (-1 when it did not).
struct OutOfRange {
    index: usize,
    requested: i64,
    log_start_offset: i64,
    high_watermark: i64,
}

pub(crate) struct Source {
    client: Client,
    buffered: Arc<Buffered>,
    isolation: IsolationLevel,
    retry: RetryPolicy,
    cursors: Vec<Cursor>,
    events: mpsc::UnboundedSender<Event>,
    shared: Arc<Shared>,
    invalid: Vec<Error>,
    turn: usize,
}

impl Source {
    pub(crate) fn new(
        client: Client,
        ranges: Vec<ReadRange>,
        isolation: IsolationLevel,
        events: mpsc::UnboundedSender<Event>,
        shared: Arc<Shared>,
    ) -> Self {
        let mut invalid = Vec::new();
        let mut cursors = Vec::new();
        let mut seen = HashSet::new();
        for range in &ranges {
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
        let config = client.config();
        let retry = RetryPolicy {
            backoff: config.retry_backoff(),
            backoff_max: config.retry_backoff_max(),
            give_up_after: config.default_api_timeout(),
        };
        Source {
            client,
            buffered: Arc::default(),
            isolation,
            retry,
            cursors,
            events,
            shared,
            invalid,
            turn: 0,
        }
    }

    fn emit(&self, event: Event) -> bool {
        self.events.send(event).is_ok()
    }

    /// Records a failure of cursor `i`; false when the partition ended.
    fn fail(&mut self, i: usize, error: &Error) -> bool {
        if error.needs_metadata_refresh() {
            self.client.invalidate_metadata(&self.cursors[i].tp.topic);
        }
        self.cursors[i].fail(
            Instant::now(),
            error.is_retriable(),
            &self.retry,
            fastrand::f64(),
        )
    }

    /// Fails cursor `i` with `error`, emitting it when the partition ends;
    /// false when the stream is gone.
    fn fail_or_emit(&mut self, i: usize, error: Error) -> bool {
        self.fail(i, &error) || self.emit(Event::Failed(error))
    }

    pub(crate) async fn run(mut self) {
        for e in std::mem::take(&mut self.invalid) {
            if !self.emit(Event::Failed(e)) {
                return;
            }
        }
        let mut in_flight: FuturesUnordered<futures::future::BoxFuture<'static, FetchOutcome>> =
            FuturesUnordered::new();
        let mut busy: HashSet<i32> = HashSet::new();
        loop {
            for c in &mut self.cursors {
                if self.shared.has_failed(&c.tp) {
                    c.done = true;
                }
            }
            if self.cursors.iter().all(|c| c.done) && in_flight.is_empty() {
                return;
            }
            let now = Instant::now();
            if !self.find_leaders(now).await {
                return;
            }
            // One fetch per broker with work and none in flight.
            let mut by_broker: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
            for (i, c) in self.cursors.iter().enumerate() {
                if let (true, Some((leader, _))) = (c.is_due(now), c.leader) {
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

    /// Looks up the leader of every due partition without one; false when
    /// the stream is gone.
    async fn find_leaders(&mut self, now: Instant) -> bool {
        for i in 0..self.cursors.len() {
            let c = &self.cursors[i];
            if !c.is_due(now) || c.leader.is_some() {
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
                    // Unknown after a refresh and a retry: it does not exist.
                    let gone = matches!(e.kind(), ErrorKind::UnknownTopicOrPartition)
                        && self.cursors[i].failures >= 2;
                    if gone {
                        self.cursors[i].done = true;
                        if !self.emit(Event::Failed(e)) {
                            return false;
                        }
                    } else if !self.fail_or_emit(i, e) {
                        return false;
                    }
                }
            }
        }
        true
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
        let partitions_can_bring =
            partitions_can_bring(indices.len(), config.max_partition_fetch_bytes());
        let want = fetch_reservation(
            config.fetch_max_bytes(),
            config.fetch_buffer_max_bytes(),
            partitions_can_bring,
        );
        let per_partition = config.max_partition_fetch_bytes();
        let mut settings = FetchSettings {
            max_wait: config.fetch_max_wait(),
            min_bytes: config.fetch_min_bytes(),
            max_bytes: want as i32,
            isolation: self.isolation,
        };
        // Where each partition stands, for the request built once the
        // connection (and so the version) is known.
        let positions: Vec<(Arc<str>, i32, i64, Option<i32>)> = indices
            .iter()
            .map(|&i| {
                let c = &self.cursors[i];
                let epoch = c.leader.map(|(_, e)| e).filter(|e| *e >= 0);
                (Arc::clone(&c.tp.topic), c.tp.partition, c.position, epoch)
            })
            .collect();
        let timeout = client.request_timeout_plus(settings.max_wait);
        let fetch = async move {
            let (permit, fetching) = buffered.reserve(&budget, want).await;
            // Ask for no more than was reserved: less than wanted when this
            // reader fetches on an overdraft, which brokers answer with at
            // least one record batch whatever the size asked for.
            let reserved = permit.as_ref().map_or(1, |p| p.num_permits().max(1));
            settings.max_bytes = i32::try_from(reserved)
                .unwrap_or(i32::MAX)
                .min(partitions_can_bring);
            let per_partition = per_partition.min(settings.max_bytes);
            let result = async {
                let conn = client.broker_connection(broker).await?;
                let version = conn.version(ApiKey::Fetch)?;
                let positions: Vec<FetchPosition<'_>> = positions
                    .iter()
                    .map(|(topic, partition, offset, epoch)| FetchPosition {
                        topic,
                        partition: *partition,
                        offset: *offset,
                        current_leader_epoch: *epoch,
                        max_bytes: per_partition,
                    })
                    .collect();
                let request = fetch_request(version, &settings, &positions)?;
                conn.send_at(&request, version, timeout).await
            }
            .await;
            (broker, indices, permit, result, fetching)
        };
        // The fetch runs as its own task: it holds the broker's pool slot
        // while connecting, and the source, busy looking up a leader (a
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
        for gone in out_of_range {
            let e = self.out_of_range_error(gone).await;
            if !self.emit(Event::Failed(e)) {
                return false;
            }
        }
        true
    }

    /// The error ending a partition that answered OFFSET_OUT_OF_RANGE,
    /// with the range it does hold (asked for when the broker did not say).
    async fn out_of_range_error(&self, gone: OutOfRange) -> Error {
        let OutOfRange {
            index,
            requested,
            mut log_start_offset,
            mut high_watermark,
        } = gone;
        let tp = self.cursors[index].tp.clone();
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
        Error::new(ErrorKind::OffsetOutOfRange {
            requested,
            log_start_offset,
            high_watermark,
        })
        .with_topic_partition(tp)
        .with_api(ApiKey::Fetch)
        .with_hint("read from an offset inside the available range (Admin::list_offsets gives earliest and latest)")
    }

    /// Applies an answer (or the failure of the request) to the cursors of
    /// `indices`; false when the stream is gone.
    fn apply(
        &mut self,
        indices: Vec<usize>,
        mut budget: Option<OwnedSemaphorePermit>,
        result: Result<FetchResponse>,
        out_of_range: &mut Vec<OutOfRange>,
    ) -> bool {
        let response = match result {
            Ok(r) => r,
            Err(e) => {
                for i in indices {
                    let e = e
                        .duplicate()
                        .with_topic_partition(self.cursors[i].tp.clone());
                    if !self.fail_or_emit(i, e) {
                        return false;
                    }
                }
                return true;
            }
        };
        if let Some(e) = Error::from_code(response.error_code) {
            for i in indices {
                let e = e
                    .duplicate()
                    .with_topic_partition(self.cursors[i].tp.clone())
                    .with_api(ApiKey::Fetch);
                if !self.fail_or_emit(i, e) {
                    return false;
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
        let mut answers: Vec<(usize, PartitionData)> = Vec::new();
        for topic in response.responses {
            for p in topic.partitions {
                if let Some(&i) = index.get(&(topic.topic.0.as_str(), p.partition_index)) {
                    answers.push((i, p));
                }
            }
        }
        let mut answered = HashSet::new();
        for (i, p) in answers {
            if !answered.insert(i) {
                continue; // a partition listed twice: the first answer counts
            }
            if !self.apply_partition(i, p, &mut budget, out_of_range) {
                return false;
            }
        }
        // Partitions the broker did not mention are fetched again.
        true
    }

    /// Applies one partition's answer; false when the stream is gone.
    fn apply_partition(
        &mut self,
        i: usize,
        p: PartitionData,
        budget: &mut Option<OwnedSemaphorePermit>,
        out_of_range: &mut Vec<OutOfRange>,
    ) -> bool {
        let isolation = self.isolation;
        let verify = self.client.config().check_crcs();
        let tp = self.cursors[i].tp.clone();
        if p.error_code == 1 {
            let c = &mut self.cursors[i];
            c.done = true;
            out_of_range.push(OutOfRange {
                index: i,
                requested: c.position,
                log_start_offset: p.log_start_offset,
                high_watermark: p.high_watermark,
            });
            return true;
        }
        if let Some(e) = Error::from_code(p.error_code) {
            let e = e.with_topic_partition(tp).with_api(ApiKey::Fetch);
            return self.fail_or_emit(i, e);
        }
        if let Some(w) = PartitionWatermarks::from_fetch(
            p.high_watermark,
            p.last_stable_offset,
            p.log_start_offset,
        ) {
            self.shared.set_watermarks(&tp, w);
        }
        let c = &mut self.cursors[i];
        c.succeeded();
        let aborted: Vec<(i64, i64)> = p
            .aborted_transactions
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|a| (a.producer_id.0, a.first_offset))
            .collect();
        let low = c.position;
        let progress = c.advance(p.records.unwrap_or_default(), &aborted, isolation);
        let high = c.end;
        let position = c.position;
        if progress.error.is_some() {
            c.done = true;
        }
        self.client.config().hooks().each(|h| {
            h.on_fetch_applied(&FetchApplied {
                partition: &tp,
                records: progress.records,
                bytes: progress.bytes,
                high_watermark: p.high_watermark,
                position,
            })
        });
        if !progress.batches.is_empty() {
            let share = budget
                .as_mut()
                .and_then(|b| b.split(progress.bytes.min(b.num_permits())));
            let chunk = Chunk {
                tp,
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
        match progress.error {
            Some(e) => self.emit(Event::Failed(e)),
            None => true,
        }
    }
}

/// The most a fetch of `partitions` partitions may bring, past the one
/// oversized first batch brokers always send: some brokers answer up to the
/// request's limit whatever the partitions' limits, and many one-partition
/// readers (one per task of a split query) would each be answered half the
/// budget.
fn partitions_can_bring(partitions: usize, max_partition_fetch_bytes: i32) -> i32 {
    i32::try_from(partitions)
        .unwrap_or(i32::MAX)
        .saturating_mul(max_partition_fetch_bytes.max(1))
}

/// The bytes a fetch reserves from the client-wide budget: what it will ask
/// for, that is `fetch.max.bytes`, at most half the budget (so one fetch
/// can be in flight while the consumer works through the previous one), and
/// no more than its partitions may bring. Reserving more than the fetch
/// asks for would hold budget no answer can use: with many one-partition
/// readers, two of them would hold it all and the others would wait, or
/// fetch on an overdraft a record batch at a time.
fn fetch_reservation(
    fetch_max_bytes: i32,
    buffer_max_bytes: usize,
    partitions_can_bring: i32,
) -> u32 {
    let asked = fetch_max_bytes.min(partitions_can_bring).max(1);
    usize::try_from(asked)
        .unwrap_or(1)
        .min((buffer_max_bytes / 2).max(1))
        .min(u32::MAX as usize) as u32
}

/// Starts a read of `ranges` on `client` at `isolation`.
pub(crate) fn spawn(
    client: &Client,
    ranges: Vec<ReadRange>,
    isolation: IsolationLevel,
) -> super::RecordStream {
    let (events_tx, events) = mpsc::unbounded_channel();
    let shared = Arc::new(Shared::default());
    let source = Source::new(
        client.clone(),
        ranges,
        isolation,
        events_tx,
        Arc::clone(&shared),
    );
    let task = tokio::spawn(source.run());
    super::RecordStream::new(events, shared, task)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: i32 = 1 << 20;

    #[test]
    fn a_one_partition_fetch_reserves_what_it_asks_for_not_half_the_budget() {
        // Defaults: fetch.max.bytes 50 MiB, budget 32 MiB, 1 MiB a partition.
        let one = partitions_can_bring(1, MIB);
        assert_eq!(fetch_reservation(50 * MIB, 32 << 20, one), MIB as u32);
        // Twelve one-partition readers (a split read) fit the budget together.
        assert!(12 * fetch_reservation(50 * MIB, 32 << 20, one) <= 32 << 20);
    }

    #[test]
    fn a_fetch_reserves_at_most_half_the_budget_and_fetch_max_bytes() {
        let many = partitions_can_bring(100, MIB);
        assert_eq!(fetch_reservation(50 * MIB, 32 << 20, many), 16 << 20);
        assert_eq!(fetch_reservation(4 * MIB, 32 << 20, many), 4 << 20);
        assert_eq!(fetch_reservation(50 * MIB, 1024, many), 512);
        assert_eq!(fetch_reservation(50 * MIB, 1, many), 1);
    }

    #[test]
    fn what_partitions_may_bring_saturates() {
        assert_eq!(partitions_can_bring(3, MIB), 3 * MIB);
        assert_eq!(partitions_can_bring(usize::MAX, MIB), i32::MAX);
        assert_eq!(partitions_can_bring(2, 0), 2);
    }
}
