//! Hostile request bodies sent to the fake cluster over raw TCP: a count or
//! length the frame cannot hold closes that connection, and the fake keeps
//! serving everyone else. Before the fake decoded requests through the
//! bounded decoder, the first of these frames made `kafka-protocol`
//! reserve gigabytes and aborted the whole process (this test binary).

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use ferrokafka_fake::FakeCluster;
use ferrokafka_protocol::messages::*;
use ferrokafka_tests::backend::*;

const I32_MAX: [u8; 4] = [0x7f, 0xff, 0xff, 0xff];
const UVARINT_MAX: [u8; 5] = [0xff, 0xff, 0xff, 0xff, 0x0f];

/// A request frame: length, request header (client id "hostile"), `body`.
fn frame(api: ApiKey, version: i16, correlation_id: i32, body: &[u8]) -> Vec<u8> {
    let mut payload = Vec::new();
    payload.extend_from_slice(&(api as i16).to_be_bytes());
    payload.extend_from_slice(&version.to_be_bytes());
    payload.extend_from_slice(&correlation_id.to_be_bytes());
    payload.extend_from_slice(&7i16.to_be_bytes());
    payload.extend_from_slice(b"hostile");
    if api.request_header_version(version) >= 2 {
        payload.push(0); // no tagged fields in the header
    }
    payload.extend_from_slice(body);
    let mut out = (payload.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(&payload);
    out
}

/// A fake cluster of one broker holding `topic`, and that broker's address.
fn one_broker_with_topic(topic: &str, partitions: i32) -> (FakeCluster, SocketAddr) {
    let cluster = FakeCluster::builder()
        .brokers(1)
        .topic(topic, partitions)
        .build()
        .expect("start the fake cluster");
    let addr = cluster.broker_addr(0).unwrap();
    (cluster, addr)
}

/// A plain TCP connection to `addr`, for hand-made frames.
fn raw_connection(addr: SocketAddr) -> TcpStream {
    let socket = TcpStream::connect(addr).expect("connect");
    // Only so a broken fake fails the test instead of hanging it.
    socket
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    socket
}

/// Sends `frame` on a new connection and asserts the broker closes it
/// without answering.
fn assert_closed_without_answer(addr: SocketAddr, frame: &[u8], what: &str) {
    let mut socket = raw_connection(addr);
    socket.write_all(frame).expect("send");
    let mut answer = [0u8; 64];
    match socket.read(&mut answer) {
        Ok(0) => {}
        Ok(n) => panic!("{what}: the fake answered {n} bytes instead of closing"),
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
            ) => {}
        Err(e) => panic!("{what}: the connection was not closed: {e}"),
    }
}

/// Sends a Metadata v12 request with `body` and `correlation_id` on
/// `socket`, reads the answer and decodes it.
fn metadata_v12_round_trip(
    socket: &mut TcpStream,
    correlation_id: i32,
    body: &[u8],
) -> MetadataResponse {
    socket
        .write_all(&frame(ApiKey::Metadata, 12, correlation_id, body))
        .expect("send");
    let mut length = [0u8; 4];
    socket.read_exact(&mut length).expect("an answer");
    let mut answer = vec![0u8; i32::from_be_bytes(length) as usize];
    socket.read_exact(&mut answer).expect("the whole answer");
    assert_eq!(
        &answer[..4],
        &correlation_id.to_be_bytes(),
        "correlation id"
    );
    let mut rest = bytes::Bytes::from(answer).split_off(5); // header v1: id + no tags
    ferrokafka_protocol::bounded::decode_response(&mut rest, 12).expect("a valid answer")
}

fn metadata_of(addr: SocketAddr, topic: &str) -> MetadataResponse {
    let mut client = connect(addr).expect("a new connection is served");
    client
        .call(&MetadataRequest::default().with_topics(Some(vec![
            metadata_request::MetadataRequestTopic::default().with_name(Some(topic_name(topic))),
        ])))
        .expect("metadata on a new connection")
}

#[test]
fn hostile_bodies_close_their_connection_and_the_fake_keeps_serving() {
    let (cluster, addr) = one_broker_with_topic("t", 2);
    // A client connected before the attacks must keep working after them.
    let mut bystander = connect(addr).expect("connect");

    let padded = |hostile: &[u8], before: usize| {
        let mut body = vec![0u8; before];
        body.extend_from_slice(hostile);
        body.resize(body.len().max(20), 0);
        body
    };
    let attacks: Vec<(&str, Vec<u8>)> = vec![
        (
            "Metadata v1, topics count i32::MAX",
            frame(ApiKey::Metadata, 1, 101, &padded(&I32_MAX, 0)),
        ),
        (
            "Metadata v12 (flexible), topics count u32::MAX",
            frame(ApiKey::Metadata, 12, 102, &padded(&UVARINT_MAX, 0)),
        ),
        (
            "Produce v3, topic_data count i32::MAX",
            frame(ApiKey::Produce, 3, 103, &padded(&I32_MAX, 8)),
        ),
        (
            "Produce v11 (flexible), topic_data count u32::MAX",
            frame(ApiKey::Produce, 11, 104, &padded(&UVARINT_MAX, 7)),
        ),
        (
            "SaslAuthenticate v0, auth_bytes length i32::MAX",
            frame(ApiKey::SaslAuthenticate, 0, 105, &padded(&I32_MAX, 0)),
        ),
        (
            "CreateTopics v7, root tagged-field count u32::MAX",
            // topics: empty (compact 1), timeout_ms, validate_only, then the tags.
            frame(
                ApiKey::CreateTopics,
                7,
                106,
                &[&[1, 0, 0, 0, 0, 0][..], &padded(&UVARINT_MAX, 0)].concat(),
            ),
        ),
    ];
    for (what, bytes) in &attacks {
        assert_closed_without_answer(addr, bytes, what);
        // The fake is alive and serves a new connection.
        let answer = metadata_of(addr, "t");
        assert_eq!(answer.topics.len(), 1, "{what}");
        assert_eq!(answer.topics[0].error_code, 0, "{what}");
        assert_eq!(answer.topics[0].partitions.len(), 2, "{what}");
    }

    let answer: MetadataResponse = bystander
        .call(&MetadataRequest::default().with_topics(None))
        .expect("the bystander's connection survived");
    assert!(answer
        .topics
        .iter()
        .any(|t| t.name == Some(topic_name("t"))));

    // None of the hostile requests reached a handler or the request log.
    let recorded = cluster.requests();
    assert!(
        recorded
            .iter()
            .all(|r| !(101..=106).contains(&r.correlation_id)),
        "a hostile request was decoded: {:?}",
        recorded
            .iter()
            .filter(|r| (101..=106).contains(&r.correlation_id))
            .map(|r| (r.api_key, r.api_version))
            .collect::<Vec<_>>()
    );
    assert!(recorded.iter().any(|r| r.api_key == ApiKey::Metadata));
    assert!(
        cluster.internal_errors().is_empty(),
        "{:?}",
        cluster.internal_errors()
    );
}

#[test]
fn a_well_formed_request_at_the_edge_of_its_frame_is_still_served() {
    // The bounded decoder must not refuse what is valid: a Metadata v12
    // request naming the topic, written by hand, gets its answer.
    let (_cluster, addr) = one_broker_with_topic("edge", 1);
    // topics: one (compact 2); topic_id: 16 zero bytes; name "edge"
    // (compact 5); topic tags: none; allow_auto_topic_creation: false;
    // include_topic_authorized_operations: false; root tags: none.
    let mut body = vec![2u8];
    body.extend_from_slice(&[0; 16]);
    body.push(5);
    body.extend_from_slice(b"edge");
    body.extend_from_slice(&[0, 0, 0, 0]);
    let mut socket = raw_connection(addr);
    let response = metadata_v12_round_trip(&mut socket, 7, &body);
    assert_eq!(response.topics.len(), 1);
    assert_eq!(response.topics[0].name, Some(topic_name("edge")));
    assert_eq!(response.topics[0].error_code, 0);
}

#[test]
fn bytes_after_the_last_field_of_a_request_are_ignored() {
    // librdkafka leaves 3 bytes after the last field of every all-topics
    // Metadata request (v9+); Kafka ignores bytes after the last field, so
    // the fake must answer as usual and keep the connection.
    let (cluster, addr) = one_broker_with_topic("padded", 2);
    // topics: null (all); allow_auto_topic_creation: false;
    // include_topic_authorized_operations: false; root tags: none.
    let all_topics = [0u8, 0, 0, 0];
    let padded = [&all_topics[..], &[0xab, 0xcd, 0xef]].concat();
    let mut socket = raw_connection(addr);
    let first = metadata_v12_round_trip(&mut socket, 31, &padded);
    let topic = first
        .topics
        .iter()
        .find(|t| t.name == Some(topic_name("padded")))
        .expect("the topic is listed");
    assert_eq!(topic.error_code, 0);
    assert_eq!(topic.partitions.len(), 2);
    // The same connection serves the next request.
    let second = metadata_v12_round_trip(&mut socket, 32, &all_topics);
    assert_eq!(second.topics, first.topics);
    let recorded = cluster.requests();
    assert!(
        recorded.iter().any(|r| r.correlation_id == 31),
        "the padded request was not decoded"
    );
    assert!(
        cluster.internal_errors().is_empty(),
        "{:?}",
        cluster.internal_errors()
    );
}
