//! SaslHandshake (key 17), version 1.
//!
//! Behaviour, as a Kafka broker with a SASL listener:
//! - Lists the enabled mechanisms (`PLAIN` when the cluster has PLAIN
//!   users, `SCRAM-SHA-256`/`SCRAM-SHA-512` when it has SCRAM users of
//!   that hash). An unknown mechanism gets UNSUPPORTED_SASL_MECHANISM and the
//!   connection is closed after the answer.
//! - A handshake on a cluster without SASL gets ILLEGAL_SASL_STATE (as
//!   Kafka's request handler answers it); so does one after authentication,
//!   unless it starts a KIP-368 re-authentication: version 1+, the
//!   session has a lifetime, and the same mechanism as before. Until that
//!   exchange succeeds the connection serves only SASL requests.
//!
//! Skipped: version 0 (raw SASL tokens after the handshake).

use kafka_protocol::messages::{ApiKey, ResponseKind, SaslHandshakeRequest, SaslHandshakeResponse};

use ferrokafka_auth::sasl::ScramHash;

use super::{str_bytes, ApiSpec, Ctx, Handled};
use crate::state::code;

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::SaslHandshake,
    min: 1,
    max: 1,
};

/// The mechanisms a cluster offers.
pub(crate) fn mechanisms(ctx: &Ctx<'_>) -> Vec<&'static str> {
    let settings = &ctx.state.settings;
    let mut out = Vec::new();
    if !settings.plain_users.is_empty() {
        out.push("PLAIN");
    }
    for hash in [ScramHash::Sha256, ScramHash::Sha512] {
        if settings.scram_users.values().any(|c| c.hash == hash) {
            out.push(hash.mechanism().name());
        }
    }
    if !settings.oauth_tokens.is_empty()
        || settings.oauth_jwt.is_some()
        || settings.oauth_validator.is_some()
    {
        out.push("OAUTHBEARER");
    }
    out
}

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &SaslHandshakeRequest) -> Handled {
    let enabled = mechanisms(ctx);
    let mut response = SaslHandshakeResponse::default()
        .with_mechanisms(enabled.iter().map(|m| str_bytes(*m)).collect());
    if let Some(error) = ctx.forced_code() {
        response.error_code = error;
        return Handled::Respond(ResponseKind::SaslHandshake(response));
    }
    let asked = request.mechanism.to_string();
    if ctx.conn.authenticated {
        // KIP-368: a connection whose session has a lifetime may
        // re-authenticate (SaslHandshake v1+) with the same mechanism;
        // until that succeeds only SASL requests are served.
        let may_reauthenticate = ctx.version >= 1
            && ctx.conn.session_expires_at.is_some()
            && ctx.conn.mechanism.as_deref() == Some(asked.as_str());
        if !may_reauthenticate {
            response.error_code = code::ILLEGAL_SASL_STATE;
            return Handled::Respond(ResponseKind::SaslHandshake(response));
        }
        ctx.conn.authenticated = false;
        ctx.conn.reauthenticating_as = ctx.conn.principal.take();
        return Handled::Respond(ResponseKind::SaslHandshake(response));
    }
    if enabled.is_empty() {
        response.error_code = code::ILLEGAL_SASL_STATE;
        return Handled::Respond(ResponseKind::SaslHandshake(response));
    }
    if !enabled.contains(&asked.as_str()) {
        response.error_code = code::UNSUPPORTED_SASL_MECHANISM;
        return Handled::RespondThenClose(ResponseKind::SaslHandshake(response));
    }
    ctx.conn.mechanism = Some(asked);
    Handled::Respond(ResponseKind::SaslHandshake(response))
}
