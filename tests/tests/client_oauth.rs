//! OAUTHBEARER with Microsoft Entra ID client credentials, end to end: a
//! local Entra-like HTTPS token endpoint (TLS with a test CA), the fake
//! cluster accepting the tokens it issues, refresh before expiry while
//! requests keep flowing, and the fault matrix of the token endpoint.

use std::sync::Arc;
use std::time::Duration;

use ferrokafka::auth::jaas::JaasConfig;
use ferrokafka::auth::tls::PemSource;
use ferrokafka::auth::token::{EntraClientCredentials, TokenProvider};
use ferrokafka::security::EntraTokenProvider;
use ferrokafka::{Client, ClientConfig, ConfigError};
use ferrokafka_fake::FakeCluster;

const SECRET: &str = "entra-secret-8Hq";

use ferrokafka_tests::oauth_endpoint;
use oauth_endpoint::{Reply, TokenEndpoint};

fn jaas() -> String {
    format!(
        r#"kafkashaded.org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="app-7" clientSecret="{SECRET}" scope="https://myns.servicebus.windows.net/.default" ssl.protocol="SSL";"#
    )
}

fn provider(endpoint: &TokenEndpoint, tenant: &str) -> EntraTokenProvider {
    let creds = EntraClientCredentials::from_java(
        &JaasConfig::parse(&jaas()).unwrap(),
        &endpoint.url(tenant),
    )
    .unwrap();
    EntraTokenProvider::new(creds, Some(PemSource::File(endpoint.ca.clone()))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entra_client_credentials_end_to_end_with_refresh_during_a_long_run() {
    const KEY: &[u8] = b"test-signing-key";
    // Signed JWTs living 2 s; the fake checks signature, audience and
    // expiry, and ends each SASL session when its token expires.
    let endpoint = TokenEndpoint::start(vec![], Reply::Jwt(KEY, 2)).await;
    let cluster = FakeCluster::builder()
        .topic("t", 1)
        .sasl_oauthbearer_jwt(KEY, "kafka")
        .build()
        .unwrap();
    // A token signed with another key is refused by the fake.
    let forged = ferrokafka_fake::jwt::sign_hs256(
        &ferrokafka_fake::jwt::Claims {
            subject: "app-7".into(),
            audience: "kafka".into(),
            expires_at: u64::MAX / 2,
        },
        b"another key",
    );
    let err = Client::connect(
        ClientConfig::builder()
            .bootstrap_servers(cluster.bootstrap())
            .property("security.protocol", "SASL_PLAINTEXT")
            .property("sasl.mechanism", "OAUTHBEARER")
            .oauthbearer_token_provider(Arc::new(ferrokafka::auth::token::StaticToken::new(
                ferrokafka::auth::Secret::new(forged),
            )))
            .build()
            .unwrap(),
    )
    .await
    .unwrap_err();
    assert!(err.to_string().contains("invalid_token"), "{err}");
    // The seed's Spark configuration (kafka. prefix removed), with the
    // token endpoint pointing at the local one.
    let props: std::collections::HashMap<String, String> = [
        ("bootstrap.servers", cluster.bootstrap()),
        ("security.protocol", "SASL_PLAINTEXT".to_owned()),
        ("sasl.mechanism", "OAUTHBEARER".to_owned()),
        ("sasl.jaas.config", jaas()),
        ("sasl.oauthbearer.token.endpoint.url", endpoint.url("tenant-1")),
        ("sasl.login.callback.handler.class", "kafkashaded.org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler".to_owned()),
        ("sasl.oauthbearer.ssl.ca.location", endpoint.ca.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    let config = ClientConfig::from_properties(&props).unwrap();
    let client = Client::connect(config).await.unwrap();
    let tp = ferrokafka::TopicPartition::new("t", 0);
    use ferrokafka_protocol::messages::MetadataRequest;
    // One connection for the whole run: its session is bounded by the
    // token's life, so it must re-authenticate in band (KIP-368) with
    // fresh tokens; the broker closes a connection used past its session.
    let conn = client.leader_connection(&tp).await.unwrap();
    for i in 0..45 {
        conn.send(&MetadataRequest::default())
            .await
            .unwrap_or_else(|e| panic!("request {i}: {e}"));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!conn.is_closed(), "{:?}", conn.failure());
    // Tokens were refreshed (2 s lifetime, 4.5 s of requests), each with
    // the client-credentials grant.
    let bodies = endpoint.bodies.lock().unwrap().clone();
    assert!(bodies.len() >= 2, "{bodies:?}");
    for body in &bodies {
        assert!(body.contains("grant_type=client_credentials"), "{body}");
        assert!(body.contains("client_id=app-7"), "{body}");
        assert!(
            body.contains("scope=https%3A%2F%2Fmyns.servicebus.windows.net%2F.default"),
            "{body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_endpoint_fault_matrix() {
    // 500, then a token: retried.
    let ep = TokenEndpoint::start(vec![Reply::json(500, "oops")], Reply::Token("t1", 60)).await;
    let token = provider(&ep, "t").token().await.unwrap();
    assert_eq!(token.value.expose(), "t1");
    assert_eq!(ep.requests(), 2);

    // 429 with Retry-After, then a token: retried after the delay.
    let ep = TokenEndpoint::start(
        vec![Reply::Raw(
            429,
            vec![("Retry-After", "1".to_owned())],
            b"{}".to_vec(),
        )],
        Reply::Token("t2", 60),
    )
    .await;
    assert_eq!(
        provider(&ep, "t").token().await.unwrap().value.expose(),
        "t2"
    );
    assert_eq!(ep.requests(), 2);

    // 503 with Retry-After as an HTTP-date (RFC 9110), then a token.
    let ep = TokenEndpoint::start(
        vec![Reply::Raw(
            503,
            vec![(
                "Retry-After",
                httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(1)),
            )],
            b"{}".to_vec(),
        )],
        Reply::Token("t2d", 60),
    )
    .await;
    assert_eq!(
        provider(&ep, "t").token().await.unwrap().value.expose(),
        "t2d"
    );
    assert_eq!(ep.requests(), 2);

    // 4xx with AADSTS codes: reported once, naming the setting, not retried.
    for (body, code, setting) in [
        (
            r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.","error_codes":[7000215]}"#,
            "AADSTS7000215",
            "client secret",
        ),
        (
            r#"{"error":"invalid_request","error_description":"AADSTS90002: Tenant 'nope' not found.","error_codes":[90002]}"#,
            "AADSTS90002",
            "tenant",
        ),
        (
            r#"{"error":"unauthorized_client","error_description":"AADSTS700016: Application with identifier 'app-7' was not found.","error_codes":[700016]}"#,
            "AADSTS700016",
            "client id",
        ),
        (
            r#"{"error":"invalid_scope","error_description":"AADSTS70011: The provided value for scope is not valid.","error_codes":[70011]}"#,
            "AADSTS70011",
            "scope",
        ),
    ] {
        let ep =
            TokenEndpoint::start(vec![Reply::json(400, body)], Reply::Token("never", 60)).await;
        let err = provider(&ep, "t").token().await.unwrap_err().to_string();
        assert!(err.contains(code) && err.contains(setting), "{err}");
        assert!(!err.contains(SECRET), "{err}");
        assert_eq!(ep.requests(), 1, "{code} was retried");
    }

    // Malformed JSON, a 10 MB body, a redirect: refused, not followed.
    let elsewhere = TokenEndpoint::start(vec![], Reply::Token("stolen", 60)).await;
    for (reply, needle) in [
        (Reply::json(200, "{not json"), "malformed"),
        (
            Reply::Raw(200, Vec::new(), vec![b' '; 10 * 1024 * 1024]),
            "larger than",
        ),
        (
            Reply::Raw(302, vec![("Location", elsewhere.url("t"))], Vec::new()),
            "redirect",
        ),
    ] {
        let ep = TokenEndpoint::start(vec![reply], Reply::Token("never", 60)).await;
        let err = provider(&ep, "t").token().await.unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
        assert_eq!(ep.requests(), 1);
    }
    assert_eq!(elsewhere.requests(), 0, "the redirect was followed");

    // The identity provider goes down: the cached token stays in use.
    let ep = TokenEndpoint::start(vec![Reply::Token("t3", 2)], Reply::json(503, "down")).await;
    let p = provider(&ep, "t");
    assert_eq!(p.token().await.unwrap().value.expose(), "t3");
    tokio::time::sleep(Duration::from_millis(1700)).await;
    assert_eq!(p.token().await.unwrap().value.expose(), "t3");
    assert!(ep.requests() >= 2, "no refresh was tried");

    // http:// and file:// token URLs are refused in the configuration.
    for url in [
        "http://localhost:1/t/oauth2/v2.0/token",
        "file:///etc/passwd",
    ] {
        let props: std::collections::HashMap<String, String> = [
            ("bootstrap.servers", "h:1".to_owned()),
            ("security.protocol", "SASL_SSL".to_owned()),
            ("sasl.mechanism", "OAUTHBEARER".to_owned()),
            ("sasl.jaas.config", jaas()),
            ("sasl.oauthbearer.token.endpoint.url", url.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let err = ClientConfig::from_properties(&props).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::InvalidValue {
                    key: "sasl.oauthbearer.token.endpoint.url",
                    ..
                }
            ),
            "{url}: {err:?}"
        );
        assert!(err.to_string().contains("https://"), "{err}");
        assert!(!format!("{err} {err:?}").contains(SECRET));
    }
}

/// The OAUTHBEARER provider a configuration resolves to.
fn configured_provider(pairs: &[(&str, String)]) -> Arc<dyn TokenProvider> {
    let mut props: std::collections::HashMap<String, String> = [
        (
            "bootstrap.servers",
            "myns.servicebus.windows.net:9093".to_owned(),
        ),
        ("security.protocol", "SASL_SSL".to_owned()),
        ("sasl.mechanism", "OAUTHBEARER".to_owned()),
        ("sasl.jaas.config", jaas()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    props.extend(pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())));
    let config = ClientConfig::from_properties(&props).unwrap();
    let provider = ferrokafka::security::EntraTokenProvider::from_config(&config)
        .unwrap()
        .expect("Entra ID client credentials");
    Arc::new(provider)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sasl_login_timeouts_and_backoff_reach_the_token_fetch() {
    // A port that accepts TCP and never speaks TLS: the connect timeout.
    let silent_tcp = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent_tcp.local_addr().unwrap().port();
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((tcp, _)) = silent_tcp.accept().await {
            open.push(tcp);
        }
    });
    let provider = configured_provider(&[
        (
            "sasl.oauthbearer.token.endpoint.url",
            format!("https://localhost:{port}/t/oauth2/v2.0/token"),
        ),
        ("sasl.login.connect.timeout.ms", "200".to_owned()),
        ("sasl.login.retry.backoff.ms", "10".to_owned()),
        ("sasl.login.retry.backoff.max.ms", "20".to_owned()),
    ]);
    let err = provider.token().await.unwrap_err().to_string();
    assert!(
        err.contains("200ms") && err.contains("sasl.login.connect.timeout.ms"),
        "{err}"
    );
    held.abort();

    // An endpoint that reads the request and never answers: the read timeout.
    let ep = TokenEndpoint::start(vec![], Reply::Silent).await;
    let provider = configured_provider(&[
        ("sasl.oauthbearer.token.endpoint.url", ep.url("t")),
        (
            "sasl.oauthbearer.ssl.ca.location",
            ep.ca.display().to_string(),
        ),
        ("sasl.login.read.timeout.ms", "300".to_owned()),
        ("sasl.login.retry.backoff.ms", "10".to_owned()),
        ("sasl.login.retry.backoff.max.ms", "20".to_owned()),
    ]);
    let err = provider.token().await.unwrap_err().to_string();
    assert!(
        err.contains("300ms") && err.contains("sasl.login.read.timeout.ms"),
        "{err}"
    );
    assert!(!err.contains(SECRET), "{err}");
    // Every try reached the endpoint (the request was sent each time).
    assert!(ep.requests() >= 2, "{}", ep.requests());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn event_hubs_default_scope_is_sent() {
    // The JAAS string without scope: the namespace's scope is asked for.
    let ep = TokenEndpoint::start(vec![], Reply::Token("t-scope", 60)).await;
    let no_scope = format!(
        r#"kafkashaded.org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="app-7" clientSecret="{SECRET}";"#
    );
    let provider = configured_provider(&[
        ("sasl.jaas.config", no_scope),
        ("sasl.oauthbearer.token.endpoint.url", ep.url("t")),
        (
            "sasl.oauthbearer.ssl.ca.location",
            ep.ca.display().to_string(),
        ),
    ]);
    assert_eq!(provider.token().await.unwrap().value.expose(), "t-scope");
    let bodies = ep.bodies.lock().unwrap().clone();
    assert!(
        bodies[0].ends_with("&scope=https%3A%2F%2Fmyns.servicebus.windows.net%2F.default"),
        "{bodies:?}"
    );
}
