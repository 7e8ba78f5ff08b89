//! Sending batches: one task per partition takes batches from the
//! accumulator in order and writes each to the partition's leader,
//! retrying until it is acknowledged, fails for good, or
//! `delivery.timeout.ms` passes. The idempotence state machine decides
//! what each answer means; this module only does the I/O.
//!
//! With idempotence up to five batches of a partition are in flight (the
//! broker's sequence checks keep their order); see `run_partition`.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{FuturesOrdered, StreamExt};

use bytes::Bytes;
use ferrokafka_protocol::messages::{ApiKey, InitProducerIdResponse, ProduceResponse};
use ferrokafka_protocol::record::{rewrite_producer_identity, BatchOptions};
use ferrokafka_protocol::requests::init_producer_id_request;
use kafka_protocol::error::ResponseError;
use tokio::time::Instant;

use super::accumulator::{Batch, Next, PartitionQueue};
use super::combine::{self, ProduceSettings};
use super::idempotence::{
    is_retriable_code, BatchIdentity, BumpRequest, FatalReason, Outcome, ProducerIdAndEpoch,
    Reaction, MAX_IN_FLIGHT_PER_PARTITION,
};
use super::{Inner, WriteStatus};
use crate::backoff::backoff_with_jitter;
use crate::broker::BrokerConnection;
use crate::config::Acks;
use crate::error::{Error, ErrorKind};
use crate::hooks::BatchProduced;
use crate::types::TopicPartition;

/// The sender of one partition: runs until the producer closes and the
/// partition's queue is empty.
///
/// With idempotence, up to `max.in.flight.requests.per.connection` (at
/// most five) batches are in flight at once, sent in sequence order on one
/// connection; when one needs a retry, no new
/// batch is sent until every batch in flight has its answer, then the
/// batches to retry are sent again one by one, oldest first. Without
/// idempotence one batch is in flight at a time, so retries cannot
/// reorder records.
pub(crate) async fn run_partition(
    inner: Arc<Inner>,
    tp: TopicPartition,
    queue: Arc<PartitionQueue>,
) {
    type Sending = Pin<Box<dyn Future<Output = (Flight, Attempt)> + Send>>;
    let limit = if inner.idempotence.is_some() {
        inner
            .client
            .config()
            .max_in_flight()
            .clamp(1, MAX_IN_FLIGHT_PER_PARTITION)
    } else {
        1
    };
    let mut in_flight: FuturesOrdered<Sending> = FuturesOrdered::new();
    let mut to_retry: VecDeque<Flight> = VecDeque::new();
    let mut next_order = 0u64;
    loop {
        if in_flight.is_empty() {
            if let Some(flight) = to_retry.pop_front() {
                resend_until_done(&inner, &tp, flight).await;
                continue;
            }
        }
        let mut linger_until = None;
        // A pending epoch bump holds new batches back (and must not block
        // this loop, which polls the answers the bump waits for).
        let blocked = blocked_by_bump(&inner, &tp);
        if to_retry.is_empty() && in_flight.len() < limit && !blocked {
            match queue.next(inner.config.linger(), inner.urgent()) {
                Next::Send(batch) => {
                    let Some(mut flight) = prepare(&inner, &tp, batch).await else {
                        continue;
                    };
                    flight.order = next_order;
                    next_order += 1;
                    let Some(flight) = refresh(&inner, &tp, flight) else {
                        continue;
                    };
                    // The connection is looked up here, in order, so the
                    // sends cannot overtake each other on the way to it.
                    match leader(&inner, &tp).await {
                        Ok(conn) => in_flight.push_back(send_once(&inner, &tp, &conn, flight)),
                        Err(failed) => {
                            if let Some(flight) = handle(&inner, &tp, flight, failed) {
                                retry_in_order(&mut to_retry, flight);
                            }
                        }
                    }
                    continue;
                }
                Next::Wait(at) => linger_until = at,
                Next::Empty => {
                    if in_flight.is_empty()
                        && to_retry.is_empty()
                        && inner.closing.load(Ordering::Acquire)
                    {
                        return;
                    }
                }
            }
        }
        let can_take_more = to_retry.is_empty() && in_flight.len() < limit && !blocked;
        let bump_tick = inner.client.config().retry_backoff();
        tokio::select! {
            Some((flight, result)) = in_flight.next(), if !in_flight.is_empty() => {
                if let Some(flight) = handle(&inner, &tp, flight, result) {
                    retry_in_order(&mut to_retry, flight);
                }
            }
            () = queue.wake.notified(), if can_take_more => {}
            () = sleep_until_opt(linger_until), if can_take_more && linger_until.is_some() => {}
            () = tokio::time::sleep(bump_tick), if blocked && in_flight.is_empty() => {
                try_bump(&inner).await;
            }
        }
    }
}

/// Queues `flight` for a retry, oldest batch first.
fn retry_in_order(to_retry: &mut VecDeque<Flight>, flight: Flight) {
    let at = to_retry.partition_point(|f| f.order < flight.order);
    to_retry.insert(at, flight);
}

/// Whether new batches of `tp` must wait for an epoch bump.
fn blocked_by_bump(inner: &Inner, tp: &TopicPartition) -> bool {
    inner.idempotence.as_ref().is_some_and(|s| {
        let state = lock(s);
        state.fatal().is_none() && state.bump_needed() && !state.can_send_new(tp)
    })
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The error every record gets once the idempotent producer failed.
pub(crate) fn fatal_error(reason: &FatalReason) -> Error {
    match reason {
        FatalReason::OutOfOrderSequence {
            partition,
            base_sequence,
        } => Error::from_code(ResponseError::OutOfOrderSequenceNumber.code())
            .unwrap_or_else(|| Error::new(ErrorKind::Shutdown))
            .with_topic_partition(partition.clone())
            .with_hint(format!(
                "the broker is missing records before sequence {base_sequence}: order and exactly-once can no longer be guaranteed, so the producer stopped; create a new producer (records it sent may need checking)"
            )),
        FatalReason::Fenced => Error::from_code(ResponseError::ProducerFenced.code())
            .unwrap_or_else(|| Error::new(ErrorKind::Shutdown))
            .with_hint("another producer with the same id and a newer epoch exists; create a new producer"),
    }
}

fn complete(
    inner: &Inner,
    tp: &TopicPartition,
    flight: Flight,
    base_offset: i64,
    append_time: i64,
) {
    let batch = flight.batch;
    let n = batch.records;
    let hooks = inner.client.config().hooks();
    if !hooks.is_empty() {
        let latency = batch.created.elapsed();
        hooks.each(|h| {
            h.on_batch_produced(&BatchProduced {
                partition: tp,
                base_offset,
                records: n,
                bytes: flight.records.len(),
                latency,
            })
        });
    }
    batch.outcome.written(base_offset, append_time);
    // Dropping the batch gives its buffer.memory back.
    drop(batch);
    inner.resolved(n);
}

fn fail(inner: &Inner, tp: &TopicPartition, batch: Box<Batch>, error: Error, status: WriteStatus) {
    let n = batch.records;
    batch
        .outcome
        .failed(error.with_topic_partition(tp.clone()), status);
    drop(batch);
    inner.resolved(n);
}

/// Writes the producer id, epoch and base sequence into an encoded batch
/// and recomputes its CRC (after an epoch bump changed the identity).
fn reidentify(records: &Bytes, identity: BatchIdentity) -> Bytes {
    rewrite_producer_identity(
        records,
        identity.producer.id,
        identity.producer.epoch,
        identity.base_sequence,
    )
    .unwrap_or_else(|e| {
        // Our own sealed batches are whole and intact, so this means memory
        // damage: sent as it is (old epoch, or a bad CRC), the broker refuses
        // it and its answer goes through the idempotence checks as usual.
        tracing::error!(error = %e, "cannot give a sealed batch its new producer epoch");
        records.clone()
    })
}

enum Attempt {
    /// The partition's answer.
    Answer {
        code: i16,
        base_offset: i64,
        append_time: i64,
        message: Option<String>,
    },
    /// The request was not sent (no leader, no connection).
    NotSent(Error),
    /// Sent, and no usable answer came back.
    NoAnswer(Error),
    /// The request cannot be sent at all (no common Produce version).
    Refused(Error),
}

async fn attempt(inner: &Inner, tp: &TopicPartition, records: &Bytes) -> Attempt {
    match leader(inner, tp).await {
        Ok(conn) => queue_attempt(inner, tp, &conn, records).await,
        Err(failed) => failed,
    }
}

async fn leader(inner: &Inner, tp: &TopicPartition) -> Result<BrokerConnection, Attempt> {
    match inner.client.leader_connection(tp).await {
        Ok(c) => Ok(c),
        Err(e) if e.is_retriable() => Err(Attempt::NotSent(e)),
        Err(e) => Err(Attempt::Refused(e)),
    }
}

/// Queues one attempt on `conn` now (so that attempts queued one after the
/// other are written in that order) and returns the future of its outcome.
fn queue_attempt(
    inner: &Inner,
    tp: &TopicPartition,
    conn: &BrokerConnection,
    records: &Bytes,
) -> Pin<Box<dyn Future<Output = Attempt> + Send>> {
    let settings = ProduceSettings {
        acks: inner.config.acks().wire_value(),
        timeout_ms: i32::try_from(inner.client.config().request_timeout().as_millis())
            .unwrap_or(i32::MAX),
        max_request_size: inner.config.max_request_size(),
    };
    if inner.config.acks() == Acks::None {
        // Nothing comes back: the batch is done once it is written, with
        // no offset (as in the Java client), in a request of its own.
        let batch = [(tp.clone(), records.clone())];
        let conn = conn.clone();
        return Box::pin(async move {
            match conn
                .send_encoded_without_response(ApiKey::Produce, |header| {
                    combine::encode(header, &batch, settings)
                })
                .await
            {
                Ok(()) => Attempt::Answer {
                    code: 0,
                    base_offset: -1,
                    append_time: -1,
                    message: None,
                },
                Err(e) => sent_error(e),
            }
        });
    }
    // With acks, batches of several partitions may share one request.
    let tp = tp.clone();
    match inner.combiners.of(conn).submit(&tp, records, settings) {
        Ok(answer) => Box::pin(async move {
            match answer.await {
                Ok(response) => partition_answer(&response, &tp),
                Err(e) => sent_error(e.duplicate()),
            }
        }),
        Err(e) => Box::pin(std::future::ready(sent_error(e))),
    }
}

/// A request that got no answer: refused outright when no Produce version
/// is common, otherwise possibly written.
fn sent_error(e: Error) -> Attempt {
    if matches!(e.kind(), ErrorKind::Version(_)) {
        Attempt::Refused(e)
    } else {
        Attempt::NoAnswer(e)
    }
}

fn partition_answer(response: &ProduceResponse, tp: &TopicPartition) -> Attempt {
    let found = response
        .responses
        .iter()
        .filter(|t| *t.name.0 == *tp.topic)
        .flat_map(|t| t.partition_responses.iter())
        .find(|p| p.index == tp.partition);
    match found {
        Some(p) => Attempt::Answer {
            code: p.error_code,
            base_offset: p.base_offset,
            append_time: p.log_append_time_ms,
            message: p.error_message.as_ref().map(|m| m.to_string()),
        },
        None => Attempt::NoAnswer(
            Error::new(ErrorKind::UnexpectedResponse(
                "the Produce answer does not mention the partition".to_owned(),
            ))
            .with_api(ApiKey::Produce),
        ),
    }
}

/// Reaction without idempotence: retry what may succeed (possibly
/// duplicating records whose answer was lost, as every non-idempotent
/// producer does).
fn plain_reaction(outcome: Outcome) -> Reaction {
    match outcome {
        Outcome::Written => Reaction::Complete,
        Outcome::Unknown => Reaction::Retry,
        Outcome::Error(code) if is_retriable_code(code) => Reaction::Retry,
        Outcome::Error(_) => Reaction::Fail,
    }
}

/// A batch with its identity and encoded bytes, between attempts.
struct Flight {
    batch: Box<Batch>,
    identity: Option<BatchIdentity>,
    records: Bytes,
    deadline: Instant,
    status: WriteStatus,
    last_error: Option<Error>,
    retries: u32,
    bump_first: bool,
    /// Position in the partition's send order.
    order: u64,
}

/// Gives `batch` its identity (waiting for a producer id or a pending
/// epoch bump) and encodes it. `None` when the batch failed instead.
async fn prepare(inner: &Arc<Inner>, tp: &TopicPartition, mut batch: Box<Batch>) -> Option<Flight> {
    if batch.builder.is_empty() {
        return None;
    }
    let config = inner.client.config();
    let deadline = batch.created + inner.config.delivery_timeout();
    let count = batch.builder.record_count();
    let mut identity = None;
    if let Some(idem) = &inner.idempotence {
        let mut waits = 0;
        loop {
            let assigned = {
                let mut state = lock(idem);
                if let Some(reason) = state.fatal() {
                    let error = fatal_error(reason);
                    drop(state);
                    fail(inner, tp, batch, error, WriteStatus::NotWritten);
                    return None;
                }
                state.assign(tp, count)
            };
            if let Some(id) = assigned {
                identity = Some(id);
                break;
            }
            if Instant::now() >= deadline {
                let error = delivery_timeout_error(inner, None);
                fail(inner, tp, batch, error, WriteStatus::NotWritten);
                return None;
            }
            try_bump(inner).await;
            waits += 1;
            let wait =
                backoff_with_jitter(config.retry_backoff(), config.retry_backoff_max(), waits);
            tokio::time::sleep(wait.min(deadline.saturating_duration_since(Instant::now()))).await;
        }
    }
    let options = BatchOptions {
        producer_id: identity.map_or(-1, |i| i.producer.id),
        producer_epoch: identity.map_or(-1, |i| i.producer.epoch),
        base_sequence: identity.map_or(-1, |i| i.base_sequence),
        compression: inner.config.compression(),
        compression_level: inner.config.compression_level(),
        ..BatchOptions::default()
    };
    let encoded = batch
        .builder
        .set_options(options)
        .and_then(|()| batch.builder.finish_bytes());
    let records = match encoded {
        Ok((records, _)) => records,
        Err(e) => {
            if let (Some(idem), Some(id)) = (&inner.idempotence, identity) {
                lock(idem).abandon(tp, id);
            }
            let error = Error::new(ErrorKind::InvalidArgument(format!(
                "the batch could not be encoded: {e}"
            )));
            fail(inner, tp, batch, error, WriteStatus::NotWritten);
            return None;
        }
    };
    // The builder (its compressor, and for compressed batches its buffer)
    // serves another batch.
    let builder = std::mem::replace(
        &mut batch.builder,
        ferrokafka_protocol::record::BatchBuilder::new(
            ferrokafka_protocol::compression::Compression::None,
        ),
    );
    inner.accumulator.recycle(builder);
    Some(Flight {
        batch,
        identity,
        records,
        deadline,
        status: WriteStatus::NotWritten,
        last_error: None,
        retries: 0,
        bump_first: false,
        order: 0,
    })
}

fn delivery_timeout_error(inner: &Inner, last: Option<Error>) -> Error {
    let hint = match &last {
        Some(e) => format!("delivery.timeout.ms passed; last failure: {e}"),
        None => "delivery.timeout.ms passed before the batch could be sent".to_owned(),
    };
    Error::new(ErrorKind::Timeout(inner.config.delivery_timeout())).with_hint(hint)
}

/// Before an attempt: picks up a new identity after an epoch bump, and
/// gives up once `delivery.timeout.ms` passed. `None` when the batch
/// failed.
fn refresh(inner: &Inner, tp: &TopicPartition, mut flight: Flight) -> Option<Flight> {
    if let (Some(idem), Some(sent)) = (&inner.idempotence, flight.identity) {
        let current = lock(idem).begin_attempt(tp, sent);
        if let Some(current) = current {
            if current != sent {
                flight.records = reidentify(&flight.records, current);
                flight.identity = Some(current);
            }
        }
    }
    if Instant::now() >= flight.deadline {
        if let (Some(idem), Some(id)) = (&inner.idempotence, flight.identity) {
            lock(idem).abandon(tp, id);
        }
        let error = delivery_timeout_error(inner, flight.last_error.take());
        fail(inner, tp, flight.batch, error, flight.status);
        return None;
    }
    Some(flight)
}

/// Sends one attempt of `flight` on `conn`. The request is queued on the
/// connection before this returns, so attempts made in sequence order are
/// written in that order and the broker sees a partition's batches in
/// sequence order.
fn send_once(
    inner: &Arc<Inner>,
    tp: &TopicPartition,
    conn: &BrokerConnection,
    flight: Flight,
) -> Pin<Box<dyn Future<Output = (Flight, Attempt)> + Send>> {
    let attempt = queue_attempt(inner, tp, conn, &flight.records);
    Box::pin(async move { (flight, attempt.await) })
}

/// Handles the result of one attempt: resolves the batch, or returns it
/// for another attempt.
fn handle(
    inner: &Inner,
    tp: &TopicPartition,
    mut flight: Flight,
    result: Attempt,
) -> Option<Flight> {
    let (outcome, answer) = match result {
        Attempt::Answer {
            code,
            base_offset,
            append_time,
            message,
        } => {
            let outcome = if code == 0 {
                Outcome::Written
            } else {
                Outcome::Error(code)
            };
            (outcome, Some((code, base_offset, append_time, message)))
        }
        Attempt::NotSent(e) => {
            if let (Some(idem), Some(id)) = (&inner.idempotence, flight.identity) {
                lock(idem).not_sent(tp, id);
            }
            if e.needs_metadata_refresh() {
                inner.client.invalidate_metadata(&tp.topic);
            }
            flight.last_error = Some(e);
            flight.retries += 1;
            return Some(flight);
        }
        Attempt::NoAnswer(e) => {
            flight.status = WriteStatus::MaybeWritten;
            inner.client.invalidate_metadata(&tp.topic);
            flight.last_error = Some(e);
            (Outcome::Unknown, None)
        }
        Attempt::Refused(e) => {
            if let (Some(idem), Some(id)) = (&inner.idempotence, flight.identity) {
                lock(idem).abandon(tp, id);
            }
            fail(inner, tp, flight.batch, e, flight.status);
            return None;
        }
    };
    let reaction = match (&inner.idempotence, flight.identity) {
        (Some(idem), Some(id)) => lock(idem).on_outcome(tp, id, outcome),
        _ => plain_reaction(outcome),
    };
    let answer_error = answer.as_ref().and_then(|(code, _, _, message)| {
        Error::from_code_with_message(*code, message.clone()).map(|e| e.with_api(ApiKey::Produce))
    });
    match reaction {
        Reaction::Complete => {
            let (base_offset, append_time) =
                answer.map_or((-1, -1), |(_, offset, time, _)| (offset, time));
            complete(inner, tp, flight, base_offset, append_time);
            None
        }
        Reaction::Fail => {
            let error = answer_error.unwrap_or_else(|| Error::new(ErrorKind::Shutdown));
            // The broker refused this attempt; an earlier one with no
            // answer may still be in the log.
            fail(inner, tp, flight.batch, error, flight.status);
            None
        }
        Reaction::Fatal(reason) => {
            inner.fatal_seen.store(true, Ordering::Release);
            fail(inner, tp, flight.batch, fatal_error(&reason), flight.status);
            None
        }
        reaction @ (Reaction::Retry | Reaction::RetryAfterEpochBump) => {
            if let Some(e) = answer_error {
                if e.needs_metadata_refresh() {
                    inner.client.invalidate_metadata(&tp.topic);
                }
                flight.last_error = Some(e);
            }
            flight.retries += 1;
            if flight.retries > inner.config.retries() {
                if let (Some(idem), Some(id)) = (&inner.idempotence, flight.identity) {
                    lock(idem).abandon(tp, id);
                }
                let error = flight
                    .last_error
                    .take()
                    .unwrap_or_else(|| Error::new(ErrorKind::Shutdown))
                    .with_hint("the `retries` limit was reached");
                fail(inner, tp, flight.batch, error, flight.status);
                return None;
            }
            flight.bump_first |= reaction == Reaction::RetryAfterEpochBump;
            Some(flight)
        }
    }
}

/// Sends `flight` again and again, alone, until it is resolved.
async fn resend_until_done(inner: &Arc<Inner>, tp: &TopicPartition, mut flight: Flight) {
    let config = inner.client.config();
    loop {
        let wait = backoff_with_jitter(
            config.retry_backoff(),
            config.retry_backoff_max(),
            flight.retries,
        );
        tracing::debug!(%tp, ?wait, error = ?flight.last_error, "retrying produce");
        tokio::time::sleep(wait.min(flight.deadline.saturating_duration_since(Instant::now())))
            .await;
        if std::mem::take(&mut flight.bump_first) || lock_bump_needed(inner) {
            try_bump(inner).await;
        }
        let Some(ready) = refresh(inner, tp, flight) else {
            return;
        };
        let result = attempt(inner, tp, &ready.records).await;
        match handle(inner, tp, ready, result) {
            None => return,
            Some(again) => flight = again,
        }
    }
}

fn lock_bump_needed(inner: &Inner) -> bool {
    inner
        .idempotence
        .as_ref()
        .is_some_and(|s| lock(s).bump_needed())
}

/// Bumps the epoch (or gets a new producer id) when the state machine
/// asks for it and it is safe.
async fn try_bump(inner: &Arc<Inner>) {
    let Some(idem) = &inner.idempotence else {
        return;
    };
    let _one_at_a_time = inner.bump.lock().await;
    let request = lock(idem).bump_request();
    let current = match request {
        None => return,
        Some(BumpRequest::Bump(p)) => Some(p),
        Some(BumpRequest::NewProducerId) => None,
    };
    if let Err(e) = init_producer_id(inner, current).await {
        tracing::warn!(error = %e, "could not bump the producer epoch; will try again");
    }
}

/// InitProducerId: a new producer id (`current` = `None`), or an epoch
/// bump of `current` (KIP-360). Adopts the answer.
pub(crate) async fn init_producer_id(
    inner: &Inner,
    current: Option<ProducerIdAndEpoch>,
) -> Result<(), Error> {
    let client = &inner.client;
    let response: InitProducerIdResponse = client
        .with_retries(None, || async {
            let conn = client.any_connection().await?;
            let version = conn.version(ApiKey::InitProducerId)?;
            // Bumping needs v3+; with older brokers the builder asks for a
            // new producer id instead. No transactions: the longest timeout.
            let request = init_producer_id_request(version, None, Duration::MAX, current)?;
            let response: InitProducerIdResponse = conn
                .send_at(&request, version, conn.request_timeout())
                .await?;
            match Error::from_code(response.error_code) {
                None => Ok(response),
                Some(e) => Err(e
                    .with_api(ApiKey::InitProducerId)
                    .with_broker(conn.broker().clone())),
            }
        })
        .await
        .map_err(explain_init_error)?;
    let producer = ProducerIdAndEpoch {
        id: response.producer_id.0,
        epoch: response.producer_epoch,
    };
    if let Some(idem) = &inner.idempotence {
        let mut state = lock(idem);
        let had_producer = state.producer().is_some();
        state.set_producer(producer);
        if had_producer {
            let moved = state.rebase();
            tracing::info!(
                producer_id = producer.id,
                epoch = producer.epoch,
                batches = moved.len(),
                "producer epoch bumped; sequences restart at 0"
            );
        }
    }
    Ok(())
}

/// Turns an authorization failure on InitProducerId into an error that
/// says what to do.
fn explain_init_error(error: Error) -> Error {
    match error.code() {
        Some(31) | Some(53) => error.with_hint(
            "the broker refused an idempotent producer id: the principal needs the IDEMPOTENT_WRITE permission on the cluster (e.g. `kafka-acls --add --allow-principal User:<name> --operation IdempotentWrite --cluster`) or WRITE on the topics with Kafka 3.0+, or set enable.idempotence=false to produce without exactly-once (retries may then duplicate records)",
        ),
        _ => error,
    }
}
