//! In-band re-authentication (KIP-368) against the fake cluster: PLAIN
//! and SCRAM sessions renewed on a busy connection, and a refused renewal
//! closing the connection with a retriable error.

mod common;

use std::time::Duration;

use ferrokafka::{Client, ConnectFailure, ErrorKind};
use ferrokafka_fake::FakeCluster;
use ferrokafka_protocol::messages::{ApiKey, MetadataRequest};

use common::security::sasl_config;

/// The connection that carried the most requests of `api`, and how many
/// SASL handshakes ran on it.
fn busiest_connection(cluster: &FakeCluster, api: ApiKey) -> (u64, usize) {
    let requests = cluster.requests();
    let mut per_connection = std::collections::HashMap::<u64, usize>::new();
    for r in requests.iter().filter(|r| r.api_key == api) {
        *per_connection.entry(r.connection).or_default() += 1;
    }
    let (&busiest, _) = per_connection
        .iter()
        .max_by_key(|(_, n)| **n)
        .expect("no request of that API");
    let handshakes = requests
        .iter()
        .filter(|r| r.connection == busiest && r.api_key == ApiKey::SaslHandshake)
        .count();
    (busiest, handshakes)
}

/// KIP-368: the broker grants 1 s sessions; a stream of pipelined requests
/// for three lifetimes stays on one connection, which re-authenticates in
/// band (one sent on an expired session would fail: the broker closes
/// that connection).
async fn reauthenticates_in_band(mechanism: &str, builder: ferrokafka_fake::FakeClusterBuilder) {
    let cluster = builder
        .topic("t", 1)
        .sasl_session_lifetime(Duration::from_millis(1000))
        .build()
        .unwrap();
    let client = Client::connect(sasl_config(
        &cluster.bootstrap(),
        mechanism,
        "ann",
        "ann-pw",
    ))
    .await
    .unwrap();
    let tp = ferrokafka::TopicPartition::new("t", 0);
    let conn = client.leader_connection(&tp).await.unwrap();
    for i in 0..30 {
        let sends: Vec<_> = (0..4)
            .map(|_| conn.enqueue(&MetadataRequest::default()).unwrap())
            .collect();
        for (j, answer) in futures::future::join_all(sends)
            .await
            .into_iter()
            .enumerate()
        {
            answer.unwrap_or_else(|e| panic!("{mechanism}: round {i}, request {j}: {e}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!conn.is_closed(), "{mechanism}: {:?}", conn.failure());
    let (busiest, handshakes) = busiest_connection(&cluster, ApiKey::Metadata);
    // The first authentication and at least two renewals, on the
    // connection that carried (nearly) all 120 requests.
    assert!(
        handshakes >= 3,
        "{mechanism}: {handshakes} SASL handshakes on connection {busiest}"
    );
    let on_busiest = cluster
        .requests()
        .iter()
        .filter(|r| r.connection == busiest && r.api_key == ApiKey::Metadata)
        .count();
    assert!(on_busiest >= 120, "{mechanism}: {on_busiest} requests");
}

#[tokio::test]
async fn plain_sessions_are_renewed_in_band() {
    reauthenticates_in_band(
        "PLAIN",
        FakeCluster::builder().sasl_plain_user("ann", "ann-pw"),
    )
    .await;
}

#[tokio::test]
async fn scram_sessions_are_renewed_in_band() {
    reauthenticates_in_band(
        "SCRAM-SHA-512",
        FakeCluster::builder().sasl_scram_user(ferrokafka_fake::ScramHash::Sha512, "ann", "ann-pw"),
    )
    .await;
}

#[tokio::test]
async fn a_refused_reauthentication_closes_the_connection_with_a_retriable_error() {
    use ferrokafka::ConnectionFailure;
    use ferrokafka_fake::{Fault, FaultAction};
    let cluster = FakeCluster::builder()
        .topic("t", 1)
        .sasl_plain_user("ann", "ann-pw")
        .sasl_session_lifetime(Duration::from_millis(500))
        .build()
        .unwrap();
    let client = Client::connect(sasl_config(&cluster.bootstrap(), "PLAIN", "ann", "ann-pw"))
        .await
        .unwrap();
    let tp = ferrokafka::TopicPartition::new("t", 0);
    let conn = client.leader_connection(&tp).await.unwrap();
    conn.send(&MetadataRequest::default()).await.unwrap();
    // The next SaslAuthenticate is the renewal: refuse it.
    let refused = cluster.inject(
        Fault::on(ApiKey::SaslAuthenticate).action(FaultAction::Error(
            ferrokafka_fake::ResponseError::SaslAuthenticationFailed,
        )),
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let err = conn.send(&MetadataRequest::default()).await.unwrap_err();
    assert_eq!(cluster.fault_hits(refused), 1);
    match err.kind() {
        ErrorKind::Connection(ConnectionFailure::Reauthentication(cause)) => {
            assert!(
                matches!(**cause, ConnectFailure::Authentication { .. }),
                "{cause}"
            );
        }
        other => panic!("expected a re-authentication failure, got {other}"),
    }
    assert!(err.is_retriable(), "{err}");
    assert!(err.to_string().contains("re-authentication"), "{err}");
    assert!(conn.is_closed());
    // The pool's next connection authenticates afresh.
    let next = client.leader_connection(&tp).await.unwrap();
    next.send(&MetadataRequest::default()).await.unwrap();
}
