//! Bounded decoding of request bodies, for brokers (such as
//! `ferrokafka-fake`) that read requests from untrusted clients.
//!
//! The same schema walk as for responses, against the request tables in
//! `request/` (one file per API family, learned from `kafka-protocol`
//! 0.18's generated `src/messages/*_request.rs`; field names are its field
//! names), runs before the body reaches [`Decodable::decode`]. A request
//! whose array count, string or byte-string length exceeds what the bytes
//! left can hold is refused with [`RequestDecodeError::Malformed`] before
//! anything is allocated for it.
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

use bytes::Bytes;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, CreatePartitionsRequest, CreateTopicsRequest, DeleteRecordsRequest,
    DeleteTopicsRequest, DescribeClusterRequest, DescribeConfigsRequest, FetchRequest,
    FindCoordinatorRequest, HeartbeatRequest, InitProducerIdRequest, JoinGroupRequest,
    LeaveGroupRequest, ListOffsetsRequest, MetadataRequest, OffsetCommitRequest,
    OffsetFetchRequest, OffsetForLeaderEpochRequest, ProduceRequest, RequestKind,
    SaslAuthenticateRequest, SaslHandshakeRequest, SyncGroupRequest,
};
use kafka_protocol::protocol::Decodable;

use super::error::RequestDecodeError;
use super::schema::Message;
use super::{supported_versions, walker};

mod admin;
mod api_versions;
mod fetch;
mod group;
mod metadata;
mod produce;
mod sasl;

/// The schema of `api_key`'s request body.
fn message(api_key: ApiKey) -> Option<&'static Message> {
    Some(match api_key {
        ApiKey::ApiVersions => &api_versions::API_VERSIONS,
        ApiKey::Metadata => &metadata::METADATA,
        ApiKey::DescribeCluster => &metadata::DESCRIBE_CLUSTER,
        ApiKey::Produce => &produce::PRODUCE,
        ApiKey::InitProducerId => &produce::INIT_PRODUCER_ID,
        ApiKey::Fetch => &fetch::FETCH,
        ApiKey::ListOffsets => &fetch::LIST_OFFSETS,
        ApiKey::OffsetForLeaderEpoch => &fetch::OFFSET_FOR_LEADER_EPOCH,
        ApiKey::DeleteRecords => &admin::DELETE_RECORDS,
        ApiKey::CreateTopics => &admin::CREATE_TOPICS,
        ApiKey::DeleteTopics => &admin::DELETE_TOPICS,
        ApiKey::CreatePartitions => &admin::CREATE_PARTITIONS,
        ApiKey::DescribeConfigs => &admin::DESCRIBE_CONFIGS,
        ApiKey::FindCoordinator => &group::FIND_COORDINATOR,
        ApiKey::OffsetCommit => &group::OFFSET_COMMIT,
        ApiKey::OffsetFetch => &group::OFFSET_FETCH,
        ApiKey::JoinGroup => &group::JOIN_GROUP,
        ApiKey::SyncGroup => &group::SYNC_GROUP,
        ApiKey::Heartbeat => &group::HEARTBEAT,
        ApiKey::LeaveGroup => &group::LEAVE_GROUP,
        ApiKey::SaslHandshake => &sasl::SASL_HANDSHAKE,
        ApiKey::SaslAuthenticate => &sasl::SASL_AUTHENTICATE,
        _ => return None,
    })
}

/// A request type that [`decode_request`] can decode safely.
///
/// Implemented for the request of every API in [`SUPPORTED_VERSIONS`].
///
/// [`SUPPORTED_VERSIONS`]: super::SUPPORTED_VERSIONS
pub trait BoundedRequest: Decodable {
    /// The API this is the request of.
    const API_KEY: ApiKey;
}

macro_rules! bounded_requests {
    ($($variant:ident => $ty:ty),* $(,)?) => {
        $(
            impl BoundedRequest for $ty {
                const API_KEY: ApiKey = ApiKey::$variant;
            }
        )*

        /// Decodes the body into the `RequestKind` variant of `api_key`.
        fn dispatch(
            api_key: ApiKey,
            version: i16,
            body: &mut Bytes,
        ) -> Result<RequestKind, RequestDecodeError> {
            match api_key {
                $(ApiKey::$variant => {
                    decode_request::<$ty>(body, version).map(RequestKind::$variant)
                })*
                _ => Err(RequestDecodeError::UnsupportedApi { api_key }),
            }
        }
    };
}

bounded_requests! {
    ApiVersions => ApiVersionsRequest,
    Metadata => MetadataRequest,
    Produce => ProduceRequest,
    Fetch => FetchRequest,
    ListOffsets => ListOffsetsRequest,
    DeleteRecords => DeleteRecordsRequest,
    CreateTopics => CreateTopicsRequest,
    DeleteTopics => DeleteTopicsRequest,
    CreatePartitions => CreatePartitionsRequest,
    DescribeConfigs => DescribeConfigsRequest,
    InitProducerId => InitProducerIdRequest,
    FindCoordinator => FindCoordinatorRequest,
    OffsetCommit => OffsetCommitRequest,
    OffsetFetch => OffsetFetchRequest,
    JoinGroup => JoinGroupRequest,
    SyncGroup => SyncGroupRequest,
    Heartbeat => HeartbeatRequest,
    LeaveGroup => LeaveGroupRequest,
    SaslHandshake => SaslHandshakeRequest,
    SaslAuthenticate => SaslAuthenticateRequest,
    OffsetForLeaderEpoch => OffsetForLeaderEpochRequest,
    DescribeCluster => DescribeClusterRequest,
}

/// The schema of `api_key`'s request, if `version` is covered.
fn schema_for(api_key: ApiKey, version: i16) -> Result<&'static Message, RequestDecodeError> {
    let (min, max) =
        supported_versions(api_key).ok_or(RequestDecodeError::UnsupportedApi { api_key })?;
    if !(min..=max).contains(&version) {
        return Err(RequestDecodeError::UnsupportedVersion {
            api_key,
            version,
            supported: (min, max),
        });
    }
    message(api_key).ok_or(RequestDecodeError::UnsupportedApi { api_key })
}

/// Checks that `body` (the bytes after the request header) is a
/// well-formed `api_key` request at `version`: every length and count
/// fits in the bytes left, known tagged fields fill their declared size,
/// and the body is consumed exactly. Allocates nothing the body declares.
pub fn validate_request(
    api_key: ApiKey,
    version: i16,
    body: &[u8],
) -> Result<(), RequestDecodeError> {
    let message = schema_for(api_key, version)?;
    Ok(walker::walk(message, version, body)?)
}

/// Decodes a request body (the bytes after the request header) at
/// `version`, after [`validate_request`] accepted it.
///
/// On success `body` has been consumed (it is empty); on error it is left
/// as it was. Strings, byte strings and record sets in the result share
/// `body`'s buffer.
pub fn decode_request<R: BoundedRequest>(
    body: &mut Bytes,
    version: i16,
) -> Result<R, RequestDecodeError> {
    let message = schema_for(R::API_KEY, version)?;
    Ok(super::walk_and_decode(message, version, body)?)
}

/// Decodes a request body of any API in [`SUPPORTED_VERSIONS`] into the
/// matching [`RequestKind`] variant; see [`decode_request`].
///
/// [`SUPPORTED_VERSIONS`]: super::SUPPORTED_VERSIONS
pub fn decode_request_kind(
    api_key: ApiKey,
    version: i16,
    body: &mut Bytes,
) -> Result<RequestKind, RequestDecodeError> {
    dispatch(api_key, version, body)
}
