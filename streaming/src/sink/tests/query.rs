//! The sink as a streaming query's batch handler, against the in-process
//! fake cluster: each batch written before its commit, and a failed write
//! leaving the batch uncommitted.

use bytes::Bytes;
use ferrokafka_fake::FakeCluster;

use super::{read_back, settings};
use crate::checkpoint::MemoryCheckpoint;
use crate::options::SourceOptions;
use crate::query::{QueryError, StreamingQuery, Termination};
use crate::sink::{KafkaSink, ProducerCache, ProducerCacheConfig, SinkRow};
use crate::trigger::{StopReason, Trigger};
use crate::Row;

fn sink(bootstrap: &str, topic: &str) -> KafkaSink {
    KafkaSink::with_cache(
        settings(bootstrap, &[("topic", topic)]),
        ProducerCache::new(ProducerCacheConfig::default()),
    )
}

/// A query over `topic` from the earliest offsets, 4 offsets a batch, until
/// what is there now is read.
fn query(bootstrap: &str, topic: &str, store: &MemoryCheckpoint) -> crate::query::QueryBuilder {
    let settings = SourceOptions::from_pairs([
        ("kafka.bootstrap.servers", bootstrap),
        ("subscribe", topic),
        ("startingOffsets", "earliest"),
        ("maxOffsetsPerTrigger", "4"),
        ("includeHeaders", "true"),
    ])
    .streaming()
    .unwrap();
    StreamingQuery::builder(settings, store.clone()).trigger(Trigger::AvailableNow)
}

/// A row's partition, key, value and headers.
type Contents = (
    i32,
    Option<Bytes>,
    Option<Bytes>,
    Vec<(Bytes, Option<Bytes>)>,
);

/// Key, value and headers of each row, per partition in offset order.
fn contents(rows: &[Row]) -> Vec<Contents> {
    rows.iter()
        .map(|row| {
            (
                row.partition(),
                row.key().cloned(),
                row.value().cloned(),
                row.headers()
                    .map(|headers| {
                        headers
                            .iter()
                            .map(|h| (h.key.clone(), h.value.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_writes_each_batch_through_the_sink_before_committing_it() {
    let cluster = FakeCluster::builder()
        .topic("in", 2)
        .topic("out", 2)
        .build()
        .unwrap();
    let bootstrap = cluster.bootstrap();
    let rows = (0..10).map(|i| {
        SinkRow::new()
            .key(format!("k{i}"))
            .value(format!("v{i}"))
            .partition(i % 2)
            .header("i", Some(i.to_string()))
            .header("null", None::<Bytes>)
    });
    sink(&bootstrap, "in").write(rows).await.unwrap();

    let store = MemoryCheckpoint::new();
    let running = query(&bootstrap, "in", &store)
        .start(sink(&bootstrap, "out"))
        .await
        .unwrap();
    let outcome = running.await_termination().await.unwrap();
    assert_eq!(
        outcome.termination,
        Termination::Finished(StopReason::AllAvailableDataProcessed)
    );
    // 10 offsets, 4 a batch: 4 + 4 + 2.
    assert_eq!((outcome.batches_committed, outcome.rows), (3, 10));
    assert!(
        store.paths().contains(&"commits/2".to_owned()),
        "{:?}",
        store.paths()
    );
    assert_eq!(
        contents(&read_back(&bootstrap, "out").await),
        contents(&read_back(&bootstrap, "in").await)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_write_stops_the_query_with_the_batch_uncommitted() {
    // The read's rows keep their partition; "out" lacks partition 1.
    let cluster = FakeCluster::builder()
        .topic("in", 2)
        .topic("out", 1)
        .build()
        .unwrap();
    let bootstrap = cluster.bootstrap();
    let rows = (0..4).map(|i| SinkRow::new().value(format!("v{i}")).partition(i % 2));
    sink(&bootstrap, "in").write(rows).await.unwrap();

    let store = MemoryCheckpoint::new();
    let running = query(&bootstrap, "in", &store)
        .start(sink(&bootstrap, "out"))
        .await
        .unwrap();
    let err = running.await_termination().await.unwrap_err();
    assert!(
        matches!(&err, QueryError::Handler { batch_id: 0, .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("out-1: unknown topic or partition"), "{text}");
    assert!(
        store.paths().contains(&"offsets/0".to_owned()),
        "{:?}",
        store.paths()
    );
    assert!(
        !store.paths().contains(&"commits/0".to_owned()),
        "{:?}",
        store.paths()
    );
}
