//! Every fault of the fake cluster, observed by a client on the wire (the
//! blocking wire client; the async client does not exist yet), plus the
//! behaviours only the fake offers on cue: leader moves, broker stop and
//! restart, request recording, transactions ended by the test, SASL PLAIN,
//! classic groups.

use std::io::ErrorKind;
use std::time::Duration;

use bytes::Bytes;
use ferrokafka_fake::{FakeCluster, Fault, FaultAction, ResponseError};
use ferrokafka_protocol::compression::Compression;
use ferrokafka_protocol::frame::FrameError;
use ferrokafka_protocol::messages::*;
use ferrokafka_protocol::record::BatchOptions;
use ferrokafka_protocol::{ProtocolError, StrBytes};
use ferrokafka_tests::backend::*;
use ferrokafka_tests::wire::{WireClient, WireError};

fn client_for(cluster: &FakeCluster, broker: i32) -> WireClient {
    connect(cluster.broker_addr(broker).unwrap()).expect("connect")
}

fn one(value: &str) -> Bytes {
    plain_batch(Compression::None, &[Rec::value(1_700_000_000_000, value)])
}

fn hwm(cluster: &FakeCluster, topic: &str, partition: i32) -> i64 {
    cluster
        .partition_state(topic, partition)
        .unwrap()
        .high_watermark
}

fn is_eof(error: &WireError) -> bool {
    matches!(error, WireError::Io(e) if matches!(e.kind(), ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset))
}

fn is_timeout(error: &WireError) -> bool {
    matches!(error, WireError::Io(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut))
}

#[test]
fn an_injected_error_reaches_the_client_and_nothing_is_appended() {
    let cluster = fake_with_topic(1, "t", 1);
    let mut client = client_for(&cluster, 0);
    let fault = cluster.inject(
        Fault::on(ApiKey::Produce).action(FaultAction::Error(ResponseError::NotLeaderOrFollower)),
    );
    let answer = produce(&mut client, "t", 0, one("a")).unwrap();
    assert_eq!(answer.error_code, ResponseError::NotLeaderOrFollower.code());
    assert_eq!(hwm(&cluster, "t", 0), 0, "a failed produce appends nothing");
    assert_eq!(cluster.fault_hits(fault), 1);
    // The fault fired once; the retry goes through.
    assert_eq!(
        produce(&mut client, "t", 0, one("a")).unwrap().error_code,
        0
    );
    assert_eq!(hwm(&cluster, "t", 0), 1);
    // Non-partition APIs fail as a whole.
    cluster.inject(
        Fault::on(ApiKey::InitProducerId)
            .action(FaultAction::Error(ResponseError::CoordinatorLoadInProgress)),
    );
    let response: InitProducerIdResponse = client
        .call(&InitProducerIdRequest::default().with_transactional_id(None))
        .unwrap();
    assert_eq!(
        response.error_code,
        ResponseError::CoordinatorLoadInProgress.code()
    );
}

#[test]
fn a_partition_scoped_error_fails_only_that_partition() {
    let cluster = fake_with_topic(1, "t", 2);
    let mut client = client_for(&cluster, 0);
    cluster.inject(
        Fault::on(ApiKey::Produce)
            .partition("t", 1)
            .action(FaultAction::Error(ResponseError::KafkaStorageError)),
    );
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(5_000)
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_name(topic_name("t"))
            .with_partition_data(
                (0..2)
                    .map(|p| {
                        produce_request::PartitionProduceData::default()
                            .with_index(p)
                            .with_records(Some(one("x")))
                    })
                    .collect(),
            )]);
    let response: ProduceResponse = client.call(&request).unwrap();
    let codes: Vec<i16> = response.responses[0]
        .partition_responses
        .iter()
        .map(|p| p.error_code)
        .collect();
    assert_eq!(codes, [0, ResponseError::KafkaStorageError.code()]);
    assert_eq!((hwm(&cluster, "t", 0), hwm(&cluster, "t", 1)), (1, 0));
}

#[test]
fn the_nth_request_is_the_one_that_fails() {
    let cluster = fake_with_topic(1, "t", 1);
    let mut client = client_for(&cluster, 0);
    let fault = cluster.inject(
        Fault::on(ApiKey::Produce)
            .nth(3)
            .times(2)
            .action(FaultAction::Error(ResponseError::RequestTimedOut)),
    );
    let codes: Vec<i16> = (0..6)
        .map(|i| {
            produce(&mut client, "t", 0, one(&i.to_string()))
                .unwrap()
                .error_code
        })
        .collect();
    let timed_out = ResponseError::RequestTimedOut.code();
    assert_eq!(codes, [0, 0, timed_out, timed_out, 0, 0]);
    assert_eq!(cluster.fault_hits(fault), 2);
    assert_eq!(hwm(&cluster, "t", 0), 4);
}

#[test]
fn a_delayed_answer_arrives_after_the_client_gave_up() {
    let cluster = fake_with_topic(1, "t", 1);
    let (mut client, socket) = connect_with_socket(cluster.broker_addr(0).unwrap()).unwrap();
    cluster.inject(Fault::on(ApiKey::Produce).action(FaultAction::Delay(Duration::from_secs(2))));
    set_read_timeout(&socket, Duration::from_millis(100));
    let error = produce(&mut client, "t", 0, one("late")).unwrap_err();
    assert!(is_timeout(&error), "{error:?}");
    // The request was applied before the delay ...
    assert_eq!(hwm(&cluster, "t", 0), 1);
    // ... and its answer comes eventually: the next call reads it first.
    set_read_timeout(&socket, Duration::from_secs(30));
    let error = produce(&mut client, "t", 0, one("next")).unwrap_err();
    assert!(
        matches!(error, WireError::CorrelationMismatch { .. }),
        "{error:?}"
    );
}

#[test]
fn closing_before_apply_loses_the_request() {
    let cluster = fake_with_topic(1, "t", 1);
    let mut client = client_for(&cluster, 0);
    cluster.inject(Fault::on(ApiKey::Produce).action(FaultAction::CloseBeforeApply));
    let error = produce(&mut client, "t", 0, one("lost")).unwrap_err();
    assert!(is_eof(&error), "{error:?}");
    assert_eq!(hwm(&cluster, "t", 0), 0);
}

#[test]
fn closing_after_apply_keeps_the_write_and_the_idempotent_retry_is_a_duplicate() {
    let cluster = fake_with_topic(1, "t", 1);
    let mut client = client_for(&cluster, 0);
    let (pid, epoch) = init_producer_id(&mut client);
    cluster.inject(Fault::on(ApiKey::Produce).action(FaultAction::CloseAfterApply));
    let batch = idempotent_batch(pid, epoch, 0, 3, "v");
    let error = produce(&mut client, "t", 0, batch.clone()).unwrap_err();
    assert!(is_eof(&error), "{error:?}");
    assert_eq!(hwm(&cluster, "t", 0), 3, "appended although unanswered");
    // The producer retries on a new connection with the same sequence.
    let mut client = client_for(&cluster, 0);
    let retry = produce(&mut client, "t", 0, batch).unwrap();
    assert_eq!((retry.error_code, retry.base_offset), (0, 0));
    assert_eq!(hwm(&cluster, "t", 0), 3, "not appended twice");
    // The recording shows both attempts with the same id, epoch, sequence.
    let sent: Vec<(i64, i16, i32, u64)> = cluster
        .produced_batches()
        .iter()
        .map(|b| {
            (
                b.producer_id,
                b.producer_epoch,
                b.base_sequence,
                b.connection,
            )
        })
        .collect();
    assert_eq!(sent.len(), 2);
    assert_eq!((sent[0].0, sent[0].1, sent[0].2), (pid, epoch, 0));
    assert_eq!((sent[1].0, sent[1].1, sent[1].2), (pid, epoch, 0));
    assert_ne!(sent[0].3, sent[1].3, "the retry came on a new connection");
    let faulted: Vec<_> = cluster
        .requests()
        .into_iter()
        .filter(|r| r.api_key == ApiKey::Produce)
        .map(|r| r.fault)
        .collect();
    assert_eq!(faulted, [Some(FaultAction::CloseAfterApply), None]);
}

#[test]
fn a_request_never_answered_times_out_on_a_silent_open_connection() {
    let cluster = fake_with_topic(1, "t", 1);
    let (mut client, socket) = connect_with_socket(cluster.broker_addr(0).unwrap()).unwrap();
    set_read_timeout(&socket, Duration::from_millis(200));
    cluster.inject(Fault::on(ApiKey::Produce).action(FaultAction::NeverAnswer));
    let error = produce(&mut client, "t", 0, one("void")).unwrap_err();
    assert!(is_timeout(&error), "{error:?}");
    // Later requests on that connection are swallowed too; it stays open.
    let error = client
        .call::<_, MetadataResponse>(&MetadataRequest::default().with_topics(None))
        .unwrap_err();
    assert!(is_timeout(&error), "still open, still silent: {error:?}");
    assert_eq!(hwm(&cluster, "t", 0), 0, "not applied");
    // NeverAnswerAfterApply: applied, then silent.
    let (mut client, socket) = connect_with_socket(cluster.broker_addr(0).unwrap()).unwrap();
    set_read_timeout(&socket, Duration::from_millis(200));
    cluster.inject(Fault::on(ApiKey::Produce).action(FaultAction::NeverAnswerAfterApply));
    let error = produce(&mut client, "t", 0, one("void")).unwrap_err();
    assert!(is_timeout(&error), "{error:?}");
    assert_eq!(hwm(&cluster, "t", 0), 1, "applied");
}

#[test]
fn raw_bytes_replace_the_answer() {
    let cluster = fake_with_topic(1, "t", 1);
    // A frame announcing 2 GiB: the client's frame cap refuses it.
    let mut client = client_for(&cluster, 0);
    cluster.inject(
        Fault::on(ApiKey::Metadata).action(FaultAction::RawBytes(Bytes::from_static(&[
            0x7f, 0xff, 0xff, 0xff, 1, 2,
        ]))),
    );
    let error = client
        .call::<_, MetadataResponse>(&MetadataRequest::default().with_topics(None))
        .unwrap_err();
    assert!(
        matches!(
            error,
            WireError::Protocol(ProtocolError::Frame(FrameError::TooLarge { .. }))
        ),
        "{error:?}"
    );
    // A well-framed body that is garbage for the API: the bounded decoder
    // refuses it instead of allocating.
    let mut client = client_for(&cluster, 0);
    let correlation: i32 = 1; // ApiVersions took correlation id 0.
    let mut garbage = vec![0, 0, 0, 12];
    garbage.extend_from_slice(&correlation.to_be_bytes());
    garbage.extend_from_slice(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
    cluster.inject(Fault::on(ApiKey::Metadata).action(FaultAction::RawBytes(Bytes::from(garbage))));
    let error = client
        .call::<_, MetadataResponse>(&MetadataRequest::default().with_topics(None))
        .unwrap_err();
    assert!(matches!(error, WireError::Protocol(_)), "{error:?}");
}

#[test]
fn a_leader_move_redirects_the_client() {
    let cluster = fake_with_topic(2, "t", 1);
    let leader = cluster.partition_state("t", 0).unwrap().leader;
    let other = 1 - leader;
    let mut old = client_for(&cluster, leader);
    assert_eq!(
        produce(&mut old, "t", 0, one("before")).unwrap().error_code,
        0
    );
    let epoch = cluster.move_leader("t", 0, other).unwrap();
    assert_eq!(epoch, 1);
    // The old leader refuses, naming the new one (Produce v10+).
    let refused = produce(&mut old, "t", 0, one("refused")).unwrap();
    assert_eq!(
        refused.error_code,
        ResponseError::NotLeaderOrFollower.code()
    );
    assert_eq!(refused.current_leader.leader_id.0, other);
    assert_eq!(refused.current_leader.leader_epoch, 1);
    let (data, _) = fetch(&mut old, "t", 0, 0, 1 << 20).unwrap();
    assert_eq!(data.error_code, ResponseError::NotLeaderOrFollower.code());
    // Metadata shows the move; the new leader serves the whole log.
    let metadata: MetadataResponse = old
        .call(&MetadataRequest::default().with_topics(None))
        .unwrap();
    let partition = &metadata.topics[0].partitions[0];
    assert_eq!((partition.leader_id.0, partition.leader_epoch), (other, 1));
    let mut new = client_for(&cluster, other);
    let answer = produce(&mut new, "t", 0, one("after")).unwrap();
    assert_eq!((answer.error_code, answer.base_offset), (0, 1));
    let (_, records) = fetch(&mut new, "t", 0, 0, 1 << 20).unwrap();
    assert_eq!(records.len(), 2);
}

#[test]
fn a_stopped_broker_refuses_and_drops_connections_and_comes_back_intact() {
    let cluster = fake_with_topic(2, "t", 1);
    let leader = cluster.partition_state("t", 0).unwrap().leader;
    let addr = cluster.broker_addr(leader).unwrap();
    let mut client = client_for(&cluster, leader);
    assert_eq!(
        produce(&mut client, "t", 0, one("kept"))
            .unwrap()
            .error_code,
        0
    );
    cluster.stop_broker(leader).unwrap();
    assert!(!cluster.is_running(leader));
    let error = produce(&mut client, "t", 0, one("dropped")).unwrap_err();
    assert!(
        is_eof(&error) || matches!(&error, WireError::Io(e) if e.kind() == ErrorKind::BrokenPipe),
        "{error:?}"
    );
    let refused = std::net::TcpStream::connect(addr).unwrap_err();
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);
    cluster.restart_broker(leader).unwrap();
    let mut client = connect(addr).unwrap();
    let (_, records) = fetch(&mut client, "t", 0, 0, 1 << 20).unwrap();
    assert_eq!(records.len(), 1, "the log survived the restart");
    assert_eq!(records[0].value.as_deref(), Some(&b"kept"[..]));
}

#[test]
fn idempotence_errors_match_kafka() {
    let cluster = fake_with_topic(1, "t", 1);
    let mut client = client_for(&cluster, 0);
    let (pid, epoch) = init_producer_id(&mut client);
    // No state for the producer and a sequence other than 0.
    let unknown = produce(&mut client, "t", 0, idempotent_batch(pid, epoch, 5, 1, "x")).unwrap();
    assert_eq!(unknown.error_code, ResponseError::UnknownProducerId.code());
    assert_eq!(
        produce(&mut client, "t", 0, idempotent_batch(pid, epoch, 0, 2, "x"))
            .unwrap()
            .error_code,
        0
    );
    // A newer epoch must start at 0; after it, the old epoch is fenced.
    let bumped = produce(
        &mut client,
        "t",
        0,
        idempotent_batch(pid, epoch + 1, 2, 1, "y"),
    )
    .unwrap();
    assert_eq!(
        bumped.error_code,
        ResponseError::OutOfOrderSequenceNumber.code()
    );
    assert_eq!(
        produce(
            &mut client,
            "t",
            0,
            idempotent_batch(pid, epoch + 1, 0, 1, "y")
        )
        .unwrap()
        .error_code,
        0
    );
    let fenced = produce(&mut client, "t", 0, idempotent_batch(pid, epoch, 2, 1, "z")).unwrap();
    assert_eq!(
        fenced.error_code,
        ResponseError::InvalidProducerEpoch.code()
    );
    // Only the last five batches are remembered.
    for seq in 1..7 {
        assert_eq!(
            produce(
                &mut client,
                "t",
                0,
                idempotent_batch(pid, epoch + 1, seq, 1, "w")
            )
            .unwrap()
            .error_code,
            0
        );
    }
    let old_retry = produce(
        &mut client,
        "t",
        0,
        idempotent_batch(pid, epoch + 1, 1, 1, "w"),
    )
    .unwrap();
    assert_eq!(
        old_retry.error_code,
        ResponseError::OutOfOrderSequenceNumber.code()
    );
    let recent_retry = produce(
        &mut client,
        "t",
        0,
        idempotent_batch(pid, epoch + 1, 6, 1, "w"),
    )
    .unwrap();
    // x-0,x-1 at 0-1, y at 2, w1..w6 at 3..8.
    assert_eq!((recent_retry.error_code, recent_retry.base_offset), (0, 8));
    // Deleting all its records forgets the producer.
    cluster.delete_records("t", 0, -1).unwrap();
    let forgotten = produce(
        &mut client,
        "t",
        0,
        idempotent_batch(pid, epoch + 1, 7, 1, "v"),
    )
    .unwrap();
    assert_eq!(
        forgotten.error_code,
        ResponseError::UnknownProducerId.code()
    );
}

#[test]
fn acks_zero_is_applied_and_never_answered() {
    let cluster = fake_with_topic(1, "t", 1);
    let (mut client, socket) = connect_with_socket(cluster.broker_addr(0).unwrap()).unwrap();
    set_read_timeout(&socket, Duration::from_millis(200));
    let request = produce_request("t", 0, 0, one("fire-and-forget"));
    let error = client.call::<_, ProduceResponse>(&request).unwrap_err();
    assert!(is_timeout(&error), "{error:?}");
    assert_eq!(hwm(&cluster, "t", 0), 1);
    // acks=2 is not a thing: INVALID_REQUIRED_ACKS.
    set_read_timeout(&socket, Duration::from_secs(30));
    let mut client = client_for(&cluster, 0);
    let response: ProduceResponse = client.call(&produce_request("t", 0, 2, one("x"))).unwrap();
    assert_eq!(response.responses[0].partition_responses[0].error_code, 21);
}

#[test]
fn read_committed_stops_at_open_transactions_and_lists_aborted_ones() {
    let cluster = fake_with_topic(1, "t", 1);
    let mut client = client_for(&cluster, 0);
    let txn = |pid, seq, value: &str| {
        batch(
            BatchOptions {
                producer_id: pid,
                producer_epoch: 0,
                base_sequence: seq,
                transactional: true,
                ..BatchOptions::default()
            },
            &[Rec::value(1_700_000_000_000, value)],
        )
    };
    assert_eq!(
        produce(&mut client, "t", 0, one("plain"))
            .unwrap()
            .error_code,
        0
    );
    assert_eq!(
        produce(&mut client, "t", 0, txn(77, 0, "aborted"))
            .unwrap()
            .error_code,
        0
    );
    let read = |client: &mut WireClient, isolation| {
        let response: FetchResponse = client
            .call(&fetch_request("t", 0, 0, 1 << 20, isolation))
            .unwrap();
        response.responses[0].partitions[0].clone()
    };
    let committed = read(&mut client, 1);
    assert_eq!(committed.last_stable_offset, 1);
    assert_eq!(
        decode_records(committed.records.unwrap(), 0).len(),
        1,
        "stops at the open transaction"
    );
    assert_eq!(
        decode_records(read(&mut client, 0).records.unwrap(), 0).len(),
        2
    );
    assert_eq!(cluster.end_transaction(77, false).unwrap(), 1);
    let committed = read(&mut client, 1);
    assert_eq!(committed.last_stable_offset, 3, "after the abort marker");
    let aborted = committed.aborted_transactions.unwrap();
    assert_eq!((aborted[0].producer_id.0, aborted[0].first_offset), (77, 1));
    assert!(
        cluster.end_transaction(77, true).is_err(),
        "nothing open any more"
    );
}

#[test]
fn log_append_time_topics_stamp_batches() {
    let cluster = FakeCluster::builder()
        .topic_with_configs("stamped", 1, [("message.timestamp.type", "LogAppendTime")])
        .build()
        .unwrap();
    let mut client = client_for(&cluster, 0);
    let answer = produce(
        &mut client,
        "stamped",
        0,
        plain_batch(Compression::Lz4, &[Rec::value(5, "a"), Rec::value(6, "b")]),
    )
    .unwrap();
    assert_eq!(answer.error_code, 0);
    assert!(answer.log_append_time_ms > 1_600_000_000_000, "{answer:?}");
    // The stored batch is stamped (CRC rewritten), and reads back valid.
    let (_, records) = fetch(&mut client, "stamped", 0, 0, 1 << 20).unwrap();
    assert!(records
        .iter()
        .all(|r| r.timestamp == answer.log_append_time_ms));
    let p = list_offset(&mut client, "stamped", 0, answer.log_append_time_ms);
    assert_eq!((p.offset, p.timestamp), (0, answer.log_append_time_ms));
}

#[test]
fn sasl_plain_gates_every_request() {
    let cluster = FakeCluster::builder()
        .topic("t", 1)
        .sasl_plain_user("alice", "s3cret")
        .build()
        .unwrap();
    let authenticate = |password: &str| {
        let mut client = client_for(&cluster, 0);
        let handshake: SaslHandshakeResponse = client
            .call(
                &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")),
            )
            .unwrap();
        assert_eq!(handshake.error_code, 0);
        assert_eq!(handshake.mechanisms, [StrBytes::from_static_str("PLAIN")]);
        let token = format!("\0alice\0{password}");
        let answer: SaslAuthenticateResponse = client
            .call(&SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from(token)))
            .unwrap();
        (client, answer)
    };
    // Before authenticating, anything but the SASL APIs closes the connection.
    let mut client = client_for(&cluster, 0);
    let error = produce(&mut client, "t", 0, one("x")).unwrap_err();
    assert!(is_eof(&error), "{error:?}");
    let (_, answer) = authenticate("wrong");
    assert_eq!(
        answer.error_code,
        ResponseError::SaslAuthenticationFailed.code()
    );
    let (mut client, answer) = authenticate("s3cret");
    assert_eq!(answer.error_code, 0);
    assert_eq!(
        produce(&mut client, "t", 0, one("x")).unwrap().error_code,
        0
    );
}

#[test]
fn a_single_member_group_joins_syncs_and_commits() {
    let cluster = fake_with_topic(3, "t", 2);
    let mut any = client_for(&cluster, 0);
    let batched = any.version(ApiKey::FindCoordinator) >= 4;
    let request = if batched {
        FindCoordinatorRequest::default()
            .with_coordinator_keys(vec![StrBytes::from_static_str("g")])
    } else {
        FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g"))
    };
    let found: FindCoordinatorResponse = any.call(&request).unwrap();
    let coordinator = if batched {
        found.coordinators[0].node_id.0
    } else {
        found.node_id.0
    };
    let mut client = client_for(&cluster, coordinator);
    let join = |client: &mut WireClient, member: &str| -> JoinGroupResponse {
        client
            .call(
                &JoinGroupRequest::default()
                    .with_group_id(GroupId(StrBytes::from_static_str("g")))
                    .with_session_timeout_ms(10_000)
                    .with_rebalance_timeout_ms(10_000)
                    .with_member_id(StrBytes::from_string(member.to_owned()))
                    .with_protocol_type(StrBytes::from_static_str("consumer"))
                    .with_protocols(vec![join_group_request::JoinGroupRequestProtocol::default(
                    )
                    .with_name(StrBytes::from_static_str("range"))
                    .with_metadata(Bytes::from_static(b"meta"))]),
            )
            .unwrap()
    };
    let first = join(&mut client, "");
    assert_eq!(first.error_code, ResponseError::MemberIdRequired.code());
    let member = first.member_id.to_string();
    let joined = join(&mut client, &member);
    assert_eq!(joined.error_code, 0, "{joined:?}");
    assert_eq!(
        (joined.generation_id, joined.leader.as_str()),
        (1, member.as_str())
    );
    assert_eq!(joined.members.len(), 1);
    let synced: SyncGroupResponse = client
        .call(
            &SyncGroupRequest::default()
                .with_group_id(GroupId(StrBytes::from_static_str("g")))
                .with_generation_id(1)
                .with_member_id(StrBytes::from_string(member.clone()))
                .with_assignments(vec![
                    sync_group_request::SyncGroupRequestAssignment::default()
                        .with_member_id(StrBytes::from_string(member.clone()))
                        .with_assignment(Bytes::from_static(b"all of it")),
                ]),
        )
        .unwrap();
    assert_eq!(
        (synced.error_code, &synced.assignment[..]),
        (0, &b"all of it"[..])
    );
    let heartbeat: HeartbeatResponse = client
        .call(
            &HeartbeatRequest::default()
                .with_group_id(GroupId(StrBytes::from_static_str("g")))
                .with_generation_id(1)
                .with_member_id(StrBytes::from_string(member.clone())),
        )
        .unwrap();
    assert_eq!(heartbeat.error_code, 0);
    let commit: OffsetCommitResponse = client
        .call(
            &OffsetCommitRequest::default()
                .with_group_id(GroupId(StrBytes::from_static_str("g")))
                .with_generation_id_or_member_epoch(1)
                .with_member_id(StrBytes::from_string(member.clone()))
                .with_topics(vec![
                    offset_commit_request::OffsetCommitRequestTopic::default()
                        .with_name(topic_name("t"))
                        .with_partitions(vec![
                            offset_commit_request::OffsetCommitRequestPartition::default()
                                .with_partition_index(1)
                                .with_committed_offset(42),
                        ]),
                ]),
        )
        .unwrap();
    assert_eq!(commit.topics[0].partitions[0].error_code, 0);
    let fetched: OffsetFetchResponse = client
        .call(
            &OffsetFetchRequest::default()
                .with_group_id(GroupId(StrBytes::from_static_str("g")))
                .with_topics(Some(vec![
                    offset_fetch_request::OffsetFetchRequestTopic::default()
                        .with_name(topic_name("t"))
                        .with_partition_indexes(vec![0, 1]),
                ])),
        )
        .unwrap();
    let offsets: Vec<i64> = fetched.topics[0]
        .partitions
        .iter()
        .map(|p| p.committed_offset)
        .collect();
    assert_eq!(offsets, [-1, 42]);
    // Another broker is not the coordinator.
    let other = (coordinator + 1) % 3;
    let mut wrong = client_for(&cluster, other);
    let refused: HeartbeatResponse = wrong
        .call(
            &HeartbeatRequest::default()
                .with_group_id(GroupId(StrBytes::from_static_str("g")))
                .with_generation_id(1)
                .with_member_id(StrBytes::from_string(member)),
        )
        .unwrap();
    assert_eq!(refused.error_code, ResponseError::NotCoordinator.code());
    assert!(
        cluster.internal_errors().is_empty(),
        "{:?}",
        cluster.internal_errors()
    );
}

#[test]
fn apis_the_fake_serves_are_advertised_and_capped_versions_hold() {
    let cluster = FakeCluster::builder()
        .max_version(ApiKey::Produce, 7)
        .max_version(ApiKey::CreatePartitions, -1)
        .build()
        .unwrap();
    let client = client_for(&cluster, 0);
    assert_eq!(
        client.versions().broker_range(ApiKey::Produce),
        Some((3, 7))
    );
    assert!(client
        .versions()
        .negotiate(ApiKey::CreatePartitions)
        .is_err());
    assert_eq!(
        client.versions().broker_range(ApiKey::JoinGroup),
        Some((0, 7))
    );
}

#[test]
fn create_partitions_grows_a_topic() {
    let cluster = fake_with_topic(3, "grow", 2);
    let mut client = client_for(&cluster, 0);
    let response: CreatePartitionsResponse = client
        .call(
            &CreatePartitionsRequest::default()
                .with_topics(vec![
                    create_partitions_request::CreatePartitionsTopic::default()
                        .with_name(topic_name("grow"))
                        .with_count(5)
                        .with_assignments(None),
                ])
                .with_timeout_ms(5_000),
        )
        .unwrap();
    assert_eq!(response.results[0].error_code, 0, "{response:?}");
    assert!(cluster.partition_state("grow", 4).is_some());
    let shrink: CreatePartitionsResponse = client
        .call(
            &CreatePartitionsRequest::default()
                .with_topics(vec![
                    create_partitions_request::CreatePartitionsTopic::default()
                        .with_name(topic_name("grow"))
                        .with_count(3)
                        .with_assignments(None),
                ])
                .with_timeout_ms(5_000),
        )
        .unwrap();
    assert_eq!(
        shrink.results[0].error_code,
        ResponseError::InvalidPartitions.code()
    );
}
