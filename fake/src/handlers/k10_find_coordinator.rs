//! FindCoordinator (key 10), versions 0–4.
//!
//! Behaviour, as a Kafka broker:
//! - Key type 0 (group) and 1 (transaction): the coordinator is a stable
//!   hash of the key over the brokers. v4 answers each of
//!   `coordinator_keys`; older versions the one `key`.
//! - Other key types: INVALID_REQUEST. Group and transaction requests sent
//!   to another broker get NOT_COORDINATOR.
//!
//! Skipped: COORDINATOR_LOAD_IN_PROGRESS (coordinators are always ready);
//! inject it with a fault to test a client's retry.

use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{
    ApiKey, BrokerId, FindCoordinatorRequest, FindCoordinatorResponse, ResponseKind,
};
use kafka_protocol::protocol::StrBytes;

use super::{str_bytes, ApiSpec, Ctx, Handled};
use crate::state::code;

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::FindCoordinator,
    min: 0,
    max: 4,
};

/// NOT_COORDINATOR when `key` is coordinated by another broker.
pub(crate) fn not_coordinator(ctx: &Ctx<'_>, key: &str) -> Option<i16> {
    (ctx.state.coordinator_for(key) != ctx.broker).then_some(code::NOT_COORDINATOR)
}

fn coordinator(ctx: &Ctx<'_>, key: &StrBytes, key_type: i8) -> Coordinator {
    let answer = Coordinator::default()
        .with_key(key.clone())
        .with_node_id(BrokerId(-1))
        .with_host(str_bytes(""))
        .with_port(-1);
    if let Some(error) = ctx.forced_code() {
        return answer.with_error_code(error);
    }
    if !matches!(key_type, 0 | 1) {
        return answer
            .with_error_code(code::INVALID_REQUEST)
            .with_error_message(Some(str_bytes(format!(
                "key type {key_type} is not a group (0) or transaction (1) key"
            ))));
    }
    let id = ctx.state.coordinator_for(key.as_str());
    match ctx.state.broker(id) {
        Some(broker) => answer
            .with_node_id(BrokerId(id))
            .with_host(str_bytes(broker.host.clone()))
            .with_port(i32::from(broker.port)),
        None => answer.with_error_code(code::COORDINATOR_NOT_AVAILABLE),
    }
}

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &FindCoordinatorRequest) -> Handled {
    let response = if ctx.version >= 4 {
        FindCoordinatorResponse::default().with_coordinators(
            request
                .coordinator_keys
                .iter()
                .map(|key| coordinator(ctx, key, request.key_type))
                .collect(),
        )
    } else {
        let c = coordinator(ctx, &request.key, request.key_type);
        let mut response = FindCoordinatorResponse::default()
            .with_error_code(c.error_code)
            .with_node_id(c.node_id)
            .with_host(c.host)
            .with_port(c.port);
        if ctx.version >= 1 {
            response.error_message = c.error_message;
        }
        response
    };
    Handled::Respond(ResponseKind::FindCoordinator(response))
}
