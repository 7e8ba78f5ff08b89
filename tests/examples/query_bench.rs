//! Measures the streaming query against Nisshi:
//!
//! 1. per-batch overhead: a query over a 1-partition topic with
//!    `maxOffsetsPerTrigger=1` whose handler reads nothing, so each batch is
//!    only the listing and latest-offset lookups, planning, `offsets/N`,
//!    `commits/N`, purge and progress; the time between consecutive
//!    `Planning` phases, median and p99, with a local checkpoint directory
//!    (fsync'd writes) and with an in-memory one;
//! 2. throughput: 6 partitions × `QUERY_BENCH_RECORDS` (default 1 000 000)
//!    records of 100 bytes read by a streaming query (`AvailableNow`, one
//!    batch, a handler that takes every row and drops it) and by a batch
//!    query (`BatchSource`, the same rows); the two alternate for
//!    `QUERY_BENCH_ROUNDS` rounds (default 3), medians printed.
//!
//! Run (release): cargo run -p ferrokafka-tests --release --example query_bench

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::BytesMut;
use ferrokafka::admin::NewTopic;
use ferrokafka::Compression;
use ferrokafka::{Client, ClientConfig, TopicPartition};
use ferrokafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use ferrokafka_protocol::messages::{ProduceRequest, TopicName};
use ferrokafka_protocol::record::BatchBuilder;
use ferrokafka_protocol::StrBytes;
use ferrokafka_streaming::batch::BatchSource;
use ferrokafka_streaming::checkpoint::MemoryCheckpoint;
use ferrokafka_streaming::options::SourceOptions;
use ferrokafka_streaming::query::{CheckpointLocation, MicroBatch, QueryPhase, StreamingQuery};
use ferrokafka_streaming::trigger::Trigger;
use ferrokafka_streaming::SourceError;
use ferrokafka_tests::TempDir;
use futures::TryStreamExt;

const PARTITIONS: i32 = 6;
const VALUE: usize = 100;
const PER_BATCH: usize = 1_000;
const OVERHEAD_BATCHES: usize = 500;

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn connect(bootstrap: &str) -> Client {
    let config = ClientConfig::builder()
        .bootstrap_servers(bootstrap)
        .build()
        .unwrap();
    Client::connect(config).await.unwrap()
}

/// Writes `per_partition` records of [`VALUE`] bytes to each of
/// `partitions` partitions of `topic`, straight as produce requests.
async fn produce(client: &Client, topic: &'static str, partitions: i32, per_partition: usize) {
    client
        .admin()
        .create_topic(NewTopic::new(topic, partitions, 1))
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for p in 0..partitions {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let tp = TopicPartition::new(topic, p);
            let conn = client.leader_connection(&tp).await.unwrap();
            let value = vec![b'x'; VALUE];
            let mut written = 0;
            let mut builder = BatchBuilder::new(Compression::None);
            while written < per_partition {
                for _ in 0..PER_BATCH.min(per_partition - written) {
                    builder.append(written as i64, None, Some(&value), &[]);
                    written += 1;
                }
                let mut out = BytesMut::new();
                builder.finish(&mut out).unwrap();
                let request = ProduceRequest::default()
                    .with_acks(1)
                    .with_timeout_ms(30_000)
                    .with_topic_data(vec![TopicProduceData::default()
                        .with_name(TopicName(StrBytes::from_static_str(topic)))
                        .with_partition_data(vec![PartitionProduceData::default()
                            .with_index(p)
                            .with_records(Some(out.freeze()))])]);
                let response = conn.send(&request).await.unwrap();
                assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
}

fn options(bootstrap: &str, pairs: &[(&str, &str)]) -> SourceOptions {
    let mut options = SourceOptions::from_pairs([
        ("kafka.bootstrap.servers", bootstrap),
        ("startingOffsets", "earliest"),
    ]);
    for (key, value) in pairs {
        options.set(*key, *value);
    }
    options
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    let index = ((sorted.len() - 1) as f64 * fraction).round() as usize;
    sorted[index]
}

/// Per-batch times of a query running `OVERHEAD_BATCHES` one-offset
/// batches whose handler reads nothing.
async fn overhead(
    client: &Client,
    bootstrap: &str,
    checkpoint: CheckpointLocation,
) -> Vec<Duration> {
    let settings = options(
        bootstrap,
        &[("subscribe", "overhead"), ("maxOffsetsPerTrigger", "1")],
    )
    .streaming()
    .unwrap();
    let planning: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let marks = Arc::clone(&planning);
    let query = StreamingQuery::builder(settings, checkpoint)
        .client(client.clone())
        .trigger(Trigger::AvailableNow)
        .on_phase(move |phase| {
            if let QueryPhase::Planning { .. } = phase {
                marks.lock().unwrap().push(Instant::now());
            }
        })
        .start(|batch: MicroBatch| async move {
            drop(batch);
            Ok::<_, SourceError>(())
        })
        .await
        .unwrap();
    let outcome = query.await_termination().await.unwrap();
    assert_eq!(outcome.batches_committed, OVERHEAD_BATCHES as u64);
    let marks = planning.lock().unwrap();
    let mut times: Vec<Duration> = marks.windows(2).map(|w| w[1] - w[0]).collect();
    times.sort_unstable();
    times
}

async fn stream_read(client: &Client, bootstrap: &str, expected: u64) -> Duration {
    let settings = options(bootstrap, &[("subscribe", "throughput")])
        .streaming()
        .unwrap();
    let started = Instant::now();
    let query = StreamingQuery::builder(settings, MemoryCheckpoint::new())
        .client(client.clone())
        .trigger(Trigger::AvailableNow)
        .start(|mut batch: MicroBatch| async move {
            while batch.rows().try_next().await?.is_some() {}
            Ok::<_, SourceError>(())
        })
        .await
        .unwrap();
    let progress = query.progress_handle();
    let outcome = query.await_termination().await.unwrap();
    let elapsed = started.elapsed();
    assert_eq!(outcome.rows, expected);
    if let Some(last) = progress.last() {
        println!("progress: {}", last.to_json());
    }
    elapsed
}

async fn batch_read(client: &Client, bootstrap: &str, expected: u64) -> Duration {
    let started = Instant::now();
    let settings = options(bootstrap, &[("subscribe", "throughput")])
        .batch()
        .unwrap();
    let source = BatchSource::new(settings, client.clone());
    let plan = source.plan().await.unwrap();
    let mut rows = source.read(&plan);
    let mut count = 0u64;
    while rows.try_next().await.unwrap().is_some() {
        count += 1;
    }
    let elapsed = started.elapsed();
    assert_eq!(count, expected);
    elapsed
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort_unstable();
    times[times.len() / 2]
}

#[tokio::main]
async fn main() {
    let records = env_or("QUERY_BENCH_RECORDS", 1_000_000);
    let rounds = env_or("QUERY_BENCH_ROUNDS", 3);
    let broker = ferrokafka_tests::Nisshi::start();
    let bootstrap = broker.bootstrap();
    let client = connect(&bootstrap).await;

    produce(&client, "overhead", 1, OVERHEAD_BATCHES).await;
    let dir = TempDir::new("query-bench");
    for (name, location) in [
        ("local directory", CheckpointLocation::from(dir.path())),
        (
            "in memory",
            CheckpointLocation::from(MemoryCheckpoint::new()),
        ),
    ] {
        let times = overhead(&client, &bootstrap, location).await;
        println!(
            "per-batch overhead, checkpoint {name}: median {:.2} ms, p99 {:.2} ms over {} batches",
            percentile(&times, 0.5).as_secs_f64() * 1000.0,
            percentile(&times, 0.99).as_secs_f64() * 1000.0,
            times.len()
        );
    }

    let started = Instant::now();
    produce(&client, "throughput", PARTITIONS, records).await;
    let total = records as u64 * PARTITIONS as u64;
    let mib = total as f64 * VALUE as f64 / 1_048_576.0;
    println!(
        "produced {PARTITIONS} × {records} × {VALUE} B ({mib:.0} MiB of values) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut streaming = Vec::new();
    let mut batch = Vec::new();
    for round in 0..rounds {
        let (first, second) = if round % 2 == 0 {
            let s = stream_read(&client, &bootstrap, total).await;
            (s, batch_read(&client, &bootstrap, total).await)
        } else {
            let b = batch_read(&client, &bootstrap, total).await;
            (stream_read(&client, &bootstrap, total).await, b)
        };
        println!(
            "round {round}: streaming query {:.2} s, batch read {:.2} s",
            first.as_secs_f64(),
            second.as_secs_f64()
        );
        streaming.push(first);
        batch.push(second);
    }
    let (streaming, batch) = (median(streaming), median(batch));
    let rate = |time: Duration| total as f64 / time.as_secs_f64();
    println!(
        "medians: streaming query {:.2} s ({:.0} rows/s, {:.0} MiB/s), batch read {:.2} s ({:.0} rows/s, {:.0} MiB/s): streaming at {:.0}% of batch",
        streaming.as_secs_f64(),
        rate(streaming),
        mib / streaming.as_secs_f64(),
        batch.as_secs_f64(),
        rate(batch),
        mib / batch.as_secs_f64(),
        100.0 * batch.as_secs_f64() / streaming.as_secs_f64()
    );
    drop(broker);
}
