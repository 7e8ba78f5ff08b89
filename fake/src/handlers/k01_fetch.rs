//! Fetch (key 1), versions 4–12.
//!
//! Behaviour, as a Kafka broker:
//! - Returns whole record batches, starting with the one that holds the
//!   fetch offset, up to `partition_max_bytes` per partition and
//!   `max_bytes` per response; the first batch of the response is returned
//!   even when it is larger than both (KIP-74).
//! - read_uncommitted reads up to the high watermark; read_committed up to
//!   the last stable offset, and lists the aborted transactions that
//!   overlap what it returns.
//! - A fetch offset below the log start offset or above the high watermark
//!   gets OFFSET_OUT_OF_RANGE; unknown topics UNKNOWN_TOPIC_OR_PARTITION;
//!   a broker that does not lead the partition NOT_LEADER_OR_FOLLOWER (with
//!   the current leader from v12); a stale or future `current_leader_epoch`
//!   (v9+) FENCED_LEADER_EPOCH or UNKNOWN_LEADER_EPOCH.
//! - Long poll: with less than `min_bytes` available and no error, the
//!   answer waits up to `max_wait_ms` for data to arrive.
//!
//! Skipped: fetch sessions (a session is never created: the answer's
//! session id is 0, which tells the client to keep sending full fetches;
//! an incremental fetch gets FETCH_SESSION_ID_NOT_FOUND), topic ids (v13+),
//! follower fetching and preferred read replicas, quotas.

use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, LeaderIdAndEpoch, PartitionData,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, FetchRequest, FetchResponse, ProducerId, ResponseKind,
};

use super::{ApiSpec, Ctx, Handled};
use crate::state::code;

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::Fetch,
    min: 4,
    max: 12,
};

const FETCH_SESSION_ID_NOT_FOUND: i16 = 70;
const FENCED_LEADER_EPOCH: i16 = 74;
const UNKNOWN_LEADER_EPOCH: i16 = 75;

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &FetchRequest) -> Handled {
    let version = ctx.version;
    if version >= 7 && request.session_id != 0 {
        return Handled::Respond(ResponseKind::Fetch(
            FetchResponse::default().with_error_code(FETCH_SESSION_ID_NOT_FOUND),
        ));
    }
    let read_committed = request.isolation_level == 1;
    let mut budget = i64::from(request.max_bytes.max(0));
    let mut total_bytes: i64 = 0;
    let mut any_error = false;
    let mut first_batch_sent = false;
    let mut responses = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let name = topic.topic.0.as_str();
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for fetch in &topic.partitions {
            let index = fetch.partition;
            let mut data = PartitionData::default()
                .with_partition_index(index)
                .with_high_watermark(-1)
                .with_last_stable_offset(-1)
                .with_log_start_offset(-1);
            if let Some(forced) = ctx.forced_for(name, index) {
                any_error = true;
                partitions.push(data.with_error_code(forced));
                continue;
            }
            let broker = ctx.broker;
            let partition = match ctx.state.led_partition_mut(broker, name, index) {
                Ok(p) => p,
                Err(error) => {
                    any_error = true;
                    data.error_code = error;
                    if error == code::NOT_LEADER_OR_FOLLOWER && version >= 12 {
                        if let Some(p) = ctx.state.partition(name, index) {
                            data.current_leader = LeaderIdAndEpoch::default()
                                .with_leader_id(BrokerId(p.leader))
                                .with_leader_epoch(p.leader_epoch);
                        }
                    }
                    partitions.push(data);
                    continue;
                }
            };
            let log = &partition.log;
            data.high_watermark = log.high_watermark();
            data.last_stable_offset = log.last_stable_offset();
            if version >= 5 {
                data.log_start_offset = log.log_start_offset();
            }
            if version >= 9 && fetch.current_leader_epoch >= 0 {
                if fetch.current_leader_epoch < partition.leader_epoch {
                    any_error = true;
                    partitions.push(data.with_error_code(FENCED_LEADER_EPOCH));
                    continue;
                }
                if fetch.current_leader_epoch > partition.leader_epoch {
                    any_error = true;
                    partitions.push(data.with_error_code(UNKNOWN_LEADER_EPOCH));
                    continue;
                }
            }
            if fetch.fetch_offset < log.log_start_offset()
                || fetch.fetch_offset > log.high_watermark()
            {
                any_error = true;
                partitions.push(data.with_error_code(code::OFFSET_OUT_OF_RANGE));
                continue;
            }
            let limit = if read_committed {
                log.last_stable_offset()
            } else {
                log.high_watermark()
            };
            let mut partition_budget = i64::from(fetch.partition_max_bytes.max(0));
            let mut records = BytesMut::new();
            let mut last_returned = fetch.fetch_offset;
            for stored in &log.batches()[log.batch_index_for(fetch.fetch_offset)..] {
                if stored.base_offset() >= limit {
                    break;
                }
                let size = stored.bytes().len() as i64;
                let fits = size <= partition_budget && size <= budget;
                if !fits && first_batch_sent {
                    break;
                }
                first_batch_sent = true;
                records.extend_from_slice(stored.bytes());
                partition_budget -= size;
                budget -= size;
                total_bytes += size;
                last_returned = stored.last_offset();
                if !fits {
                    break;
                }
            }
            if read_committed {
                let aborted = if records.is_empty() {
                    Vec::new()
                } else {
                    log.aborted_between(fetch.fetch_offset, last_returned + 1)
                };
                data.aborted_transactions = Some(
                    aborted
                        .into_iter()
                        .map(|t| {
                            AbortedTransaction::default()
                                .with_producer_id(ProducerId(t.producer_id))
                                .with_first_offset(t.first_offset)
                        })
                        .collect(),
                );
            }
            data.records = Some(records.freeze());
            partitions.push(data);
        }
        responses.push(
            FetchableTopicResponse::default()
                .with_topic(topic.topic.clone())
                .with_partitions(partitions),
        );
    }
    if ctx.may_wait
        && !any_error
        && total_bytes < i64::from(request.min_bytes)
        && request.max_wait_ms > 0
    {
        return Handled::Wait(Duration::from_millis(request.max_wait_ms as u64));
    }
    Handled::Respond(ResponseKind::Fetch(
        FetchResponse::default().with_responses(responses),
    ))
}
