//! Hostile request bodies must produce a typed `RequestDecodeError`, never
//! a panic, and never a large allocation: this is what lets a broker (the
//! fake cluster) read requests from clients it does not trust.
//!
//! The counting allocator of `support/` records the largest single
//! allocation made while a measured closure runs; every case asserts it
//! stayed at or under 1 MiB. A count of `i32::MAX` reaching
//! `kafka-protocol`'s `Vec::with_capacity` would ask for gigabytes.
//!
//! What is covered, for every request type at every version in
//! `SUPPORTED_VERSIONS` (a superset of what the fake serves):
//! - probes: the API's first arrays, strings and byte strings (and nested
//!   ones behind a one-element array) announcing `i32::MAX` elements or
//!   bytes (classic) or `u32::MAX` (compact), strings announcing
//!   `i16::MAX` bytes, inside bodies of about 20 bytes. Each must be
//!   `Malformed` at the expected field path, from both `decode_request_kind`
//!   and `validate_request`;
//! - in flexible versions, a root tagged-field section announcing
//!   `u32::MAX` fields, or an unknown tag announcing `u32::MAX` bytes;
//! - a sweep: huge, negative and over-long prefixes at every offset of a
//!   24-byte body; whatever the outcome, nothing above 1 MiB is allocated.

#[path = "support/default_requests.rs"]
mod default_requests;
use default_requests::default_request;
#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::bounded::{
    decode_request_kind, validate_request, Malformation, RequestDecodeError, SUPPORTED_VERSIONS,
};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::Decodable;

#[global_allocator]
static ALLOC: counting_alloc::Counting = counting_alloc::Counting;

const LIMIT: usize = 1 << 20;

const I32_MAX: [u8; 4] = [0x7f, 0xff, 0xff, 0xff];
const I16_MAX: [u8; 2] = [0x7f, 0xff];
/// `u32::MAX` as an unsigned varint: a compact count or length of
/// `u32::MAX - 1`.
const UVARINT_MAX: [u8; 5] = [0xff, 0xff, 0xff, 0xff, 0x0f];
/// `i16::MAX + 1` as an unsigned varint: a compact string of `i16::MAX` bytes.
const UVARINT_I16_MAX: [u8; 3] = [0x80, 0x80, 0x02];

/// Whether `api` at `version` uses the flexible encoding, from
/// `kafka-protocol`'s header table (request header v2 iff flexible body),
/// independently of our schema tables.
fn flexible(api: ApiKey, version: i16) -> bool {
    api.request_header_version(version) >= 2
}

/// Writes the zero-valued leading fields of a hand-made body.
struct W {
    flex: bool,
    buf: Vec<u8>,
}

impl W {
    /// `n` zero bytes: fixed-size fields.
    fn n(&mut self, n: usize) -> &mut Self {
        self.buf.extend(std::iter::repeat_n(0, n));
        self
    }
    /// An empty (classic) or null (compact) string.
    fn s0(&mut self) -> &mut Self {
        self.n(if self.flex { 1 } else { 2 })
    }
    /// An empty (classic) or null (compact) array.
    fn a0(&mut self) -> &mut Self {
        self.n(if self.flex { 1 } else { 4 })
    }
    /// An array count of one.
    fn one(&mut self) -> &mut Self {
        if self.flex {
            self.buf.push(2);
        } else {
            self.buf.extend_from_slice(&[0, 0, 0, 1]);
        }
        self
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Array,
    String,
    Bytes,
}

/// One hostile value: the API, the versions it applies to, what precedes
/// it, and the path the error must name.
struct Probe {
    api: ApiKey,
    versions: (i16, i16),
    kind: Kind,
    path: &'static str,
    lead: fn(i16, &mut W),
}

fn p(api: ApiKey, kind: Kind, path: &'static str, lead: fn(i16, &mut W)) -> Probe {
    Probe {
        api,
        versions: (i16::MIN, i16::MAX),
        kind,
        path,
        lead,
    }
}

fn pv(
    api: ApiKey,
    versions: (i16, i16),
    kind: Kind,
    path: &'static str,
    lead: fn(i16, &mut W),
) -> Probe {
    Probe {
        api,
        versions,
        kind,
        path,
        lead,
    }
}

fn probes() -> Vec<Probe> {
    use ApiKey::*;
    use Kind::*;
    vec![
        // Produce
        p(Produce, String, "transactional_id", |_, _| {}),
        p(Produce, Array, "topic_data", |_, w| {
            w.s0().n(6);
        }),
        p(Produce, String, "topic_data[0].name", |_, w| {
            w.s0().n(6).one();
        }),
        p(Produce, Array, "topic_data[0].partition_data", |_, w| {
            w.s0().n(6).one().s0();
        }),
        p(
            Produce,
            Bytes,
            "topic_data[0].partition_data[0].records",
            |_, w| {
                w.s0().n(6).one().s0().one().n(4);
            },
        ),
        // Fetch
        p(Fetch, Array, "topics", |v, w| {
            w.n(17).n(if v >= 7 { 8 } else { 0 });
        }),
        p(Fetch, String, "topics[0].topic", |v, w| {
            w.n(17).n(if v >= 7 { 8 } else { 0 }).one();
        }),
        p(Fetch, Array, "topics[0].partitions", |v, w| {
            w.n(17).n(if v >= 7 { 8 } else { 0 }).one().s0();
        }),
        pv(Fetch, (7, 12), Array, "forgotten_topics_data", |_, w| {
            w.n(25).a0();
        }),
        pv(Fetch, (11, 12), String, "rack_id", |_, w| {
            w.n(25).a0().a0();
        }),
        // ListOffsets
        p(ListOffsets, Array, "topics", |v, w| {
            w.n(if v >= 2 { 5 } else { 4 });
        }),
        p(ListOffsets, String, "topics[0].name", |v, w| {
            w.n(if v >= 2 { 5 } else { 4 }).one();
        }),
        p(ListOffsets, Array, "topics[0].partitions", |v, w| {
            w.n(if v >= 2 { 5 } else { 4 }).one().s0();
        }),
        // Metadata
        p(Metadata, Array, "topics", |_, _| {}),
        p(Metadata, String, "topics[0].name", |v, w| {
            w.one().n(if v >= 10 { 16 } else { 0 });
        }),
        // OffsetCommit
        p(OffsetCommit, String, "group_id", |_, _| {}),
        p(OffsetCommit, String, "member_id", |_, w| {
            w.s0().n(4);
        }),
        p(OffsetCommit, Array, "topics", |v, w| {
            w.s0().n(4).s0();
            if v >= 7 {
                w.s0();
            }
            if v <= 4 {
                w.n(8);
            }
        }),
        p(OffsetCommit, Array, "topics[0].partitions", |v, w| {
            w.s0().n(4).s0();
            if v >= 7 {
                w.s0();
            }
            if v <= 4 {
                w.n(8);
            }
            w.one().s0();
        }),
        // OffsetFetch
        p(OffsetFetch, String, "group_id", |_, _| {}),
        pv(OffsetFetch, (1, 7), Array, "topics", |_, w| {
            w.s0();
        }),
        pv(
            OffsetFetch,
            (1, 7),
            Array,
            "topics[0].partition_indexes",
            |_, w| {
                w.s0().one().s0();
            },
        ),
        // FindCoordinator
        pv(FindCoordinator, (0, 3), String, "key", |_, _| {}),
        pv(
            FindCoordinator,
            (4, 4),
            Array,
            "coordinator_keys",
            |_, w| {
                w.n(1);
            },
        ),
        pv(
            FindCoordinator,
            (4, 4),
            String,
            "coordinator_keys[0]",
            |_, w| {
                w.n(1).one();
            },
        ),
        // JoinGroup
        p(JoinGroup, String, "group_id", |_, _| {}),
        p(JoinGroup, Array, "protocols", join_group_lead),
        p(JoinGroup, Bytes, "protocols[0].metadata", |v, w| {
            join_group_lead(v, w);
            w.one().s0();
        }),
        // Heartbeat
        p(Heartbeat, String, "group_id", |_, _| {}),
        p(Heartbeat, String, "member_id", |_, w| {
            w.s0().n(4);
        }),
        // LeaveGroup
        p(LeaveGroup, String, "group_id", |_, _| {}),
        pv(LeaveGroup, (0, 2), String, "member_id", |_, w| {
            w.s0();
        }),
        pv(LeaveGroup, (3, 5), Array, "members", |_, w| {
            w.s0();
        }),
        pv(
            LeaveGroup,
            (3, 5),
            String,
            "members[0].member_id",
            |_, w| {
                w.s0().one();
            },
        ),
        // SyncGroup
        p(SyncGroup, String, "group_id", |_, _| {}),
        p(SyncGroup, Array, "assignments", |v, w| {
            sync_group_lead(v, w)
        }),
        p(SyncGroup, Bytes, "assignments[0].assignment", |v, w| {
            sync_group_lead(v, w);
            w.one().s0();
        }),
        // SASL
        p(SaslHandshake, String, "mechanism", |_, _| {}),
        p(SaslAuthenticate, Bytes, "auth_bytes", |_, _| {}),
        // ApiVersions
        pv(
            ApiVersions,
            (3, 4),
            String,
            "client_software_name",
            |_, _| {},
        ),
        pv(
            ApiVersions,
            (3, 4),
            String,
            "client_software_version",
            |_, w| {
                w.s0();
            },
        ),
        // CreateTopics
        p(CreateTopics, Array, "topics", |_, _| {}),
        p(CreateTopics, String, "topics[0].name", |_, w| {
            w.one();
        }),
        p(CreateTopics, Array, "topics[0].assignments", |_, w| {
            w.one().s0().n(6);
        }),
        p(
            CreateTopics,
            Array,
            "topics[0].assignments[0].broker_ids",
            |_, w| {
                w.one().s0().n(6).one().n(4);
            },
        ),
        p(CreateTopics, Array, "topics[0].configs", |_, w| {
            w.one().s0().n(6).a0();
        }),
        // DeleteTopics
        pv(DeleteTopics, (1, 5), Array, "topic_names", |_, _| {}),
        pv(DeleteTopics, (1, 5), String, "topic_names[0]", |_, w| {
            w.one();
        }),
        pv(DeleteTopics, (6, 6), Array, "topics", |_, _| {}),
        pv(DeleteTopics, (6, 6), String, "topics[0].name", |_, w| {
            w.one();
        }),
        // DeleteRecords
        p(DeleteRecords, Array, "topics", |_, _| {}),
        p(DeleteRecords, Array, "topics[0].partitions", |_, w| {
            w.one().s0();
        }),
        // InitProducerId
        p(InitProducerId, String, "transactional_id", |_, _| {}),
        // DescribeConfigs
        p(DescribeConfigs, Array, "resources", |_, _| {}),
        p(
            DescribeConfigs,
            String,
            "resources[0].resource_name",
            |_, w| {
                w.one().n(1);
            },
        ),
        p(
            DescribeConfigs,
            Array,
            "resources[0].configuration_keys",
            |_, w| {
                w.one().n(1).s0();
            },
        ),
        // CreatePartitions
        p(CreatePartitions, Array, "topics", |_, _| {}),
        p(CreatePartitions, Array, "topics[0].assignments", |_, w| {
            w.one().s0().n(4);
        }),
        p(
            CreatePartitions,
            Array,
            "topics[0].assignments[0].broker_ids",
            |_, w| {
                w.one().s0().n(4).one();
            },
        ),
        // OffsetForLeaderEpoch
        p(OffsetForLeaderEpoch, Array, "topics", |v, w| {
            w.n(if v >= 3 { 4 } else { 0 });
        }),
        p(
            OffsetForLeaderEpoch,
            Array,
            "topics[0].partitions",
            |v, w| {
                w.n(if v >= 3 { 4 } else { 0 }).one().s0();
            },
        ),
    ]
}

fn join_group_lead(v: i16, w: &mut W) {
    w.s0().n(4);
    if v >= 1 {
        w.n(4);
    }
    w.s0();
    if v >= 5 {
        w.s0();
    }
    w.s0();
}

fn sync_group_lead(v: i16, w: &mut W) {
    w.s0().n(4).s0();
    if v >= 3 {
        w.s0();
    }
    if v >= 5 {
        w.s0().s0();
    }
}

/// The hostile encodings of a value of `kind`, with the reason each must
/// be refused for.
fn hostile(kind: Kind, flex: bool) -> Vec<(&'static [u8], bool)> {
    // (bytes, is a count rather than a length)
    match (kind, flex) {
        (Kind::Array, false) => vec![(&I32_MAX, true)],
        (Kind::Array, true) => vec![(&UVARINT_MAX, true)],
        (Kind::String, false) => vec![(&I16_MAX, false)],
        (Kind::String, true) => vec![(&UVARINT_I16_MAX, false), (&UVARINT_MAX, false)],
        (Kind::Bytes, false) => vec![(&I32_MAX, false)],
        (Kind::Bytes, true) => vec![(&UVARINT_MAX, false)],
    }
}

fn versions(api: ApiKey) -> (i16, i16) {
    SUPPORTED_VERSIONS
        .iter()
        .find(|(k, _, _)| *k == api)
        .map(|&(_, min, max)| (min, max))
        .expect("covered api")
}

/// Decodes `body` as `api` v`version`, checks the allocation bound and
/// returns the error (bodies here are never valid).
fn refuse(api: ApiKey, version: i16, body: &[u8], ctx: &str) -> RequestDecodeError {
    let mut bytes = Bytes::copy_from_slice(body);
    let (result, measured) =
        counting_alloc::measure(|| decode_request_kind(api, version, &mut bytes));
    assert!(
        measured.largest <= LIMIT,
        "{ctx}: allocated {} bytes at once",
        measured.largest
    );
    let err = result.expect_err(ctx);
    assert_eq!(bytes.len(), body.len(), "{ctx}: body changed on error");
    let again = validate_request(api, version, body).expect_err(ctx);
    assert_eq!(
        again.to_string(),
        err.to_string(),
        "{ctx}: validate disagrees"
    );
    err
}

#[test]
fn the_counting_allocator_catches_the_unbounded_decoder() {
    // The same few bytes given straight to kafka-protocol: a Metadata v1
    // body announcing a million topics makes it reserve the whole array
    // before noticing there are no bytes for it.
    let body = [0x00, 0x0f, 0x42, 0x40, 0, 0, 0, 0, 0, 0, 0, 0];
    let (result, measured) = counting_alloc::measure(|| {
        MetadataRequest::decode(&mut Bytes::copy_from_slice(&body), 1).map(|_| ())
    });
    assert!(result.is_err());
    assert!(
        measured.largest > LIMIT,
        "expected kafka-protocol to pre-allocate, largest was {}",
        measured.largest
    );
    let err = refuse(ApiKey::Metadata, 1, &body, "bounded");
    assert!(matches!(
        err,
        RequestDecodeError::Malformed {
            reason: Malformation::CountExceedsRemaining {
                count: 1_000_000,
                ..
            },
            ..
        }
    ));
}

#[test]
fn huge_counts_and_lengths_are_refused_at_the_right_field_for_every_version() {
    let mut checked = 0usize;
    let mut apis_probed = std::collections::BTreeSet::new();
    for probe in probes() {
        let (min, max) = versions(probe.api);
        let from = probe.versions.0.max(min);
        let to = probe.versions.1.min(max);
        assert!(
            from <= to,
            "{:?} {}: no version to probe",
            probe.api,
            probe.path
        );
        for v in from..=to {
            let flex = flexible(probe.api, v);
            for (value, is_count) in hostile(probe.kind, flex) {
                let mut w = W {
                    flex,
                    buf: Vec::new(),
                };
                (probe.lead)(v, &mut w);
                let at = w.buf.len();
                w.buf.extend_from_slice(value);
                // Zero padding to 20 bytes; behind a one-element array,
                // enough for that element's other fields too, or the
                // array's count would be refused first.
                let padding = if probe.path.contains('[') { 32 } else { 0 };
                w.buf.resize((w.buf.len() + padding).max(20), 0);
                let ctx = format!("{:?} v{v} {} = {value:02x?}", probe.api, probe.path);
                let err = refuse(probe.api, v, &w.buf, &ctx);
                match &err {
                    RequestDecodeError::Malformed {
                        path,
                        offset,
                        reason,
                        ..
                    } => {
                        assert_eq!(path, probe.path, "{ctx}: {err}");
                        assert_eq!(*offset, at, "{ctx}: {err}");
                        if is_count {
                            assert!(
                                matches!(reason, Malformation::CountExceedsRemaining { .. }),
                                "{ctx}: {err}"
                            );
                        } else {
                            assert!(
                                matches!(reason, Malformation::LengthExceedsRemaining { .. }),
                                "{ctx}: {err}"
                            );
                        }
                    }
                    other => panic!("{ctx}: not Malformed: {other}"),
                }
                assert!(
                    err.to_string()
                        .starts_with("the client sent a malformed request"),
                    "{ctx}: {err}"
                );
                checked += 1;
            }
        }
        apis_probed.insert(probe.api as i16);
    }
    // Every API with an array, string or byte string is probed (ApiVersions
    // below v3 and DescribeCluster have none; the sweep covers them).
    for (api, _, _) in SUPPORTED_VERSIONS {
        if api != ApiKey::DescribeCluster {
            assert!(apis_probed.contains(&(api as i16)), "{api:?} has no probe");
        }
    }
    assert!(checked > 300, "only {checked} cases ran");
}

/// A default request of `api`, encoded by kafka-protocol at `version`.
fn default_encoding(api: ApiKey, version: i16) -> Vec<u8> {
    let kind = default_request(api).unwrap_or_else(|| panic!("{api:?} is not covered"));
    let mut out = BytesMut::new();
    kind.encode(&mut out, version)
        .unwrap_or_else(|e| panic!("{api:?} v{version}: {e}"));
    out.to_vec()
}

#[test]
fn huge_tagged_field_sections_are_refused_in_every_flexible_version() {
    let mut checked = 0;
    for (api, min, max) in SUPPORTED_VERSIONS {
        for v in min..=max {
            if !flexible(api, v) {
                continue;
            }
            let valid = default_encoding(api, v);
            validate_request(api, v, &valid)
                .unwrap_or_else(|e| panic!("{api:?} v{v}: default refused: {e}"));
            // The root struct's tag section is the last byte: a zero count.
            assert_eq!(valid.last(), Some(&0), "{api:?} v{v}");
            let fields = &valid[..valid.len() - 1];

            let mut body = fields.to_vec();
            body.extend_from_slice(&UVARINT_MAX);
            body.resize(body.len().max(20), 0);
            let ctx = format!("{api:?} v{v} tag count u32::MAX");
            match refuse(api, v, &body, &ctx) {
                RequestDecodeError::Malformed {
                    path,
                    reason: Malformation::CountExceedsRemaining { .. },
                    ..
                } => assert_eq!(path, "<tagged fields>", "{ctx}"),
                other => panic!("{ctx}: {other}"),
            }

            let mut body = fields.to_vec();
            body.extend_from_slice(&[1, 90]);
            body.extend_from_slice(&UVARINT_MAX);
            body.resize(body.len().max(20), 0);
            let ctx = format!("{api:?} v{v} unknown tag of u32::MAX bytes");
            match refuse(api, v, &body, &ctx) {
                RequestDecodeError::Malformed {
                    path,
                    reason: Malformation::LengthExceedsRemaining { .. },
                    ..
                } => assert_eq!(path, "<tag 90>", "{ctx}"),
                other => panic!("{ctx}: {other}"),
            }
            checked += 1;
        }
    }
    assert!(checked > 30, "only {checked} flexible versions");
}

#[test]
fn any_hostile_prefix_at_any_offset_allocates_little() {
    let patterns: [&[u8]; 6] = [
        &I32_MAX,
        &I16_MAX,
        &UVARINT_MAX,
        &UVARINT_I16_MAX,
        // Negative counts and lengths below the null marker.
        &[0x80, 0x00, 0x00, 0x00],
        // An unsigned varint that never ends.
        &[0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
    ];
    let mut runs = 0usize;
    for (api, min, max) in SUPPORTED_VERSIONS {
        for v in min..=max {
            for prefix in 0..=24usize {
                for pattern in patterns {
                    let mut body = vec![0u8; prefix];
                    body.extend_from_slice(pattern);
                    body.resize(body.len().max(24), 0);
                    let mut bytes = Bytes::from(body);
                    let (_, measured) =
                        counting_alloc::measure(|| decode_request_kind(api, v, &mut bytes));
                    assert!(
                        measured.largest <= LIMIT,
                        "{api:?} v{v}: {pattern:02x?} after {prefix} zero bytes allocated {}",
                        measured.largest
                    );
                    runs += 1;
                }
            }
        }
    }
    assert!(runs > 10_000, "{runs}");
}
