//! OffsetFetch (key 9), versions 1–7.
//!
//! Behaviour, as a Kafka group coordinator: answers each asked partition
//! with its committed offset, leader epoch (v5+) and metadata, or offset
//! -1 when nothing was committed; `topics` null (v2+) asks for every
//! committed partition of the group. Not the coordinator: NOT_COORDINATOR
//! (top-level from v2, per partition before).
//!
//! Skipped: `require_stable` (there are no pending transactional offsets).

use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, OffsetFetchRequest, OffsetFetchResponse, ResponseKind, TopicName,
};

use super::k10_find_coordinator::not_coordinator;
use super::{str_bytes, ApiSpec, Ctx, Handled};
use crate::state::code;

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::OffsetFetch,
    min: 1,
    max: 7,
};

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &OffsetFetchRequest) -> Handled {
    let version = ctx.version;
    let group_id = request.group_id.0.to_string();
    let group_error = ctx
        .forced_code()
        .or_else(|| not_coordinator(ctx, &group_id));
    let group = ctx.state.groups.groups.get(&group_id);
    let asked: Vec<(String, Vec<i32>)> = match &request.topics {
        Some(topics) => topics
            .iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
            .collect(),
        None => {
            let mut all: Vec<(String, Vec<i32>)> = Vec::new();
            for (topic, partition) in group.iter().flat_map(|g| g.offsets.keys()) {
                match all.last_mut() {
                    Some((t, ps)) if t == topic => ps.push(*partition),
                    _ => all.push((topic.clone(), vec![*partition])),
                }
            }
            all
        }
    };
    let topics = asked
        .into_iter()
        .map(|(topic, partitions)| {
            let partitions = partitions
                .into_iter()
                .map(|index| {
                    let committed = group.and_then(|g| g.offsets.get(&(topic.clone(), index)));
                    let mut answer = OffsetFetchResponsePartition::default()
                        .with_partition_index(index)
                        .with_committed_offset(committed.map_or(-1, |c| c.offset))
                        .with_metadata(Some(str_bytes(
                            committed
                                .and_then(|c| c.metadata.clone())
                                .unwrap_or_default(),
                        )));
                    if version >= 5 {
                        answer.committed_leader_epoch = committed.map_or(-1, |c| c.leader_epoch);
                    }
                    if version < 2 {
                        answer.error_code = group_error.unwrap_or(code::NONE);
                    }
                    answer
                })
                .collect();
            OffsetFetchResponseTopic::default()
                .with_name(TopicName(str_bytes(topic)))
                .with_partitions(partitions)
        })
        .collect();
    let mut response = OffsetFetchResponse::default().with_topics(topics);
    if version >= 2 {
        response.error_code = group_error.unwrap_or(code::NONE);
        if response.error_code != code::NONE {
            response.topics.clear();
        }
    }
    Handled::Respond(ResponseKind::OffsetFetch(response))
}
