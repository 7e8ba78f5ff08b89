//! Produce (key 0), versions 3–11.
//!
//! Behaviour, as a Kafka broker:
//! - acks must be 0, 1 or -1 (else INVALID_REQUIRED_ACKS on every
//!   partition); acks=0 gets no answer at all. Every replica is in sync, so
//!   acks=1 and acks=-1 behave the same.
//! - Each partition must hold exactly one record batch v2 (INVALID_RECORD
//!   otherwise), with a valid CRC (CORRUPT_MESSAGE), records whose offset
//!   deltas run 0..n-1 and match the header (INVALID_RECORD), no larger
//!   than the topic's `max.message.bytes` (MESSAGE_TOO_LARGE), and not a
//!   control batch (INVALID_RECORD).
//! - Unknown topic: UNKNOWN_TOPIC_OR_PARTITION, or created first when
//!   auto-creation is on. Not the leader: NOT_LEADER_OR_FOLLOWER, with the
//!   current leader from v10.
//! - Idempotent batches (producer id ≥ 0) go through the sequence checks of
//!   [`crate::state::producers`]; a duplicate is answered with success and
//!   the original base offset.
//! - Offsets are assigned by rewriting the batch's base offset; with
//!   `message.timestamp.type=LogAppendTime` the batch's timestamp type and
//!   max timestamp are rewritten too (and its CRC), and the answer carries
//!   the append time.
//!
//! Skipped: per-record errors (`record_errors`), quotas and throttling,
//! `compression.type` recompression, transactional-id authorization (a
//! transactional batch is accepted and opens a transaction on the
//! partition; see `FakeCluster::end_transaction`).

use bytes::Bytes;
use ferrokafka_protocol::record::{BatchDecoder, RecordBatch, RecordError};
use kafka_protocol::messages::produce_response::{
    LeaderIdAndEpoch, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{ApiKey, BrokerId, ProduceRequest, ProduceResponse, ResponseKind};

use super::{str_bytes, ApiSpec, Ctx, Handled};
use crate::state::code;
use crate::state::producers::{BatchSequence, SequenceCheck};

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::Produce,
    min: 3,
    max: 11,
};

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &ProduceRequest) -> Handled {
    let acks_valid = (-1..=1).contains(&request.acks);
    let mut responses = Vec::with_capacity(request.topic_data.len());
    for topic in &request.topic_data {
        let name = topic.name.0.as_str();
        if acks_valid && ctx.forced.is_none() && !ctx.state.topics.contains_key(name) {
            ctx.state.auto_create(name);
        }
        let mut partitions = Vec::with_capacity(topic.partition_data.len());
        for data in &topic.partition_data {
            let answer = if !acks_valid {
                failed(data.index, code::INVALID_REQUIRED_ACKS, None)
            } else {
                produce_partition(ctx, name, data.index, data.records.as_ref())
            };
            partitions.push(answer);
        }
        responses.push(
            TopicProduceResponse::default()
                .with_name(topic.name.clone())
                .with_partition_responses(partitions),
        );
    }
    if request.acks == 0 {
        return Handled::NoResponse;
    }
    Handled::Respond(ResponseKind::Produce(
        ProduceResponse::default().with_responses(responses),
    ))
}

fn failed(index: i32, error: i16, message: Option<String>) -> PartitionProduceResponse {
    PartitionProduceResponse::default()
        .with_index(index)
        .with_error_code(error)
        .with_base_offset(-1)
        .with_log_append_time_ms(-1)
        .with_log_start_offset(-1)
        .with_error_message(message.map(str_bytes))
}

fn produce_partition(
    ctx: &mut Ctx<'_>,
    topic: &str,
    index: i32,
    records: Option<&Bytes>,
) -> PartitionProduceResponse {
    let version = ctx.version;
    let message = |text: String| (version >= 8).then_some(text);
    if let Some(forced) = ctx.forced_for(topic, index) {
        return failed(index, forced, None);
    }
    let (log_append_time, max_message_bytes) = match ctx.state.topics.get(topic) {
        Some(t) => (
            t.uses_log_append_time().then_some(ctx.now_ms),
            t.max_message_bytes(),
        ),
        None => (None, 0),
    };
    let partition = match ctx.state.led_partition_mut(ctx.broker, topic, index) {
        Ok(p) => p,
        Err(error) => {
            let mut answer = failed(index, error, None);
            if error == code::NOT_LEADER_OR_FOLLOWER && version >= 10 {
                if let Some(p) = ctx.state.partition(topic, index) {
                    answer.current_leader = LeaderIdAndEpoch::default()
                        .with_leader_id(BrokerId(p.leader))
                        .with_leader_epoch(p.leader_epoch);
                }
            }
            return answer;
        }
    };
    let batch = match single_batch(records.cloned().unwrap_or_default()) {
        Ok(batch) => batch,
        Err((error, text)) => return failed(index, error, message(text)),
    };
    if batch.size_in_bytes() > max_message_bytes {
        return failed(
            index,
            code::MESSAGE_TOO_LARGE,
            message(format!(
                "the batch is {} bytes, more than max.message.bytes={max_message_bytes}",
                batch.size_in_bytes()
            )),
        );
    }
    let log_start_offset = |p: &crate::state::Partition| {
        if version >= 5 {
            p.log.log_start_offset()
        } else {
            -1
        }
    };
    let sequence = (batch.producer_id() >= 0).then(|| BatchSequence {
        producer_id: batch.producer_id(),
        epoch: batch.producer_epoch(),
        first_seq: batch.base_sequence(),
        record_count: batch.record_count(),
    });
    if let Some(sequence) = &sequence {
        match partition.producers.check(sequence) {
            SequenceCheck::Append => {}
            SequenceCheck::Duplicate {
                first_offset,
                log_append_time,
            } => {
                return PartitionProduceResponse::default()
                    .with_index(index)
                    .with_base_offset(first_offset)
                    .with_log_append_time_ms(log_append_time.unwrap_or(-1))
                    .with_log_start_offset(log_start_offset(partition));
            }
            SequenceCheck::Reject(error) => return failed(index, error, None),
        }
    }
    let appended = partition
        .log
        .append(&batch, partition.leader_epoch, log_append_time);
    if let Some(sequence) = &sequence {
        partition.producers.record(
            sequence,
            appended.base_offset,
            appended.last_offset,
            appended.log_append_time,
        );
    }
    PartitionProduceResponse::default()
        .with_index(index)
        .with_base_offset(appended.base_offset)
        .with_log_append_time_ms(appended.log_append_time.unwrap_or(-1))
        .with_log_start_offset(log_start_offset(partition))
}

/// The one valid batch of a partition's records, or the error code and
/// message Kafka would answer with.
fn single_batch(records: Bytes) -> Result<RecordBatch, (i16, String)> {
    let mut decoder = BatchDecoder::new(records);
    let batch = match decoder.next() {
        None => {
            return Err((
                code::INVALID_RECORD,
                "a produce request must carry exactly one record batch per partition, not none"
                    .to_owned(),
            ))
        }
        Some(Err(e)) => return Err(record_error(e)),
        Some(Ok(batch)) => batch,
    };
    if decoder.next().is_some() || decoder.partial_tail().is_some() {
        return Err((
            code::INVALID_RECORD,
            "a produce request must carry exactly one record batch per partition".to_owned(),
        ));
    }
    if batch.is_control() {
        return Err((
            code::INVALID_RECORD,
            "clients may not produce control batches".to_owned(),
        ));
    }
    if batch.record_count() == 0 || batch.last_offset_delta() != batch.record_count() - 1 {
        return Err((
            code::INVALID_RECORD,
            format!(
                "the batch header says {} records with last offset delta {}",
                batch.record_count(),
                batch.last_offset_delta()
            ),
        ));
    }
    let records = batch.records().map_err(record_error)?;
    let mut expected_delta = 0;
    for record in records.iter() {
        let record = record.map_err(record_error)?;
        if record.offset_delta() != expected_delta {
            return Err((
                code::INVALID_RECORD,
                format!(
                    "record {expected_delta} of the batch has offset delta {}; deltas must run 0, 1, 2, …",
                    record.offset_delta()
                ),
            ));
        }
        expected_delta += 1;
    }
    if expected_delta != batch.record_count() {
        return Err((
            code::INVALID_RECORD,
            format!(
                "the batch header says {} records but it holds {expected_delta}",
                batch.record_count()
            ),
        ));
    }
    Ok(batch)
}

fn record_error(e: RecordError) -> (i16, String) {
    let error = match e {
        RecordError::Corrupt { .. } | RecordError::Truncated { .. } => code::CORRUPT_MESSAGE,
        _ => code::INVALID_RECORD,
    };
    (error, e.to_string())
}
