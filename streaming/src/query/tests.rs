//! The query against the in-process fake cluster: batches under the read
//! limit, the checkpoint files, re-runs after a failed or abandoned batch,
//! graceful stops, start-up errors and new partitions.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrokafka::{Client, ClientConfig, ProducerConfig, ProducerRecord};
use ferrokafka_fake::FakeCluster;
use futures::TryStreamExt;
use tokio::sync::Notify;

use super::*;
use crate::checkpoint::MemoryCheckpoint;
use crate::options::SourceOptions;
use crate::planner::DataLoss;
use crate::SourceError;

/// Every row a handler saw: (batch id, partition name, offset, re-run).
type Seen = Arc<Mutex<Vec<(u64, String, i64, bool)>>>;

async fn client(bootstrap: &str) -> Client {
    Client::connect(
        ClientConfig::builder()
            .bootstrap_servers(bootstrap)
            .fetch_max_wait(Duration::from_millis(50))
            .build()
            .unwrap(),
    )
    .await
    .unwrap()
}

/// Appends `count` records to `topic`-`partition`, values `<tp>@<offset>`.
async fn produce(client: &Client, topic: &str, partition: i32, count: usize) {
    let producer = client.producer(ProducerConfig::default()).await.unwrap();
    let mut deliveries = Vec::new();
    for _ in 0..count {
        let record = ProducerRecord::new(topic).partition(partition).value("v");
        deliveries.push(producer.send(record).await.unwrap());
    }
    for delivery in deliveries {
        delivery.await.unwrap();
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
    options.streaming().unwrap()
}

/// A handler recording every row into `seen`.
fn recording(seen: &Seen) -> impl BatchHandler {
    let seen = Arc::clone(seen);
    move |mut batch: MicroBatch| {
        let seen = Arc::clone(&seen);
        async move {
            while let Some(row) = batch.rows().try_next().await? {
                seen.lock().unwrap().push((
                    batch.batch_id(),
                    format!("{}-{}", row.topic(), row.partition()),
                    row.offset(),
                    batch.is_rerun(),
                ));
            }
            Ok::<_, SourceError>(())
        }
    }
}

/// The offsets seen per partition, in the order seen.
fn offsets(seen: &Seen) -> BTreeMap<String, Vec<i64>> {
    let mut by_partition: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for (_, tp, offset, _) in seen.lock().unwrap().iter() {
        by_partition.entry(tp.clone()).or_default().push(*offset);
    }
    by_partition
}

async fn finish(query: StreamingQuery) -> Result<QueryOutcome, QueryError> {
    tokio::time::timeout(Duration::from_secs(60), query.await_termination())
        .await
        .expect("the query ended within a minute")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn available_now_drains_its_snapshot_in_limited_batches() {
    let cluster = FakeCluster::builder().topic("t", 2).build().unwrap();
    let bootstrap = cluster.bootstrap();
    let producer = client(&bootstrap).await;
    produce(&producer, "t", 0, 30).await;
    produce(&producer, "t", 1, 30).await;
    let store = MemoryCheckpoint::new();
    let seen = Seen::default();
    let record = recording(&seen);
    let mut record = record;
    let late = producer.clone();
    let query = StreamingQuery::builder(
        settings(
            &bootstrap,
            &[("subscribe", "t"), ("maxOffsetsPerTrigger", "25")],
        ),
        store.clone(),
    )
    .trigger(Trigger::AvailableNow)
    .start(move |batch: MicroBatch| {
        let late = late.clone();
        let first = batch.batch_id() == 0;
        let handled = record.handle(batch);
        async move {
            if first {
                // After the snapshot: left for the next run.
                produce(&late, "t", 0, 5).await;
            }
            handled.await
        }
    })
    .await
    .unwrap();
    let outcome = finish(query).await.unwrap();
    assert_eq!(
        outcome.termination,
        Termination::Finished(StopReason::AllAvailableDataProcessed)
    );
    // 25 split by backlog: 12 + 12, 12 + 12, then the 6 + 6 left.
    assert_eq!((outcome.batches_committed, outcome.rows), (3, 60));
    let by_batch: Vec<usize> = (0..3)
        .map(|id| seen.lock().unwrap().iter().filter(|s| s.0 == id).count())
        .collect();
    assert_eq!(by_batch, [24, 24, 12]);
    let expected: Vec<i64> = (0..30).collect();
    assert_eq!(offsets(&seen)["t-0"], expected);
    assert_eq!(offsets(&seen)["t-1"], expected);
    assert_eq!(
        store.paths(),
        [
            "commits/0",
            "commits/1",
            "commits/2",
            "metadata",
            "offsets/0",
            "offsets/1",
            "offsets/2",
            "sources/0/0"
        ]
    );
    let checkpoint = Checkpoint::open(store).unwrap();
    assert_eq!(
        checkpoint.logged_offsets(2).unwrap().0.to_json(),
        r#"{"t":{"0":30,"1":30}}"#
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_batch_runs_again_over_exactly_its_range() {
    let cluster = FakeCluster::builder().topic("t", 1).build().unwrap();
    let bootstrap = cluster.bootstrap();
    let producer = client(&bootstrap).await;
    produce(&producer, "t", 0, 10).await;
    let store = MemoryCheckpoint::new();
    let seen = Seen::default();
    let mut record = recording(&seen);
    let query = StreamingQuery::builder(
        settings(
            &bootstrap,
            &[("subscribe", "t"), ("maxOffsetsPerTrigger", "4")],
        ),
        store.clone(),
    )
    .start(move |batch: MicroBatch| {
        let failing = batch.batch_id() == 1;
        let handled = record.handle(batch);
        async move {
            handled.await?;
            if failing {
                return Err("the sink is down".into());
            }
            Ok::<_, HandlerError>(())
        }
    })
    .await
    .unwrap();
    let err = finish(query).await.unwrap_err();
    assert!(
        matches!(&err, QueryError::Handler { batch_id: 1, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("the sink is down"), "{err}");
    assert!(!store.paths().contains(&"commits/1".to_owned()));

    // More data and a higher limit: the re-run keeps batch 1's range; Once
    // then stops (Spark's single batch is the re-run).
    produce(&producer, "t", 0, 10).await;
    seen.lock().unwrap().clear();
    let query = StreamingQuery::builder(
        settings(
            &bootstrap,
            &[("subscribe", "t"), ("maxOffsetsPerTrigger", "100")],
        ),
        store.clone(),
    )
    .trigger(Trigger::Once)
    .start(recording(&seen))
    .await
    .unwrap();
    let outcome = finish(query).await.unwrap();
    assert_eq!(
        outcome.termination,
        Termination::Finished(StopReason::OnceDone)
    );
    let rows = seen.lock().unwrap().clone();
    let expected: Vec<(u64, String, i64, bool)> =
        (4..8).map(|o| (1, "t-0".to_owned(), o, true)).collect();
    assert_eq!(rows, expected);

    // Then batch 2 reads everything left, once.
    seen.lock().unwrap().clear();
    let query = StreamingQuery::builder(settings(&bootstrap, &[("subscribe", "t")]), store)
        .trigger(Trigger::Once)
        .start(recording(&seen))
        .await
        .unwrap();
    assert_eq!(finish(query).await.unwrap().next_batch_id, 3);
    assert_eq!(offsets(&seen)["t-0"], (8..20).collect::<Vec<_>>());
}

/// A handler that reads its rows, tells `reached`, then waits for
/// `release` before returning `Ok`.
fn pausing(seen: &Seen, reached: Arc<Notify>, release: Arc<Notify>) -> impl BatchHandler {
    let mut record = recording(seen);
    move |batch: MicroBatch| {
        let handled = record.handle(batch);
        let (reached, release) = (Arc::clone(&reached), Arc::clone(&release));
        async move {
            handled.await?;
            reached.notify_one();
            release.notified().await;
            Ok::<_, HandlerError>(())
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abort_abandons_the_running_batch_and_stop_finishes_it() {
    let cluster = FakeCluster::builder().topic("t", 1).build().unwrap();
    let bootstrap = cluster.bootstrap();
    let producer = client(&bootstrap).await;
    produce(&producer, "t", 0, 10).await;
    let store = MemoryCheckpoint::new();
    let seen = Seen::default();
    let (reached, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let limited = settings(
        &bootstrap,
        &[("subscribe", "t"), ("maxOffsetsPerTrigger", "6")],
    );

    let query = StreamingQuery::builder(limited.clone(), store.clone())
        .start(pausing(&seen, Arc::clone(&reached), Arc::clone(&release)))
        .await
        .unwrap();
    reached.notified().await;
    query.abort();
    let outcome = finish(query).await.unwrap();
    assert_eq!(outcome.termination, Termination::Aborted);
    assert_eq!(outcome.batches_committed, 0);
    assert!(store.paths().contains(&"offsets/0".to_owned()));
    assert!(!store.paths().contains(&"commits/0".to_owned()));

    // The next run takes batch 0 again; a stop while its handler runs lets
    // it finish and commit, and plans no batch 1 although data waits.
    seen.lock().unwrap().clear();
    let query = StreamingQuery::builder(limited, store.clone())
        .start(pausing(&seen, Arc::clone(&reached), Arc::clone(&release)))
        .await
        .unwrap();
    reached.notified().await;
    query.stop();
    release.notify_one();
    let outcome = finish(query).await.unwrap();
    assert_eq!(outcome.termination, Termination::Stopped);
    assert_eq!((outcome.batches_committed, outcome.next_batch_id), (1, 1));
    let rows = seen.lock().unwrap().clone();
    assert_eq!(rows.len(), 6);
    assert!(rows
        .iter()
        .all(|(batch, _, _, rerun)| *batch == 0 && *rerun));
    assert!(store.paths().contains(&"commits/0".to_owned()));
    assert!(!store.paths().contains(&"offsets/1".to_owned()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_control_stops_the_query_while_it_is_awaited() {
    let cluster = FakeCluster::builder().topic("t", 1).build().unwrap();
    let bootstrap = cluster.bootstrap();
    let producer = client(&bootstrap).await;
    produce(&producer, "t", 0, 10).await;
    let seen = Seen::default();
    let (reached, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let query = StreamingQuery::builder(
        settings(
            &bootstrap,
            &[("subscribe", "t"), ("maxOffsetsPerTrigger", "4")],
        ),
        MemoryCheckpoint::new(),
    )
    .start(pausing(&seen, Arc::clone(&reached), Arc::clone(&release)))
    .await
    .unwrap();
    let control = query.control();
    let waiting = tokio::spawn(finish(query));
    reached.notified().await;
    control.clone().stop();
    release.notify_one();
    let outcome = waiting.await.unwrap().unwrap();
    assert_eq!(outcome.termination, Termination::Stopped);
    // Batch 0 finished and committed; no batch 1 although 6 offsets wait.
    assert_eq!((outcome.batches_committed, outcome.rows), (1, 4));
    // The query has ended: the control does nothing now.
    control.abort();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bootstrap_that_never_answers_fails_the_start_within_its_deadline() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bootstrap = format!("127.0.0.1:{port}");
    let settings = settings(
        &bootstrap,
        &[("subscribe", "t"), ("kafka.bootstrap.timeout.ms", "500")],
    );
    let started = StreamingQuery::builder(settings, MemoryCheckpoint::new())
        .start(recording(&Seen::default()))
        .await;
    let err = started.unwrap_err();
    assert!(matches!(err, QueryError::Bootstrap(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("bootstrap.timeout.ms") && text.contains(&bootstrap),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corrupt_checkpoint_is_refused_naming_the_file() {
    let cluster = FakeCluster::builder().topic("t", 1).build().unwrap();
    let store = MemoryCheckpoint::new();
    store.put(
        "metadata",
        r#"{"id":"8c2a6b1e-0f4d-4c3b-9a2e-5d6f7a8b9c0d"}"#,
    );
    store.put("sources/0/0", "\0v1\n{\"t\":{\"0\":0}}");
    store.put("offsets/0", "v1\nnot json");
    let err = StreamingQuery::builder(settings(&cluster.bootstrap(), &[("subscribe", "t")]), store)
        .start(recording(&Seen::default()))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, QueryError::Checkpoint(CheckpointError::Corrupt { file, .. }) if file == "memory:/offsets/0"),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_partitions_start_at_their_earliest_offset() {
    let cluster = FakeCluster::builder().topic("t", 1).build().unwrap();
    let bootstrap = cluster.bootstrap();
    let producer = client(&bootstrap).await;
    produce(&producer, "t", 0, 3).await;
    let clock = ManualClock::new(1_000_000);
    let seen = Seen::default();
    // startingOffsets=latest: the 3 records before the start are skipped,
    // but a partition added later is read from its first record.
    let query = StreamingQuery::builder(
        settings(
            &bootstrap,
            &[("subscribe", "t"), ("startingOffsets", "latest")],
        ),
        MemoryCheckpoint::new(),
    )
    .trigger(Trigger::ProcessingTime(Duration::from_secs(1)))
    .clock(clock.clone())
    .start(recording(&seen))
    .await
    .unwrap();
    let next = clock.next_sleep().await;
    producer.admin().create_partitions("t", 3).await.unwrap();
    produce(&producer, "t", 1, 4).await;
    produce(&producer, "t", 2, 2).await;
    produce(&producer, "t", 0, 1).await;
    clock.set(next);
    let deadline = clock.next_sleep().await;
    assert!(deadline > next);
    query.stop();
    let outcome = finish(query).await.unwrap();
    assert_eq!((outcome.batches_committed, outcome.rows), (1, 7));
    let expected = BTreeMap::from([
        ("t-0".to_owned(), vec![3]),
        ("t-1".to_owned(), vec![0, 1, 2, 3]),
        ("t-2".to_owned(), vec![0, 1]),
    ]);
    assert_eq!(offsets(&seen), expected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_partition_not_starting_at_zero_is_data_loss() {
    for fail_on_data_loss in [true, false] {
        let cluster = FakeCluster::builder().topic("t", 1).build().unwrap();
        let bootstrap = cluster.bootstrap();
        let producer = client(&bootstrap).await;
        let clock = ManualClock::new(1_000_000);
        let seen = Seen::default();
        let query = StreamingQuery::builder(
            settings(
                &bootstrap,
                &[
                    ("subscribe", "t"),
                    ("failOnDataLoss", &fail_on_data_loss.to_string()),
                ],
            ),
            MemoryCheckpoint::new(),
        )
        .trigger(Trigger::ProcessingTime(Duration::from_secs(1)))
        .clock(clock.clone())
        .start(recording(&seen))
        .await
        .unwrap();
        let next = clock.next_sleep().await;
        producer.admin().create_partitions("t", 2).await.unwrap();
        produce(&producer, "t", 1, 10).await;
        cluster.delete_records("t", 1, 4).unwrap();
        clock.set(next);
        if fail_on_data_loss {
            let err = finish(query).await.unwrap_err();
            assert_eq!(
                err.data_loss(),
                Some(&DataLoss::AddedPartitionNotFromZero {
                    partition: ferrokafka::TopicPartition::new("t", 1),
                    start_offset: 4
                })
            );
            assert_eq!(
                err.error_class(),
                Some("KAFKA_DATA_LOSS.ADDED_PARTITION_DOES_NOT_START_FROM_OFFSET_ZERO")
            );
            assert!(
                err.to_string()
                    .contains("Added partition t-1 starts from 4 instead of 0."),
                "{err}"
            );
            continue;
        }
        clock.next_sleep().await;
        let progress = query.last_progress().unwrap();
        query.stop();
        let outcome = finish(query).await.unwrap();
        assert_eq!((outcome.batches_committed, outcome.rows), (1, 6));
        assert_eq!(offsets(&seen)["t-1"], (4..10).collect::<Vec<_>>());
        let metrics = &progress.sources[0].metrics;
        assert_eq!(metrics["dataLoss"], "1");
        assert_eq!(metrics["offsetOutOfRange"], "4");
    }
}
