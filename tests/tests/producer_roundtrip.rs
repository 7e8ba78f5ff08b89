//! The producer on both backends (Nisshi and the fake cluster): every
//! codec with headers, null keys and null values read back byte-exact by
//! the client's reader; keyed records on the Java partition; explicit
//! partitions honoured; flush and close; typed errors for bad records.

mod common;

use std::time::Duration;

use bytes::Bytes;
use ferrokafka::admin::NewTopic;
use ferrokafka::producer::partitioner::partition_for_key;
use ferrokafka::producer::{Producer, ProducerConfig, ProducerRecord, WriteStatus};
use ferrokafka::{Client, ErrorKind, ReadRange, Record};
use ferrokafka_tests::backend::Backend;
use ferrokafka_tests::on_both_backends_async;
use futures::StreamExt;

async fn read_all(client: &Client, topic: &str, partition: i32, end: i64) -> Vec<Record> {
    let mut stream = client.read(vec![ReadRange::new(topic, partition, 0..end)]);
    let mut records = Vec::new();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(60), stream.next())
        .await
        .expect("the reader stalled")
    {
        records.push(item.expect("read"));
    }
    records
}

fn record_for(topic: &str, i: usize) -> ProducerRecord {
    let mut r = ProducerRecord::new(topic)
        .partition(0)
        .timestamp(1_700_000_000_000 + i as i64);
    // Null keys and values every few records; binary bytes elsewhere.
    if !i.is_multiple_of(3) {
        r = r.key(Bytes::from(format!("key-{i}\u{0}\u{ff}").into_bytes()));
    }
    if !i.is_multiple_of(5) {
        r = r.value(Bytes::from(
            (0..(i % 200) as u8)
                .chain([0xff, 0, 7])
                .collect::<Vec<u8>>(),
        ));
    }
    r.header("h1", Some(format!("v{i}")))
        .header("null", None::<Bytes>)
        .header("h1", Some(Bytes::new()))
}

async fn every_codec_round_trips_byte_exact(backend: &Backend) {
    let client = common::client_for(&backend.bootstrap()).await;
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("produce-{codec}");
        client
            .admin()
            .create_topic(NewTopic::new(&topic, 1, 1))
            .await
            .unwrap();
        let config = ProducerConfig::default()
            .with("compression.type", codec)
            .unwrap()
            .with("batch.size", "4000")
            .unwrap();
        let producer = Producer::new(client.clone(), config).await.unwrap();
        assert!(producer.producer_id().is_some(), "idempotent by default");
        let count = 300;
        let mut deliveries = Vec::new();
        for i in 0..count {
            deliveries.push(producer.send(record_for(&topic, i)).await.unwrap());
        }
        for (i, d) in deliveries.into_iter().enumerate() {
            let meta = d
                .await
                .unwrap_or_else(|e| panic!("{codec} record {i}: {e}"));
            assert_eq!(meta.offset, i as i64, "{codec}: offsets follow send order");
            assert_eq!(meta.partition, 0);
        }
        producer.close(Duration::from_secs(30)).await.unwrap();
        let records = read_all(&client, &topic, 0, count as i64).await;
        assert_eq!(records.len(), count, "{codec}");
        for (i, got) in records.iter().enumerate() {
            let want = record_for(&topic, i);
            assert_eq!(got.offset, i as i64);
            assert_eq!(got.key, want.key, "{codec} key {i}");
            assert_eq!(got.value, want.value, "{codec} value {i}");
            assert_eq!(got.timestamp, want.timestamp.unwrap());
            let headers: Vec<(Bytes, Option<Bytes>)> = got
                .headers
                .iter()
                .map(|h| (h.key.clone(), h.value.clone()))
                .collect();
            let want_headers: Vec<(Bytes, Option<Bytes>)> = want
                .headers
                .iter()
                .map(|(k, v)| (Bytes::from(k.clone()), v.clone()))
                .collect();
            assert_eq!(headers, want_headers, "{codec} headers {i}");
        }
    }
}

async fn keyed_records_land_on_the_java_partition(backend: &Backend) {
    let client = common::client_with_topic(&backend.bootstrap(), "keyed", 7).await;
    let producer = Producer::new(client.clone(), ProducerConfig::default())
        .await
        .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..500 {
        let key = format!("user-{i}");
        let d = producer
            .send(ProducerRecord::new("keyed").key(key.clone()).value("x"))
            .await
            .unwrap();
        deliveries.push((key, d));
    }
    // Null keys spread over partitions but every record lands somewhere valid.
    let mut null_key = Vec::new();
    for _ in 0..200 {
        null_key.push(
            producer
                .send(ProducerRecord::new("keyed").value("n"))
                .await
                .unwrap(),
        );
    }
    // An explicit partition wins over the key.
    let explicit = producer
        .send(ProducerRecord::new("keyed").key("user-1").partition(6))
        .await
        .unwrap();
    producer.flush().await;
    for (key, d) in deliveries {
        let meta = d.await.unwrap();
        assert_eq!(
            meta.partition,
            partition_for_key(key.as_bytes(), 7),
            "{key}"
        );
    }
    for d in null_key {
        assert!((0..7).contains(&d.await.unwrap().partition));
    }
    assert_eq!(explicit.await.unwrap().partition, 6);
}

async fn bad_records_get_typed_errors(backend: &Backend) {
    let client = common::client_with_topic(&backend.bootstrap(), "small", 2).await;
    let config = ProducerConfig::default()
        .with("max.request.size", "1000")
        .unwrap()
        .with("max.block.ms", "2000")
        .unwrap();
    let producer = Producer::new(client.clone(), config).await.unwrap();
    let err = producer
        .send(ProducerRecord::new("small").value(vec![0u8; 5000]))
        .await
        .unwrap_err();
    assert_eq!(err.status, WriteStatus::NotWritten);
    assert!(
        matches!(err.error.kind(), ErrorKind::InvalidArgument(_)),
        "{err}"
    );
    assert!(err.to_string().contains("max.request.size"), "{err}");
    let err = producer
        .send(ProducerRecord::new("small").value("x").partition(2))
        .await
        .unwrap_err();
    assert!(
        matches!(err.error.kind(), ErrorKind::UnknownTopicOrPartition),
        "{err}"
    );
    // A name the broker would refuse fails here, before any request.
    let err = producer
        .send(ProducerRecord::new("no such topic!").value("x"))
        .await
        .unwrap_err();
    assert_eq!(err.status, WriteStatus::NotWritten, "{err}");
    assert!(
        matches!(err.error.kind(), ErrorKind::InvalidArgument(_))
            && err.to_string().contains("not a valid topic name"),
        "{err}"
    );
    producer.close(Duration::from_secs(10)).await.unwrap();
    let err = producer
        .send(ProducerRecord::new("small").value("x"))
        .await
        .unwrap_err();
    assert!(matches!(err.error.kind(), ErrorKind::Shutdown), "{err}");
}

async fn a_missing_topic_is_created_by_the_first_send(backend: &Backend) {
    let client = common::client_for(&backend.bootstrap()).await;
    let producer = Producer::new(client.clone(), ProducerConfig::default())
        .await
        .unwrap();
    // As Java's producer: the Metadata request asks the broker to create
    // the topic, and the record is delivered once it has a leader.
    let delivered = producer
        .send(ProducerRecord::new("made-by-send").value("first"))
        .await
        .expect("the broker creates the topic")
        .await
        .expect("delivered");
    assert_eq!(delivered.offset, 0);
    let records = read_all(&client, "made-by-send", delivered.partition, 1).await;
    assert_eq!(records[0].value.as_deref(), Some(&b"first"[..]));
    if let Some(cluster) = backend.fake_cluster() {
        assert!(cluster.partition_state("made-by-send", 0).is_some());
    }
    producer.close(Duration::from_secs(10)).await.unwrap();
}

on_both_backends_async!(
    a_missing_topic_is_created_by_the_first_send,
    every_codec_round_trips_byte_exact,
    keyed_records_land_on_the_java_partition,
    bad_records_get_typed_errors,
);
