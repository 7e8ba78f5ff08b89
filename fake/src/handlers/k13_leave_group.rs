//! LeaveGroup (key 13), versions 0–4.
//!
//! Behaviour, as a Kafka group coordinator: removes the member (v0–2
//! `member_id`, v3+ each of `members`, answered per member) and starts a
//! rebalance for the others. Unknown members: UNKNOWN_MEMBER_ID.

use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::{ApiKey, LeaveGroupRequest, LeaveGroupResponse, ResponseKind};

use super::k10_find_coordinator::not_coordinator;
use super::{ApiSpec, Ctx, Handled};
use crate::state::code;

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::LeaveGroup,
    min: 0,
    max: 4,
};

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &LeaveGroupRequest) -> Handled {
    let group_id = request.group_id.0.to_string();
    if let Some(error) = ctx
        .forced_code()
        .or_else(|| not_coordinator(ctx, &group_id))
    {
        return Handled::Respond(ResponseKind::LeaveGroup(
            LeaveGroupResponse::default().with_error_code(error),
        ));
    }
    let now = ctx.now_ms;
    let mut leave = |member_id: &str| {
        let removed = ctx
            .state
            .groups
            .groups
            .get_mut(&group_id)
            .is_some_and(|group| group.remove_member(member_id, now));
        if removed {
            code::NONE
        } else {
            code::UNKNOWN_MEMBER_ID
        }
    };
    let response = if ctx.version >= 3 {
        LeaveGroupResponse::default().with_members(
            request
                .members
                .iter()
                .map(|m| {
                    MemberResponse::default()
                        .with_member_id(m.member_id.clone())
                        .with_group_instance_id(m.group_instance_id.clone())
                        .with_error_code(leave(m.member_id.as_str()))
                })
                .collect(),
        )
    } else {
        LeaveGroupResponse::default().with_error_code(leave(request.member_id.as_str()))
    };
    Handled::Respond(ResponseKind::LeaveGroup(response))
}
