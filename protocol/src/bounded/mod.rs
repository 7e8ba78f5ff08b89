//! Bounded decoding of response and request bodies.
//!
//! `kafka-protocol`'s generated decoders call `Vec::with_capacity` on the
//! element count read from the wire and size string and byte buffers from
//! the declared length, so a handful of hostile bytes (an array count of
//! `i32::MAX`) can make the process abort on allocation failure. Bodies
//! therefore never reach `kafka-protocol` unchecked: [`decode_response`]
//! first walks the body against a static description of the response's
//! wire layout at that version (one table per API family, in `apis/`),
//! checking every length and count against the bytes left before anything
//! is allocated, and only hands the walked bytes to [`Decodable::decode`].
//!
//! The walk is what bounds memory: after it, every array `kafka-protocol`
//! pre-allocates has at most `bytes left / minimum element size` elements,
//! and every string or byte string fits in the frame it came in.
//!
//! # Bytes after the last field
//!
//! A body ends after its last field (in flexible versions, after the root
//! struct's tagged-field section). Bytes after that are ignored and logged
//! at debug level, as Kafka does on both sides: librdkafka, for one, sends
//! three such bytes after every all-topics Metadata request from v9, and a
//! broker may pad an answer. Everything up to the last field is walked and
//! bounded as before, `kafka-protocol` decodes only those bytes, and it
//! must read all of them (else the schema table and `kafka-protocol`
//! disagree, [`Malformation::DecoderDisagreement`]).
//!
//! Requests get the same treatment, for brokers that read them from
//! untrusted clients (the fake cluster): [`decode_request`],
//! [`decode_request_kind`] and [`validate_request`] walk a request body
//! against the request tables (in `request/`) with the same walker, and
//! fail with [`RequestDecodeError`].
//!
//! # The API table
//!
//! The APIs and versions covered, in both directions, are exactly
//! [`SUPPORTED_VERSIONS`], the single source of truth for what this crate
//! implements. It comes from one table (`table.rs`) with a line per API:
//! key, request and response types, versions, schemas and where the
//! response keeps its throttle time. The schema lookups, the
//! [`BoundedRequest`] and [`BoundedResponse`] impls and the `*_kind`
//! dispatch are generated from it; its documentation says how to add an
//! API.

#[macro_use]
mod schema;
mod apis;
mod error;
mod request;
mod table;
mod walker;

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::Decodable;

pub use error::{DecodeError, Malformation, RequestDecodeError};
pub use request::{decode_request, validate_request, BoundedRequest};
pub use table::{
    decode_request_kind, decode_response_kind, supported_versions, SUPPORTED_VERSIONS,
};

/// A response type that [`decode_response`] can decode safely.
///
/// Implemented for the response of every API in [`SUPPORTED_VERSIONS`].
pub trait BoundedResponse: Decodable {
    /// The API this is the response of.
    const API_KEY: ApiKey;

    /// How long the broker asks the client to wait before sending it more
    /// requests (KIP-219), in milliseconds: the response's
    /// `throttle_time_ms`, or 0 for responses without one (SaslHandshake
    /// and SaslAuthenticate).
    ///
    /// ```
    /// use ferrokafka_protocol::bounded::BoundedResponse;
    /// use ferrokafka_protocol::messages::{MetadataResponse, SaslHandshakeResponse};
    ///
    /// let throttled = MetadataResponse::default().with_throttle_time_ms(250);
    /// assert_eq!(throttled.throttle_time_ms(), 250);
    /// assert_eq!(SaslHandshakeResponse::default().throttle_time_ms(), 0);
    /// ```
    fn throttle_time_ms(&self) -> i32;
}

/// Checks that `body` (the bytes after the response header) is a
/// well-formed `api_key` response at `version`: every length and count
/// fits in the bytes left and known tagged fields fill their declared
/// size. Allocates nothing the body declares.
///
/// Returns the length of the response, which ends after its last field
/// (in flexible versions: after the root tagged-field section). Bytes
/// after that are ignored, as Kafka's clients ignore them, and logged at
/// debug level.
pub fn validate(api_key: ApiKey, version: i16, body: &[u8]) -> Result<usize, DecodeError> {
    let message = table::schemas_at(api_key, version)?.response;
    Ok(walk_to_last_field(message, version, body)?)
}

/// Decodes a response body (the bytes after the response header) at
/// `version`, after [`validate`] accepted it. Bytes after the last field
/// are ignored.
///
/// On success `body` has been consumed (it is empty); on error it is left
/// as it was. Strings, byte strings and record sets in the result share
/// `body`'s buffer.
pub fn decode_response<R: BoundedResponse>(
    body: &mut Bytes,
    version: i16,
) -> Result<R, DecodeError> {
    let message = table::schemas_at(R::API_KEY, version)?.response;
    Ok(walk_and_decode(message, version, body)?)
}

/// Walks `body` against `message` up to its last field and returns where
/// that is; bytes after it are logged at debug level and otherwise ignored.
fn walk_to_last_field(
    message: &'static schema::Message,
    version: i16,
    body: &[u8],
) -> Result<usize, error::WalkError> {
    let end = walker::walk(message, version, body)?;
    if end < body.len() {
        tracing::debug!(
            api = message.name,
            version,
            ignored = body.len() - end,
            "ignoring bytes after the last field"
        );
    }
    Ok(end)
}

/// Walks `body` against `message`, then decodes the walked bytes with
/// `kafka-protocol` and checks that it read all of them. Bytes after the
/// last field are ignored. On success `body` is consumed; on error it is
/// left as it was.
fn walk_and_decode<T: Decodable>(
    message: &'static schema::Message,
    version: i16,
    body: &mut Bytes,
) -> Result<T, error::CheckedDecodeError> {
    let end = walk_to_last_field(message, version, body)?;
    let mut fields = body.slice(..end);
    let value =
        T::decode(&mut fields, version).map_err(|e| error::CheckedDecodeError::Rejected {
            api: message.name,
            version,
            source: e.into(),
        })?;
    if !fields.is_empty() {
        return Err(error::WalkError {
            api: message.name,
            version,
            path: "<body>".to_owned(),
            offset: end - fields.len(),
            reason: Malformation::DecoderDisagreement {
                count: fields.len(),
            },
        }
        .into());
    }
    body.clear();
    Ok(value)
}
