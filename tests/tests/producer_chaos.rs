//! The idempotent producer against Nisshi through the chaos proxy: every
//! connection is cut 20 times while unique records flow; every
//! acknowledged record must be in the log exactly once.
//!
//! 200 000 records by default; set `FERROKAFKA_CHAOS_RECORDS=1000000` for
//! the full-size run.
//!
//! `max.in.flight.requests.per.connection` is 5 (the default; set
//! `FERROKAFKA_CHAOS_IN_FLIGHT` to change it), so up to five batches of a
//! partition are in flight when a connection is cut. Half the records are
//! keyed, so requests carry batches of several partitions.

mod common;

use std::time::Duration;

use ferrokafka::admin::NewTopic;
use ferrokafka::producer::{Producer, ProducerConfig, ProducerRecord};
use ferrokafka::{ReadRange, TopicPartition};
use ferrokafka_fake::ChaosProxy;
use ferrokafka_tests::{free_port, Nisshi};
use futures::StreamExt;

const CUTS: usize = 20;
const PARTITIONS: i32 = 4;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_loss_no_duplicates_while_connections_are_cut() {
    let total: usize = std::env::var("FERROKAFKA_CHAOS_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let port = free_port().unwrap();
    let proxy = ChaosProxy::start(format!("127.0.0.1:{port}").parse().unwrap()).unwrap();
    let _broker = Nisshi::start_behind(port, proxy.addr()).unwrap();
    let in_flight = std::env::var("FERROKAFKA_CHAOS_IN_FLIGHT").unwrap_or_else(|_| "5".to_owned());
    let client_config = ferrokafka::ClientConfig::builder()
        .bootstrap_servers(proxy.addr().to_string())
        .property("max.in.flight.requests.per.connection", &in_flight)
        .build()
        .unwrap();
    let client = ferrokafka::Client::connect(client_config).await.unwrap();
    client
        .admin()
        .create_topic(NewTopic::new("chaos", PARTITIONS, 1))
        .await
        .unwrap();
    let config = ProducerConfig::default()
        .with("linger.ms", "5")
        .unwrap()
        .with("compression.type", "lz4")
        .unwrap();
    let producer = Producer::new(client.clone(), config).await.unwrap();

    let every = total / (CUTS + 1);
    let mut deliveries = Vec::with_capacity(total);
    let mut cut_connections = 0;
    let mut cuts = 0;
    for i in 0..total {
        // A cut counts when it closed at least one connection (right after
        // a cut the client may not have reconnected yet).
        if cuts < CUTS && i >= (cuts + 1) * every {
            for _ in 0..1000 {
                let closed = proxy.cut_all();
                if closed > 0 {
                    cuts += 1;
                    cut_connections += closed;
                    break;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        // Half the records are keyed: they keep every partition busy, so
        // batches of several partitions share requests (and the cuts hit
        // such requests), while the null-key half sticks to one partition.
        let record = ProducerRecord::new("chaos").value(format!("{i}"));
        let record = if i % 2 == 0 {
            record.key(format!("k{i}"))
        } else {
            record
        };
        deliveries.push(producer.send(record).await.unwrap());
    }
    let mut acked = vec![false; total];
    let mut failed = 0;
    for (i, d) in deliveries.into_iter().enumerate() {
        match d.await {
            Ok(_) => acked[i] = true,
            Err(e) => {
                failed += 1;
                eprintln!("record {i}: {e}");
            }
        }
    }
    producer.close(Duration::from_secs(30)).await.unwrap();
    assert_eq!(cuts, CUTS, "{cut_connections} connections cut");

    let mut seen = vec![0u32; total];
    for p in 0..PARTITIONS {
        let end = client
            .admin()
            .list_offsets(
                &[(
                    TopicPartition::new("chaos", p),
                    ferrokafka::admin::OffsetSpec::Latest,
                )],
                ferrokafka::IsolationLevel::ReadUncommitted,
            )
            .await
            .unwrap()[0]
            .1
            .as_ref()
            .unwrap()
            .offset;
        let mut stream = client.read(vec![ReadRange::new("chaos", p, 0..end)]);
        while let Some(r) = tokio::time::timeout(Duration::from_secs(60), stream.next())
            .await
            .expect("the reader stalled")
        {
            let r = r.unwrap();
            let i: usize = std::str::from_utf8(r.value.as_deref().unwrap())
                .unwrap()
                .parse()
                .unwrap();
            seen[i] += 1;
        }
    }
    let lost = (0..total).filter(|&i| acked[i] && seen[i] == 0).count();
    let duplicated = (0..total).filter(|&i| seen[i] > 1).count();
    eprintln!(
        "chaos: {total} records, {cuts} cuts ({cut_connections} connections), {failed} failed, {lost} lost, {duplicated} duplicated"
    );
    assert_eq!(lost, 0, "acknowledged records missing from the log");
    assert_eq!(duplicated, 0, "records written more than once");
    assert_eq!(failed, 0, "records that failed despite retries");
}
