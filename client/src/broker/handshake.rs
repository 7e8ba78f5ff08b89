//! Connection set-up: transport (TCP, later TLS) → ApiVersions → (later
//! SASL). Each step runs sequentially on the raw transport before the
//! connection task takes it over, and each failure becomes a
//! [`ConnectFailure`] that says what the peer looked like.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::frame::{FrameDecoder, FrameError};
use ferrokafka_protocol::header::{decode_response_header, encode_request, RequestHeader};
use ferrokafka_protocol::messages::ApiKey;
use ferrokafka_protocol::versions::{ApiVersionsExchange, BrokerVersions, ExchangeStep};
use ferrokafka_protocol::ProtocolError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::ConnectFailure;
use crate::transport::{BoxTransport, Connector};

/// What a finished handshake hands to the connection task.
pub(crate) struct Established {
    pub(crate) transport: BoxTransport,
    pub(crate) versions: BrokerVersions,
    /// Bytes read past the handshake (none from a well-behaved broker).
    pub(crate) read_buf: BytesMut,
    pub(crate) decoder: FrameDecoder,
}

/// Opens a transport to `addr` and runs the handshake, all within `timeout`.
pub(crate) async fn establish(
    connector: &dyn Connector,
    addr: SocketAddr,
    host: &str,
    client_id: &str,
    timeout: Duration,
) -> Result<Established, ConnectFailure> {
    let deadline = tokio::time::Instant::now() + timeout;
    let transport = tokio::time::timeout_at(deadline, connector.connect(addr, host))
        .await
        .map_err(|_| ConnectFailure::TimedOut(timeout, "the TCP connect"))??;
    // TLS will go here (inside the connector), SASL after ApiVersions.
    tokio::time::timeout_at(deadline, api_versions(transport, client_id))
        .await
        .map_err(|_| {
            ConnectFailure::TimedOut(
                timeout,
                "the ApiVersions handshake (the port accepted the connection but did not answer like a Kafka broker)",
            )
        })?
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
        transport
            .write_all(&out)
            .await
            .map_err(|e| ConnectFailure::from_io(&e))?;
        transport
            .flush()
            .await
            .map_err(|e| ConnectFailure::from_io(&e))?;
        let frame = read_frame(&mut transport, &mut decoder, &mut read_buf).await?;
        // ApiVersions always answers with response header v0.
        let (header, body): (_, Bytes) =
            decode_response_header(frame, 0).map_err(protocol_failure)?;
        if header.correlation_id != correlation_id {
            return Err(ConnectFailure::Malformed(format!(
                "the ApiVersions answer carries correlation id {}, expected {correlation_id}",
                header.correlation_id
            )));
        }
        match exchange.handle_response(body).map_err(protocol_failure)? {
            ExchangeStep::Done(versions) => {
                return Ok(Established {
                    transport,
                    versions,
                    read_buf,
                    decoder,
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
        let n = transport
            .read_buf(buf)
            .await
            .map_err(|e| ConnectFailure::from_io(&e))?;
        if n == 0 {
            // One more look: a short non-Kafka answer followed by a close.
            decoder.decode(buf).map_err(frame_failure)?;
            return Err(ConnectFailure::ClosedDuringHandshake);
        }
    }
}
