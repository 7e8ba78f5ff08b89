//! The wire layout of every response this client reads, one file per
//! API family. Learned from `kafka-protocol` 0.18's generated decoders
//! (`src/messages/*_response.rs`); field names are its field names.
//!
//! Version ranges are those of the fields themselves and may reach past
//! the versions in [`SUPPORTED_VERSIONS`](super::SUPPORTED_VERSIONS);
//! only the latter are ever walked.

use kafka_protocol::messages::ApiKey;

use super::schema::Message;

mod admin;
mod api_versions;
mod fetch;
mod group;
mod metadata;
mod produce;
mod sasl;

/// The schema of `api_key`'s response body.
pub(crate) fn message(api_key: ApiKey) -> Option<&'static Message> {
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
