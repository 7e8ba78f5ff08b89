//! SASL end to end: PLAIN and SCRAM against the fake cluster (and a
//! malicious SCRAM server), SCRAM-SHA-256 and SCRAM-SHA-512 against Nisshi
//! (sqlite storage, `--authentication`), and SASL_SSL through stunnel,
//! with good and bad passwords; every failure is typed, names the cause,
//! and never shows the password.

mod common;

use ferrokafka::{Client, ConnectFailure, ErrorKind};
use ferrokafka_fake::FakeCluster;
use ferrokafka_tests::nisshi::Scram;
use ferrokafka_tests::pki::Pki;
use ferrokafka_tests::stunnel::Stunnel;
use ferrokafka_tests::{free_port, Nisshi};

use common::security::{refused, sasl_builder, sasl_config};

#[tokio::test]
async fn plain_against_the_fake_cluster() {
    let cluster = FakeCluster::builder()
        .topic("t", 1)
        .sasl_plain_user("alice", "good-pw-1")
        .build()
        .unwrap();
    let client = Client::connect(sasl_config(
        &cluster.bootstrap(),
        "PLAIN",
        "alice",
        "good-pw-1",
    ))
    .await
    .unwrap();
    // Past authentication, requests flow (the fake closes unauthenticated ones).
    client.refresh_metadata(None).await.unwrap();
    assert!(client.topic_metadata("t").await.is_ok());
    let text = refused(
        sasl_config(&cluster.bootstrap(), "PLAIN", "alice", "bad-pw-2"),
        "bad-pw-2",
    )
    .await;
    assert!(text.contains("PLAIN") && text.contains("alice"), "{text}");
    // A mechanism the listener does not enable names what it offers.
    let text = refused(
        sasl_config(&cluster.bootstrap(), "SCRAM-SHA-256", "alice", "good-pw-1"),
        "good-pw-1",
    )
    .await;
    assert!(
        text.contains("does not enable SCRAM-SHA-256") && text.contains("PLAIN"),
        "{text}"
    );
}

#[tokio::test]
async fn scram_sha_256_and_512_against_nisshi() {
    let broker = Nisshi::builder()
        .scram_user(Scram::Sha256, "alice", "alice-pw-256")
        .scram_user(Scram::Sha512, "bob", "bob-pw-512")
        .start()
        .unwrap();
    let bootstrap = broker.bootstrap();
    for (mechanism, user, password) in [
        ("SCRAM-SHA-256", "alice", "alice-pw-256"),
        ("SCRAM-SHA-512", "bob", "bob-pw-512"),
    ] {
        let client = Client::connect(sasl_config(&bootstrap, mechanism, user, password))
            .await
            .unwrap_or_else(|e| panic!("{mechanism} as {user}: {e}"));
        // Authenticated requests work.
        client.refresh_metadata(None).await.unwrap();
        let text = refused(
            sasl_config(&bootstrap, mechanism, user, "wrong-pw-9"),
            "wrong-pw-9",
        )
        .await;
        assert!(text.contains(mechanism) && text.contains(user), "{text}");
    }
    // A client that forgot SASL is told so, at once, not after the
    // bootstrap deadline.
    let plaintext = ferrokafka::ClientConfig::builder()
        .bootstrap_servers(&bootstrap)
        .bootstrap_timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    let err = Client::connect(plaintext).await.unwrap_err();
    let ErrorKind::Bootstrap(b) = err.kind() else {
        panic!("{err}")
    };
    assert!(b.gave_up_early, "{b}");
    assert_eq!(
        b.attempts[0].failure,
        ConnectFailure::ClosedAfterApiVersions,
        "{b}"
    );
    let text = b.to_string();
    assert!(
        text.contains("security.protocol") && !text.contains("malformed"),
        "{text}"
    );
}

#[tokio::test]
async fn sasl_ssl_scram_through_stunnel() {
    let pki = Pki::generate(&["localhost"]);
    let tls_port = free_port().unwrap();
    let broker = Nisshi::builder()
        .advertised(format!("localhost:{tls_port}"))
        .scram_user(Scram::Sha512, "carol", "carol-pw-512")
        .start()
        .unwrap();
    let proxy = Stunnel::tls(&pki, tls_port, broker.addr());
    let ca = pki.path("ca.pem");
    let bootstrap = format!("localhost:{}", proxy.port());
    let config = |password: &str| {
        sasl_builder(&bootstrap, "SCRAM-SHA-512", "carol", password)
            .property("security.protocol", "SASL_SSL")
            .property("ssl.truststore.location", &ca)
            .build()
            .unwrap()
    };
    let client = Client::connect(config("carol-pw-512")).await.unwrap();
    client.refresh_metadata(None).await.unwrap();
    let text = refused(config("nope-pw-0"), "nope-pw-0").await;
    assert!(text.contains("SCRAM-SHA-512"), "{text}");
}

#[tokio::test]
async fn scram_against_the_fake_cluster_and_a_malicious_scram_server() {
    use ferrokafka::auth::SaslError;
    use ferrokafka_fake::{ScramFault, ScramHash};
    for (hash, mechanism) in [
        (ScramHash::Sha256, "SCRAM-SHA-256"),
        (ScramHash::Sha512, "SCRAM-SHA-512"),
    ] {
        let honest = FakeCluster::builder()
            .sasl_scram_user(hash, "dave", "dave-pw-1")
            .build()
            .unwrap();
        let client = Client::connect(sasl_config(
            &honest.bootstrap(),
            mechanism,
            "dave",
            "dave-pw-1",
        ))
        .await
        .unwrap_or_else(|e| panic!("{mechanism}: {e}"));
        client.refresh_metadata(None).await.unwrap();
        refused(
            sasl_config(&honest.bootstrap(), mechanism, "dave", "dave-pw-2"),
            "dave-pw-2",
        )
        .await;

        for fault in [
            ScramFault::BadNonce,
            ScramFault::BadServerSignature,
            ScramFault::Iterations(10_000_000),
        ] {
            let evil = FakeCluster::builder()
                .sasl_scram_user(hash, "dave", "dave-pw-1")
                .scram_fault(fault)
                .build()
                .unwrap();
            let config = sasl_config(&evil.bootstrap(), mechanism, "dave", "dave-pw-1");
            let err = Client::connect(config).await.unwrap_err();
            let ErrorKind::Bootstrap(b) = err.kind() else {
                panic!("{fault:?}: {err}")
            };
            let ConnectFailure::SaslServerRejected { error, .. } = &b.attempts[0].failure else {
                panic!("{fault:?}: {b}")
            };
            assert_eq!(b.attempts[0].tries, 1, "{b}");
            let ok = match fault {
                ScramFault::BadNonce => matches!(error, SaslError::NonceMismatch { .. }),
                ScramFault::BadServerSignature => {
                    matches!(error, SaslError::BadServerSignature { .. })
                }
                _ => matches!(
                    error,
                    SaslError::BadIterations {
                        iterations: 10_000_000,
                        ..
                    }
                ),
            };
            assert!(ok, "{fault:?}: {error}");
            assert!(!format!("{err} {err:?}").contains("dave-pw-1"));
        }
    }
}
