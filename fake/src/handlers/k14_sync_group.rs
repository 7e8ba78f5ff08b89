//! SyncGroup (key 14), versions 0–5.
//!
//! Behaviour, as a Kafka group coordinator:
//! - Unknown group or member: UNKNOWN_MEMBER_ID; wrong generation:
//!   ILLEGAL_GENERATION; a rebalance running: REBALANCE_IN_PROGRESS.
//! - The leader's assignments are stored and the group becomes stable;
//!   followers wait (up to the rebalance timeout) for the leader, then get
//!   their own assignment.

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ResponseKind, SyncGroupRequest, SyncGroupResponse};

use super::k10_find_coordinator::not_coordinator;
use super::{str_bytes, ApiSpec, Ctx, Handled};
use crate::state::code;
use crate::state::groups::Phase;

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::SyncGroup,
    min: 0,
    max: 5,
};

fn failed(error: i16) -> Handled {
    Handled::Respond(ResponseKind::SyncGroup(
        SyncGroupResponse::default()
            .with_error_code(error)
            .with_assignment(Bytes::new()),
    ))
}

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &SyncGroupRequest) -> Handled {
    let group_id = request.group_id.0.to_string();
    if let Some(error) = ctx
        .forced_code()
        .or_else(|| not_coordinator(ctx, &group_id))
    {
        return failed(error);
    }
    let version = ctx.version;
    let may_wait = ctx.may_wait;
    let member_id = request.member_id.to_string();
    let Some(group) = ctx.state.groups.groups.get_mut(&group_id) else {
        return failed(code::UNKNOWN_MEMBER_ID);
    };
    if !group.members.contains_key(&member_id) {
        return failed(code::UNKNOWN_MEMBER_ID);
    }
    if request.generation_id != group.generation {
        return failed(code::ILLEGAL_GENERATION);
    }
    match group.phase {
        Phase::PreparingRebalance | Phase::Empty => return failed(code::REBALANCE_IN_PROGRESS),
        Phase::CompletingRebalance if group.leader.as_ref() == Some(&member_id) => {
            for assignment in &request.assignments {
                if let Some(member) = group.members.get_mut(assignment.member_id.as_str()) {
                    member.assignment = assignment.assignment.clone();
                }
            }
            group.phase = Phase::Stable;
        }
        Phase::CompletingRebalance if may_wait => {
            return Handled::Wait(Duration::from_millis(
                group.rebalance_timeout_ms().max(1) as u64
            ));
        }
        Phase::CompletingRebalance => return failed(code::REBALANCE_IN_PROGRESS),
        Phase::Stable => {}
    }
    let assignment = group
        .members
        .get(&member_id)
        .map(|m| m.assignment.clone())
        .unwrap_or_default();
    let mut response = SyncGroupResponse::default().with_assignment(assignment);
    if version >= 5 {
        response.protocol_type = group.protocol_type.clone().map(str_bytes);
        response.protocol_name = group.protocol.clone().map(str_bytes);
    }
    Handled::Respond(ResponseKind::SyncGroup(response))
}
