//! Test data and helpers: records that say where they were written, option
//! maps, reads with a deadline, offsets per partition, a watching hook.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrokafka::admin::NewTopic;
use ferrokafka::hooks::{BrokerConnected, FetchApplied, Hooks};
use ferrokafka::{Client, ClientConfig, ProducerConfig, ProducerRecord, TopicPartition};
use ferrokafka_streaming::batch::{BatchPlan, BatchSource};
use ferrokafka_streaming::options::SourceOptions;
use ferrokafka_streaming::{Row, SourceError};
use futures::TryStreamExt;

/// Record `o` of partition `p` has timestamp `BASE_TS + 100·o + p`.
pub(crate) const BASE_TS: i64 = 1_700_000_000_000;

pub(crate) fn timestamp_of(partition: i32, offset: i64) -> i64 {
    BASE_TS + 100 * offset + i64::from(partition)
}

/// The value of a test record: where it was written, so every row shows
/// whether it is the record it claims to be.
pub(crate) fn value_of(topic: &str, partition: i32, offset: i64) -> String {
    format!("{topic}-{partition}@{offset}")
}

pub(crate) async fn client(bootstrap: &str) -> Client {
    Client::connect(
        ClientConfig::builder()
            .bootstrap_servers(bootstrap)
            .fetch_max_wait(Duration::from_millis(100))
            .build()
            .unwrap(),
    )
    .await
    .unwrap()
}

pub(crate) async fn create(client: &Client, topic: &str, partitions: i32) {
    client
        .admin()
        .create_topic(NewTopic::new(topic, partitions, 1))
        .await
        .unwrap_or_else(|e| panic!("create {topic}: {e}"));
}

/// Appends `count` records to `topic`-`partition` (empty before): key
/// `k<offset>`, value [`value_of`], timestamp [`timestamp_of`].
pub(crate) async fn produce(client: &Client, topic: &str, partition: i32, count: i64) {
    produce_from(client, topic, partition, 0, count).await;
}

/// As [`produce`], for a partition whose next offset is `first`.
pub(crate) async fn produce_from(
    client: &Client,
    topic: &str,
    partition: i32,
    first: i64,
    count: i64,
) {
    let producer = client.producer(ProducerConfig::default()).await.unwrap();
    let mut deliveries = Vec::new();
    for offset in first..first + count {
        let record = ProducerRecord::new(topic)
            .partition(partition)
            .key(format!("k{offset}"))
            .value(value_of(topic, partition, offset))
            .timestamp(timestamp_of(partition, offset));
        deliveries.push((offset, producer.send(record).await.unwrap()));
    }
    for (offset, delivery) in deliveries {
        let written = delivery.await.unwrap();
        assert_eq!(written.offset, offset, "{topic}-{partition}");
    }
}

pub(crate) fn options(bootstrap: &str, pairs: &[(&str, &str)]) -> SourceOptions {
    let mut options = SourceOptions::from_pairs([("kafka.bootstrap.servers", bootstrap)]);
    for (key, value) in pairs {
        options.set(*key, *value);
    }
    options
}

pub(crate) async fn open_source(bootstrap: &str, pairs: &[(&str, &str)]) -> BatchSource {
    let settings = options(bootstrap, pairs)
        .batch()
        .unwrap_or_else(|e| panic!("{pairs:?}: {e}"));
    BatchSource::connect(settings).await.unwrap()
}

pub(crate) async fn read(source: &BatchSource, plan: &BatchPlan) -> Result<Vec<Row>, SourceError> {
    tokio::time::timeout(Duration::from_secs(60), source.read(plan).try_collect())
        .await
        .expect("the read stalled")
}

pub(crate) async fn plan_and_read(source: &BatchSource) -> (BatchPlan, Vec<Row>) {
    let plan = source.plan().await.unwrap();
    let rows = read(source, &plan)
        .await
        .unwrap_or_else(|e| panic!("{plan:?}: {e}"));
    (plan, rows)
}

/// Every row's offsets by partition, sorted (duplicates kept, so a record
/// read twice shows), after checking each row is the record it claims.
pub(crate) fn offsets(rows: &[Row]) -> BTreeMap<String, Vec<i64>> {
    let mut by_partition: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for row in rows {
        let expected = value_of(row.topic(), row.partition(), row.offset());
        assert_eq!(
            row.value().map(|v| v.as_ref()),
            Some(expected.as_bytes()),
            "row {}-{}@{}",
            row.topic(),
            row.partition(),
            row.offset()
        );
        assert_eq!(
            row.timestamp_micros(),
            timestamp_of(row.partition(), row.offset()) * 1000
        );
        assert_eq!(row.timestamp_type_code(), 0, "CreateTime");
        by_partition
            .entry(format!("{}-{}", row.topic(), row.partition()))
            .or_default()
            .push(row.offset());
    }
    for offsets in by_partition.values_mut() {
        offsets.sort_unstable();
    }
    by_partition
}

/// The offsets of `ranges` (partition name, offsets), empty ones left out.
pub(crate) fn expected(ranges: &[(&str, std::ops::Range<i64>)]) -> BTreeMap<String, Vec<i64>> {
    ranges
        .iter()
        .filter(|(_, range)| !range.is_empty())
        .map(|(name, range)| ((*name).to_owned(), range.clone().collect()))
        .collect()
}

/// Counts fetches per partition and connections set up.
#[derive(Default)]
pub(crate) struct Watch {
    pub(crate) fetches: Mutex<HashMap<TopicPartition, usize>>,
    pub(crate) connects: AtomicUsize,
}

impl Hooks for Watch {
    fn on_fetch_applied(&self, event: &FetchApplied<'_>) {
        *self
            .fetches
            .lock()
            .unwrap()
            .entry(event.partition.clone())
            .or_default() += 1;
    }
    fn on_broker_connect(&self, _: &BrokerConnected<'_>) {
        self.connects
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A source over a client watched by a [`Watch`].
pub(crate) async fn watched_source(
    bootstrap: &str,
    pairs: &[(&str, &str)],
) -> (BatchSource, Arc<Watch>) {
    let watch = Arc::new(Watch::default());
    let client = Client::connect(
        ClientConfig::builder()
            .bootstrap_servers(bootstrap)
            .fetch_max_wait(Duration::from_millis(100))
            .hook(watch.clone())
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let settings = options(bootstrap, pairs).batch().unwrap();
    (BatchSource::new(settings, client), watch)
}
