//! InitProducerId (key 22), versions 0–4.
//!
//! Behaviour, as a Kafka broker:
//! - Without a transactional id: a new producer id with epoch 0, every
//!   time (Kafka ignores a given producer id/epoch for idempotent-only
//!   producers).
//! - An empty transactional id: INVALID_REQUEST, as Kafka's coordinator.
//! - With a transactional id, on its coordinator (else NOT_COORDINATOR):
//!   the first call gets a new producer id with epoch 0; later calls get
//!   the same id with the epoch bumped (fencing older instances), and a new
//!   id once the epoch would overflow. A transaction the previous epoch
//!   left open is aborted first (abort markers are written).
//!
//! Skipped: `transaction_timeout_ms` checks, KIP-939 `keep_prepared_txn`.

use kafka_protocol::messages::{
    ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProducerId, ResponseKind,
};

use super::{ApiSpec, Ctx, Handled};
use crate::state::code;

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::InitProducerId,
    min: 0,
    max: 4,
};

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &InitProducerIdRequest) -> Handled {
    let failed = |error| {
        Handled::Respond(ResponseKind::InitProducerId(
            InitProducerIdResponse::default()
                .with_error_code(error)
                .with_producer_id(ProducerId(-1))
                .with_producer_epoch(-1),
        ))
    };
    if let Some(error) = ctx.forced_code() {
        return failed(error);
    }
    let (producer_id, epoch) = match &request.transactional_id {
        None => (ctx.state.allocate_producer_id(), 0),
        // Kafka's coordinator refuses an empty transactional id.
        Some(id) if id.0.is_empty() => return failed(code::INVALID_REQUEST),
        Some(id) => {
            let id = id.0.to_string();
            if ctx.state.coordinator_for(&id) != ctx.broker {
                return failed(code::NOT_COORDINATOR);
            }
            let next = match ctx.state.transactional_ids.get(&id).copied() {
                None => (ctx.state.allocate_producer_id(), 0),
                Some((pid, epoch)) => {
                    crate::cluster::end_open_transactions(ctx.state, pid, false, ctx.now_ms);
                    if epoch >= i16::MAX - 1 {
                        (ctx.state.allocate_producer_id(), 0)
                    } else {
                        (pid, epoch + 1)
                    }
                }
            };
            ctx.state.transactional_ids.insert(id, next);
            next
        }
    };
    Handled::Respond(ResponseKind::InitProducerId(
        InitProducerIdResponse::default()
            .with_producer_id(ProducerId(producer_id))
            .with_producer_epoch(epoch),
    ))
}
