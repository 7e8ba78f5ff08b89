//! Proof that the response schema tables of the bounded decoder match
//! `kafka-protocol`'s wire layout.
//!
//! For every API and every version in `SUPPORTED_VERSIONS`, a response is
//! built with `kafka-protocol`'s builders (every array at every level with
//! at least two elements, every string, byte string and integer
//! non-default, known tagged fields set, unknown tagged fields added at
//! every level in flexible versions) and put through the round trip of
//! `support/roundtrip.rs`: walked, decoded by `decode_response` and
//! `decode_response_kind`, cut short, padded after its last field (1 to 16
//! bytes, ignored), and nudged byte by byte.
//!
//! Each response is built twice per version: once with every nullable
//! string, byte string and array present, once with all of them null, so
//! both the value and the null-marker encodings are walked.
//!
//! Integers are large (their high bytes are `0x5A`, `0x5B`...) and strings
//! have varying lengths, so a field the tables place, size or encode
//! wrongly shifts the walk onto bytes that do not parse as the expected
//! lengths and counts, and the check that the walk ends exactly at the end
//! of the encoding fails.

#[path = "support/gen.rs"]
mod gen;
use gen::Gen;
#[macro_use]
#[path = "support/roundtrip.rs"]
mod roundtrip;

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
    ApiVersionsResponse, CreatePartitionsResponse, CreateTopicsResponse, DeleteRecordsResponse,
    DeleteTopicsResponse, DescribeClusterResponse, DescribeConfigsResponse, FetchResponse,
    FindCoordinatorResponse, HeartbeatResponse, InitProducerIdResponse, JoinGroupResponse,
    LeaveGroupResponse, ListOffsetsResponse, MetadataResponse, OffsetCommitResponse,
    OffsetFetchResponse, OffsetForLeaderEpochResponse, ProduceResponse, SaslAuthenticateResponse,
    SaslHandshakeResponse, SyncGroupResponse, TopicName,
};

round_trips!(Responses:
    api_versions, metadata, describe_cluster, produce, init_producer_id, fetch, list_offsets,
    offset_for_leader_epoch, delete_records, create_topics, delete_topics, create_partitions,
    describe_configs, find_coordinator, offset_commit, offset_fetch, join_group, sync_group,
    heartbeat, leave_group, sasl_handshake, sasl_authenticate,
);

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

// ------------------------------------------------------------------ Heartbeat

fn heartbeat(v: i16, g: &mut Gen) -> HeartbeatResponse {
    let mut r = HeartbeatResponse::default();
    if v >= 1 {
        r.throttle_time_ms = g.i32();
    }
    r.error_code = g.i16();
    r.with_unknown_tagged_fields(g.tags())
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

// --------------------------------------------------------------------- SASL

fn sasl_handshake(_v: i16, g: &mut Gen) -> SaslHandshakeResponse {
    SaslHandshakeResponse::default()
        .with_error_code(g.i16())
        .with_mechanisms(g.list(Gen::s))
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
