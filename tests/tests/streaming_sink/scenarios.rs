//! The sink's scenarios: each writes with a `KafkaSink` and reads back
//! with a `BatchSource`, on topics of its own.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use ferrokafka::admin::NewTopic;
use ferrokafka::producer::partitioner::partition_for_key;
use ferrokafka::{Client, ClientConfig};
use ferrokafka_streaming::arrow::{ArrowOptions, BinaryLayout, RecordBatches};
use ferrokafka_streaming::batch::BatchSource;
use ferrokafka_streaming::options::SourceOptions;
use ferrokafka_streaming::query::{StreamingQuery, Termination};
use ferrokafka_streaming::sink::{KafkaSink, SinkError, SinkOptions, SinkRow};
use ferrokafka_streaming::trigger::{StopReason, Trigger};
use ferrokafka_streaming::Row;
use futures::{stream, TryStreamExt};

const BASE_TS: i64 = 1_700_000_000_000;

async fn create(bootstrap: &str, topics: &[(&str, i32)]) {
    let client = Client::connect(
        ClientConfig::builder()
            .bootstrap_servers(bootstrap)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    for (topic, partitions) in topics {
        client
            .admin()
            .create_topic(NewTopic::new(*topic, *partitions, 1))
            .await
            .unwrap_or_else(|e| panic!("create {topic}: {e}"));
    }
    client.close().await;
}

fn sink(bootstrap: &str, extra: &[(&str, &str)]) -> KafkaSink {
    let mut options = SinkOptions::from_pairs([("kafka.bootstrap.servers", bootstrap)]);
    for (key, value) in extra {
        options.set(*key, *value);
    }
    KafkaSink::new(options.settings().unwrap())
}

async fn source(bootstrap: &str, topic: &str) -> BatchSource {
    let options = SourceOptions::from_pairs([
        ("kafka.bootstrap.servers", bootstrap),
        ("subscribe", topic),
        ("includeHeaders", "true"),
    ]);
    BatchSource::connect(options.batch().unwrap())
        .await
        .unwrap()
}

/// Every row of `topic`, by partition and offset.
async fn read_back(bootstrap: &str, topic: &str) -> Vec<Row> {
    let rows = tokio::time::timeout(Duration::from_secs(60), async {
        source(bootstrap, topic)
            .await
            .rows()
            .await
            .unwrap()
            .try_collect::<Vec<Row>>()
            .await
            .unwrap()
    })
    .await
    .expect("the read stalled");
    let mut rows = rows;
    rows.sort_by_key(|row| (row.partition(), row.offset()));
    rows
}

/// Bytes compared in full but shown short: a failed comparison of rows
/// with 100 kB values stays readable.
#[derive(PartialEq, Eq, Clone)]
struct Data(Bytes);

impl std::fmt::Debug for Data {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        const SHOWN: usize = 24;
        if self.0.len() <= SHOWN {
            write!(f, "{:?}", self.0)
        } else {
            write!(f, "{:?}.. ({} bytes)", self.0.slice(..SHOWN), self.0.len())
        }
    }
}

fn data(bytes: Option<&Bytes>) -> Option<Data> {
    bytes.cloned().map(Data)
}

/// A row as written: key, value, headers (none as `None`, as a read
/// shows it).
type Written = (
    Option<Data>,
    Option<Data>,
    Option<Vec<(Data, Option<Data>)>>,
);

fn as_read(row: &Row) -> Written {
    (
        data(row.key()),
        data(row.value()),
        row.headers().map(|headers| {
            headers
                .iter()
                .map(|h| (Data(h.key.clone()), data(h.value.as_ref())))
                .collect()
        }),
    )
}

fn as_written(row: &SinkRow) -> Written {
    (
        data(row.key.as_ref()),
        data(row.value.as_ref()),
        (!row.headers.is_empty()).then(|| {
            row.headers
                .iter()
                .map(|(k, v)| (Data(Bytes::from(k.clone())), data(v.as_ref())))
                .collect()
        }),
    )
}

/// What each partition holds, in order.
fn by_partition<T>(items: impl IntoIterator<Item = (i32, T)>) -> BTreeMap<i32, Vec<T>> {
    let mut out: BTreeMap<i32, Vec<T>> = BTreeMap::new();
    for (partition, item) in items {
        out.entry(partition).or_default().push(item);
    }
    out
}

/// Row `i` of a varied set: binary and empty keys, null keys, null and
/// empty values, a large value, headers with duplicate keys, null values
/// and an empty key; partition `i % partitions`; every other one with a
/// timestamp.
fn varied_row(i: usize, partitions: i32) -> SinkRow {
    let mut row = SinkRow::new().partition(i as i32 % partitions);
    row = match i % 4 {
        0 => row.key(format!("key-{i}")),
        1 => row.key(vec![0xff, 0x00, 0xfe, i as u8]),
        2 => row.key(Bytes::new()),
        _ => row,
    };
    row = match i % 5 {
        0 => row,
        1 => row.value(Bytes::new()),
        2 => row.value(vec![i as u8; 100_000]),
        _ => row.value(format!("value {i} ✓")),
    };
    row = match i % 6 {
        0 => row
            .header("h", Some("1"))
            .header("h", Some("2"))
            .header("n", None::<Bytes>),
        1 => row.header("", Some(vec![0u8, 1, 2])),
        2 => row.header("clé", Some(Bytes::new())).header("h", Some("x")),
        _ => row,
    };
    if i.is_multiple_of(2) {
        row = row.timestamp(BASE_TS + i as i64);
    }
    row
}

pub(crate) async fn rows_read_back_byte_for_byte(bootstrap: String) {
    create(&bootstrap, &[("sink-rows", 3)]).await;
    let rows: Vec<SinkRow> = (0..300).map(|i| varied_row(i, 3)).collect();
    let written = sink(&bootstrap, &[("topic", "sink-rows")])
        .write(rows.clone())
        .await
        .unwrap();
    assert_eq!(written.rows, 300);
    let read = read_back(&bootstrap, "sink-rows").await;
    assert_eq!(
        by_partition(read.iter().map(|row| (row.partition(), as_read(row)))),
        by_partition(
            rows.iter()
                .map(|row| (row.partition.unwrap(), as_written(row)))
        )
    );
    // Row i went to partition i % 3, as the (i / 3)th there.
    for (partition, rows) in by_partition(read.iter().map(|row| (row.partition(), row))) {
        for (position, row) in rows.iter().enumerate() {
            let i = position * 3 + partition as usize;
            if i.is_multiple_of(2) {
                assert_eq!(row.timestamp_millis(), BASE_TS + i as i64, "row {i}");
            }
        }
    }
}

pub(crate) async fn keyed_rows_follow_the_java_partitioner(bootstrap: String) {
    create(&bootstrap, &[("sink-keyed", 5)]).await;
    let keyed = (0..100).map(|i| SinkRow::new().key(format!("user-{i}")).value("v"));
    let unkeyed = (0..50).map(|_| SinkRow::new().value("no key"));
    let written = sink(&bootstrap, &[("topic", "sink-keyed")])
        .write(keyed.chain(unkeyed))
        .await
        .unwrap();
    assert_eq!(written.rows, 150);
    let read = read_back(&bootstrap, "sink-keyed").await;
    assert_eq!(read.len(), 150);
    let mut partitions_used = std::collections::BTreeSet::new();
    for row in read.iter().filter(|row| row.key().is_some()) {
        let key = row.key().unwrap();
        assert_eq!(
            row.partition(),
            partition_for_key(key, 5),
            "key {key:?}: murmur2, positive, modulo the partition count"
        );
        partitions_used.insert(row.partition());
    }
    assert!(partitions_used.len() > 1, "{partitions_used:?}");
}

pub(crate) async fn the_topic_option_overrides_the_column(bootstrap: String) {
    create(&bootstrap, &[("sink-column", 1), ("sink-option", 1)]).await;
    let rows = || (0..10).map(|i| SinkRow::new().topic("sink-column").value(format!("{i}")));
    sink(&bootstrap, &[("topic", " sink-option ")])
        .write(rows())
        .await
        .unwrap();
    assert_eq!(read_back(&bootstrap, "sink-column").await.len(), 0);
    assert_eq!(read_back(&bootstrap, "sink-option").await.len(), 10);
    sink(&bootstrap, &[]).write(rows()).await.unwrap();
    assert_eq!(read_back(&bootstrap, "sink-column").await.len(), 10);
    assert_eq!(read_back(&bootstrap, "sink-option").await.len(), 10);
}

pub(crate) async fn idempotence_on_and_off(bootstrap: String) {
    create(&bootstrap, &[("sink-idempotence", 2)]).await;
    let rows = |from: usize| {
        (from..from + 50).map(|i| SinkRow::new().value(format!("{i}")).partition(i as i32 % 2))
    };
    let idempotent = sink(&bootstrap, &[("topic", "sink-idempotence")]);
    let plain = sink(
        &bootstrap,
        &[
            ("topic", "sink-idempotence"),
            ("kafka.enable.idempotence", "false"),
        ],
    );
    assert_eq!(idempotent.write(rows(0)).await.unwrap().rows, 50);
    assert_eq!(plain.write(rows(50)).await.unwrap().rows, 50);
    let lease = idempotent
        .cache()
        .acquire(idempotent.settings())
        .await
        .unwrap();
    assert!(
        lease.producer_id().is_some(),
        "a producer id from the broker"
    );
    let lease = plain.cache().acquire(plain.settings()).await.unwrap();
    assert!(lease.producer_id().is_none());
    let read = read_back(&bootstrap, "sink-idempotence").await;
    let values: Vec<String> = read
        .iter()
        .map(|row| String::from_utf8(row.value().unwrap().to_vec()).unwrap())
        .collect();
    let expected: Vec<String> = (0..100)
        .filter(|i| i % 2 == 0)
        .chain((0..100).filter(|i| i % 2 == 1))
        .map(|i| i.to_string())
        .collect();
    assert_eq!(values, expected, "each once, in order per partition");
}

pub(crate) async fn arrow_batches_write_back_as_read(bootstrap: String) {
    create(
        &bootstrap,
        &[
            ("sink-arrow-in", 2),
            ("sink-arrow-view", 2),
            ("sink-arrow-plain", 2),
        ],
    )
    .await;
    let rows: Vec<SinkRow> = (0..120).map(|i| varied_row(i, 2)).collect();
    sink(&bootstrap, &[("topic", "sink-arrow-in")])
        .write(rows)
        .await
        .unwrap();
    let original = read_back(&bootstrap, "sink-arrow-in").await;
    for (layout, topic) in [
        (BinaryLayout::View, "sink-arrow-view"),
        (BinaryLayout::Plain, "sink-arrow-plain"),
    ] {
        let read = source(&bootstrap, "sink-arrow-in").await;
        let batches: Vec<_> = RecordBatches::new(
            read.rows().await.unwrap(),
            ArrowOptions::default()
                .with_binary(layout)
                .with_max_rows(50),
        )
        .try_collect()
        .await
        .unwrap();
        assert!(batches.len() > 1);
        // The read's own columns, topic replaced by the option; the
        // partition column is kept.
        let out = sink(&bootstrap, &[("topic", topic)]);
        let mut written = 0;
        for batch in &batches {
            written += out.write_record_batch(batch).await.unwrap().rows;
        }
        assert_eq!(written, 120);
        let copy = read_back(&bootstrap, topic).await;
        assert_eq!(
            by_partition(copy.iter().map(|row| (row.partition(), as_read(row)))),
            by_partition(original.iter().map(|row| (row.partition(), as_read(row)))),
            "{layout:?}"
        );
    }
}

pub(crate) async fn micro_batches_of_a_read(bootstrap: String) {
    create(&bootstrap, &[("sink-batch-in", 2), ("sink-batch-out", 2)]).await;
    let rows = (0..40).map(|i| {
        SinkRow::new()
            .key(format!("k{i}"))
            .value(format!("v{i}"))
            .partition(i % 2)
            .header("i", Some(i.to_string()))
    });
    sink(&bootstrap, &[("topic", "sink-batch-in")])
        .write(rows)
        .await
        .unwrap();
    let out = sink(&bootstrap, &[("topic", "sink-batch-out")]);
    let batch = source(&bootstrap, "sink-batch-in")
        .await
        .rows()
        .await
        .unwrap();
    assert_eq!(out.write_micro_batch(0, batch).await.unwrap().rows, 40);
    let copy = read_back(&bootstrap, "sink-batch-out").await;
    let original = read_back(&bootstrap, "sink-batch-in").await;
    assert_eq!(
        by_partition(copy.iter().map(|row| (row.partition(), as_read(row)))),
        by_partition(original.iter().map(|row| (row.partition(), as_read(row))))
    );
    // The batch run again (as after a crash before its commit): its rows
    // are written again. At-least-once.
    let again = stream::iter(original.clone().into_iter().map(Ok::<_, Infallible>));
    assert_eq!(out.write_micro_batch(0, again).await.unwrap().rows, 40);
    let copy = read_back(&bootstrap, "sink-batch-out").await;
    let mut counts: BTreeMap<Option<Bytes>, usize> = BTreeMap::new();
    for row in &copy {
        *counts.entry(row.value().cloned()).or_default() += 1;
    }
    assert_eq!(counts.len(), 40);
    assert!(counts.values().all(|n| *n == 2), "{counts:?}");
}

pub(crate) async fn errors_at_run_time(bootstrap: String) {
    create(&bootstrap, &[("sink-errors", 2)]).await;
    let rows = [
        SinkRow::new()
            .topic("sink-errors")
            .value("first")
            .partition(0),
        SinkRow::new().value("no topic"),
        SinkRow::new()
            .topic("sink-errors")
            .value("never")
            .partition(0),
    ];
    let err = sink(&bootstrap, &[]).write(rows).await.unwrap_err();
    assert!(matches!(err, SinkError::NullTopic { row: 1 }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "The Kafka message data sent to the producer contains a null topic. Use the `topic` \
         option for setting a default topic."
    );
    let rows = [
        SinkRow::new().value("second").partition(1),
        SinkRow::new().value("nowhere").partition(2),
    ];
    let err = sink(&bootstrap, &[("topic", "sink-errors")])
        .write(rows)
        .await
        .unwrap_err();
    assert!(matches!(err, SinkError::Send { row: 1, .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(
            "writing row 1 to Kafka failed: sink-errors-2: unknown topic or partition"
        ),
        "{text}"
    );
    let read = read_back(&bootstrap, "sink-errors").await;
    let values: Vec<&[u8]> = read
        .iter()
        .map(|row| row.value().unwrap().as_ref())
        .collect();
    assert_eq!(
        values,
        [&b"first"[..], &b"second"[..]],
        "rows before each failure are written"
    );
}

pub(crate) async fn a_streaming_query_writes_through_the_sink(bootstrap: String) {
    create(&bootstrap, &[("sink-query-in", 3), ("sink-query-out", 3)]).await;
    let rows: Vec<SinkRow> = (0..90).map(|i| varied_row(i, 3)).collect();
    sink(&bootstrap, &[("topic", "sink-query-in")])
        .write(rows)
        .await
        .unwrap();
    let checkpoint = std::env::temp_dir().join(format!(
        "ferrokafka-sink-query-{}-{}",
        std::process::id(),
        BASE_TS
    ));
    let _ = std::fs::remove_dir_all(&checkpoint);
    let settings = SourceOptions::from_pairs([
        ("kafka.bootstrap.servers", bootstrap.as_str()),
        ("subscribe", "sink-query-in"),
        ("startingOffsets", "earliest"),
        ("maxOffsetsPerTrigger", "40"),
        ("includeHeaders", "true"),
    ])
    .streaming()
    .unwrap();
    let query = StreamingQuery::builder(settings, checkpoint.as_path())
        .trigger(Trigger::AvailableNow)
        .start(sink(&bootstrap, &[("topic", "sink-query-out")]))
        .await
        .unwrap();
    let outcome = query.await_termination().await.unwrap();
    assert_eq!(
        outcome.termination,
        Termination::Finished(StopReason::AllAvailableDataProcessed)
    );
    // 90 offsets, 40 a batch: 40 + 40 + 10.
    assert_eq!((outcome.batches_committed, outcome.rows), (3, 90));
    for file in ["offsets/2", "commits/2"] {
        assert!(checkpoint.join(file).is_file(), "{file}");
    }
    let copy = read_back(&bootstrap, "sink-query-out").await;
    let original = read_back(&bootstrap, "sink-query-in").await;
    assert_eq!(
        by_partition(copy.iter().map(|row| (row.partition(), as_read(row)))),
        by_partition(original.iter().map(|row| (row.partition(), as_read(row))))
    );
    std::fs::remove_dir_all(&checkpoint).unwrap();
}
