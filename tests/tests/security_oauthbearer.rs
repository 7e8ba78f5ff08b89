//! OAUTHBEARER against the fake cluster: a pluggable token validator, a
//! static token and an async callback; and the seed's Event Hubs
//! configuration understood key by key, without showing its secret.

mod common;

use std::time::Duration;

use ferrokafka::{Client, ClientConfig};
use ferrokafka_fake::FakeCluster;

use common::security::refused;

#[tokio::test]
async fn oauthbearer_against_a_pluggable_token_validator() {
    use ferrokafka::auth::token::StaticToken;
    use ferrokafka::auth::Secret;
    use std::sync::{Arc, Mutex};

    // The fake asks the test's own validator about every token it receives.
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = Arc::clone(&seen);
    let cluster = FakeCluster::builder()
        .topic("t", 1)
        .sasl_oauthbearer_validator(move |token| {
            log.lock().unwrap().push(token.to_owned());
            token.strip_prefix("issued-for-").map(str::to_owned)
        })
        .build()
        .unwrap();
    let config = |token: &str| {
        ClientConfig::builder()
            .bootstrap_servers(cluster.bootstrap())
            .bootstrap_timeout(Duration::from_secs(20))
            .property("security.protocol", "SASL_PLAINTEXT")
            .property("sasl.mechanism", "OAUTHBEARER")
            .oauthbearer_token_provider(Arc::new(StaticToken::new(Secret::new(token))))
            .build()
            .unwrap()
    };
    let client = Client::connect(config("issued-for-app")).await.unwrap();
    client.refresh_metadata(None).await.unwrap();
    assert!(seen.lock().unwrap().iter().any(|t| t == "issued-for-app"));

    let text = refused(config("forged"), "forged").await;
    assert!(text.contains("invalid_token"), "{text}");
    assert!(seen.lock().unwrap().iter().any(|t| t == "forged"));
}

#[tokio::test]
async fn oauthbearer_with_a_static_token_and_an_async_callback() {
    use ferrokafka::auth::token::{BearerToken, StaticToken, TokenCallback, TokenError};
    use ferrokafka::auth::Secret;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let cluster = FakeCluster::builder()
        .topic("t", 1)
        .sasl_oauthbearer_token("tok.good-1", "app")
        .build()
        .unwrap();
    let config = |provider: Arc<dyn ferrokafka::auth::token::TokenProvider>| {
        ClientConfig::builder()
            .bootstrap_servers(cluster.bootstrap())
            .bootstrap_timeout(Duration::from_secs(20))
            .property("security.protocol", "SASL_PLAINTEXT")
            .property("sasl.mechanism", "OAUTHBEARER")
            .property(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required extension_logicalCluster=\"lkc-1\";",
            )
            .oauthbearer_token_provider(provider)
            .build()
            .unwrap()
    };
    let client = Client::connect(config(Arc::new(StaticToken::new(Secret::new(
        "tok.good-1",
    )))))
    .await
    .unwrap();
    client.refresh_metadata(None).await.unwrap();
    let text = refused(
        config(Arc::new(StaticToken::new(Secret::new("tok.bad-2")))),
        "tok.bad-2",
    )
    .await;
    assert!(text.contains("invalid_token"), "{text}");

    // The callback runs (asynchronously) for each new connection.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let callback = TokenCallback::new(move || {
        let counter = Arc::clone(&counter);
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(BearerToken::new(Secret::new("tok.good-1")))
        }
    });
    let client = Client::connect(config(Arc::new(callback))).await.unwrap();
    client.refresh_metadata(None).await.unwrap();
    assert!(calls.load(Ordering::SeqCst) >= 1);
    // A failing callback is reported as such.
    let failing = TokenCallback::new(|| async {
        Err(TokenError::Provider("identity provider unreachable".into()))
    });
    let err = Client::connect(config(Arc::new(failing)))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("identity provider unreachable"),
        "{err}"
    );
}

#[test]
fn the_seed_event_hubs_configuration_is_understood() {
    // Spark's options with the `kafka.` prefix removed, verbatim.
    let props: std::collections::HashMap<String, String> = [
        ("bootstrap.servers", "myns.servicebus.windows.net:9093"),
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "OAUTHBEARER"),
        ("sasl.jaas.config", r#"kafkashaded.org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="11111111-2222" clientSecret="seed-secret-5Tq" scope="https://myns.servicebus.windows.net/.default" ssl.protocol="SSL";"#),
        ("sasl.oauthbearer.token.endpoint.url", "https://login.microsoft.com/my-tenant/oauth2/v2.0/token"),
        ("sasl.login.callback.handler.class", "kafkashaded.org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    // Every key is known and lands in the right setting.
    let mut parsed = ClientConfig::default();
    for (k, v) in &props {
        assert!(parsed.set(k, v).unwrap(), "{k} unknown");
    }
    let entra = parsed
        .security()
        .entra_client_credentials()
        .unwrap()
        .expect("Entra settings");
    assert_eq!(entra.tenant.as_deref(), Some("my-tenant"));
    assert_eq!(entra.client_id, "11111111-2222");
    assert_eq!(entra.client_secret.expose(), "seed-secret-5Tq");
    assert_eq!(
        entra.scope.as_deref(),
        Some("https://myns.servicebus.windows.net/.default")
    );
    assert_eq!(
        parsed.security_protocol(),
        ferrokafka::SecurityProtocol::SaslSsl
    );
    // The whole configuration validates (no network at this point) and
    // resolves to OAUTHBEARER with the Entra provider; nothing shows the
    // secret.
    let config = ClientConfig::from_properties(&props).unwrap();
    assert_eq!(
        config.security().sasl_mechanism(),
        Some(ferrokafka::auth::Mechanism::OAuthBearer)
    );
    assert!(
        ferrokafka::security::EntraTokenProvider::from_config(&config)
            .unwrap()
            .is_some()
    );
    let shown = format!("{config:?} {:?}", config.to_properties());
    assert!(!shown.contains("seed-secret-5Tq"), "{shown}");
}
