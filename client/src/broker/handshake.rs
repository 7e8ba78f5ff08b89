//! Connection set-up: transport (TCP or TLS, inside the connector) →
//! ApiVersions → SASL (SaslHandshake v1 + SaslAuthenticate). Each step runs
//! sequentially on the raw transport before the connection task takes it
//! over, and each failure becomes a [`ConnectFailure`] that says what the
//! peer looked like.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokafka_auth::redact::Scrubber;
use ferrokafka_auth::SaslStep;
use ferrokafka_protocol::bounded::{decode_response, BoundedResponse};
use ferrokafka_protocol::frame::{FrameDecoder, FrameError};
use ferrokafka_protocol::header::{
    decode_response_header, encode_request, response_header_version, RequestHeader,
};
use ferrokafka_protocol::messages::ApiKey;
use ferrokafka_protocol::versions::{ApiVersionsExchange, BrokerVersions, ExchangeStep};
use ferrokafka_protocol::ProtocolError;
use kafka_protocol::messages::{
    SaslAuthenticateRequest, SaslAuthenticateResponse, SaslHandshakeRequest, SaslHandshakeResponse,
};
use kafka_protocol::protocol::{Request, StrBytes};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;
use zeroize::Zeroize;

use super::connection::{BrokerConnection, ConnectionOptions};
use crate::error::{BrokerRef, ErrorKind};
use crate::hooks::HookSet;
use crate::security::SaslAuth;
use crate::types::Api;

use crate::error::ConnectFailure;
use crate::transport::{BoxTransport, Connector};

/// What a finished handshake hands to the connection task.
pub(crate) struct Established {
    pub(crate) transport: BoxTransport,
    pub(crate) versions: BrokerVersions,
    /// Bytes read past the handshake (none from a well-behaved broker).
    pub(crate) read_buf: BytesMut,
    pub(crate) decoder: FrameDecoder,
    /// The SASL session lifetime the broker granted (SaslAuthenticate v1+;
    /// `None` without SASL or when the broker sets no limit).
    pub(crate) session_lifetime: Option<Duration>,
}

/// Opens a transport to `addr` and runs the handshake, all within `timeout`.
#[cfg(test)]
pub(crate) async fn establish(
    connector: &dyn Connector,
    addr: SocketAddr,
    host: &str,
    client_id: &str,
    timeout: Duration,
) -> Result<Established, ConnectFailure> {
    let options = ConnectionOptions {
        client_id: client_id.into(),
        request_timeout: timeout,
        max_in_flight: 5,
        max_idle: Duration::from_secs(600),
        sasl: None,
        hooks: HookSet::default(),
    };
    let broker = BrokerRef {
        id: None,
        address: addr.to_string(),
    };
    establish_with(connector, addr, host, &options, &broker, timeout).await
}

/// As [`establish`], authenticating with `options.sasl` after
/// ApiVersions, and reporting the exchanges to `options.hooks`.
pub(crate) async fn establish_with(
    connector: &dyn Connector,
    addr: SocketAddr,
    host: &str,
    options: &ConnectionOptions,
    broker: &BrokerRef,
    timeout: Duration,
) -> Result<Established, ConnectFailure> {
    let client_id = &*options.client_id;
    let observer = Observer {
        hooks: &options.hooks,
        broker,
    };
    let deadline = tokio::time::Instant::now() + timeout;
    let transport = tokio::time::timeout_at(deadline, connector.connect(addr, host))
        .await
        .map_err(|_| ConnectFailure::TimedOut(timeout, "the TCP connect"))??;
    let mut established =
        tokio::time::timeout_at(deadline, api_versions(transport, client_id, &observer))
            .await
            .map_err(|_| {
                ConnectFailure::TimedOut(
                    timeout,
                    "the ApiVersions handshake (the port accepted the connection but did not answer like a Kafka broker)",
                )
            })??;
    if let Some(sasl) = options.sasl.as_deref() {
        let mut channel = SaslChannel::Setup {
            est: &mut established,
            client_id,
            next_correlation_id: 100,
            observer: &observer,
        };
        let during = match sasl {
            SaslAuth::OAuthBearer { .. } => {
                "SASL authentication (which includes getting an OAUTHBEARER token)"
            }
            _ => "SASL authentication",
        };
        let lifetime = tokio::time::timeout_at(deadline, authenticate(&mut channel, sasl))
            .await
            .map_err(|_| ConnectFailure::TimedOut(timeout, during))??;
        established.session_lifetime = lifetime;
    }
    Ok(established)
}

/// Where the set-up exchanges are reported.
pub(crate) struct Observer<'a> {
    hooks: &'a HookSet,
    broker: &'a BrokerRef,
}

impl Observer<'_> {
    fn exchange(&self, api: ApiKey, version: i16, sent: usize, received: usize, since: Instant) {
        if !self.hooks.is_empty() {
            self.hooks.exchange(
                self.broker,
                Api::of(api),
                version,
                sent,
                received,
                since.elapsed(),
            );
        }
    }
}

/// Kafka's UNSUPPORTED_SASL_MECHANISM.
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;

/// One request/response on the handshake transport (correlation ids after
/// the ApiVersions ones).
async fn exchange<Req, Resp>(
    est: &mut Established,
    observer: &Observer<'_>,
    api_key: ApiKey,
    api_version: i16,
    correlation_id: i32,
    client_id: &str,
    request: &Req,
) -> Result<Resp, ConnectFailure>
where
    Req: kafka_protocol::protocol::Encodable,
    Resp: BoundedResponse,
{
    let mut out = BytesMut::new();
    let header = RequestHeader {
        api_key,
        api_version,
        correlation_id,
        client_id: Some(client_id),
    };
    encode_request(&mut out, &header, request).map_err(protocol_failure)?;
    let sent = out.len();
    let started = Instant::now();
    let written = est.transport.write_all(&out).await;
    // The frame may carry a password or a SCRAM proof.
    out[..].zeroize();
    written.map_err(|e| io_failure(&e))?;
    est.transport.flush().await.map_err(|e| io_failure(&e))?;
    let frame = read_frame(&mut est.transport, &mut est.decoder, &mut est.read_buf)
        .await
        .map_err(|e| in_step(api_key, e))?;
    observer.exchange(api_key, api_version, sent, frame.len() + 4, started);
    let (header, mut body) =
        decode_response_header(frame, response_header_version(api_key, api_version))
            .map_err(|e| in_step(api_key, protocol_failure(e)))?;
    if header.correlation_id != correlation_id {
        return Err(ConnectFailure::Malformed(format!(
            "the {api_key:?} answer carries correlation id {}, expected {correlation_id}",
            header.correlation_id
        )));
    }
    decode_response::<Resp>(&mut body, api_version)
        .map_err(|e| ConnectFailure::Malformed(format!("{api_key:?}: {e}")))
}

/// Where a SASL exchange runs: on the raw transport while a connection is
/// set up, or in band on a running connection (KIP-368 re-authentication).
pub(crate) enum SaslChannel<'a> {
    Setup {
        est: &'a mut Established,
        client_id: &'a str,
        next_correlation_id: i32,
        observer: &'a Observer<'a>,
    },
    InBand(&'a BrokerConnection),
}

impl SaslChannel<'_> {
    fn versions(&self) -> &BrokerVersions {
        match self {
            SaslChannel::Setup { est, .. } => &est.versions,
            SaslChannel::InBand(conn) => conn.versions(),
        }
    }

    async fn round<R>(&mut self, version: i16, request: &R) -> Result<R::Response, ConnectFailure>
    where
        R: Request,
        R::Response: BoundedResponse,
    {
        let api = <R::Response as BoundedResponse>::API_KEY;
        match self {
            SaslChannel::Setup {
                est,
                client_id,
                next_correlation_id,
                observer,
            } => {
                *next_correlation_id += 1;
                exchange(
                    est,
                    observer,
                    api,
                    version,
                    *next_correlation_id,
                    client_id,
                    request,
                )
                .await
            }
            SaslChannel::InBand(conn) => conn
                .send_for_reauthentication(request, version)
                .await
                .map_err(|e| match e.kind() {
                    ErrorKind::Timeout(after) => {
                        ConnectFailure::TimedOut(*after, "SASL re-authentication")
                    }
                    _ => ConnectFailure::Io(e.to_string()),
                }),
        }
    }
}

/// SaslHandshake v1, then SaslAuthenticate rounds until the mechanism is
/// done. Returns the session lifetime the broker granted.
pub(crate) async fn authenticate(
    channel: &mut SaslChannel<'_>,
    sasl: &SaslAuth,
) -> Result<Option<Duration>, ConnectFailure> {
    let mechanism = sasl.mechanism();
    let fail = |reason: String| ConnectFailure::Authentication {
        mechanism: mechanism.name(),
        user: sasl.username().to_owned(),
        reason,
    };
    let handshake_version = channel
        .versions()
        .negotiate(ApiKey::SaslHandshake)
        .map_err(|e| {
            fail(format!(
                "{e} (is SASL enabled on this listener? check security.protocol)"
            ))
        })?;
    if handshake_version < 1 {
        return Err(fail(
            "the broker supports only SaslHandshake v0 (raw SASL frames, Kafka before 1.0), which ferrokafka does not implement".to_owned(),
        ));
    }
    let auth_version = channel
        .versions()
        .negotiate(ApiKey::SaslAuthenticate)
        .map_err(|e| fail(e.to_string()))?;
    let request =
        SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism.name()));
    let response: SaslHandshakeResponse = channel.round(1, &request).await?;
    if response.error_code != 0 {
        let offered: Vec<&str> = response.mechanisms.iter().map(|m| m.as_str()).collect();
        return Err(fail(if response.error_code == UNSUPPORTED_SASL_MECHANISM {
            format!(
                "the broker does not enable {mechanism} on this listener; it offers {offered:?}: set sasl.mechanism to one of them"
            )
        } else {
            format!(
                "SaslHandshake failed with error code {}",
                response.error_code
            )
        }));
    }
    let mut client = sasl.client().await.map_err(|e| {
        if e.is_transient() {
            ConnectFailure::TokenUnavailable(e.to_string())
        } else {
            fail(e.to_string())
        }
    })?;
    let mut out = client.start().map_err(|e| fail(e.to_string()))?;
    // The broker's messages reach errors only as excerpts without the
    // password (a broker may quote what it received; PLAIN sends it).
    let scrubber = match sasl {
        SaslAuth::Plain(c) | SaslAuth::Scram(_, c) => Scrubber::new().secret(&c.password),
        _ => Scrubber::new(),
    };
    // PLAIN and OAUTHBEARER take one round, SCRAM two.
    for _ in 0..4 {
        let request = SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(out.to_vec()));
        let result: Result<SaslAuthenticateResponse, _> =
            channel.round(auth_version, &request).await;
        // Zero the request's copy of the secret bytes.
        if let Ok(mut bytes) = request.auth_bytes.try_into_mut() {
            bytes[..].zeroize();
        }
        let response = result?;
        if response.error_code != 0 {
            let message = response
                .error_message
                .as_ref()
                .map(|m| scrubber.excerpt(m.as_str()))
                .unwrap_or_default();
            return Err(fail(format!(
                "the broker refused it (error code {}): {message} (check the user name and password, and that the user exists for {mechanism})",
                response.error_code
            )));
        }
        let step = client
            .receive(&response.auth_bytes)
            .map_err(|error| match error {
                // The server's own refusal (SCRAM `e=invalid-proof`): wrong
                // credentials, not a misbehaving server.
                ferrokafka_auth::SaslError::ServerError { message, .. } => fail(format!(
                    "the broker refused it: {} (check the user name and password, and that the user exists for {mechanism})",
                    scrubber.excerpt(&message)
                )),
                error => ConnectFailure::SaslServerRejected {
                    user: sasl.username().to_owned(),
                    error,
                },
            })?;
        match step {
            SaslStep::Send(next) => out = next,
            SaslStep::Done => {
                let lifetime = (response.session_lifetime_ms > 0)
                    .then(|| Duration::from_millis(response.session_lifetime_ms as u64));
                tracing::debug!(%mechanism, user = sasl.username(), ?lifetime, "SASL authenticated");
                return Ok(lifetime);
            }
            _ => return Err(fail("unknown SASL step".to_owned())),
        }
    }
    Err(fail(
        "the broker kept the exchange going past the mechanism's last step".to_owned(),
    ))
}

/// An I/O error during set-up. A TLS alert after the handshake (TLS 1.3
/// servers check the client certificate after the client finished, so
/// "client certificate required" arrives here) is a TLS failure.
fn io_failure(error: &std::io::Error) -> ConnectFailure {
    match error
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<tokio_rustls::rustls::Error>())
    {
        Some(tls) => ConnectFailure::Tls(ferrokafka_auth::tls::explain(tls)),
        None => ConnectFailure::from_io(error),
    }
}

/// Names the step of a malformed answer.
fn in_step(api: ApiKey, failure: ConnectFailure) -> ConnectFailure {
    match failure {
        ConnectFailure::Malformed(what) => {
            ConnectFailure::Malformed(format!("the {api:?} answer: {what}"))
        }
        other => other,
    }
}

fn frame_failure(error: FrameError) -> ConnectFailure {
    match error {
        FrameError::WrongProtocol { seen } => ConnectFailure::WrongProtocol(seen),
        other => ConnectFailure::Malformed(other.to_string()),
    }
}

fn protocol_failure(error: ProtocolError) -> ConnectFailure {
    match error {
        ProtocolError::Version(v) => ConnectFailure::Refusal(v.to_string()),
        ProtocolError::Frame(f) => frame_failure(f),
        other => ConnectFailure::Malformed(other.to_string()),
    }
}

/// Runs the ApiVersions exchange (with the broker-requested downgrade).
async fn api_versions(
    mut transport: BoxTransport,
    client_id: &str,
    observer: &Observer<'_>,
) -> Result<Established, ConnectFailure> {
    let mut exchange = ApiVersionsExchange::new("ferrokafka", env!("CARGO_PKG_VERSION"));
    let mut decoder = FrameDecoder::new();
    let mut read_buf = BytesMut::with_capacity(8 * 1024);
    let mut out = BytesMut::new();
    // Each retry lowers the version, so this ends; bound it anyway.
    for correlation_id in 0..16 {
        let version = exchange.version();
        out.clear();
        let header = RequestHeader {
            api_key: ApiKey::ApiVersions,
            api_version: version,
            correlation_id,
            client_id: Some(client_id),
        };
        encode_request(&mut out, &header, &exchange.request()).map_err(protocol_failure)?;
        let started = Instant::now();
        transport
            .write_all(&out)
            .await
            .map_err(|e| io_failure(&e))?;
        transport.flush().await.map_err(|e| io_failure(&e))?;
        let frame = read_frame(&mut transport, &mut decoder, &mut read_buf)
            .await
            .map_err(|e| in_step(ApiKey::ApiVersions, e))?;
        observer.exchange(
            ApiKey::ApiVersions,
            version,
            out.len(),
            frame.len() + 4,
            started,
        );
        // ApiVersions always answers with response header v0.
        let (header, body): (_, Bytes) = decode_response_header(frame, 0)
            .map_err(|e| in_step(ApiKey::ApiVersions, protocol_failure(e)))?;
        if header.correlation_id != correlation_id {
            return Err(ConnectFailure::Malformed(format!(
                "the ApiVersions answer carries correlation id {}, expected {correlation_id}",
                header.correlation_id
            )));
        }
        match exchange
            .handle_response(body)
            .map_err(|e| in_step(ApiKey::ApiVersions, protocol_failure(e)))?
        {
            ExchangeStep::Done(versions) => {
                return Ok(Established {
                    transport,
                    versions,
                    read_buf,
                    decoder,
                    session_lifetime: None,
                })
            }
            ExchangeStep::Retry { .. } => continue,
            _ => {
                return Err(ConnectFailure::Refusal(
                    "unknown ApiVersions exchange step".to_owned(),
                ))
            }
        }
    }
    Err(ConnectFailure::Refusal(
        "the broker kept refusing ApiVersions".to_owned(),
    ))
}

/// Reads until one whole frame is buffered.
async fn read_frame(
    transport: &mut BoxTransport,
    decoder: &mut FrameDecoder,
    buf: &mut BytesMut,
) -> Result<Bytes, ConnectFailure> {
    loop {
        if let Some(frame) = decoder.decode(buf).map_err(frame_failure)? {
            return Ok(frame);
        }
        let want = decoder
            .needed()
            .saturating_sub(buf.len())
            .clamp(4096, 1 << 20);
        buf.reserve(want);
        let n = transport.read_buf(buf).await.map_err(|e| io_failure(&e))?;
        if n == 0 {
            // One more look: a short non-Kafka answer followed by a close.
            decoder.decode(buf).map_err(frame_failure)?;
            return Err(ConnectFailure::ClosedDuringHandshake);
        }
    }
}
