//! Hostile response bodies must produce a typed `DecodeError`, never a
//! panic, and never a large allocation.
//!
//! The counting allocator of `support/` records the largest single
//! allocation made while a measured closure runs. Every case asserts that
//! it stayed at or under 1 MiB: a count of `i32::MAX` reaching
//! `kafka-protocol`'s `Vec::with_capacity` would ask for gigabytes.
//!
//! What is covered:
//! - for every response type, in a non-flexible and a flexible version
//!   where it has them, a ~20-byte body whose first array count is
//!   `i32::MAX` (classic) or `u32::MAX` (compact), after zeroed leading
//!   fields; plus first strings and byte strings with the largest
//!   length their prefix can carry, nested arrays, tagged-field counts and
//!   sizes, negative counts and over-long varints. Each must be rejected
//!   as `Malformed` with the expected field path;
//! - known tagged fields whose declared size does not match their value,
//!   and tags sent at a version that does not have them;
//! - for a handful of valid encodings: every truncation point, thousands of
//!   random single-byte mutations and hundreds of 5-byte "huge varint"
//!   and "huge i32" overwrites must give `Ok` or a `DecodeError`, without
//!   a panic or an allocation above 1 MiB.

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::bounded::{
    decode_response, decode_response_kind, validate, DecodeError, Malformation,
};
use kafka_protocol::messages::api_versions_response::{ApiVersion, SupportedFeatureKey};
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult, DescribeConfigsSynonym,
};
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchableTopicResponse, LeaderIdAndEpoch, PartitionData,
};
use kafka_protocol::messages::join_group_response::JoinGroupResponseMember;
use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::produce_response::{
    NodeEndpoint, PartitionProduceResponse, TopicProduceResponse,
};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, BrokerId, DescribeConfigsResponse, FetchResponse,
    JoinGroupResponse, MetadataResponse, ProduceResponse, ResponseKind, TopicName,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static ALLOC: counting_alloc::Counting = counting_alloc::Counting;

const LIMIT: usize = 1 << 20;

/// Runs `f` and returns its result with the largest single allocation made
/// meanwhile.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let (out, measured) = counting_alloc::measure(f);
    (out, measured.largest)
}

#[test]
fn the_counting_allocator_catches_the_unbounded_decoder() {
    // A Metadata v1 body announcing a million brokers, given straight to
    // kafka-protocol: it reserves the whole array before noticing there
    // are no bytes for it. The bounded decoder refuses the same bytes
    // without that allocation.
    let body = [0, 0x0f, 0x42, 0x40, 0, 0, 0, 0, 0, 0, 0, 0];
    let (result, peak) =
        measure(|| MetadataResponse::decode(&mut Bytes::copy_from_slice(&body), 1).map(drop));
    assert!(result.is_err());
    assert!(
        peak > LIMIT,
        "expected kafka-protocol to pre-allocate, largest was {peak}"
    );
    let (result, peak) = measure(|| validate(ApiKey::Metadata, 1, &body));
    assert!(peak <= LIMIT, "allocated {peak}");
    assert!(matches!(
        result,
        Err(DecodeError::Malformed {
            reason: Malformation::CountExceedsRemaining {
                count: 1_000_000,
                ..
            },
            ..
        })
    ));
}

// ---------------------------------------------------------- hostile bodies

const I32_MAX: &[u8] = &[0x7f, 0xff, 0xff, 0xff];
const I16_MAX: &[u8] = &[0x7f, 0xff];
const UVARINT_MAX: &[u8] = &[0xff, 0xff, 0xff, 0xff, 0x0f];

/// One hostile body and the field the error must name.
struct Case {
    api: ApiKey,
    version: i16,
    body: Vec<u8>,
    path: &'static str,
}

/// `prefix` zero bytes (leading fixed fields; a zero string or array
/// prefix is empty in classic and null in compact encoding), then
/// `hostile`, then zero padding up to 20 bytes.
fn zeros_then(prefix: usize, hostile: &[u8]) -> Vec<u8> {
    let mut body = vec![0u8; prefix];
    body.extend_from_slice(hostile);
    body.resize(body.len().max(20), 0);
    body
}

fn case(api: ApiKey, version: i16, prefix: usize, hostile: &[u8], path: &'static str) -> Case {
    Case {
        api,
        version,
        body: zeros_then(prefix, hostile),
        path,
    }
}

fn raw(api: ApiKey, version: i16, parts: &[&[u8]], path: &'static str) -> Case {
    let mut body: Vec<u8> = parts.concat();
    body.resize(body.len().max(20), 0);
    Case {
        api,
        version,
        body,
        path,
    }
}

/// First arrays: `i32::MAX` in a classic version, `u32::MAX` (compact
/// count + 1 overflowing) in a flexible one.
fn first_array_cases() -> Vec<Case> {
    use ApiKey::*;
    let c = |api, version, prefix, path| case(api, version, prefix, I32_MAX, path);
    let f = |api, version, prefix, path| case(api, version, prefix, UVARINT_MAX, path);
    vec![
        c(ApiVersions, 0, 2, "api_keys"),
        f(ApiVersions, 3, 2, "api_keys"),
        c(Metadata, 1, 0, "brokers"),
        f(Metadata, 12, 4, "brokers"),
        c(Metadata, 1, 8, "topics"),
        f(Metadata, 12, 10, "topics"),
        c(Produce, 8, 0, "responses"),
        f(Produce, 11, 0, "responses"),
        c(Fetch, 4, 4, "responses"),
        c(Fetch, 11, 10, "responses"),
        f(Fetch, 12, 10, "responses"),
        c(ListOffsets, 1, 0, "topics"),
        c(ListOffsets, 5, 4, "topics"),
        f(ListOffsets, 9, 4, "topics"),
        c(DeleteRecords, 1, 4, "topics"),
        f(DeleteRecords, 2, 4, "topics"),
        c(CreateTopics, 4, 4, "topics"),
        f(CreateTopics, 7, 4, "topics"),
        c(DeleteTopics, 3, 4, "responses"),
        f(DeleteTopics, 6, 4, "responses"),
        c(CreatePartitions, 1, 4, "results"),
        f(CreatePartitions, 3, 4, "results"),
        c(DescribeConfigs, 3, 4, "results"),
        f(DescribeConfigs, 4, 4, "results"),
        f(FindCoordinator, 4, 4, "coordinators"),
        c(OffsetCommit, 2, 0, "topics"),
        f(OffsetCommit, 8, 4, "topics"),
        c(OffsetFetch, 5, 4, "topics"),
        f(OffsetFetch, 7, 4, "topics"),
        c(JoinGroup, 5, 16, "members"),
        f(JoinGroup, 7, 14, "members"),
        c(LeaveGroup, 3, 6, "members"),
        f(LeaveGroup, 4, 6, "members"),
        c(SaslHandshake, 1, 2, "mechanisms"),
        c(OffsetForLeaderEpoch, 3, 4, "topics"),
        f(OffsetForLeaderEpoch, 4, 4, "topics"),
        f(DescribeCluster, 0, 12, "brokers"),
        f(DescribeCluster, 1, 13, "brokers"),
    ]
}

/// First strings and byte strings, nested arrays and nested strings.
fn length_cases() -> Vec<Case> {
    use ApiKey::*;
    let one_i32: &[u8] = &[0, 0, 0, 1];
    vec![
        // Strings: i16::MAX in classic versions, u32::MAX in compact ones.
        case(FindCoordinator, 0, 6, I16_MAX, "host"),
        case(FindCoordinator, 2, 6, I16_MAX, "error_message"),
        case(FindCoordinator, 3, 6, UVARINT_MAX, "error_message"),
        case(SaslAuthenticate, 1, 2, I16_MAX, "error_message"),
        case(SaslAuthenticate, 2, 2, UVARINT_MAX, "error_message"),
        case(SyncGroup, 5, 6, UVARINT_MAX, "protocol_type"),
        case(JoinGroup, 5, 10, I16_MAX, "protocol_name"),
        case(JoinGroup, 7, 10, UVARINT_MAX, "protocol_type"),
        case(DescribeCluster, 0, 6, UVARINT_MAX, "error_message"),
        raw(
            SaslHandshake,
            0,
            &[&[0, 0], one_i32, I16_MAX],
            "mechanisms[0]",
        ),
        raw(Metadata, 1, &[one_i32, &[0; 4], I16_MAX], "brokers[0].host"),
        raw(
            Metadata,
            12,
            &[&[0; 4], &[2], &[0; 4], UVARINT_MAX],
            "brokers[0].host",
        ),
        // Byte strings: i32::MAX in classic versions, u32::MAX in compact.
        case(SyncGroup, 3, 6, I32_MAX, "assignment"),
        case(SyncGroup, 4, 6, UVARINT_MAX, "assignment"),
        case(SaslAuthenticate, 1, 4, I32_MAX, "auth_bytes"),
        case(SaslAuthenticate, 2, 3, UVARINT_MAX, "auth_bytes"),
        raw(
            Fetch,
            4,
            &[
                &[0; 4],
                one_i32,
                &[0; 2],
                one_i32,
                &[0; 4 + 2 + 8 + 8 + 4],
                I32_MAX,
            ],
            "responses[0].partitions[0].records",
        ),
        raw(
            Fetch,
            12,
            &[
                &[0; 10],
                &[2, 0],
                &[2],
                &[0; 4 + 2 + 8 + 8 + 8],
                &[0],
                &[0; 4],
                UVARINT_MAX,
            ],
            "responses[0].partitions[0].records",
        ),
        // Nested arrays.
        raw(
            Metadata,
            1,
            &[&[0; 4], &[0; 4], one_i32, &[0; 2 + 2 + 1], I32_MAX],
            "topics[0].partitions",
        ),
        raw(
            Metadata,
            12,
            &[
                &[0; 4],
                &[0],
                &[0],
                &[0; 4],
                &[2],
                &[0; 2],
                &[0],
                &[0; 16 + 1],
                UVARINT_MAX,
                &[0; 8],
            ],
            "topics[0].partitions",
        ),
        raw(
            Produce,
            3,
            &[one_i32, &[0; 2], I32_MAX],
            "responses[0].partition_responses",
        ),
    ]
}

/// Tagged-field sections, negative counts and malformed varints.
fn framing_cases() -> Vec<Case> {
    use ApiKey::*;
    vec![
        case(Heartbeat, 4, 6, UVARINT_MAX, "<tagged fields>"),
        case(InitProducerId, 4, 16, UVARINT_MAX, "<tagged fields>"),
        raw(
            Heartbeat,
            4,
            &[&[0; 6], &[1, 100], UVARINT_MAX],
            "<tag 100>",
        ),
        raw(
            SaslAuthenticate,
            2,
            &[&[0; 2], &[0], &[0], &[0; 8], &[1, 7], UVARINT_MAX],
            "<tag 7>",
        ),
        case(Metadata, 1, 0, &[0xff, 0xff, 0xff, 0xfe], "brokers"),
        case(SyncGroup, 3, 6, &[0x80, 0, 0, 0], "assignment"),
        case(FindCoordinator, 0, 6, &[0xff, 0xfe], "host"),
        case(
            Metadata,
            12,
            4,
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0x01],
            "brokers",
        ),
        case(Metadata, 12, 4, &[0xff, 0xff, 0xff, 0xff, 0x7f], "brokers"),
    ]
}

fn assert_malformed(case: &Case, result: Result<(), DecodeError>, how: &str) {
    let ctx = format!(
        "{:?} v{} {} via {how}: body {:02x?}",
        case.api, case.version, case.path, case.body
    );
    match result {
        Err(DecodeError::Malformed { path, .. }) if path == case.path => {}
        Err(other) => panic!("{ctx}: wrong error: {other} ({other:?})"),
        Ok(()) => panic!("{ctx}: accepted"),
    }
}

fn check_cases(cases: Vec<Case>) {
    for case in cases {
        let (result, peak) = measure(|| validate(case.api, case.version, &case.body));
        assert!(peak <= LIMIT, "{:?}: allocated {peak}", case.api);
        assert_malformed(&case, result.map(drop), "validate");

        let original = Bytes::from(case.body.clone());
        let mut body = original.clone();
        let (result, peak) =
            measure(|| decode_response_kind(case.api, case.version, &mut body).map(drop));
        assert!(peak <= LIMIT, "{:?}: allocated {peak}", case.api);
        assert_eq!(body, original, "body must be left as it was on error");
        let message = result.as_ref().err().map(ToString::to_string);
        assert_malformed(&case, result, "decode_response_kind");
        let message = message.unwrap_or_default();
        assert!(
            message.contains("the broker sent a malformed response")
                && message.contains(&format!("v{} {}", case.version, case.path)),
            "unhelpful message: {message}"
        );
    }
}

#[test]
fn huge_first_array_counts_are_refused_without_allocating() {
    check_cases(first_array_cases());
}

#[test]
fn huge_string_byte_and_nested_lengths_are_refused_without_allocating() {
    check_cases(length_cases());
}

#[test]
fn tagged_sections_negative_counts_and_bad_varints_are_refused() {
    check_cases(framing_cases());
}

#[test]
fn bytes_after_the_last_field_are_ignored() {
    // Responses without arrays or strings, followed by bytes that would be
    // a huge count if they were read: the walk stops at the last field,
    // and the answer decodes as if they were not there (as Kafka's clients
    // read it). These bodies were refused as malformed before.
    for (api, version, fields) in [(ApiKey::InitProducerId, 1, 16), (ApiKey::Heartbeat, 3, 6)] {
        let body = zeros_then(fields, &[0xff; 4]);
        assert_eq!(validate(api, version, &body).unwrap(), fields, "{api:?}");
        let mut padded = Bytes::from(body.clone());
        let decoded = decode_response_kind(api, version, &mut padded).unwrap();
        assert!(padded.is_empty(), "{api:?}: the padding is consumed");
        let mut exact = Bytes::copy_from_slice(&body[..fields]);
        assert_eq!(
            decoded,
            decode_response_kind(api, version, &mut exact).unwrap()
        );
    }
}

#[test]
fn typed_entry_point_refuses_a_huge_count() {
    let mut body = Bytes::from(zeros_then(4, UVARINT_MAX));
    let (result, peak) = measure(|| decode_response::<MetadataResponse>(&mut body, 12));
    assert!(peak <= LIMIT, "allocated {peak}");
    match result {
        Err(DecodeError::Malformed {
            api,
            version: 12,
            path,
            offset: 4,
            reason: Malformation::CountExceedsRemaining { .. },
        }) if api == "MetadataResponse" && path == "brokers" => {}
        other => panic!("{other:?}"),
    }
}

/// ApiVersions v3 with an empty `api_keys`, a zero throttle time, and the
/// given tagged-field section.
fn api_versions_v3_with_tags(tags: &[u8]) -> Bytes {
    let mut body = vec![0, 0, 1, 0, 0, 0, 0];
    body.extend_from_slice(tags);
    Bytes::from(body)
}

#[test]
fn known_tagged_fields_must_fill_their_declared_size() {
    // Tag 1 (finalized_features_epoch) is an i64.
    let good = api_versions_v3_with_tags(&[1, 1, 8, 0, 0, 0, 0, 0, 0, 0, 9]);
    let decoded: ApiVersionsResponse = decode_response(&mut good.clone(), 3).expect("valid");
    assert_eq!(decoded.finalized_features_epoch, 9);

    let long = api_versions_v3_with_tags(&[1, 1, 9, 0, 0, 0, 0, 0, 0, 0, 9, 0]);
    match validate(ApiKey::ApiVersions, 3, &long) {
        Err(DecodeError::Malformed {
            reason:
                Malformation::TaggedFieldSizeMismatch {
                    tag: 1,
                    declared: 9,
                    consumed: 8,
                },
            path,
            ..
        }) if path == "finalized_features_epoch" => {}
        other => panic!("{other:?}"),
    }

    let short = api_versions_v3_with_tags(&[1, 1, 7, 0, 0, 0, 0, 0, 0, 0]);
    match validate(ApiKey::ApiVersions, 3, &short) {
        Err(DecodeError::Malformed {
            reason: Malformation::Truncated { .. },
            ..
        }) => {}
        other => panic!("{other:?}"),
    }

    // Tag 0 (supported_features) with a huge count inside a 5-byte payload.
    let huge = api_versions_v3_with_tags(&[1, 0, 5, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    let (result, peak) = measure(|| validate(ApiKey::ApiVersions, 3, &huge));
    assert!(peak <= LIMIT);
    assert!(matches!(
        result,
        Err(DecodeError::Malformed {
            reason: Malformation::CountExceedsRemaining { .. },
            ..
        })
    ));

    // A null supported_features passes the (lenient) walk, and
    // kafka-protocol's refusal comes back typed.
    let null = api_versions_v3_with_tags(&[1, 0, 1, 0]);
    validate(ApiKey::ApiVersions, 3, &null).expect("lenient on nulls");
    let result = decode_response::<ApiVersionsResponse>(&mut null.clone(), 3);
    assert!(
        matches!(result, Err(DecodeError::Rejected { version: 3, .. })),
        "{result:?}"
    );
}

#[test]
fn known_tags_are_refused_at_versions_without_them() {
    // Produce v9: empty responses, zero throttle, then tag 0 (node_endpoints,
    // v10+) carrying an empty compact array.
    let body = [1, 0, 0, 0, 0, 1, 0, 1, 1];
    match validate(ApiKey::Produce, 9, &body) {
        Err(DecodeError::Malformed {
            reason: Malformation::TagNotValidForVersion { tag: 0 },
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    validate(ApiKey::Produce, 10, &body).expect("valid at v10");
}

/// Proves that `tag` is walked as the known field at `path`: with the
/// exact size the body is accepted and `kafka-protocol` decodes the value
/// (`check`); declared one byte larger (and padded) it must be refused as
/// a size mismatch, which a tag skipped as unknown would not be.
fn tag_probe(
    api: ApiKey,
    version: i16,
    (before, after): (&[u8], &[u8]),
    tag: u8,
    value: &[u8],
    path: &str,
    check: impl Fn(&ResponseKind) -> bool,
) {
    let ctx = format!("{api:?} v{version} tag {tag} ({path})");
    let size = u8::try_from(value.len()).expect("small value");
    let exact = [before, &[1, tag, size], value, after].concat();
    let kind = decode_response_kind(api, version, &mut Bytes::from(exact))
        .unwrap_or_else(|e| panic!("{ctx}: exact size refused: {e}"));
    assert!(
        check(&kind),
        "{ctx}: value not decoded into the field: {kind:?}"
    );

    let padded = [before, &[1, tag, size + 1], value, &[0], after].concat();
    match validate(api, version, &padded) {
        Err(DecodeError::Malformed {
            path: p,
            reason: Malformation::TaggedFieldSizeMismatch { .. },
            ..
        }) if p == path => {}
        other => panic!("{ctx}: padded payload: {other:?}"),
    }
}

#[test]
fn every_known_tag_is_walked_with_its_layout() {
    // ApiVersions v3: error_code, empty api_keys, throttle_time_ms | tags.
    let av: (&[u8], &[u8]) = (&[0, 0, 1, 0, 0, 0, 0], &[]);
    let feature = [2, 2, b'f', 0, 1, 0, 2, 0];
    let api_versions = |kind: &ResponseKind| match kind {
        ResponseKind::ApiVersions(r) => r.clone(),
        other => panic!("{other:?}"),
    };
    tag_probe(
        ApiKey::ApiVersions,
        3,
        av,
        0,
        &feature,
        "supported_features",
        |k| api_versions(k).supported_features.len() == 1,
    );
    tag_probe(
        ApiKey::ApiVersions,
        3,
        av,
        1,
        &[0, 0, 0, 0, 0, 0, 0, 5],
        "finalized_features_epoch",
        |k| api_versions(k).finalized_features_epoch == 5,
    );
    tag_probe(
        ApiKey::ApiVersions,
        3,
        av,
        2,
        &feature,
        "finalized_features",
        |k| api_versions(k).finalized_features.len() == 1,
    );
    tag_probe(
        ApiKey::ApiVersions,
        3,
        av,
        3,
        &[1],
        "zk_migration_ready",
        |k| api_versions(k).zk_migration_ready,
    );

    // Produce v10: one topic with one partition | partition tags | topic
    // tags, throttle_time_ms, root tags.
    let produce_partition: &[u8] = &[
        2, 2, b't', 2, // responses[1], name "t", partition_responses[1]
        0, 0, 0, 0, 0, 0, // index, error_code
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // base_offset, log_append_time_ms
        0, 0, 0, 0, 0, 0, 0, 0, // log_start_offset
        1, 0, // empty record_errors, null error_message
    ];
    tag_probe(
        ApiKey::Produce,
        10,
        (produce_partition, &[0, 0, 0, 0, 0, 0]),
        0,
        &[0, 0, 0, 3, 0, 0, 0, 4, 0],
        "responses[0].partition_responses[0].current_leader",
        |k| match k {
            ResponseKind::Produce(r) => {
                r.responses[0].partition_responses[0]
                    .current_leader
                    .leader_epoch
                    == 4
            }
            _ => false,
        },
    );
    tag_probe(
        ApiKey::Produce,
        10,
        (&[1, 0, 0, 0, 0], &[]),
        0,
        &[2, 0, 0, 0, 1, 2, b'h', 0, 0, 0, 9, 0, 0],
        "node_endpoints",
        |k| matches!(k, ResponseKind::Produce(r) if r.node_endpoints.len() == 1),
    );

    // Fetch v12: one topic with one partition | partition tags | topic
    // tags, root tags.
    let fetch_partition: &[u8] = &[
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // throttle_time_ms, error_code, session_id
        2, 2, b't', 2, // responses[1], topic "t", partitions[1]
        0, 0, 0, 0, 0, 0, // partition_index, error_code
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // high_watermark, last_stable_offset
        0, 0, 0, 0, 0, 0, 0, 0, // log_start_offset
        1, 0, 0, 0, 0, 1, // empty aborted_transactions, preferred_read_replica, empty records
    ];
    let partition = |k: &ResponseKind| match k {
        ResponseKind::Fetch(r) => r.responses[0].partitions[0].clone(),
        other => panic!("{other:?}"),
    };
    let fetch_after: &[u8] = &[0, 0];
    tag_probe(
        ApiKey::Fetch,
        12,
        (fetch_partition, fetch_after),
        0,
        &[0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 7, 0],
        "responses[0].partitions[0].diverging_epoch",
        |k| partition(k).diverging_epoch.end_offset == 7,
    );
    tag_probe(
        ApiKey::Fetch,
        12,
        (fetch_partition, fetch_after),
        1,
        &[0, 0, 0, 3, 0, 0, 0, 4, 0],
        "responses[0].partitions[0].current_leader",
        |k| partition(k).current_leader.leader_epoch == 4,
    );
    tag_probe(
        ApiKey::Fetch,
        12,
        (fetch_partition, fetch_after),
        2,
        &[0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 9, 0],
        "responses[0].partitions[0].snapshot_id",
        |k| partition(k).snapshot_id.epoch == 9,
    );

    // CreateTopics v5: one topic result | its tags | root tags.
    tag_probe(
        ApiKey::CreateTopics,
        5,
        (
            &[0, 0, 0, 0, 2, 2, b't', 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
            &[0],
        ),
        0,
        &[0, 42],
        "topics[0].topic_config_error_code",
        |k| matches!(k, ResponseKind::CreateTopics(r) if r.topics[0].topic_config_error_code == 42),
    );
}

#[test]
fn a_tag_known_from_a_later_version_is_refused() {
    // Fetch v12 with tag 0 (node_endpoints, v16+) on the response.
    let body = [&[0u8; 10][..], &[1], &[1, 0, 1, 1]].concat();
    match validate(ApiKey::Fetch, 12, &body) {
        Err(DecodeError::Malformed {
            reason: Malformation::TagNotValidForVersion { tag: 0 },
            path,
            ..
        }) if path == "node_endpoints" => {}
        other => panic!("{other:?}"),
    }
}

// --------------------------------------------------------------- fuzz-ish

fn s(text: &str) -> StrBytes {
    StrBytes::from_string(text.to_owned())
}

fn metadata(v: i16) -> MetadataResponse {
    let partition = |i| {
        let mut p = MetadataResponsePartition::default()
            .with_partition_index(i)
            .with_leader_id(BrokerId(1))
            .with_replica_nodes(vec![BrokerId(1), BrokerId(2)])
            .with_isr_nodes(vec![BrokerId(1), BrokerId(2)]);
        if v >= 7 {
            p.leader_epoch = 7;
        }
        if v >= 5 {
            p.offline_replicas = vec![BrokerId(3), BrokerId(4)];
        }
        p
    };
    let mut r = MetadataResponse::default()
        .with_brokers(vec![
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(1))
                .with_host(s("broker-1"))
                .with_port(9092)
                .with_rack(Some(s("r1"))),
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(2))
                .with_host(s("broker-2"))
                .with_port(9093),
        ])
        .with_controller_id(BrokerId(1))
        .with_topics(vec![
            MetadataResponseTopic::default()
                .with_name(Some(TopicName(s("orders"))))
                .with_partitions(vec![partition(0), partition(1)]),
            MetadataResponseTopic::default()
                .with_name(Some(TopicName(s("payments"))))
                .with_partitions(vec![partition(0), partition(1)]),
        ]);
    if v >= 2 {
        r.cluster_id = Some(s("cluster"));
    }
    if v >= 3 {
        r.throttle_time_ms = 5;
    }
    r
}

fn fetch(v: i16) -> FetchResponse {
    let partition = |i| {
        let mut p = PartitionData::default()
            .with_partition_index(i)
            .with_high_watermark(100)
            .with_last_stable_offset(90)
            .with_log_start_offset(1)
            .with_aborted_transactions(Some(vec![
                AbortedTransaction::default().with_first_offset(3),
                AbortedTransaction::default().with_first_offset(4),
            ]))
            .with_records(Some(Bytes::from_static(b"not really a record batch")));
        if v >= 11 {
            p.preferred_read_replica = BrokerId(2);
        }
        if v >= 12 {
            p.current_leader = LeaderIdAndEpoch::default()
                .with_leader_id(BrokerId(3))
                .with_leader_epoch(4);
        }
        p
    };
    let mut r = FetchResponse::default()
        .with_throttle_time_ms(1)
        .with_responses(vec![
            FetchableTopicResponse::default()
                .with_topic(TopicName(s("orders")))
                .with_partitions(vec![partition(0), partition(1)]),
            FetchableTopicResponse::default()
                .with_topic(TopicName(s("payments")))
                .with_partitions(vec![partition(2), partition(3)]),
        ]);
    if v >= 7 {
        r.session_id = 77;
    }
    r
}

fn produce(v: i16) -> ProduceResponse {
    let partition = |i| {
        let mut p = PartitionProduceResponse::default()
            .with_index(i)
            .with_base_offset(1000)
            .with_log_append_time_ms(-1);
        if v >= 8 {
            p.error_message = Some(s("oops"));
        }
        p
    };
    let mut r = ProduceResponse::default().with_responses(vec![
        TopicProduceResponse::default()
            .with_name(TopicName(s("orders")))
            .with_partition_responses(vec![partition(0), partition(1)]),
        TopicProduceResponse::default()
            .with_name(TopicName(s("payments")))
            .with_partition_responses(vec![partition(2)]),
    ]);
    if v >= 10 {
        r.node_endpoints = vec![NodeEndpoint::default()
            .with_node_id(BrokerId(1))
            .with_host(s("h"))
            .with_port(1)];
    }
    r
}

fn api_versions(v: i16) -> ApiVersionsResponse {
    let mut r = ApiVersionsResponse::default().with_api_keys(
        (0..20)
            .map(|k| {
                ApiVersion::default()
                    .with_api_key(k)
                    .with_max_version(k % 7)
            })
            .collect(),
    );
    if v >= 3 {
        r.supported_features = vec![SupportedFeatureKey::default()
            .with_name(s("metadata.version"))
            .with_max_version(20)];
        r.finalized_features_epoch = 3;
        r.zk_migration_ready = true;
    }
    r
}

fn join_group(v: i16) -> JoinGroupResponse {
    let mut r = JoinGroupResponse::default()
        .with_generation_id(3)
        .with_protocol_name(Some(s("range")))
        .with_leader(s("m-1"))
        .with_member_id(s("m-2"))
        .with_members(vec![
            JoinGroupResponseMember::default()
                .with_member_id(s("m-1"))
                .with_metadata(Bytes::from_static(b"\x00\x01meta")),
            JoinGroupResponseMember::default()
                .with_member_id(s("m-2"))
                .with_metadata(Bytes::from_static(b"\x00\x01data")),
        ]);
    if v >= 7 {
        r.protocol_type = Some(s("consumer"));
    }
    r
}

fn describe_configs(v: i16) -> DescribeConfigsResponse {
    let config = |name: &str| {
        let mut c = DescribeConfigsResourceResult::default()
            .with_name(s(name))
            .with_value(Some(s("1")))
            .with_synonyms(vec![DescribeConfigsSynonym::default()
                .with_name(s(name))
                .with_value(None)]);
        if v >= 3 {
            c.documentation = Some(s("docs"));
        }
        c
    };
    DescribeConfigsResponse::default().with_results(vec![DescribeConfigsResult::default()
        .with_resource_name(s("orders"))
        .with_configs(vec![config("retention.ms"), config("cleanup.policy")])])
}

fn encode<T: Encodable>(value: &T, version: i16) -> Bytes {
    let mut buf = BytesMut::new();
    value.encode(&mut buf, version).expect("encodes");
    buf.freeze()
}

fn valid_encodings() -> Vec<(ApiKey, i16, Bytes)> {
    use ApiKey::*;
    vec![
        (Metadata, 1, encode(&metadata(1), 1)),
        (Metadata, 8, encode(&metadata(8), 8)),
        (Metadata, 12, encode(&metadata(12), 12)),
        (Fetch, 4, encode(&fetch(4), 4)),
        (Fetch, 11, encode(&fetch(11), 11)),
        (Fetch, 12, encode(&fetch(12), 12)),
        (Produce, 8, encode(&produce(8), 8)),
        (Produce, 11, encode(&produce(11), 11)),
        (ApiVersions, 0, encode(&api_versions(0), 0)),
        (ApiVersions, 3, encode(&api_versions(3), 3)),
        (JoinGroup, 5, encode(&join_group(5), 5)),
        (JoinGroup, 7, encode(&join_group(7), 7)),
        (DescribeConfigs, 2, encode(&describe_configs(2), 2)),
        (DescribeConfigs, 4, encode(&describe_configs(4), 4)),
    ]
}

/// Validates and decodes `body`; any outcome is fine except a panic, a
/// large allocation, or `kafka-protocol` reading a different amount than
/// the walk accepted.
fn must_not_misbehave(api: ApiKey, version: i16, body: &[u8], what: &str) {
    let bytes = Bytes::copy_from_slice(body);
    let ((validated, decoded), peak) = measure(|| {
        let validated = validate(api, version, body);
        let decoded = decode_response_kind(api, version, &mut bytes.clone()).map(drop);
        (validated, decoded)
    });
    assert!(
        peak <= LIMIT,
        "{api:?} v{version} {what}: allocated {peak} bytes"
    );
    assert_eq!(
        validated.is_ok(),
        !matches!(decoded, Err(DecodeError::Malformed { .. })),
        "{api:?} v{version} {what}: validate and decode disagree: {validated:?} / {decoded:?}"
    );
    if let Err(DecodeError::Malformed {
        reason: Malformation::DecoderDisagreement { .. },
        ..
    }) = decoded
    {
        panic!("{api:?} v{version} {what}: schema and kafka-protocol disagree");
    }
}

#[test]
fn every_truncation_is_handled() {
    for (api, version, wire) in valid_encodings() {
        decode_response_kind(api, version, &mut wire.clone())
            .unwrap_or_else(|e| panic!("{api:?} v{version}: valid body refused: {e}"));
        for cut in 0..wire.len() {
            let body = &wire[..cut];
            let (result, peak) = measure(|| validate(api, version, body));
            assert!(peak <= LIMIT);
            assert!(result.is_err(), "{api:?} v{version}: prefix {cut} accepted");
            must_not_misbehave(api, version, body, &format!("cut at {cut}"));
        }
    }
}

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_mutations_are_handled() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    const INTERESTING: [u8; 8] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x0f, 0x10];
    for (api, version, wire) in valid_encodings() {
        for round in 0..3000 {
            let mut body = wire.to_vec();
            let at = rng.below(body.len());
            body[at] = if round % 2 == 0 {
                rng.next() as u8
            } else {
                INTERESTING[rng.below(INTERESTING.len())]
            };
            must_not_misbehave(
                api,
                version,
                &body,
                &format!("byte {at} = {:#04x}", body[at]),
            );
        }
        for round in 0..300 {
            let mut body = wire.to_vec();
            let at = rng.below(body.len());
            let patch: &[u8] = if round % 2 == 0 { UVARINT_MAX } else { I32_MAX };
            for (i, b) in patch.iter().enumerate() {
                if let Some(slot) = body.get_mut(at + i) {
                    *slot = *b;
                }
            }
            must_not_misbehave(api, version, &body, &format!("patch at {at}"));
        }
    }
}
