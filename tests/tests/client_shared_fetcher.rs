//! `SharedFetcher` against the fake cluster: readers of one fetcher share their
//! fetches (one fetch per broker lists every reader's partitions), readers
//! of one partition split into ranges each get exactly their range, a
//! dropped reader is no longer fetched for, and readers drained one after
//! another never wait on each other's unread records.
//!
//! The request log of the fake tells what was fetched. Tests run on a
//! current-thread runtime so that readers attached before the first await
//! are all known to the fetcher's source when it sends its first fetch.

mod common;

use std::time::Duration;

use ferrokafka::{
    Client, ClientConfig, Compression, ReadRange, Record, RecordStream, TopicPartition,
};
use ferrokafka_fake::messages::RequestKind;
use ferrokafka_fake::FakeCluster;
use ferrokafka_tests::backend::fake_with_topic;
use futures::StreamExt;

const TOPIC: &str = "shared";
/// Longer than any request may take: a stream that yields nothing for
/// this long is stuck.
const STALL: Duration = Duration::from_secs(90);

async fn client(cluster: &FakeCluster, small_budget: bool) -> Client {
    let mut config = ClientConfig::builder()
        .bootstrap_servers(cluster.bootstrap())
        .fetch_max_wait(Duration::from_millis(50));
    if small_budget {
        // A fetch brings about one batch; two fetches' worth waits unread.
        config = config
            .max_partition_fetch_bytes(512)
            .fetch_max_bytes(1024)
            .fetch_buffer_max_bytes(2048);
    }
    Client::connect(config.build().expect("a valid configuration"))
        .await
        .unwrap_or_else(|e| panic!("connect to the fake: {e}"))
}

/// A one-broker cluster with `count` records (`v<offset>`, batches of 10)
/// in each of `partitions` partitions.
async fn filled(partitions: i32, count: i64, small_budget: bool) -> (FakeCluster, Client) {
    let cluster = fake_with_topic(1, TOPIC, partitions);
    let client = client(&cluster, small_budget).await;
    for p in 0..partitions {
        let tp = TopicPartition::new(TOPIC, p);
        common::produce_values(&client, &tp, count, 10, 0, Compression::None).await;
    }
    (cluster, client)
}

/// Every record of the stream; it must end without an error.
async fn drain(stream: &mut RecordStream) -> Vec<Record> {
    let mut records = Vec::new();
    loop {
        let item = tokio::time::timeout(STALL, stream.next())
            .await
            .expect("the reader stalled");
        match item {
            Some(Ok(record)) => {
                assert_eq!(
                    record.value.as_deref(),
                    Some(format!("v{}", record.offset).as_bytes())
                );
                records.push(record);
            }
            Some(Err(e)) => panic!("unexpected error: {e}"),
            None => return records,
        }
    }
}

fn offsets(records: &[Record], partition: i32) -> Vec<i64> {
    records
        .iter()
        .filter(|r| r.partition == partition)
        .map(|r| r.offset)
        .collect()
}

/// The partitions of `TOPIC` each recorded Fetch lists, in order.
fn fetched_partitions(cluster: &FakeCluster) -> Vec<Vec<i32>> {
    cluster
        .requests()
        .into_iter()
        .filter_map(|r| match r.request {
            RequestKind::Fetch(f) => Some(
                f.topics
                    .iter()
                    .filter(|t| t.topic.0.as_str() == TOPIC)
                    .flat_map(|t| t.partitions.iter().map(|p| p.partition))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "current_thread")]
async fn readers_of_a_fetcher_share_one_fetch_per_broker() {
    let (cluster, client) = filled(4, 200, false).await;
    let fetcher = client.shared_fetcher();
    let mut streams: Vec<RecordStream> = (0..4)
        .map(|p| fetcher.read(vec![ReadRange::new(TOPIC, p, 0..200)]))
        .collect();
    let read = futures::future::join_all(streams.iter_mut().map(drain)).await;
    for (p, records) in read.iter().enumerate() {
        let p = p as i32;
        assert_eq!(offsets(records, p), (0..200).collect::<Vec<_>>());
        assert_eq!(records.len(), 200, "reader {p} got only its partition");
    }
    let fetches = fetched_partitions(&cluster);
    let mut first = fetches.first().cloned().expect("a fetch was sent");
    first.sort_unstable();
    assert_eq!(
        first,
        vec![0, 1, 2, 3],
        "the first fetch lists the four readers' partitions: {fetches:?}"
    );
    // Reading alone, each reader would have sent a fetch of its own.
    assert!(fetches.len() < 4, "fewer fetches than readers: {fetches:?}");
    drop(streams);
}

#[tokio::test(flavor = "current_thread")]
async fn readers_of_one_partition_split_into_ranges_each_get_their_range() {
    let (cluster, client) = filled(2, 300, true).await;
    let fetcher = client.shared_fetcher();
    let mut low = fetcher.read(vec![ReadRange::new(TOPIC, 0, 0..150)]);
    let mut high = fetcher.read(vec![ReadRange::new(TOPIC, 0, 150..300)]);
    let mut other = fetcher.read(vec![ReadRange::new(TOPIC, 1, 0..300)]);
    let (low, high, other) = futures::join!(drain(&mut low), drain(&mut high), drain(&mut other));
    assert_eq!(offsets(&low, 0), (0..150).collect::<Vec<_>>());
    assert_eq!(low.len(), 150);
    assert_eq!(offsets(&high, 0), (150..300).collect::<Vec<_>>());
    assert_eq!(high.len(), 150);
    assert_eq!(offsets(&other, 1), (0..300).collect::<Vec<_>>());
    for partitions in fetched_partitions(&cluster) {
        let mut sorted = partitions.clone();
        sorted.dedup();
        assert_eq!(
            sorted.len(),
            partitions.len(),
            "a fetch lists a partition once: {partitions:?}"
        );
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_reader_is_no_longer_fetched_for_and_the_others_go_on() {
    let (cluster, client) = filled(2, 100, false).await;
    let fetcher = client.shared_fetcher();
    // Waits for records past the end: fetched for until dropped.
    let mut waiting = fetcher.read(vec![ReadRange::new(TOPIC, 0, 0..1_000)]);
    let mut first = fetcher.read(vec![ReadRange::new(TOPIC, 1, 0..50)]);
    assert_eq!(drain(&mut first).await.len(), 50);
    let mut some = Vec::new();
    while some.len() < 100 {
        some.push(waiting.next().await.expect("records").expect("no error"));
    }
    drop(waiting);
    // A reader attached after the drop: by the time it has its records,
    // the source has forgotten the dropped one (it forgets before each
    // round of fetches), and no fetch after that names partition 0.
    let mut second = fetcher.read(vec![ReadRange::new(TOPIC, 1, 50..100)]);
    assert_eq!(drain(&mut second).await.len(), 50);
    let naming_0 = |c: &FakeCluster| {
        fetched_partitions(c)
            .iter()
            .filter(|f| f.contains(&0))
            .count()
    };
    let after_drop = naming_0(&cluster);
    let mut third = fetcher.read(vec![ReadRange::new(TOPIC, 1, 0..100)]);
    assert_eq!(drain(&mut third).await.len(), 100);
    assert_eq!(
        naming_0(&cluster),
        after_drop,
        "partition 0 is not fetched any more"
    );
}

#[tokio::test(flavor = "current_thread")]
async fn readers_drained_one_after_another_do_not_wait_on_each_other() {
    // The budget holds about two fetches: the second reader's unread
    // records fill it while the first is drained, and the first (holding
    // nothing) must still be fetched for.
    let (_cluster, client) = filled(2, 400, true).await;
    let fetcher = client.shared_fetcher();
    let mut first = fetcher.read(vec![ReadRange::new(TOPIC, 0, 0..400)]);
    let mut second = fetcher.read(vec![ReadRange::new(TOPIC, 1, 0..400)]);
    let first = drain(&mut first).await;
    assert_eq!(offsets(&first, 0), (0..400).collect::<Vec<_>>());
    let second = drain(&mut second).await;
    assert_eq!(offsets(&second, 1), (0..400).collect::<Vec<_>>());
}

#[tokio::test(flavor = "current_thread")]
async fn records_a_batch_at_a_time_are_the_records_one_at_a_time() {
    let (_cluster, client) = filled(2, 120, false).await;
    let ranges = || {
        vec![
            ReadRange::new(TOPIC, 0, 5..115),
            ReadRange::new(TOPIC, 1, 0..120),
        ]
    };
    let one_by_one = drain(&mut client.read(ranges())).await;
    let mut batched = Vec::new();
    let mut stream = client.read(ranges());
    // Mixed: one record, then batches.
    batched.push(stream.next().await.expect("a record").expect("no error"));
    while let Some(batch) = stream.next_batch().await {
        let batch = batch.expect("no error");
        assert!(!batch.is_empty(), "a batch is never empty");
        assert!(
            batch.iter().all(|r| r.partition == batch[0].partition),
            "a batch is one partition's"
        );
        assert!(batch.windows(2).all(|w| w[0].offset < w[1].offset));
        batched.extend(batch);
    }
    let key = |r: &Record| (r.partition, r.offset);
    let mut a: Vec<_> = one_by_one.iter().map(key).collect();
    let mut b: Vec<_> = batched.iter().map(key).collect();
    a.sort_unstable();
    b.sort_unstable();
    assert_eq!(a, b);
    assert_eq!(a.len(), 110 + 120);
}

#[tokio::test(flavor = "current_thread")]
async fn readers_of_one_partition_take_turns_so_a_waiting_one_starves_no_other() {
    let (_cluster, client) = filled(1, 100, false).await;
    let fetcher = client.shared_fetcher();
    // Attached first, and waits for records that are never written.
    let mut waiting = fetcher.read(vec![ReadRange::new(TOPIC, 0, 100..1_000)]);
    let mut reader = fetcher.read(vec![ReadRange::new(TOPIC, 0, 0..50)]);
    let records = drain(&mut reader).await;
    assert_eq!(offsets(&records, 0), (0..50).collect::<Vec<_>>());
    assert!(
        futures::FutureExt::now_or_never(waiting.next()).is_none(),
        "nothing past the end yet"
    );
}
