//! Measures the resident memory of the ranged reader while its consumer is
//! slow: 6 partitions holding 1 GiB in total are read through one
//! `Client::read` whose consumer sleeps between records, and the process's
//! VmRSS is sampled every 50 ms.
//!
//! With `RSS_READ=batch` the same data is read as a Spark-style batch
//! query instead: `ferrokafka_streaming`'s `BatchSource` with
//! `minPartitions=12`, so 12 tasks over the 6 partitions, each its own
//! `Client::read` of the one client, all at once.
//!
//! Run (release): cargo run -p ferrokafka-tests --release --example reader_rss
//! Options (env): RSS_TOTAL_MIB (default 1024), RSS_SLEEP_EVERY (records
//! between 1 ms sleeps, default 8), RSS_READ (`client`, the default, or
//! `batch`).
//!
//! The data is produced by a child process (this binary with `produce`),
//! so the producer's allocations do not count against the reader.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ferrokafka::admin::NewTopic;
use ferrokafka::Compression;
use ferrokafka::{Client, ClientConfig, ReadRange, TopicPartition};
use ferrokafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use ferrokafka_protocol::messages::{ProduceRequest, TopicName};
use ferrokafka_protocol::record::BatchBuilder;
use ferrokafka_protocol::StrBytes;
use futures::stream::BoxStream;
use futures::StreamExt;

const PARTITIONS: i32 = 6;
const VALUE: usize = 16 * 1024;
const PER_BATCH: usize = 32; // 512 KiB batches

fn status(field: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse().ok())
        .unwrap_or(0)
}

async fn connect(bootstrap: &str) -> Client {
    let config = ClientConfig::builder()
        .bootstrap_servers(bootstrap)
        .build()
        .unwrap();
    Client::connect(config).await.unwrap()
}

async fn produce(bootstrap: &str, records_per_partition: usize) {
    let client = connect(bootstrap).await;
    let mut tasks = Vec::new();
    for p in 0..PARTITIONS {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let tp = TopicPartition::new("rss", p);
            let conn = client.leader_connection(&tp).await.unwrap();
            let mut value = vec![0u8; VALUE];
            let mut seed = 0x9E37_79B9_7F4A_7C15u64 ^ p as u64;
            let mut written = 0;
            let mut builder = BatchBuilder::new(Compression::None);
            while written < records_per_partition {
                for _ in 0..PER_BATCH.min(records_per_partition - written) {
                    for chunk in value.chunks_mut(8) {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        chunk.copy_from_slice(&seed.to_le_bytes()[..chunk.len()]);
                    }
                    builder.append(written as i64, None, Some(&value), &[]);
                    written += 1;
                }
                let mut out = BytesMut::new();
                builder.finish(&mut out).unwrap();
                let request = ProduceRequest::default()
                    .with_acks(1)
                    .with_timeout_ms(30_000)
                    .with_topic_data(vec![TopicProduceData::default()
                        .with_name(TopicName(StrBytes::from_static_str("rss")))
                        .with_partition_data(vec![PartitionProduceData::default()
                            .with_index(p)
                            .with_records(Some(out.freeze()))])]);
                let response = conn.send(&request).await.unwrap();
                assert_eq!(response.responses[0].partition_responses[0].error_code, 0);
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

#[tokio::main]
async fn main() {
    let total_mib: usize = std::env::var("RSS_TOTAL_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let sleep_every: usize = std::env::var("RSS_SLEEP_EVERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(8);
    let records_per_partition = total_mib * 1024 * 1024 / VALUE / PARTITIONS as usize;
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("produce") {
        produce(&args[2], records_per_partition).await;
        return;
    }

    let broker = ferrokafka_tests::Nisshi::start();
    let client = connect(&broker.bootstrap()).await;
    client
        .admin()
        .create_topic(NewTopic::new("rss", PARTITIONS, 1))
        .await
        .unwrap();
    let started = Instant::now();
    let status_code = std::process::Command::new(std::env::current_exe().unwrap())
        .arg("produce")
        .arg(broker.bootstrap())
        .status()
        .unwrap();
    assert!(status_code.success());
    println!(
        "produced {} MiB ({} records of {} KiB in {} partitions) in {:.1} s",
        records_per_partition * PARTITIONS as usize * VALUE / (1024 * 1024),
        records_per_partition * PARTITIONS as usize,
        VALUE / 1024,
        PARTITIONS,
        started.elapsed().as_secs_f64()
    );

    let rss_before = status("VmRSS:");
    let max_rss = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let sampler = {
        let max_rss = std::sync::Arc::clone(&max_rss);
        tokio::spawn(async move {
            loop {
                max_rss.fetch_max(status("VmRSS:"), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        })
    };
    let batch = std::env::var("RSS_READ").is_ok_and(|mode| mode == "batch");
    let started = Instant::now();
    let mut values: BoxStream<'_, Option<Bytes>> = if batch {
        let options = ferrokafka_streaming::options::SourceOptions::from_pairs([
            ("kafka.bootstrap.servers", broker.bootstrap().as_str()),
            ("subscribe", "rss"),
            ("minPartitions", "12"),
        ]);
        let source =
            ferrokafka_streaming::batch::BatchSource::new(options.batch().unwrap(), client.clone());
        let plan = source.plan().await.unwrap();
        println!(
            "batch read: {} tasks over {PARTITIONS} partitions",
            plan.tasks.len()
        );
        source
            .read(&plan)
            .map(|row| row.unwrap().value().cloned())
            .boxed()
    } else {
        let ranges = (0..PARTITIONS)
            .map(|p| ReadRange::new("rss", p, 0..records_per_partition as i64))
            .collect();
        client
            .read(ranges)
            .map(|record| record.unwrap().value)
            .boxed()
    };
    let mut count = 0usize;
    let mut bytes = 0usize;
    while let Some(value) = values.next().await {
        bytes += value.as_ref().map_or(0, |v| v.len());
        count += 1;
        if count.is_multiple_of(sleep_every) {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        if count.is_multiple_of(256) {
            max_rss.fetch_max(status("VmRSS:"), std::sync::atomic::Ordering::Relaxed);
        }
    }
    drop(values);
    let elapsed = started.elapsed();
    sampler.abort();
    let peak = max_rss
        .load(std::sync::atomic::Ordering::Relaxed)
        .max(status("VmRSS:"));
    assert_eq!(count, records_per_partition * PARTITIONS as usize);
    println!(
        "read {count} records, {:.0} MiB in {:.1} s ({:.0} MiB/s, consumer sleeping 1 ms every {sleep_every} records)",
        bytes as f64 / 1048576.0,
        elapsed.as_secs_f64(),
        bytes as f64 / 1048576.0 / elapsed.as_secs_f64()
    );
    println!(
        "VmRSS before reading: {:.1} MiB; peak VmRSS while reading: {:.1} MiB; VmHWM (whole run): {:.1} MiB; fetch.buffer.max.bytes: {} MiB",
        rss_before as f64 / 1024.0,
        peak as f64 / 1024.0,
        status("VmHWM:") as f64 / 1024.0,
        client.config().fetch_buffer_max_bytes() >> 20
    );
}
