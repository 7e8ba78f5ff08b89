//! The one table of the APIs this crate implements.
//!
//! Each API is one line of the `api_table!` invocation below: its key, its
//! request and response types (`kafka-protocol`'s, named as in
//! [`kafka_protocol::messages`]), the versions implemented, the schema of
//! both bodies, and which field of the response holds `throttle_time_ms`
//! (`none` for the SASL responses, which have none). Everything else that
//! is per API is generated from that line:
//! - [`SUPPORTED_VERSIONS`] and [`supported_versions`], which version
//!   negotiation uses ([`crate::versions::implemented_versions`]);
//! - the request and response schema lookups of the bounded decoder;
//! - the [`BoundedRequest`] and [`BoundedResponse`] impls, including
//!   [`BoundedResponse::throttle_time_ms`];
//! - [`decode_request_kind`] and [`decode_response_kind`], which dispatch
//!   on the API key.
//!
//! # Adding an API
//!
//! 1. Describe its response body in `apis/<family>.rs` and its request body
//!    in `request/<family>.rs`, under the same static name in both (e.g.
//!    `FETCH`), with the `structs!` and `message!` macros of `schema.rs`,
//!    learned from `kafka-protocol`'s generated
//!    `src/messages/<name>_{request,response}.rs`.
//! 2. Add one line to the table below; `schema` names `<family>::<STATIC>`.
//! 3. Add a request and a response builder to the round-trip tests
//!    (`tests/request_roundtrip.rs`, `tests/bounded_roundtrip.rs`): each
//!    file has a test that fails for an API of the table it does not cover.

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};

use super::error::{DecodeError, RequestDecodeError};
use super::request::{decode_request, BoundedRequest};
use super::schema::Message;
use super::{apis, decode_response, request, BoundedResponse};

/// Reads `throttle_time_ms` off a response: a field name, or `none`.
macro_rules! throttle_time_ms {
    ($response:expr, none) => {{
        let _ = $response;
        0
    }};
    ($response:expr, $field:ident) => {
        $response.$field
    };
}

/// A function decoding a body of any API of the table into its `$kind`
/// variant with the typed decoder `$decode`.
macro_rules! kind_decoder {
    (
        $(#[$doc:meta])* $name:ident, $decode:ident, $kind:ident, $error:ident,
        $($key:ident: $message:ident),*
    ) => {
        $(#[$doc])*
        pub fn $name(api_key: ApiKey, version: i16, body: &mut Bytes) -> Result<$kind, $error> {
            match api_key {
                $(ApiKey::$key => {
                    $decode::<kafka_protocol::messages::$message>(body, version).map($kind::$key)
                })*
                _ => Err($error::UnsupportedApi { api_key }),
            }
        }
    };
}

/// Generates everything per API from one line per API; see the module
/// documentation.
macro_rules! api_table {
    ($(
        $key:ident: $request:ident => $response:ident,
        versions $min:literal ..= $max:literal,
        schema $family:ident :: $schema:ident,
        throttle $throttle:ident;
    )*) => {
        /// The API versions this crate implements, as `(api, min, max)`
        /// with both bounds inclusive: every request and response of these
        /// APIs at these versions is decoded by the bounded decoder. Use
        /// it for version negotiation.
        pub const SUPPORTED_VERSIONS: [(ApiKey, i16, i16); [$(stringify!($key)),*].len()] =
            [$((ApiKey::$key, $min, $max)),*];

        /// The inclusive range of versions this crate implements for
        /// `api_key`, or `None` if it does not implement that API.
        pub const fn supported_versions(api_key: ApiKey) -> Option<(i16, i16)> {
            match api_key {
                $(ApiKey::$key => Some(($min, $max)),)*
                _ => None,
            }
        }

        /// The schemas of `api_key`'s request and response bodies.
        fn schemas(api_key: ApiKey) -> Option<Schemas> {
            Some(match api_key {
                $(ApiKey::$key => Schemas {
                    request: &request::$family::$schema,
                    response: &apis::$family::$schema,
                },)*
                _ => return None,
            })
        }

        $(
            impl BoundedRequest for kafka_protocol::messages::$request {
                const API_KEY: ApiKey = ApiKey::$key;
            }

            impl BoundedResponse for kafka_protocol::messages::$response {
                const API_KEY: ApiKey = ApiKey::$key;

                fn throttle_time_ms(&self) -> i32 {
                    throttle_time_ms!(self, $throttle)
                }
            }
        )*

        kind_decoder!(
            /// Decodes a request body of any API in [`SUPPORTED_VERSIONS`] into
            /// the matching [`RequestKind`] variant; see [`decode_request`].
            decode_request_kind, decode_request, RequestKind, RequestDecodeError,
            $($key: $request),*
        );

        kind_decoder!(
            /// Decodes a response body of any API in [`SUPPORTED_VERSIONS`] into
            /// the matching [`ResponseKind`] variant; see [`decode_response`].
            decode_response_kind, decode_response, ResponseKind, DecodeError,
            $($key: $response),*
        );
    };
}

api_table! {
    ApiVersions: ApiVersionsRequest => ApiVersionsResponse,
        versions 0..=4, schema api_versions::API_VERSIONS, throttle throttle_time_ms;
    Metadata: MetadataRequest => MetadataResponse,
        versions 1..=12, schema metadata::METADATA, throttle throttle_time_ms;
    Produce: ProduceRequest => ProduceResponse,
        versions 3..=11, schema produce::PRODUCE, throttle throttle_time_ms;
    Fetch: FetchRequest => FetchResponse,
        versions 4..=12, schema fetch::FETCH, throttle throttle_time_ms;
    ListOffsets: ListOffsetsRequest => ListOffsetsResponse,
        versions 1..=9, schema fetch::LIST_OFFSETS, throttle throttle_time_ms;
    DeleteRecords: DeleteRecordsRequest => DeleteRecordsResponse,
        versions 0..=2, schema admin::DELETE_RECORDS, throttle throttle_time_ms;
    CreateTopics: CreateTopicsRequest => CreateTopicsResponse,
        versions 2..=7, schema admin::CREATE_TOPICS, throttle throttle_time_ms;
    DeleteTopics: DeleteTopicsRequest => DeleteTopicsResponse,
        versions 1..=6, schema admin::DELETE_TOPICS, throttle throttle_time_ms;
    CreatePartitions: CreatePartitionsRequest => CreatePartitionsResponse,
        versions 0..=3, schema admin::CREATE_PARTITIONS, throttle throttle_time_ms;
    DescribeConfigs: DescribeConfigsRequest => DescribeConfigsResponse,
        versions 1..=4, schema admin::DESCRIBE_CONFIGS, throttle throttle_time_ms;
    InitProducerId: InitProducerIdRequest => InitProducerIdResponse,
        versions 0..=4, schema produce::INIT_PRODUCER_ID, throttle throttle_time_ms;
    FindCoordinator: FindCoordinatorRequest => FindCoordinatorResponse,
        versions 0..=4, schema group::FIND_COORDINATOR, throttle throttle_time_ms;
    OffsetCommit: OffsetCommitRequest => OffsetCommitResponse,
        versions 2..=8, schema group::OFFSET_COMMIT, throttle throttle_time_ms;
    OffsetFetch: OffsetFetchRequest => OffsetFetchResponse,
        versions 1..=7, schema group::OFFSET_FETCH, throttle throttle_time_ms;
    JoinGroup: JoinGroupRequest => JoinGroupResponse,
        versions 0..=7, schema group::JOIN_GROUP, throttle throttle_time_ms;
    SyncGroup: SyncGroupRequest => SyncGroupResponse,
        versions 0..=5, schema group::SYNC_GROUP, throttle throttle_time_ms;
    Heartbeat: HeartbeatRequest => HeartbeatResponse,
        versions 0..=4, schema group::HEARTBEAT, throttle throttle_time_ms;
    LeaveGroup: LeaveGroupRequest => LeaveGroupResponse,
        versions 0..=4, schema group::LEAVE_GROUP, throttle throttle_time_ms;
    SaslHandshake: SaslHandshakeRequest => SaslHandshakeResponse,
        versions 0..=1, schema sasl::SASL_HANDSHAKE, throttle none;
    SaslAuthenticate: SaslAuthenticateRequest => SaslAuthenticateResponse,
        versions 0..=2, schema sasl::SASL_AUTHENTICATE, throttle none;
    OffsetForLeaderEpoch: OffsetForLeaderEpochRequest => OffsetForLeaderEpochResponse,
        versions 2..=4, schema fetch::OFFSET_FOR_LEADER_EPOCH, throttle throttle_time_ms;
    DescribeCluster: DescribeClusterRequest => DescribeClusterResponse,
        versions 0..=1, schema metadata::DESCRIBE_CLUSTER, throttle throttle_time_ms;
}

/// The schemas of one API's request and response bodies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Schemas {
    /// The request body's.
    pub(crate) request: &'static Message,
    /// The response body's.
    pub(crate) response: &'static Message,
}

/// An API and version that are not in the table; becomes the
/// `UnsupportedApi` or `UnsupportedVersion` variant of either side's error.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NotInTable {
    pub(crate) api_key: ApiKey,
    pub(crate) version: i16,
    /// The versions implemented, `None` if the API is not implemented.
    pub(crate) supported: Option<(i16, i16)>,
}

/// The schemas of `api_key` at `version`.
pub(crate) fn schemas_at(api_key: ApiKey, version: i16) -> Result<Schemas, NotInTable> {
    let not_in_table = |supported| NotInTable {
        api_key,
        version,
        supported,
    };
    let (min, max) = supported_versions(api_key).ok_or(not_in_table(None))?;
    if !(min..=max).contains(&version) {
        return Err(not_in_table(Some((min, max))));
    }
    schemas(api_key).ok_or(not_in_table(None))
}
