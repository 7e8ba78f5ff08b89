use super::*;
use crate::config::keys;
use ferrokafka_auth::entra::LoginSettings;
use ferrokafka_auth::tls::StoreType;
use ferrokafka_auth::Secret;
use std::collections::HashMap;
use std::time::Duration;

fn config(pairs: &[(&str, &str)]) -> Result<ClientConfig, ConfigError> {
    let mut map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    map.insert("bootstrap.servers".into(), "h:1".into());
    ClientConfig::from_properties(&map)
}

#[test]
fn plain_and_scram_from_jaas_or_username() {
    let c = config(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="pw-canary";"#),
        ])
        .unwrap();
    assert_eq!(
        sasl_auth(&c).unwrap().unwrap(),
        SaslAuth::Plain(Credentials::new("u", Secret::new("pw-canary")))
    );
    assert!(!format!("{c:?}").contains("pw-canary"));
    assert!(!format!("{:?}", c.to_properties()).contains("pw-canary"));
    let c = config(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanisms", "scram-sha-512"),
        ("sasl.username", "u"),
        ("sasl.password", "pw"),
    ])
    .unwrap();
    assert_eq!(
        sasl_auth(&c).unwrap().unwrap().mechanism(),
        Mechanism::ScramSha512
    );
    // No mechanism, but a PLAIN login module: PLAIN.
    let c = config(&[
        ("security.protocol", "SASL_PLAINTEXT"),
        (
            "sasl.jaas.config",
            r#"x.PlainLoginModule required username="u" password="p";"#,
        ),
    ])
    .unwrap();
    assert_eq!(
        sasl_auth(&c).unwrap().unwrap().mechanism(),
        Mechanism::Plain
    );
}

#[test]
fn sasl_login_keys_are_accepted_validated_and_kept() {
    let c = config(&[
        ("sasl.login.refresh.window.factor", "0.9"),
        ("sasl.login.refresh.window.jitter", "0.1"),
        ("sasl.login.refresh.min.period.seconds", "30"),
        ("sasl.login.refresh.buffer.seconds", "120"),
        ("sasl.login.connect.timeout.ms", "2500"),
        ("sasl.login.read.timeout.ms", "7000"),
        ("sasl.login.retry.backoff.ms", "100"),
        ("sasl.login.retry.backoff.max.ms", "10000"),
        ("sasl.oauthbearer.scope.claim.name", "scp"),
        ("sasl.oauthbearer.sub.claim.name", "oid"),
    ])
    .unwrap();
    let login = c.security().login();
    assert_eq!(login.refresh_window_factor, 0.9);
    assert_eq!(login.refresh_window_jitter, 0.1);
    assert_eq!(login.refresh_min_period, Duration::from_secs(30));
    assert_eq!(login.refresh_buffer, Duration::from_secs(120));
    assert_eq!(login.connect_timeout, Some(Duration::from_millis(2500)));
    assert_eq!(login.read_timeout, Some(Duration::from_millis(7000)));
    assert_eq!(login.retry_backoff, Duration::from_millis(100));
    assert_eq!(login.retry_backoff_max, Duration::from_secs(10));
    // Unset: Java's refresh defaults.
    assert_eq!(
        config(&[]).unwrap().security().login(),
        LoginSettings::default()
    );
    // Java's ranges, each refusal naming the key and the range.
    for (key, value, range) in [
        ("sasl.login.refresh.window.factor", "0.4", "0.5 to 1"),
        ("sasl.login.refresh.window.factor", "1.01", "0.5 to 1"),
        ("sasl.login.refresh.window.factor", "NaN", "0.5 to 1"),
        ("sasl.login.refresh.window.jitter", "0.3", "0 to 0.25"),
        ("sasl.login.refresh.window.jitter", "-0.1", "0 to 0.25"),
        ("sasl.login.refresh.min.period.seconds", "901", "0 to 900"),
        ("sasl.login.refresh.buffer.seconds", "3601", "0 to 3600"),
        ("sasl.login.connect.timeout.ms", "0", "from 1"),
        ("sasl.login.read.timeout.ms", "soon", "from 1"),
        ("sasl.login.retry.backoff.ms", "-1", "from 0"),
        ("sasl.oauthbearer.sub.claim.name", " ", "claim name"),
    ] {
        let err = config(&[(key, value)]).unwrap_err().to_string();
        assert!(
            err.contains(key) && err.contains(range),
            "{key}={value}: {err}"
        );
    }
    let err = config(&[
        ("sasl.login.retry.backoff.ms", "5000"),
        ("sasl.login.retry.backoff.max.ms", "1000"),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("sasl.login.retry.backoff.max.ms"), "{err}");
}

#[test]
fn event_hubs_defaults_for_entra_client_credentials() {
    let module =
        "kafkashaded.org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required";
    let handler = "kafkashaded.org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler";
    let with = |jaas: &str, extra: &[(&str, &str)]| {
        let mut map: HashMap<String, String> = [
            (
                "bootstrap.servers",
                "mynamespace.servicebus.windows.net:9093",
            ),
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "OAUTHBEARER"),
            ("sasl.login.callback.handler.class", handler),
            ("sasl.jaas.config", jaas),
        ]
        .iter()
        .chain(extra)
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        map.retain(|_, v| !v.is_empty());
        ClientConfig::from_properties(&map)
    };
    // No scope: the namespace's.
    let c = with(
        &format!(r#"{module} clientId="app" clientSecret="canary-s3";"#),
        &[(
            "sasl.oauthbearer.token.endpoint.url",
            "https://login.microsoftonline.com/t-9/oauth2/v2.0/token",
        )],
    )
    .unwrap();
    let e = c.security().entra_client_credentials().unwrap().unwrap();
    assert_eq!(
        e.scope.as_deref(),
        Some("https://mynamespace.servicebus.windows.net/.default")
    );
    // No endpoint, a tenant: Entra's endpoint for it.
    let c = with(
            &format!(r#"{module} clientId="app" clientSecret="canary-s3" tenantId="contoso.onmicrosoft.com";"#),
            &[],
        )
        .unwrap();
    let e = c.security().entra_client_credentials().unwrap().unwrap();
    assert_eq!(
        e.token_endpoint,
        "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
    );
    assert_eq!(e.tenant.as_deref(), Some("contoso.onmicrosoft.com"));
    // Neither: the error names the setting to add.
    let err = with(
        &format!(r#"{module} clientId="app" clientSecret="canary-s3";"#),
        &[],
    )
    .unwrap_err();
    assert!(
        matches!(err, ConfigError::Missing { key, .. } if key == keys::SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL),
        "{err}"
    );
    assert!(err.to_string().contains("tenantId"), "{err}");
    // No client id: named.
    let err = with(
        &format!(r#"{module} clientSecret="canary-s3" tenantId="t";"#),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("clientId") && !err.contains("canary-s3"),
        "{err}"
    );
    // The handler without any JAAS string names it.
    let err = with("", &[]).unwrap_err().to_string();
    assert!(err.contains("sasl.jaas.config"), "{err}");
}

#[test]
fn the_token_endpoint_trusts_its_own_ca_else_the_kafka_trust_store() {
    let with = |pairs: &[(&str, &str)]| {
        let mut security = SecurityConfig::default();
        for (key, value) in pairs {
            assert!(security.values.set(key, value).unwrap(), "{key}");
        }
        security
    };
    assert_eq!(
        token_endpoint_trust(&with(&[])),
        TokenEndpointTrust::PublicRoots
    );
    // The Kafka trust store, with its type and password (a PKCS#12
    // store is not read as PEM).
    let kafka = with(&[
        ("ssl.truststore.location", "/etc/kafka/truststore.p12"),
        ("ssl.truststore.type", "PKCS12"),
        ("ssl.truststore.password", "store-pw"),
    ]);
    let TokenEndpointTrust::KafkaTrustStore(tls) = token_endpoint_trust(&kafka) else {
        panic!("{:?}", token_endpoint_trust(&kafka))
    };
    assert_eq!(
        tls.ca,
        Some(PemSource::File("/etc/kafka/truststore.p12".into()))
    );
    assert_eq!(tls.ca_type, StoreType::Pkcs12);
    assert_eq!(tls.truststore_password, Some(Secret::new("store-pw")));
    // Its own CA wins.
    let own = with(&[
        ("ssl.truststore.location", "/etc/kafka/ca.pem"),
        ("sasl.oauthbearer.ssl.ca.location", "/etc/idp-ca.pem"),
    ]);
    assert_eq!(
        token_endpoint_trust(&own),
        TokenEndpointTrust::TokenEndpointCa(PemSource::File("/etc/idp-ca.pem".into()))
    );
}

#[test]
fn the_token_endpoint_url_is_shown_without_userinfo_or_query_values() {
    let module = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required";
    let c = config(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "OAUTHBEARER"),
        (
            "sasl.jaas.config",
            &format!(r#"{module} clientId="a" clientSecret="s";"#),
        ),
        (
            "sasl.oauthbearer.token.endpoint.url",
            "https://idp.example/t/token?client_secret=q-canary",
        ),
    ])
    .unwrap();
    let shown = format!("{c:?} {:?}", c.to_properties());
    assert!(
        shown.contains("https://idp.example/t/token?client_secret=<redacted>"),
        "{shown}"
    );
    assert!(!shown.contains("q-canary"), "{shown}");
    let err = config(&[
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "OAUTHBEARER"),
        (
            "sasl.jaas.config",
            &format!(r#"{module} clientId="a" clientSecret="s";"#),
        ),
        (
            "sasl.oauthbearer.token.endpoint.url",
            "https://a:pw-canary@idp.example/t/token",
        ),
    ])
    .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(text.contains("<redacted>@idp.example"), "{text}");
    assert!(!text.contains("pw-canary"), "{text}");
}

#[test]
fn mistakes_are_named() {
    for (pairs, needle) in [
        (
            vec![("security.protocol", "SASL_PLAINTEXT")],
            "sasl.mechanism",
        ),
        (
            vec![
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", "GSSAPI"),
            ],
            "GSSAPI/Kerberos is not supported",
        ),
        (
            vec![
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", "PLAIN"),
            ],
            "username",
        ),
        (
            vec![
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", "PLAIN"),
                ("sasl.username", "u"),
            ],
            "sasl.password",
        ),
        (
            vec![
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", "SCRAM-SHA-256"),
                (
                    "sasl.jaas.config",
                    r#"x.PlainLoginModule required username="u" password="secret-x";"#,
                ),
            ],
            "login module must match",
        ),
        (
            vec![
                ("security.protocol", "PLAINTEXT"),
                ("sasl.mechanism", "PLAIN"),
            ],
            "SASL settings do nothing",
        ),
        (
            vec![
                ("security.protocol", "SASL_PLAINTEXT"),
                ("sasl.mechanism", "PLAIN"),
                ("sasl.username", "u"),
                ("sasl.password", "p"),
                ("ssl.truststore.location", "/x"),
            ],
            "TLS settings do nothing",
        ),
        (
            vec![("ssl.endpoint.identification.algorithm", "none")],
            "empty string",
        ),
        (vec![("ssl.truststore.type", "BKS")], "PEM, JKS, PKCS12"),
        (
            vec![(
                "sasl.jaas.config",
                r#"x.PlainLoginModule required password="secret-x"#,
            )],
            "unterminated",
        ),
    ] {
        let err = config(&pairs).unwrap_err().to_string();
        assert!(err.contains(needle), "{pairs:?}: {err}");
        assert!(!err.contains("secret-x"), "{err}");
    }
}
