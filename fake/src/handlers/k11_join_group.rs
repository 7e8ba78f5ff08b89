//! JoinGroup (key 11), versions 0–7.
//!
//! Behaviour, as a Kafka group coordinator (see [`crate::state::groups`]):
//! - Not the coordinator: NOT_COORDINATOR. Empty group id: INVALID_GROUP_ID.
//!   Session timeout outside 6 s–30 min (Kafka's defaults):
//!   INVALID_SESSION_TIMEOUT. No protocol in common with the group, or a
//!   different protocol type: INCONSISTENT_GROUP_PROTOCOL.
//! - v4+: a join without a member id gets MEMBER_ID_REQUIRED with a new id.
//!   An unknown non-empty member id: UNKNOWN_MEMBER_ID.
//! - The answer waits until every member has rejoined (or the rebalance
//!   timeout passes); the leader's answer lists the members and their
//!   protocol metadata.

use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::{ApiKey, JoinGroupRequest, JoinGroupResponse, ResponseKind};
use std::time::Duration;

use super::k10_find_coordinator::not_coordinator;
use super::{str_bytes, ApiSpec, Ctx, Handled};
use crate::state::code;
use crate::state::groups::{Member, Phase};

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::JoinGroup,
    min: 0,
    max: 7,
};

const MIN_SESSION_TIMEOUT_MS: i32 = 6_000;
const MAX_SESSION_TIMEOUT_MS: i32 = 1_800_000;

fn failed(error: i16, member_id: &str) -> Handled {
    Handled::Respond(ResponseKind::JoinGroup(
        JoinGroupResponse::default()
            .with_error_code(error)
            .with_generation_id(-1)
            .with_member_id(str_bytes(member_id))
            .with_leader(str_bytes("")),
    ))
}

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &JoinGroupRequest) -> Handled {
    let group_id = request.group_id.0.to_string();
    let member_id = request.member_id.to_string();
    if let Some(error) = ctx.forced_code() {
        return failed(error, &member_id);
    }
    if group_id.is_empty() {
        return failed(code::INVALID_GROUP_ID, &member_id);
    }
    if let Some(error) = not_coordinator(ctx, &group_id) {
        return failed(error, &member_id);
    }
    if !(MIN_SESSION_TIMEOUT_MS..=MAX_SESSION_TIMEOUT_MS).contains(&request.session_timeout_ms) {
        return failed(code::INVALID_SESSION_TIMEOUT, &member_id);
    }
    let now = ctx.now_ms;
    let version = ctx.version;
    let client_id = ctx.client_id.clone();
    let new_member_id = (member_id.is_empty()).then(|| ctx.state.groups.new_member_id(&client_id));
    let group = ctx.state.groups.groups.entry(group_id).or_default();
    let protocol_type = request.protocol_type.to_string();
    if group
        .protocol_type
        .as_ref()
        .is_some_and(|t| *t != protocol_type)
        && !group.members.is_empty()
        || request.protocols.is_empty()
    {
        return failed(code::INCONSISTENT_GROUP_PROTOCOL, &member_id);
    }
    let member_id = match new_member_id {
        Some(id) if version >= 4 => {
            group.pending_ids.insert(id.clone());
            return failed(code::MEMBER_ID_REQUIRED, &id);
        }
        Some(id) => id,
        None => {
            if !group.members.contains_key(&member_id) && !group.pending_ids.remove(&member_id) {
                return failed(code::UNKNOWN_MEMBER_ID, &member_id);
            }
            member_id
        }
    };
    let protocols: Vec<(String, bytes::Bytes)> = request
        .protocols
        .iter()
        .map(|p| (p.name.to_string(), p.metadata.clone()))
        .collect();
    if !group.members.is_empty()
        && !protocols.iter().any(|(name, _)| {
            group
                .members
                .values()
                .all(|m| m.protocols.iter().any(|(n, _)| n == name))
        })
    {
        return failed(code::INCONSISTENT_GROUP_PROTOCOL, &member_id);
    }
    let joined_already =
        group.phase == Phase::PreparingRebalance && group.joined.contains(&member_id);
    let changed = group
        .members
        .get(&member_id)
        .is_none_or(|m| m.protocols != protocols);
    if !joined_already {
        if changed
            || group.phase != Phase::PreparingRebalance
            || group.leader.as_ref() == Some(&member_id)
        {
            group.prepare_rebalance(now);
        }
        group.protocol_type = Some(protocol_type);
        let rebalance_timeout_ms = if version >= 1 {
            request.rebalance_timeout_ms
        } else {
            request.session_timeout_ms
        };
        group.members.insert(
            member_id.clone(),
            Member {
                group_instance_id: request.group_instance_id.as_ref().map(|s| s.to_string()),
                protocols,
                rebalance_timeout_ms,
                assignment: bytes::Bytes::new(),
            },
        );
        group.joined.insert(member_id.clone());
    }
    let timed_out = now - group.rebalance_started_ms >= group.rebalance_timeout_ms();
    if !group.try_complete_join(!ctx.may_wait || timed_out) {
        let left = group.rebalance_timeout_ms() - (now - group.rebalance_started_ms);
        return Handled::Wait(Duration::from_millis(left.max(1) as u64));
    }
    if !group.members.contains_key(&member_id) {
        return failed(code::UNKNOWN_MEMBER_ID, &member_id);
    }
    let leader = group.leader.clone().unwrap_or_default();
    let protocol = group.protocol.clone();
    let mut response = JoinGroupResponse::default()
        .with_generation_id(group.generation)
        .with_protocol_name(protocol.clone().map(str_bytes))
        .with_leader(str_bytes(leader.clone()))
        .with_member_id(str_bytes(member_id.clone()));
    if version >= 7 {
        response.protocol_type = group.protocol_type.clone().map(str_bytes);
    }
    if leader == member_id {
        response.members = group
            .members
            .iter()
            .map(|(id, m)| {
                let metadata = m
                    .protocols
                    .iter()
                    .find(|(n, _)| Some(n) == protocol.as_ref())
                    .map(|(_, md)| md.clone())
                    .unwrap_or_default();
                let mut member = JoinGroupResponseMember::default()
                    .with_member_id(str_bytes(id.clone()))
                    .with_metadata(metadata);
                if version >= 5 {
                    member.group_instance_id = m.group_instance_id.clone().map(str_bytes);
                }
                member
            })
            .collect();
    }
    Handled::Respond(ResponseKind::JoinGroup(response))
}
