//! Client settings and refusal checks shared by the security tests
//! (security_sasl, security_tls, security_oauthbearer, security_reauth).

use std::time::Duration;

use ferrokafka::{Client, ClientConfig, ConnectFailure, ErrorKind};

/// A client of `bootstrap` authenticating with SASL `mechanism` (PLAIN or
/// SCRAM) over plaintext.
pub fn sasl_config(bootstrap: &str, mechanism: &str, user: &str, password: &str) -> ClientConfig {
    sasl_builder(bootstrap, mechanism, user, password)
        .build()
        .unwrap()
}

/// As [`sasl_config`], for more settings.
pub fn sasl_builder(
    bootstrap: &str,
    mechanism: &str,
    user: &str,
    password: &str,
) -> ferrokafka::ClientConfigBuilder {
    let module = if mechanism == "PLAIN" {
        "org.apache.kafka.common.security.plain.PlainLoginModule"
    } else {
        "org.apache.kafka.common.security.scram.ScramLoginModule"
    };
    ClientConfig::builder()
        .bootstrap_servers(bootstrap)
        .bootstrap_timeout(Duration::from_secs(20))
        .property("security.protocol", "SASL_PLAINTEXT")
        .property("sasl.mechanism", mechanism)
        .property(
            "sasl.jaas.config",
            &format!(r#"{module} required username="{user}" password="{password}";"#),
        )
}

/// Connects and expects an authentication refusal; returns its text.
pub async fn refused(config: ClientConfig, password: &str) -> String {
    let err = Client::connect(config).await.unwrap_err();
    let ErrorKind::Bootstrap(b) = err.kind() else {
        panic!("expected a bootstrap error, got {err}")
    };
    let attempt = &b.attempts[0];
    assert!(
        matches!(attempt.failure, ConnectFailure::Authentication { .. }),
        "{b}"
    );
    // Refused credentials are not retried until the deadline.
    assert_eq!(attempt.tries, 1, "{b}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(password), "the password leaked: {text}");
    text
}

/// A client of `bootstrap` over TLS (`security.protocol=SSL`) with these
/// settings.
pub fn tls_config(bootstrap: &str, settings: &[(&str, &str)]) -> ClientConfig {
    let mut builder = ClientConfig::builder()
        .bootstrap_servers(bootstrap)
        .bootstrap_timeout(Duration::from_secs(20))
        .property("security.protocol", "SSL");
    for (k, v) in settings {
        builder = builder.property(k, v);
    }
    builder.build().unwrap()
}

/// Connects and expects a TLS refusal; returns its text.
pub async fn tls_refused(config: ClientConfig) -> String {
    let err = Client::connect(config).await.unwrap_err();
    let ErrorKind::Bootstrap(b) = err.kind() else {
        panic!("expected a bootstrap error, got {err}")
    };
    assert!(
        matches!(b.attempts[0].failure, ConnectFailure::Tls(_)),
        "{b}"
    );
    // Certificate problems are not retried until the deadline.
    assert_eq!(b.attempts[0].tries, 1, "{b}");
    b.attempts[0].failure.to_string()
}
