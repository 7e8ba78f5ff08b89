//! Microsoft Entra ID (OIDC client-credentials) tokens for OAUTHBEARER,
//! fetched over our own rustls HTTPS client.
//!
//! The HTTP exchange is deliberately small: one `POST` per fetch,
//! `Connection: close`, `https://` only, no redirects followed, the body
//! capped at [`MAX_TOKEN_RESPONSE_BYTES`], the whole exchange bounded by a
//! timeout. The answer is classified and the refresh scheduled by the
//! sans-IO [`ferrokafka_auth::entra`] module.
//!
//! Failures that retrying cannot fix — the endpoint's certificate is not
//! trusted, nothing listens on its port, the port does not speak TLS, its
//! host does not resolve — are reported at once as
//! [`EntraError::Unusable`], naming the endpoint and the setting to fix
//! (for trust: [`TokenEndpointTrust`], what the token client really
//! trusts). Timeouts, other network errors and 5xx/429 answers are retried.
//! Everything the endpoint sends reaches errors and logs only through the
//! credentials' [`Scrubber`], and URLs only [`redact_url`]ed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use ferrokafka_auth::entra::{
    classify_response, EntraError, LoginSettings, TokenSchedule, DEFAULT_HTTP_TIMEOUT,
    MAX_TOKEN_RESPONSE_BYTES,
};
use ferrokafka_auth::redact::{redact_url, Scrubber};
use ferrokafka_auth::tls::{PemSource, TlsError, TlsSettings};
use ferrokafka_auth::token::{
    BearerToken, EntraClientCredentials, TokenError, TokenFuture, TokenProvider,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

/// The key naming the token endpoint URL.
const URL_KEY: &str = crate::config::keys::SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL;
/// The key naming the token endpoint's own CA certificates.
const CA_KEY: &str = crate::config::keys::SASL_OAUTHBEARER_SSL_CA_LOCATION;

/// Which CA certificates the token client trusts for the token endpoint,
/// and which setting gave them (errors about an untrusted endpoint say
/// so). The token client never sends a client certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenEndpointTrust {
    /// `sasl.oauthbearer.ssl.ca.location`: CA certificates (PEM) for the
    /// token endpoint.
    TokenEndpointCa(PemSource),
    /// The Kafka trust store (`ssl.truststore.location`,
    /// `ssl.ca.location` or `ssl.truststore.certificates`, with its
    /// `ssl.truststore.type` and password), used for the token endpoint
    /// because `sasl.oauthbearer.ssl.ca.location` is not set. Only the
    /// trust settings are used.
    KafkaTrustStore(TlsSettings),
    /// The public web PKI roots (webpki-roots): no CA is configured.
    PublicRoots,
}

impl TokenEndpointTrust {
    fn tls_settings(&self) -> TlsSettings {
        match self {
            TokenEndpointTrust::TokenEndpointCa(ca) => TlsSettings {
                ca: Some(ca.clone()),
                ..TlsSettings::default()
            },
            TokenEndpointTrust::KafkaTrustStore(kafka) => TlsSettings {
                ca: kafka.ca.clone(),
                ca_type: kafka.ca_type,
                truststore_password: kafka.truststore_password.clone(),
                ..TlsSettings::default()
            },
            TokenEndpointTrust::PublicRoots => TlsSettings::default(),
        }
    }

    /// What the token client trusts, in words naming the setting.
    fn describe(&self) -> String {
        match self {
            TokenEndpointTrust::TokenEndpointCa(PemSource::File(path)) => {
                format!("the CA certificates in {CA_KEY} ({})", path.display())
            }
            TokenEndpointTrust::TokenEndpointCa(_) => {
                "the CA certificates given for the token endpoint".to_owned()
            }
            TokenEndpointTrust::KafkaTrustStore(kafka) => {
                let store = match &kafka.ca {
                    Some(PemSource::File(path)) => format!(
                        "ssl.truststore.location / ssl.ca.location = {}",
                        path.display()
                    ),
                    _ => "ssl.truststore.certificates".to_owned(),
                };
                format!("only the Kafka trust store ({store}), used for the token endpoint because {CA_KEY} is not set")
            }
            TokenEndpointTrust::PublicRoots => format!(
                "only the public web PKI roots ({CA_KEY} is not set, nor is a Kafka trust store)"
            ),
        }
    }
}

/// Fetches tried for one `token()` call when no valid token is cached.
const ATTEMPTS: u32 = 5;

/// Tokens from Entra ID, cached and refreshed at about 80% of their
/// lifetime; the cached token stays in use while the identity provider is
/// unavailable; 4xx answers are reported (with the AADSTS code and the
/// setting to check), not retried.
pub struct EntraTokenProvider {
    credentials: EntraClientCredentials,
    /// Removes the client secret from everything the endpoint sends.
    scrubber: Scrubber,
    trust: TokenEndpointTrust,
    tls: Arc<rustls::ClientConfig>,
    settings: LoginSettings,
    schedule: tokio::sync::Mutex<TokenSchedule>,
}

impl std::fmt::Debug for EntraTokenProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntraTokenProvider")
            .field("credentials", &self.credentials)
            .field("trust", &self.trust)
            .finish_non_exhaustive()
    }
}

impl EntraTokenProvider {
    /// A provider trusting the PEM CA certificates in `ca` (as
    /// `sasl.oauthbearer.ssl.ca.location` gives them; the webpki roots when
    /// `None`); host names are verified, client certificates are not sent.
    pub fn new(
        credentials: EntraClientCredentials,
        ca: Option<PemSource>,
    ) -> Result<Self, TlsError> {
        Self::with_trust(
            credentials,
            ca.map_or(
                TokenEndpointTrust::PublicRoots,
                TokenEndpointTrust::TokenEndpointCa,
            ),
        )
    }

    /// A provider trusting `trust` for the token endpoint; errors about an
    /// untrusted endpoint name it.
    pub fn with_trust(
        credentials: EntraClientCredentials,
        trust: TokenEndpointTrust,
    ) -> Result<Self, TlsError> {
        Ok(EntraTokenProvider {
            scrubber: credentials.scrubber(),
            tls: trust.tls_settings().client_config()?,
            trust,
            credentials,
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

    /// One token request; every error scrubbed of the client secret.
    async fn fetch(&self) -> Result<BearerToken, EntraError> {
        self.fetch_once().await.map_err(|error| match error {
            EntraError::Unreachable(text) => EntraError::Unreachable(self.scrubber.scrub(&text)),
            EntraError::Malformed(text) => EntraError::Malformed(self.scrubber.scrub(&text)),
            EntraError::Unusable {
                endpoint,
                reason,
                fix,
            } => EntraError::Unusable {
                endpoint,
                reason: self.scrubber.scrub(&reason),
                fix,
            },
            // Built from scrubbed excerpts already.
            other => other,
        })
    }

    async fn fetch_once(&self) -> Result<BearerToken, EntraError> {
        let body = self.credentials.token_request_body();
        let connect_timeout = self
            .settings
            .connect_timeout
            .unwrap_or(DEFAULT_HTTP_TIMEOUT);
        let read_timeout = self.settings.read_timeout.unwrap_or(DEFAULT_HTTP_TIMEOUT);
        let stream = tokio::time::timeout(
            connect_timeout,
            connect(&self.credentials.token_endpoint, &self.tls, &self.trust),
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
            &self.scrubber,
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

/// What to fix when the URL names no usable HTTPS port.
const URL_FIX: &str = "check the scheme, host and port in sasl.oauthbearer.token.endpoint.url (it must name the token endpoint's HTTPS port)";

/// A failure retrying cannot fix.
fn unusable(url: &str, reason: impl Into<String>, fix: impl Into<String>) -> EntraError {
    EntraError::Unusable {
        endpoint: redact_url(url),
        reason: reason.into(),
        fix: fix.into(),
    }
}

/// The authority (`host[:port]`) and path of an `https://` URL.
fn split_url(url: &str) -> Result<(&str, &str), EntraError> {
    let rest = url
        .strip_prefix("https://")
        .ok_or_else(|| unusable(url, "it is not an https:// URL", URL_FIX))?;
    Ok(match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    })
}

/// Whether a failed DNS lookup may succeed later (the resolver could not
/// be asked, as opposed to "no such host"). The standard library reports
/// `getaddrinfo` errors only as text.
fn dns_failure_is_temporary(error: &std::io::Error) -> bool {
    let text = error.to_string().to_ascii_lowercase();
    text.contains("temporary failure") || text.contains("try again")
}

/// DNS, TCP (every address, in order) and TLS to the token endpoint.
/// Failures retrying cannot fix are [`EntraError::Unusable`].
async fn connect(
    url: &str,
    tls: &Arc<rustls::ClientConfig>,
    trust: &TokenEndpointTrust,
) -> Result<TlsStream, EntraError> {
    let (authority, _) = split_url(url)?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || authority.starts_with('[') => (
            h.trim_start_matches('[').trim_end_matches(']'),
            p.parse::<u16>()
                .map_err(|_| unusable(url, format!("{p:?} is not a port number"), URL_FIX))?,
        ),
        _ => (authority, 443),
    };
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|_| {
        unusable(
            url,
            format!("{host:?} is not a host name or IP address"),
            URL_FIX,
        )
    })?;
    let addrs: Vec<SocketAddr> = match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => addrs.collect(),
        Err(e) if dns_failure_is_temporary(&e) => {
            return Err(EntraError::Unreachable(format!("looking up {host}: {e}")))
        }
        Err(e) => {
            return Err(unusable(
                url,
                format!("its host {host} does not resolve ({e})"),
                URL_FIX,
            ))
        }
    };
    let mut last_error = None;
    let mut all_refused = true;
    let mut tcp = None;
    for addr in &addrs {
        match tokio::net::TcpStream::connect(addr).await {
            Ok(stream) => {
                tcp = Some(stream);
                break;
            }
            Err(e) => {
                all_refused &= e.kind() == std::io::ErrorKind::ConnectionRefused;
                last_error = Some(e);
            }
        }
    }
    let tcp = match (tcp, last_error) {
        (Some(tcp), _) => tcp,
        (None, None) => {
            return Err(unusable(
                url,
                format!("its host {host} resolves to no address"),
                URL_FIX,
            ))
        }
        (None, Some(_)) if all_refused => {
            return Err(unusable(
                url,
                format!("nothing listens on {host}:{port} (connection refused)"),
                URL_FIX,
            ))
        }
        (None, Some(e)) => return Err(EntraError::Unreachable(format!("{host}:{port}: {e}"))),
    };
    tokio_rustls::TlsConnector::from(Arc::clone(tls))
        .connect(name, tcp)
        .await
        .map_err(|e| {
            match e
                .get_ref()
                .and_then(|i| i.downcast_ref::<rustls::Error>())
            {
                Some(tls_error) => tls_failure(url, host, tls_error, trust),
                // A peer that closes without answering may be restarting.
                None => EntraError::Unreachable(format!(
                    "{host}:{port} during the TLS handshake: {e} (if this persists: is it an HTTPS port? {URL_FIX})"
                )),
            }
        })
}

/// A TLS handshake refused by rustls: none of these heal by retrying.
fn tls_failure(
    url: &str,
    host: &str,
    error: &rustls::Error,
    trust: &TokenEndpointTrust,
) -> EntraError {
    use rustls::CertificateError as C;
    let (reason, fix) = match error {
        rustls::Error::InvalidCertificate(C::NotValidForName | C::NotValidForNameContext { .. }) => (
            format!("its certificate does not name the host {host}"),
            format!("the host in {URL_KEY} must be a name the token endpoint's certificate is for"),
        ),
        rustls::Error::InvalidCertificate(
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. },
        ) => (
            "its certificate is expired or not valid yet".to_owned(),
            "the token endpoint's certificate must be renewed (or this machine's clock is wrong)"
                .to_owned(),
        ),
        rustls::Error::InvalidCertificate(cause) => (
            match cause {
                C::UnknownIssuer | C::BadSignature => {
                    "its certificate is not signed by a trusted CA".to_owned()
                }
                _ => "its certificate was refused".to_owned(),
            },
            format!(
                "the token client trusts {}; set {CA_KEY} to a PEM file with the CA that signed the token endpoint's certificate",
                trust.describe()
            ),
        ),
        e if ferrokafka_auth::tls::is_old_tls_version(e) => (
            "it offers only TLS 1.0/1.1 (or older), which ferrokafka (rustls) refuses as insecure"
                .to_owned(),
            format!("enable TLS 1.2 or 1.3 on the token endpoint, or {URL_FIX}"),
        ),
        rustls::Error::InvalidMessage(_) | rustls::Error::PeerMisbehaved(_) => (
            "the port does not speak TLS (its answer is not a TLS handshake)".to_owned(),
            URL_FIX.to_owned(),
        ),
        _ => ("the TLS handshake failed".to_owned(), URL_FIX.to_owned()),
    };
    unusable(url, format!("{reason} ({error})"), fix)
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

    #[test]
    fn only_temporary_dns_failures_are_retried() {
        let gai = |text: &str| {
            std::io::Error::other(format!("failed to lookup address information: {text}"))
        };
        assert!(dns_failure_is_temporary(&gai(
            "Temporary failure in name resolution"
        )));
        assert!(dns_failure_is_temporary(&gai(
            "nodename nor servname provided, or not known; try again"
        )));
        assert!(!dns_failure_is_temporary(&gai("Name or service not known")));
        assert!(!dns_failure_is_temporary(&gai(
            "No address associated with hostname"
        )));
    }

    #[test]
    fn handshake_refusals_are_permanent_and_name_the_setting() {
        use rustls::CertificateError as C;
        let url = "https://idp.example:8443/t/token?client_secret=q-canary";
        let kafka = TokenEndpointTrust::KafkaTrustStore(TlsSettings {
            ca: Some(PemSource::File("/etc/kafka/ca.pem".into())),
            ..TlsSettings::default()
        });
        let own = TokenEndpointTrust::TokenEndpointCa(PemSource::File("/etc/idp-ca.pem".into()));
        for (error, trust, needles, absent) in [
            (
                rustls::Error::InvalidCertificate(C::UnknownIssuer),
                &TokenEndpointTrust::PublicRoots,
                &["not signed by a trusted CA", "public web PKI roots", CA_KEY][..],
                Some("ssl.truststore.location"),
            ),
            (
                rustls::Error::InvalidCertificate(C::BadSignature),
                &own,
                &["not signed by a trusted CA", "/etc/idp-ca.pem", CA_KEY][..],
                Some("ssl.truststore.location"),
            ),
            (
                rustls::Error::InvalidCertificate(C::UnknownIssuer),
                &kafka,
                &["ssl.truststore.location", "/etc/kafka/ca.pem", CA_KEY][..],
                None,
            ),
            (
                rustls::Error::InvalidCertificate(C::NotValidForName),
                &own,
                &["does not name the host idp.example", URL_KEY][..],
                Some("ssl.truststore.location"),
            ),
            (
                rustls::Error::InvalidCertificate(C::Expired),
                &own,
                &["expired", "renewed"][..],
                None,
            ),
            (
                rustls::Error::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
                &own,
                &["does not speak TLS", URL_KEY][..],
                None,
            ),
            (
                rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion),
                &own,
                &["TLS 1.0/1.1", "TLS 1.2 or 1.3"][..],
                None,
            ),
        ] {
            let e = tls_failure(url, "idp.example", &error, trust);
            assert!(!e.is_retriable(), "{e}");
            let text = e.to_string();
            for needle in needles {
                assert!(text.contains(needle), "{needle}: {text}");
            }
            assert!(
                text.contains("https://idp.example:8443/t/token?client_secret=<redacted>"),
                "{text}"
            );
            assert!(!text.contains("q-canary"), "{text}");
            if let Some(absent) = absent {
                assert!(!text.contains(absent), "{absent}: {text}");
            }
        }
    }

    #[tokio::test]
    async fn urls_naming_no_usable_port_are_permanent() {
        let tls = TlsSettings::default().client_config().unwrap();
        let roots = TokenEndpointTrust::PublicRoots;
        for url in [
            "https://localhost:99999/t",
            "https://localhost:http/t",
            "http://localhost/t",
            "https://bad name/t",
        ] {
            let Err(e) = connect(url, &tls, &roots).await else {
                panic!("{url} connected")
            };
            assert!(matches!(e, EntraError::Unusable { .. }), "{url}: {e}");
            assert!(e.to_string().contains(URL_KEY), "{e}");
        }
    }
}
