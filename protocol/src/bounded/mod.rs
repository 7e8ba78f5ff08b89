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
//! is allocated, and only hands the body to [`Decodable::decode`] once the
//! walk consumed it exactly.
//!
//! The walk is what bounds memory: after it, every array `kafka-protocol`
//! pre-allocates has at most `bytes left / minimum element size` elements,
//! and every string or byte string fits in the frame it came in.
//!
//! Requests get the same treatment, for brokers that read them from
//! untrusted clients (the fake cluster): [`decode_request`],
//! [`decode_request_kind`] and [`validate_request`] walk a request body
//! against the request tables (in `request/`) with the same walker, and
//! fail with [`RequestDecodeError`].
//!
//! The versions covered, in both directions, are exactly
//! [`SUPPORTED_VERSIONS`], the single source of truth for what this client
//! implements.

#[macro_use]
mod schema;
mod apis;
mod error;
mod request;
mod walker;

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, CreatePartitionsResponse, CreateTopicsResponse,
    DeleteRecordsResponse, DeleteTopicsResponse, DescribeClusterResponse, DescribeConfigsResponse,
    FetchResponse, FindCoordinatorResponse, HeartbeatResponse, InitProducerIdResponse,
    JoinGroupResponse, LeaveGroupResponse, ListOffsetsResponse, MetadataResponse,
    OffsetCommitResponse, OffsetFetchResponse, OffsetForLeaderEpochResponse, ProduceResponse,
    ResponseKind, SaslAuthenticateResponse, SaslHandshakeResponse, SyncGroupResponse,
};
use kafka_protocol::protocol::Decodable;

pub use error::{DecodeError, Malformation, RequestDecodeError};
pub use request::{decode_request, decode_request_kind, validate_request, BoundedRequest};

/// The API versions this client implements, as `(api, min, max)` with
/// both bounds inclusive. Every response of these APIs at these versions
/// is decoded by [`decode_response`], and every request by
/// [`decode_request`]; use it for version negotiation.
pub const SUPPORTED_VERSIONS: [(ApiKey, i16, i16); 22] = [
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::Metadata, 1, 12),
    (ApiKey::Produce, 3, 11),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 9),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::InitProducerId, 0, 4),
    (ApiKey::FindCoordinator, 0, 4),
    (ApiKey::OffsetCommit, 2, 8),
    (ApiKey::OffsetFetch, 1, 7),
    (ApiKey::JoinGroup, 0, 7),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 4),
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::DescribeCluster, 0, 1),
];

/// The inclusive range of versions this client implements for `api_key`,
/// or `None` if it does not use that API.
pub fn supported_versions(api_key: ApiKey) -> Option<(i16, i16)> {
    SUPPORTED_VERSIONS
        .iter()
        .find(|(key, _, _)| *key == api_key)
        .map(|&(_, min, max)| (min, max))
}

/// A response type that [`decode_response`] can decode safely.
///
/// Implemented for the response of every API in [`SUPPORTED_VERSIONS`].
pub trait BoundedResponse: Decodable {
    /// The API this is the response of.
    const API_KEY: ApiKey;
}

macro_rules! bounded_responses {
    ($($variant:ident => $ty:ty),* $(,)?) => {
        $(
            impl BoundedResponse for $ty {
                const API_KEY: ApiKey = ApiKey::$variant;
            }
        )*

        /// Decodes the body into the `ResponseKind` variant of `api_key`.
        fn dispatch(
            api_key: ApiKey,
            version: i16,
            body: &mut Bytes,
        ) -> Result<ResponseKind, DecodeError> {
            match api_key {
                $(ApiKey::$variant => {
                    decode_response::<$ty>(body, version).map(ResponseKind::$variant)
                })*
                _ => Err(DecodeError::UnsupportedApi { api_key }),
            }
        }
    };
}

bounded_responses! {
    ApiVersions => ApiVersionsResponse,
    Metadata => MetadataResponse,
    Produce => ProduceResponse,
    Fetch => FetchResponse,
    ListOffsets => ListOffsetsResponse,
    DeleteRecords => DeleteRecordsResponse,
    CreateTopics => CreateTopicsResponse,
    DeleteTopics => DeleteTopicsResponse,
    CreatePartitions => CreatePartitionsResponse,
    DescribeConfigs => DescribeConfigsResponse,
    InitProducerId => InitProducerIdResponse,
    FindCoordinator => FindCoordinatorResponse,
    OffsetCommit => OffsetCommitResponse,
    OffsetFetch => OffsetFetchResponse,
    JoinGroup => JoinGroupResponse,
    SyncGroup => SyncGroupResponse,
    Heartbeat => HeartbeatResponse,
    LeaveGroup => LeaveGroupResponse,
    SaslHandshake => SaslHandshakeResponse,
    SaslAuthenticate => SaslAuthenticateResponse,
    OffsetForLeaderEpoch => OffsetForLeaderEpochResponse,
    DescribeCluster => DescribeClusterResponse,
}

/// The schema of `api_key`'s response, if `version` is implemented.
fn schema_for(api_key: ApiKey, version: i16) -> Result<&'static schema::Message, DecodeError> {
    let (min, max) = supported_versions(api_key).ok_or(DecodeError::UnsupportedApi { api_key })?;
    if !(min..=max).contains(&version) {
        return Err(DecodeError::UnsupportedVersion {
            api_key,
            version,
            supported: (min, max),
        });
    }
    apis::message(api_key).ok_or(DecodeError::UnsupportedApi { api_key })
}

/// Checks that `body` (the bytes after the response header) is a
/// well-formed `api_key` response at `version`: every length and count
/// fits in the bytes left, known tagged fields fill their declared size,
/// and the body is consumed exactly. Allocates nothing the body declares.
pub fn validate(api_key: ApiKey, version: i16, body: &[u8]) -> Result<(), DecodeError> {
    let message = schema_for(api_key, version)?;
    Ok(walker::walk(message, version, body)?)
}

/// Decodes a response body (the bytes after the response header) at
/// `version`, after [`validate`] accepted it.
///
/// On success `body` has been consumed (it is empty); on error it is left
/// as it was. Strings, byte strings and record sets in the result share
/// `body`'s buffer.
pub fn decode_response<R: BoundedResponse>(
    body: &mut Bytes,
    version: i16,
) -> Result<R, DecodeError> {
    let message = schema_for(R::API_KEY, version)?;
    Ok(walk_and_decode(message, version, body)?)
}

/// Walks `body` against `message`, then decodes it with `kafka-protocol`
/// and checks that both consumed the same bytes. On success `body` is
/// consumed; on error it is left as it was.
pub(crate) fn walk_and_decode<T: Decodable>(
    message: &'static schema::Message,
    version: i16,
    body: &mut Bytes,
) -> Result<T, error::CheckedDecodeError> {
    walker::walk(message, version, body)?;
    let mut rest = body.clone();
    let value = T::decode(&mut rest, version).map_err(|e| error::CheckedDecodeError::Rejected {
        api: message.name,
        version,
        source: e.into(),
    })?;
    if !rest.is_empty() {
        return Err(error::WalkError {
            api: message.name,
            version,
            path: "<body>".to_owned(),
            offset: body.len().saturating_sub(rest.len()),
            reason: Malformation::DecoderDisagreement { count: rest.len() },
        }
        .into());
    }
    *body = rest;
    Ok(value)
}

/// Decodes a response body of any API in [`SUPPORTED_VERSIONS`] into the
/// matching [`ResponseKind`] variant; see [`decode_response`].
pub fn decode_response_kind(
    api_key: ApiKey,
    version: i16,
    body: &mut Bytes,
) -> Result<ResponseKind, DecodeError> {
    dispatch(api_key, version, body)
}
