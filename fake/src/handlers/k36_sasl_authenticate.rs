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
//! - SCRAM-SHA-256/512 (RFC 5802/7677) through `ferrokafka-auth`'s server
//!   half: two rounds; a wrong proof gets SASL_AUTHENTICATION_FAILED. A
//!   configured [`ScramFault`] corrupts the nonce, the iteration count or
//!   the final signature, to test clients.
//!
//! - OAUTHBEARER (RFC 7628): the bearer token must be one the cluster was
//!   given, or an HS256 JWT with a valid signature, `exp` and `aud`;
//!   otherwise SASL_AUTHENTICATION_FAILED with `{"status":"invalid_token"}`.
//!   The session lifetime (v1+) is the token's remaining life, or the
//!   configured one when shorter; later requests close the connection.
//!
//! - Re-authentication (KIP-368): after a SaslHandshake v1+ on an
//!   authenticated connection whose session has a lifetime (see
//!   `k17_sasl_handshake`), the exchange runs again; it must end with the
//!   same principal (otherwise SASL_AUTHENTICATION_FAILED and the
//!   connection is closed) and grants a fresh session lifetime.

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, ResponseKind, SaslAuthenticateRequest, SaslAuthenticateResponse,
};

use ferrokafka_auth::sasl::{OAuthBearer, ScramHash, ScramServer};

use super::{str_bytes, ApiSpec, Ctx, Handled};
use crate::config::ScramFault;
use crate::state::code;

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::SaslAuthenticate,
    min: 0,
    max: 2,
};

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &SaslAuthenticateRequest) -> Handled {
    let was_authenticated = ctx.conn.authenticated;
    let mut handled = authenticate(ctx, request);
    if ctx.conn.authenticated && !was_authenticated {
        if let Some(before) = ctx.conn.reauthenticating_as.take() {
            if ctx.conn.principal.as_deref() != Some(before.as_str()) {
                // KIP-368: re-authentication may not change the principal.
                ctx.conn.authenticated = false;
                return Handled::RespondThenClose(ResponseKind::SaslAuthenticate(
                    SaslAuthenticateResponse::default()
                        .with_error_code(code::SASL_AUTHENTICATION_FAILED)
                        .with_error_message(Some(str_bytes(
                            "re-authentication must keep the same principal",
                        )))
                        .with_auth_bytes(Bytes::new()),
                ));
            }
        }
    }
    let now = std::time::Instant::now();
    let token_left = ctx
        .conn
        .token_expires_at
        .map(|at| at.saturating_duration_since(now));
    let lifetime = match (ctx.state.settings.sasl_session_lifetime, token_left) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    if let (false, true, Some(lifetime)) = (was_authenticated, ctx.conn.authenticated, lifetime) {
        ctx.conn.session_expires_at = Some(std::time::Instant::now() + lifetime);
        if ctx.version >= 1 {
            if let Handled::Respond(ResponseKind::SaslAuthenticate(response)) = &mut handled {
                response.session_lifetime_ms = lifetime.as_millis() as i64;
            }
        }
    }
    handled
}

fn authenticate(ctx: &mut Ctx<'_>, request: &SaslAuthenticateRequest) -> Handled {
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
            Some(user) => accept(ctx, user),
            None => fail(
                code::SASL_AUTHENTICATION_FAILED,
                "Authentication failed: Invalid username or password",
            ),
        },
        Some(name @ ("SCRAM-SHA-256" | "SCRAM-SHA-512")) => {
            let hash = if name == "SCRAM-SHA-256" {
                ScramHash::Sha256
            } else {
                ScramHash::Sha512
            };
            let settings = &ctx.state.settings;
            let server = ctx
                .conn
                .scram
                .get_or_insert_with(|| ScramServer::new(hash, settings.scram_users.clone()));
            match server.step(&request.auth_bytes) {
                Ok((message, user)) => {
                    let finished = user.is_some();
                    if let Some(user) = user {
                        ctx.conn.authenticated = true;
                        ctx.conn.principal = Some(user);
                        ctx.conn.scram = None;
                    }
                    let message = misbehave(settings.scram_fault, message, finished);
                    Handled::Respond(ResponseKind::SaslAuthenticate(
                        SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(message)),
                    ))
                }
                Err(reason) => fail(code::SASL_AUTHENTICATION_FAILED, &reason),
            }
        }
        Some("OAUTHBEARER") => {
            let settings = &ctx.state.settings;
            let now_secs = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let principal = OAuthBearer::decode(&request.auth_bytes).ok().and_then(|m| {
                let token = m.token().expose();
                if let Some(user) = settings.oauth_tokens.get(token) {
                    return Some(user.clone());
                }
                if let Some(principal) =
                    settings.oauth_validator.as_ref().and_then(|v| (v.0)(token))
                {
                    return Some(principal);
                }
                let (key, audience) = settings.oauth_jwt.as_ref()?;
                let claims =
                    ferrokafka_auth::jwt::validate_hs256(token, key, audience, now_secs).ok()?;
                ctx.conn.token_expires_at = Some(
                    std::time::Instant::now()
                        + std::time::Duration::from_secs(claims.expires_at - now_secs),
                );
                Some(claims.subject)
            });
            match principal {
                Some(user) => accept(ctx, user),
                None => fail(
                    code::SASL_AUTHENTICATION_FAILED,
                    "{\"status\":\"invalid_token\"}",
                ),
            }
        }
        _ => fail(
            code::ILLEGAL_SASL_STATE,
            "send SaslHandshake with a mechanism before SaslAuthenticate",
        ),
    }
}

/// Marks the connection authenticated as `user` and answers with an empty
/// final server message (PLAIN and OAUTHBEARER finish in one step).
fn accept(ctx: &mut Ctx<'_>, user: String) -> Handled {
    ctx.conn.authenticated = true;
    ctx.conn.principal = Some(user);
    Handled::Respond(ResponseKind::SaslAuthenticate(
        SaslAuthenticateResponse::default().with_auth_bytes(Bytes::new()),
    ))
}

/// Applies a configured SCRAM misbehaviour to a server message.
fn misbehave(fault: Option<ScramFault>, message: Vec<u8>, finished: bool) -> Vec<u8> {
    let text = String::from_utf8_lossy(&message).into_owned();
    let replaced = match (fault, finished) {
        (Some(ScramFault::BadNonce), false) => {
            // r=<client nonce><server part>,... → a nonce of our own.
            let rest = text.split_once(',').map_or("", |(_, rest)| rest);
            format!("r=not-your-nonce-{},{rest}", fastrand::u64(..))
        }
        (Some(ScramFault::Iterations(n)), false) => text
            .split(',')
            .map(|part| {
                if part.starts_with("i=") {
                    format!("i={n}")
                } else {
                    part.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join(","),
        (Some(ScramFault::BadServerSignature), true) => {
            "v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned()
        }
        _ => text,
    };
    replaced.into_bytes()
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
