//! Bounded decoding of request bodies, for brokers (such as
//! `ferrokafka-fake`) that read requests from untrusted clients.
//!
//! The same schema walk as for responses, against the request tables in
//! `request/` (one file per API family, learned from `kafka-protocol`
//! 0.18's generated `src/messages/*_request.rs`; field names are its field
//! names), runs before the body reaches [`Decodable::decode`]. A request
//! whose array count, string or byte-string length exceeds what the bytes
//! left can hold is refused with [`RequestDecodeError::Malformed`] before
//! anything is allocated for it. Bytes after the request's last field are
//! ignored, as Kafka ignores them.
//!
//! The versions covered are those of [`SUPPORTED_VERSIONS`]: the requests
//! this client sends are exactly the requests it can check.
//!
//! ```
//! use bytes::Bytes;
//! use ferrokafka_protocol::bounded::{decode_request, RequestDecodeError};
//! use ferrokafka_protocol::messages::MetadataRequest;
//!
//! // A Metadata v1 body announcing i32::MAX topics in four bytes.
//! let mut body = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff]);
//! let err = decode_request::<MetadataRequest>(&mut body, 1).unwrap_err();
//! assert!(matches!(err, RequestDecodeError::Malformed { .. }));
//! assert_eq!(body.len(), 4, "the body is left as it was");
//! ```
//!
//! [`SUPPORTED_VERSIONS`]: super::SUPPORTED_VERSIONS

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::Decodable;

use super::error::RequestDecodeError;
use super::table;

pub(super) mod admin;
pub(super) mod api_versions;
pub(super) mod fetch;
pub(super) mod group;
pub(super) mod metadata;
pub(super) mod produce;
pub(super) mod sasl;

/// A request type that [`decode_request`] can decode safely.
///
/// Implemented for the request of every API in [`SUPPORTED_VERSIONS`].
///
/// [`SUPPORTED_VERSIONS`]: super::SUPPORTED_VERSIONS
pub trait BoundedRequest: Decodable {
    /// The API this is the request of.
    const API_KEY: ApiKey;
}

/// Checks that `body` (the bytes after the request header) is a
/// well-formed `api_key` request at `version`: every length and count
/// fits in the bytes left and known tagged fields fill their declared
/// size. Allocates nothing the body declares.
///
/// Returns the length of the request, which ends after its last field (in
/// flexible versions: after the root tagged-field section). Bytes after
/// that are ignored, as Kafka ignores them, and logged at debug level.
pub fn validate_request(
    api_key: ApiKey,
    version: i16,
    body: &[u8],
) -> Result<usize, RequestDecodeError> {
    let message = table::schemas_at(api_key, version)?.request;
    Ok(super::walk_to_last_field(message, version, body)?)
}

/// Decodes a request body (the bytes after the request header) at
/// `version`, after [`validate_request`] accepted it. Bytes after the last
/// field are ignored.
///
/// On success `body` has been consumed (it is empty); on error it is left
/// as it was. Strings, byte strings and record sets in the result share
/// `body`'s buffer.
pub fn decode_request<R: BoundedRequest>(
    body: &mut Bytes,
    version: i16,
) -> Result<R, RequestDecodeError> {
    let message = table::schemas_at(R::API_KEY, version)?.request;
    Ok(super::walk_and_decode(message, version, body)?)
}
