//! The async client against the fake cluster's faults: leader moves and
//! broker restarts during a ranged read, every fault action reaching the
//! client, and hostile bytes after a successful handshake. Each test
//! checks the client's documented reaction (retry, refresh and follow the
//! leader, time out and reconnect, or a typed error naming the
//! topic-partition) and that every record is read exactly once, in order.
//!
//! No test asserts how long anything took: waits only give the client a
//! chance to see a fault, and every stream read has a generous stall guard.

mod common;

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use ferrokafka::Compression;
use ferrokafka::{
    Client, ClientConfig, ClientConfigBuilder, ErrorKind, ReadRange, Record, RecordStream,
    TopicPartition,
};
use ferrokafka_fake::messages::RequestKind;
use ferrokafka_fake::{FakeCluster, Fault, FaultAction, ResponseError};
use ferrokafka_protocol::messages::ApiKey;
use ferrokafka_tests::backend::fake_with_topic;
use futures::StreamExt;

/// `request.timeout.ms` of the test clients: short enough that timeouts
/// happen within a test, long enough for a loaded machine.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(2);
/// `fetch.max.wait.ms`.
const FETCH_WAIT: Duration = Duration::from_millis(100);
/// Longer than any request may take: a stream that yields nothing for
/// this long is stuck.
const STALL: Duration = Duration::from_secs(90);

/// A client with short timeouts and backoffs. With `small_fetches`, each
/// fetch brings about one batch per partition and at most two fetches'
/// worth of bytes wait for the consumer, so a read takes many fetches and
/// a fault injected mid-read meets fetches still to come.
async fn client(cluster: &FakeCluster, small_fetches: bool) -> Client {
    client_with(cluster, |config| {
        let config = config
            .client_id("ferrokafka-faults")
            .request_timeout(REQUEST_TIMEOUT)
            .fetch_max_wait(FETCH_WAIT)
            .default_api_timeout(Duration::from_secs(60))
            .retry_backoff(Duration::from_millis(20))
            .retry_backoff_max(Duration::from_millis(200))
            .reconnect_backoff(Duration::from_millis(20))
            .reconnect_backoff_max(Duration::from_millis(300));
        if small_fetches {
            config
                .max_partition_fetch_bytes(512)
                .fetch_max_bytes(1024)
                .fetch_buffer_max_bytes(2048)
        } else {
            config
        }
    })
    .await
}

/// A client of the cluster with only the settings `configure` makes
/// (besides `bootstrap.servers`), for tests about those settings.
async fn client_with(
    cluster: &FakeCluster,
    configure: impl FnOnce(ClientConfigBuilder) -> ClientConfigBuilder,
) -> Client {
    let config = configure(ClientConfig::builder().bootstrap_servers(cluster.bootstrap()))
        .build()
        .expect("a valid configuration");
    Client::connect(config)
        .await
        .unwrap_or_else(|e| panic!("connect to the fake: {e}"))
}

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

/// Writes `count` records (`v<offset>`, batches of 10) to each partition.
async fn fill(client: &Client, topic: &str, partitions: i32, count: i64) {
    for p in 0..partitions {
        common::produce_values(client, &tp(topic, p), count, 10, 0, Compression::None).await;
    }
}

fn ranges(topic: &str, partitions: i32, count: i64) -> Vec<ReadRange> {
    (0..partitions)
        .map(|p| ReadRange::new(topic, p, 0..count))
        .collect()
}

async fn next(stream: &mut RecordStream) -> Option<Result<Record, ferrokafka::Error>> {
    tokio::time::timeout(STALL, stream.next())
        .await
        .expect("the reader stalled")
}

/// Everything left in the stream.
async fn drain(stream: &mut RecordStream) -> (Vec<Record>, Vec<ferrokafka::Error>) {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    while let Some(item) = next(stream).await {
        match item {
            Ok(r) => records.push(r),
            Err(e) => errors.push(e),
        }
    }
    (records, errors)
}

async fn read_all(
    client: &Client,
    ranges: Vec<ReadRange>,
) -> (Vec<Record>, Vec<ferrokafka::Error>) {
    drain(&mut client.read(ranges)).await
}

/// Offsets read per partition, in the order the stream gave them; checks
/// each value against its offset.
fn by_partition(records: &[Record]) -> BTreeMap<i32, Vec<i64>> {
    let mut out: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for r in records {
        assert_eq!(
            r.value.as_deref(),
            Some(format!("v{}", r.offset).as_bytes()),
            "partition {} offset {}",
            r.partition,
            r.offset
        );
        out.entry(r.partition).or_default().push(r.offset);
    }
    out
}

/// Every partition in `partitions` read exactly once, in order: `0..count`.
fn assert_exactly_once(records: &[Record], partitions: impl IntoIterator<Item = i32>, count: i64) {
    let got = by_partition(records);
    for p in partitions {
        assert_eq!(
            got.get(&p).cloned().unwrap_or_default(),
            (0..count).collect::<Vec<_>>(),
            "partition {p}: every offset exactly once, in order"
        );
    }
}

/// Whether a recorded request is a Fetch naming `topic`-`partition`.
fn fetches(request: &RequestKind, topic: &str, partition: i32) -> bool {
    match request {
        RequestKind::Fetch(f) => f.topics.iter().any(|t| {
            t.topic.0.as_str() == topic && t.partitions.iter().any(|p| p.partition == partition)
        }),
        _ => false,
    }
}

/// Runs a blocking control call of the fake (stop, restart) off the
/// runtime's async path.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

/// A cluster of `brokers` with `topic`, `count` records (`v<offset>`) in
/// each of its `partitions`, and a client of it (see [`client`]).
async fn filled(
    brokers: usize,
    topic: &str,
    partitions: i32,
    count: i64,
    small_fetches: bool,
) -> (FakeCluster, Client) {
    let cluster = fake_with_topic(brokers, topic, partitions);
    let client = client(&cluster, small_fetches).await;
    fill(&client, topic, partitions, count).await;
    (cluster, client)
}

/// The next `n` records of the stream, before a fault: no error may come.
async fn read_some(stream: &mut RecordStream, n: usize) -> Vec<Record> {
    let mut records = Vec::with_capacity(n);
    while records.len() < n {
        let record = next(stream)
            .await
            .expect("more records")
            .expect("no error before the fault");
        records.push(record);
    }
    records
}

/// Everything left in the stream, which ends without an error.
async fn drain_clean(stream: &mut RecordStream) -> Vec<Record> {
    let (records, errors) = drain(stream).await;
    assert!(errors.is_empty(), "{errors:?}");
    records
}

/// What the stream yields within `wait`, while brokers are down: the
/// outage is shorter than the API timeout, so no error may come.
async fn read_during_outage(stream: &mut RecordStream, wait: Duration) -> Vec<Record> {
    let deadline = tokio::time::Instant::now() + wait;
    let mut records = Vec::new();
    while let Ok(Some(item)) = tokio::time::timeout_at(deadline, stream.next()).await {
        records.push(item.expect("an outage within the API timeout is retried, not an error"));
    }
    records
}

/// Moves the partitions of `topic` that broker `from` leads to broker `to`.
fn move_leaders_off(cluster: &FakeCluster, topic: &str, partitions: i32, from: i32, to: i32) {
    for p in 0..partitions {
        if cluster.partition_state(topic, p).unwrap().leader == from {
            cluster.move_leader(topic, p, to).unwrap();
        }
    }
}

/// Reads `count` records of each partition of `topic`: every one once, in
/// order, and no error (`context` prefixes the failure message).
async fn reads_all_once(client: &Client, topic: &str, partitions: i32, count: i64, context: &str) {
    let (records, errors) = read_all(client, ranges(topic, partitions, count)).await;
    assert!(errors.is_empty(), "{context}: {errors:?}");
    assert_exactly_once(&records, 0..partitions, count);
}

// (a) Leader moves.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_follows_moved_leaders_and_reads_every_record_once() {
    follow_moved_leaders(fake_with_topic(3, "moving", 6)).await;
}

/// The same with the oldest versions the fake serves: Fetch v4 (no leader
/// epoch in the request, no log start offset) and Metadata v1 (no leader
/// epochs at all): only NOT_LEADER_OR_FOLLOWER tells of the move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_follows_moved_leaders_at_old_protocol_versions() {
    let cluster = FakeCluster::builder()
        .brokers(3)
        .topic("moving", 6)
        .max_version(ApiKey::Fetch, 4)
        .max_version(ApiKey::Metadata, 1)
        .build()
        .unwrap();
    follow_moved_leaders(cluster).await;
}

async fn follow_moved_leaders(cluster: FakeCluster) {
    const TOPIC: &str = "moving";
    const COUNT: i64 = 200;
    let client = client(&cluster, true).await;
    fill(&client, TOPIC, 6, COUNT).await;

    let mut stream = client.read(ranges(TOPIC, 6, COUNT));
    let mut records = read_some(&mut stream, 100).await;
    // Every partition moves to the next broker; the client is not told.
    let mark = cluster.requests().len();
    let mut old_leaders = BTreeMap::new();
    for p in 0..6 {
        let old = cluster.partition_state(TOPIC, p).unwrap().leader;
        old_leaders.insert(p, old);
        cluster.move_leader(TOPIC, p, (old + 1) % 3).unwrap();
    }
    let (rest, errors) = drain(&mut stream).await;
    assert!(
        errors.is_empty(),
        "a leader move is not an error: {errors:?}"
    );
    records.extend(rest);
    assert_exactly_once(&records, 0..6, COUNT);

    // The path taken: a fetch to an old leader (refused with
    // NOT_LEADER_OR_FOLLOWER / FENCED_LEADER_EPOCH), a metadata refresh,
    // then fetches to the new leader of every partition.
    let after = &cluster.requests()[mark..];
    assert!(
        after
            .iter()
            .any(|r| (0..6).any(|p| r.broker == old_leaders[&p] && fetches(&r.request, TOPIC, p))),
        "some fetch went to an old leader after the move"
    );
    assert!(
        after.iter().any(|r| r.api_key == ApiKey::Metadata),
        "the refusal made the client refresh its metadata"
    );
    for p in 0..6 {
        let new = cluster.partition_state(TOPIC, p).unwrap().leader;
        let finished_before_move = records
            .iter()
            .take(100)
            .any(|r| r.partition == p && r.offset == COUNT - 1);
        if !finished_before_move {
            assert!(
                after
                    .iter()
                    .any(|r| r.broker == new && fetches(&r.request, TOPIC, p)),
                "partition {p} was fetched from its new leader {new}"
            );
        }
    }
    assert!(
        cluster.internal_errors().is_empty(),
        "{:?}",
        cluster.internal_errors()
    );
}

/// A range past the end is waiting in a long poll when its leader moves:
/// the old leader's parked fetch is refused, the reader moves to the new
/// leader, and the records written there afterwards complete the range.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_read_follows_a_leader_move_and_gets_the_new_records() {
    const TOPIC: &str = "tail";
    let cluster = fake_with_topic(2, TOPIC, 1);
    let client = client(&cluster, false).await;
    let tp = tp(TOPIC, 0);
    common::produce_values(&client, &tp, 10, 10, 0, Compression::None).await;
    let mut stream = client.read(vec![ReadRange::new(TOPIC, 0, 5..20)]);
    let mut records = read_some(&mut stream, 5).await;
    // The reader now waits for 10..20 on the current leader.
    let old = cluster.partition_state(TOPIC, 0).unwrap().leader;
    let new = (old + 1) % 2;
    cluster.move_leader(TOPIC, 0, new).unwrap();
    // Records 10..20, written to the new leader.
    let mut builder = ferrokafka_protocol::record::BatchBuilder::new(Compression::None);
    for o in 10..20 {
        builder.append(o, None, Some(format!("v{o}").as_bytes()), &[]);
    }
    let mut batch = bytes::BytesMut::new();
    builder.finish(&mut batch).unwrap();
    client.invalidate_metadata(TOPIC);
    assert_eq!(common::produce(&client, &tp, batch.freeze()).await, 10);
    records.extend(drain_clean(&mut stream).await);
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, (5..20).collect::<Vec<_>>());
    by_partition(&records);
    assert!(cluster
        .requests()
        .iter()
        .any(|r| r.broker == new && fetches(&r.request, TOPIC, 0)));
}

// (b) A broker stops and comes back.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_reconnects_to_a_restarted_broker_and_completes() {
    const TOPIC: &str = "restart";
    const COUNT: i64 = 150;
    let (cluster, client) = filled(3, TOPIC, 3, COUNT, true).await;
    let victim = cluster.partition_state(TOPIC, 0).unwrap().leader;

    let mut stream = client.read(ranges(TOPIC, 3, COUNT));
    let mut records = read_some(&mut stream, 60).await;
    let connections_before: HashSet<u64> = cluster
        .requests()
        .iter()
        .filter(|r| r.broker == victim)
        .map(|r| r.connection)
        .collect();
    blocking(|| cluster.stop_broker(victim)).unwrap();
    // Keep reading while it is down (the other partitions may go on),
    // then bring it back.
    records.extend(read_during_outage(&mut stream, Duration::from_millis(800)).await);
    blocking(|| cluster.restart_broker(victim)).unwrap();

    records.extend(drain_clean(&mut stream).await);
    assert_exactly_once(&records, 0..3, COUNT);
    let reconnected = cluster
        .requests()
        .iter()
        .any(|r| r.broker == victim && !connections_before.contains(&r.connection));
    assert!(
        reconnected,
        "the client opened a new connection to broker {victim}"
    );
}

/// The leader dies for good and its partitions move to the survivors (a
/// failover): the reader stops retrying the dead broker once the metadata
/// names the new leaders, and reads everything exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_fails_over_when_a_dead_leader_is_replaced() {
    const TOPIC: &str = "failover";
    const COUNT: i64 = 150;
    let (cluster, client) = filled(3, TOPIC, 3, COUNT, true).await;
    let victim = cluster.partition_state(TOPIC, 0).unwrap().leader;

    let mut stream = client.read(ranges(TOPIC, 3, COUNT));
    let mut records = read_some(&mut stream, 60).await;
    blocking(|| cluster.stop_broker(victim)).unwrap();
    move_leaders_off(&cluster, TOPIC, 3, victim, (victim + 1) % 3);
    records.extend(drain_clean(&mut stream).await);
    assert_exactly_once(&records, 0..3, COUNT);
    assert!(!cluster.is_running(victim));
}

/// A dead broker in `bootstrap.servers` does not stop the client: it
/// connects through another, and reads partitions led by live brokers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bootstrap_skips_a_stopped_broker() {
    let cluster = fake_with_topic(3, "boot", 3);
    blocking(|| cluster.stop_broker(0)).unwrap();
    let client = client(&cluster, false).await;
    move_leaders_off(&cluster, "boot", 3, 0, 1);
    fill(&client, "boot", 3, 30).await;
    reads_all_once(&client, "boot", 3, 30, "with broker 0 stopped").await;
}

// (c) Each fault action on a Fetch.

/// A three-broker cluster with `TOPIC` (3 partitions of `COUNT` records)
/// and a client, for the fault tests.
const TOPIC: &str = "faults";
const COUNT: i64 = 60;

async fn setup(small_fetches: bool) -> (FakeCluster, Client) {
    filled(3, TOPIC, 3, COUNT, small_fetches).await
}

/// A fault on the fetches of partition `partition` of `TOPIC`.
fn on_fetches_of(partition: i32) -> Fault {
    Fault::on(ApiKey::Fetch).partition(TOPIC, partition)
}

/// The one error of a read in which only `partition` of `TOPIC` failed.
fn only_error_of(errors: &[ferrokafka::Error], partition: i32) -> &ferrokafka::Error {
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert_eq!(e.topic_partition(), Some(&tp(TOPIC, partition)), "{e}");
    e
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retriable_error_codes_are_retried_until_the_read_succeeds() {
    let (cluster, client) = setup(true).await;
    for error in [
        ResponseError::NotLeaderOrFollower,
        ResponseError::UnknownLeaderEpoch,
        ResponseError::RequestTimedOut,
        ResponseError::KafkaStorageError,
    ] {
        let fault = cluster.inject(
            on_fetches_of(1)
                .nth(2)
                .times(3)
                .action(FaultAction::Error(error)),
        );
        reads_all_once(&client, TOPIC, 3, COUNT, &format!("{error:?} is retriable")).await;
        assert_eq!(cluster.fault_hits(fault), 3, "{error:?} reached the client");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn non_retriable_error_code_ends_only_its_partition_with_a_typed_error() {
    let (cluster, client) = setup(false).await;
    let fault = cluster.inject(
        on_fetches_of(1)
            .always()
            .action(FaultAction::Error(ResponseError::TopicAuthorizationFailed)),
    );
    let (records, errors) = read_all(&client, ranges(TOPIC, 3, COUNT)).await;
    let e = only_error_of(&errors, 1);
    assert_eq!(e.code(), Some(29), "{e}");
    assert!(!e.is_retriable(), "{e}");
    assert!(e.to_string().starts_with("faults-1: "), "{e}");
    assert_eq!(cluster.fault_hits(fault), 1, "not retried");
    assert!(records.iter().all(|r| r.partition != 1));
    assert_exactly_once(&records, [0, 2], COUNT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offset_out_of_range_on_one_partition_lets_the_others_finish() {
    let (cluster, client) = setup(true).await;
    let fault = cluster.inject(
        on_fetches_of(2)
            .nth(2)
            .action(FaultAction::Error(ResponseError::OffsetOutOfRange)),
    );
    let (records, errors) = read_all(&client, ranges(TOPIC, 3, COUNT)).await;
    assert_eq!(cluster.fault_hits(fault), 1);
    let e = only_error_of(&errors, 2);
    match e.kind() {
        ErrorKind::OffsetOutOfRange {
            requested,
            log_start_offset,
            high_watermark,
        } => {
            // The fault answers -1s, so the reader looked the range up.
            assert_eq!((*log_start_offset, *high_watermark), (0, COUNT), "{e}");
            assert!((0..COUNT).contains(requested), "{e}");
        }
        other => panic!("{other}"),
    }
    assert_exactly_once(&records, [0, 1], COUNT);
    // What partition 2 did yield before the error is a gap-free prefix.
    let two = by_partition(&records).remove(&2).unwrap_or_default();
    assert_eq!(two, (0..two.len() as i64).collect::<Vec<_>>());
}

/// A retriable error that never clears: the partition ends with that
/// error once `default.api.timeout.ms` has passed; the others finish.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retriable_error_that_persists_ends_its_partition_after_the_api_timeout() {
    let (cluster, _filler) = setup(false).await;
    let client = client_with(&cluster, |config| {
        config
            .request_timeout(REQUEST_TIMEOUT)
            .fetch_max_wait(FETCH_WAIT)
            .default_api_timeout(Duration::from_millis(1500))
            .retry_backoff(Duration::from_millis(20))
            .retry_backoff_max(Duration::from_millis(200))
    })
    .await;
    let fault = cluster.inject(
        on_fetches_of(1)
            .always()
            .action(FaultAction::Error(ResponseError::NotLeaderOrFollower)),
    );
    let (records, errors) = read_all(&client, ranges(TOPIC, 3, COUNT)).await;
    let e = only_error_of(&errors, 1);
    assert_eq!(e.code(), Some(6), "the last error: {e}");
    assert!(cluster.fault_hits(fault) > 1, "it was retried");
    assert!(records.iter().all(|r| r.partition != 1));
    assert_exactly_once(&records, [0, 2], COUNT);
}

/// Close before / after apply on one broker's fetches: the connection
/// drops, the client reconnects and retries, nothing is lost or repeated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closed_connections_are_retried() {
    let (cluster, client) = setup(true).await;
    for action in [FaultAction::CloseBeforeApply, FaultAction::CloseAfterApply] {
        let fault = cluster.inject(on_fetches_of(0).nth(2).times(2).action(action.clone()));
        reads_all_once(&client, TOPIC, 3, COUNT, &format!("{action:?}")).await;
        assert_eq!(cluster.fault_hits(fault), 2, "{action:?}");
    }
}

/// A fetch answered later than `request.timeout.ms` (+ `fetch.max.wait.ms`),
/// or never: the client times out, drops that connection and retries on
/// a new one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_or_missing_answers_time_out_and_are_retried_on_a_new_connection() {
    let (cluster, client) = setup(true).await;
    let leader = cluster.partition_state(TOPIC, 0).unwrap().leader;
    for action in [
        FaultAction::Delay(REQUEST_TIMEOUT + FETCH_WAIT + Duration::from_secs(3)),
        FaultAction::NeverAnswer,
        FaultAction::NeverAnswerAfterApply,
    ] {
        let mark = cluster.requests().len();
        let fault = cluster.inject(on_fetches_of(0).nth(2).action(action.clone()));
        reads_all_once(&client, TOPIC, 3, COUNT, &format!("{action:?}")).await;
        assert_eq!(cluster.fault_hits(fault), 1, "{action:?}");
        let after = &cluster.requests()[mark..];
        let faulted = after
            .iter()
            .find(|r| r.fault.is_some())
            .expect("the faulted request is recorded");
        assert!(
            after.iter().any(|r| r.broker == leader
                && r.connection != faulted.connection
                && fetches(&r.request, TOPIC, 0)),
            "{action:?}: partition 0 was fetched again on a new connection"
        );
    }
}

/// An admin call whose answer never comes, or comes after
/// `request.timeout.ms`, with no retry time left: a Timeout error naming
/// the API; the client works again once the broker answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_never_gets_an_answer_is_a_timeout_error() {
    let cluster = fake_with_topic(1, TOPIC, 1);
    let client = client_with(&cluster, |config| {
        config
            .request_timeout(Duration::from_millis(500))
            .fetch_max_wait(Duration::from_millis(100))
            .default_api_timeout(Duration::from_millis(500))
    })
    .await;
    for action in [
        FaultAction::NeverAnswer,
        FaultAction::Delay(Duration::from_secs(3)),
    ] {
        let fault = cluster.inject(Fault::on(ApiKey::Metadata).always().action(action.clone()));
        let err = client.admin().describe_topic(TOPIC).await.unwrap_err();
        assert!(
            matches!(err.kind(), ErrorKind::Timeout(_)),
            "{action:?}: {err}"
        );
        assert!(err.is_retriable(), "{err}");
        assert_eq!(err.api().map(|a| a.name()), Some("Metadata"), "{err}");
        assert!(cluster.fault_hits(fault) >= 1);
        cluster.remove_fault(fault);
        let topic = client.admin().describe_topic(TOPIC).await.unwrap();
        assert_eq!(topic.partitions.len(), 1, "{action:?}: usable again");
    }
}

// (c, d) Hostile bytes in place of an answer, after a good handshake.

/// Garbage instead of a Fetch answer: a typed error for the partitions of
/// that fetch (no panic, no hang); the client stays usable.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_fetch_answer_is_a_typed_error_for_its_partitions() {
    let (cluster, client) = setup(false).await;
    let fault = cluster.inject(on_fetches_of(1).action(FaultAction::RawBytes(
        bytes::Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8]),
    )));
    let (records, errors) = read_all(&client, ranges(TOPIC, 3, COUNT)).await;
    assert_eq!(cluster.fault_hits(fault), 1);
    for e in &errors {
        assert!(
            matches!(
                e.kind(),
                ErrorKind::Connection(_)
                    | ErrorKind::Protocol(_)
                    | ErrorKind::UnexpectedResponse(_)
            ),
            "{e}"
        );
        assert!(e.topic_partition().is_some(), "{e}");
    }
    let failed: HashSet<i32> = errors
        .iter()
        .filter_map(|e| e.topic_partition().map(|tp| tp.partition))
        .collect();
    let got = by_partition(&records);
    for p in 0..3 {
        if !failed.contains(&p) {
            assert_eq!(got[&p], (0..COUNT).collect::<Vec<_>>(), "partition {p}");
        }
    }
    // The client is still usable.
    reads_all_once(&client, TOPIC, 3, COUNT, "after the garbage").await;
}

/// Hostile frames instead of a Metadata answer on an established
/// connection (the ApiVersions handshake went fine): each is a typed error
/// or, when the connection just stalls or drops, a retry; never a panic;
/// the next call works.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_frames_after_the_handshake_are_typed_errors() {
    let cluster = fake_with_topic(1, TOPIC, 2);
    let client = client_with(&cluster, |config| {
        config
            .request_timeout(Duration::from_millis(1000))
            .default_api_timeout(Duration::from_secs(20))
            .retry_backoff(Duration::from_millis(20))
            .retry_backoff_max(Duration::from_millis(100))
            .reconnect_backoff(Duration::from_millis(20))
            .reconnect_backoff_max(Duration::from_millis(100))
    })
    .await;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "a negative length",
            vec![0xff, 0xff, 0xff, 0xf0, 0, 0, 0, 1],
        ),
        ("a 2 GiB length", vec![0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1]),
        ("a frame too short for a header", vec![0, 0, 0, 2, 1, 2]),
        ("an unknown correlation id", vec![0, 0, 0, 4, 0x7f, 0, 0, 9]),
        ("an empty frame", vec![0, 0, 0, 0]),
        ("a truncated frame", vec![0, 0, 0, 100, 0, 0, 0, 1, 2, 3]),
        ("text", b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec()),
    ];
    for (what, bytes) in cases {
        let fault = cluster.inject(
            Fault::on(ApiKey::Metadata).action(FaultAction::RawBytes(bytes::Bytes::from(bytes))),
        );
        let outcome = tokio::time::timeout(STALL, client.admin().describe_topic(TOPIC))
            .await
            .unwrap_or_else(|_| panic!("{what}: the call hung"));
        assert_eq!(cluster.fault_hits(fault), 1, "{what}");
        match outcome {
            // Retried on a new connection (a stall or a drop).
            Ok(topic) => assert_eq!(topic.partitions.len(), 2, "{what}"),
            Err(e) => assert!(
                matches!(
                    e.kind(),
                    ErrorKind::Connection(_)
                        | ErrorKind::Protocol(_)
                        | ErrorKind::UnexpectedResponse(_)
                ),
                "{what}: {e}"
            ),
        }
        let topic = client
            .admin()
            .describe_topic(TOPIC)
            .await
            .unwrap_or_else(|e| panic!("after {what}: {e}"));
        assert_eq!(topic.partitions.len(), 2, "after {what}");
    }
}

/// Well-framed answers that carry the right correlation id but a hostile
/// body (announced counts far beyond the frame, garbage, nothing): the
/// bounded decoder refuses each with a typed error naming the API, nothing
/// is allocated from the announced counts, and the client goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_bodies_with_matching_correlation_ids_are_typed_errors() {
    let cluster = fake_with_topic(1, TOPIC, 2);
    let client = client_with(&cluster, |config| {
        config
            .request_timeout(Duration::from_millis(1000))
            .default_api_timeout(Duration::from_secs(20))
    })
    .await;
    // Metadata v12 answer: header v1 (correlation id, no tagged fields),
    // then throttle_time_ms and the brokers array.
    let huge_varint = [0x80, 0x80, 0x80, 0x80, 0x08]; // 2^31
    let mut huge_brokers = vec![0, 0, 0, 0];
    huge_brokers.extend_from_slice(&huge_varint);
    let mut huge_topic_name = vec![0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 2, 0, 0];
    huge_topic_name.extend_from_slice(&huge_varint);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("a broker array announcing 2^31 entries", huge_brokers),
        ("a topic name longer than the frame", huge_topic_name),
        ("garbage", vec![0x13; 40]),
        ("no body", Vec::new()),
    ];
    for (what, body) in cases {
        // Warm up: the next Metadata goes on the same connection, with
        // the next correlation id (the client numbers them 1, 2, 3, ...).
        client.admin().describe_topic(TOPIC).await.unwrap();
        let last = cluster
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.api_key == ApiKey::Metadata)
            .expect("the warm-up Metadata");
        assert_eq!(last.api_version, 12, "the test crafts v12 answers");
        let correlation_id = last.correlation_id + 1;
        let mut frame = Vec::new();
        frame.extend_from_slice(&(4 + 1 + body.len() as i32).to_be_bytes());
        frame.extend_from_slice(&correlation_id.to_be_bytes());
        frame.push(0); // no tagged fields in the header
        frame.extend_from_slice(&body);
        let fault = cluster.inject(
            Fault::on(ApiKey::Metadata)
                .broker(last.broker)
                .action(FaultAction::RawBytes(bytes::Bytes::from(frame))),
        );
        let err = tokio::time::timeout(STALL, client.admin().describe_topic(TOPIC))
            .await
            .unwrap_or_else(|_| panic!("{what}: the call hung"))
            .expect_err(what);
        assert_eq!(cluster.fault_hits(fault), 1, "{what}");
        let faulted = cluster
            .requests()
            .into_iter()
            .rev()
            .find(|r| r.fault.is_some())
            .unwrap();
        assert_eq!(
            (faulted.connection, faulted.correlation_id),
            (last.connection, correlation_id),
            "{what}: the crafted answer matched the request"
        );
        assert!(
            matches!(err.kind(), ErrorKind::Protocol(_)),
            "{what}: {err}"
        );
        assert_eq!(
            err.api().map(|a| a.name()),
            Some("Metadata"),
            "{what}: {err}"
        );
        assert!(!err.is_retriable(), "{what}: {err}");
    }
    let topic = client.admin().describe_topic(TOPIC).await.unwrap();
    assert_eq!(topic.partitions.len(), 2);
}

/// Transactions on the fake, read through the client: read_committed skips
/// the aborted transaction and every control record, waits at the last
/// stable offset while a transaction is open, and read_uncommitted returns
/// every data record.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_committed_skips_aborted_transactions_and_waits_for_open_ones() {
    use ferrokafka::IsolationLevel;
    use ferrokafka_protocol::messages::{InitProducerIdRequest, ProducerId};
    use ferrokafka_protocol::record::{BatchBuilder, BatchOptions};

    const TOPIC: &str = "txn";
    let cluster = fake_with_topic(1, TOPIC, 1);
    let client = client(&cluster, false).await;
    let tp = tp(TOPIC, 0);
    let init = || async {
        let conn = client.any_connection().await.unwrap();
        let r = conn
            .send(
                &InitProducerIdRequest::default()
                    .with_transactional_id(None)
                    .with_producer_id(ProducerId(-1))
                    .with_producer_epoch(-1)
                    .with_transaction_timeout_ms(60_000),
            )
            .await
            .unwrap();
        assert_eq!(r.error_code, 0, "{r:?}");
        (r.producer_id.0, r.producer_epoch)
    };
    let batch = |pid: i64, epoch: i16, transactional: bool, offsets: std::ops::Range<i64>| {
        let mut builder = BatchBuilder::with_options(BatchOptions {
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: if pid >= 0 { 0 } else { -1 },
            transactional,
            ..BatchOptions::default()
        })
        .unwrap();
        for o in offsets {
            builder.append(o, None, Some(format!("v{o}").as_bytes()), &[]);
        }
        let mut out = bytes::BytesMut::new();
        builder.finish(&mut out).unwrap();
        out.freeze()
    };
    let (aborted, aborted_epoch) = init().await;
    let (committed, committed_epoch) = init().await;
    assert_eq!(
        common::produce(&client, &tp, batch(aborted, aborted_epoch, true, 0..5)).await,
        0
    );
    assert_eq!(
        common::produce(&client, &tp, batch(committed, committed_epoch, true, 5..10)).await,
        5
    );
    // Both transactions are open: a read_committed range over them waits.
    let waiting = {
        let client = client.clone();
        tokio::spawn(async move {
            drain(&mut client.read_with(
                vec![ReadRange::new(TOPIC, 0, 0..17)],
                IsolationLevel::ReadCommitted,
            ))
            .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "nothing is committed yet");
    cluster.end_transaction(aborted, false).unwrap(); // marker at 10
    cluster.end_transaction(committed, true).unwrap(); // marker at 11
    assert_eq!(
        common::produce(&client, &tp, batch(-1, -1, false, 12..17)).await,
        12
    );

    let (records, errors) = waiting.await.unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert_eq!(offsets, (5..10).chain(12..17).collect::<Vec<_>>());
    by_partition(&records);

    let (records, errors) = drain(&mut client.read_with(
        vec![ReadRange::new(TOPIC, 0, 0..17)],
        IsolationLevel::ReadUncommitted,
    ))
    .await;
    assert!(errors.is_empty(), "{errors:?}");
    let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
    assert_eq!(
        offsets,
        (0..10).chain(12..17).collect::<Vec<_>>(),
        "control records are never returned"
    );
}

/// The topic is deleted in the middle of a read: the reader ends that
/// topic's partitions with UNKNOWN_TOPIC_OR_PARTITION (after checking the
/// metadata again) instead of waiting forever; another topic goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_deleted_mid_read_ends_its_partitions_with_a_typed_error() {
    let cluster = fake_with_topic(2, "doomed", 2);
    cluster.create_topic("kept", 1).unwrap();
    let client = client(&cluster, true).await;
    fill(&client, "doomed", 2, 100).await;
    fill(&client, "kept", 1, 100).await;
    let mut all = ranges("doomed", 2, 100);
    all.extend(ranges("kept", 1, 100));
    let mut stream = client.read(all);
    let mut records = read_some(&mut stream, 30).await;
    client.admin().delete_topic("doomed").await.unwrap();
    let (rest, errors) = drain(&mut stream).await;
    records.extend(rest);
    let kept: Vec<i64> = records
        .iter()
        .filter(|r| &*r.topic == "kept")
        .map(|r| r.offset)
        .collect();
    assert_eq!(kept, (0..100).collect::<Vec<_>>());
    let mut failed: Vec<i32> = Vec::new();
    for e in &errors {
        assert!(
            matches!(e.kind(), ErrorKind::UnknownTopicOrPartition),
            "{e}"
        );
        let tp = e.topic_partition().expect("names the partition");
        assert_eq!(&*tp.topic, "doomed", "{e}");
        failed.push(tp.partition);
    }
    failed.sort_unstable();
    // A partition already read to its end before the deletion has no error.
    for p in 0..2 {
        let complete = records
            .iter()
            .any(|r| &*r.topic == "doomed" && r.partition == p && r.offset == 99);
        assert!(complete || failed.contains(&p), "partition {p}: {errors:?}");
    }
}

/// The controller (broker 0 on the fake) is down: admin calls that go to
/// the controller fall back to another broker, and a partition-led call
/// (ListOffsets) works again once its leader moves off the dead broker.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_calls_go_around_a_stopped_controller() {
    use ferrokafka::admin::{NewTopic, OffsetSpec};
    use ferrokafka::IsolationLevel;

    let (cluster, client) = filled(3, "before", 3, 20, false).await;
    assert_eq!(
        client.admin().describe_cluster().await.unwrap().controller,
        Some(0)
    );
    blocking(|| cluster.stop_broker(0)).unwrap();

    let admin = client.admin();
    admin
        .create_topic(NewTopic::new("after", 2, 1))
        .await
        .expect("CreateTopics through a live broker");
    assert_eq!(
        admin
            .describe_topic("after")
            .await
            .unwrap()
            .partitions
            .len(),
        2
    );
    move_leaders_off(&cluster, "before", 3, 0, 1);
    let specs: Vec<_> = (0..3)
        .map(|p| (tp("before", p), OffsetSpec::Latest))
        .collect();
    let latest = admin
        .list_offsets(&specs, IsolationLevel::ReadUncommitted)
        .await
        .unwrap();
    for (tp, offset) in latest {
        assert_eq!(
            offset.map(|o| o.offset).map_err(|e| e.to_string()),
            Ok(20),
            "{tp}"
        );
    }
    admin.delete_topic("after").await.unwrap();
}

/// A cluster that speaks only the oldest versions the fake serves: every
/// admin call and the reader still work (the client leaves out fields the
/// versions cannot carry), and a request that cannot be encoded at the
/// negotiated version is a typed InvalidArgument, not a "malformed
/// response".
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_works_at_the_oldest_versions_the_fake_serves() {
    use ferrokafka::admin::{ConfigResource, NewTopic, OffsetSpec};
    use ferrokafka::IsolationLevel;
    use ferrokafka_protocol::messages::MetadataRequest;

    let cluster = FakeCluster::builder()
        .brokers(2)
        .max_version(ApiKey::Metadata, 1)
        .max_version(ApiKey::Fetch, 4)
        .max_version(ApiKey::ListOffsets, 1)
        .max_version(ApiKey::CreateTopics, 2)
        .max_version(ApiKey::DeleteTopics, 1)
        .max_version(ApiKey::DeleteRecords, 0)
        .max_version(ApiKey::DescribeConfigs, 1)
        .max_version(ApiKey::CreatePartitions, 0)
        .max_version(ApiKey::Produce, 3)
        .build()
        .unwrap();
    let client = client(&cluster, false).await;
    let admin = client.admin();
    admin
        .create_topic(NewTopic::new("old", 2, 1).with_config("retention.ms", "123456"))
        .await
        .unwrap();
    admin.create_partitions("old", 3).await.unwrap();
    assert_eq!(
        admin.describe_topic("old").await.unwrap().partitions.len(),
        3
    );
    assert!(admin
        .list_topics()
        .await
        .unwrap()
        .iter()
        .any(|t| t.name == "old" && t.partitions == 3));
    let configs = admin
        .describe_configs(&ConfigResource::Topic("old".into()))
        .await
        .unwrap();
    assert!(
        configs
            .iter()
            .any(|c| c.name == "retention.ms" && c.value.as_deref() == Some("123456")),
        "{configs:?}"
    );
    fill(&client, "old", 3, 30).await;
    reads_all_once(&client, "old", 3, 30, "at the oldest versions").await;
    let deleted = admin.delete_records(&[(tp("old", 0), 10)]).await.unwrap();
    assert_eq!(deleted[0].1.as_ref().ok(), Some(&10));
    let earliest = admin
        .list_offsets(
            &[
                (tp("old", 0), OffsetSpec::Earliest),
                (tp("old", 1), OffsetSpec::Latest),
            ],
            IsolationLevel::ReadUncommitted,
        )
        .await
        .unwrap();
    let offsets: Vec<i64> = earliest
        .iter()
        .map(|(_, o)| o.as_ref().unwrap().offset)
        .collect();
    assert_eq!(offsets, vec![10, 30]);
    admin.delete_topic("old").await.unwrap();

    // Metadata v1 has no allow_auto_topic_creation: asking for `false`
    // there is the caller's mistake, and says so.
    let conn = client.any_connection().await.unwrap();
    let err = conn
        .send(&MetadataRequest::default().with_allow_auto_topic_creation(false))
        .await
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)), "{err}");
    assert!(err.to_string().contains("Metadata v1"), "{err}");
    assert_eq!(err.api().map(|a| a.name()), Some("Metadata"));
}

/// Two readers on one client, made together and drained one after the
/// other, while a connection they share is cut: both finish with every
/// record once (the pipelined requests on the cut connection are all
/// retried, and one reader's unread records cannot starve the other).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_readers_on_one_client_survive_a_shared_connection_cut() {
    let cluster = fake_with_topic(1, "first", 2);
    cluster.create_topic("second", 2).unwrap();
    let client = client(&cluster, true).await;
    fill(&client, "first", 2, 80).await;
    fill(&client, "second", 2, 80).await;
    let fault = cluster.inject(
        Fault::on(ApiKey::Fetch)
            .nth(3)
            .times(2)
            .action(FaultAction::CloseAfterApply),
    );
    let mut first = client.read(ranges("first", 2, 80));
    let mut second = client.read(ranges("second", 2, 80));
    let (a, a_errors) = drain(&mut first).await;
    let (b, b_errors) = drain(&mut second).await;
    assert!(
        a_errors.is_empty() && b_errors.is_empty(),
        "{a_errors:?} {b_errors:?}"
    );
    assert_exactly_once(&a, 0..2, 80);
    assert_exactly_once(&b, 0..2, 80);
    assert_eq!(cluster.fault_hits(fault), 2);
}

/// Every broker stops mid-read, then all come back: metadata refreshes and
/// fetches keep failing to connect (retried with backoff, no error to the
/// consumer within `default.api.timeout.ms`), and the read completes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reader_survives_the_whole_cluster_restarting() {
    const TOPIC: &str = "blackout";
    let (cluster, client) = filled(3, TOPIC, 3, 100, true).await;
    let mut stream = client.read(ranges(TOPIC, 3, 100));
    let mut records = read_some(&mut stream, 40).await;
    for id in 0..3 {
        blocking(|| cluster.stop_broker(id)).unwrap();
    }
    // Whatever was fetched before the stop is still delivered.
    records.extend(read_during_outage(&mut stream, Duration::from_millis(800)).await);
    for id in 0..3 {
        blocking(|| cluster.restart_broker(id)).unwrap();
    }
    records.extend(drain_clean(&mut stream).await);
    assert_exactly_once(&records, 0..3, 100);
}
