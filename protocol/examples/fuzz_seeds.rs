//! Writes seed corpora for the cargo-fuzz targets in `fuzz/`: valid
//! encodings, so the fuzzers start from inputs that get past the first
//! checks. Usage: `cargo run -p ferrokafka-protocol --example fuzz_seeds -- fuzz/corpus`.

use std::fs;
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use ferrokafka_protocol::bounded::supported_versions;
use ferrokafka_protocol::compression::Compression;
use ferrokafka_protocol::frame::encode_frame;
use ferrokafka_protocol::messages::*;
use ferrokafka_protocol::record::BatchBuilder;
use ferrokafka_protocol::StrBytes;
use kafka_protocol::protocol::Encodable;

#[path = "../tests/support/default_requests.rs"]
mod default_requests;
use default_requests::default_request;

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("create corpus directory");
    fs::write(dir.join(name), bytes).expect("write seed");
}

/// Seeds for `response_<api>`: the selector byte, then a body encoded at the
/// version that selector picks.
fn response_seeds<R: Encodable + Default>(root: &Path, target: &str, api: ApiKey, samples: &[R]) {
    let (min, max) = supported_versions(api).expect("implemented");
    for version in min..=max {
        for (i, sample) in samples
            .iter()
            .chain(std::iter::once(&R::default()))
            .enumerate()
        {
            let mut out = BytesMut::new();
            out.extend_from_slice(&[(version - min) as u8]);
            if sample.encode(&mut out, version).is_ok() {
                write(&root.join(target), &format!("v{version}-{i}"), &out);
            }
        }
    }
}

/// Seeds for `request_any`: the API selector (its index in
/// `SUPPORTED_VERSIONS`), the version selector, then a default request of
/// that API encoded at that version, and a few requests with contents.
fn request_seeds(root: &Path) {
    use ferrokafka_protocol::bounded::SUPPORTED_VERSIONS;
    let topic = || TopicName(StrBytes::from_static_str("t"));
    let samples = [
        (
            ApiKey::Metadata,
            RequestKind::Metadata(MetadataRequest::default().with_topics(Some(vec![
                metadata_request::MetadataRequestTopic::default().with_name(Some(topic())),
            ]))),
        ),
        (
            ApiKey::Produce,
            RequestKind::Produce(ProduceRequest::default().with_topic_data(vec![
            produce_request::TopicProduceData::default()
                .with_name(topic())
                .with_partition_data(vec![produce_request::PartitionProduceData::default()
                    .with_records(Some(bytes::Bytes::from_static(&[0; 61])))]),
        ])),
        ),
        (
            ApiKey::Fetch,
            RequestKind::Fetch(
                FetchRequest::default()
                    .with_cluster_id(Some(StrBytes::from_static_str("c")))
                    .with_topics(vec![fetch_request::FetchTopic::default()
                        .with_topic(topic())
                        .with_partitions(vec![fetch_request::FetchPartition::default()])]),
            ),
        ),
        (
            ApiKey::CreateTopics,
            RequestKind::CreateTopics(CreateTopicsRequest::default().with_topics(vec![
            create_topics_request::CreatableTopic::default()
                .with_name(topic())
                .with_configs(vec![create_topics_request::CreatableTopicConfig::default()]),
        ])),
        ),
    ];
    for (index, (api, min, max)) in SUPPORTED_VERSIONS.iter().enumerate() {
        for version in *min..=*max {
            let default = default_request(*api);
            let candidates = samples
                .iter()
                .filter(|(key, _)| key == api)
                .map(|(_, request)| request)
                .chain(default.iter());
            for (i, request) in candidates.enumerate() {
                let mut out = BytesMut::new();
                out.extend_from_slice(&[index as u8, (version - min) as u8]);
                if request.encode(&mut out, version).is_ok() {
                    write(
                        &root.join("request_any"),
                        &format!("{api:?}-v{version}-{i}"),
                        &out,
                    );
                }
            }
        }
    }
}

fn main() {
    let root = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "fuzz/corpus".into()),
    );

    macro_rules! defaults {
        ($($target:literal => $ty:ty, $api:expr;)*) => {
            $(response_seeds::<$ty>(&root, $target, $api, &[]);)*
        };
    }
    response_seeds(
        &root,
        "response_api_versions",
        ApiKey::ApiVersions,
        &[ApiVersionsResponse::default().with_api_keys(vec![
            api_versions_response::ApiVersion::default()
                .with_api_key(3)
                .with_max_version(12),
            api_versions_response::ApiVersion::default()
                .with_api_key(0)
                .with_min_version(3)
                .with_max_version(11),
        ])],
    );
    response_seeds(
        &root,
        "response_metadata",
        ApiKey::Metadata,
        &[MetadataResponse::default()
            .with_brokers(vec![metadata_response::MetadataResponseBroker::default()
                .with_node_id(BrokerId(1))
                .with_host(StrBytes::from_static_str("localhost"))
                .with_port(9092)])
            .with_topics(vec![metadata_response::MetadataResponseTopic::default()
                .with_name(Some(TopicName(StrBytes::from_static_str("t"))))
                .with_partitions(vec![
                    metadata_response::MetadataResponsePartition::default()
                        .with_partition_index(0)
                        .with_leader_id(BrokerId(1))
                        .with_replica_nodes(vec![BrokerId(1)])
                        .with_isr_nodes(vec![BrokerId(1)]),
                ])])],
    );
    let mut records = BytesMut::new();
    let mut batch = BatchBuilder::new(Compression::None);
    batch.append(
        1_700_000_000_000,
        Some(b"k"),
        Some(b"value"),
        &[("h", Some(b"v".as_slice()))],
    );
    batch.finish(&mut records).expect("encode a batch");
    response_seeds(
        &root,
        "response_fetch",
        ApiKey::Fetch,
        &[FetchResponse::default().with_responses(vec![
            fetch_response::FetchableTopicResponse::default()
                .with_topic(TopicName(StrBytes::from_static_str("t")))
                .with_partitions(vec![fetch_response::PartitionData::default()
                    .with_high_watermark(1)
                    .with_records(Some(records.clone().freeze()))]),
        ])],
    );
    response_seeds(
        &root,
        "response_produce",
        ApiKey::Produce,
        &[ProduceResponse::default().with_responses(vec![
            produce_response::TopicProduceResponse::default()
                .with_name(TopicName(StrBytes::from_static_str("t")))
                .with_partition_responses(vec![
                    produce_response::PartitionProduceResponse::default().with_base_offset(42),
                ]),
        ])],
    );
    defaults! {
        "response_list_offsets" => ListOffsetsResponse, ApiKey::ListOffsets;
        "response_delete_records" => DeleteRecordsResponse, ApiKey::DeleteRecords;
        "response_create_topics" => CreateTopicsResponse, ApiKey::CreateTopics;
        "response_delete_topics" => DeleteTopicsResponse, ApiKey::DeleteTopics;
        "response_create_partitions" => CreatePartitionsResponse, ApiKey::CreatePartitions;
        "response_describe_configs" => DescribeConfigsResponse, ApiKey::DescribeConfigs;
        "response_init_producer_id" => InitProducerIdResponse, ApiKey::InitProducerId;
        "response_find_coordinator" => FindCoordinatorResponse, ApiKey::FindCoordinator;
        "response_offset_commit" => OffsetCommitResponse, ApiKey::OffsetCommit;
        "response_offset_fetch" => OffsetFetchResponse, ApiKey::OffsetFetch;
        "response_join_group" => JoinGroupResponse, ApiKey::JoinGroup;
        "response_sync_group" => SyncGroupResponse, ApiKey::SyncGroup;
        "response_heartbeat" => HeartbeatResponse, ApiKey::Heartbeat;
        "response_leave_group" => LeaveGroupResponse, ApiKey::LeaveGroup;
        "response_sasl_handshake" => SaslHandshakeResponse, ApiKey::SaslHandshake;
        "response_sasl_authenticate" => SaslAuthenticateResponse, ApiKey::SaslAuthenticate;
        "response_offset_for_leader_epoch" => OffsetForLeaderEpochResponse, ApiKey::OffsetForLeaderEpoch;
        "response_describe_cluster" => DescribeClusterResponse, ApiKey::DescribeCluster;
    }

    request_seeds(&root);

    // Frames: the chunk-size byte, then two frames carrying response headers.
    let mut frames = BytesMut::new();
    frames.extend_from_slice(&[7]);
    encode_frame(&mut frames, &[0, 0, 0, 1, 0]);
    encode_frame(&mut frames, &[1, 0, 0, 2, 1, 3, 1, 9]);
    write(&root.join("frame"), "two-frames", &frames);

    // Record batches, one corpus per codec, and varints.
    for (codec, target) in [
        (Compression::None, "record_batch_none"),
        (Compression::Gzip, "record_batch_gzip"),
        (Compression::Snappy, "record_batch_snappy"),
        (Compression::Lz4, "record_batch_lz4"),
        (Compression::Zstd, "record_batch_zstd"),
    ] {
        let mut out = BytesMut::new();
        let mut batch = BatchBuilder::new(codec);
        for i in 0..5u8 {
            let value = vec![i; 40];
            batch.append(
                1_700_000_000_000 + i64::from(i),
                (i % 2 == 0).then_some(&[i][..]),
                Some(&value),
                &[("dup", Some(b"a".as_slice())), ("dup", None)],
            );
        }
        batch.finish(&mut out).expect("encode a batch");
        write(&root.join(target), "five-records", &out);
    }
    // The zstd encoder: a level byte (13 picks level 3), then records of
    // a batch, text and zeros.
    let mut batch = BatchBuilder::new(Compression::None);
    for i in 0..20u8 {
        let value = format!("record {i} kafka partition offset {i}{i}{i}").into_bytes();
        batch.append(1_700_000_000_000 + i64::from(i), None, Some(&value), &[]);
    }
    let mut records = BytesMut::new();
    batch.finish(&mut records).expect("encode a batch");
    for (name, level) in [("level-3-records", 13u8), ("level-1-zeros", 11)] {
        let mut seed = vec![level];
        if name.ends_with("records") {
            seed.extend_from_slice(&records);
        } else {
            seed.extend_from_slice(&[0; 4096]);
        }
        write(&root.join("compress_zstd"), name, &seed);
    }
    write(
        &root.join("varint"),
        "mixed",
        &[0x00, 0x7F, 0x80, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],
    );
    println!("seed corpora written under {}", root.display());
}
