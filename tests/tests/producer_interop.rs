//! The producer against librdkafka (PyPI confluent-kafka in `.venv`):
//! records ferrokafka produces with each codec (zstd at its default level,
//! at 1, 3 and 4, the strongest its encoder has, at 19, which is written as
//! 4, and at -5), headers, null keys and null values are read back by
//! librdkafka byte-exact; keyed records land
//! where librdkafka's `murmur2_random` partitioner puts them.
//!
//! Needs the virtualenv that .ci/run makes:
//!   python3 -m venv .venv && .venv/bin/pip install confluent-kafka==2.16.1
//! Without it the tests are compiled as ignored, with that reason; under
//! `CI=true` they run and fail, naming what is missing (see tests/build.rs).

mod common;

use std::time::Duration;

use bytes::Bytes;
use ferrokafka::admin::NewTopic;
use ferrokafka::producer::partitioner::partition_for_key;
use ferrokafka::producer::{Producer, ProducerConfig, ProducerRecord};
use ferrokafka_tests::{interop, Nisshi};

/// `compression.type` and, where set, `compression.<codec>.level`: one
/// partition each.
const CODECS: [(&str, Option<&str>); 10] = [
    ("none", None),
    ("gzip", None),
    ("snappy", None),
    ("lz4", None),
    ("zstd", None),
    ("zstd", Some("1")),
    ("zstd", Some("3")),
    ("zstd", Some("4")),
    ("zstd", Some("19")),
    ("zstd", Some("-5")),
];

/// Runs consume_confluent.py with `args`; returns what it printed.
async fn run_python(args: Vec<String>) -> String {
    interop::run_script("consume_confluent.py", args).await
}

fn hx(data: Option<&[u8]>) -> String {
    match data {
        None => "-".to_owned(),
        Some(d) => d.iter().map(|b| format!("{b:02x}")).collect(),
    }
}

fn record(partition: i32, i: i64) -> ProducerRecord {
    let mut r = ProducerRecord::new("to-librdkafka")
        .partition(partition)
        .timestamp(1_650_000_000_000 + i * 7);
    if i % 4 != 1 {
        r = r.key(format!("k{partition}-{i}"));
    }
    if i % 6 != 2 {
        r = r.value(Bytes::from(
            (0..(i * 37 % 500))
                .map(|j| (i + j) as u8)
                .collect::<Vec<u8>>(),
        ));
    }
    match i % 3 {
        0 => r
            .header("dup", Some("a"))
            .header("dup", Some("b"))
            .header("null", None::<Bytes>),
        1 => r.header("bin", Some(Bytes::from(vec![0u8, 255, 7]))),
        _ => r,
    }
}

fn expected_line(partition: i32, offset: i64, r: &ProducerRecord) -> String {
    let headers: Vec<String> = r
        .headers
        .iter()
        .map(|(k, v)| format!("{}={}", hx(Some(k.as_bytes())), hx(v.as_deref())))
        .collect();
    format!(
        "{partition}\t{offset}\t{}\t{}\t{}\t{}",
        r.timestamp.unwrap(),
        hx(r.key.as_deref()),
        hx(r.value.as_deref()),
        headers.join(",")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    interop_peer_missing,
    ignore = "the librdkafka peer (.venv with confluent-kafka) was missing when these tests were built: run `bash .ci/run`, or `python3 -m venv .venv && .venv/bin/pip install confluent-kafka==2.16.1` from the workspace root, then `touch tests/build.rs`"
)]
async fn librdkafka_reads_every_codec_byte_exact() {
    // Fails, saying what to install, when the peer is missing at run time.
    interop::require_peer();
    let broker = Nisshi::start();
    let partitions = CODECS.len() as i32;
    let client = common::client_with_topic(&broker.bootstrap(), "to-librdkafka", partitions).await;
    let per_partition = 120;
    let mut expected = Vec::new();
    for (partition, &(codec, level)) in CODECS.iter().enumerate() {
        let partition = partition as i32;
        let mut config = ProducerConfig::default()
            .with("compression.type", codec)
            .unwrap()
            .with("batch.size", "8000")
            .unwrap();
        if let Some(level) = level {
            config = config
                .with(&format!("compression.{codec}.level"), level)
                .unwrap();
        }
        let producer = Producer::new(client.clone(), config).await.unwrap();
        let mut deliveries = Vec::new();
        for i in 0..per_partition {
            let r = record(partition, i);
            expected.push(expected_line(partition, i, &r));
            deliveries.push(producer.send(r).await.unwrap());
        }
        // A large, compressible value too.
        let big = ProducerRecord::new("to-librdkafka")
            .partition(partition)
            .timestamp(1_650_000_099_999)
            .key("big")
            .value(Bytes::from(b"abcdefgh".repeat(20_000)));
        expected.push(expected_line(partition, per_partition, &big));
        deliveries.push(producer.send(big).await.unwrap());
        for (i, d) in deliveries.into_iter().enumerate() {
            assert_eq!(d.await.unwrap().offset, i as i64, "{codec} {level:?}");
        }
        producer.close(Duration::from_secs(30)).await.unwrap();
    }
    let out = run_python(vec![
        "read".into(),
        broker.bootstrap(),
        "to-librdkafka".into(),
        partitions.to_string(),
        expected.len().to_string(),
    ])
    .await;
    let mut got: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
    got.sort_by_key(|l| {
        let mut f = l.split('\t');
        let p: i32 = f.next().unwrap().parse().unwrap();
        let o: i64 = f.next().unwrap().parse().unwrap();
        (p, o)
    });
    assert_eq!(got.len(), expected.len());
    for (g, e) in got.iter().zip(&expected) {
        assert_eq!(g, e);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    interop_peer_missing,
    ignore = "the librdkafka peer (.venv with confluent-kafka) was missing when these tests were built: run `bash .ci/run`, or `python3 -m venv .venv && .venv/bin/pip install confluent-kafka==2.16.1` from the workspace root, then `touch tests/build.rs`"
)]
async fn keys_land_where_librdkafka_murmur2_random_puts_them() {
    // Fails, saying what to install, when the peer is missing at run time.
    interop::require_peer();
    let broker = Nisshi::start();
    let client = common::client(&broker).await;
    let partitions = 13;
    client
        .admin()
        .create_topic(NewTopic::new("keys", partitions, 1))
        .await
        .unwrap();
    let out = run_python(vec![
        "partition".into(),
        broker.bootstrap(),
        "keys".into(),
        "10000".into(),
        "20251125".into(),
    ])
    .await;
    let mut checked = 0;
    for line in out.lines().filter(|l| !l.is_empty()) {
        let (key_hex, partition) = line.split_once('\t').unwrap();
        let key: Vec<u8> = (0..key_hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&key_hex[i..i + 2], 16).unwrap())
            .collect();
        let partition: i32 = partition.parse().unwrap();
        assert_eq!(
            partition_for_key(&key, partitions),
            partition,
            "key {key_hex}"
        );
        checked += 1;
    }
    assert_eq!(checked, 10_000);
}
