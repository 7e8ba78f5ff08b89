//! Records produced by librdkafka (PyPI confluent-kafka) with every codec,
//! headers with repeated keys and null values, null keys and values and
//! explicit timestamps, read back by our reader byte for byte, in order.
//!
//! Needs the virtualenv that .ci/run makes:
//!   python3 -m venv .venv && .venv/bin/pip install confluent-kafka==2.16.1
//! Without it the test is compiled as ignored, with that reason; under
//! `CI=true` it runs and fails, naming what is missing (see tests/build.rs).

mod common;

use ferrokafka::Compression;
use ferrokafka::ReadRange;
use ferrokafka::{Client, TopicPartition};
use ferrokafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use ferrokafka_protocol::messages::{BrokerId, FetchRequest, TopicName};
use ferrokafka_protocol::record::{BatchDecoder, TimestampType};
use ferrokafka_protocol::StrBytes;
use ferrokafka_tests::{interop, Nisshi};
use futures::StreamExt;

struct Expected {
    partition: i32,
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s == "-" {
        return None;
    }
    Some(
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
            .collect(),
    )
}

fn parse(line: &str) -> Expected {
    let f: Vec<&str> = line.split('\t').collect();
    assert_eq!(f.len(), 5, "{line}");
    Expected {
        partition: f[0].parse().unwrap(),
        timestamp: f[1].parse().unwrap(),
        key: unhex(f[2]),
        value: unhex(f[3]),
        headers: if f[4].is_empty() {
            Vec::new()
        } else {
            f[4].split(',')
                .map(|h| {
                    let (k, v) = h.split_once('=').unwrap();
                    (unhex(k).unwrap(), unhex(v))
                })
                .collect()
        },
    }
}

#[tokio::test]
#[cfg_attr(
    interop_peer_missing,
    ignore = "the librdkafka peer (.venv with confluent-kafka) was missing when these tests were built: run `bash .ci/run`, or `python3 -m venv .venv && .venv/bin/pip install confluent-kafka==2.16.1` from the workspace root, then `touch tests/build.rs`"
)]
async fn reads_librdkafka_records_byte_exact() {
    // Fails, saying what to install, when the peer is missing at run time.
    interop::require_peer();
    let broker = Nisshi::start();
    let client = common::client_with_topic(&broker.bootstrap(), "interop", 5).await;

    let output = interop::run_script(
        "produce_confluent.py",
        vec![broker.bootstrap(), "interop".into()],
    )
    .await;
    let expected: Vec<Expected> = output
        .lines()
        .filter(|l| !l.is_empty())
        .map(parse)
        .collect();

    for partition in 0..5 {
        let want: Vec<&Expected> = expected
            .iter()
            .filter(|e| e.partition == partition)
            .collect();
        assert!(want.len() > 40, "partition {partition}");
        let mut stream = client.read(vec![ReadRange::new(
            "interop",
            partition,
            0..want.len() as i64,
        )]);
        let mut got = Vec::new();
        while let Some(r) = stream.next().await {
            got.push(r.unwrap());
        }
        assert_eq!(got.len(), want.len(), "partition {partition}");
        for (i, (r, e)) in got.iter().zip(&want).enumerate() {
            let at = format!("partition {partition} record {i}");
            assert_eq!(r.offset, i as i64, "{at}");
            assert_eq!(r.timestamp, e.timestamp, "{at}");
            assert_eq!(r.timestamp_type, TimestampType::CreateTime, "{at}");
            assert_eq!(r.key.as_deref(), e.key.as_deref(), "{at}");
            assert_eq!(r.value.as_deref(), e.value.as_deref(), "{at}");
            let headers: Vec<(Vec<u8>, Option<Vec<u8>>)> = r
                .headers
                .iter()
                .map(|h| (h.key.to_vec(), h.value.as_ref().map(|v| v.to_vec())))
                .collect();
            assert_eq!(headers, e.headers, "{at}");
        }
        // The codec really was used: look at the stored batches.
        let codecs = stored_codecs(&client, partition).await;
        assert_eq!(
            codecs,
            vec![Compression::ALL[partition as usize]],
            "partition {partition}"
        );
    }
}

/// The distinct codecs of the batches stored in a partition.
async fn stored_codecs(client: &Client, partition: i32) -> Vec<Compression> {
    let conn = client
        .leader_connection(&TopicPartition::new("interop", partition))
        .await
        .unwrap();
    let request = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_bytes(50 << 20)
        .with_min_bytes(1)
        .with_max_wait_ms(100)
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("interop")))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(0)
                .with_current_leader_epoch(-1)
                .with_last_fetched_epoch(-1)
                .with_log_start_offset(-1)
                .with_partition_max_bytes(50 << 20)])]);
    let response = conn.send(&request).await.unwrap();
    assert!(!response.responses.is_empty(), "{response:?}");
    let records = response.responses[0].partitions[0].records.clone().unwrap();
    let mut codecs = Vec::new();
    for batch in BatchDecoder::new(records) {
        let codec = batch.unwrap().compression().unwrap();
        if !codecs.contains(&codec) {
            codecs.push(codec);
        }
    }
    codecs
}
