//! A minimal blocking Kafka wire client over `std::net`, built only from
//! `ferrokafka-protocol`: frame, header, ApiVersions negotiation and bounded
//! response decoding. One request at a time; for tests only.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use bytes::BytesMut;
use ferrokafka_protocol::bounded::{decode_response, BoundedResponse};
use ferrokafka_protocol::frame::FrameDecoder;
use ferrokafka_protocol::header::{
    decode_response_header, encode_request, response_header_version, RequestHeader,
};
use ferrokafka_protocol::messages::ApiKey;
use ferrokafka_protocol::versions::{ApiVersionsExchange, BrokerVersions, ExchangeStep};
use ferrokafka_protocol::ProtocolError;
use kafka_protocol::protocol::Encodable;

/// Why a wire call failed.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Socket trouble.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes made no sense.
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    /// The answer belongs to another request.
    #[error("expected correlation id {expected}, got {got}")]
    CorrelationMismatch {
        /// What we sent.
        expected: i32,
        /// What came back.
        got: i32,
    },
}

/// A blocking connection that has finished the ApiVersions exchange.
#[derive(Debug)]
pub struct WireClient {
    stream: TcpStream,
    frames: FrameDecoder,
    buffer: BytesMut,
    next_correlation_id: i32,
    versions: BrokerVersions,
}

impl WireClient {
    /// Runs the ApiVersions exchange (with downgrade) on a connected stream.
    pub fn from_stream(stream: TcpStream) -> Result<WireClient, WireError> {
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        let mut client = WireClient {
            stream,
            frames: FrameDecoder::new(),
            buffer: BytesMut::with_capacity(64 * 1024),
            next_correlation_id: 0,
            versions: BrokerVersions::from_response(&Default::default()),
        };
        let mut exchange = ApiVersionsExchange::new("ferrokafka-tests", "0.1.0");
        loop {
            let version = exchange.version();
            let body = client.round_trip_raw(ApiKey::ApiVersions, version, &exchange.request())?;
            match exchange.handle_response(body)? {
                ExchangeStep::Done(versions) => {
                    client.versions = versions;
                    return Ok(client);
                }
                ExchangeStep::Retry { .. } => continue,
                other => unreachable!("unknown exchange step {other:?}"),
            }
        }
    }

    /// The broker's advertised versions.
    pub fn versions(&self) -> &BrokerVersions {
        &self.versions
    }

    /// The negotiated version for `api`.
    pub fn version(&self, api: ApiKey) -> i16 {
        self.versions
            .negotiate(api)
            .unwrap_or_else(|e| panic!("negotiating {api:?}: {e}"))
    }

    /// Sends `request` at the negotiated version and decodes the answer.
    pub fn call<Req: Encodable, Resp: BoundedResponse>(
        &mut self,
        request: &Req,
    ) -> Result<Resp, WireError> {
        let version = self.version(Resp::API_KEY);
        self.call_at(version, request)
    }

    /// Sends `request` at `version` and decodes the answer.
    pub fn call_at<Req: Encodable, Resp: BoundedResponse>(
        &mut self,
        version: i16,
        request: &Req,
    ) -> Result<Resp, WireError> {
        let mut body = self.round_trip_raw(Resp::API_KEY, version, request)?;
        Ok(decode_response::<Resp>(&mut body, version).map_err(ProtocolError::from)?)
    }

    fn round_trip_raw<Req: Encodable>(
        &mut self,
        api: ApiKey,
        version: i16,
        request: &Req,
    ) -> Result<bytes::Bytes, WireError> {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1);
        let mut out = BytesMut::new();
        let header = RequestHeader {
            api_key: api,
            api_version: version,
            correlation_id,
            client_id: Some("ferrokafka-tests"),
        };
        encode_request(&mut out, &header, request)?;
        self.stream.write_all(&out)?;
        let frame = loop {
            if let Some(frame) = self
                .frames
                .decode(&mut self.buffer)
                .map_err(ProtocolError::from)?
            {
                break frame;
            }
            let mut chunk = [0u8; 64 * 1024];
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the broker closed the connection",
                )
                .into());
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        };
        let (header, body) = decode_response_header(frame, response_header_version(api, version))?;
        if header.correlation_id != correlation_id {
            return Err(WireError::CorrelationMismatch {
                expected: correlation_id,
                got: header.correlation_id,
            });
        }
        Ok(body)
    }
}
