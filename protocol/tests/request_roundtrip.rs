//! Proof that the request schema tables of the bounded decoder match
//! `kafka-protocol`'s wire layout.
//!
//! For every API and every version in `SUPPORTED_VERSIONS`, a request is
//! built with realistic contents (every array with two elements at every
//! level, strings of varying lengths, large integers, the known tagged
//! fields set, unknown tagged fields at every level in flexible versions),
//! encoded by `kafka-protocol`, and then:
//! - `validate_request` must accept it;
//! - `decode_request` and `decode_request_kind` must return a value equal
//!   to the original and consume the body;
//! - every strict prefix of it, and it with one trailing byte, must be
//!   rejected;
//! - every byte nudged up or down by one either fails the walk, or
//!   `kafka-protocol` refuses it, or both read exactly the same bytes.
//!
//! Each request is built twice per version: with every nullable value
//! present, and with every nullable value null, so both encodings of the
//! null marker are walked. A field the tables place, size or encode wrongly
//! shifts the walk onto bytes that do not parse as the expected lengths and
//! counts, and the exact-consumption check fails.

#[path = "support/gen.rs"]
mod gen;
use gen::Gen;

use std::collections::BTreeSet;
use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::bounded::{
    decode_request, decode_request_kind, supported_versions, validate_request, BoundedRequest,
    RequestDecodeError, SUPPORTED_VERSIONS,
};
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsAssignment, CreatePartitionsTopic,
};
use kafka_protocol::messages::create_topics_request::{
    CreatableReplicaAssignment, CreatableTopic, CreatableTopicConfig,
};
use kafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use kafka_protocol::messages::delete_topics_request::DeleteTopicState;
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic, ForgottenTopic};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::leave_group_request::MemberIdentity;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequestGroup, OffsetFetchRequestTopic, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::offset_for_leader_epoch_request::{
    OffsetForLeaderPartition, OffsetForLeaderTopic,
};
use kafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, CreatePartitionsRequest, CreateTopicsRequest, DeleteRecordsRequest,
    DeleteTopicsRequest, DescribeClusterRequest, DescribeConfigsRequest, FetchRequest,
    FindCoordinatorRequest, HeartbeatRequest, InitProducerIdRequest, JoinGroupRequest,
    LeaveGroupRequest, ListOffsetsRequest, MetadataRequest, OffsetCommitRequest,
    OffsetFetchRequest, OffsetForLeaderEpochRequest, ProduceRequest, ProducerId, RequestKind,
    SaslAuthenticateRequest, SaslHandshakeRequest, SyncGroupRequest, TopicName, TransactionalId,
};
use kafka_protocol::protocol::{Encodable, StrBytes};

/// Runs the round trip for every covered version of `api`.
fn run<R>(api: ApiKey, flexible_from: i16, build: fn(i16, &mut Gen) -> R)
where
    R: BoundedRequest + Encodable + PartialEq + Debug + Clone,
    RequestKind: From<R>,
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
            let ctx = format!("{api:?} request v{v} (nulls: {nulls})");
            let mut buf = BytesMut::new();
            original
                .encode(&mut buf, v)
                .unwrap_or_else(|e| panic!("{ctx}: kafka-protocol refused to encode: {e}"));
            let wire = buf.freeze();

            validate_request(api, v, &wire)
                .unwrap_or_else(|e| panic!("{ctx}: validate_request refused: {e}"));

            let mut body = wire.clone();
            let decoded: R = decode_request(&mut body, v)
                .unwrap_or_else(|e| panic!("{ctx}: decode_request failed: {e}"));
            assert!(body.is_empty(), "{ctx}: body not consumed");
            assert_eq!(decoded, original, "{ctx}: round trip changed the value");

            let mut body = wire.clone();
            let kind = decode_request_kind(api, v, &mut body)
                .unwrap_or_else(|e| panic!("{ctx}: decode_request_kind failed: {e}"));
            assert!(body.is_empty(), "{ctx}: body not consumed by kind");
            assert_eq!(kind, RequestKind::from(original.clone()), "{ctx}: kind");

            for cut in 0..wire.len() {
                assert!(
                    validate_request(api, v, &wire[..cut]).is_err(),
                    "{ctx}: prefix of {cut}/{} bytes accepted",
                    wire.len()
                );
            }
            let mut longer = wire.to_vec();
            longer.push(0);
            let err = validate_request(api, v, &longer).expect_err("trailing byte");
            assert!(
                matches!(err, RequestDecodeError::Malformed { .. }),
                "{ctx}: {err}"
            );

            differential::<R>(api, v, &wire, &ctx);
        }
    }
}

/// Nudges every byte of `wire` up and down by one. Whenever the walk
/// accepts the result, `kafka-protocol` must either refuse it or read
/// exactly the bytes the walk read.
fn differential<R: BoundedRequest + Debug>(api: ApiKey, v: i16, wire: &Bytes, ctx: &str) {
    for at in 0..wire.len() {
        for delta in [1u8, 0xff] {
            let mut body = wire.to_vec();
            body[at] = body[at].wrapping_add(delta);
            if validate_request(api, v, &body).is_err() {
                continue;
            }
            match decode_request::<R>(&mut Bytes::from(body), v) {
                Ok(_) | Err(RequestDecodeError::Rejected { .. }) => {}
                Err(e) => panic!("{ctx}: byte {at} + {delta}: validated, then: {e}"),
            }
        }
    }
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

#[test]
fn every_api_in_the_table_has_a_round_trip_here() {
    let covered: BTreeSet<i16> = COVERED.iter().map(|k| *k as i16).collect();
    let table: BTreeSet<i16> = SUPPORTED_VERSIONS
        .iter()
        .map(|(k, _, _)| *k as i16)
        .collect();
    assert_eq!(covered, table);
}

#[test]
fn versions_and_apis_outside_the_table_are_refused() {
    for (api, min, max) in SUPPORTED_VERSIONS {
        for v in [min - 1, max + 1] {
            let err = validate_request(api, v, &[]).expect_err("out of table");
            assert!(
                matches!(err, RequestDecodeError::UnsupportedVersion { api_key, version, supported }
                    if api_key == api && version == v && supported == (min, max)),
                "{api:?} v{v}: {err}"
            );
            let err = decode_request_kind(api, v, &mut Bytes::new()).expect_err("out of table");
            assert!(matches!(err, RequestDecodeError::UnsupportedVersion { .. }));
        }
    }
    let err = validate_request(ApiKey::DescribeAcls, 1, &[]).expect_err("not covered");
    assert!(
        matches!(err, RequestDecodeError::UnsupportedApi { .. }),
        "{err}"
    );
    let err = decode_request_kind(ApiKey::DescribeAcls, 1, &mut Bytes::new()).expect_err("x");
    assert!(
        matches!(err, RequestDecodeError::UnsupportedApi { .. }),
        "{err}"
    );
}

#[test]
fn a_null_where_kafka_protocol_forbids_one_is_rejected_not_malformed() {
    // SaslHandshake's mechanism is a non-nullable string: the walk accepts
    // the null marker (its layout is fine), kafka-protocol refuses it.
    let mut body = Bytes::from_static(&[0xff, 0xff]);
    let err = decode_request::<SaslHandshakeRequest>(&mut body, 1).expect_err("null mechanism");
    assert!(matches!(err, RequestDecodeError::Rejected { .. }), "{err}");
    assert_eq!(body.len(), 2, "the body is left as it was on error");
    assert!(
        err.to_string().contains("client sent a malformed request"),
        "{err}"
    );
}

// ------------------------------------------------------------------ Produce

fn produce(v: i16, g: &mut Gen) -> ProduceRequest {
    ProduceRequest::default()
        .with_transactional_id(g.os().map(TransactionalId))
        .with_acks(-1)
        .with_timeout_ms(g.i32())
        .with_topic_data(g.list(|g| {
            let mut t = TopicProduceData::default();
            if v <= 12 {
                t.name = g.topic();
            } else {
                t.topic_id = g.uuid();
            }
            t.partition_data = g.list(|g| {
                PartitionProduceData::default()
                    .with_index(g.i32())
                    .with_records(g.ob())
                    .with_unknown_tagged_fields(g.tags())
            });
            t.with_unknown_tagged_fields(g.tags())
        }))
        .with_unknown_tagged_fields(g.tags())
}

#[test]
fn produce_round_trip() {
    run(ApiKey::Produce, 9, produce);
}

// --------------------------------------------------------------------- Fetch

fn fetch(v: i16, g: &mut Gen) -> FetchRequest {
    let mut r = FetchRequest::default();
    if v <= 14 {
        r.replica_id = g.broker();
    }
    r.max_wait_ms = g.i32();
    r.min_bytes = g.i32();
    r.max_bytes = g.i32();
    r.isolation_level = 1;
    if v >= 7 {
        r.session_id = g.i32();
        r.session_epoch = g.i32();
    }
    r.topics = g.list(|g| {
        let mut t = FetchTopic::default();
        if v <= 12 {
            t.topic = g.topic();
        } else {
            t.topic_id = g.uuid();
        }
        t.partitions = g.list(|g| {
            let mut p = FetchPartition::default().with_partition(g.i32());
            if v >= 9 {
                p.current_leader_epoch = g.i32();
            }
            p.fetch_offset = g.i64();
            if v >= 12 {
                p.last_fetched_epoch = g.i32();
            }
            if v >= 5 {
                p.log_start_offset = g.i64();
            }
            p.partition_max_bytes = g.i32();
            p.with_unknown_tagged_fields(g.tags())
        });
        t.with_unknown_tagged_fields(g.tags())
    });
    if v >= 7 {
        r.forgotten_topics_data = g.list(|g| {
            let mut t = ForgottenTopic::default();
            if v <= 12 {
                t.topic = g.topic();
            } else {
                t.topic_id = g.uuid();
            }
            t.partitions = g.list(Gen::i32);
            t.with_unknown_tagged_fields(g.tags())
        });
    }
    if v >= 11 {
        r.rack_id = g.s();
    }
    if v >= 12 {
        // The one known tagged field of the requests covered.
        r.cluster_id = g.os();
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn fetch_round_trip() {
    run(ApiKey::Fetch, 12, fetch);
}

#[test]
fn fetch_cluster_id_tag_is_walked_by_its_layout() {
    // The cluster id (tag 0) declared one byte longer than its value:
    // kafka-protocol would read the string and then misread the rest, so
    // the walk must refuse it.
    let mut g = Gen {
        n: 0,
        nulls: false,
        flexible: true,
    };
    let request = FetchRequest::default()
        .with_cluster_id(Some(StrBytes::from_static_str("abc")))
        .with_topics(vec![FetchTopic::default().with_topic(g.topic())]);
    let mut buf = BytesMut::new();
    request.encode(&mut buf, 12).unwrap();
    let mut wire = buf.to_vec();
    // The root tag section is the tail: count 1, tag 0, size 4, "abc" compact.
    let tail = [1u8, 0, 4, 4, b'a', b'b', b'c'];
    assert!(wire.ends_with(&tail), "unexpected encoding: {wire:?}");
    let at = wire.len() - tail.len();
    validate_request(ApiKey::Fetch, 12, &wire).expect("valid as encoded");
    wire[at + 2] = 5;
    wire.push(0);
    let err = validate_request(ApiKey::Fetch, 12, &wire).expect_err("size mismatch");
    assert!(err.to_string().contains("tagged field 0"), "{err}");
}

// --------------------------------------------------------------- ListOffsets

fn list_offsets(v: i16, g: &mut Gen) -> ListOffsetsRequest {
    let mut r = ListOffsetsRequest::default().with_replica_id(g.broker());
    if v >= 2 {
        r.isolation_level = 1;
    }
    r.topics = g.list(|g| {
        ListOffsetsTopic::default()
            .with_name(g.topic())
            .with_partitions(g.list(|g| {
                let mut p = ListOffsetsPartition::default().with_partition_index(g.i32());
                if v >= 4 {
                    p.current_leader_epoch = g.i32();
                }
                p.with_timestamp(g.i64())
                    .with_unknown_tagged_fields(g.tags())
            }))
            .with_unknown_tagged_fields(g.tags())
    });
    if v >= 10 {
        r.timeout_ms = g.i32();
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn list_offsets_round_trip() {
    run(ApiKey::ListOffsets, 6, list_offsets);
}

// ------------------------------------------------------ OffsetForLeaderEpoch

fn offset_for_leader_epoch(v: i16, g: &mut Gen) -> OffsetForLeaderEpochRequest {
    let mut r = OffsetForLeaderEpochRequest::default();
    if v >= 3 {
        r.replica_id = g.broker();
    }
    r.topics = g.list(|g| {
        OffsetForLeaderTopic::default()
            .with_topic(g.topic())
            .with_partitions(g.list(|g| {
                OffsetForLeaderPartition::default()
                    .with_partition(g.i32())
                    .with_current_leader_epoch(g.i32())
                    .with_leader_epoch(g.i32())
                    .with_unknown_tagged_fields(g.tags())
            }))
            .with_unknown_tagged_fields(g.tags())
    });
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn offset_for_leader_epoch_round_trip() {
    run(ApiKey::OffsetForLeaderEpoch, 4, offset_for_leader_epoch);
}

// ------------------------------------------------------------------ Metadata

fn metadata(v: i16, g: &mut Gen) -> MetadataRequest {
    let mut r = MetadataRequest::default();
    // Null ("all topics") exists from v1 on.
    r.topics = g.olist(|g| {
        let mut t = MetadataRequestTopic::default();
        if v >= 10 {
            t.topic_id = g.uuid();
            t.name = g.os().map(TopicName);
        } else {
            t.name = Some(g.topic());
        }
        t.with_unknown_tagged_fields(g.tags())
    });
    if v >= 4 {
        r.allow_auto_topic_creation = false;
    }
    if (8..=10).contains(&v) {
        r.include_cluster_authorized_operations = true;
    }
    if v >= 8 {
        r.include_topic_authorized_operations = true;
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn metadata_round_trip() {
    run(ApiKey::Metadata, 9, metadata);
}

// ----------------------------------------------------------- DescribeCluster

fn describe_cluster(v: i16, g: &mut Gen) -> DescribeClusterRequest {
    let mut r = DescribeClusterRequest::default().with_include_cluster_authorized_operations(true);
    if v >= 1 {
        r.endpoint_type = 2;
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn describe_cluster_round_trip() {
    run(ApiKey::DescribeCluster, 0, describe_cluster);
}

// --------------------------------------------------------------- ApiVersions

fn api_versions(v: i16, g: &mut Gen) -> ApiVersionsRequest {
    let mut r = ApiVersionsRequest::default();
    if v >= 3 {
        r.client_software_name = g.s();
        r.client_software_version = g.s();
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn api_versions_round_trip() {
    run(ApiKey::ApiVersions, 3, api_versions);
}

// ---------------------------------------------------------------------- SASL

fn sasl_handshake(_v: i16, g: &mut Gen) -> SaslHandshakeRequest {
    SaslHandshakeRequest::default().with_mechanism(g.s())
}

#[test]
fn sasl_handshake_round_trip() {
    run(ApiKey::SaslHandshake, i16::MAX, sasl_handshake);
}

fn sasl_authenticate(_v: i16, g: &mut Gen) -> SaslAuthenticateRequest {
    SaslAuthenticateRequest::default()
        .with_auth_bytes(g.bytes())
        .with_unknown_tagged_fields(g.tags())
}

#[test]
fn sasl_authenticate_round_trip() {
    run(ApiKey::SaslAuthenticate, 2, sasl_authenticate);
}

// ------------------------------------------------------------ InitProducerId

fn init_producer_id(v: i16, g: &mut Gen) -> InitProducerIdRequest {
    let mut r = InitProducerIdRequest::default()
        .with_transactional_id(g.os().map(TransactionalId))
        .with_transaction_timeout_ms(g.i32());
    if v >= 3 {
        r.producer_id = ProducerId(g.i64());
        r.producer_epoch = g.i16();
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn init_producer_id_round_trip() {
    run(ApiKey::InitProducerId, 2, init_producer_id);
}

// -------------------------------------------------------------------- Groups

fn find_coordinator(v: i16, g: &mut Gen) -> FindCoordinatorRequest {
    let mut r = FindCoordinatorRequest::default();
    if v <= 3 {
        r.key = g.s();
    }
    if v >= 1 {
        r.key_type = 1;
    }
    if v >= 4 {
        r.coordinator_keys = g.list(Gen::s);
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn find_coordinator_round_trip() {
    run(ApiKey::FindCoordinator, 3, find_coordinator);
}

fn offset_commit(v: i16, g: &mut Gen) -> OffsetCommitRequest {
    let mut r = OffsetCommitRequest::default()
        .with_group_id(g.group())
        .with_generation_id_or_member_epoch(g.i32())
        .with_member_id(g.s());
    if v >= 7 {
        r.group_instance_id = g.os();
    }
    if v <= 4 {
        r.retention_time_ms = g.i64();
    }
    r.topics = g.list(|g| {
        OffsetCommitRequestTopic::default()
            .with_name(g.topic())
            .with_partitions(g.list(|g| {
                let mut p = OffsetCommitRequestPartition::default()
                    .with_partition_index(g.i32())
                    .with_committed_offset(g.i64());
                if v >= 6 {
                    p.committed_leader_epoch = g.i32();
                }
                p.with_committed_metadata(g.os())
                    .with_unknown_tagged_fields(g.tags())
            }))
            .with_unknown_tagged_fields(g.tags())
    });
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn offset_commit_round_trip() {
    run(ApiKey::OffsetCommit, 8, offset_commit);
}

fn offset_fetch(v: i16, g: &mut Gen) -> OffsetFetchRequest {
    let mut r = OffsetFetchRequest::default();
    if v <= 7 {
        r.group_id = g.group();
        // Null ("all topics") exists from v2 on.
        let topic = |g: &mut Gen| {
            OffsetFetchRequestTopic::default()
                .with_name(g.topic())
                .with_partition_indexes(g.list(Gen::i32))
                .with_unknown_tagged_fields(g.tags())
        };
        r.topics = if v >= 2 {
            g.olist(topic)
        } else {
            Some(g.list(topic))
        };
    } else {
        r.groups = g.list(|g| {
            let mut group = OffsetFetchRequestGroup::default().with_group_id(g.group());
            if v >= 9 {
                group.member_id = g.os();
                group.member_epoch = g.i32();
            }
            group.topics = g.olist(|g| {
                OffsetFetchRequestTopics::default()
                    .with_name(g.topic())
                    .with_partition_indexes(g.list(Gen::i32))
                    .with_unknown_tagged_fields(g.tags())
            });
            group.with_unknown_tagged_fields(g.tags())
        });
    }
    if v >= 7 {
        r.require_stable = true;
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn offset_fetch_round_trip() {
    run(ApiKey::OffsetFetch, 6, offset_fetch);
}

fn join_group(v: i16, g: &mut Gen) -> JoinGroupRequest {
    let mut r = JoinGroupRequest::default()
        .with_group_id(g.group())
        .with_session_timeout_ms(g.i32());
    if v >= 1 {
        r.rebalance_timeout_ms = g.i32();
    }
    r.member_id = g.s();
    if v >= 5 {
        r.group_instance_id = g.os();
    }
    r.protocol_type = g.s();
    r.protocols = g.list(|g| {
        JoinGroupRequestProtocol::default()
            .with_name(g.s())
            .with_metadata(g.bytes())
            .with_unknown_tagged_fields(g.tags())
    });
    if v >= 8 {
        r.reason = g.os();
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn join_group_round_trip() {
    run(ApiKey::JoinGroup, 6, join_group);
}

fn sync_group(v: i16, g: &mut Gen) -> SyncGroupRequest {
    let mut r = SyncGroupRequest::default()
        .with_group_id(g.group())
        .with_generation_id(g.i32())
        .with_member_id(g.s());
    if v >= 3 {
        r.group_instance_id = g.os();
    }
    if v >= 5 {
        r.protocol_type = g.os();
        r.protocol_name = g.os();
    }
    r.assignments = g.list(|g| {
        SyncGroupRequestAssignment::default()
            .with_member_id(g.s())
            .with_assignment(g.bytes())
            .with_unknown_tagged_fields(g.tags())
    });
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn sync_group_round_trip() {
    run(ApiKey::SyncGroup, 4, sync_group);
}

fn heartbeat(v: i16, g: &mut Gen) -> HeartbeatRequest {
    let mut r = HeartbeatRequest::default()
        .with_group_id(g.group())
        .with_generation_id(g.i32())
        .with_member_id(g.s());
    if v >= 3 {
        r.group_instance_id = g.os();
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn heartbeat_round_trip() {
    run(ApiKey::Heartbeat, 4, heartbeat);
}

fn leave_group(v: i16, g: &mut Gen) -> LeaveGroupRequest {
    let mut r = LeaveGroupRequest::default().with_group_id(g.group());
    if v <= 2 {
        r.member_id = g.s();
    } else {
        r.members = g.list(|g| {
            MemberIdentity::default()
                .with_member_id(g.s())
                .with_group_instance_id(g.os())
                .with_unknown_tagged_fields(g.tags())
        });
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn leave_group_round_trip() {
    run(ApiKey::LeaveGroup, 4, leave_group);
}

// --------------------------------------------------------------------- Admin

fn create_topics(v: i16, g: &mut Gen) -> CreateTopicsRequest {
    CreateTopicsRequest::default()
        .with_topics(g.list(|g| {
            CreatableTopic::default()
                .with_name(g.topic())
                .with_num_partitions(g.i32())
                .with_replication_factor(g.i16())
                .with_assignments(g.list(|g| {
                    CreatableReplicaAssignment::default()
                        .with_partition_index(g.i32())
                        .with_broker_ids(g.list(Gen::broker))
                        .with_unknown_tagged_fields(g.tags())
                }))
                .with_configs(g.list(|g| {
                    CreatableTopicConfig::default()
                        .with_name(g.s())
                        .with_value(g.os())
                        .with_unknown_tagged_fields(g.tags())
                }))
                .with_unknown_tagged_fields(g.tags())
        }))
        .with_timeout_ms(g.i32())
        .with_validate_only(v % 2 == 0)
        .with_unknown_tagged_fields(g.tags())
}

#[test]
fn create_topics_round_trip() {
    run(ApiKey::CreateTopics, 5, create_topics);
}

fn delete_topics(v: i16, g: &mut Gen) -> DeleteTopicsRequest {
    let mut r = DeleteTopicsRequest::default();
    if v >= 6 {
        r.topics = g.list(|g| {
            DeleteTopicState::default()
                .with_name(g.os().map(TopicName))
                .with_topic_id(g.uuid())
                .with_unknown_tagged_fields(g.tags())
        });
    } else {
        r.topic_names = g.list(Gen::topic);
    }
    r.with_timeout_ms(g.i32())
        .with_unknown_tagged_fields(g.tags())
}

#[test]
fn delete_topics_round_trip() {
    run(ApiKey::DeleteTopics, 4, delete_topics);
}

fn delete_records(_v: i16, g: &mut Gen) -> DeleteRecordsRequest {
    DeleteRecordsRequest::default()
        .with_topics(g.list(|g| {
            DeleteRecordsTopic::default()
                .with_name(g.topic())
                .with_partitions(g.list(|g| {
                    DeleteRecordsPartition::default()
                        .with_partition_index(g.i32())
                        .with_offset(g.i64())
                        .with_unknown_tagged_fields(g.tags())
                }))
                .with_unknown_tagged_fields(g.tags())
        }))
        .with_timeout_ms(g.i32())
        .with_unknown_tagged_fields(g.tags())
}

#[test]
fn delete_records_round_trip() {
    run(ApiKey::DeleteRecords, 2, delete_records);
}

fn create_partitions(_v: i16, g: &mut Gen) -> CreatePartitionsRequest {
    CreatePartitionsRequest::default()
        .with_topics(g.list(|g| {
            CreatePartitionsTopic::default()
                .with_name(g.topic())
                .with_count(g.i32())
                .with_assignments(g.olist(|g| {
                    CreatePartitionsAssignment::default()
                        .with_broker_ids(g.list(Gen::broker))
                        .with_unknown_tagged_fields(g.tags())
                }))
                .with_unknown_tagged_fields(g.tags())
        }))
        .with_timeout_ms(g.i32())
        .with_validate_only(true)
        .with_unknown_tagged_fields(g.tags())
}

#[test]
fn create_partitions_round_trip() {
    run(ApiKey::CreatePartitions, 2, create_partitions);
}

fn describe_configs(v: i16, g: &mut Gen) -> DescribeConfigsRequest {
    let mut r = DescribeConfigsRequest::default()
        .with_resources(g.list(|g| {
            DescribeConfigsResource::default()
                .with_resource_type(g.i8())
                .with_resource_name(g.s())
                .with_configuration_keys(g.olist(Gen::s))
                .with_unknown_tagged_fields(g.tags())
        }))
        .with_include_synonyms(true);
    if v >= 3 {
        r.include_documentation = true;
    }
    r.with_unknown_tagged_fields(g.tags())
}

#[test]
fn describe_configs_round_trip() {
    run(ApiKey::DescribeConfigs, 4, describe_configs);
}
