//! Canary: with every TRACE event of every crate captured, the passwords
//! used for PLAIN and SCRAM (good and bad, against honest and hostile
//! servers) appear nowhere in the logs, in `Debug` output of the
//! configuration, or in errors. (The fake cluster's own logs are left out:
//! it is a test tool that plays the server and knows the passwords.)

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrokafka::{Client, ClientConfig};
use ferrokafka_fake::{FakeCluster, ScramFault, ScramHash};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records every span and event, with all fields, as text.
#[derive(Clone, Default)]
struct Capture {
    lines: Arc<Mutex<String>>,
    next_id: Arc<AtomicU64>,
}

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

impl Capture {
    fn keep(metadata: &Metadata<'_>) -> bool {
        !metadata.target().starts_with("ferrokafka_fake")
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        if Self::keep(span.metadata()) {
            let mut line = format!("span {}:", span.metadata().target());
            span.record(&mut Line(&mut line));
            self.lines.lock().unwrap().push_str(&(line + "\n"));
        }
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut line = String::from("record:");
        values.record(&mut Line(&mut line));
        self.lines.lock().unwrap().push_str(&(line + "\n"));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if Self::keep(event.metadata()) {
            let mut line = format!(
                "{} {}:",
                event.metadata().level(),
                event.metadata().target()
            );
            event.record(&mut Line(&mut line));
            self.lines.lock().unwrap().push_str(&(line + "\n"));
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

mod oauth_endpoint;
use oauth_endpoint::{Reply, TokenEndpoint};

const SECRETS: [&str; 5] = [
    "canary-good-7Q2x",
    "canary-bad-9Zr4",
    "canary-jaas-3Kp8",
    "canary-entra-6Wd",
    "canarytokenA1xyz",
];

fn entra_config(bootstrap: &str, endpoint: &TokenEndpoint) -> ClientConfig {
    let props: std::collections::HashMap<String, String> = [
        ("bootstrap.servers", bootstrap.to_owned()),
        ("security.protocol", "SASL_PLAINTEXT".to_owned()),
        ("sasl.mechanism", "OAUTHBEARER".to_owned()),
        ("sasl.jaas.config", format!(r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="app" clientSecret="{}" scope="api://x/.default";"#, SECRETS[3])),
        ("sasl.oauthbearer.token.endpoint.url", endpoint.url("tenant")),
        ("sasl.oauthbearer.ssl.ca.location", endpoint.ca.display().to_string()),
        ("bootstrap.timeout.ms", "10000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    ClientConfig::from_properties(&props).unwrap()
}

fn config(bootstrap: &str, mechanism: &str, password: &str) -> ClientConfig {
    ClientConfig::builder()
        .bootstrap_servers(bootstrap)
        .bootstrap_timeout(Duration::from_secs(10))
        .property("security.protocol", "SASL_PLAINTEXT")
        .property("sasl.mechanism", mechanism)
        .property("sasl.username", "eve")
        .property("sasl.password", password)
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_trace_logs_debug_output_or_errors() {
    let capture = Capture::default();
    tracing::subscriber::set_global_default(capture.clone()).unwrap();
    let mut seen = String::new();
    let (good, bad, jaas_secret) = (SECRETS[0], SECRETS[1], SECRETS[2]);

    let plain = FakeCluster::builder()
        .sasl_plain_user("eve", good)
        .build()
        .unwrap();
    let scram = FakeCluster::builder()
        .sasl_scram_user(ScramHash::Sha512, "eve", good)
        .build()
        .unwrap();
    let evil = FakeCluster::builder()
        .sasl_scram_user(ScramHash::Sha256, "eve", good)
        .scram_fault(ScramFault::BadServerSignature)
        .build()
        .unwrap();
    for (cluster, mechanism) in [
        (&plain, "PLAIN"),
        (&scram, "SCRAM-SHA-512"),
        (&evil, "SCRAM-SHA-256"),
    ] {
        for password in [good, bad] {
            let config = config(&cluster.bootstrap(), mechanism, password);
            let _ = writeln!(seen, "{config:?} {:?}", config.to_properties());
            match Client::connect(config).await {
                Ok(client) => {
                    let _ = writeln!(seen, "{client:?}");
                    client.refresh_metadata(None).await.unwrap();
                }
                Err(e) => {
                    let _ = writeln!(seen, "{e} {e:?}");
                }
            }
        }
    }
    // Entra ID client credentials: a good exchange, then an endpoint
    // that echoes the secret in its AADSTS error.
    let entra_cluster = FakeCluster::builder()
        .sasl_oauthbearer_token(SECRETS[4], "app")
        .build()
        .unwrap();
    let good_endpoint = TokenEndpoint::start(vec![], Reply::Token(SECRETS[4], 3600)).await;
    let config = entra_config(&entra_cluster.bootstrap(), &good_endpoint);
    let _ = writeln!(seen, "{config:?} {:?}", config.to_properties());
    let client = Client::connect(config).await.unwrap();
    let _ = writeln!(seen, "{client:?}");
    client.refresh_metadata(None).await.unwrap();
    let echoing = TokenEndpoint::start(
        vec![],
        Reply::json(
            401,
            &format!(
                r#"{{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided: {}","error_codes":[7000215]}}"#,
                SECRETS[3]
            ),
        ),
    )
    .await;
    let err = Client::connect(entra_config(&entra_cluster.bootstrap(), &echoing))
        .await
        .unwrap_err();
    let _ = writeln!(seen, "{err} {err:?}");
    assert!(seen.contains("AADSTS7000215"), "{seen}");

    // A JAAS string that fails to parse after the secret.
    let err = ClientConfig::builder()
        .bootstrap_servers("h:1")
        .property("security.protocol", "SASL_PLAINTEXT")
        .property(
            "sasl.jaas.config",
            &format!(r#"x.PlainLoginModule required password="{jaas_secret}" oops"#),
        )
        .build()
        .unwrap_err();
    let _ = writeln!(seen, "{err} {err:?}");

    // TLS without host-name verification: the chain is still checked,
    // the name is not, and every connection logs a warning.
    let tls_peer = TokenEndpoint::start(vec![], Reply::Token("unused", 1)).await;
    let settings = ferrokafka::auth::tls::TlsSettings {
        ca: Some(ferrokafka::auth::tls::PemSource::File(tls_peer.ca.clone())),
        verify_hostname: false,
        ..Default::default()
    };
    let connector = ferrokafka::transport::TlsConnector::new(&settings).unwrap();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], tls_peer.port).into();
    use ferrokafka::transport::Connector as _;
    // The certificate names localhost; 127.0.0.1 is accepted only because
    // verification is off.
    assert!(connector.connect(addr, "127.0.0.1").await.is_ok());
    let strict = ferrokafka::auth::tls::TlsSettings {
        verify_hostname: true,
        ..settings.clone()
    };
    let strict = ferrokafka::transport::TlsConnector::new(&strict).unwrap();
    assert!(strict.connect(addr, "127.0.0.1").await.is_err());

    let logs = capture.lines.lock().unwrap().clone();
    assert!(
        logs.contains("WARN") && logs.contains("host name verification is disabled"),
        "{logs}"
    );
    // The capture really saw the client at work.
    assert!(logs.contains("SASL authenticated"), "{logs}");
    for secret in SECRETS {
        assert!(!logs.contains(secret), "{secret} in the logs:\n{logs}");
        assert!(!seen.contains(secret), "{secret} in Debug/errors:\n{seen}");
    }
    // And the errors were produced (the bad password and the evil server).
    assert!(
        seen.contains("authentication as user \"eve\" failed"),
        "{seen}"
    );
    assert!(seen.contains("signature is wrong"), "{seen}");
}
