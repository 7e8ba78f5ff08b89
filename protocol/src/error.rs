//! The crate-wide error.

use kafka_protocol::messages::ApiKey;

use crate::bounded::DecodeError;
use crate::compression::CompressionError;
use crate::frame::FrameError;
use crate::record::RecordError;
use crate::versions::VersionError;

/// Anything that can go wrong turning bytes into messages or back.
///
/// Each variant names what it is about (the API, the version, the byte
/// offset) and the message says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolError {
    /// The byte stream could not be split into frames.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A response frame is too short to hold its header.
    #[error("a response frame of {len} bytes is too short for a response header; the broker sent a malformed response")]
    TruncatedHeader {
        /// The frame length.
        len: usize,
    },
    /// A response header's tagged fields are malformed.
    #[error("the response header for correlation id {correlation_id} has malformed tagged fields; the broker sent a malformed response")]
    MalformedHeader {
        /// The correlation id read before the fault.
        correlation_id: i32,
    },
    /// A request frame given to a byte patch is too short for the request
    /// header field it patches.
    #[error("a request frame of {len} bytes is too short to hold a request header's correlation id (12 bytes with the length prefix); pass the frame encode_request wrote, from its start")]
    TruncatedRequestFrame {
        /// The frame's length.
        len: usize,
    },
    /// A request body could not be encoded at the chosen version.
    #[error("cannot encode a {api:?} v{version} request: {reason}; this is a bug in the caller, which set a field that version cannot carry")]
    Encode {
        /// The API.
        api: ApiKey,
        /// The version.
        version: i16,
        /// What kafka-protocol refused.
        reason: String,
    },
    /// A response body failed bounded decoding.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// API version negotiation failed.
    #[error(transparent)]
    Version(#[from] VersionError),
    /// A record batch is malformed.
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Compression or decompression failed.
    #[error(transparent)]
    Compression(#[from] CompressionError),
}
