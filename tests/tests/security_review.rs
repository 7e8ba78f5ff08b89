//! The security review's findings (issue 12, item 8), each tried against
//! real listeners: a local token endpoint that echoes the request body, token
//! endpoints that cannot be used (untrusted certificate, refused port, a
//! port that does not speak TLS), secrets in the token endpoint URL,
//! PLAIN/OAUTHBEARER over SASL_PLAINTEXT, and a broker that offers only
//! TLS 1.0/1.1 (stunnel, and a server answering with a TLS 1.1 hello).

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;
use std::time::Duration;

use ferrokafka::auth::token::TokenProvider as _;
use ferrokafka::{Client, ClientConfig, ConnectFailure, ErrorKind};
use ferrokafka_fake::{FakeCluster, ScramHash};
use ferrokafka_tests::free_port;
use ferrokafka_tests::pki::Pki;
use ferrokafka_tests::stunnel::Stunnel;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod capture;
use capture::Capture;
use ferrokafka_tests::oauth_endpoint;
use oauth_endpoint::{encodings, Reply, TokenEndpoint};

const MODULE: &str = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule";

/// Entra ID client credentials over SASL_PLAINTEXT to `bootstrap`, with
/// `secret` as the client secret and `extra` settings on top.
fn entra_properties(
    bootstrap: &str,
    secret: &str,
    extra: &[(&str, String)],
) -> HashMap<String, String> {
    let mut props: HashMap<String, String> = [
        ("bootstrap.servers", bootstrap.to_owned()),
        ("security.protocol", "SASL_PLAINTEXT".to_owned()),
        ("sasl.mechanism", "OAUTHBEARER".to_owned()),
        (
            "sasl.jaas.config",
            format!(
                r#"{MODULE} required clientId="app" clientSecret="{secret}" scope="api://kafka/.default";"#
            ),
        ),
        ("bootstrap.timeout.ms", "15000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    props.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    props
}

fn oauth_cluster() -> FakeCluster {
    FakeCluster::builder()
        .sasl_oauthbearer_token("a-token-never-issued", "app")
        .build()
        .unwrap()
}

/// Panics when any form of `secret` appears in `text`.
fn assert_absent(secret: &str, text: &str, what: &str) {
    for form in encodings(secret) {
        assert!(
            !text.contains(&form),
            "the secret appears in {what} as {form:?}:\n{text}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_endpoint_echoing_the_request_body_never_shows_the_secret() {
    let capture = Capture::global();
    // Characters that every encoding writes differently.
    const SECRET: &str = "echo canary+4/Qz=&%é";
    let endpoint = TokenEndpoint::start(vec![], Reply::Echo(400)).await;
    let cluster = oauth_cluster();
    let props = entra_properties(
        &cluster.bootstrap(),
        SECRET,
        &[
            ("sasl.oauthbearer.token.endpoint.url", endpoint.url("t")),
            (
                "sasl.oauthbearer.ssl.ca.location",
                endpoint.ca.display().to_string(),
            ),
        ],
    );
    let err = Client::connect(ClientConfig::from_properties(&props).unwrap())
        .await
        .unwrap_err();
    // The endpoint got the form-encoded secret and sent it back.
    let bodies = endpoint.bodies.lock().unwrap().clone();
    assert!(
        bodies[0].contains("client_secret=echo+canary%2B4%2FQz%3D%26%25%C3%A9"),
        "{bodies:?}"
    );
    let text = format!("{err}\n{err:?}");
    // What the endpoint said still shows.
    assert!(text.contains("AADSTS900144"), "{text}");
    assert_absent(SECRET, &text, "the error");
    let logs = capture.text();
    assert!(
        logs.contains("WARN") && logs.contains("AADSTS900144"),
        "{logs}"
    );
    assert_absent(SECRET, &logs, "the logs");
}

/// A loopback port that accepts TCP and answers whatever arrives with
/// `answer`, then closes.
async fn answering_port(answer: &'static [u8]) -> u16 {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut hello = [0u8; 4096];
                let _ = tcp.read(&mut hello).await;
                let _ = tcp.write_all(answer).await;
                let _ = tcp.shutdown().await;
            });
        }
    });
    port
}

/// A loopback port nothing listens on.
async fn refused_port() -> u16 {
    let listener = tokio::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .await
        .unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unusable_token_endpoints_fail_the_bootstrap_at_once_naming_the_endpoint_and_the_setting() {
    let cluster = oauth_cluster();
    // Signed by a CA the client is not told about.
    let untrusted = TokenEndpoint::start(vec![], Reply::Token("never", 60)).await;
    let http = answering_port(
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: 11\r\nConnection: close\r\n\r\nBad Request",
    )
    .await;
    let garbage = answering_port(b"\x00\x07garbage that is not a TLS record\r\n").await;
    let url = |port: u16| format!("https://localhost:{port}/t/oauth2/v2.0/token");
    for (case, endpoint, setting) in [
        (
            "untrusted certificate",
            untrusted.url("t"),
            "sasl.oauthbearer.ssl.ca.location",
        ),
        (
            "refused port",
            url(refused_port().await),
            "sasl.oauthbearer.token.endpoint.url",
        ),
        (
            "plain HTTP port",
            url(http),
            "sasl.oauthbearer.token.endpoint.url",
        ),
        (
            "garbage answer",
            url(garbage),
            "sasl.oauthbearer.token.endpoint.url",
        ),
    ] {
        let props = entra_properties(
            &cluster.bootstrap(),
            "unused-secret",
            &[("sasl.oauthbearer.token.endpoint.url", endpoint.clone())],
        );
        let err = Client::connect(ClientConfig::from_properties(&props).unwrap())
            .await
            .unwrap_err();
        let ErrorKind::Bootstrap(bootstrap) = err.kind() else {
            panic!("{case}: not a bootstrap error: {err}")
        };
        let attempt = &bootstrap.attempts[0];
        assert!(
            attempt.failure.is_permanent()
                && matches!(attempt.failure, ConnectFailure::Authentication { .. }),
            "{case}: {:?}",
            attempt.failure
        );
        // Not retried until the bootstrap deadline.
        assert_eq!(attempt.tries, 1, "{case}: {bootstrap}");
        let text = attempt.failure.to_string();
        assert!(
            text.contains(&endpoint) && text.contains(setting),
            "{case}: {text}"
        );
        assert!(!text.contains("timed out"), "{case}: {text}");
        // The Kafka trust store is not what the token client uses here.
        assert!(!text.contains("ssl.truststore.location"), "{case}: {text}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_untrusted_token_endpoint_names_the_trust_really_used() {
    let endpoint = TokenEndpoint::start(vec![], Reply::Token("never", 60)).await;
    // A Kafka CA that did not sign the endpoint's certificate.
    let kafka_pki = Pki::generate(&["localhost", "127.0.0.1"]);
    let props = entra_properties(
        "myns.servicebus.windows.net:9093",
        "unused-secret",
        &[
            ("security.protocol", "SASL_SSL".to_owned()),
            ("sasl.oauthbearer.token.endpoint.url", endpoint.url("t")),
            ("ssl.truststore.location", kafka_pki.path("ca.pem")),
        ],
    );
    let config = ClientConfig::from_properties(&props).unwrap();
    let provider = ferrokafka::security::EntraTokenProvider::from_config(&config)
        .unwrap()
        .expect("Entra ID client credentials");
    let err = provider.token().await.unwrap_err();
    assert!(!err.is_transient(), "{err}");
    let text = err.to_string();
    // The Kafka CA is used because the token endpoint's own is not set;
    // the error says so and names the setting to set.
    assert!(
        text.contains("ssl.truststore.location")
            && text.contains("sasl.oauthbearer.ssl.ca.location")
            && text.contains(&endpoint.url("t")),
        "{text}"
    );
    assert_eq!(endpoint.requests(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_urls_never_show_userinfo_or_query_values() {
    let capture = Capture::global();
    // A password in the URL is refused, without showing it.
    let props = entra_properties(
        "h:1",
        "unused-secret",
        &[(
            "sasl.oauthbearer.token.endpoint.url",
            "https://app:canary-url-pw-1@localhost:8443/t/oauth2/v2.0/token".to_owned(),
        )],
    );
    let err = ClientConfig::from_properties(&props).unwrap_err();
    let text = format!("{err}\n{err:?}");
    assert!(
        text.contains("user information") && text.contains("localhost:8443/t/oauth2/v2.0/token"),
        "{text}"
    );
    assert!(!text.contains("canary-url-pw-1"), "{text}");

    // Query values are kept from every display of the configuration, and
    // from errors naming the endpoint.
    let port = refused_port().await;
    let url = format!(
        "https://localhost:{port}/t/oauth2/v2.0/token?client_secret=canary-query-2&api-version=canary-query-3"
    );
    let cluster = oauth_cluster();
    let props = entra_properties(
        &cluster.bootstrap(),
        "unused-secret",
        &[("sasl.oauthbearer.token.endpoint.url", url.clone())],
    );
    let config = ClientConfig::from_properties(&props).unwrap();
    let credentials = config
        .security()
        .entra_client_credentials()
        .unwrap()
        .unwrap();
    assert_eq!(credentials.token_endpoint, url, "the URL itself is kept");
    let provider = ferrokafka::security::EntraTokenProvider::from_config(&config)
        .unwrap()
        .expect("Entra ID client credentials");
    let mut shown = format!(
        "{config:?}\n{:?}\n{credentials:?}\n{provider:?}\n",
        config.to_properties()
    );
    let err = Client::connect(config).await.unwrap_err();
    shown.push_str(&format!("{err}\n{err:?}\n"));
    assert!(
        shown.contains(&format!("localhost:{port}/t/oauth2/v2.0/token"))
            && shown.contains("client_secret="),
        "the URL is still recognisable: {shown}"
    );
    let logs = capture.text();
    for canary in ["canary-query-2", "canary-query-3"] {
        assert!(!shown.contains(canary), "{canary}:\n{shown}");
        assert!(!logs.contains(canary), "{canary} in the logs:\n{logs}");
    }
}

/// Connects `config` and opens a connection to every broker of `cluster`;
/// returns the WARN lines about cleartext SASL for the client.
async fn cleartext_warnings(cluster: &FakeCluster, config: ClientConfig) -> Vec<String> {
    let client_id = config.client_id().to_owned();
    let client = Client::connect(config).await.unwrap();
    for id in cluster.broker_ids() {
        client.broker_connection(id).await.unwrap();
    }
    // Several connections really authenticated.
    let mut connections: Vec<u64> = cluster
        .requests()
        .iter()
        .filter(|r| {
            r.client_id.as_deref() == Some(&client_id)
                && r.api_key == ferrokafka_protocol::messages::ApiKey::SaslAuthenticate
        })
        .map(|r| r.connection)
        .collect();
    connections.sort_unstable();
    connections.dedup();
    assert!(connections.len() >= 3, "{client_id}: {connections:?}");
    client.close().await;
    Capture::global().warnings_with(&[&client_id, "SASL_SSL"])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cleartext_sasl_warns_once_per_client() {
    Capture::global();
    let cluster = FakeCluster::builder()
        .brokers(3)
        .sasl_plain_user("u", "plain-pw")
        .sasl_scram_user(ScramHash::Sha512, "u", "scram-pw")
        .sasl_oauthbearer_token("a-bearer-token", "u")
        .build()
        .unwrap();
    let builder = |client_id: &str, mechanism: &str| {
        ClientConfig::builder()
            .bootstrap_servers(cluster.bootstrap())
            .client_id(client_id)
            .property("security.protocol", "SASL_PLAINTEXT")
            .property("sasl.mechanism", mechanism)
    };
    let plain = builder("cleartext-plain", "PLAIN")
        .property("sasl.username", "u")
        .property("sasl.password", "plain-pw")
        .build()
        .unwrap();
    let warnings = cleartext_warnings(&cluster, plain).await;
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(
        warnings[0].contains("PLAIN") && warnings[0].contains("SASL_PLAINTEXT"),
        "{warnings:#?}"
    );

    let oauth = builder("cleartext-oauth", "OAUTHBEARER")
        .oauthbearer_token_provider(Arc::new(ferrokafka::auth::token::StaticToken::new(
            ferrokafka::auth::Secret::new("a-bearer-token"),
        )))
        .build()
        .unwrap();
    let warnings = cleartext_warnings(&cluster, oauth).await;
    assert_eq!(warnings.len(), 1, "{warnings:#?}");
    assert!(warnings[0].contains("OAUTHBEARER"), "{warnings:#?}");

    // SCRAM never sends the password.
    let scram = builder("cleartext-scram", "SCRAM-SHA-512")
        .property("sasl.username", "u")
        .property("sasl.password", "scram-pw")
        .build()
        .unwrap();
    let warnings = cleartext_warnings(&cluster, scram).await;
    assert!(warnings.is_empty(), "{warnings:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_over_sasl_ssl_does_not_warn() {
    Capture::global();
    let pki = Pki::generate(&["localhost", "127.0.0.1"]);
    let cluster = FakeCluster::builder()
        .brokers(3)
        .sasl_plain_user("u", "plain-pw")
        .tls(pki.server().cert_pem.clone(), pki.server().key_pem.clone())
        .build()
        .unwrap();
    let config = ClientConfig::builder()
        .bootstrap_servers(cluster.bootstrap())
        .client_id("encrypted-plain")
        .property("security.protocol", "SASL_SSL")
        .property("ssl.truststore.location", &pki.path("ca.pem"))
        .property("sasl.mechanism", "PLAIN")
        .property("sasl.username", "u")
        .property("sasl.password", "plain-pw")
        .build()
        .unwrap();
    let warnings = cleartext_warnings(&cluster, config).await;
    assert!(warnings.is_empty(), "{warnings:#?}");
}

/// Connects with TLS to `127.0.0.1:port` trusting `ca` and returns the
/// TLS failure's text.
async fn tls_failure(port: u16, ca: &str) -> String {
    let config = ClientConfig::builder()
        .bootstrap_servers(format!("localhost:{port}"))
        .bootstrap_timeout(Duration::from_secs(10))
        .property("security.protocol", "SSL")
        .property("ssl.truststore.location", ca)
        .build()
        .unwrap();
    let err = Client::connect(config).await.unwrap_err();
    let ErrorKind::Bootstrap(bootstrap) = err.kind() else {
        panic!("not a bootstrap error: {err}")
    };
    let failure = &bootstrap.attempts[0].failure;
    assert!(
        matches!(failure, ConnectFailure::Tls(_)) && failure.is_permanent(),
        "{failure:?}"
    );
    failure.to_string()
}

fn assert_explains_old_tls(text: &str) {
    assert!(
        text.contains("TLS 1.0/1.1") && text.contains("TLS 1.2 or 1.3"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_offering_only_tls_1_1_is_explained() {
    let pki = Pki::generate(&["localhost", "127.0.0.1"]);
    let cluster = FakeCluster::builder().build().unwrap();
    let backend = cluster.broker_addr(0).unwrap();
    let stunnel = Stunnel::legacy_tls_only(&pki, free_port().unwrap(), backend);
    assert_explains_old_tls(&tls_failure(stunnel.port(), &pki.path("ca.pem")).await);

    // A server that answers the ClientHello with a TLS 1.1 ServerHello.
    let mut hello = vec![
        0x16, 0x03, 0x02, 0x00, 42, // handshake record, TLS 1.1, 42 bytes
        0x02, 0x00, 0x00, 38, // ServerHello, 38 bytes
        0x03, 0x02, // TLS 1.1
    ];
    hello.extend_from_slice(&[7u8; 32]); // random
    hello.extend_from_slice(&[0x00, 0xc0, 0x14, 0x00]); // no session id, ECDHE-RSA-AES256-SHA, no compression
    let hello: &'static [u8] = hello.leak();
    let port = answering_port(hello).await;
    assert_explains_old_tls(&tls_failure(port, &pki.path("ca.pem")).await);
}
