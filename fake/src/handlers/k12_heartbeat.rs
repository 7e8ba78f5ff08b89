//! Heartbeat (key 12), versions 0–4.
//!
//! Behaviour, as a Kafka group coordinator: UNKNOWN_MEMBER_ID for an
//! unknown group or member, ILLEGAL_GENERATION for a stale generation,
//! REBALANCE_IN_PROGRESS while members must rejoin, else success.

use kafka_protocol::messages::{ApiKey, HeartbeatRequest, HeartbeatResponse, ResponseKind};

use super::k10_find_coordinator::not_coordinator;
use super::{ApiSpec, Ctx, Handled};
use crate::state::code;
use crate::state::groups::Phase;

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::Heartbeat,
    min: 0,
    max: 4,
};

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &HeartbeatRequest) -> Handled {
    let group_id = request.group_id.0.to_string();
    let error = ctx
        .forced_code()
        .or_else(|| not_coordinator(ctx, &group_id))
        .unwrap_or_else(|| match ctx.state.groups.groups.get(&group_id) {
            Some(group) if group.members.contains_key(request.member_id.as_str()) => {
                if request.generation_id != group.generation {
                    code::ILLEGAL_GENERATION
                } else if group.phase == Phase::PreparingRebalance {
                    code::REBALANCE_IN_PROGRESS
                } else {
                    code::NONE
                }
            }
            _ => code::UNKNOWN_MEMBER_ID,
        });
    Handled::Respond(ResponseKind::Heartbeat(
        HeartbeatResponse::default().with_error_code(error),
    ))
}
