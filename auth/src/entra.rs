//! Microsoft Entra ID client credentials, sans-IO: the token request, the
//! classification of the identity provider's answer, and the refresh
//! schedule. The HTTP exchange lives in the client's `oauth` module.
//!
//! What the pieces guarantee:
//! - [`classify_response`] turns a token-endpoint answer into a token or
//!   an [`EntraError`]: 5xx and 429 are retriable (honouring
//!   `Retry-After` in seconds or as an HTTP-date, capped at
//!   [`MAX_RETRY_AFTER`]), other 4xx are not and name Entra's `AADSTS` code and
//!   the setting it points to; redirects, oversized and malformed bodies
//!   are refused. Text from the endpoint reaches an error only as a short
//!   excerpt passed through a [`Scrubber`], so the client secret never
//!   appears in one, in any encoding (an endpoint may quote the
//!   form-encoded request body back).
//! - [`EntraError::Unusable`]: a token endpoint that cannot be used as
//!   configured (certificate not trusted, nothing listening, not TLS) is
//!   reported at once, naming the endpoint and the setting to fix, not
//!   retried.
//! - [`TokenSchedule`] refreshes at about 80% of a token's lifetime with
//!   jitter, keeps the old token while the identity provider is down, and
//!   backs off exponentially (at least `Retry-After`).

use std::time::{Duration, Instant, SystemTime};

use zeroize::Zeroizing;

use crate::redact::{form_encode, redact_url, Scrubber};
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
    /// The endpoint could not be reached for now (timeout, network
    /// error): retried.
    #[error("the token endpoint could not be reached: {0}")]
    Unreachable(String),
    /// The endpoint cannot be used as configured, and retrying will not
    /// change that: its certificate is not trusted (or names another host,
    /// or expired), nothing listens on its port, the port does not speak
    /// TLS, its host does not resolve.
    #[error("cannot use the token endpoint {endpoint}: {reason}; {fix}")]
    Unusable {
        /// The token endpoint URL ([`redact_url`]ed).
        endpoint: String,
        /// What went wrong.
        reason: String,
        /// What to change, naming the setting.
        fix: String,
    },
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

impl EntraClientCredentials {
    /// The [`Scrubber`] for text from the token endpoint: removes the
    /// client secret (and the `client_id:secret` pair of HTTP Basic) in
    /// every encoding.
    pub fn scrubber(&self) -> Scrubber {
        Scrubber::new().basic_credentials(&self.client_id, &self.client_secret)
    }

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

/// The longest wait a `Retry-After` header can impose: an identity
/// provider asking for more is retried after this anyway (the cached token
/// stays in use meanwhile).
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(300);

/// Reads a `Retry-After` value (RFC 9110 §10.2.3): delta-seconds
/// (`120`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`, and the
/// obsolete RFC 850 and asctime forms), relative to `now`. The wait is
/// capped at [`MAX_RETRY_AFTER`]; a date in the past means no wait;
/// anything else unreadable is `None` (the usual backoff applies).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Longer than u64 seconds is still "a long time".
        Duration::from_secs(value.parse::<u64>().unwrap_or(u64::MAX))
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

/// Classifies a token-endpoint answer. Text from the answer makes it
/// into an error only as a [`Scrubber::excerpt`] (every secret of
/// `scrubber` removed, in every encoding; redirect targets also
/// [`redact_url`]ed).
pub fn classify_response(
    status: u16,
    retry_after: Option<&str>,
    location: Option<&str>,
    body: &[u8],
    scrubber: &Scrubber,
) -> Result<BearerToken, EntraError> {
    if (300..400).contains(&status) {
        return Err(EntraError::Redirect {
            status,
            location: scrubber.excerpt(&redact_url(&scrubber.scrub(location.unwrap_or("")))),
        });
    }
    if status == 429 || status >= 500 {
        return Err(EntraError::Unavailable {
            status,
            retry_after: retry_after.and_then(|v| parse_retry_after(v, SystemTime::now())),
        });
    }
    if body.len() > MAX_TOKEN_RESPONSE_BYTES {
        return Err(EntraError::TooLarge {
            limit: MAX_TOKEN_RESPONSE_BYTES,
        });
    }
    let json: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        let error = scrubber.scrub(&e.to_string());
        EntraError::Malformed(if (200..300).contains(&status) {
            // A success body may hold a token: none of it is shown.
            format!("not JSON (HTTP {status}): {error}")
        } else {
            format!(
                "not JSON (HTTP {status}): {error}; the answer begins: {:?}",
                scrubber.excerpt(&String::from_utf8_lossy(body))
            )
        })
    })?;
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
            description: scrubber.excerpt(description),
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

/// How tokens are refreshed and fetched: the Java client's `sasl.login.*`
/// settings. [`Default`] gives Java's refresh defaults and ferrokafka's
/// retry backoff (500 ms doubling to 60 s; Java's is 100 ms to 10 s).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LoginSettings {
    /// `sasl.login.refresh.window.factor` (0.5..=1.0, default 0.8): refresh
    /// after this fraction of the token's lifetime...
    pub refresh_window_factor: f64,
    /// `sasl.login.refresh.window.jitter` (0..=0.25, default 0.05): ...plus
    /// up to this fraction more, at random, so clients do not refresh at once.
    pub refresh_window_jitter: f64,
    /// `sasl.login.refresh.min.period.seconds` (0..=900, default 60): the
    /// least time between a fetch and the next refresh...
    pub refresh_min_period: Duration,
    /// `sasl.login.refresh.buffer.seconds` (0..=3600, default 300): ...and
    /// the least time left on the token when it is refreshed. Both are
    /// ignored for tokens too short-lived to honour them together.
    pub refresh_buffer: Duration,
    /// `sasl.login.connect.timeout.ms`: reaching the token endpoint (TCP
    /// and TLS); `None`: [`DEFAULT_HTTP_TIMEOUT`].
    pub connect_timeout: Option<Duration>,
    /// `sasl.login.read.timeout.ms`: sending the request and reading the
    /// answer; `None`: [`DEFAULT_HTTP_TIMEOUT`].
    pub read_timeout: Option<Duration>,
    /// `sasl.login.retry.backoff.ms`: the first wait after a failed fetch;
    /// doubles up to...
    pub retry_backoff: Duration,
    /// `sasl.login.retry.backoff.max.ms`: ...this.
    pub retry_backoff_max: Duration,
}

impl Eq for LoginSettings {} // The factors are validated finite numbers.

impl Default for LoginSettings {
    fn default() -> Self {
        LoginSettings {
            refresh_window_factor: 0.8,
            refresh_window_jitter: 0.05,
            refresh_min_period: Duration::from_secs(60),
            refresh_buffer: Duration::from_secs(300),
            connect_timeout: None,
            read_timeout: None,
            retry_backoff: FIRST_BACKOFF,
            retry_backoff_max: MAX_BACKOFF,
        }
    }
}

/// The timeout of each half of a token request (connecting; sending and
/// reading) when `sasl.login.*.timeout.ms` is not set.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(30);

impl LoginSettings {
    /// When to refresh a token of `lifetime`, counted from its arrival;
    /// `random` in 0..1 picks the jitter. Java's rule: the window factor
    /// plus jitter, then at least the minimum period after the fetch and at
    /// least the buffer before expiry, when the lifetime leaves room for
    /// both; never after expiry.
    pub fn refresh_after(&self, lifetime: Duration, random: f64) -> Duration {
        let fraction =
            self.refresh_window_factor + self.refresh_window_jitter * random.clamp(0.0, 1.0);
        let mut refresh = lifetime.mul_f64(fraction).min(lifetime);
        if lifetime >= self.refresh_min_period + self.refresh_buffer {
            refresh = refresh
                .max(self.refresh_min_period)
                .min(lifetime - self.refresh_buffer);
        }
        refresh
    }
}

/// When to fetch the next token, sans-IO (the caller passes the time).
#[derive(Debug)]
pub struct TokenSchedule {
    current: Option<(BearerToken, Instant)>,
    next_fetch: Instant,
    failures: u32,
    settings: LoginSettings,
}

/// The default first wait after a failure; doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The default longest wait between failed fetches.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

impl TokenSchedule {
    /// Nothing fetched yet: fetch now. Default [`LoginSettings`].
    pub fn new(now: Instant) -> Self {
        Self::with_settings(now, LoginSettings::default())
    }

    /// Nothing fetched yet: fetch now, then refresh and back off as
    /// `settings` say.
    pub fn with_settings(now: Instant, settings: LoginSettings) -> Self {
        TokenSchedule {
            current: None,
            next_fetch: now,
            failures: 0,
            settings,
        }
    }

    /// A token arrived at `now`: refresh as
    /// [`LoginSettings::refresh_after`] says (by default at 80–85% of its
    /// lifetime; `jitter` in 0..1 picks where), so many clients do not
    /// refresh at once.
    pub fn on_token(&mut self, token: BearerToken, now: Instant, jitter: f64) {
        let lifetime = token.lifetime.unwrap_or(Duration::from_secs(3600));
        let expires = now + lifetime;
        self.next_fetch = now + self.settings.refresh_after(lifetime, jitter);
        self.current = Some((token, expires));
        self.failures = 0;
    }

    /// A fetch failed at `now`. Returns the error back when it is not
    /// retriable and no valid token is cached (the caller reports it at
    /// once); otherwise schedules a retry with backoff, and the cached
    /// token, if any, stays in use meanwhile (an endpoint restarting or
    /// refusing a rotated secret does not break connections while the last
    /// token is valid).
    pub fn on_failure(&mut self, error: EntraError, now: Instant) -> Result<(), EntraError> {
        if !error.is_retriable() && self.token(now).is_none() {
            return Err(error);
        }
        self.failures = self.failures.saturating_add(1);
        let exponent = self.failures.saturating_sub(1).min(16);
        let backoff = self
            .settings
            .retry_backoff
            .saturating_mul(1 << exponent)
            .min(self.settings.retry_backoff_max);
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

    fn scrubber() -> Scrubber {
        Scrubber::new().secret(&Secret::new("s3cr3t+/="))
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
            &scrubber(),
        )
        .unwrap();
        assert_eq!(ok.value.expose(), "eyJ.a.b");
        assert_eq!(ok.lifetime, Some(Duration::from_secs(3599)));
        let v1 = classify_response(
            200,
            None,
            None,
            br#"{"expires_in":"60","access_token":"t"}"#,
            &scrubber(),
        )
        .unwrap();
        assert_eq!(v1.lifetime, Some(Duration::from_secs(60)));

        let e = classify_response(500, None, None, b"oops", &scrubber()).unwrap_err();
        assert!(e.is_retriable(), "{e}");
        let e = classify_response(429, Some("7"), None, b"", &scrubber()).unwrap_err();
        assert_eq!(
            e,
            EntraError::Unavailable {
                status: 429,
                retry_after: Some(Duration::from_secs(7))
            }
        );

        let bad_secret = br#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent is s3cr3t+/= the client secret value.\r\nTrace ID: x","error_codes":[7000215]}"#;
        let e = classify_response(401, None, None, bad_secret, &scrubber()).unwrap_err();
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
        let e = classify_response(400, None, None, bad_tenant, &scrubber()).unwrap_err();
        assert!(
            matches!(e, EntraError::Rejected { aadsts: Some(90002), setting: Some(s), .. } if s.contains("tenant")),
            "{e}"
        );

        for body in [
            &b"<html>"[..],
            b"{\"expires_in\":5}",
            b"{\"access_token\":\"t\"}",
        ] {
            let e = classify_response(200, None, None, body, &scrubber()).unwrap_err();
            assert!(matches!(e, EntraError::Malformed(_)), "{e}");
        }
        let huge = vec![b' '; 10 * 1024 * 1024];
        assert_eq!(
            classify_response(200, None, None, &huge, &scrubber()).unwrap_err(),
            EntraError::TooLarge {
                limit: MAX_TOKEN_RESPONSE_BYTES
            }
        );
        let e = classify_response(
            302,
            None,
            Some("https://evil.example/steal"),
            b"",
            &scrubber(),
        )
        .unwrap_err();
        assert!(
            matches!(e, EntraError::Redirect { .. }) && !e.is_retriable(),
            "{e}"
        );
    }

    #[test]
    fn login_settings_shape_refresh_and_backoff() {
        let java = LoginSettings::default();
        let hour = Duration::from_secs(3600);
        // An hour-long Entra token: 80% (+ up to 5%).
        assert_eq!(java.refresh_after(hour, 0.0), Duration::from_secs(2880));
        assert_eq!(java.refresh_after(hour, 1.0), Duration::from_secs(3060));
        let late = LoginSettings {
            refresh_window_factor: 1.0,
            refresh_window_jitter: 0.25,
            ..java
        };
        // The buffer keeps 300 s of the token when it is refreshed...
        assert_eq!(late.refresh_after(hour, 1.0), Duration::from_secs(3300));
        // ...and the minimum period holds off an early refresh.
        let early = LoginSettings {
            refresh_window_factor: 0.5,
            refresh_window_jitter: 0.0,
            refresh_min_period: Duration::from_secs(900),
            refresh_buffer: Duration::ZERO,
            ..java
        };
        assert_eq!(
            early.refresh_after(Duration::from_secs(1000), 0.0),
            Duration::from_secs(900)
        );
        // Too short for both: the fraction alone, capped at the lifetime.
        assert_eq!(
            late.refresh_after(Duration::from_secs(100), 1.0),
            Duration::from_secs(100)
        );

        // The backoff knobs replace the defaults.
        let t0 = Instant::now();
        let mut s = TokenSchedule::with_settings(
            t0,
            LoginSettings {
                retry_backoff: Duration::from_millis(100),
                retry_backoff_max: Duration::from_millis(250),
                ..java
            },
        );
        let down = || EntraError::Unreachable("down".into());
        s.on_failure(down(), t0).unwrap();
        assert_eq!(s.next_fetch(), t0 + Duration::from_millis(100));
        s.on_failure(down(), t0).unwrap();
        assert_eq!(s.next_fetch(), t0 + Duration::from_millis(200));
        s.on_failure(down(), t0).unwrap();
        assert_eq!(s.next_fetch(), t0 + Duration::from_millis(250));
        // A token resets the backoff and uses the refresh settings.
        s.on_token(
            BearerToken {
                value: Secret::new("t"),
                lifetime: Some(hour),
            },
            t0,
            0.0,
        );
        assert_eq!(s.next_fetch(), t0 + Duration::from_secs(2880));
    }

    #[test]
    fn retry_after_in_seconds_or_as_an_http_date() {
        // RFC 9110's example date, and "now" 90 s before it.
        let date = "Wed, 21 Oct 2015 07:28:00 GMT";
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let now = at - Duration::from_secs(90);
        assert_eq!(parse_retry_after(date, now), Some(Duration::from_secs(90)));
        // The obsolete forms RFC 9110 still requires recipients to accept.
        for obsolete in [
            "Wednesday, 21-Oct-15 07:28:00 GMT",
            "Wed Oct 21 07:28:00 2015",
        ] {
            assert_eq!(
                parse_retry_after(obsolete, now),
                Some(Duration::from_secs(90)),
                "{obsolete}"
            );
        }
        // A date already past: retry now.
        assert_eq!(
            parse_retry_after(date, at + Duration::from_secs(5)),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after(" 7 ", now), Some(Duration::from_secs(7)));
        // Capped, in both forms.
        assert_eq!(parse_retry_after("86400", now), Some(MAX_RETRY_AFTER));
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(MAX_RETRY_AFTER)
        );
        assert_eq!(
            parse_retry_after(date, at - Duration::from_secs(86_400)),
            Some(MAX_RETRY_AFTER)
        );
        for junk in ["", "soon", "-5", "1.5", "Wed, 32 Oct 2015 07:28:00 GMT"] {
            assert_eq!(parse_retry_after(junk, now), None, "{junk:?}");
        }
        // Through the classifier: a 503 with a date a minute ahead waits
        // about that long (the classifier reads the clock itself).
        let soon = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(61));
        let e = classify_response(503, Some(&soon), None, b"", &scrubber()).unwrap_err();
        let EntraError::Unavailable {
            retry_after: Some(wait),
            ..
        } = e
        else {
            panic!("{e:?}")
        };
        assert!(
            wait > Duration::from_secs(50) && wait <= Duration::from_secs(61),
            "{wait:?}"
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
        // 80% plus all of the 5% jitter (too short-lived for the minimum
        // period and buffer).
        assert_eq!(s.next_fetch(), t0 + Duration::from_secs(85));
        let t1 = t0 + Duration::from_secs(86);
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
        // A 4xx or an unusable endpoint while the token is valid: the
        // token stays in use and the fetch is retried later...
        let rejected = EntraError::Rejected {
            status: 400,
            aadsts: Some(90002),
            setting: aadsts_setting(90002),
            description: String::new(),
        };
        let unusable = EntraError::Unusable {
            endpoint: "https://idp.example/t".into(),
            reason: "connection refused".into(),
            fix: "check sasl.oauthbearer.token.endpoint.url".into(),
        };
        assert!(!unusable.is_retriable());
        s.on_failure(rejected.clone(), t1).unwrap();
        s.on_failure(unusable.clone(), t1).unwrap();
        assert_eq!(s.token(t1).unwrap().value.expose(), "a");
        assert!(s.next_fetch() > t1);
        // ...without one, it is handed back at once, not scheduled.
        let t2 = t0 + Duration::from_secs(100);
        let before = s.next_fetch();
        assert_eq!(s.on_failure(rejected.clone(), t2), Err(rejected));
        assert_eq!(s.on_failure(unusable.clone(), t2), Err(unusable));
        assert_eq!(s.next_fetch(), before);
    }

    #[test]
    fn text_from_the_endpoint_is_excerpted_and_scrubbed() {
        let jaas = crate::jaas::JaasConfig::parse(
            r#"x.OAuthBearerLoginModule required clientId="app" clientSecret="s3cr3t +/=&%é";"#,
        )
        .unwrap();
        let e = EntraClientCredentials::from_java(&jaas, "https://idp.example/t/token").unwrap();
        let scrubber = e.scrubber();
        let body = e.token_request_body();
        assert!(
            body.contains("client_secret=s3cr3t+%2B%2F%3D%26%25%C3%A9"),
            "{}",
            &*body
        );
        let form = "s3cr3t+%2B%2F%3D%26%25%C3%A9";
        let lower = "s3cr3t%20%2b%2f%3d%26%25%c3%a9";
        // An endpoint quoting the request body, in the description, in
        // `error`, in a redirect, in an error page that is not JSON.
        let quoted = format!(
            r#"{{"error_description":"AADSTS900144: got {}, {lower}"}}"#,
            &*body
        );
        let error_only = format!(r#"{{"error":"bad {form}"}}"#);
        let page = format!("<html><body>400: {}</body></html>", &*body);
        let location = format!("https://u:{form}@evil.example/cb?echo={form}");
        let errors = [
            classify_response(400, None, None, quoted.as_bytes(), &scrubber),
            classify_response(401, None, None, error_only.as_bytes(), &scrubber),
            classify_response(400, None, None, page.as_bytes(), &scrubber),
            classify_response(302, None, Some(&location), b"", &scrubber),
        ];
        for error in errors {
            let text = format!("{} {:?}", error.as_ref().unwrap_err(), error);
            assert!(!text.contains("s3cr3t"), "{text}");
            assert!(text.contains(crate::redact::REDACTED), "{text}");
            // Short: an excerpt, not the whole answer.
            assert!(
                text.len() < 2 * (crate::redact::EXCERPT_CHARS + 300),
                "{text}"
            );
        }
        // A success body that is not JSON may hold a token: none of it shows.
        let err = classify_response(200, None, None, b"access_token=eyJ.secret-token", &scrubber)
            .unwrap_err();
        assert!(!err.to_string().contains("eyJ"), "{err}");
    }
}
