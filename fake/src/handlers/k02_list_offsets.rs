//! ListOffsets (key 2), versions 1–8.
//!
//! Behaviour, as a Kafka broker:
//! - timestamp -2 (EARLIEST) and -4 (EARLIEST_LOCAL, v8; the same here, as
//!   nothing is tiered): the log start offset.
//! - timestamp -1 (LATEST): the high watermark, or the last stable offset
//!   for isolation level read_committed (v2+).
//! - timestamp -3 (MAX_TIMESTAMP, v7+): the first record with the largest
//!   timestamp, and that timestamp.
//! - any other timestamp: the first offset whose record timestamp is at or
//!   after it, and that record's timestamp; offset -1 and timestamp -1 when
//!   there is none. Log-append-time batches count with their append time.
//! - The leader epoch (v4+) is the epoch of the batch holding the offset,
//!   or the current epoch for EARLIEST and LATEST.
//! - Unknown partitions: UNKNOWN_TOPIC_OR_PARTITION; not the leader:
//!   NOT_LEADER_OR_FOLLOWER.
//!
//! Skipped: `current_leader_epoch` fencing, tiered-storage timestamps (-5).

use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::{ApiKey, ListOffsetsRequest, ListOffsetsResponse, ResponseKind};

use super::{ApiSpec, Ctx, Handled};

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::ListOffsets,
    min: 1,
    max: 8,
};

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &ListOffsetsRequest) -> Handled {
    let version = ctx.version;
    let read_committed = version >= 2 && request.isolation_level == 1;
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let name = topic.name.0.as_str();
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for asked in &topic.partitions {
            let index = asked.partition_index;
            let answer = ListOffsetsPartitionResponse::default()
                .with_partition_index(index)
                .with_timestamp(-1)
                .with_offset(-1);
            if let Some(forced) = ctx.forced_for(name, index) {
                partitions.push(answer.with_error_code(forced));
                continue;
            }
            let partition = match ctx.state.led_partition_mut(ctx.broker, name, index) {
                Ok(p) => p,
                Err(error) => {
                    partitions.push(answer.with_error_code(error));
                    continue;
                }
            };
            let log = &partition.log;
            let current = partition.leader_epoch;
            let (offset, timestamp, epoch) = match asked.timestamp {
                LATEST if read_committed => (log.last_stable_offset(), -1, current),
                LATEST => (log.high_watermark(), -1, current),
                EARLIEST | EARLIEST_LOCAL => (log.log_start_offset(), -1, current),
                MAX_TIMESTAMP => log.max_timestamp_offset().unwrap_or((-1, -1, -1)),
                ts => log.offset_for_timestamp(ts).unwrap_or((-1, -1, -1)),
            };
            let mut answer = answer.with_offset(offset).with_timestamp(timestamp);
            if version >= 4 {
                answer.leader_epoch = epoch;
            }
            partitions.push(answer);
        }
        topics.push(
            ListOffsetsTopicResponse::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions),
        );
    }
    Handled::Respond(ResponseKind::ListOffsets(
        ListOffsetsResponse::default().with_topics(topics),
    ))
}
