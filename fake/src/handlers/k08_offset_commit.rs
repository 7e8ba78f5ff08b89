//! OffsetCommit (key 8), versions 2–8.
//!
//! Behaviour, as a Kafka group coordinator:
//! - Generation -1 with an empty member id commits for a group without
//!   members (simple consumers, admin tools); otherwise the member must
//!   belong to the group (UNKNOWN_MEMBER_ID) at its current generation
//!   (ILLEGAL_GENERATION), and not during a rebalance
//!   (REBALANCE_IN_PROGRESS).
//! - Offsets for partitions that do not exist: UNKNOWN_TOPIC_OR_PARTITION.
//!
//! Skipped: retention of committed offsets, metadata size limits.

use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::{ApiKey, OffsetCommitRequest, OffsetCommitResponse, ResponseKind};

use super::k10_find_coordinator::not_coordinator;
use super::{ApiSpec, Ctx, Handled};
use crate::state::code;
use crate::state::groups::{Committed, Phase};

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::OffsetCommit,
    min: 2,
    max: 8,
};

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &OffsetCommitRequest) -> Handled {
    let group_id = request.group_id.0.to_string();
    let member_id = request.member_id.to_string();
    let generation = request.generation_id_or_member_epoch;
    let group_error = not_coordinator(ctx, &group_id).or_else(|| {
        if group_id.is_empty() {
            return Some(code::INVALID_GROUP_ID);
        }
        let group = ctx.state.groups.groups.get(&group_id);
        if generation < 0 && member_id.is_empty() {
            return group
                .filter(|g| !g.members.is_empty())
                .map(|_| code::UNKNOWN_MEMBER_ID);
        }
        let Some(group) = group.filter(|g| g.members.contains_key(&member_id)) else {
            return Some(code::UNKNOWN_MEMBER_ID);
        };
        if generation != group.generation {
            Some(code::ILLEGAL_GENERATION)
        } else if group.phase == Phase::PreparingRebalance {
            Some(code::REBALANCE_IN_PROGRESS)
        } else {
            None
        }
    });
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let name = topic.name.0.to_string();
        let mut partitions = Vec::with_capacity(topic.partitions.len());
        for p in &topic.partitions {
            let index = p.partition_index;
            let error = ctx
                .forced_for(&name, index)
                .or(group_error)
                .or_else(|| {
                    ctx.state
                        .partition(&name, index)
                        .is_none()
                        .then_some(code::UNKNOWN_TOPIC_OR_PARTITION)
                })
                .unwrap_or(code::NONE);
            if error == code::NONE {
                let group = ctx.state.groups.groups.entry(group_id.clone()).or_default();
                group.offsets.insert(
                    (name.clone(), index),
                    Committed {
                        offset: p.committed_offset,
                        leader_epoch: p.committed_leader_epoch,
                        metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                    },
                );
            }
            partitions.push(
                OffsetCommitResponsePartition::default()
                    .with_partition_index(index)
                    .with_error_code(error),
            );
        }
        topics.push(
            OffsetCommitResponseTopic::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions),
        );
    }
    Handled::Respond(ResponseKind::OffsetCommit(
        OffsetCommitResponse::default().with_topics(topics),
    ))
}
