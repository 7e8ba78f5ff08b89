//! Shared helpers for the client tests (Nisshi and the fake cluster).
#![allow(dead_code, unreachable_pub)]

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokafka::admin::NewTopic;
use ferrokafka::Compression;
use ferrokafka::{Client, ClientConfig, TopicPartition};
use ferrokafka_protocol::messages::produce_request::{PartitionProduceData, TopicProduceData};
use ferrokafka_protocol::messages::{ProduceRequest, TopicName};
use ferrokafka_protocol::record::BatchBuilder;
use ferrokafka_protocol::StrBytes;
use ferrokafka_tests::Nisshi;

pub mod security;

pub async fn client(broker: &Nisshi) -> Client {
    client_for(&broker.bootstrap()).await
}

/// A client of the broker(s) at `bootstrap` (either backend).
pub async fn client_for(bootstrap: &str) -> Client {
    let config = ClientConfig::builder()
        .bootstrap_servers(bootstrap)
        .client_id("ferrokafka-tests")
        .fetch_max_wait(Duration::from_millis(100))
        .build()
        .unwrap();
    Client::connect(config)
        .await
        .unwrap_or_else(|e| panic!("connect to {bootstrap}: {e}"))
}

/// A client of `bootstrap` that has created `topic` with `partitions`
/// partitions (one replica).
pub async fn client_with_topic(bootstrap: &str, topic: &str, partitions: i32) -> Client {
    let client = client_for(bootstrap).await;
    client
        .admin()
        .create_topic(NewTopic::new(topic, partitions, 1))
        .await
        .unwrap_or_else(|e| panic!("create {topic}: {e}"));
    client
}

/// Sends one record batch to the partition's leader; returns its base offset.
pub async fn produce(client: &Client, tp: &TopicPartition, batch: Bytes) -> i64 {
    let conn = client
        .leader_connection(tp)
        .await
        .expect("leader connection");
    let request = ProduceRequest::default()
        .with_acks(-1)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![TopicProduceData::default()
            .with_name(TopicName(StrBytes::from_string(tp.topic.to_string())))
            .with_partition_data(vec![PartitionProduceData::default()
                .with_index(tp.partition)
                .with_records(Some(batch))])]);
    let response = conn.send(&request).await.expect("produce");
    let p = &response.responses[0].partition_responses[0];
    assert_eq!(p.error_code, 0, "produce to {tp}: {p:?}");
    p.base_offset
}

/// Produces `count` records in batches of `per_batch` with values
/// `v<offset>` and timestamps `base_ts + offset`.
pub async fn produce_values(
    client: &Client,
    tp: &TopicPartition,
    count: i64,
    per_batch: i64,
    base_ts: i64,
    compression: Compression,
) {
    let mut next = 0;
    while next < count {
        let n = per_batch.min(count - next);
        let mut builder = BatchBuilder::new(compression);
        for o in next..next + n {
            let key = format!("k{o}");
            let value = format!("v{o}");
            builder.append(
                base_ts + o,
                Some(key.as_bytes()),
                Some(value.as_bytes()),
                &[("h", Some(b"x"))],
            );
        }
        let mut out = BytesMut::new();
        builder.finish(&mut out).unwrap();
        let base = produce(client, tp, out.freeze()).await;
        assert_eq!(base, next, "{tp}: batches land at the expected offsets");
        next += n;
    }
}
