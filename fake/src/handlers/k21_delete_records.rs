//! DeleteRecords (key 21), versions 0–2.
//!
//! Behaviour, as a Kafka broker:
//! - Moves the log start offset up to the given offset (-1: the high
//!   watermark) and answers with the new low watermark. An offset below the
//!   current start changes nothing; one above the high watermark is
//!   OFFSET_OUT_OF_RANGE.
//! - Producers whose every retained batch now lies before the start lose
//!   their state, so their next non-zero sequence is UNKNOWN_PRODUCER_ID.
//! - Unknown partitions: UNKNOWN_TOPIC_OR_PARTITION; not the leader:
//!   NOT_LEADER_OR_FOLLOWER.

use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::{ApiKey, DeleteRecordsRequest, DeleteRecordsResponse, ResponseKind};

use super::{ApiSpec, Ctx, Handled};
use crate::state::code;

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::DeleteRecords,
    min: 0,
    max: 2,
};

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &DeleteRecordsRequest) -> Handled {
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let name = topic.name.0.as_str();
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for asked in &topic.partitions {
            let index = asked.partition_index;
            let result = DeleteRecordsPartitionResult::default()
                .with_partition_index(index)
                .with_low_watermark(-1);
            if let Some(forced) = ctx.forced_for(name, index) {
                partitions.push(result.with_error_code(forced));
                continue;
            }
            let partition = match ctx.state.led_partition_mut(ctx.broker, name, index) {
                Ok(p) => p,
                Err(error) => {
                    partitions.push(result.with_error_code(error));
                    continue;
                }
            };
            let hwm = partition.log.high_watermark();
            let target = if asked.offset == -1 {
                hwm
            } else {
                asked.offset
            };
            if target < 0 || target > hwm {
                partitions.push(result.with_error_code(code::OFFSET_OUT_OF_RANGE));
                continue;
            }
            partition.log.delete_before(target);
            let start = partition.log.log_start_offset();
            partition.producers.remove_before(start);
            partitions.push(result.with_low_watermark(start));
        }
        topics.push(
            DeleteRecordsTopicResult::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions),
        );
    }
    Handled::Respond(ResponseKind::DeleteRecords(
        DeleteRecordsResponse::default().with_topics(topics),
    ))
}
