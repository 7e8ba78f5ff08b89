//! TLS end to end through stunnel in front of Nisshi: a valid chain, each
//! bad certificate refused with its cause, mutual TLS with PEM, PKCS#12 and
//! encrypted keys, and client-certificate refusals reported by the
//! connector before any request.

mod common;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use ferrokafka::{Client, ClientConfig, ConnectFailure};
use ferrokafka_tests::pki::{openssl, Pki};
use ferrokafka_tests::stunnel::{ClientCertificate, Stunnel, SERVER_IDENTITY};
use ferrokafka_tests::{free_port, Nisshi};

use common::security::{tls_config, tls_refused};

/// A broker that advertises `localhost:<tls_port>`, the port of the TLS
/// proxy the test puts in front of it (under the certificate's name).
fn broker_advertising(tls_port: u16) -> Nisshi {
    Nisshi::builder()
        .advertised(format!("localhost:{tls_port}"))
        .start()
        .unwrap()
}

#[tokio::test]
async fn tls_valid_chain_connects_and_each_bad_certificate_is_refused_with_its_cause() {
    let pki = Pki::generate(&["localhost"]);
    // The broker advertises the valid TLS port under the certificate's name.
    let valid_port = free_port().unwrap();
    let broker = broker_advertising(valid_port);
    let valid = Stunnel::tls(&pki, valid_port, broker.addr());
    let expired = Stunnel::start(
        &pki,
        free_port().unwrap(),
        broker.addr(),
        ("expired.pem", "expired.key"),
        ClientCertificate::NotAsked,
    );
    let mtls = Stunnel::mtls(&pki, free_port().unwrap(), broker.addr(), "ca.pem");
    let ca = pki.path("ca.pem");
    let trust = [
        ("ssl.truststore.location", ca.as_str()),
        ("ssl.truststore.type", "PEM"),
    ];

    // Valid chain, host name checked.
    let client = Client::connect(tls_config(&format!("localhost:{}", valid.port()), &trust))
        .await
        .unwrap_or_else(|e| panic!("valid TLS: {e}"));
    client.refresh_metadata(None).await.unwrap();

    // Wrong host name: the certificate names localhost, not 127.0.0.1.
    let text = tls_refused(tls_config(&format!("127.0.0.1:{}", valid.port()), &trust)).await;
    assert!(text.contains("does not name the host"), "{text}");
    // ...which the empty identification algorithm accepts (chain still checked).
    let mut no_name = trust.to_vec();
    no_name.push(("ssl.endpoint.identification.algorithm", ""));
    let bootstrap_ip = format!("127.0.0.1:{}", valid.port());
    let config = tls_config(&bootstrap_ip, &no_name);
    assert!(Client::connect(config).await.is_ok());

    // Unknown CA.
    let other = pki.path("other-ca.pem");
    let text = tls_refused(tls_config(
        &format!("localhost:{}", valid.port()),
        &[("ssl.truststore.location", other.as_str())],
    ))
    .await;
    assert!(text.contains("not signed by a trusted CA"), "{text}");

    // Expired.
    let text = tls_refused(tls_config(&format!("localhost:{}", expired.port()), &trust)).await;
    assert!(text.contains("expired"), "{text}");

    // Mutual TLS required, no client certificate.
    let text = tls_refused(tls_config(&format!("localhost:{}", mtls.port()), &trust)).await;
    assert!(text.contains("client certificate"), "{text}");

    // Mutual TLS with a Java-style PEM key store...
    let keystore = pki.path("client-keystore.pem");
    let mut with_keystore = trust.to_vec();
    with_keystore.extend([
        ("ssl.keystore.location", keystore.as_str()),
        ("ssl.keystore.type", "PEM"),
    ]);
    let client = Client::connect(tls_config(
        &format!("localhost:{}", mtls.port()),
        &with_keystore,
    ))
    .await
    .unwrap_or_else(|e| panic!("mTLS with key store: {e}"));
    client.refresh_metadata(None).await.unwrap();
    // ...and with librdkafka's file names.
    let (cert, key) = (pki.path("client.pem"), pki.path("client.key"));
    let rdkafka_style = [
        ("ssl.ca.location", ca.as_str()),
        ("ssl.certificate.location", cert.as_str()),
        ("ssl.key.location", key.as_str()),
    ];
    assert!(Client::connect(tls_config(
        &format!("localhost:{}", mtls.port()),
        &rdkafka_style
    ))
    .await
    .is_ok());

    // PKCS#12 trust and key stores with passwords.
    let (trust_p12, key_p12) = (pki.path("trust.p12"), pki.path("client.p12"));
    // keytool marks trust-store certificates with Oracle's trusted-usage
    // attribute; openssl 3.0 cannot, so the store is written in Rust.
    let mut trust_store = p12_keystore::KeyStore::new();
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    let ca_der = tokio_rustls::rustls::pki_types::CertificateDer::from_pem_file(&ca).unwrap();
    trust_store.add_entry(
        "ca",
        p12_keystore::KeyStoreEntry::Certificate(
            p12_keystore::Certificate::from_der(ca_der.as_ref()).unwrap(),
        ),
    );
    std::fs::write(
        &trust_p12,
        trust_store.writer("trust-pw-1").write().unwrap(),
    )
    .unwrap();
    openssl(&[
        "pkcs12",
        "-export",
        "-in",
        &cert,
        "-inkey",
        &key,
        "-out",
        &key_p12,
        "-passout",
        "pass:key-pw-2",
    ]);
    let p12 = [
        ("ssl.truststore.location", trust_p12.as_str()),
        ("ssl.truststore.type", "PKCS12"),
        ("ssl.truststore.password", "trust-pw-1"),
        ("ssl.keystore.location", key_p12.as_str()),
        ("ssl.keystore.type", "PKCS12"),
        ("ssl.keystore.password", "key-pw-2"),
    ];
    let client = Client::connect(tls_config(&format!("localhost:{}", mtls.port()), &p12))
        .await
        .unwrap_or_else(|e| panic!("PKCS#12 stores: {e}"));
    client.refresh_metadata(None).await.unwrap();
    let mut wrong = p12.to_vec();
    wrong[5] = ("ssl.keystore.password", "not-the-pw-3");
    let err = Client::connect(tls_config(&format!("localhost:{}", mtls.port()), &wrong))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("PKCS#12") && text.contains("ssl.keystore.location"),
        "{text}"
    );
    assert!(!text.contains("not-the-pw-3"), "{text}");

    // A JKS store is refused up front with the command that converts it.
    let err = Client::connect(tls_config(
        &format!("localhost:{}", valid.port()),
        &[
            ("ssl.truststore.location", ca.as_str()),
            ("ssl.truststore.type", "JKS"),
        ],
    ))
    .await
    .unwrap_err();
    assert!(err.to_string().contains("keytool -importkeystore"), "{err}");
}

/// TLS 1.3 brokers check the client certificate after the client's
/// Finished: the connector itself must report the refusal, so that no
/// Kafka request is written on a connection the broker is dropping.
#[tokio::test]
async fn mtls_refusal_is_reported_by_the_connector_before_any_request() {
    use ferrokafka::low_level::{Connector, TlsConnector};
    let pki = Pki::generate(&["localhost"]);
    // The broker advertises the port that asks for a certificate optionally.
    let optional_port = free_port().unwrap();
    let broker = broker_advertising(optional_port);
    let required = Stunnel::mtls(&pki, free_port().unwrap(), broker.addr(), "ca.pem");
    let optional = Stunnel::start(
        &pki,
        optional_port,
        broker.addr(),
        SERVER_IDENTITY,
        ClientCertificate::Optional("ca.pem"),
    );
    let other_ca = Stunnel::mtls(&pki, free_port().unwrap(), broker.addr(), "other-ca.pem");
    let ca = pki.path("ca.pem");
    let settings = |extra: &[(&str, &str)]| {
        let mut pairs = vec![("ssl.truststore.location", ca.as_str())];
        pairs.extend_from_slice(extra);
        let config = tls_config("localhost:1", &pairs);
        TlsConnector::new(&config.security().tls_settings()).unwrap()
    };
    let at = |port: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, port));

    // Required, none configured: the connector fails, naming the setting
    // (before this, the handshake "succeeded" and the alert surfaced only
    // when the ApiVersions answer was read).
    let no_certificate = settings(&[]);
    let err = no_certificate
        .connect(at(required.port()), "localhost")
        .await
        .err()
        .expect("the connector must report the missing client certificate");
    let ConnectFailure::Tls(text) = &err else {
        panic!("{err:?}")
    };
    assert!(
        text.contains("requires a client certificate") && text.contains("ssl.keystore.location"),
        "{text}"
    );
    // The same through the client: a TLS failure, not retried.
    let text = tls_refused(tls_config(
        &format!("localhost:{}", required.port()),
        &[("ssl.truststore.location", ca.as_str())],
    ))
    .await;
    assert!(text.contains("requires a client certificate"), "{text}");

    // A certificate the broker does not trust: refused by the connector too.
    let (cert, key) = (pki.path("client.pem"), pki.path("client.key"));
    let with_certificate = settings(&[
        ("ssl.certificate.location", cert.as_str()),
        ("ssl.key.location", key.as_str()),
    ]);
    let err = with_certificate
        .connect(at(other_ca.port()), "localhost")
        .await
        .err()
        .expect("the connector must report the refused client certificate");
    let ConnectFailure::Tls(text) = &err else {
        panic!("{err:?}")
    };
    assert!(text.contains("refused the client certificate"), "{text}");

    // Asked optionally, none configured: the connection proceeds...
    assert!(no_certificate
        .connect(at(optional.port()), "localhost")
        .await
        .is_ok());
    // ...and so does a trusted certificate where one is required.
    assert!(with_certificate
        .connect(at(required.port()), "localhost")
        .await
        .is_ok());
    let client = Client::connect(tls_config(
        &format!("localhost:{}", optional.port()),
        &[("ssl.truststore.location", ca.as_str())],
    ))
    .await
    .unwrap_or_else(|e| panic!("optional client certificate: {e}"));
    client.refresh_metadata(None).await.unwrap();
}

/// Encrypted PEM keys for mutual TLS, as OpenSSL writes them: PKCS#8
/// (`openssl pkcs8 -topk8`) opens with ssl.key.password; the legacy
/// `Proc-Type: 4,ENCRYPTED` form is refused with the command converting it.
#[tokio::test]
async fn encrypted_pem_keys_for_mutual_tls() {
    let pki = Pki::generate(&["localhost"]);
    let port = free_port().unwrap();
    let broker = broker_advertising(port);
    let mtls = Stunnel::mtls(&pki, port, broker.addr(), "ca.pem");
    let (key, pkcs8, legacy) = (
        pki.path("client.key"),
        pki.path("client-pkcs8.key"),
        pki.path("client-legacy.key"),
    );
    openssl(&[
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-256-cbc",
        "-in",
        &key,
        "-out",
        &pkcs8,
        "-passout",
        "pass:enc-pw-4",
    ]);
    openssl(&[
        "ec",
        "-aes256",
        "-in",
        &key,
        "-out",
        &legacy,
        "-passout",
        "pass:enc-pw-4",
    ]);
    let read = |path: &str| std::fs::read_to_string(path).unwrap();
    assert!(read(&pkcs8).contains("BEGIN ENCRYPTED PRIVATE KEY"));
    assert!(read(&legacy).contains("Proc-Type: 4,ENCRYPTED"));
    let (ca, cert) = (pki.path("ca.pem"), pki.path("client.pem"));
    let bootstrap = format!("localhost:{}", mtls.port());
    let connect = |key_path: &str, password: &str| {
        let (cert_text, key_text) = (read(&cert), read(key_path));
        let ca = ca.clone();
        let bootstrap = bootstrap.clone();
        let password = password.to_owned();
        async move {
            let config = ClientConfig::builder()
                .bootstrap_servers(&bootstrap)
                .bootstrap_timeout(Duration::from_secs(20))
                .property("security.protocol", "SSL")
                .property("ssl.truststore.location", &ca)
                .property("ssl.keystore.type", "PEM")
                .property("ssl.keystore.certificate.chain", &cert_text)
                .property("ssl.keystore.key", &key_text)
                .property("ssl.key.password", &password)
                .build()
                .map_err(|e| e.to_string())?;
            Client::connect(config).await.map_err(|e| e.to_string())
        }
    };

    let client = connect(&pkcs8, "enc-pw-4")
        .await
        .unwrap_or_else(|e| panic!("encrypted PKCS#8 key: {e}"));
    client.refresh_metadata(None).await.unwrap();
    // The file form (ssl.key.location) too.
    let by_path = Client::connect(tls_config(
        &bootstrap,
        &[
            ("ssl.ca.location", ca.as_str()),
            ("ssl.certificate.location", cert.as_str()),
            ("ssl.key.location", pkcs8.as_str()),
            ("ssl.key.password", "enc-pw-4"),
        ],
    ))
    .await;
    assert!(by_path.is_ok(), "{:?}", by_path.err());

    let err = connect(&pkcs8, "wrong-pw-canary-5").await.unwrap_err();
    assert!(
        err.contains("ssl.key.password") && err.contains("wrong"),
        "{err}"
    );
    assert!(!err.contains("wrong-pw-canary-5"), "{err}");

    let err = connect(&legacy, "enc-pw-4").await.unwrap_err();
    assert!(err.contains("openssl pkcs8 -topk8"), "{err}");
}
