//! The query scenarios run against one Nisshi, each on its own topics and
//! checkpoint directory.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrokafka::admin::NewTopic;
use ferrokafka::{Client, ClientConfig, ProducerConfig, ProducerRecord, TopicPartition};
use ferrokafka_streaming::options::{SourceOptions, StreamSettings};
use ferrokafka_streaming::planner::PartitionOffsets;
use ferrokafka_streaming::progress::{JsonLinesListener, QueryProgress};
use ferrokafka_streaming::query::{
    BatchHandler, Clock, ManualClock, MicroBatch, QueryError, QueryOutcome, StreamingQuery,
    Termination,
};
use ferrokafka_streaming::trigger::{StopReason, Trigger};
use ferrokafka_streaming::SourceError;
use ferrokafka_tests::TempDir;
use futures::TryStreamExt;
use tokio::sync::{mpsc, Notify};

use super::progress_schema;

/// 2025-03-01T12:00:00.000Z, a multiple of every trigger interval used.
const NOON: i64 = 1_740_830_400_000;

/// Every row a handler saw: (batch id, partition, offset, re-run).
type Seen = Arc<Mutex<Vec<(u64, i32, i64, bool)>>>;

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

/// The value of record `offset` of `partition`: 10 bytes, no key, so a
/// batch's bytes are 10 per row.
fn value_of(partition: i32, offset: i64) -> String {
    format!("p{partition}o{offset:07}")
}

/// Appends `count` records to `topic`-`partition`, whose next offset is
/// `first`.
async fn produce(client: &Client, topic: &str, partition: i32, first: i64, count: i64) {
    let producer = client.producer(ProducerConfig::default()).await.unwrap();
    let mut deliveries = Vec::new();
    for offset in first..first + count {
        let record = ProducerRecord::new(topic)
            .partition(partition)
            .value(value_of(partition, offset));
        deliveries.push((offset, producer.send(record).await.unwrap()));
    }
    for (offset, delivery) in deliveries {
        assert_eq!(
            delivery.await.unwrap().offset,
            offset,
            "{topic}-{partition}"
        );
    }
}

fn settings(bootstrap: &str, pairs: &[(&str, &str)]) -> StreamSettings {
    let mut options = SourceOptions::from_pairs([
        ("kafka.bootstrap.servers", bootstrap),
        ("startingOffsets", "earliest"),
    ]);
    for (key, value) in pairs {
        options.set(*key, *value);
    }
    options
        .streaming()
        .unwrap_or_else(|e| panic!("{pairs:?}: {e}"))
}

fn offsets(json: &str) -> PartitionOffsets {
    PartitionOffsets::from_json(json).unwrap()
}

/// A handler recording every row into `seen`, after checking the row is
/// the record it claims to be.
fn recording(seen: &Seen) -> impl BatchHandler {
    let seen = Arc::clone(seen);
    move |mut batch: MicroBatch| {
        let seen = Arc::clone(&seen);
        async move {
            while let Some(row) = batch.rows().try_next().await? {
                let expected = value_of(row.partition(), row.offset());
                assert_eq!(
                    row.value().map(|v| v.as_ref()),
                    Some(expected.as_bytes()),
                    "row {}-{}@{}",
                    row.topic(),
                    row.partition(),
                    row.offset()
                );
                seen.lock().unwrap().push((
                    batch.batch_id(),
                    row.partition(),
                    row.offset(),
                    batch.is_rerun(),
                ));
            }
            Ok::<_, SourceError>(())
        }
    }
}

/// The offsets seen per partition, in the order seen.
fn by_partition(seen: &Seen) -> BTreeMap<i32, Vec<i64>> {
    let mut by_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for (_, partition, offset, _) in seen.lock().unwrap().iter() {
        by_partition.entry(*partition).or_default().push(*offset);
    }
    by_partition
}

/// Rows seen per batch id.
fn rows_per_batch(seen: &Seen) -> BTreeMap<u64, usize> {
    let mut counts = BTreeMap::new();
    for (batch_id, ..) in seen.lock().unwrap().iter() {
        *counts.entry(*batch_id).or_default() += 1;
    }
    counts
}

async fn finish(query: StreamingQuery) -> Result<QueryOutcome, QueryError> {
    tokio::time::timeout(Duration::from_secs(120), query.await_termination())
        .await
        .expect("the query ended within two minutes")
}

/// A `Write` into shared memory, for a [`JsonLinesListener`].
#[derive(Clone, Default)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl SharedBuffer {
    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.0.lock().unwrap().clone())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

fn metrics(progress: &QueryProgress) -> Vec<(&str, &str)> {
    progress.sources[0]
        .metrics
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// `AvailableNow` drains what was there at the start in batches of
/// `maxOffsetsPerTrigger` (split by backlog: 10 + 10 of 20), leaves what
/// came later to the next run, and stops.
pub(crate) async fn available_now_drains_in_limited_batches(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "q-drain", 2).await;
    produce(&admin, "q-drain", 0, 0, 30).await;
    produce(&admin, "q-drain", 1, 0, 30).await;
    let dir = TempDir::new("query-drain");
    let options = [("subscribe", "q-drain"), ("maxOffsetsPerTrigger", "20")];
    let seen = Seen::default();
    let mut record = recording(&seen);
    let late = admin.clone();
    let query = StreamingQuery::builder(settings(&bootstrap, &options), dir.path())
        .trigger(Trigger::AvailableNow)
        .start(move |batch: MicroBatch| {
            let late = late.clone();
            let first = batch.batch_id() == 0;
            let handled = record.handle(batch);
            async move {
                if first {
                    // After the run's snapshot: left for the next run.
                    produce(&late, "q-drain", 0, 30, 5).await;
                }
                handled.await
            }
        })
        .await
        .unwrap();
    let progress_of = query_progress_reader(&query);
    let outcome = finish(query).await.unwrap();
    assert_eq!(
        outcome.termination,
        Termination::Finished(StopReason::AllAvailableDataProcessed)
    );
    assert_eq!(
        (
            outcome.batches_committed,
            outcome.rows,
            outcome.next_batch_id
        ),
        (3, 60, 3)
    );
    assert_eq!(
        rows_per_batch(&seen),
        BTreeMap::from([(0, 20), (1, 20), (2, 20)])
    );
    let all: Vec<i64> = (0..30).collect();
    assert_eq!(
        by_partition(&seen),
        BTreeMap::from([(0, all.clone()), (1, all)])
    );
    let progress = progress_of();
    let ends: Vec<Option<PartitionOffsets>> = progress
        .iter()
        .map(|p| p.sources[0].end_offset.clone())
        .collect();
    assert_eq!(
        ends,
        [
            Some(offsets(r#"{"q-drain":{"0":10,"1":10}}"#)),
            Some(offsets(r#"{"q-drain":{"0":20,"1":20}}"#)),
            Some(offsets(r#"{"q-drain":{"0":30,"1":30}}"#)),
        ]
    );

    // The next run takes the 5 records produced after the snapshot.
    let seen = Seen::default();
    let query = StreamingQuery::builder(settings(&bootstrap, &options), dir.path())
        .trigger(Trigger::AvailableNow)
        .start(recording(&seen))
        .await
        .unwrap();
    let outcome = finish(query).await.unwrap();
    assert_eq!(
        (
            outcome.batches_committed,
            outcome.rows,
            outcome.next_batch_id
        ),
        (1, 5, 4)
    );
    let seen = seen.lock().unwrap().clone();
    let expected: Vec<(u64, i32, i64, bool)> = (30..35).map(|o| (3, 0, o, false)).collect();
    assert_eq!(seen, expected);
}

/// A closure reading the query's recent progress after it is consumed by
/// `await_termination`.
fn query_progress_reader(query: &StreamingQuery) -> impl Fn() -> Vec<QueryProgress> {
    // The records are shared with the driver; recent_progress copies them.
    let handle = query.progress_handle();
    move || handle.recent()
}

/// `Once`: everything available in one batch, `maxOffsetsPerTrigger`
/// ignored, then the query stops; a restart does the same from there.
pub(crate) async fn once_reads_everything_in_one_batch(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "q-once", 2).await;
    produce(&admin, "q-once", 0, 0, 15).await;
    produce(&admin, "q-once", 1, 0, 15).await;
    let dir = TempDir::new("query-once");
    let options = [("subscribe", "q-once"), ("maxOffsetsPerTrigger", "5")];
    let seen = Seen::default();
    let query = StreamingQuery::builder(settings(&bootstrap, &options), dir.path())
        .trigger(Trigger::Once)
        .start(recording(&seen))
        .await
        .unwrap();
    let outcome = finish(query).await.unwrap();
    assert_eq!(
        outcome.termination,
        Termination::Finished(StopReason::OnceDone)
    );
    assert_eq!((outcome.batches_committed, outcome.rows), (1, 30));
    assert_eq!(rows_per_batch(&seen), BTreeMap::from([(0, 30)]));

    produce(&admin, "q-once", 1, 15, 4).await;
    let seen = Seen::default();
    let query = StreamingQuery::builder(settings(&bootstrap, &options), dir.path())
        .trigger(Trigger::Once)
        .start(recording(&seen))
        .await
        .unwrap();
    let outcome = finish(query).await.unwrap();
    assert_eq!(
        (
            outcome.batches_committed,
            outcome.rows,
            outcome.next_batch_id
        ),
        (1, 4, 2)
    );
    assert_eq!(
        by_partition(&seen),
        BTreeMap::from([(1, (15..19).collect())])
    );
}

/// `ProcessingTime(10 s)` on a manual clock, the handler taking 2 s and
/// then 3 s: every figure of the two progress records is computed by hand
/// below, and each JSON line reads back with Spark's schema.
pub(crate) async fn processing_time_metrics_equal_hand_computed_values(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "q-metrics", 2).await;
    produce(&admin, "q-metrics", 0, 0, 40).await;
    produce(&admin, "q-metrics", 1, 0, 20).await;
    let dir = TempDir::new("query-metrics");
    let clock = ManualClock::new(NOON);
    let lines = SharedBuffer::default();
    let seen = Seen::default();
    let mut record = recording(&seen);
    let handler_clock = clock.clone();
    let query = StreamingQuery::builder(
        settings(
            &bootstrap,
            &[("subscribe", "q-metrics"), ("maxOffsetsPerTrigger", "30")],
        ),
        dir.path(),
    )
    .name("metrics")
    .trigger(Trigger::ProcessingTime(Duration::from_secs(10)))
    .clock(clock.clone())
    .listener(JsonLinesListener::new(lines.clone()))
    .start(move |batch: MicroBatch| {
        let clock = handler_clock.clone();
        let takes = if batch.batch_id() == 0 { 2_000 } else { 3_000 };
        let handled = record.handle(batch);
        async move {
            handled.await?;
            clock.advance(Duration::from_millis(takes));
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }
    })
    .await
    .unwrap();
    // Batch 0 ran at 12:00:00 and took 2 s; the next trigger is due at
    // 12:00:10.
    assert_eq!(clock.next_sleep().await, NOON + 10_000);
    clock.set(NOON + 10_000);
    assert_eq!(clock.next_sleep().await, NOON + 20_000);
    let progress = query.recent_progress();
    query.stop();
    let outcome = finish(query).await.unwrap();
    assert_eq!(outcome.termination, Termination::Stopped);
    assert_eq!((outcome.batches_committed, outcome.rows), (2, 60));
    assert_eq!(progress.len(), 2, "{progress:#?}");

    let durations = |add_batch: i64| {
        BTreeMap::from([
            ("addBatch".to_owned(), add_batch),
            ("commitOffsets".to_owned(), 0),
            ("getBatch".to_owned(), 0),
            ("latestOffset".to_owned(), 0),
            ("queryPlanning".to_owned(), 0),
            ("triggerExecution".to_owned(), add_batch),
            ("walCommit".to_owned(), 0),
        ])
    };
    // Batch 0: 60 offsets behind the start, 30 allowed, split by backlog
    // (40 : 20) into 20 + 10. Behind latest after it: 20 and 10.
    let first = &progress[0];
    assert_eq!(first.batch_id, 0);
    assert_eq!(first.name.as_deref(), Some("metrics"));
    assert_eq!(first.timestamp(), "2025-03-01T12:00:00.000Z");
    assert_eq!(first.batch_duration_ms, 2_000);
    assert_eq!(first.duration_ms, durations(2_000));
    let source = &first.sources[0];
    assert_eq!(source.description, "KafkaV2[Subscribe[q-metrics]]");
    assert_eq!(source.start_offset, None);
    assert_eq!(
        source.end_offset,
        Some(offsets(r#"{"q-metrics":{"0":20,"1":10}}"#))
    );
    assert_eq!(
        source.latest_offset,
        Some(offsets(r#"{"q-metrics":{"0":40,"1":20}}"#))
    );
    assert_eq!(source.num_input_rows, 30);
    // No previous trigger: Spark divides by an infinite interval.
    assert_eq!(source.input_rows_per_second, 0.0);
    // 30 rows in 2 s.
    assert_eq!(source.processed_rows_per_second, 15.0);
    // 300 bytes over 30 offsets: 10 a record, times 30 behind.
    assert_eq!(
        metrics(first),
        [
            ("avgOffsetsBehindLatest", "15.0"),
            ("estimatedTotalBytesBehindLatest", "300.0"),
            ("maxOffsetsBehindLatest", "20"),
            ("minOffsetsBehindLatest", "10"),
        ]
    );
    assert_eq!(
        (first.sink.description.as_str(), first.sink.num_output_rows),
        ("ForeachBatchSink", -1)
    );

    // Batch 1, 10 s later: the remaining 20 + 10, nothing behind.
    let second = &progress[1];
    assert_eq!(second.batch_id, 1);
    assert_eq!(second.timestamp(), "2025-03-01T12:00:10.000Z");
    assert_eq!(second.duration_ms, durations(3_000));
    let source = &second.sources[0];
    assert_eq!(source.start_offset, first.sources[0].end_offset);
    assert_eq!(
        source.end_offset,
        Some(offsets(r#"{"q-metrics":{"0":40,"1":20}}"#))
    );
    assert_eq!(source.num_input_rows, 30);
    // 30 rows over the 10 s since the previous trigger started; in 3 s.
    assert_eq!(source.input_rows_per_second, 3.0);
    assert_eq!(source.processed_rows_per_second, 10.0);
    assert_eq!(
        metrics(second),
        [
            ("avgOffsetsBehindLatest", "0.0"),
            ("estimatedTotalBytesBehindLatest", "0.0"),
            ("maxOffsetsBehindLatest", "0"),
            ("minOffsetsBehindLatest", "0"),
        ]
    );

    // The listener's JSON lines are these records, in Spark's schema.
    let lines = lines.lines();
    assert_eq!(lines.len(), 2);
    for (line, progress) in lines.iter().zip(&progress) {
        assert_eq!(*line, progress.to_json());
        let value = progress_schema::check(line).unwrap_or_else(|e| panic!("{e}\n{line}"));
        assert_eq!(value["numInputRows"], 30);
        assert_eq!(
            value["sources"][0]["endOffset"]["q-metrics"]["1"].as_i64(),
            { Some(if progress.batch_id == 0 { 10 } else { 20 }) }
        );
    }
    assert_eq!(by_partition(&seen)[&0], (0..40).collect::<Vec<_>>());
    assert_eq!(by_partition(&seen)[&1], (0..20).collect::<Vec<_>>());
}

/// `minOffsetsPerTrigger=10` with `maxTriggerDelay=30s`, a trigger every
/// 5 s: the first trigger fires whatever it finds; 3 new records then wait
/// until 30 s after it; 10 new records fire at the next trigger.
pub(crate) async fn min_offsets_wait_then_fire_at_max_trigger_delay(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "q-min", 1).await;
    produce(&admin, "q-min", 0, 0, 5).await;
    let dir = TempDir::new("query-min");
    let clock = ManualClock::new(NOON);
    // (batch id, clock when handled, rows)
    let batches: Arc<Mutex<Vec<(u64, i64, usize)>>> = Arc::default();
    let handled = Arc::clone(&batches);
    let handler_clock = clock.clone();
    let producer = admin.clone();
    let query = StreamingQuery::builder(
        settings(
            &bootstrap,
            &[
                ("subscribe", "q-min"),
                ("minOffsetsPerTrigger", "10"),
                ("maxTriggerDelay", "30s"),
            ],
        ),
        dir.path(),
    )
    .trigger(Trigger::ProcessingTime(Duration::from_secs(5)))
    .clock(clock.clone())
    .start(move |mut batch: MicroBatch| {
        let handled = Arc::clone(&handled);
        let now = handler_clock.now_ms();
        let producer = producer.clone();
        async move {
            let mut rows = 0;
            while batch.rows().try_next().await?.is_some() {
                rows += 1;
            }
            match batch.batch_id() {
                0 => produce(&producer, "q-min", 0, 5, 3).await,
                1 => produce(&producer, "q-min", 0, 8, 10).await,
                _ => {}
            }
            handled.lock().unwrap().push((batch.batch_id(), now, rows));
            Ok::<_, SourceError>(())
        }
    })
    .await
    .unwrap();
    // Step the clock to each trigger until three batches ran (bounded:
    // batch 2 is due by 12:00:35).
    for _ in 0..20 {
        let due = clock.next_sleep().await;
        if batches.lock().unwrap().len() == 3 {
            break;
        }
        clock.set(due);
    }
    query.stop();
    let outcome = finish(query).await.unwrap();
    assert_eq!(outcome.termination, Termination::Stopped);
    assert_eq!(
        *batches.lock().unwrap(),
        [(0, NOON, 5), (1, NOON + 30_000, 3), (2, NOON + 35_000, 10)]
    );
}

/// A graceful stop while batch 1 runs finishes and commits it; a restart
/// continues at batch 2 from its end: every offset once, none skipped.
pub(crate) async fn a_clean_stop_resumes_exactly_where_it_stopped(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "q-stop", 3).await;
    for partition in 0..3 {
        produce(&admin, "q-stop", partition, 0, 50).await;
    }
    let dir = TempDir::new("query-stop");
    let options = [("subscribe", "q-stop"), ("maxOffsetsPerTrigger", "30")];
    let seen = Seen::default();
    let mut record = recording(&seen);
    let (reached_tx, mut reached) = mpsc::unbounded_channel();
    let release = Arc::new(Notify::new());
    let release_in_handler = Arc::clone(&release);
    let query = StreamingQuery::builder(settings(&bootstrap, &options), dir.path())
        .start(move |batch: MicroBatch| {
            let batch_id = batch.batch_id();
            let reached_tx = reached_tx.clone();
            let release = Arc::clone(&release_in_handler);
            let handled = record.handle(batch);
            async move {
                handled.await?;
                if batch_id == 1 {
                    let _ = reached_tx.send(batch_id);
                    release.notified().await;
                }
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            }
        })
        .await
        .unwrap();
    assert_eq!(reached.recv().await, Some(1));
    query.stop();
    release.notify_one();
    let outcome = finish(query).await.unwrap();
    assert_eq!(outcome.termination, Termination::Stopped);
    assert_eq!(
        (
            outcome.batches_committed,
            outcome.rows,
            outcome.next_batch_id
        ),
        (2, 60, 2)
    );
    assert!(dir.join("commits/1").is_file());
    assert!(!dir.join("offsets/2").exists());
    let first_run = by_partition(&seen);
    for partition in 0..3 {
        assert_eq!(first_run[&partition], (0..20).collect::<Vec<_>>());
    }

    for partition in 0..3 {
        produce(&admin, "q-stop", partition, 50, 10).await;
    }
    let seen_again = Seen::default();
    let query = StreamingQuery::builder(settings(&bootstrap, &options), dir.path())
        .trigger(Trigger::AvailableNow)
        .start(recording(&seen_again))
        .await
        .unwrap();
    let outcome = finish(query).await.unwrap();
    // 40 left per partition, 10 per partition a batch.
    assert_eq!(
        (
            outcome.batches_committed,
            outcome.rows,
            outcome.next_batch_id
        ),
        (4, 120, 6)
    );
    assert_eq!(
        rows_per_batch(&seen_again),
        BTreeMap::from([(2, 30), (3, 30), (4, 30), (5, 30)])
    );
    assert!(seen_again.lock().unwrap().iter().all(|s| !s.3), "no re-run");
    let second_run = by_partition(&seen_again);
    for partition in 0..3 {
        let mut all = first_run[&partition].clone();
        all.extend(&second_run[&partition]);
        assert_eq!(all, (0..60).collect::<Vec<_>>(), "q-stop-{partition}");
    }
}

/// Records deleted (DeleteRecords) past the committed position:
/// `failOnDataLoss=true` stops the query naming the topic-partition and
/// the offsets, the batch logged but not committed; `false` re-runs it,
/// skips the gone offsets and counts them in the batch's progress.
pub(crate) async fn records_deleted_past_the_checkpoint(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "q-loss", 1).await;
    produce(&admin, "q-loss", 0, 0, 20).await;
    let dir = TempDir::new("query-loss");
    let run = |fail_on_data_loss: &'static str, seen: &Seen| {
        let settings = settings(
            &bootstrap,
            &[
                ("subscribe", "q-loss"),
                ("failOnDataLoss", fail_on_data_loss),
            ],
        );
        StreamingQuery::builder(settings, dir.path())
            .trigger(Trigger::AvailableNow)
            .start(recording(seen))
    };
    let seen = Seen::default();
    let outcome = finish(run("true", &seen).await.unwrap()).await.unwrap();
    assert_eq!((outcome.batches_committed, outcome.rows), (1, 20));

    produce(&admin, "q-loss", 0, 20, 20).await;
    admin
        .admin()
        .delete_records(&[(TopicPartition::new("q-loss", 0), 30)])
        .await
        .unwrap();

    let seen = Seen::default();
    let error = finish(run("true", &seen).await.unwrap()).await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, QueryError::DataLoss { batch_id: 1, .. }),
        "{error:?}"
    );
    assert!(
        error.data_loss().is_some()
            && text.contains("q-loss-0")
            && text.contains("[20, 40)")
            && text.contains("failOnDataLoss"),
        "{text}"
    );
    assert_eq!(
        error.error_class(),
        Some("KAFKA_DATA_LOSS.COULD_NOT_READ_OFFSET_RANGE"),
        "{text}"
    );
    assert!(seen.lock().unwrap().is_empty());
    assert!(dir.join("offsets/1").is_file());
    assert!(!dir.join("commits/1").exists());

    let seen = Seen::default();
    let query = run("false", &seen).await.unwrap();
    let progress_of = query_progress_reader(&query);
    let outcome = finish(query).await.unwrap();
    assert_eq!(
        (
            outcome.batches_committed,
            outcome.rows,
            outcome.next_batch_id
        ),
        (1, 10, 2)
    );
    let seen = seen.lock().unwrap().clone();
    let expected: Vec<(u64, i32, i64, bool)> = (30..40).map(|o| (1, 0, o, true)).collect();
    assert_eq!(seen, expected);
    let progress = progress_of();
    assert_eq!(progress.len(), 1);
    let metrics = metrics(&progress[0]);
    assert!(metrics.contains(&("dataLoss", "1")), "{metrics:?}");
    assert!(metrics.contains(&("offsetOutOfRange", "10")), "{metrics:?}");
    assert_eq!(progress[0].num_input_rows(), 10);
    progress_schema::check(&progress[0].to_json()).unwrap();
}

/// The subscribed topic deleted after a committed batch: `failOnDataLoss`
/// true stops the query naming the partition; recreated smaller, true
/// stops it again, and false goes on past the change, counting the
/// offsets it will never read, then reads the new records.
pub(crate) async fn topic_deleted_then_recreated_smaller(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "q-gone", 1).await;
    produce(&admin, "q-gone", 0, 0, 10).await;
    let dir = TempDir::new("query-gone");
    let run = |fail_on_data_loss: &'static str, seen: &Seen| {
        let settings = settings(
            &bootstrap,
            &[
                ("subscribe", "q-gone"),
                ("failOnDataLoss", fail_on_data_loss),
            ],
        );
        StreamingQuery::builder(settings, dir.path())
            .trigger(Trigger::AvailableNow)
            .start(recording(seen))
    };
    let seen = Seen::default();
    let outcome = finish(run("true", &seen).await.unwrap()).await.unwrap();
    assert_eq!((outcome.batches_committed, outcome.rows), (1, 10));

    admin.admin().delete_topics(&["q-gone"]).await.unwrap();
    let seen = Seen::default();
    let error = finish(run("true", &seen).await.unwrap()).await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, QueryError::DataLoss { batch_id: 1, .. })
            && text.contains("Partitions Set(q-gone-0) have been deleted"),
        "{error:?}: {text}"
    );
    assert_eq!(
        error.error_class(),
        Some("KAFKA_DATA_LOSS.PARTITIONS_DELETED")
    );
    assert!(!dir.join("offsets/1").exists(), "nothing logged");

    create(&admin, "q-gone", 1).await;
    produce(&admin, "q-gone", 0, 0, 3).await;
    let error = finish(run("true", &seen).await.unwrap()).await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, QueryError::DataLoss { batch_id: 1, .. })
            && text.contains("Partition q-gone-0 offset was changed from 10 to 3"),
        "{error:?}: {text}"
    );
    assert_eq!(
        error.error_class(),
        Some("KAFKA_DATA_LOSS.PARTITION_OFFSET_CHANGED")
    );
    assert!(seen.lock().unwrap().is_empty());

    let query = run("false", &seen).await.unwrap();
    let progress_of = query_progress_reader(&query);
    let outcome = finish(query).await.unwrap();
    // The batch moves past the change without rows: 0..3 of the new
    // partition are never read.
    assert_eq!((outcome.batches_committed, outcome.rows), (1, 0));
    let progress = progress_of();
    let metrics = metrics(&progress[0]);
    assert!(metrics.contains(&("dataLoss", "1")), "{metrics:?}");
    assert!(metrics.contains(&("offsetOutOfRange", "3")), "{metrics:?}");

    produce(&admin, "q-gone", 0, 3, 2).await;
    let outcome = finish(run("false", &seen).await.unwrap()).await.unwrap();
    assert_eq!((outcome.batches_committed, outcome.rows), (1, 2));
    assert_eq!(by_partition(&seen)[&0], [3, 4]);
}

/// Records deleted between planning and reading (the handler deletes them
/// before it takes the rows): `failOnDataLoss` true stops the query with
/// the read's range; false skips them and counts them in the progress.
pub(crate) async fn offsets_gone_between_planning_and_reading(bootstrap: String) {
    let admin = client(&bootstrap).await;
    for topic in ["q-race-fail", "q-race-skip"] {
        create(&admin, topic, 1).await;
        produce(&admin, topic, 0, 0, 20).await;
    }
    let run = |topic: &'static str, fail_on_data_loss: &'static str, seen: &Seen| {
        let dir = TempDir::new("query-race");
        let settings = settings(
            &bootstrap,
            &[("subscribe", topic), ("failOnDataLoss", fail_on_data_loss)],
        );
        let deleter = admin.clone();
        let mut record = recording(seen);
        let query = StreamingQuery::builder(settings, dir.path())
            .trigger(Trigger::AvailableNow)
            .start(move |batch: MicroBatch| {
                let deleter = deleter.clone();
                let handled = record.handle(batch);
                async move {
                    deleter
                        .admin()
                        .delete_records(&[(TopicPartition::new(topic, 0), 5)])
                        .await
                        .unwrap();
                    handled.await
                }
            });
        async move {
            let outcome = finish(query.await.unwrap()).await;
            drop(dir);
            outcome
        }
    };
    let seen = Seen::default();
    let error = run("q-race-fail", "true", &seen).await.unwrap_err();
    let text = error.to_string();
    assert!(
        matches!(error, QueryError::DataLoss { batch_id: 0, .. })
            && text.contains("q-race-fail-0")
            && text.contains("[0, 20)"),
        "{error:?}: {text}"
    );

    let seen = Seen::default();
    let outcome = run("q-race-skip", "false", &seen).await.unwrap();
    assert_eq!((outcome.batches_committed, outcome.rows), (1, 15));
    assert_eq!(by_partition(&seen)[&0], (5..20).collect::<Vec<_>>());
}
