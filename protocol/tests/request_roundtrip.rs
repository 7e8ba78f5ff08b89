//! Proof that the request schema tables of the bounded decoder match
//! `kafka-protocol`'s wire layout.
//!
//! For every API and every version in `SUPPORTED_VERSIONS`, a request is
//! built with realistic contents (every array with two elements at every
//! level, strings of varying lengths, large integers, the known tagged
//! fields set, unknown tagged fields at every level in flexible versions)
//! and put through the round trip of `support/roundtrip.rs`: walked,
//! decoded by `decode_request` and `decode_request_kind`, cut short,
//! padded after its last field (1 to 16 bytes, ignored), and nudged byte
//! by byte.
//!
//! Each request is built twice per version: with every nullable value
//! present, and with every nullable value null, so both encodings of the
//! null marker are walked. A field the tables place, size or encode wrongly
//! shifts the walk onto bytes that do not parse as the expected lengths and
//! counts, and the check that the walk ends exactly at the end of the
//! encoding fails.

#[path = "support/gen.rs"]
mod gen;
use gen::Gen;
#[macro_use]
#[path = "support/roundtrip.rs"]
mod roundtrip;

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::bounded::{decode_request, validate_request, RequestDecodeError};
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
    OffsetFetchRequest, OffsetForLeaderEpochRequest, ProduceRequest, ProducerId,
    SaslAuthenticateRequest, SaslHandshakeRequest, SyncGroupRequest, TopicName, TransactionalId,
};
use kafka_protocol::protocol::{Encodable, StrBytes};

round_trips!(Requests:
    produce, fetch, list_offsets, offset_for_leader_epoch, metadata, describe_cluster,
    api_versions, sasl_handshake, sasl_authenticate, init_producer_id, find_coordinator,
    offset_commit, offset_fetch, join_group, sync_group, heartbeat, leave_group, create_topics,
    delete_topics, delete_records, create_partitions, describe_configs,
);

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

// ----------------------------------------------------------- DescribeCluster

fn describe_cluster(v: i16, g: &mut Gen) -> DescribeClusterRequest {
    let mut r = DescribeClusterRequest::default().with_include_cluster_authorized_operations(true);
    if v >= 1 {
        r.endpoint_type = 2;
    }
    r.with_unknown_tagged_fields(g.tags())
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

// ---------------------------------------------------------------------- SASL

fn sasl_handshake(_v: i16, g: &mut Gen) -> SaslHandshakeRequest {
    SaslHandshakeRequest::default().with_mechanism(g.s())
}

fn sasl_authenticate(_v: i16, g: &mut Gen) -> SaslAuthenticateRequest {
    SaslAuthenticateRequest::default()
        .with_auth_bytes(g.bytes())
        .with_unknown_tagged_fields(g.tags())
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
