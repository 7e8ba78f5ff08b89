//! Microsoft Entra ID client credentials, sans-IO: the token request, the
//! classification of the identity provider's answer, and the refresh
//! schedule. The HTTP exchange itself is not implemented yet, so nothing
//! here is wired into connections (the client refuses an Entra
//! configuration with a typed "not implemented yet" error).
//!
//! What the pieces guarantee:
//! - [`classify_response`] turns a token-endpoint answer into a token or
//!   an [`EntraError`]: 5xx and 429 are retriable (honouring
//!   `Retry-After`), other 4xx are not and name Entra's `AADSTS` code and
//!   the setting it points to; redirects, oversized and malformed bodies
//!   are refused; the client secret never appears in an error.
//! - [`TokenSchedule`] refreshes at about 80% of a token's lifetime with
//!   jitter, keeps the old token while the identity provider is down, and
//!   backs off exponentially (at least `Retry-After`).

use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use crate::token::{BearerToken, EntraClientCredentials};
use crate::Secret;

/// The largest token response read (a JWT answer is a few KiB).
pub const MAX_TOKEN_RESPONSE_BYTES: usize = 1 << 20;

/// Why no token came back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntraError {
    /// The identity provider refused the request (4xx other than 429):
    /// retrying will not help.
    #[error("the token endpoint refused the request (HTTP {status}){}: {description}{}", aadsts.map(|c| format!(", AADSTS{c}")).unwrap_or_default(), setting.map(|s| format!(" — check {s}")).unwrap_or_default())]
    Rejected {
        /// HTTP status.
        status: u16,
        /// Entra's AADSTS code, when the answer carries one.
        aadsts: Option<u32>,
        /// The setting the code points to.
        setting: Option<&'static str>,
        /// Entra's description (truncated; the secret removed).
        description: String,
    },
    /// The identity provider is unavailable or throttling (5xx, 429):
    /// retry after the delay.
    #[error("the token endpoint is unavailable (HTTP {status}); retrying{}", retry_after.map(|d| format!(" after {d:?} (Retry-After)")).unwrap_or_default())]
    Unavailable {
        /// HTTP status.
        status: u16,
        /// The server's `Retry-After`, when given.
        retry_after: Option<Duration>,
    },
    /// A redirect: refused, tokens are only fetched from the configured URL.
    #[error("the token endpoint answered with a redirect (HTTP {status}) to {location:?}; redirects are not followed (set sasl.oauthbearer.token.endpoint.url to the final URL)")]
    Redirect {
        /// HTTP status.
        status: u16,
        /// Where it pointed.
        location: String,
    },
    /// The body exceeded [`MAX_TOKEN_RESPONSE_BYTES`].
    #[error("the token response is larger than {limit} bytes; refused")]
    TooLarge {
        /// The limit.
        limit: usize,
    },
    /// The endpoint could not be reached (DNS, TCP, TLS, timeout): retried.
    #[error("the token endpoint could not be reached: {0}")]
    Unreachable(String),
    /// The body is not the JSON a token endpoint returns.
    #[error("malformed token response: {0}")]
    Malformed(String),
}

impl EntraError {
    /// Whether a later try may succeed.
    pub fn is_retriable(&self) -> bool {
        matches!(
            self,
            EntraError::Unavailable { .. } | EntraError::Unreachable(_)
        )
    }
}

/// Which setting an AADSTS code points to.
pub fn aadsts_setting(code: u32) -> Option<&'static str> {
    Some(match code {
        7000215 | 7000222 | 7000218 | 7000216 => "the client secret (clientSecret in sasl.jaas.config; it may be wrong or expired)",
        700016 | 700038 | 90038 => "the client id (clientId in sasl.jaas.config) and that the app is registered in this tenant",
        90002 | 900023 | 90013 | 900021 => "the tenant (the path of sasl.oauthbearer.token.endpoint.url)",
        70011 | 500011 | 1002012 | 28002 => "the scope (scope in sasl.jaas.config, e.g. https://<namespace>.servicebus.windows.net/.default)",
        _ => return None,
    })
}

fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

impl EntraClientCredentials {
    /// The `application/x-www-form-urlencoded` body of the
    /// client-credentials request (credentials in the body, as Entra
    /// documents).
    pub fn token_request_body(&self) -> Zeroizing<String> {
        let mut body = format!(
            "grant_type=client_credentials&client_id={}&client_secret={}",
            form_encode(&self.client_id),
            form_encode(self.client_secret.expose())
        );
        if let Some(scope) = &self.scope {
            body.push_str("&scope=");
            body.push_str(&form_encode(scope));
        }
        Zeroizing::new(body)
    }
}

fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?
        .trim()
        .parse::<u64>()
        .ok()
        .map(|s| Duration::from_secs(s.min(3600)))
}

/// Classifies a token-endpoint answer. `secret` is removed from any
/// text that makes it into an error.
pub fn classify_response(
    status: u16,
    retry_after: Option<&str>,
    location: Option<&str>,
    body: &[u8],
    secret: &Secret,
) -> Result<BearerToken, EntraError> {
    if (300..400).contains(&status) {
        return Err(EntraError::Redirect {
            status,
            location: location.unwrap_or("").chars().take(200).collect(),
        });
    }
    if status == 429 || status >= 500 {
        return Err(EntraError::Unavailable {
            status,
            retry_after: parse_retry_after(retry_after),
        });
    }
    if body.len() > MAX_TOKEN_RESPONSE_BYTES {
        return Err(EntraError::TooLarge {
            limit: MAX_TOKEN_RESPONSE_BYTES,
        });
    }
    let scrub = |text: &str| -> String {
        let text: String = text.chars().take(400).collect();
        if secret.is_empty() {
            text
        } else {
            text.replace(secret.expose(), "<redacted>")
        }
    };
    let json: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| EntraError::Malformed(format!("not JSON (HTTP {status}): {e}")))?;
    if !(200..300).contains(&status) {
        let description = json
            .get("error_description")
            .and_then(|v| v.as_str())
            .or_else(|| json.get("error").and_then(|v| v.as_str()))
            .unwrap_or("no error description");
        let aadsts = json
            .get("error_codes")
            .and_then(|v| v.as_array())
            .and_then(|codes| codes.first())
            .and_then(|c| c.as_u64())
            .map(|c| c as u32)
            .or_else(|| {
                let rest = description.split("AADSTS").nth(1)?;
                rest.chars()
                    .take_while(char::is_ascii_digit)
                    .collect::<String>()
                    .parse()
                    .ok()
            });
        return Err(EntraError::Rejected {
            status,
            aadsts,
            setting: aadsts.and_then(aadsts_setting),
            description: scrub(description.lines().next().unwrap_or_default()),
        });
    }
    let token = json
        .get("access_token")
        .and_then(|v| v.as_str())
        .filter(|t| !t.is_empty())
        .ok_or_else(|| EntraError::Malformed("no access_token".to_owned()))?;
    // Entra's v1 endpoint sends expires_in as a string.
    let expires_in = match json.get("expires_in") {
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| EntraError::Malformed("no numeric expires_in".to_owned()))?;
    Ok(BearerToken {
        value: Secret::new(token),
        lifetime: Some(Duration::from_secs(expires_in)),
    })
}

/// When to fetch the next token, sans-IO (the caller passes the time).
#[derive(Debug)]
pub struct TokenSchedule {
    current: Option<(BearerToken, Instant)>,
    next_fetch: Instant,
    failures: u32,
}

/// The first wait after a failure; doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between failed fetches.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl TokenSchedule {
    /// Nothing fetched yet: fetch now.
    pub fn new(now: Instant) -> Self {
        TokenSchedule {
            current: None,
            next_fetch: now,
            failures: 0,
        }
    }

    /// A token arrived at `now`: refresh at 80% of its lifetime minus up
    /// to 5% jitter (`jitter` in 0..1), so many clients do not refresh at
    /// once.
    pub fn on_token(&mut self, token: BearerToken, now: Instant, jitter: f64) {
        let lifetime = token.lifetime.unwrap_or(Duration::from_secs(3600));
        let expires = now + lifetime;
        let refresh = lifetime
            .mul_f64(0.8)
            .saturating_sub(lifetime.mul_f64(0.05 * jitter.clamp(0.0, 1.0)));
        self.next_fetch = now + refresh;
        self.current = Some((token, expires));
        self.failures = 0;
    }

    /// A fetch failed at `now`. Returns the error back when it is not
    /// retriable (the caller reports it); otherwise schedules a retry.
    pub fn on_failure(&mut self, error: EntraError, now: Instant) -> Result<(), EntraError> {
        if !error.is_retriable() {
            return Err(error);
        }
        self.failures = self.failures.saturating_add(1);
        let exponent = self.failures.saturating_sub(1).min(16);
        let backoff = FIRST_BACKOFF.saturating_mul(1 << exponent).min(MAX_BACKOFF);
        let wait = match &error {
            EntraError::Unavailable {
                retry_after: Some(after),
                ..
            } => backoff.max(*after),
            _ => backoff,
        };
        self.next_fetch = now + wait;
        Ok(())
    }

    /// Whether a fetch is due.
    pub fn fetch_due(&self, now: Instant) -> bool {
        now >= self.next_fetch
    }

    /// When the next fetch is due.
    pub fn next_fetch(&self) -> Instant {
        self.next_fetch
    }

    /// The token to use now: the last one fetched, for as long as it has
    /// not expired (also while refreshes fail).
    pub fn token(&self, now: Instant) -> Option<&BearerToken> {
        self.current
            .as_ref()
            .filter(|(_, expires)| now < *expires)
            .map(|(t, _)| t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> Secret {
        Secret::new("s3cr3t+/=")
    }

    #[test]
    fn request_body_is_form_encoded() {
        let jaas = crate::jaas::JaasConfig::parse(
            r#"x.OAuthBearerLoginModule required clientId="app 1" clientSecret="s3cr3t+/=" scope="https://ns.servicebus.windows.net/.default";"#,
        )
        .unwrap();
        let e = EntraClientCredentials::from_java(
            &jaas,
            "https://login.microsoftonline.com/t/oauth2/v2.0/token",
        )
        .unwrap();
        assert_eq!(
            &*e.token_request_body(),
            "grant_type=client_credentials&client_id=app+1&client_secret=s3cr3t%2B%2F%3D&scope=https%3A%2F%2Fns.servicebus.windows.net%2F.default"
        );
    }

    #[test]
    fn the_fault_matrix_is_classified() {
        let ok = classify_response(
            200,
            None,
            None,
            br#"{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ.a.b"}"#,
            &secret(),
        )
        .unwrap();
        assert_eq!(ok.value.expose(), "eyJ.a.b");
        assert_eq!(ok.lifetime, Some(Duration::from_secs(3599)));
        let v1 = classify_response(
            200,
            None,
            None,
            br#"{"expires_in":"60","access_token":"t"}"#,
            &secret(),
        )
        .unwrap();
        assert_eq!(v1.lifetime, Some(Duration::from_secs(60)));

        let e = classify_response(500, None, None, b"oops", &secret()).unwrap_err();
        assert!(e.is_retriable(), "{e}");
        let e = classify_response(429, Some("7"), None, b"", &secret()).unwrap_err();
        assert_eq!(
            e,
            EntraError::Unavailable {
                status: 429,
                retry_after: Some(Duration::from_secs(7))
            }
        );

        let bad_secret = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent is s3cr3t+/= the client secret value.\r\nTrace ID: x","error_codes":[7000215]}"#;
        let e = classify_response(401, None, None, bad_secret, &secret()).unwrap_err();
        assert!(!e.is_retriable());
        let text = e.to_string();
        assert!(
            text.contains("AADSTS7000215") && text.contains("client secret"),
            "{text}"
        );
        assert!(
            !text.contains("s3cr3t") && !text.contains("Trace ID"),
            "{text}"
        );

        let bad_tenant = br#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'nope' not found."}"#;
        let e = classify_response(400, None, None, bad_tenant, &secret()).unwrap_err();
        assert!(
            matches!(e, EntraError::Rejected { aadsts: Some(90002), setting: Some(s), .. } if s.contains("tenant")),
            "{e}"
        );

        for body in [
            &b"<html>"[..],
            b"{\"expires_in\":5}",
            b"{\"access_token\":\"t\"}",
        ] {
            let e = classify_response(200, None, None, body, &secret()).unwrap_err();
            assert!(matches!(e, EntraError::Malformed(_)), "{e}");
        }
        let huge = vec![b' '; 10 * 1024 * 1024];
        assert_eq!(
            classify_response(200, None, None, &huge, &secret()).unwrap_err(),
            EntraError::TooLarge {
                limit: MAX_TOKEN_RESPONSE_BYTES
            }
        );
        let e = classify_response(
            302,
            None,
            Some("https://evil.example/steal"),
            b"",
            &secret(),
        )
        .unwrap_err();
        assert!(
            matches!(e, EntraError::Redirect { .. }) && !e.is_retriable(),
            "{e}"
        );
    }

    #[test]
    fn schedule_refreshes_early_keeps_the_old_token_and_backs_off() {
        let t0 = Instant::now();
        let mut s = TokenSchedule::new(t0);
        assert!(s.fetch_due(t0) && s.token(t0).is_none());
        let token = BearerToken {
            value: Secret::new("a"),
            lifetime: Some(Duration::from_secs(100)),
        };
        s.on_token(token, t0, 1.0);
        // 80% minus 5% jitter.
        assert_eq!(s.next_fetch(), t0 + Duration::from_secs(75));
        let t1 = t0 + Duration::from_secs(80);
        assert!(s.fetch_due(t1));
        // The identity provider is down: the old token stays in use.
        s.on_failure(
            EntraError::Unavailable {
                status: 503,
                retry_after: None,
            },
            t1,
        )
        .unwrap();
        assert_eq!(s.token(t1).unwrap().value.expose(), "a");
        assert_eq!(s.next_fetch(), t1 + FIRST_BACKOFF);
        s.on_failure(
            EntraError::Unavailable {
                status: 503,
                retry_after: None,
            },
            t1,
        )
        .unwrap();
        assert_eq!(s.next_fetch(), t1 + FIRST_BACKOFF * 2);
        // Retry-After wins when longer.
        s.on_failure(
            EntraError::Unavailable {
                status: 429,
                retry_after: Some(Duration::from_secs(30)),
            },
            t1,
        )
        .unwrap();
        assert_eq!(s.next_fetch(), t1 + Duration::from_secs(30));
        // After expiry there is no token to use.
        assert!(s.token(t0 + Duration::from_secs(100)).is_none());
        // A 4xx is handed back, not scheduled.
        let before = s.next_fetch();
        let err = EntraError::Rejected {
            status: 400,
            aadsts: Some(90002),
            setting: aadsts_setting(90002),
            description: String::new(),
        };
        assert!(s.on_failure(err, t1).is_err());
        assert_eq!(s.next_fetch(), before);
    }
}
