//! The seed's option maps accepted verbatim: the plain one against Nisshi,
//! the SSL one over mutual TLS and the Event Hubs OAuth one end to end on
//! the fake cluster (with the local token endpoint).

use ferrokafka::Client;
use ferrokafka_streaming::batch::BatchSource;
use ferrokafka_streaming::options::SourceOptions;

use super::oauth_endpoint;
use super::support::*;

pub(crate) async fn seed_plain_map_reads(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "orders", 1).await;
    produce(&admin, "orders", 0, 4).await;
    // The seed's plain map verbatim, the broker's address put in.
    let json = r#"{"kafka.bootstrap.servers": "host:9092", "subscribe": "orders", "startingOffsets": "earliest"}"#
        .replace("host:9092", &bootstrap);
    let settings = SourceOptions::from_json(&json).unwrap().batch().unwrap();
    assert!(settings.warnings().is_empty());
    let source = BatchSource::connect(settings).await.unwrap();
    let (_, rows) = plan_and_read(&source).await;
    assert_eq!(offsets(&rows), expected(&[("orders-0", 0..4)]));
}

// ---- the seed's SSL and Event Hubs maps, on the fake cluster ------------

const SECRET: &str = "seed-secret-9Wz";

/// Validates `options` (no warnings), writes 5 records to each of the two
/// partitions of `topic` with a client configured from them, reads them
/// back with a batch source made from them, and checks that nothing shows
/// the secret.
async fn reads_every_record(options: &SourceOptions, topic: &str) {
    let settings = options.batch().unwrap();
    assert!(settings.warnings().is_empty(), "{:?}", settings.warnings());
    let config = settings.source.client_properties.client_config().unwrap();
    let client = Client::connect(config).await.unwrap();
    for partition in 0..2 {
        produce(&client, topic, partition, 5).await;
    }
    let source = BatchSource::connect(settings).await.unwrap();
    let (_, rows) = plan_and_read(&source).await;
    let (first, second) = (format!("{topic}-0"), format!("{topic}-1"));
    assert_eq!(offsets(&rows), expected(&[(&first, 0..5), (&second, 0..5)]));
    let shown = format!("{source:?} {options:?}");
    assert!(!shown.contains(SECRET), "{shown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_ssl_map_reads_over_mutual_tls() {
    use ferrokafka_tests::pki::Pki;

    let pki = Pki::generate(&["localhost", "127.0.0.1"]);
    let cluster = ferrokafka_fake::FakeCluster::builder()
        .topic("orders", 2)
        .tls(pki.server().cert_pem.clone(), pki.server().key_pem.clone())
        .tls_client_ca(pki.ca().pem())
        .build()
        .unwrap();
    let (truststore, keystore) = pki.java_stores(SECRET);
    // The seed's SSL map, verbatim but for the addresses and file paths.
    let options = SourceOptions::from_pairs([
        ("kafka.bootstrap.servers", cluster.bootstrap().as_str()),
        ("kafka.security.protocol", "SSL"),
        ("kafka.ssl.truststore.location", truststore.as_str()),
        ("kafka.ssl.truststore.password", SECRET),
        ("kafka.ssl.truststore.type", "PKCS12"),
        ("kafka.ssl.keystore.location", keystore.as_str()),
        ("kafka.ssl.keystore.password", SECRET),
        ("kafka.ssl.keystore.type", "PKCS12"),
        ("kafka.ssl.key.password", SECRET),
        ("subscribe", "orders"),
    ]);
    reads_every_record(&options, "orders").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_event_hubs_map_reads_end_to_end() {
    use oauth_endpoint::{Reply, TokenEndpoint};
    const KEY: &[u8] = b"event-hubs-signing-key";
    // The local Entra-like endpoint issues JWTs (subject app-7, audience
    // kafka) that the fake cluster's OAUTHBEARER validator checks.
    let endpoint = TokenEndpoint::start(vec![], Reply::Jwt(KEY, 300)).await;
    let pki = ferrokafka_tests::pki::Pki::generate(&["localhost", "127.0.0.1"]);
    let cluster = ferrokafka_fake::FakeCluster::builder()
        .topic("events", 2)
        .tls(pki.server().cert_pem.clone(), pki.server().key_pem.clone())
        .sasl_oauthbearer_jwt(KEY, "kafka")
        .build()
        .unwrap();
    // The seed's Event Hubs map verbatim (kafkashaded classes, the client
    // credentials and scope in the JAAS string), but for the broker and
    // token endpoint addresses; then the test CAs.
    let lines = format!(
        "kafka.bootstrap.servers = {bootstrap}\n\
         kafka.security.protocol = SASL_SSL\n\
         kafka.sasl.mechanism = OAUTHBEARER\n\
         kafka.sasl.jaas.config = kafkashaded.org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule \
         required clientId=\"app-7\" clientSecret=\"{SECRET}\" scope=\"https://myns.servicebus.windows.net/.default\" \
         ssl.protocol=\"SSL\";\n\
         kafka.sasl.oauthbearer.token.endpoint.url = {url}\n\
         kafka.sasl.login.callback.handler.class = \
         kafkashaded.org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler\n\
         subscribe = events\n\
         # the test's certificate authorities\n\
         kafka.ssl.truststore.location = {ca}\n\
         kafka.ssl.truststore.type = PEM\n\
         kafka.sasl.oauthbearer.ssl.ca.location = {endpoint_ca}\n",
        bootstrap = cluster.bootstrap(),
        url = endpoint.url("tenant-1"),
        ca = pki.path("ca.pem"),
        endpoint_ca = endpoint.ca.display(),
    );
    let options = SourceOptions::from_lines(&lines).unwrap();
    reads_every_record(&options, "events").await;
    // Tokens came from the endpoint with the client-credentials grant and
    // the JAAS string's scope.
    let bodies = endpoint.bodies.lock().unwrap().clone();
    assert!(!bodies.is_empty());
    for body in &bodies {
        assert!(
            body.contains("grant_type=client_credentials")
                && body.contains("client_id=app-7")
                && body.contains("scope=https%3A%2F%2Fmyns.servicebus.windows.net%2F.default"),
            "{body}"
        );
    }
}
