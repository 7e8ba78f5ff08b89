//! The producer against the fake cluster's faults: a connection cut after
//! the broker appended (1 to 5 requests in flight) ends with every record
//! exactly once and retries that keep producer id, epoch and base
//! sequence; each sequence error gets its documented reaction; a broker
//! refusing idempotent writes gets an error that says what to do.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use ferrokafka::producer::{Producer, ProducerConfig, ProducerRecord, WriteStatus};
use ferrokafka::{Client, ReadRange};
use ferrokafka_fake::messages::{ApiKey, RequestKind};
use ferrokafka_fake::{FakeCluster, Fault, FaultAction, ProducedBatch, ResponseError};
use futures::StreamExt;

fn cluster(partitions: i32) -> FakeCluster {
    FakeCluster::builder()
        .topic("t", partitions)
        .build()
        .expect("start the fake cluster")
}

async fn producer(client: &Client, extra: &[(&str, &str)]) -> Producer {
    let mut config = ProducerConfig::default()
        .with("linger.ms", "20")
        .unwrap()
        .with("delivery.timeout.ms", "60000")
        .unwrap();
    for (k, v) in extra {
        config = config.with(k, v).unwrap();
    }
    Producer::new(client.clone(), config).await.unwrap()
}

async fn values_in(client: &Client, partition: i32) -> Vec<String> {
    let listed = client
        .admin()
        .list_offsets(
            &[(
                ferrokafka::TopicPartition::new("t", partition),
                ferrokafka::admin::OffsetSpec::Latest,
            )],
            ferrokafka::IsolationLevel::ReadUncommitted,
        )
        .await
        .unwrap();
    let end = listed[0].1.as_ref().unwrap().offset;
    let mut stream = client.read(vec![ReadRange::new("t", partition, 0..end)]);
    let mut out = Vec::new();
    while let Some(r) = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("reader stalled")
    {
        let r = r.unwrap();
        out.push(String::from_utf8(r.value.unwrap().to_vec()).unwrap());
    }
    out
}

fn batches(cluster: &FakeCluster) -> Vec<ProducedBatch> {
    cluster.produced_batches()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_after_append_ends_exactly_once_for_1_to_5_in_flight() {
    for in_flight in 1..=5u64 {
        let fake = cluster(5);
        let client = common::client_for(&fake.bootstrap()).await;
        let producer = producer(&client, &[("batch.size", "200")]).await;
        // The in_flight-th Produce request is appended, then the
        // connection drops without an answer; requests pipelined behind it
        // on the same connection are lost with it.
        let fault = fake.inject(
            Fault::on(ApiKey::Produce)
                .nth(in_flight)
                .action(FaultAction::CloseAfterApply),
        );
        let mut deliveries = Vec::new();
        for i in 0..200 {
            let p = i % 5;
            deliveries.push(
                producer
                    .send(
                        ProducerRecord::new("t")
                            .partition(p)
                            .value(format!("{p}-{i}")),
                    )
                    .await
                    .unwrap(),
            );
        }
        for d in deliveries {
            d.await.unwrap();
        }
        assert_eq!(fake.fault_hits(fault), 1, "in_flight={in_flight}");
        for p in 0..5 {
            let values = values_in(&client, p).await;
            let want: Vec<String> = (0..200)
                .filter(|i| i % 5 == p)
                .map(|i| format!("{p}-{i}"))
                .collect();
            assert_eq!(
                values, want,
                "in_flight={in_flight} partition {p}: exactly once, in order"
            );
        }
        // Every send of one (partition, base sequence) carries the same
        // producer id and epoch; at least one batch was sent twice.
        let mut seen: HashMap<(i32, i32), Vec<(i64, i16)>> = HashMap::new();
        for b in batches(&fake) {
            seen.entry((b.partition, b.base_sequence))
                .or_default()
                .push((b.producer_id, b.producer_epoch));
        }
        assert!(
            seen.values().any(|v| v.len() > 1),
            "in_flight={in_flight}: the cut batch was retried"
        );
        for (key, ids) in &seen {
            let distinct: HashSet<_> = ids.iter().collect();
            assert_eq!(distinct.len(), 1, "{key:?}: {ids:?}");
            assert!(ids[0].0 >= 0, "idempotent batches carry a producer id");
        }
        producer.close(Duration::from_secs(10)).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cut_after_append_with_five_batches_of_one_partition_in_flight() {
    for nth in 1..=5u64 {
        let fake = cluster(1);
        let client = common::client_for(&fake.bootstrap()).await;
        let producer = producer(&client, &[("batch.size", "200")]).await;
        let fault = fake.inject(
            Fault::on(ApiKey::Produce)
                .nth(nth)
                .action(FaultAction::CloseAfterApply),
        );
        let mut deliveries = Vec::new();
        for i in 0..300 {
            deliveries.push(
                producer
                    .send(ProducerRecord::new("t").partition(0).value(format!("v{i}")))
                    .await
                    .unwrap(),
            );
        }
        for (i, d) in deliveries.into_iter().enumerate() {
            assert_eq!(d.await.unwrap().offset, i as i64, "nth={nth}");
        }
        assert_eq!(fake.fault_hits(fault), 1);
        let want: Vec<String> = (0..300).map(|i| format!("v{i}")).collect();
        assert_eq!(values_in(&client, 0).await, want, "nth={nth}");
        // The cut batch was sent again with the same identity (requests
        // pipelined behind it died unread with the connection, so the fake
        // recorded only their resends).
        let mut sends: HashMap<i32, Vec<(i64, i16)>> = HashMap::new();
        for b in batches(&fake) {
            sends
                .entry(b.base_sequence)
                .or_default()
                .push((b.producer_id, b.producer_epoch));
        }
        assert!(sends.values().any(|v| v.len() > 1), "nth={nth}");
        for (seq, ids) in &sends {
            assert!(ids.iter().all(|id| *id == ids[0]), "{seq}: {ids:?}");
        }
    }
}

async fn one_record_with_fault(
    action: FaultAction,
) -> (
    FakeCluster,
    Client,
    Producer,
    Result<ferrokafka::producer::RecordMetadata, ferrokafka::producer::ProduceError>,
) {
    let fake = cluster(1);
    let client = common::client_for(&fake.bootstrap()).await;
    let producer = producer(&client, &[]).await;
    fake.inject(Fault::on(ApiKey::Produce).action(action));
    let result = producer
        .send(ProducerRecord::new("t").partition(0).value("first"))
        .await
        .unwrap()
        .await;
    (fake, client, producer, result)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_sequence_counts_as_success() {
    let (fake, _client, _producer, result) =
        one_record_with_fault(FaultAction::Error(ResponseError::DuplicateSequenceNumber)).await;
    let meta = result.expect("a duplicate is a success");
    assert_eq!(meta.partition, 0);
    assert_eq!(batches(&fake).len(), 1, "no retry after a duplicate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_on_the_oldest_batch_is_fatal() {
    let (fake, _client, producer, result) =
        one_record_with_fault(FaultAction::Error(ResponseError::OutOfOrderSequenceNumber)).await;
    let err = result.unwrap_err();
    assert_eq!(err.error.code(), Some(45), "{err}");
    assert!(err.to_string().contains("new producer"), "{err}");
    assert_eq!(batches(&fake).len(), 1, "no silent reset and resend");
    // Every later record fails the same way; nothing more is sent.
    let err = producer
        .send(ProducerRecord::new("t").partition(0).value("later"))
        .await
        .unwrap_err();
    assert_eq!(err.error.code(), Some(45), "{err}");
    assert_eq!(err.status, WriteStatus::NotWritten);
    assert_eq!(batches(&fake).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_producer_id_bumps_the_epoch_and_resends() {
    let (fake, client, _producer, result) =
        one_record_with_fault(FaultAction::Error(ResponseError::UnknownProducerId)).await;
    result.expect("delivered after the bump");
    let sent = batches(&fake);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[1].base_sequence, 0);
    assert_ne!(
        (sent[0].producer_id, sent[0].producer_epoch),
        (sent[1].producer_id, sent[1].producer_epoch),
        "the resend uses the bumped identity"
    );
    // KIP-360: the bump asked with the current producer id and epoch.
    let inits: Vec<_> = fake
        .requests()
        .into_iter()
        .filter_map(|r| match r.request {
            RequestKind::InitProducerId(i) => Some(i),
            _ => None,
        })
        .collect();
    assert_eq!(inits.len(), 2, "{inits:?}");
    assert_eq!(inits[0].producer_id.0, -1);
    assert_eq!(inits[1].producer_id.0, sent[0].producer_id);
    assert_eq!(inits[1].producer_epoch, sent[0].producer_epoch);
    assert_eq!(values_in(&client, 0).await, vec!["first".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retriable_errors_resend_with_the_same_identity() {
    let (fake, client, _producer, result) =
        one_record_with_fault(FaultAction::Error(ResponseError::NotLeaderOrFollower)).await;
    assert_eq!(result.unwrap().offset, 0);
    let sent = batches(&fake);
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(
        (
            sent[0].producer_id,
            sent[0].producer_epoch,
            sent[0].base_sequence
        ),
        (
            sent[1].producer_id,
            sent[1].producer_epoch,
            sent[1].base_sequence
        )
    );
    assert_eq!(values_in(&client, 0).await, vec!["first".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fencing_is_fatal() {
    let (fake, _client, _producer, result) =
        one_record_with_fault(FaultAction::Error(ResponseError::ProducerFenced)).await;
    let err = result.unwrap_err();
    assert_eq!(err.error.code(), Some(90), "{err}");
    assert_eq!(batches(&fake).len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_batch_fails_and_the_next_one_follows_a_bump() {
    let (fake, client, producer, result) =
        one_record_with_fault(FaultAction::Error(ResponseError::MessageTooLarge)).await;
    let err = result.unwrap_err();
    assert_eq!(err.status, WriteStatus::NotWritten);
    assert_eq!(err.error.code(), Some(10), "{err}");
    // The hole in the sequence is closed by an epoch bump: the next record
    // goes out under a new identity from sequence 0 and is written.
    let meta = producer
        .send(ProducerRecord::new("t").partition(0).value("second"))
        .await
        .unwrap()
        .await
        .unwrap();
    assert_eq!(meta.offset, 0);
    let sent = batches(&fake);
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].base_sequence, 0);
    assert_ne!(
        (sent[0].producer_id, sent[0].producer_epoch),
        (sent[1].producer_id, sent[1].producer_epoch)
    );
    assert_eq!(values_in(&client, 0).await, vec!["second".to_owned()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_idempotent_writes_explain_the_acl_and_the_opt_out() {
    for error in [
        ResponseError::ClusterAuthorizationFailed,
        ResponseError::TransactionalIdAuthorizationFailed,
    ] {
        let fake = cluster(1);
        let client = common::client_for(&fake.bootstrap()).await;
        fake.inject(
            Fault::on(ApiKey::InitProducerId)
                .always()
                .action(FaultAction::Error(error)),
        );
        let err = Producer::new(client.clone(), ProducerConfig::default())
            .await
            .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("IDEMPOTENT_WRITE"), "{text}");
        assert!(text.contains("enable.idempotence=false"), "{text}");
        // The opt-out works on the same cluster.
        let producer = producer(&client, &[("enable.idempotence", "false")]).await;
        assert!(producer.producer_id().is_none());
        producer
            .send(ProducerRecord::new("t").value("plain"))
            .await
            .unwrap()
            .await
            .unwrap();
        assert_eq!(batches(&fake)[0].producer_id, -1);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_buffer_blocks_then_fails_typed_and_silence_times_out_deliveries() {
    let fake = cluster(1);
    let config = ferrokafka::ClientConfig::builder()
        .bootstrap_servers(fake.bootstrap())
        .request_timeout(Duration::from_millis(800))
        .fetch_max_wait(Duration::from_millis(100))
        .build()
        .unwrap();
    let client = Client::connect(config).await.unwrap();
    let producer = producer(
        &client,
        &[
            ("buffer.memory", "1024"),
            ("max.block.ms", "300"),
            ("delivery.timeout.ms", "1500"),
            ("linger.ms", "0"),
        ],
    )
    .await;
    // The broker takes Produce requests and never answers.
    fake.inject(
        Fault::on(ApiKey::Produce)
            .always()
            .action(FaultAction::NeverAnswer),
    );
    let value = vec![7u8; 400];
    let first = producer
        .send(ProducerRecord::new("t").partition(0).value(value.clone()))
        .await
        .unwrap();
    let second = producer
        .send(ProducerRecord::new("t").partition(0).value(value.clone()))
        .await
        .unwrap();
    // Two records hold the buffer: the third waits max.block.ms, then
    // fails without being written.
    let err = producer
        .send(ProducerRecord::new("t").partition(0).value(value))
        .await
        .unwrap_err();
    assert_eq!(err.status, WriteStatus::NotWritten);
    assert!(
        matches!(err.error.kind(), ferrokafka::ErrorKind::Timeout(_)),
        "{err}"
    );
    assert!(err.to_string().contains("buffer.memory"), "{err}");
    // The sent records time out as "may have been written".
    for d in [first, second] {
        let err = d.await.unwrap_err();
        assert_eq!(err.status, WriteStatus::MaybeWritten, "{err}");
        assert!(err.to_string().contains("delivery.timeout.ms"), "{err}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_zero_writes_without_answers_in_order() {
    let fake = FakeCluster::builder()
        .topic("t", 3)
        .record_requests(true)
        .build()
        .unwrap();
    let client = common::client_for(&fake.bootstrap()).await;
    let producer = producer(&client, &[("acks", "0"), ("linger.ms", "2")]).await;
    let mut deliveries = Vec::new();
    for i in 0..3000 {
        let record = ProducerRecord::new("t")
            .partition(i % 3)
            .value(format!("{i}"));
        deliveries.push(producer.send(record).await.unwrap());
    }
    for delivery in deliveries {
        let meta = delivery.await.expect("written");
        assert_eq!(meta.offset, -1, "acks=0 gives no offset");
    }
    let produce_requests: Vec<_> = fake
        .requests()
        .into_iter()
        .filter(|r| r.api_key == ApiKey::Produce)
        .collect();
    assert!(!produce_requests.is_empty());
    for r in &produce_requests {
        let RequestKind::Produce(request) = &r.request else {
            panic!("not a Produce request");
        };
        assert_eq!(request.acks, 0);
    }
    // Nothing was lost or reordered, and the connections that carried
    // unanswered requests still serve answered ones.
    for p in 0..3 {
        let want: Vec<String> = (0..3000)
            .filter(|i| i % 3 == p)
            .map(|i| i.to_string())
            .collect();
        assert_eq!(values_in(&client, p).await, want, "partition {p}");
    }
    producer.close(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_of_several_partitions_share_a_request_when_requests_queue_up() {
    const PARTITIONS: i32 = 12;
    let fake = FakeCluster::builder()
        .topic("t", PARTITIONS)
        .record_requests(true)
        .build()
        .unwrap();
    // One request in flight at a time: the other partitions' batches wait
    // in the connection's queue, where they can share a request.
    let config = ferrokafka::ClientConfig::builder()
        .bootstrap_servers(fake.bootstrap())
        .max_in_flight(1)
        .build()
        .unwrap();
    let client = Client::connect(config).await.unwrap();
    let producer = producer(&client, &[("linger.ms", "1")]).await;
    let mut deliveries = Vec::new();
    for i in 0..12_000 {
        let record = ProducerRecord::new("t")
            .partition(i % PARTITIONS)
            .value(format!("{i}"));
        deliveries.push(producer.send(record).await.unwrap());
    }
    for delivery in deliveries {
        delivery.await.expect("written");
    }
    let mut shared = 0;
    for r in fake.requests() {
        let RequestKind::Produce(request) = &r.request else {
            continue;
        };
        let partitions: Vec<i32> = request
            .topic_data
            .iter()
            .flat_map(|t| t.partition_data.iter().map(|p| p.index))
            .collect();
        let distinct: HashSet<i32> = partitions.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            partitions.len(),
            "a partition twice in one request: {partitions:?}"
        );
        assert_eq!(request.topic_data.len(), 1, "one topic, listed once");
        if partitions.len() > 1 {
            shared += 1;
        }
    }
    assert!(shared > 0, "no request carried more than one partition");
    // Every record once, in order, in its partition.
    for p in 0..PARTITIONS {
        let want: Vec<String> = (0..12_000)
            .filter(|i| i % PARTITIONS == p)
            .map(|i| i.to_string())
            .collect();
        assert_eq!(values_in(&client, p).await, want, "partition {p}");
    }
    producer.close(Duration::from_secs(10)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_the_broker_will_not_create_is_named_with_the_reason() {
    let cluster = FakeCluster::builder()
        .auto_create_topics(false)
        .build()
        .unwrap();
    let client = common::client_for(&cluster.bootstrap()).await;
    let producer = producer(&client, &[("max.block.ms", "20000")]).await;
    let err = producer
        .send(ProducerRecord::new("not-here").value("x"))
        .await
        .unwrap_err();
    assert_eq!(err.status, WriteStatus::NotWritten);
    assert!(
        matches!(
            err.error.kind(),
            ferrokafka::ErrorKind::UnknownTopicOrPartition
        ),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("not-here") && text.contains("auto.create.topics.enable"),
        "{text}"
    );
    assert!(
        !text.contains("max.block.ms"),
        "it says why instead of waiting out max.block.ms: {text}"
    );
    // Every Metadata request for it asked for auto-creation.
    let asked: Vec<bool> = cluster
        .requests()
        .into_iter()
        .filter_map(|r| match r.request {
            RequestKind::Metadata(m)
                if m.topics
                    .iter()
                    .flatten()
                    .any(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == "not-here")) =>
            {
                Some(m.allow_auto_topic_creation)
            }
            _ => None,
        })
        .collect();
    assert!(!asked.is_empty() && asked.iter().all(|a| *a), "{asked:?}");
    // An illegal name is never sent at all.
    let err = producer
        .send(ProducerRecord::new("bad/name").value("x"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("not a valid topic name"), "{err}");
    assert!(
        !cluster
            .requests()
            .iter()
            .any(|r| format!("{:?}", r.request).contains("bad/name")),
        "no request carried the illegal name"
    );
}
