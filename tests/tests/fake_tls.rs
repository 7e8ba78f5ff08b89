//! The fake cluster's TLS listeners (`FakeClusterBuilder::tls`) against
//! the real client: SSL with a PEM trust store runs admin calls and a
//! produce/read round trip; mTLS accepts a client certificate from the
//! configured CA and refuses a client without one; SASL_SSL PLAIN
//! authenticates over TLS; a plaintext client gets the client's "wrong
//! port or security.protocol?" error; bad PEM is a typed build error that
//! never shows the key.

use std::time::Duration;

use ferrokafka::producer::{Producer, ProducerConfig, ProducerRecord};
use ferrokafka::{Client, ClientConfig, ConnectFailure, ErrorKind, ReadRange};
use ferrokafka_fake::messages::ApiKey;
use ferrokafka_fake::{FakeCluster, FakeError};
use ferrokafka_tests::pki::Pki;
use futures::StreamExt;

/// The test PKI; the server certificate names 127.0.0.1 too, the
/// address the fake advertises.
fn pki() -> Pki {
    Pki::generate(&["localhost", "127.0.0.1"])
}

fn config(bootstrap: &str, settings: &[(&str, &str)]) -> ClientConfig {
    let mut builder = ClientConfig::builder()
        .bootstrap_servers(bootstrap)
        .bootstrap_timeout(Duration::from_secs(10));
    for (k, v) in settings {
        builder = builder.property(k, v);
    }
    builder.build().unwrap()
}

/// The bootstrap failure of a client that cannot connect.
async fn bootstrap_failure(config: ClientConfig) -> (ConnectFailure, String) {
    let err = Client::connect(config).await.unwrap_err();
    let ErrorKind::Bootstrap(b) = err.kind() else {
        panic!("expected a bootstrap error, got {err}")
    };
    (b.attempts[0].failure.clone(), err.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssl_client_runs_admin_calls_and_a_produce_read_round_trip() {
    let pki = pki();
    let fake = FakeCluster::builder()
        .brokers(2)
        .tls(pki.server().cert_pem.clone(), pki.server().key_pem.clone())
        .build()
        .unwrap();
    let ca = pki.path("ca.pem");
    let client = Client::connect(config(
        &fake.bootstrap(),
        &[
            ("security.protocol", "SSL"),
            ("ssl.truststore.location", &ca),
            ("ssl.truststore.type", "PEM"),
        ],
    ))
    .await
    .unwrap();

    let admin = client.admin();
    let cluster = admin.describe_cluster().await.unwrap();
    assert_eq!(cluster.brokers.len(), 2, "{cluster:?}");
    let created = admin
        .create_topics(&[ferrokafka::admin::NewTopic::new("secure", 2, 1)])
        .await
        .unwrap();
    assert!(created[0].1.is_ok(), "{created:?}");
    assert_eq!(fake.partition_state("secure", 1).unwrap().high_watermark, 0);

    let producer = Producer::new(client.clone(), ProducerConfig::default())
        .await
        .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..5 {
        deliveries.push(
            producer
                .send(
                    ProducerRecord::new("secure")
                        .partition(i % 2)
                        .value(format!("tls-{i}")),
                )
                .await
                .unwrap(),
        );
    }
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    // The fake stored what came over TLS.
    assert_eq!(fake.partition_state("secure", 0).unwrap().high_watermark, 3);
    assert_eq!(fake.partition_state("secure", 1).unwrap().high_watermark, 2);

    let mut stream = client.read(vec![
        ReadRange::new("secure", 0, 0..3),
        ReadRange::new("secure", 1, 0..2),
    ]);
    let mut values = Vec::new();
    while let Some(record) = tokio::time::timeout(Duration::from_secs(30), stream.next())
        .await
        .expect("reader stalled")
    {
        let record = record.unwrap();
        values.push(String::from_utf8(record.value.unwrap().to_vec()).unwrap());
    }
    values.sort();
    assert_eq!(values, ["tls-0", "tls-1", "tls-2", "tls-3", "tls-4"]);
    assert!(fake.requests().iter().any(|r| r.api_key == ApiKey::Fetch));
    assert!(fake.internal_errors().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plaintext_client_against_a_tls_fake_gets_the_wrong_protocol_error() {
    let pki = pki();
    let fake = FakeCluster::builder()
        .tls(pki.server().cert_pem.clone(), pki.server().key_pem.clone())
        .build()
        .unwrap();
    let plaintext = ClientConfig::builder()
        .bootstrap_servers(fake.bootstrap())
        .bootstrap_timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let (failure, text) = bootstrap_failure(plaintext).await;
    // The fake's TLS stack answers the Kafka frame with a TLS alert, which
    // the client names.
    assert!(
        matches!(failure, ConnectFailure::WrongProtocol(seen) if seen.contains("TLS")),
        "{failure:?}: {text}"
    );
    assert!(text.contains("wrong port or security.protocol?"), "{text}");
    // Nothing a plaintext client sent was taken for a request.
    assert!(fake.requests().is_empty(), "{:?}", fake.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_accepts_the_ca_signed_client_and_refuses_one_without_a_certificate() {
    let pki = pki();
    let fake = FakeCluster::builder()
        .tls(pki.server().cert_pem.clone(), pki.server().key_pem.clone())
        .tls_client_ca(pki.ca().pem().to_owned())
        .topic("t", 1)
        .build()
        .unwrap();
    let (ca, cert, key) = (
        pki.path("ca.pem"),
        pki.path("client.pem"),
        pki.path("client.key"),
    );
    let client = Client::connect(config(
        &fake.bootstrap(),
        &[
            ("security.protocol", "SSL"),
            ("ssl.ca.location", &ca),
            ("ssl.certificate.location", &cert),
            ("ssl.key.location", &key),
        ],
    ))
    .await
    .unwrap();
    let topics = client.admin().list_topics().await.unwrap();
    assert!(topics.iter().any(|t| t.name == "t"), "{topics:?}");

    let requests_before = fake.requests().len();
    let (failure, text) = bootstrap_failure(config(
        &fake.bootstrap(),
        &[("security.protocol", "SSL"), ("ssl.ca.location", &ca)],
    ))
    .await;
    // rustls refuses the handshake with `certificate_required`; the client
    // says which settings supply a certificate.
    assert!(
        matches!(&failure, ConnectFailure::Tls(why) if why.contains("ssl.certificate.location")),
        "{failure:?}: {text}"
    );
    // The broker read no request from the client without a certificate.
    assert_eq!(fake.requests().len(), requests_before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_ssl_plain_authenticates_over_tls() {
    let pki = pki();
    let fake = FakeCluster::builder()
        .tls(pki.server().cert_pem.clone(), pki.server().key_pem.clone())
        .sasl_plain_user("alice", "tls-pw-1")
        .topic("t", 1)
        .build()
        .unwrap();
    let ca = pki.path("ca.pem");
    let sasl = |password: &str| {
        config(
            &fake.bootstrap(),
            &[
                ("security.protocol", "SASL_SSL"),
                ("ssl.ca.location", &ca),
                ("sasl.mechanism", "PLAIN"),
                (
                    "sasl.jaas.config",
                    &format!(
                        r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="{password}";"#
                    ),
                ),
            ],
        )
    };
    let client = Client::connect(sasl("tls-pw-1")).await.unwrap();
    client.refresh_metadata(None).await.unwrap();
    assert!(client.topic_metadata("t").await.is_ok());
    assert!(fake
        .requests()
        .iter()
        .any(|r| r.api_key == ApiKey::SaslAuthenticate));

    let (failure, text) = bootstrap_failure(sasl("wrong-pw-2")).await;
    assert!(
        matches!(failure, ConnectFailure::Authentication { .. }),
        "{failure:?}: {text}"
    );
    assert!(!text.contains("wrong-pw-2"), "the password leaked: {text}");
}

#[test]
fn bad_pem_is_a_config_error_that_never_shows_the_key() {
    let pki = pki();
    let secret_key =
        "-----BEGIN PRIVATE KEY-----\nbm90LWEta2V5LXNlY3JldC0x\n-----END PRIVATE KEY-----\n";
    let builder = FakeCluster::builder().tls(pki.server().cert_pem.clone(), secret_key);
    assert!(!format!("{builder:?}").contains("bm90LWEta2V5"));
    let err = builder.build().unwrap_err();
    assert!(matches!(err, FakeError::Config(_)), "{err:?}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("private key"), "{text}");
    assert!(!text.contains("bm90LWEta2V5"), "the key leaked: {text}");

    let err = FakeCluster::builder()
        .tls("not a certificate", pki.server().key_pem.clone())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("certificate chain"), "{err}");

    let err = FakeCluster::builder()
        .tls_client_ca(pki.ca().pem().to_owned())
        .build()
        .unwrap_err();
    assert!(
        err.to_string().contains("tls(cert_chain_pem, key_pem)"),
        "{err}"
    );
}
