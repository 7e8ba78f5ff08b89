//! SaslAuthenticate (key 36), versions 0–2.
//!
//! Behaviour, as a Kafka broker:
//! - PLAIN (RFC 4616): `authzid NUL authcid NUL passwd`, checked against
//!   the cluster's users; the authzid must be empty or equal the authcid.
//!   Failure: SASL_AUTHENTICATION_FAILED with "Authentication failed:
//!   Invalid username or password", then the connection is closed.
//! - Before a SaslHandshake chose a mechanism, or after authentication:
//!   ILLEGAL_SASL_STATE, then the connection is closed.
//! - Success: an empty server message and `session_lifetime_ms` 0 (v1+:
//!   no re-authentication required).
//!
//! Skipped: SCRAM-SHA-256/512 and OAUTHBEARER (they wait for the server
//! side of `ferrokafka-auth`), KIP-368 re-authentication.

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, ResponseKind, SaslAuthenticateRequest, SaslAuthenticateResponse,
};

use super::{str_bytes, ApiSpec, Ctx, Handled};
use crate::state::code;

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::SaslAuthenticate,
    min: 0,
    max: 2,
};

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &SaslAuthenticateRequest) -> Handled {
    let fail = |error: i16, message: &str| {
        Handled::RespondThenClose(ResponseKind::SaslAuthenticate(
            SaslAuthenticateResponse::default()
                .with_error_code(error)
                .with_error_message(Some(str_bytes(message)))
                .with_auth_bytes(Bytes::new()),
        ))
    };
    if let Some(error) = ctx.forced_code() {
        return fail(error, "forced by fault injection");
    }
    if ctx.conn.authenticated {
        return fail(code::ILLEGAL_SASL_STATE, "already authenticated");
    }
    match ctx.conn.mechanism.as_deref() {
        Some("PLAIN") => match check_plain(&ctx.state.settings.plain_users, &request.auth_bytes) {
            Some(user) => {
                ctx.conn.authenticated = true;
                ctx.conn.principal = Some(user);
                Handled::Respond(ResponseKind::SaslAuthenticate(
                    SaslAuthenticateResponse::default().with_auth_bytes(Bytes::new()),
                ))
            }
            None => fail(
                code::SASL_AUTHENTICATION_FAILED,
                "Authentication failed: Invalid username or password",
            ),
        },
        _ => fail(
            code::ILLEGAL_SASL_STATE,
            "send SaslHandshake with a mechanism before SaslAuthenticate",
        ),
    }
}

/// The authenticated user of a PLAIN message, if the password matches.
fn check_plain(
    users: &std::collections::HashMap<String, String>,
    message: &[u8],
) -> Option<String> {
    let mut parts = message.split(|b| *b == 0);
    let authzid = parts.next()?;
    let user = std::str::from_utf8(parts.next()?).ok()?;
    let password = parts.next()?;
    if parts.next().is_some() || (!authzid.is_empty() && authzid != user.as_bytes()) {
        return None;
    }
    let expected = users.get(user)?;
    // Compare without an early exit, so the time taken does not reveal
    // how much of the password matched.
    let matches = expected.len() == password.len()
        && expected
            .bytes()
            .zip(password)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    matches.then(|| user.to_owned())
}
