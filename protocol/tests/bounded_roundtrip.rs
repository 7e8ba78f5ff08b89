//! Proof that the bounded-decoding schema tables match `kafka-protocol`'s
//! wire layout.
//!
//! For every API and every version in `SUPPORTED_VERSIONS`, a response is
//! built with `kafka-protocol`'s builders (every array at every level with
//! at least two elements, every string, byte string and integer
//! non-default, known tagged fields set, unknown tagged fields added at
//! every level in flexible versions), encoded with `Encodable::encode`,
//! and then:
//! - `validate` must accept it, consuming exactly all bytes;
//! - `decode_response` and `decode_response_kind` must return a value
//!   equal to the original and consume the body;
//! - every strict prefix of it, and it with one trailing byte, must be
//!   rejected.
//!
//! Each response is built twice per version: once with every nullable
//! string, byte string and array present, once with all of them null, so
//! both the value and the null-marker encodings are walked.
//!
//! Integers are large (their high bytes are `0x5A`, `0x5B`...) and strings
//! have varying lengths, so a field the tables place, size or encode
//! wrongly shifts the walk onto bytes that do not parse as the expected
//! lengths and counts, and the exact-consumption check fails.

#[path = "support/gen.rs"]
mod gen;
use gen::Gen;

use std::collections::BTreeSet;
use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::bounded::{
    self, decode_response, decode_response_kind, supported_versions, validate, BoundedResponse,
    SUPPORTED_VERSIONS,
};
use kafka_protocol::messages::api_versions_response::{
    ApiVersion, FinalizedFeatureKey, SupportedFeatureKey,
};
use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::leave_group_response::MemberResponse;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsTopicResponse,
};
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponsePartition, OffsetFetchResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, CreatePartitionsResponse, CreateTopicsResponse,
    DeleteRecordsResponse, DeleteTopicsResponse, DescribeClusterResponse, DescribeConfigsResponse,
    FetchResponse, FindCoordinatorResponse, HeartbeatResponse, InitProducerIdResponse,
    JoinGroupResponse, LeaveGroupResponse, ListOffsetsResponse, MetadataResponse,
    OffsetCommitResponse, OffsetFetchResponse, OffsetForLeaderEpochResponse, ProduceResponse,
    ResponseKind, SaslAuthenticateResponse, SaslHandshakeResponse, SyncGroupResponse, TopicName,
};
use kafka_protocol::protocol::Encodable;

/// Runs the round trip for every implemented version of `api`.
fn run<R>(api: ApiKey, flexible_from: i16, build: fn(i16, &mut Gen) -> R)
where
    R: BoundedResponse + Encodable + PartialEq + Debug + Clone,
    ResponseKind: From<R>,
{
    let (min, max) = supported_versions(api).expect("api in table");
    for v in min..=max {
        for nulls in [false, true] {
            let mut g = Gen {
                n: 0,
                nulls,
                flexible: v >= flexible_from,
            };
            let original = build(v, &mut g);
            let ctx = format!("{api:?} v{v} (nulls: {nulls})");
            let mut buf = BytesMut::new();
            original
                .encode(&mut buf, v)
                .unwrap_or_else(|e| panic!("{ctx}: kafka-protocol refused to encode: {e}"));
            assert_eq!(
                original.compute_size(v).expect("size"),
                buf.len(),
                "{ctx}: encoder size mismatch"
            );
            let wire = buf.freeze();

            validate(api, v, &wire).unwrap_or_else(|e| panic!("{ctx}: validate refused: {e}"));

            let mut body = wire.clone();
            let decoded: R = decode_response(&mut body, v)
                .unwrap_or_else(|e| panic!("{ctx}: decode_response failed: {e}"));
            assert!(body.is_empty(), "{ctx}: body not consumed");
            assert_eq!(decoded, original, "{ctx}: round trip changed the value");

            let mut body = wire.clone();
            let kind = decode_response_kind(api, v, &mut body)
                .unwrap_or_else(|e| panic!("{ctx}: decode_response_kind failed: {e}"));
            assert!(body.is_empty(), "{ctx}: body not consumed by kind");
            assert_eq!(kind, ResponseKind::from(original.clone()), "{ctx}: kind");

            for cut in 0..wire.len() {
                assert!(
                    validate(api, v, &wire[..cut]).is_err(),
                    "{ctx}: prefix of {cut}/{} bytes accepted",
                    wire.len()
                );
            }
            let mut longer = wire.to_vec();
            longer.push(0);
            assert!(
                validate(api, v, &longer).is_err(),
                "{ctx}: trailing byte accepted"
            );

            differential::<R>(api, v, &wire, &ctx);
        }
    }
}

/// Nudges every byte of `wire` up and down by one. Whenever `validate`
/// accepts the result, `kafka-protocol` must either refuse it or read
/// exactly the bytes the walk read: a table that gets a field's size or a
/// tag number wrong lets the two disagree on where the body ends (a known
/// tag walked as unknown, for instance, is skipped by its size while
/// `kafka-protocol` reads its value whatever the size says).
fn differential<R: BoundedResponse + Debug>(api: ApiKey, v: i16, wire: &Bytes, ctx: &str) {
    for at in 0..wire.len() {
        for delta in [1u8, 0xff] {
            let mut body = wire.to_vec();
            body[at] = body[at].wrapping_add(delta);
            if validate(api, v, &body).is_err() {
                continue;
            }
            match decode_response::<R>(&mut Bytes::from(body), v) {
                Ok(_) | Err(bounded::DecodeError::Rejected { .. }) => {}
                Err(e) => panic!("{ctx}: byte {at} + {delta}: validated, then: {e}"),
            }
        }
    }
}

#[test]
fn every_api_in_the_table_is_covered_here() {
    let covered: BTreeSet<i16> = COVERED.iter().map(|k| *k as i16).collect();
    let table: BTreeSet<i16> = SUPPORTED_VERSIONS
        .iter()
        .map(|(k, _, _)| *k as i16)
        .collect();
    assert_eq!(covered, table);
    assert_eq!(
        SUPPORTED_VERSIONS.len(),
        table.len(),
        "duplicate table entry"
    );
}

#[test]
fn versions_outside_the_table_are_refused() {
    for (api, min, max) in SUPPORTED_VERSIONS {
        for v in [min - 1, max + 1] {
            let err = validate(api, v, &[]).expect_err("out of table");
            assert!(
                matches!(err, bounded::DecodeError::UnsupportedVersion { .. }),
                "{api:?} v{v}: {err}"
            );
        }
    }
    let err = validate(ApiKey::DescribeAcls, 1, &[]).expect_err("not ours");
    assert!(matches!(err, bounded::DecodeError::UnsupportedApi { .. }));
}

const COVERED: [ApiKey; 22] = [
    ApiKey::ApiVersions,
    ApiKey::Metadata,
    ApiKey::Produce,
    ApiKey::Fetch,
    ApiKey::ListOffsets,
    ApiKey::DeleteRecords,
    ApiKey::CreateTopics,
    ApiKey::DeleteTopics,
    ApiKey::CreatePartitions,
    ApiKey::DescribeConfigs,
    ApiKey::InitProducerId,
    ApiKey::FindCoordinator,
    ApiKey::OffsetCommit,
    ApiKey::OffsetFetch,
    ApiKey::JoinGroup,
    ApiKey::SyncGroup,
    ApiKey::Heartbeat,
    ApiKey::LeaveGroup,
    ApiKey::SaslHandshake,
    ApiKey::SaslAuthenticate,
    ApiKey::OffsetForLeaderEpoch,
    ApiKey::DescribeCluster,
];

// ---------------------------------------------------------------- ApiVersions

fn api_versions(v: i16, g: &mut Gen) -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default()
        .with_error_code(g.i16())
        .with_api_keys(g.list(|g| {
            ApiVersion::default()
                .with_api_key(g.i16())
                .with_min_version(g.i16())
                .with_max_version(g.i16())
                .with_unknown_tagged_fields(g.tags())
        }));
    if v >= 1 {
        r.throttle_time_ms = g.i32();
    }
    if v >= 3 {
        r.supported_features = g.list(|g| {
            SupportedFeatureKey::default()
                .with_name(g.s())
                .with_min_version(g.i16())
                .with_max_version(g.i16())
                .with_unknown_tagged_fields(g.tags())
        });
        r.finalized_features_epoch = g.i64();
        r.finalized_features = g.list(|g| {
            FinalizedFeatureKey::default()
                .with_name(g.s())
                .with_max_version_level(g.i16())
                .with_min_version_level(g.i16())
                .with_unknown_tagged_fields(g.tags())
        });
        r.zk_migration_ready = true;
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn api_versions_round_trip() {
    run(ApiKey::ApiVersions, 3, api_versions);
}

// ------------------------------------------------------------------- Metadata

fn metadata(v: i16, g: &mut Gen) -> MetadataResponse {
    let mut r = MetadataResponse::default();
    if v >= 3 {
        r.throttle_time_ms = g.i32();
    }
    r.brokers = g.list(|g| {
        let mut b = MetadataResponseBroker::default()
            .with_node_id(g.broker())
            .with_host(g.s())
            .with_port(g.i32());
        if v >= 1 {
            b.rack = g.os();
        }
        b.with_unknown_tagged_fields(g.tags())
    });
    if v >= 2 {
        r.cluster_id = g.os();
    }
    if v >= 1 {
        r.controller_id = g.broker();
    }
    r.topics = g.list(|g| {
        let mut t = MetadataResponseTopic::default().with_error_code(g.i16());
        t.name = g.os().map(TopicName);
        if v >= 10 {
            t.topic_id = g.uuid();
        }
        if v >= 1 {
            t.is_internal = true;
        }
        t.partitions = g.list(|g| {
            let mut p = MetadataResponsePartition::default()
                .with_error_code(g.i16())
                .with_partition_index(g.i32())
                .with_leader_id(g.broker());
            if v >= 7 {
                p.leader_epoch = g.i32();
            }
            p.replica_nodes = g.list(Gen::broker);
            p.isr_nodes = g.list(Gen::broker);
            if v >= 5 {
                p.offline_replicas = g.list(Gen::broker);
            }
            p.with_unknown_tagged_fields(g.tags())
        });
        if v >= 8 {
            t.topic_authorized_operations = g.i32();
        }
        t.with_unknown_tagged_fields(g.tags())
    });
    if (8..=10).contains(&v) {
        r.cluster_authorized_operations = g.i32();
    }
    if v >= 13 {
        r.error_code = g.i16();
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn metadata_round_trip() {
    run(ApiKey::Metadata, 9, metadata);
}

// ------------------------------------------------------------ DescribeCluster

fn describe_cluster(v: i16, g: &mut Gen) -> DescribeClusterResponse {
    let mut r = DescribeClusterResponse::default()
        .with_throttle_time_ms(g.i32())
        .with_error_code(g.i16())
        .with_error_message(g.os());
    if v >= 1 {
        r.endpoint_type = g.i8();
    }
    r.cluster_id = g.s();
    r.controller_id = g.broker();
    r.brokers = g.list(|g| {
        let mut b = DescribeClusterBroker::default()
            .with_broker_id(g.broker())
            .with_host(g.s())
            .with_port(g.i32())
            .with_rack(g.os());
        if v >= 2 {
            b.is_fenced = true;
        }
        b.with_unknown_tagged_fields(g.tags())
    });
    r.cluster_authorized_operations = g.i32();
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn describe_cluster_round_trip() {
    run(ApiKey::DescribeCluster, 0, describe_cluster);
}

// -------------------------------------------------------------------- Produce

fn produce(v: i16, g: &mut Gen) -> ProduceResponse {
    use kafka_protocol::messages::produce_response::{
        BatchIndexAndErrorMessage, LeaderIdAndEpoch, NodeEndpoint, PartitionProduceResponse,
        TopicProduceResponse,
    };
    let mut r = ProduceResponse::default();
    r.responses = g.list(|g| {
        let mut t = TopicProduceResponse::default();
        if v <= 12 {
            t.name = g.topic();
        }
        if v >= 13 {
            t.topic_id = g.uuid();
        }
        t.partition_responses = g.list(|g| {
            let mut p = PartitionProduceResponse::default()
                .with_index(g.i32())
                .with_error_code(g.i16())
                .with_base_offset(g.i64())
                .with_log_append_time_ms(g.i64());
            if v >= 5 {
                p.log_start_offset = g.i64();
            }
            if v >= 8 {
                p.record_errors = g.list(|g| {
                    BatchIndexAndErrorMessage::default()
                        .with_batch_index(g.i32())
                        .with_batch_index_error_message(g.os())
                        .with_unknown_tagged_fields(g.tags())
                });
                p.error_message = g.os();
            }
            if v >= 10 {
                p.current_leader = LeaderIdAndEpoch::default()
                    .with_leader_id(g.broker())
                    .with_leader_epoch(g.i32())
                    .with_unknown_tagged_fields(g.tags());
            }
            p.with_unknown_tagged_fields(g.tags())
        });
        t.with_unknown_tagged_fields(g.tags())
    });
    r.throttle_time_ms = g.i32();
    if v >= 10 {
        r.node_endpoints = g.list(|g| {
            NodeEndpoint::default()
                .with_node_id(g.broker())
                .with_host(g.s())
                .with_port(g.i32())
                .with_rack(g.os())
                .with_unknown_tagged_fields(g.tags())
        });
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn produce_round_trip() {
    run(ApiKey::Produce, 9, produce);
}

// ------------------------------------------------------------- InitProducerId

fn init_producer_id(v: i16, g: &mut Gen) -> InitProducerIdResponse {
    let mut r = InitProducerIdResponse::default()
        .with_throttle_time_ms(g.i32())
        .with_error_code(g.i16())
        .with_producer_id(g.producer())
        .with_producer_epoch(g.i16());
    if v >= 6 {
        r.ongoing_txn_producer_id = g.producer();
        r.ongoing_txn_producer_epoch = g.i16();
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn init_producer_id_round_trip() {
    run(ApiKey::InitProducerId, 2, init_producer_id);
}

// ---------------------------------------------------------------------- Fetch

fn fetch(v: i16, g: &mut Gen) -> FetchResponse {
    use kafka_protocol::messages::fetch_response::{
        AbortedTransaction, EpochEndOffset, FetchableTopicResponse, LeaderIdAndEpoch,
        PartitionData, SnapshotId,
    };
    let mut r = FetchResponse::default().with_throttle_time_ms(g.i32());
    if v >= 7 {
        r.error_code = g.i16();
        r.session_id = g.i32();
    }
    r.responses = g.list(|g| {
        let mut t = FetchableTopicResponse::default();
        if v <= 12 {
            t.topic = g.topic();
        }
        if v >= 13 {
            t.topic_id = g.uuid();
        }
        t.partitions = g.list(|g| {
            let mut p = PartitionData::default()
                .with_partition_index(g.i32())
                .with_error_code(g.i16())
                .with_high_watermark(g.i64())
                .with_last_stable_offset(g.i64());
            if v >= 5 {
                p.log_start_offset = g.i64();
            }
            p.aborted_transactions = g.olist(|g| {
                AbortedTransaction::default()
                    .with_producer_id(g.producer())
                    .with_first_offset(g.i64())
                    .with_unknown_tagged_fields(g.tags())
            });
            if v >= 11 {
                p.preferred_read_replica = g.broker();
            }
            p.records = g.ob();
            if v >= 12 {
                p.diverging_epoch = EpochEndOffset::default()
                    .with_epoch(g.i32())
                    .with_end_offset(g.i64())
                    .with_unknown_tagged_fields(g.tags());
                p.current_leader = LeaderIdAndEpoch::default()
                    .with_leader_id(g.broker())
                    .with_leader_epoch(g.i32())
                    .with_unknown_tagged_fields(g.tags());
                p.snapshot_id = SnapshotId::default()
                    .with_end_offset(g.i64())
                    .with_epoch(g.i32())
                    .with_unknown_tagged_fields(g.tags());
            }
            p.with_unknown_tagged_fields(g.tags())
        });
        t.with_unknown_tagged_fields(g.tags())
    });
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn fetch_round_trip() {
    run(ApiKey::Fetch, 12, fetch);
}

// ---------------------------------------------------------------- ListOffsets

fn list_offsets(v: i16, g: &mut Gen) -> ListOffsetsResponse {
    let mut r = ListOffsetsResponse::default();
    if v >= 2 {
        r.throttle_time_ms = g.i32();
    }
    r.topics = g.list(|g| {
        ListOffsetsTopicResponse::default()
            .with_name(g.topic())
            .with_partitions(g.list(|g| {
                let mut p = ListOffsetsPartitionResponse::default()
                    .with_partition_index(g.i32())
                    .with_error_code(g.i16())
                    .with_timestamp(g.i64())
                    .with_offset(g.i64());
                if v >= 4 {
                    p.leader_epoch = g.i32();
                }
                p.with_unknown_tagged_fields(g.tags())
            }))
            .with_unknown_tagged_fields(g.tags())
    });
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn list_offsets_round_trip() {
    run(ApiKey::ListOffsets, 6, list_offsets);
}

// ------------------------------------------------------- OffsetForLeaderEpoch

fn offset_for_leader_epoch(_v: i16, g: &mut Gen) -> OffsetForLeaderEpochResponse {
    use kafka_protocol::messages::offset_for_leader_epoch_response::{
        EpochEndOffset, OffsetForLeaderTopicResult,
    };
    OffsetForLeaderEpochResponse::default()
        .with_throttle_time_ms(g.i32())
        .with_topics(g.list(|g| {
            OffsetForLeaderTopicResult::default()
                .with_topic(g.topic())
                .with_partitions(g.list(|g| {
                    EpochEndOffset::default()
                        .with_error_code(g.i16())
                        .with_partition(g.i32())
                        .with_leader_epoch(g.i32())
                        .with_end_offset(g.i64())
                        .with_unknown_tagged_fields(g.tags())
                }))
                .with_unknown_tagged_fields(g.tags())
        }))
        .with_unknown_tagged_fields(g.tags())
}

#[test]
fn offset_for_leader_epoch_round_trip() {
    run(ApiKey::OffsetForLeaderEpoch, 4, offset_for_leader_epoch);
}

// -------------------------------------------------------------- DeleteRecords

fn delete_records(_v: i16, g: &mut Gen) -> DeleteRecordsResponse {
    DeleteRecordsResponse::default()
        .with_throttle_time_ms(g.i32())
        .with_topics(g.list(|g| {
            DeleteRecordsTopicResult::default()
                .with_name(g.topic())
                .with_partitions(g.list(|g| {
                    DeleteRecordsPartitionResult::default()
                        .with_partition_index(g.i32())
                        .with_low_watermark(g.i64())
                        .with_error_code(g.i16())
                        .with_unknown_tagged_fields(g.tags())
                }))
                .with_unknown_tagged_fields(g.tags())
        }))
        .with_unknown_tagged_fields(g.tags())
}

#[test]
fn delete_records_round_trip() {
    run(ApiKey::DeleteRecords, 2, delete_records);
}

// --------------------------------------------------------------- CreateTopics

fn create_topics(v: i16, g: &mut Gen) -> CreateTopicsResponse {
    CreateTopicsResponse::default()
        .with_throttle_time_ms(g.i32())
        .with_topics(g.list(|g| {
            let mut t = CreatableTopicResult::default().with_name(g.topic());
            if v >= 7 {
                t.topic_id = g.uuid();
            }
            t.error_code = g.i16();
            t.error_message = g.os();
            if v >= 5 {
                t.topic_config_error_code = g.i16();
                t.num_partitions = g.i32();
                t.replication_factor = g.i16();
                t.configs = g.olist(|g| {
                    CreatableTopicConfigs::default()
                        .with_name(g.s())
                        .with_value(g.os())
                        .with_read_only(true)
                        .with_config_source(g.i8())
                        .with_is_sensitive(true)
                        .with_unknown_tagged_fields(g.tags())
                });
            }
            t.with_unknown_tagged_fields(g.tags())
        }))
        .with_unknown_tagged_fields(g.tags())
}

#[test]
fn create_topics_round_trip() {
    run(ApiKey::CreateTopics, 5, create_topics);
}

// --------------------------------------------------------------- DeleteTopics

fn delete_topics(v: i16, g: &mut Gen) -> DeleteTopicsResponse {
    DeleteTopicsResponse::default()
        .with_throttle_time_ms(g.i32())
        .with_responses(g.list(|g| {
            let mut t = DeletableTopicResult::default().with_name(g.os().map(TopicName));
            if v >= 6 {
                t.topic_id = g.uuid();
            }
            t.error_code = g.i16();
            if v >= 5 {
                t.error_message = g.os();
            }
            t.with_unknown_tagged_fields(g.tags())
        }))
        .with_unknown_tagged_fields(g.tags())
}

#[test]
fn delete_topics_round_trip() {
    run(ApiKey::DeleteTopics, 4, delete_topics);
}

// ----------------------------------------------------------- CreatePartitions

fn create_partitions(_v: i16, g: &mut Gen) -> CreatePartitionsResponse {
    CreatePartitionsResponse::default()
        .with_throttle_time_ms(g.i32())
        .with_results(g.list(|g| {
            CreatePartitionsTopicResult::default()
                .with_name(g.topic())
                .with_error_code(g.i16())
                .with_error_message(g.os())
                .with_unknown_tagged_fields(g.tags())
        }))
        .with_unknown_tagged_fields(g.tags())
}

#[test]
fn create_partitions_round_trip() {
    run(ApiKey::CreatePartitions, 2, create_partitions);
}

// ------------------------------------------------------------ DescribeConfigs

fn describe_configs(v: i16, g: &mut Gen) -> DescribeConfigsResponse {
    DescribeConfigsResponse::default()
        .with_throttle_time_ms(g.i32())
        .with_results(g.list(|g| {
            DescribeConfigsResult::default()
                .with_error_code(g.i16())
                .with_error_message(g.os())
                .with_resource_type(g.i8())
                .with_resource_name(g.s())
                .with_configs(g.list(|g| {
                    let mut c = DescribeConfigsResourceResult::default()
                        .with_name(g.s())
                        .with_value(g.os())
                        .with_read_only(true)
                        .with_config_source(g.i8())
                        .with_is_sensitive(true)
                        .with_synonyms(g.list(|g| {
                            DescribeConfigsSynonym::default()
                                .with_name(g.s())
                                .with_value(g.os())
                                .with_source(g.i8())
                                .with_unknown_tagged_fields(g.tags())
                        }));
                    if v >= 3 {
                        c.config_type = g.i8();
                        c.documentation = g.os();
                    }
                    c.with_unknown_tagged_fields(g.tags())
                }))
                .with_unknown_tagged_fields(g.tags())
        }))
        .with_unknown_tagged_fields(g.tags())
}

#[test]
fn describe_configs_round_trip() {
    run(ApiKey::DescribeConfigs, 4, describe_configs);
}

// ------------------------------------------------------------ FindCoordinator

fn find_coordinator(v: i16, g: &mut Gen) -> FindCoordinatorResponse {
    let mut r = FindCoordinatorResponse::default();
    if v >= 1 {
        r.throttle_time_ms = g.i32();
    }
    if v <= 3 {
        r.error_code = g.i16();
        if v >= 1 {
            r.error_message = g.os();
        }
        r.node_id = g.broker();
        r.host = g.s();
        r.port = g.i32();
    }
    if v >= 4 {
        r.coordinators = g.list(|g| {
            Coordinator::default()
                .with_key(g.s())
                .with_node_id(g.broker())
                .with_host(g.s())
                .with_port(g.i32())
                .with_error_code(g.i16())
                .with_error_message(g.os())
                .with_unknown_tagged_fields(g.tags())
        });
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn find_coordinator_round_trip() {
    run(ApiKey::FindCoordinator, 3, find_coordinator);
}

// --------------------------------------------------------------- OffsetCommit

fn offset_commit(v: i16, g: &mut Gen) -> OffsetCommitResponse {
    let mut r = OffsetCommitResponse::default();
    if v >= 3 {
        r.throttle_time_ms = g.i32();
    }
    r.topics = g.list(|g| {
        let mut t = OffsetCommitResponseTopic::default();
        if v <= 9 {
            t.name = g.topic();
        }
        if v >= 10 {
            t.topic_id = g.uuid();
        }
        t.partitions = g.list(|g| {
            OffsetCommitResponsePartition::default()
                .with_partition_index(g.i32())
                .with_error_code(g.i16())
                .with_unknown_tagged_fields(g.tags())
        });
        t.with_unknown_tagged_fields(g.tags())
    });
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn offset_commit_round_trip() {
    run(ApiKey::OffsetCommit, 8, offset_commit);
}

// ---------------------------------------------------------------- OffsetFetch

fn offset_fetch(v: i16, g: &mut Gen) -> OffsetFetchResponse {
    let mut r = OffsetFetchResponse::default();
    if v >= 3 {
        r.throttle_time_ms = g.i32();
    }
    if v <= 7 {
        r.topics = g.list(|g| {
            OffsetFetchResponseTopic::default()
                .with_name(g.topic())
                .with_partitions(g.list(|g| {
                    let mut p = OffsetFetchResponsePartition::default()
                        .with_partition_index(g.i32())
                        .with_committed_offset(g.i64());
                    if v >= 5 {
                        p.committed_leader_epoch = g.i32();
                    }
                    p.metadata = g.os();
                    p.error_code = g.i16();
                    p.with_unknown_tagged_fields(g.tags())
                }))
                .with_unknown_tagged_fields(g.tags())
        });
    }
    if (2..=7).contains(&v) {
        r.error_code = g.i16();
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn offset_fetch_round_trip() {
    run(ApiKey::OffsetFetch, 6, offset_fetch);
}

// ------------------------------------------------------------------ JoinGroup

fn join_group(v: i16, g: &mut Gen) -> JoinGroupResponse {
    let mut r = JoinGroupResponse::default();
    if v >= 2 {
        r.throttle_time_ms = g.i32();
    }
    r.error_code = g.i16();
    r.generation_id = g.i32();
    if v >= 7 {
        r.protocol_type = g.os();
    }
    r.protocol_name = g.os();
    r.leader = g.s();
    if v >= 9 {
        r.skip_assignment = true;
    }
    r.member_id = g.s();
    r.members = g.list(|g| {
        let mut m = JoinGroupResponseMember::default().with_member_id(g.s());
        if v >= 5 {
            m.group_instance_id = g.os();
        }
        m.metadata = g.bytes();
        m.with_unknown_tagged_fields(g.tags())
    });
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn join_group_round_trip() {
    run(ApiKey::JoinGroup, 6, join_group);
}

// ------------------------------------------------------------------ SyncGroup

fn sync_group(v: i16, g: &mut Gen) -> SyncGroupResponse {
    let mut r = SyncGroupResponse::default();
    if v >= 1 {
        r.throttle_time_ms = g.i32();
    }
    r.error_code = g.i16();
    if v >= 5 {
        r.protocol_type = g.os();
        r.protocol_name = g.os();
    }
    r.assignment = g.bytes();
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn sync_group_round_trip() {
    run(ApiKey::SyncGroup, 4, sync_group);
}

// ------------------------------------------------------------------ Heartbeat

fn heartbeat(v: i16, g: &mut Gen) -> HeartbeatResponse {
    let mut r = HeartbeatResponse::default();
    if v >= 1 {
        r.throttle_time_ms = g.i32();
    }
    r.error_code = g.i16();
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn heartbeat_round_trip() {
    run(ApiKey::Heartbeat, 4, heartbeat);
}

// ----------------------------------------------------------------- LeaveGroup

fn leave_group(v: i16, g: &mut Gen) -> LeaveGroupResponse {
    let mut r = LeaveGroupResponse::default();
    if v >= 1 {
        r.throttle_time_ms = g.i32();
    }
    r.error_code = g.i16();
    if v >= 3 {
        r.members = g.list(|g| {
            MemberResponse::default()
                .with_member_id(g.s())
                .with_group_instance_id(g.os())
                .with_error_code(g.i16())
                .with_unknown_tagged_fields(g.tags())
        });
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn leave_group_round_trip() {
    run(ApiKey::LeaveGroup, 4, leave_group);
}

// --------------------------------------------------------------------- SASL

fn sasl_handshake(_v: i16, g: &mut Gen) -> SaslHandshakeResponse {
    SaslHandshakeResponse::default()
        .with_error_code(g.i16())
        .with_mechanisms(g.list(Gen::s))
}

#[test]
fn sasl_handshake_round_trip() {
    run(ApiKey::SaslHandshake, i16::MAX, sasl_handshake);
}

fn sasl_authenticate(v: i16, g: &mut Gen) -> SaslAuthenticateResponse {
    let mut r = SaslAuthenticateResponse::default()
        .with_error_code(g.i16())
        .with_error_message(g.os())
        .with_auth_bytes(g.bytes());
    if v >= 1 {
        r.session_lifetime_ms = g.i64();
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn sasl_authenticate_round_trip() {
    run(ApiKey::SaslAuthenticate, 2, sasl_authenticate);
}
