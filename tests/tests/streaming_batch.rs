//! Batch reads of the streaming crate (Spark's `spark.read.format("kafka")`)
//! end to end: against Nisshi, every start and end form, every topic
//! selection, task splitting, headers, late binding, data loss, empty
//! ranges, one client for all tasks, Arrow against rows, and the refusals;
//! against the fake cluster, the seed's SSL and Event Hubs option maps.
//!
//! One Nisshi serves the whole binary: `against_nisshi` starts it and runs
//! every scenario on it concurrently (each on its own topics), reporting
//! the failed ones by name.

mod oauth_endpoint;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ferrokafka::admin::NewTopic;
use ferrokafka::hooks::{BrokerConnected, FetchApplied, Hooks};
use ferrokafka::{Client, ClientConfig, ProducerConfig, ProducerRecord, TopicPartition};
use ferrokafka_streaming::arrow::arrow_array::cast::AsArray;
use ferrokafka_streaming::arrow::arrow_array::types::{
    Int32Type, Int64Type, TimestampMicrosecondType,
};
use ferrokafka_streaming::arrow::arrow_array::{Array, RecordBatch};
use ferrokafka_streaming::arrow::arrow_schema::{DataType, TimeUnit};
use ferrokafka_streaming::arrow::{ArrowOptions, BinaryLayout, RecordBatches};
use ferrokafka_streaming::batch::{BatchPlan, BatchSource};
use ferrokafka_streaming::options::SourceOptions;
use ferrokafka_streaming::planner::{EARLIEST, LATEST};
use ferrokafka_streaming::{Row, SourceError};
use ferrokafka_tests::Nisshi;
use futures::TryStreamExt;

/// Record `o` of partition `p` has timestamp `BASE_TS + 100·o + p`.
const BASE_TS: i64 = 1_700_000_000_000;

fn timestamp_of(partition: i32, offset: i64) -> i64 {
    BASE_TS + 100 * offset + i64::from(partition)
}

/// The value of a test record: where it was written, so every row shows
/// whether it is the record it claims to be.
fn value_of(topic: &str, partition: i32, offset: i64) -> String {
    format!("{topic}-{partition}@{offset}")
}

async fn client(bootstrap: &str) -> Client {
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

async fn create(client: &Client, topic: &str, partitions: i32) {
    client
        .admin()
        .create_topic(NewTopic::new(topic, partitions, 1))
        .await
        .unwrap_or_else(|e| panic!("create {topic}: {e}"));
}

/// Appends `count` records to `topic`-`partition` (empty before): key
/// `k<offset>`, value [`value_of`], timestamp [`timestamp_of`].
async fn produce(client: &Client, topic: &str, partition: i32, count: i64) {
    produce_from(client, topic, partition, 0, count).await;
}

/// As [`produce`], for a partition whose next offset is `first`.
async fn produce_from(client: &Client, topic: &str, partition: i32, first: i64, count: i64) {
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

fn options(bootstrap: &str, pairs: &[(&str, &str)]) -> SourceOptions {
    let mut options = SourceOptions::from_pairs([("kafka.bootstrap.servers", bootstrap)]);
    for (key, value) in pairs {
        options.set(*key, *value);
    }
    options
}

async fn open_source(bootstrap: &str, pairs: &[(&str, &str)]) -> BatchSource {
    let settings = options(bootstrap, pairs)
        .batch()
        .unwrap_or_else(|e| panic!("{pairs:?}: {e}"));
    BatchSource::connect(settings).await.unwrap()
}

async fn read(source: &BatchSource, plan: &BatchPlan) -> Result<Vec<Row>, SourceError> {
    tokio::time::timeout(Duration::from_secs(60), source.read(plan).try_collect())
        .await
        .expect("the read stalled")
}

async fn plan_and_read(source: &BatchSource) -> (BatchPlan, Vec<Row>) {
    let plan = source.plan().await.unwrap();
    let rows = read(source, &plan)
        .await
        .unwrap_or_else(|e| panic!("{plan:?}: {e}"));
    (plan, rows)
}

/// Every row's offsets by partition, sorted (duplicates kept, so a record
/// read twice shows), after checking each row is the record it claims.
fn offsets(rows: &[Row]) -> BTreeMap<String, Vec<i64>> {
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
fn expected(ranges: &[(&str, std::ops::Range<i64>)]) -> BTreeMap<String, Vec<i64>> {
    ranges
        .iter()
        .filter(|(_, range)| !range.is_empty())
        .map(|(name, range)| ((*name).to_owned(), range.clone().collect()))
        .collect()
}

/// Counts fetches per partition and connections set up.
#[derive(Default)]
struct Watch {
    fetches: Mutex<HashMap<TopicPartition, usize>>,
    connects: AtomicUsize,
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
        self.connects.fetch_add(1, Ordering::SeqCst);
    }
}

/// A source over a client watched by a [`Watch`].
async fn watched_source(bootstrap: &str, pairs: &[(&str, &str)]) -> (BatchSource, Arc<Watch>) {
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

// ---- the scenarios -----------------------------------------------------

async fn starts_and_ends_in_every_form(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "forms", 2).await;
    for partition in 0..2 {
        produce(&admin, "forms", partition, 20).await;
    }
    let ts = |offset: i64, partition: i32| (timestamp_of(partition, offset)).to_string();
    let cases: Vec<(Vec<(&str, String)>, [std::ops::Range<i64>; 2])> = vec![
        // Spark's batch defaults: earliest to latest.
        (vec![], [0..20, 0..20]),
        (
            vec![
                ("startingOffsets", "EARLIEST".into()),
                ("endingOffsets", "latest".into()),
            ],
            [0..20, 0..20],
        ),
        // Offset JSON with -2 (earliest) and -1 (latest).
        (
            vec![
                ("startingOffsets", r#"{"forms":{"0":-2,"1":5}}"#.into()),
                ("endingOffsets", r#"{"forms":{"0":7,"1":-1}}"#.into()),
            ],
            [0..7, 5..20],
        ),
        // Global timestamps: the first record at or after each.
        (
            vec![
                ("startingTimestamp", ts(5, 0)),
                ("endingTimestamp", ts(10, 0)),
            ],
            [5..10, 5..10],
        ),
        // Per-partition timestamps; an end past the last record is latest.
        (
            vec![
                (
                    "startingOffsetsByTimestamp",
                    format!(r#"{{"forms":{{"0":{},"1":{}}}}}"#, ts(3, 0), ts(13, 0)),
                ),
                (
                    "endingOffsetsByTimestamp",
                    format!(r#"{{"forms":{{"0":{},"1":{}}}}}"#, ts(9, 0), ts(99, 0)),
                ),
            ],
            [3..9, 13..20],
        ),
        // No record at or after the start in partition 0: strategy latest
        // starts it at its latest offset (so it reads nothing).
        (
            vec![
                ("startingTimestamp", ts(19, 1)),
                ("startingOffsetsByTimestampStrategy", "Latest".into()),
            ],
            [20..20, 19..20],
        ),
        // A later timestamp option wins over startingOffsets (precedence).
        (
            vec![
                ("startingOffsets", "earliest".into()),
                ("startingTimestamp", ts(18, 0)),
            ],
            [18..20, 18..20],
        ),
    ];
    for (pairs, [p0, p1]) in cases {
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain([("subscribe", "forms")])
            .collect();
        let source = open_source(&bootstrap, &pairs).await;
        let (_, rows) = plan_and_read(&source).await;
        assert_eq!(
            offsets(&rows),
            expected(&[("forms-0", p0), ("forms-1", p1)]),
            "{pairs:?}"
        );
    }
    // Strategy error (the default): Spark's message.
    let late = ts(19, 1);
    let source = open_source(
        &bootstrap,
        &[("subscribe", "forms"), ("startingTimestamp", &late)],
    )
    .await;
    let err = source.plan().await.unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "No offset matched from request of topic-partition forms-0 and timestamp {late}."
        )),
        "{err}"
    );
}

async fn topic_selections(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "sel-a", 2).await;
    create(&admin, "sel-b", 1).await;
    create(&admin, "other", 1).await;
    for (topic, partition) in [("sel-a", 0), ("sel-a", 1), ("sel-b", 0), ("other", 0)] {
        produce(&admin, topic, partition, 5).await;
    }
    let all = |names: &[&str]| -> BTreeMap<String, Vec<i64>> {
        names
            .iter()
            .map(|n| ((*n).to_owned(), (0..5).collect()))
            .collect()
    };
    for (option, value, expected) in [
        // A listed partition that does not exist is silently absent.
        (
            "assign",
            r#"{"sel-a":[1,7],"sel-b":[0]}"#,
            all(&["sel-a-1", "sel-b-0"]),
        ),
        (
            "subscribe",
            "sel-a, sel-b,",
            all(&["sel-a-0", "sel-a-1", "sel-b-0"]),
        ),
        // A topic that does not exist contributes nothing.
        ("subscribe", "sel-b,missing", all(&["sel-b-0"])),
        // The pattern matches anywhere in the name (Spark's findFirstIn).
        (
            "subscribePattern",
            "el-",
            all(&["sel-a-0", "sel-a-1", "sel-b-0"]),
        ),
        ("subscribePattern", "^sel-[b-z]$", all(&["sel-b-0"])),
    ] {
        let source = open_source(&bootstrap, &[(option, value)]).await;
        let (_, rows) = plan_and_read(&source).await;
        assert_eq!(offsets(&rows), expected, "{option}={value}");
    }
    // A topic created after the source was made is picked up by the
    // pattern on the next plan.
    let source = open_source(&bootstrap, &[("subscribePattern", "^sel-")]).await;
    let before = source.plan().await.unwrap();
    assert_eq!(before.partitions.len(), 3);
    create(&admin, "sel-c", 2).await;
    produce(&admin, "sel-c", 1, 5).await;
    let (after, rows) = plan_and_read(&source).await;
    assert_eq!(after.partitions.len(), 5, "{after:?}");
    assert_eq!(
        offsets(&rows),
        all(&["sel-a-0", "sel-a-1", "sel-b-0", "sel-c-1"])
    );
}

async fn min_partitions_and_max_records_per_partition(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "split", 3).await;
    for (partition, count) in [(0, 30), (1, 12), (2, 3)] {
        produce(&admin, "split", partition, count).await;
    }
    let everything = expected(&[("split-0", 0..30), ("split-1", 0..12), ("split-2", 0..3)]);
    let concrete_end = r#"{"split":{"0":30,"1":12,"2":3}}"#;
    for (pairs, tasks) in [
        // No option: one task per partition, sentinels kept.
        (vec![], 3),
        // minPartitions 6 over 30/12/3 offsets (Spark ≥ 4.1): split-2's
        // share rounds to 0 so it stays whole; the other 42 offsets go to
        // 5 tasks: split-0 round(30/42·5) = 4, split-1 round(12/42·5) = 1.
        (vec![("minPartitions", "6")], 6),
        // minPartitions at or below the partition count: no split.
        (vec![("minPartitions", "3")], 3),
        // maxRecordsPerPartition alone never splits an earliest→latest
        // read: Spark compares the unresolved -2→-1 "size" of 1.
        (vec![("maxRecordsPerPartition", "5")], 3),
        // With a concrete end it does: ceil(30/5) + ceil(12/5) + 1.
        (
            vec![
                ("maxRecordsPerPartition", "5"),
                ("endingOffsets", concrete_end),
            ],
            10,
        ),
        // Both: the record cap first (10 pieces), then minPartitions 12,
        // a hint: every piece's share rounds to 1, nothing more is split.
        (
            vec![
                ("maxRecordsPerPartition", "5"),
                ("minPartitions", "12"),
                ("endingOffsets", concrete_end),
            ],
            10,
        ),
        // minPartitions with a concrete end: 45 offsets into 9 tasks:
        // round(30/45·9) = 6, round(12/45·9) = 2, round(3/45·9) = 1.
        (
            vec![("minPartitions", "9"), ("endingOffsets", concrete_end)],
            9,
        ),
    ] {
        let pairs: Vec<(&str, &str)> = pairs.into_iter().chain([("subscribe", "split")]).collect();
        let source = open_source(&bootstrap, &pairs).await;
        let (plan, rows) = plan_and_read(&source).await;
        assert_eq!(plan.tasks.len(), tasks, "{pairs:?}: {:?}", plan.tasks);
        assert_eq!(offsets(&rows), everything, "{pairs:?}");
        if tasks == 3 && !pairs.iter().any(|(k, _)| *k == "endingOffsets") {
            assert!(
                plan.tasks
                    .iter()
                    .all(|t| t.from == EARLIEST && t.until == LATEST),
                "unsplit tasks keep their sentinels: {:?}",
                plan.tasks
            );
        }
    }
}

async fn headers_included_or_not(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "headers", 1).await;
    let producer = admin.producer(ProducerConfig::default()).await.unwrap();
    let records = [
        ProducerRecord::new("headers")
            .value("two, one repeated")
            .header("h", Some("1"))
            .header("h", Some("2"))
            .header("null", None::<Bytes>),
        ProducerRecord::new("headers").value("none"),
        ProducerRecord::new("headers").key("only a key"),
    ];
    for record in records {
        producer
            .send(record.partition(0))
            .await
            .unwrap()
            .await
            .unwrap();
    }
    for include in ["true", "false"] {
        let source = open_source(
            &bootstrap,
            &[("subscribe", "headers"), ("includeHeaders", include)],
        )
        .await;
        let plan = source.plan().await.unwrap();
        let rows_stream = source.read(&plan);
        assert_eq!(rows_stream.includes_headers(), include == "true");
        let rows: Vec<Row> = rows_stream.try_collect().await.unwrap();
        assert_eq!(rows.len(), 3);
        let headers: Vec<Option<Vec<(String, Option<Bytes>)>>> = rows
            .iter()
            .map(|row| {
                row.headers().map(|headers| {
                    headers
                        .iter()
                        .map(|h| (h.key_str().unwrap().to_owned(), h.value.clone()))
                        .collect()
                })
            })
            .collect();
        if include == "true" {
            let some = |v: &'static str| Some(Bytes::from_static(v.as_bytes()));
            assert_eq!(
                headers,
                [
                    Some(vec![
                        ("h".to_owned(), some("1")),
                        ("h".to_owned(), some("2")),
                        ("null".to_owned(), None)
                    ]),
                    None,
                    None
                ],
                "in order, duplicates kept; null (not empty) without headers"
            );
        } else {
            assert_eq!(headers, [None, None, None]);
        }
        assert_eq!(rows[2].value(), None, "a tombstone's value is null");
        assert_eq!(rows[1].key(), None);
    }
}

async fn late_binding(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "late", 1).await;
    produce(&admin, "late", 0, 10).await;
    let source = open_source(&bootstrap, &[("subscribe", "late")]).await;
    let plan = source.plan().await.unwrap();
    assert_eq!(plan.start.to_json(), r#"{"late":{"0":-2}}"#);
    assert_eq!(plan.end.to_json(), r#"{"late":{"0":-1}}"#);
    // Between planning and reading, records are appended and the head is
    // deleted: the task resolves earliest and latest when it reads, so it
    // reads what is there then, and the aged-out head is not data loss.
    produce_from(&admin, "late", 0, 10, 5).await;
    let deleted = admin
        .admin()
        .delete_records(&[(TopicPartition::new("late", 0), 4)])
        .await
        .unwrap();
    assert!(deleted[0].1.is_ok(), "{deleted:?}");
    let rows_stream = source.read(&plan);
    let rows: Vec<Row> = rows_stream.try_collect().await.unwrap();
    assert_eq!(offsets(&rows), expected(&[("late-0", 4..15)]));
}

async fn data_loss(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "loss", 1).await;
    produce(&admin, "loss", 0, 20).await;
    admin
        .admin()
        .delete_records(&[(TopicPartition::new("loss", 0), 8)])
        .await
        .unwrap();
    let start = ("startingOffsets", r#"{"loss":{"0":0}}"#);
    // failOnDataLoss=true (the default): Spark's executor error.
    let source_failing = open_source(&bootstrap, &[("subscribe", "loss"), start]).await;
    let plan = source_failing.plan().await.unwrap();
    let err = read(&source_failing, &plan).await.unwrap_err();
    let group = &source_failing.consumer_groups().executor_group_id;
    assert!(group.starts_with("spark-kafka-relation-"), "{group}");
    let text = err.to_string();
    assert!(
        text.starts_with("[KAFKA_DATA_LOSS.COULD_NOT_READ_OFFSET_RANGE]")
            && text.contains(&format!(
                "Could not read records in offset [0, 20) for topic partition loss-0 with \
                 consumer group {group}."
            ))
            && text.contains("failOnDataLoss"),
        "{text}"
    );
    // false: skipped and counted, the rest read.
    let source = open_source(
        &bootstrap,
        &[("subscribe", "loss"), start, ("failOnDataLoss", "false")],
    )
    .await;
    let plan = source.plan().await.unwrap();
    let mut rows_stream = source.read(&plan);
    let mut rows = Vec::new();
    while let Some(row) = rows_stream.try_next().await.unwrap() {
        rows.push(row);
    }
    assert_eq!(offsets(&rows), expected(&[("loss-0", 8..20)]));
    let metrics = rows_stream.metrics();
    assert_eq!(
        (
            metrics.data_loss,
            metrics.offsets_out_of_range,
            metrics.rows
        ),
        (1, 8, 12),
        "{metrics:?}"
    );

    // An end past the latest offset: nothing comes for
    // kafkaConsumer.pollTimeoutMs, and the missing offsets are data loss.
    let end = ("endingOffsets", r#"{"loss":{"0":50}}"#);
    let timeout = ("kafkaConsumer.pollTimeoutMs", "500");
    let source_failing = open_source(&bootstrap, &[("subscribe", "loss"), end, timeout]).await;
    let plan = source_failing.plan().await.unwrap();
    let err = read(&source_failing, &plan).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("Could not read records in offset [20, 50) for topic partition loss-0"),
        "{err}"
    );
    let source = open_source(
        &bootstrap,
        &[
            ("subscribe", "loss"),
            end,
            timeout,
            ("failOnDataLoss", "False"),
        ],
    )
    .await;
    let plan = source.plan().await.unwrap();
    let mut rows_stream = source.read(&plan);
    let mut count = 0;
    while rows_stream.try_next().await.unwrap().is_some() {
        count += 1;
    }
    assert_eq!(count, 12);
    let metrics = rows_stream.metrics();
    assert_eq!(
        (metrics.data_loss, metrics.offsets_out_of_range),
        (1, 30),
        "{metrics:?}"
    );
}

async fn empty_ranges_send_no_fetch(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "sparse", 3).await;
    produce(&admin, "sparse", 0, 5).await;
    produce(&admin, "sparse", 2, 3).await;
    // sparse-1 is empty: its earliest→latest task resolves to [0, 0).
    let (source, watch) = watched_source(&bootstrap, &[("subscribe", "sparse")]).await;
    let plan = source.plan().await.unwrap();
    assert_eq!(plan.tasks.len(), 3);
    let mut rows_stream = source.read(&plan);
    let mut rows = Vec::new();
    while let Some(row) = rows_stream.try_next().await.unwrap() {
        rows.push(row);
    }
    assert_eq!(
        offsets(&rows),
        expected(&[("sparse-0", 0..5), ("sparse-2", 0..3)])
    );
    let metrics = rows_stream.metrics();
    assert_eq!((metrics.tasks_fetched, metrics.tasks_empty), (2, 1));
    let fetches = watch.fetches.lock().unwrap().clone();
    assert!(fetches.contains_key(&TopicPartition::new("sparse", 0)));
    assert!(
        !fetches.contains_key(&TopicPartition::new("sparse", 1)),
        "the empty range was fetched: {fetches:?}"
    );
    // Concrete empty ranges too.
    let (source, watch) = watched_source(
        &bootstrap,
        &[
            ("subscribe", "sparse"),
            ("startingOffsets", r#"{"sparse":{"0":5,"1":0,"2":1}}"#),
            ("endingOffsets", r#"{"sparse":{"0":5,"1":0,"2":1}}"#),
        ],
    )
    .await;
    let (plan, rows) = plan_and_read(&source).await;
    assert_eq!(plan.tasks.len(), 3);
    assert!(rows.is_empty());
    assert!(watch.fetches.lock().unwrap().is_empty());
}

async fn twelve_tasks_share_one_client(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "shared", 6).await;
    for partition in 0..6 {
        produce(&admin, "shared", partition, 40).await;
    }
    let (source, watch) = watched_source(
        &bootstrap,
        &[("subscribe", "shared"), ("minPartitions", "12")],
    )
    .await;
    let connects_before = watch.connects.load(Ordering::SeqCst);
    let (plan, rows) = plan_and_read(&source).await;
    assert_eq!(plan.tasks.len(), 12);
    let everything: Vec<(String, std::ops::Range<i64>)> =
        (0..6).map(|p| (format!("shared-{p}"), 0..40)).collect();
    let everything: Vec<(&str, std::ops::Range<i64>)> = everything
        .iter()
        .map(|(name, range)| (name.as_str(), range.clone()))
        .collect();
    assert_eq!(offsets(&rows), expected(&everything));
    // One broker: the 12 tasks' fetches and look-ups went through the
    // client's one connection to it (plus, at most, the bootstrap one).
    let connects = watch.connects.load(Ordering::SeqCst);
    assert!(
        connects <= 2,
        "{connects} connections ({connects_before} before the read)"
    );
    // The same with at most 2 tasks at a time.
    let source = source.max_concurrent_tasks(NonZeroUsize::new(2).unwrap());
    let (_, rows) = plan_and_read(&source).await;
    assert_eq!(offsets(&rows), expected(&everything));
}

async fn arrow_batches_hold_the_rows(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "columns", 2).await;
    let producer = admin.producer(ProducerConfig::default()).await.unwrap();
    let mut deliveries = Vec::new();
    for i in 0..60i64 {
        let partition = (i % 2) as i32;
        // Short values (inlined in Arrow views), long ones (pointing into
        // the fetched buffers), null keys, tombstones, headers.
        let mut record = ProducerRecord::new("columns")
            .partition(partition)
            .timestamp(timestamp_of(partition, i / 2));
        if i % 3 != 0 {
            record = record.key(format!("key-{i}"));
        }
        if i % 7 != 0 {
            record = record.value(if i % 2 == 0 {
                format!("v{i}")
            } else {
                format!("a value long enough not to be inlined, number {i}")
            });
        }
        if i % 4 == 0 {
            record = record
                .header("n", Some(i.to_string()))
                .header("e", None::<Bytes>);
        }
        deliveries.push(producer.send(record).await.unwrap());
    }
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    let pairs = [
        ("subscribe", "columns"),
        ("includeHeaders", "true"),
        ("minPartitions", "4"),
        ("endingOffsets", r#"{"columns":{"0":30,"1":30}}"#),
    ];
    let source = open_source(&bootstrap, &pairs).await;
    let (plan, rows) = plan_and_read(&source).await;
    assert_eq!(plan.tasks.len(), 4);
    let mut from_rows: Vec<Flat> = rows.iter().map(Flat::of_row).collect();
    from_rows.sort();
    assert_eq!(from_rows.len(), 60);
    for layout in [BinaryLayout::View, BinaryLayout::Plain] {
        let options = ArrowOptions::default().with_max_rows(7).with_binary(layout);
        let batches: Vec<RecordBatch> = RecordBatches::new(source.read(&plan), options)
            .try_collect()
            .await
            .unwrap();
        assert!(batches.len() >= 9, "{} batches", batches.len());
        assert!(batches.iter().all(|b| b.num_rows() <= 7));
        check_schema(&batches[0], layout);
        let mut from_arrow: Vec<Flat> = batches.iter().flat_map(Flat::of_batch).collect();
        from_arrow.sort();
        assert_eq!(from_arrow, from_rows, "{layout:?}");
    }
}

/// §5, column for column, as Spark's Arrow conversion has it.
fn check_schema(batch: &RecordBatch, layout: BinaryLayout) {
    let binary = match layout {
        BinaryLayout::View => DataType::BinaryView,
        _ => DataType::Binary,
    };
    let schema = batch.schema();
    let columns: Vec<(&str, &DataType, bool)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type(), f.is_nullable()))
        .collect();
    let DataType::List(item) = columns[7].1 else {
        panic!("headers is a list: {columns:?}");
    };
    assert_eq!(item.name(), "element");
    let DataType::Struct(entry) = item.data_type() else {
        panic!("headers holds structs: {item:?}");
    };
    let entry: Vec<(&str, &DataType)> = entry
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    assert_eq!(
        entry,
        [("key", &DataType::Utf8), ("value", &DataType::Binary)]
    );
    assert_eq!(
        columns[..7],
        [
            ("key", &binary, true),
            ("value", &binary, true),
            ("topic", &DataType::Utf8, true),
            ("partition", &DataType::Int32, true),
            ("offset", &DataType::Int64, true),
            (
                "timestamp",
                &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true
            ),
            ("timestampType", &DataType::Int32, true),
        ]
    );
    assert_eq!(columns[7].0, "headers");
}

type FlatHeaders = Option<Vec<(String, Option<Vec<u8>>)>>;

/// One row as plain values, from either API.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Flat {
    topic: String,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    timestamp: i64,
    timestamp_type: i32,
    headers: FlatHeaders,
}

impl Flat {
    fn of_row(row: &Row) -> Flat {
        Flat {
            topic: row.topic().to_owned(),
            partition: row.partition(),
            offset: row.offset(),
            key: row.key().map(|b| b.to_vec()),
            value: row.value().map(|b| b.to_vec()),
            timestamp: row.timestamp_micros(),
            timestamp_type: row.timestamp_type_code(),
            headers: row.headers().map(|headers| {
                headers
                    .iter()
                    .map(|h| {
                        (
                            h.key_str().unwrap().to_owned(),
                            h.value.as_ref().map(|v| v.to_vec()),
                        )
                    })
                    .collect()
            }),
        }
    }

    fn of_batch(batch: &RecordBatch) -> Vec<Flat> {
        let binary = |column: usize, row: usize| -> Option<Vec<u8>> {
            let array = batch.column(column);
            if array.is_null(row) {
                return None;
            }
            Some(match array.data_type() {
                DataType::BinaryView => array.as_binary_view().value(row).to_vec(),
                _ => array.as_binary::<i32>().value(row).to_vec(),
            })
        };
        let topics = batch.column(2).as_string::<i32>();
        let partitions = batch.column(3).as_primitive::<Int32Type>();
        let offsets = batch.column(4).as_primitive::<Int64Type>();
        let timestamps = batch.column(5).as_primitive::<TimestampMicrosecondType>();
        let types = batch.column(6).as_primitive::<Int32Type>();
        let headers = batch.column(7).as_list::<i32>();
        (0..batch.num_rows())
            .map(|i| Flat {
                topic: topics.value(i).to_owned(),
                partition: partitions.value(i),
                offset: offsets.value(i),
                key: binary(0, i),
                value: binary(1, i),
                timestamp: timestamps.value(i),
                timestamp_type: types.value(i),
                headers: (!headers.is_null(i)).then(|| {
                    let entries = headers.value(i);
                    let entries = entries.as_struct();
                    let keys = entries.column(0).as_string::<i32>();
                    let values = entries.column(1).as_binary::<i32>();
                    (0..entries.len())
                        .map(|j| {
                            (
                                keys.value(j).to_owned(),
                                (!values.is_null(j)).then(|| values.value(j).to_vec()),
                            )
                        })
                        .collect()
                }),
            })
            .collect()
    }
}

async fn bad_options_are_refused(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "refusals", 2).await;
    produce(&admin, "refusals", 0, 10).await;
    // Refused when the options are validated, with the spec's messages.
    let b = bootstrap.as_str();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("kafka.bootstrap.servers", b)], "One of the following options must be specified for Kafka source: subscribe, subscribepattern, assign."),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("assign", r#"{"a":[0]}"#)], "Only one of the following options can be specified for Kafka source: subscribe, subscribepattern, assign."),
        (vec![("kafka.bootstrap.servers", b), ("assign", "a:0")], "No topicpartitions to assign as specified value for option 'assign' is 'a:0'"),
        (vec![("kafka.bootstrap.servers", b), ("assign", r#"{"a":0}"#)], r#"option 'assign': Expected e.g. {"topicA":[0,1],"topicB":[0,1]}, got {"a":0}"#),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", " , ")], "No topics to subscribe to as specified value for option 'subscribe' is ' , '"),
        (vec![("kafka.bootstrap.servers", b), ("subscribePattern", " ")], "Pattern to subscribe is empty as specified value for option 'subscribePattern' is ' '"),
        (vec![("subscribe", "a")], "Option 'kafka.bootstrap.servers' must be specified for configuring Kafka consumer"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("kafka.auto.offset.reset", "earliest")], "option 'kafka.auto.offset.reset' is refused"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("kafka.key.deserializer", "x")], "option 'kafka.key.deserializer' is refused: Kafka option 'key.deserializer' is not supported as keys are deserialized as byte arrays with ByteArrayDeserializer."),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("kafka.value.deserializer", "x")], "option 'kafka.value.deserializer' is refused: Kafka option 'value.deserializer' is not supported as values are deserialized as byte arrays with ByteArrayDeserializer."),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("kafka.enable.auto.commit", "true")], "option 'kafka.enable.auto.commit' is refused: Kafka option 'enable.auto.commit' is not supported"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("kafka.interceptor.classes", "x")], "option 'kafka.interceptor.classes' is refused: Kafka option 'interceptor.classes' is not supported"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("startingOffsets", "latest")], "starting offset can't be latest for batch queries on Kafka"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("startingOffsets", r#"{"a":{"0":-1}}"#)], "startingOffsets for a-0 can't be latest for batch queries on Kafka"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("endingOffsets", "earliest")], "ending offset can't be earliest for batch queries on Kafka"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("endingOffsets", r#"{"a":{"0":-2}}"#)], "ending offset for a-0 can't be earliest for batch queries on Kafka"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("startingOffsets", "{oops")], r#"option 'startingOffsets': Expected e.g. {"topicA":{"0":23,"1":-1},"topicB":{"0":-2}}, got {oops"#),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("startingTimestamp", "noon")], "option 'startingTimestamp': Expected a single long value, got noon"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("startingOffsetsByTimestampStrategy", "earliest")], "option 'startingOffsetsByTimestampStrategy' has value 'earliest'; accepted: error or latest"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("minPartitions", "0")], "minPartitions must be positive"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("maxRecordsPerPartition", "-3")], "maxRecordsPerPartition must be positive"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("startingOffsets", r#"{"a":{"0":1}}"#), ("endingOffsets", r#"{"a":{"1":9}}"#)], "[MISMATCHED_TOPIC_PARTITIONS_BETWEEN_START_OFFSET_AND_END_OFFSET]"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("startingOffsets", r#"{"a":{"0":9}}"#), ("endingOffsets", r#"{"a":{"0":1}}"#)], "[UNRESOLVED_START_OFFSET_GREATER_THAN_END_OFFSET] The specified start offset 9 is greater than the end offset 1 for topic a partition 0."),
    ];
    for (pairs, message) in cases {
        let err = SourceOptions::from_pairs(pairs.iter().copied())
            .batch()
            .unwrap_err();
        assert!(
            err.to_string().starts_with(message),
            "{pairs:?}:\n  got      {err}\n  expected {message}"
        );
    }
    // Refused when the Kafka client is configured: named with `kafka.`.
    let settings = options(
        b,
        &[
            ("subscribe", "refusals"),
            ("kafka.fetch.max.wait.ms", "soon"),
        ],
    )
    .batch()
    .unwrap();
    let err = BatchSource::connect(settings).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("option 'kafka.fetch.max.wait.ms' is not accepted by the Kafka client"),
        "{err}"
    );
    // Refused once the cluster's partitions are known.
    for (pairs, message) in [
        (
            vec![("startingOffsets", r#"{"refusals":{"0":1}}"#)],
            "[KAFKA_START_OFFSET_DOES_NOT_MATCH_ASSIGNED] Partitions specified for Kafka start offsets don't match what are assigned.",
        ),
        (
            vec![("endingOffsetsByTimestamp", r#"{"refusals":{"0":1,"1":2,"2":3}}"#)],
            "[KAFKA_TIMESTAMP_OFFSET_DOES_NOT_MATCH_ASSIGNED] Partitions specified for Kafka timestamp based end offsets don't match what are assigned.",
        ),
    ] {
        let pairs: Vec<(&str, &str)> = pairs.into_iter().chain([("subscribe", "refusals")]).collect();
        let err = open_source(b, &pairs).await.plan().await.unwrap_err();
        assert!(err.to_string().starts_with(message), "{pairs:?}: {err}");
    }
    // Refused by the task once its start is resolved: a start timestamp
    // past a concrete end.
    let source = open_source(
        b,
        &[
            ("subscribe", "refusals"),
            ("startingTimestamp", &timestamp_of(0, 6).to_string()),
            ("startingOffsetsByTimestampStrategy", "latest"),
            ("endingOffsets", r#"{"refusals":{"0":3,"1":0}}"#),
        ],
    )
    .await;
    let plan = source.plan().await.unwrap();
    let err = read(&source, &plan).await.unwrap_err();
    assert!(
        err.to_string().starts_with(
            "[RESOLVED_START_OFFSET_GREATER_THAN_END_OFFSET] The resolved start offset 6 is \
             greater than the resolved end offset 3 for topic refusals partition 0."
        ),
        "{err}"
    );
}

async fn seed_plain_map_reads(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "orders", 1).await;
    produce(&admin, "orders", 0, 4).await;
    // The seed's plain map verbatim, the broker's address put in.
    let json = r#"{"kafka.bootstrap.servers": "host:9092", "subscribe": "orders", "startingOffsets": "earliest"}"#
        .replace("host:9092", &bootstrap);
    let settings = SourceOptions::from_json(&json).unwrap().batch().unwrap();
    assert!(settings.warnings().is_empty());
    let source = BatchSource::connect(settings).await.unwrap();
    let (_, rows) = plan_and_read(&source).await;
    assert_eq!(offsets(&rows), expected(&[("orders-0", 0..4)]));
}

type Scenario = Pin<Box<dyn Future<Output = ()> + Send>>;

#[test]
fn against_nisshi() {
    let broker = Nisshi::start();
    let bootstrap = broker.bootstrap();
    let scenarios: Vec<(&str, Scenario)> = vec![
        (
            "starts_and_ends_in_every_form",
            Box::pin(starts_and_ends_in_every_form(bootstrap.clone())),
        ),
        (
            "topic_selections",
            Box::pin(topic_selections(bootstrap.clone())),
        ),
        (
            "min_partitions_and_max_records_per_partition",
            Box::pin(min_partitions_and_max_records_per_partition(
                bootstrap.clone(),
            )),
        ),
        (
            "headers_included_or_not",
            Box::pin(headers_included_or_not(bootstrap.clone())),
        ),
        ("late_binding", Box::pin(late_binding(bootstrap.clone()))),
        ("data_loss", Box::pin(data_loss(bootstrap.clone()))),
        (
            "empty_ranges_send_no_fetch",
            Box::pin(empty_ranges_send_no_fetch(bootstrap.clone())),
        ),
        (
            "twelve_tasks_share_one_client",
            Box::pin(twelve_tasks_share_one_client(bootstrap.clone())),
        ),
        (
            "arrow_batches_hold_the_rows",
            Box::pin(arrow_batches_hold_the_rows(bootstrap.clone())),
        ),
        (
            "bad_options_are_refused",
            Box::pin(bad_options_are_refused(bootstrap.clone())),
        ),
        (
            "seed_plain_map_reads",
            Box::pin(seed_plain_map_reads(bootstrap.clone())),
        ),
    ];
    let count = scenarios.len();
    let failed = ferrokafka_tests::backend::block_on(async move {
        let running: Vec<_> = scenarios
            .into_iter()
            .map(|(name, scenario)| (name, tokio::spawn(scenario)))
            .collect();
        let mut failed = Vec::new();
        for (name, handle) in running {
            match tokio::time::timeout(Duration::from_secs(300), handle).await {
                Ok(Ok(())) => eprintln!("scenario {name}: ok"),
                Ok(Err(e)) => failed.push(format!("{name}: {e}")),
                Err(_) => failed.push(format!("{name}: still running after 300 s")),
            }
        }
        failed
    });
    assert!(
        failed.is_empty(),
        "{} of {count} scenarios failed (their panics are printed above):\n{}",
        failed.len(),
        failed.join("\n")
    );
    drop(broker);
}

// ---- the seed's SSL and Event Hubs maps, on the fake cluster ------------

const SECRET: &str = "seed-secret-9Wz";

fn lines_to_options(lines: &str) -> SourceOptions {
    SourceOptions::from_lines(lines).unwrap()
}

async fn produce_with(config: ClientConfig, topic: &str, partitions: i32, per_partition: i64) {
    let client = Client::connect(config).await.unwrap();
    for partition in 0..partitions {
        produce(&client, topic, partition, per_partition).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_ssl_map_reads_over_mutual_tls() {
    use ferrokafka_tests::pki::{openssl, Pki};
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    use tokio_rustls::rustls::pki_types::CertificateDer;

    let pki = Pki::generate(&["localhost", "127.0.0.1"]);
    let cluster = ferrokafka_fake::FakeCluster::builder()
        .topic("orders", 2)
        .tls(pki.server().cert_pem.clone(), pki.server().key_pem.clone())
        .tls_client_ca(pki.ca().pem())
        .build()
        .unwrap();
    // Java-style PKCS#12 stores: the CA as a trusted certificate, the
    // client's chain and key under one password.
    let (truststore, keystore) = (pki.path("truststore.p12"), pki.path("keystore.p12"));
    let mut trust = p12_keystore::KeyStore::new();
    let ca = CertificateDer::from_pem_file(pki.path("ca.pem")).unwrap();
    trust.add_entry(
        "ca",
        p12_keystore::KeyStoreEntry::Certificate(
            p12_keystore::Certificate::from_der(ca.as_ref()).unwrap(),
        ),
    );
    std::fs::write(&truststore, trust.writer(SECRET).write().unwrap()).unwrap();
    let (cert, key) = (pki.path("client.pem"), pki.path("client.key"));
    let pass = format!("pass:{SECRET}");
    openssl(&[
        "pkcs12", "-export", "-in", &cert, "-inkey", &key, "-out", &keystore, "-passout", &pass,
    ]);
    // The seed's SSL map, verbatim but for the addresses and file paths.
    let options = SourceOptions::from_pairs([
        ("kafka.bootstrap.servers", cluster.bootstrap().as_str()),
        ("kafka.security.protocol", "SSL"),
        ("kafka.ssl.truststore.location", truststore.as_str()),
        ("kafka.ssl.truststore.password", SECRET),
        ("kafka.ssl.truststore.type", "PKCS12"),
        ("kafka.ssl.keystore.location", keystore.as_str()),
        ("kafka.ssl.keystore.password", SECRET),
        ("kafka.ssl.keystore.type", "PKCS12"),
        ("kafka.ssl.key.password", SECRET),
        ("subscribe", "orders"),
    ]);
    let settings = options.batch().unwrap();
    assert!(settings.warnings().is_empty(), "{:?}", settings.warnings());
    let config = settings.source.client_properties.client_config().unwrap();
    produce_with(config, "orders", 2, 6).await;
    let source = BatchSource::connect(settings).await.unwrap();
    let (_, rows) = plan_and_read(&source).await;
    assert_eq!(
        offsets(&rows),
        expected(&[("orders-0", 0..6), ("orders-1", 0..6)])
    );
    let shown = format!("{source:?} {options:?}");
    assert!(!shown.contains(SECRET), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_event_hubs_map_reads_end_to_end() {
    use oauth_endpoint::{Reply, TokenEndpoint};
    const KEY: &[u8] = b"event-hubs-signing-key";
    // The local Entra-like endpoint issues JWTs (subject app-7, audience
    // kafka) that the fake cluster's OAUTHBEARER validator checks.
    let endpoint = TokenEndpoint::start(vec![], Reply::Jwt(KEY, 300)).await;
    let pki = ferrokafka_tests::pki::Pki::generate(&["localhost", "127.0.0.1"]);
    let cluster = ferrokafka_fake::FakeCluster::builder()
        .topic("events", 2)
        .tls(pki.server().cert_pem.clone(), pki.server().key_pem.clone())
        .sasl_oauthbearer_jwt(KEY, "kafka")
        .build()
        .unwrap();
    // The seed's Event Hubs map verbatim (kafkashaded classes, the client
    // credentials and scope in the JAAS string), but for the broker and
    // token endpoint addresses; then the test CAs.
    let lines = format!(
        "kafka.bootstrap.servers = {bootstrap}\n\
         kafka.security.protocol = SASL_SSL\n\
         kafka.sasl.mechanism = OAUTHBEARER\n\
         kafka.sasl.jaas.config = kafkashaded.org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule \
         required clientId=\"app-7\" clientSecret=\"{SECRET}\" scope=\"https://myns.servicebus.windows.net/.default\" \
         ssl.protocol=\"SSL\";\n\
         kafka.sasl.oauthbearer.token.endpoint.url = {url}\n\
         kafka.sasl.login.callback.handler.class = \
         kafkashaded.org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler\n\
         subscribe = events\n\
         # the test's certificate authorities\n\
         kafka.ssl.truststore.location = {ca}\n\
         kafka.ssl.truststore.type = PEM\n\
         kafka.sasl.oauthbearer.ssl.ca.location = {endpoint_ca}\n",
        bootstrap = cluster.bootstrap(),
        url = endpoint.url("tenant-1"),
        ca = pki.path("ca.pem"),
        endpoint_ca = endpoint.ca.display(),
    );
    let options = lines_to_options(&lines);
    let settings = options.batch().unwrap();
    assert!(settings.warnings().is_empty(), "{:?}", settings.warnings());
    let config = settings.source.client_properties.client_config().unwrap();
    produce_with(config, "events", 2, 5).await;
    let source = BatchSource::connect(settings).await.unwrap();
    let (_, rows) = plan_and_read(&source).await;
    assert_eq!(
        offsets(&rows),
        expected(&[("events-0", 0..5), ("events-1", 0..5)])
    );
    // Tokens came from the endpoint with the client-credentials grant and
    // the JAAS string's scope.
    let bodies = endpoint.bodies.lock().unwrap().clone();
    assert!(!bodies.is_empty());
    for body in &bodies {
        assert!(
            body.contains("grant_type=client_credentials")
                && body.contains("client_id=app-7")
                && body.contains("scope=https%3A%2F%2Fmyns.servicebus.windows.net%2F.default"),
            "{body}"
        );
    }
    let shown = format!("{source:?} {options:?}");
    assert!(!shown.contains(SECRET), "{shown}");
}
