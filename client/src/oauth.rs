//! Microsoft Entra ID (OIDC client-credentials) tokens for OAUTHBEARER,
//! fetched over our own rustls HTTPS client.
//!
//! The HTTP exchange is deliberately small: one `POST` per fetch,
//! `Connection: close`, `https://` only, no redirects followed, the body
//! capped at [`MAX_TOKEN_RESPONSE_BYTES`], the whole exchange bounded by a
//! timeout. The answer is classified and the refresh scheduled by the
//! sans-IO [`ferrokafka_auth::entra`] module.

use std::sync::Arc;
use std::time::Instant;

use ferrokafka_auth::entra::{
    classify_response, EntraError, LoginSettings, TokenSchedule, DEFAULT_HTTP_TIMEOUT,
    MAX_TOKEN_RESPONSE_BYTES,
};
use ferrokafka_auth::tls::{PemSource, TlsError, TlsSettings};
use ferrokafka_auth::token::{
    BearerToken, EntraClientCredentials, TokenError, TokenFuture, TokenProvider,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Fetches tried for one `token()` call when no valid token is cached.
const ATTEMPTS: u32 = 5;

/// Tokens from Entra ID, cached and refreshed at about 80% of their
/// lifetime; the cached token stays in use while the identity provider is
/// unavailable; 4xx answers are reported (with the AADSTS code and the
/// setting to check), not retried.
pub struct EntraTokenProvider {
    credentials: EntraClientCredentials,
    tls: Arc<tokio_rustls::rustls::ClientConfig>,
    settings: LoginSettings,
    schedule: tokio::sync::Mutex<TokenSchedule>,
}

impl std::fmt::Debug for EntraTokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntraTokenProvider")
            .field("credentials", &self.credentials)
            .finish_non_exhaustive()
    }
}

impl EntraTokenProvider {
    /// A provider trusting the PEM CA certificates in `ca` (the webpki
    /// roots when `None`); host names are verified, client certificates
    /// are not sent.
    pub fn new(
        credentials: EntraClientCredentials,
        ca: Option<PemSource>,
    ) -> Result<Self, TlsError> {
        let trust = TlsSettings {
            ca,
            ..TlsSettings::default()
        };
        Ok(EntraTokenProvider {
            credentials,
            tls: trust.client_config()?,
            settings: LoginSettings::default(),
            schedule: tokio::sync::Mutex::new(TokenSchedule::new(Instant::now())),
        })
    }

    /// Refreshes, retries and times out as `settings` (the
    /// `sasl.login.*` keys) say.
    pub fn with_login_settings(mut self, settings: LoginSettings) -> Self {
        self.settings = settings;
        self.schedule =
            tokio::sync::Mutex::new(TokenSchedule::with_settings(Instant::now(), settings));
        self
    }

    async fn fetch(&self) -> Result<BearerToken, EntraError> {
        let body = self.credentials.token_request_body();
        let connect_timeout = self
            .settings
            .connect_timeout
            .unwrap_or(DEFAULT_HTTP_TIMEOUT);
        let read_timeout = self.settings.read_timeout.unwrap_or(DEFAULT_HTTP_TIMEOUT);
        let stream = tokio::time::timeout(
            connect_timeout,
            connect(&self.credentials.token_endpoint, &self.tls),
        )
        .await
        .map_err(|_| {
            EntraError::Unreachable(format!(
                "no TCP/TLS connection within {connect_timeout:?} (sasl.login.connect.timeout.ms)"
            ))
        })??;
        let (status, retry_after, location, response) = tokio::time::timeout(
            read_timeout,
            post(stream, &self.credentials.token_endpoint, &body),
        )
        .await
        .map_err(|_| {
            EntraError::Unreachable(format!(
                "no answer within {read_timeout:?} (sasl.login.read.timeout.ms)"
            ))
        })??;
        classify_response(
            status,
            retry_after.as_deref(),
            location.as_deref(),
            &response,
            &self.credentials.client_secret,
        )
    }
}

impl TokenProvider for EntraTokenProvider {
    fn token(&self) -> TokenFuture<'_> {
        Box::pin(async move {
            let mut schedule = self.schedule.lock().await;
            let mut last = None;
            for _ in 0..ATTEMPTS {
                let now = Instant::now();
                if !schedule.fetch_due(now) {
                    if let Some(token) = schedule.token(now) {
                        return Ok(token.clone());
                    }
                    tokio::time::sleep_until(schedule.next_fetch().into()).await;
                }
                match self.fetch().await {
                    Ok(token) => {
                        tracing::debug!(lifetime = ?token.lifetime, "fetched an OAUTHBEARER token from the token endpoint");
                        schedule.on_token(token.clone(), Instant::now(), fastrand::f64());
                        return Ok(token);
                    }
                    Err(error) => {
                        tracing::warn!(%error, "OAUTHBEARER token fetch failed");
                        schedule
                            .on_failure(error.clone(), Instant::now())
                            .map_err(|e| TokenError::Provider(e.to_string()))?;
                        // The identity provider is down: keep using the
                        // token we have while it is valid.
                        if let Some(token) = schedule.token(Instant::now()) {
                            return Ok(token.clone());
                        }
                        last = Some(error);
                    }
                }
            }
            Err(TokenError::Unavailable(format!(
                "no token after {ATTEMPTS} tries: {}",
                last.map(|e| e.to_string()).unwrap_or_default()
            )))
        })
    }
}

type HttpAnswer = (u16, Option<String>, Option<String>, Vec<u8>);

type TlsStream = tokio_rustls::client::TlsStream<tokio::net::TcpStream>;

/// The authority (`host[:port]`) and path of an `https://` URL.
fn split_url(url: &str) -> Result<(&str, &str), EntraError> {
    let rest = url.strip_prefix("https://").ok_or_else(|| {
        EntraError::Unreachable("the token endpoint is not an https:// URL".to_owned())
    })?;
    Ok(match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    })
}

/// TCP and TLS to the token endpoint's host.
async fn connect(
    url: &str,
    tls: &Arc<tokio_rustls::rustls::ClientConfig>,
) -> Result<TlsStream, EntraError> {
    let unreachable = |what: &str| EntraError::Unreachable(what.to_owned());
    let (authority, _) = split_url(url)?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
            h.trim_start_matches('[').trim_end_matches(']'),
            p.parse::<u16>()
                .map_err(|_| unreachable("bad port in the token endpoint URL"))?,
        ),
        _ => (authority, 443),
    };
    let tcp = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| EntraError::Unreachable(format!("{host}:{port}: {e}")))?;
    let name = tokio_rustls::rustls::pki_types::ServerName::try_from(host.to_owned())
        .map_err(|_| unreachable("the token endpoint host is not a valid TLS name"))?;
    tokio_rustls::TlsConnector::from(Arc::clone(tls))
        .connect(name, tcp)
        .await
        .map_err(|e| {
            let tls = e
                .get_ref()
                .and_then(|i| i.downcast_ref::<tokio_rustls::rustls::Error>())
                .map(ferrokafka_auth::tls::explain);
            EntraError::Unreachable(format!(
                "TLS to {host}: {}",
                tls.unwrap_or_else(|| e.to_string())
            ))
        })
}

/// One `POST` of a form body over `stream`; returns status,
/// `Retry-After`, `Location` and the (de-chunked) body.
async fn post(mut stream: TlsStream, url: &str, body: &str) -> Result<HttpAnswer, EntraError> {
    let (authority, path) = split_url(url)?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\nContent-Length: {}\r\nConnection: close\r\nUser-Agent: ferrokafka\r\n\r\n",
        body.len()
    );
    let mut request = zeroize::Zeroizing::new(head.into_bytes());
    request.extend_from_slice(body.as_bytes());
    stream
        .write_all(&request)
        .await
        .map_err(|e| EntraError::Unreachable(e.to_string()))?;
    let limit = MAX_TOKEN_RESPONSE_BYTES + 64 * 1024;
    let mut answer = Vec::with_capacity(8192);
    let mut chunk = [0u8; 16 * 1024];
    loop {
        match stream.read(&mut chunk).await {
            Ok(0) => break,
            Ok(n) => {
                answer.extend_from_slice(&chunk[..n]);
                if answer.len() > limit {
                    return Err(EntraError::TooLarge {
                        limit: MAX_TOKEN_RESPONSE_BYTES,
                    });
                }
            }
            // Servers often close without TLS close_notify.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !answer.is_empty() => break,
            Err(e) => return Err(EntraError::Unreachable(e.to_string())),
        }
    }
    parse_http(&answer)
}

fn parse_http(answer: &[u8]) -> Result<HttpAnswer, EntraError> {
    let malformed = |what: &str| EntraError::Malformed(format!("HTTP answer: {what}"));
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| malformed("no end of headers"))?;
    let head =
        std::str::from_utf8(&answer[..end]).map_err(|_| malformed("headers are not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status: u16 = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| malformed("bad status line"))?;
    let (mut retry_after, mut location, mut chunked, mut length) = (None, None, false, None);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "retry-after" => retry_after = Some(value.to_owned()),
            "location" => location = Some(value.to_owned()),
            "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
            "content-length" => length = value.parse::<usize>().ok(),
            _ => {}
        }
    }
    let raw = &answer[end + 4..];
    let body = if chunked {
        dechunk(raw).ok_or_else(|| malformed("bad chunked encoding"))?
    } else {
        match length {
            Some(n) if n <= raw.len() => raw[..n].to_vec(),
            Some(_) => return Err(malformed("body shorter than Content-Length")),
            None => raw.to_vec(),
        }
    };
    Ok((status, retry_after, location, body))
}

fn dechunk(mut raw: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = raw.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&raw[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if raw.len() < size + 2 || out.len() + size > MAX_TOKEN_RESPONSE_BYTES + 1 {
            return None;
        }
        out.extend_from_slice(&raw[..size]);
        raw = &raw[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_chunked_answers() {
        let (status, retry, _, body) =
            parse_http(b"HTTP/1.1 429 Too Many\r\nRetry-After: 3\r\nContent-Length: 2\r\n\r\n{}")
                .unwrap();
        assert_eq!(
            (status, retry.as_deref(), &body[..]),
            (429, Some("3"), &b"{}"[..])
        );
        let (_, _, _, body) = parse_http(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(body, b"abcde");
        assert!(parse_http(b"garbage").is_err());
    }
}
