//! Canary: with every TRACE event of every crate captured, the passwords
//! used for PLAIN and SCRAM (good and bad, against honest and hostile
//! servers) appear nowhere in the logs, in `Debug` output of the
//! configuration, or in errors; nor do Entra ID client secrets, in any
//! encoding, when a token endpoint echoes the request body in its error,
//! nor secrets put in the token endpoint URL (a password, query values).
//! (The fake cluster's own logs are left out: it is a test tool that plays
//! the server and knows the passwords.)

use std::fmt::Write as _;
use std::time::Duration;

use ferrokafka::{Client, ClientConfig};
use ferrokafka_fake::{FakeCluster, ScramFault, ScramHash};

mod capture;
use capture::Capture;

use ferrokafka_tests::oauth_endpoint;
use oauth_endpoint::{encodings, Reply, TokenEndpoint};

const SECRETS: [&str; 8] = [
    "canary-good-7Q2x",
    "canary-bad-9Zr4",
    "canary-jaas-3Kp8",
    "canary-entra-6Wd",
    "canarytokenA1xyz",
    // Echoed back form-encoded by a careless token endpoint.
    "canary echo+8Jm/=&%",
    // In the token endpoint URL: a password, and a query value.
    "canary-userinfo-2Vb",
    "canary-query-5Hn",
];

fn entra_properties(
    bootstrap: &str,
    url: &str,
    endpoint: &TokenEndpoint,
    secret: &str,
) -> std::collections::HashMap<String, String> {
    [
        ("bootstrap.servers", bootstrap.to_owned()),
        ("security.protocol", "SASL_PLAINTEXT".to_owned()),
        ("sasl.mechanism", "OAUTHBEARER".to_owned()),
        ("sasl.jaas.config", format!(r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="app" clientSecret="{secret}" scope="api://x/.default";"#)),
        ("sasl.oauthbearer.token.endpoint.url", url.to_owned()),
        ("sasl.oauthbearer.ssl.ca.location", endpoint.ca.display().to_string()),
        ("bootstrap.timeout.ms", "10000".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

fn entra_config(bootstrap: &str, endpoint: &TokenEndpoint) -> ClientConfig {
    ClientConfig::from_properties(&entra_properties(
        bootstrap,
        &endpoint.url("tenant"),
        endpoint,
        SECRETS[3],
    ))
    .unwrap()
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
    let capture = Capture::global();
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
    // An endpoint that echoes the whole request body in its error: the
    // secret comes back form-encoded.
    let echo = TokenEndpoint::start(vec![], Reply::Echo(400)).await;
    let err = Client::connect(
        ClientConfig::from_properties(&entra_properties(
            &entra_cluster.bootstrap(),
            &echo.url("tenant"),
            &echo,
            SECRETS[5],
        ))
        .unwrap(),
    )
    .await
    .unwrap_err();
    let _ = writeln!(seen, "{err} {err:?}");
    assert!(
        echo.bodies.lock().unwrap()[0].contains("client_secret=canary+echo%2B8Jm%2F%3D%26%25"),
        "the endpoint did not get the secret"
    );
    assert!(seen.contains("AADSTS900144"), "{seen}");
    // Secrets in the token endpoint URL: a password is refused...
    let with_password = good_endpoint
        .url("tenant")
        .replace("https://", &format!("https://app:{}@", SECRETS[6]));
    let err = ClientConfig::from_properties(&entra_properties(
        &entra_cluster.bootstrap(),
        &with_password,
        &good_endpoint,
        SECRETS[3],
    ))
    .unwrap_err();
    let _ = writeln!(seen, "{err} {err:?}");
    // ...query values work and are never shown, neither in the
    // configuration nor in an error naming the endpoint.
    for endpoint in [&good_endpoint, &echo] {
        let with_query = format!(
            "{}?client_secret={}&x=1",
            endpoint.url("tenant"),
            SECRETS[7]
        );
        let config = ClientConfig::from_properties(&entra_properties(
            &entra_cluster.bootstrap(),
            &with_query,
            endpoint,
            SECRETS[3],
        ))
        .unwrap();
        let _ = writeln!(seen, "{config:?} {:?}", config.to_properties());
        match Client::connect(config).await {
            Ok(client) => {
                let _ = writeln!(seen, "{client:?}");
            }
            Err(err) => {
                let _ = writeln!(seen, "{err} {err:?}");
            }
        }
    }
    assert!(seen.contains("client_secret="), "{seen}");

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
    // the name is not, and the connector logs a warning once.
    let tls_peer = TokenEndpoint::start(vec![], Reply::Token("unused", 1)).await;
    let settings = ferrokafka::auth::tls::TlsSettings {
        ca: Some(ferrokafka::auth::tls::PemSource::File(tls_peer.ca.clone())),
        verify_hostname: false,
        ..Default::default()
    };
    let connector = ferrokafka::low_level::TlsConnector::new(&settings).unwrap();
    let addr: std::net::SocketAddr = ([127, 0, 0, 1], tls_peer.port).into();
    use ferrokafka::low_level::Connector as _;
    // The certificate names localhost; 127.0.0.1 is accepted only because
    // verification is off.
    assert!(connector.connect(addr, "127.0.0.1").await.is_ok());
    assert!(connector.connect(addr, "127.0.0.1").await.is_ok());
    let strict = ferrokafka::auth::tls::TlsSettings {
        verify_hostname: true,
        ..settings.clone()
    };
    let strict = ferrokafka::low_level::TlsConnector::new(&strict).unwrap();
    assert!(strict.connect(addr, "127.0.0.1").await.is_err());

    let logs = capture.text();
    // Once per connector (so once per client), not once per connection.
    assert_eq!(
        capture
            .warnings_with(&["host name verification is disabled"])
            .len(),
        1,
        "{logs}"
    );
    // The capture really saw the client at work.
    assert!(logs.contains("SASL authenticated"), "{logs}");
    let mut leaks = Vec::new();
    for secret in SECRETS {
        for form in encodings(secret) {
            if logs.contains(&form) {
                leaks.push(format!("{secret:?} in the logs as {form:?}"));
            }
            if seen.contains(&form) {
                leaks.push(format!("{secret:?} in Debug/errors as {form:?}"));
            }
        }
    }
    assert!(leaks.is_empty(), "{leaks:#?}\nlogs:\n{logs}\nseen:\n{seen}");
    // And the errors were produced (the bad password and the evil server).
    assert!(
        seen.contains("authentication as user \"eve\" failed"),
        "{seen}"
    );
    assert!(seen.contains("signature is wrong"), "{seen}");
}
