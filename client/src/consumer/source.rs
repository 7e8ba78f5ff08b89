//! The fetch source of a [`SharedFetcher`](super::SharedFetcher): one task that
//! looks up leaders, keeps one fetch in flight per broker for all the
//! fetcher's readers together, and applies the answers to the partitions'
//! cursors, handing kept batches to each cursor's reader.
//!
//! Readers attach ranges while the source runs; a fetch lists a partition
//! once, so two readers of the same partition (a partition split into
//! ranges) take turns, while readers of different partitions share every
//! fetch. A fetch first reserves its size from the client-wide budget (see
//! [`budget`](super::budget)); a partition whose fetch fails backs off and
//! moves to the new leader after a metadata refresh; `OFFSET_OUT_OF_RANGE`
//! ends a partition with the range the broker does hold. A reader whose
//! stream is dropped is forgotten on the source's next turn.

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

use super::budget::{reserve_for, Buffered, Held};
use super::cursor::{Cursor, RetryPolicy};
use super::record::{PartitionWatermarks, ReadRange};
use super::stream::{Chunk, Event, Shared};
use crate::client::Client;
use crate::config::IsolationLevel;
use crate::error::{Error, ErrorKind, Result};
use crate::hooks::FetchApplied;

type FetchOutcome = (
    i32,
    Vec<u64>,
    Option<OwnedSemaphorePermit>,
    Result<FetchResponse>,
    // The fetch counts as its readers' until its answer is handled.
    Vec<Held>,
);

/// One reader of a fetcher: where its records and errors go.
pub(crate) struct Reader {
    events: mpsc::UnboundedSender<Event>,
    shared: Arc<Shared>,
    buffered: Arc<Buffered>,
}

impl Reader {
    pub(crate) fn new(events: mpsc::UnboundedSender<Event>, shared: Arc<Shared>) -> Self {
        Reader {
            events,
            shared,
            buffered: Arc::default(),
        }
    }

    /// Sends `event`; a reader whose stream is gone is forgotten on the
    /// source's next turn, so a failed send needs no handling here.
    fn emit(&self, event: Event) {
        let _ = self.events.send(event);
    }
}

/// Ranges a reader attaches to the fetcher's source.
pub(crate) struct Attach {
    pub(crate) ranges: Vec<ReadRange>,
    pub(crate) reader: Reader,
}

/// A cursor and the reader it reads for.
struct Slot {
    cursor: Cursor,
    reader: Arc<Reader>,
    /// The source's turn when it was last fetched for (0: never).
    last_fetch: usize,
}

/// One partition of a fetch being built: its cursor, the fetch's reader
/// it reads for (index), and where it stands.
struct Wanted {
    id: u64,
    reader: usize,
    topic: Arc<str>,
    partition: i32,
    offset: i64,
    epoch: Option<i32>,
}

/// A partition that answered OFFSET_OUT_OF_RANGE: its partition and
/// reader, the offset asked for, and the log range the broker reported
/// (-1 when it did not).
struct OutOfRange {
    tp: crate::types::TopicPartition,
    reader: Arc<Reader>,
    requested: i64,
    log_start_offset: i64,
    high_watermark: i64,
}

pub(crate) struct Source {
    client: Client,
    isolation: IsolationLevel,
    retry: RetryPolicy,
    /// Every live cursor of every reader, by a never-reused id (a fetch in
    /// flight names its cursors by id; an answer for a forgotten one is
    /// dropped).
    slots: BTreeMap<u64, Slot>,
    next_id: u64,
    attach: mpsc::UnboundedReceiver<Attach>,
    turn: usize,
}

impl Source {
    pub(crate) fn new(
        client: Client,
        isolation: IsolationLevel,
        attach: mpsc::UnboundedReceiver<Attach>,
    ) -> Self {
        let config = client.config();
        let retry = RetryPolicy {
            backoff: config.retry_backoff(),
            backoff_max: config.retry_backoff_max(),
            give_up_after: config.default_api_timeout(),
        };
        Source {
            client,
            isolation,
            retry,
            slots: BTreeMap::new(),
            next_id: 0,
            attach,
            turn: 0,
        }
    }

    /// Takes a reader's ranges: invalid ones are its errors, the others
    /// become cursors. A reader left with no cursor is dropped here, which
    /// ends its stream.
    fn add(&mut self, attach: Attach) {
        let reader = Arc::new(attach.reader);
        let mut seen = HashSet::new();
        for range in &attach.ranges {
            if range.start < 0 || range.end < range.start {
                reader.emit(Event::Failed(
                    Error::new(ErrorKind::InvalidArgument(format!(
                        "the range [{}, {}) is not a valid offset range; resolve earliest/latest with Admin::list_offsets first",
                        range.start, range.end
                    )))
                    .with_topic_partition(range.tp.clone()),
                ));
            } else if !seen.insert(range.tp.clone()) {
                reader.emit(Event::Failed(
                    Error::new(ErrorKind::InvalidArgument(
                        "the partition is listed twice; merge its ranges".to_owned(),
                    ))
                    .with_topic_partition(range.tp.clone()),
                ));
            } else if range.start < range.end {
                self.slots.insert(
                    self.next_id,
                    Slot {
                        cursor: Cursor::new(range),
                        reader: Arc::clone(&reader),
                        last_fetch: 0,
                    },
                );
                self.next_id += 1;
            }
        }
    }

    /// Forgets the cursors that are done, whose partition failed on the
    /// reader's side, or whose reader's stream is gone.
    fn forget_finished(&mut self) {
        self.slots.retain(|_, slot| {
            !slot.cursor.done
                && !slot.reader.events.is_closed()
                && !slot.reader.shared.has_failed(&slot.cursor.tp)
        });
    }

    /// Records a failure of cursor `id`; false when the partition ended.
    fn fail(&mut self, id: u64, error: &Error) -> bool {
        let Some(slot) = self.slots.get_mut(&id) else {
            return false;
        };
        if error.needs_metadata_refresh() {
            self.client.invalidate_metadata(&slot.cursor.tp.topic);
        }
        slot.cursor.fail(
            Instant::now(),
            error.is_retriable(),
            &self.retry,
            fastrand::f64(),
        )
    }

    /// Fails cursor `id` with `error`, sending the error to its reader
    /// when the partition ends.
    fn fail_or_emit(&mut self, id: u64, error: Error) {
        if !self.fail(id, &error) {
            if let Some(slot) = self.slots.get(&id) {
                slot.reader.emit(Event::Failed(error));
            }
        }
    }

    pub(crate) async fn run(mut self) {
        let mut in_flight: FuturesUnordered<futures::future::BoxFuture<'static, FetchOutcome>> =
            FuturesUnordered::new();
        let mut busy: HashSet<i32> = HashSet::new();
        let mut attach_open = true;
        loop {
            // Readers attached together are fetched for together.
            while let Ok(attach) = self.attach.try_recv() {
                self.add(attach);
            }
            self.forget_finished();
            if self.slots.is_empty() && in_flight.is_empty() {
                match self.attach.recv().await {
                    Some(attach) => self.add(attach),
                    None => return,
                }
                continue;
            }
            let now = Instant::now();
            self.find_leaders(now).await;
            for (broker, mut ids) in self.due_fetches(now, &busy) {
                // Rotate the order so that no partition is always last
                // when the response size runs out.
                self.turn = self.turn.wrapping_add(1);
                for id in &ids {
                    if let Some(slot) = self.slots.get_mut(id) {
                        slot.last_fetch = self.turn;
                    }
                }
                let len = ids.len();
                ids.rotate_left(self.turn % len);
                busy.insert(broker);
                in_flight.push(self.fetch(broker, ids));
            }
            // Wait for an answer, a new reader or the next retry time.
            let next_retry = self
                .slots
                .values()
                .filter(|s| !s.cursor.done)
                .filter_map(|s| s.cursor.retry_at)
                .min();
            if in_flight.is_empty() && next_retry.is_none() {
                // Nothing to wait for: leaders are looked up again on the
                // next turn.
                tokio::task::yield_now().await;
                continue;
            }
            tokio::select! {
                Some((broker, ids, budget, result, fetching)) = in_flight.next(), if !in_flight.is_empty() => {
                    busy.remove(&broker);
                    self.handle(ids, budget, result).await;
                    drop(fetching);
                }
                attached = self.attach.recv(), if attach_open => match attached {
                    Some(attach) => self.add(attach),
                    None => attach_open = false,
                },
                _ = tokio::time::sleep_until(next_retry.unwrap_or(now + Duration::from_secs(3600))), if next_retry.is_some() => {}
            }
        }
    }

    /// The cursors to fetch for now, by broker: one fetch per broker with
    /// work and none in flight (`busy`), listing each partition once, for
    /// the reader of it fetched longest ago, so that readers of one
    /// partition take turns.
    fn due_fetches(&self, now: Instant, busy: &HashSet<i32>) -> Vec<(i32, Vec<u64>)> {
        let mut by_broker: BTreeMap<i32, HashMap<&crate::types::TopicPartition, u64>> =
            BTreeMap::new();
        for (&id, slot) in &self.slots {
            let c = &slot.cursor;
            let Some((leader, _)) = c.leader.filter(|_| c.is_due(now)) else {
                continue;
            };
            if busy.contains(&leader) {
                continue;
            }
            let chosen = by_broker.entry(leader).or_default();
            match chosen.get(&c.tp) {
                Some(other) if self.slots[other].last_fetch <= slot.last_fetch => {}
                _ => {
                    chosen.insert(&c.tp, id);
                }
            }
        }
        by_broker
            .into_iter()
            .map(|(broker, chosen)| {
                let mut ids: Vec<u64> = chosen.into_values().collect();
                ids.sort_unstable();
                (broker, ids)
            })
            .collect()
    }

    /// Looks up the leader of every due partition without one.
    async fn find_leaders(&mut self, now: Instant) {
        let wanted: Vec<(u64, crate::types::TopicPartition)> = self
            .slots
            .iter()
            .filter(|(_, s)| s.cursor.is_due(now) && s.cursor.leader.is_none())
            .map(|(&id, s)| (id, s.cursor.tp.clone()))
            .collect();
        for (id, tp) in wanted {
            match self.client.leader(&tp).await {
                Ok(p) => {
                    if let Some(slot) = self.slots.get_mut(&id) {
                        slot.cursor.leader = Some((p.leader, p.leader_epoch));
                        slot.cursor.retry_at = None;
                    }
                }
                Err(e) => {
                    // Metadata errors name the topic only; the consumer
                    // needs to know which of its partitions ended.
                    let e = e.with_topic_partition(tp);
                    let Some(slot) = self.slots.get_mut(&id) else {
                        continue;
                    };
                    // Unknown after a refresh and a retry: it does not exist.
                    let gone = matches!(e.kind(), ErrorKind::UnknownTopicOrPartition)
                        && slot.cursor.failures >= 2;
                    if gone {
                        slot.cursor.done = true;
                        slot.reader.emit(Event::Failed(e));
                    } else {
                        self.fail_or_emit(id, e);
                    }
                }
            }
        }
    }

    /// Builds one fetch for cursors `ids` (all led by `broker`); reserves
    /// its size from the client-wide budget first.
    fn fetch(
        &self,
        broker: i32,
        ids: Vec<u64>,
    ) -> futures::future::BoxFuture<'static, FetchOutcome> {
        let client = self.client.clone();
        let config = client.config();
        let budget = Arc::clone(client.fetch_budget());
        let partitions_can_bring =
            partitions_can_bring(ids.len(), config.max_partition_fetch_bytes());
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
        // connection (and so the version) is known, and which of the
        // fetch's readers it is for.
        let mut readers: Vec<Arc<Buffered>> = Vec::new();
        let wanted: Vec<Wanted> = ids
            .iter()
            .map(|&id| {
                let Slot { cursor, reader, .. } = &self.slots[&id];
                let reader = match readers
                    .iter()
                    .position(|r| Arc::ptr_eq(r, &reader.buffered))
                {
                    Some(i) => i,
                    None => {
                        readers.push(Arc::clone(&reader.buffered));
                        readers.len() - 1
                    }
                };
                Wanted {
                    id,
                    reader,
                    topic: Arc::clone(&cursor.tp.topic),
                    partition: cursor.tp.partition,
                    offset: cursor.position,
                    epoch: cursor.leader.map(|(_, e)| e).filter(|e| *e >= 0),
                }
            })
            .collect();
        let timeout = client.request_timeout_plus(settings.max_wait);
        let fetch = async move {
            let reserved = reserve_for(&readers, &budget, want).await;
            let (permit, fetching) = (reserved.permit, reserved.held);
            let mut wanted = wanted;
            if let Some(overdrawn) = reserved.overdrawn {
                // An overdraft serves the reader holding nothing alone.
                wanted.retain(|w| w.reader == overdrawn);
            }
            // Ask for no more than was reserved: less than wanted when this
            // fetch runs on an overdraft, which brokers answer with at
            // least one record batch whatever the size asked for.
            let reserved = permit.as_ref().map_or(1, |p| p.num_permits().max(1));
            settings.max_bytes = i32::try_from(reserved)
                .unwrap_or(i32::MAX)
                .min(partitions_can_bring);
            let per_partition = per_partition.min(settings.max_bytes);
            let result = async {
                let conn = client.broker_connection(broker).await?;
                let version = conn.version(ApiKey::Fetch)?;
                let positions: Vec<FetchPosition<'_>> = wanted
                    .iter()
                    .map(|w| FetchPosition {
                        topic: &w.topic,
                        partition: w.partition,
                        offset: w.offset,
                        current_leader_epoch: w.epoch,
                        max_bytes: per_partition,
                    })
                    .collect();
                let request = fetch_request(version, &settings, &positions)?;
                conn.send_at(&request, version, timeout).await
            }
            .await;
            let ids = wanted.iter().map(|w| w.id).collect();
            (broker, ids, permit, result, fetching)
        };
        // The fetch runs as its own task: it holds the broker's pool slot
        // while connecting, and the source, busy looking up a leader (a
        // metadata refresh that may need that slot), would otherwise stop
        // polling it and wait for itself. Dropping the handle (the fetcher
        // went away) cancels the task.
        let (task, handle) = fetch.remote_handle();
        tokio::spawn(task);
        Box::pin(handle)
    }

    /// Applies one fetch answer, then reports out-of-range partitions with
    /// the range they do hold.
    async fn handle(
        &mut self,
        ids: Vec<u64>,
        budget: Option<OwnedSemaphorePermit>,
        result: Result<FetchResponse>,
    ) {
        let mut out_of_range = Vec::new();
        self.apply(ids, budget, result, &mut out_of_range);
        for gone in out_of_range {
            let reader = Arc::clone(&gone.reader);
            let e = self.out_of_range_error(gone).await;
            reader.emit(Event::Failed(e));
        }
    }

    /// The error ending a partition that answered OFFSET_OUT_OF_RANGE,
    /// with the range it does hold (asked for when the broker did not say).
    async fn out_of_range_error(&self, gone: OutOfRange) -> Error {
        let OutOfRange {
            tp,
            requested,
            mut log_start_offset,
            mut high_watermark,
            ..
        } = gone;
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

    /// Applies an answer (or the failure of the request) to the cursors
    /// `ids`; an id forgotten meanwhile (its reader went away) is skipped.
    fn apply(
        &mut self,
        ids: Vec<u64>,
        budget: Option<OwnedSemaphorePermit>,
        result: Result<FetchResponse>,
        out_of_range: &mut Vec<OutOfRange>,
    ) {
        let ids: Vec<u64> = ids
            .into_iter()
            .filter(|id| self.slots.contains_key(id))
            .collect();
        let response = match result {
            Ok(r) => match Error::from_code(r.error_code) {
                None => r,
                Some(e) => return self.fail_all(ids, e.with_api(ApiKey::Fetch)),
            },
            Err(e) => return self.fail_all(ids, e),
        };
        let index: HashMap<(&str, i32), u64> = ids
            .iter()
            .map(|&id| {
                let tp = &self.slots[&id].cursor.tp;
                ((&*tp.topic, tp.partition), id)
            })
            .collect();
        let mut answers: Vec<(u64, PartitionData)> = Vec::new();
        for topic in response.responses {
            for p in topic.partitions {
                if let Some(&id) = index.get(&(topic.topic.0.as_str(), p.partition_index)) {
                    answers.push((id, p));
                }
            }
        }
        // The partitions' records are slices of one answer buffer, which
        // lives until the last of them is consumed: the reservation goes
        // back only then, so the budget bounds what is really held.
        let budget = budget.map(Arc::new);
        let mut answered = HashSet::new();
        for (id, p) in answers {
            if !answered.insert(id) {
                continue; // a partition listed twice: the first answer counts
            }
            self.apply_partition(id, p, budget.as_ref(), out_of_range);
        }
        // Partitions the broker did not mention are fetched again.
    }

    /// Fails every cursor of a fetch that failed as a whole.
    fn fail_all(&mut self, ids: Vec<u64>, error: Error) {
        for id in ids {
            let e = error
                .duplicate()
                .with_topic_partition(self.slots[&id].cursor.tp.clone());
            self.fail_or_emit(id, e);
        }
    }

    /// Applies one partition's answer.
    fn apply_partition(
        &mut self,
        id: u64,
        p: PartitionData,
        budget: Option<&Arc<OwnedSemaphorePermit>>,
        out_of_range: &mut Vec<OutOfRange>,
    ) {
        let isolation = self.isolation;
        let verify = self.client.config().check_crcs();
        let Some(slot) = self.slots.get_mut(&id) else {
            return;
        };
        let tp = slot.cursor.tp.clone();
        let reader = Arc::clone(&slot.reader);
        if p.error_code == 1 {
            let c = &mut slot.cursor;
            c.done = true;
            out_of_range.push(OutOfRange {
                tp,
                reader,
                requested: c.position,
                log_start_offset: p.log_start_offset,
                high_watermark: p.high_watermark,
            });
            return;
        }
        if let Some(e) = Error::from_code(p.error_code) {
            let e = e.with_topic_partition(tp).with_api(ApiKey::Fetch);
            self.fail_or_emit(id, e);
            return;
        }
        if let Some(w) = PartitionWatermarks::from_fetch(
            p.high_watermark,
            p.last_stable_offset,
            p.log_start_offset,
        ) {
            reader.shared.set_watermarks(&tp, w);
        }
        let c = &mut slot.cursor;
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
            let chunk = Chunk {
                tp,
                batches: progress.batches,
                low,
                high,
                verify,
                _budget: budget.cloned(),
                _held: reader.buffered.hold(),
            };
            reader.emit(Event::Chunk(chunk));
        }
        if let Some(e) = progress.error {
            reader.emit(Event::Failed(e));
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

/// Starts the fetch source of a fetcher reading at `isolation` on `client`;
/// readers attach through the returned sender.
pub(crate) fn spawn(
    client: &Client,
    isolation: IsolationLevel,
) -> (mpsc::UnboundedSender<Attach>, tokio::task::JoinHandle<()>) {
    let (attach_tx, attach) = mpsc::unbounded_channel();
    let source = Source::new(client.clone(), isolation, attach);
    (attach_tx, tokio::spawn(source.run()))
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
