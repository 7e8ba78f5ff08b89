use super::*;

/// A property map of `pairs`.
pub(super) fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

#[test]
fn parses_java_names_and_keeps_defaults() {
    let config = ClientConfig::from_properties(&props(&[
        ("bootstrap.servers", " a:1 , [::1]:9092,10.0.0.1:2"),
        ("request.timeout.ms", "1234"),
        ("isolation.level", "read_committed"),
        ("check.crcs", "FALSE"),
        ("security.protocol", "plaintext"),
    ]))
    .unwrap();
    assert_eq!(
        config.bootstrap_servers(),
        &[
            BrokerAddress {
                host: "a".into(),
                port: 1
            },
            BrokerAddress {
                host: "::1".into(),
                port: 9092
            },
            BrokerAddress {
                host: "10.0.0.1".into(),
                port: 2
            },
        ]
    );
    assert_eq!(config.bootstrap_servers()[1].to_string(), "[::1]:9092");
    assert_eq!(config.request_timeout(), Duration::from_millis(1234));
    assert_eq!(config.isolation_level(), IsolationLevel::ReadCommitted);
    assert!(!config.check_crcs());
    assert_eq!(config.metadata_max_age(), Duration::from_secs(300));
    assert_eq!(config.bootstrap_timeout(), Duration::from_secs(30));
}

#[test]
fn every_key_round_trips_through_to_properties() {
    let config = ClientConfig::builder()
        .bootstrap_servers("h:1")
        .build()
        .unwrap();
    let map: HashMap<String, String> = config
        .to_properties()
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    // Every key with a default is shown.
    for key in KEYS
        .iter()
        .filter(|k| k.section != Section::Producer && k.name != keys::BOOTSTRAP_SERVERS)
    {
        assert_eq!(
            map.contains_key(key.name),
            !key.default.is_empty(),
            "{}",
            key.name
        );
    }
    assert_eq!(ClientConfig::from_properties(&map).unwrap(), config);
}

#[test]
fn unknown_key_names_it_suggests_and_lists_accepted() {
    let err = ClientConfig::from_properties(&props(&[
        ("bootstrap.servers", "a:1"),
        ("request.timeout", "10"),
    ]))
    .unwrap_err();
    let ConfigError::UnknownKey {
        key, suggestion, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(key, "request.timeout");
    assert_eq!(*suggestion, Some("request.timeout.ms"));
    let text = err.to_string();
    assert!(
        text.contains("`request.timeout`") && text.contains("fetch.max.bytes"),
        "{text}"
    );
    // Nothing close: no suggestion, still the list.
    let err = ClientConfig::from_properties(&props(&[("bootstrap.servers", "a:1"), ("zzz", "1")]))
        .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::UnknownKey {
                suggestion: None,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn invalid_values_name_key_and_accepted_values() {
    for (key, value, needle) in [
        (
            "isolation.level",
            "committed",
            "read_uncommitted, read_committed",
        ),
        (
            "security.protocol",
            "TLS",
            "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
        ),
        ("request.timeout.ms", "-5", "milliseconds"),
        ("request.timeout.ms", "10s", "milliseconds"),
        (
            "max.in.flight.requests.per.connection",
            "0",
            "from 1 to 1000",
        ),
        ("check.crcs", "yes", "true, false"),
        ("bootstrap.servers", "localhost", "port is required"),
        ("bootstrap.servers", "::1:9092", "brackets"),
        ("bootstrap.servers", "h:0", "1 to 65535"),
        ("bootstrap.servers", "h:99999", "1 to 65535"),
        ("bootstrap.servers", "PLAINTEXT://h:9092", "listener prefix"),
        ("bootstrap.servers", "[::1:9092", "[ipv6]:port"),
    ] {
        let mut map = props(&[("bootstrap.servers", "a:1")]);
        map.insert(key.to_owned(), value.to_owned());
        let err = ClientConfig::from_properties(&map).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(key), "{key}={value}: {text}");
        assert!(text.contains(needle), "{key}={value}: {text}");
    }
}

#[test]
fn cross_checks() {
    let err = ClientConfig::from_properties(&props(&[])).unwrap_err();
    assert!(matches!(
        err,
        ConfigError::Missing {
            key: "bootstrap.servers",
            ..
        }
    ));
    let err = ClientConfig::from_properties(&props(&[
        ("bootstrap.servers", "a:1"),
        ("retry.backoff.ms", "5000"),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("retry.backoff.max.ms"), "{err}");
    let err = ClientConfig::from_properties(&props(&[
        ("bootstrap.servers", "a:1"),
        ("max.partition.fetch.bytes", "100000000"),
    ]))
    .unwrap_err();
    assert!(err.to_string().contains("fetch.max.bytes"), "{err}");
    let err = ClientConfig::from_properties(&props(&[
        ("bootstrap.servers", "a:1"),
        ("security.protocol", "SASL_SSL"),
    ]))
    .unwrap_err();
    assert!(
        matches!(
            err,
            ConfigError::Missing {
                key: "sasl.mechanism",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn builder_reports_bad_input_at_build() {
    let err = ClientConfig::builder()
        .bootstrap_servers("nope")
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("bootstrap.servers"));
    let err = ClientConfig::builder()
        .bootstrap_servers("a:1")
        .property("fetch.max.bites", "1")
        .build()
        .unwrap_err();
    assert!(matches!(
        err,
        ConfigError::UnknownKey {
            suggestion: Some("fetch.max.bytes"),
            ..
        }
    ));
    let err = ClientConfig::builder()
        .bootstrap_servers("a:1")
        .request_timeout(Duration::ZERO)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("request.timeout.ms"), "{err}");
    let ok = ClientConfig::builder()
        .bootstrap_servers("a:1")
        .property("fetch.max.wait.ms", "100")
        .max_in_flight(1)
        .build()
        .unwrap();
    assert_eq!(ok.fetch_max_wait(), Duration::from_millis(100));
    assert_eq!(ok.max_in_flight(), 1);
}

#[test]
fn take_properties_leaves_other_sections() {
    let mut map = props(&[
        ("bootstrap.servers", "a:1"),
        ("linger.ms", "5"),
        ("fetch.min.bytes", "10"),
    ]);
    let config = ClientConfig::take_properties(&mut map).unwrap();
    assert_eq!(config.fetch_min_bytes(), 10);
    assert_eq!(map, props(&[("linger.ms", "5")]));
}
