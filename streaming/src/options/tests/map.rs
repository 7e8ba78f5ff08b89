//! The map itself, the seed maps, topic selection, client properties,
//! unknown options and the builder.

use std::collections::HashMap;

use super::*;
use crate::planner::{OffsetLimit, TimestampStrategy, TopicSelection};

// ---- the seed option maps --------------------------------------------------

#[test]
fn seed_plain_map() {
    let options = SourceOptions::from_json(
        r#"{"kafka.bootstrap.servers": "host:9092", "subscribe": "orders", "startingOffsets": "earliest"}"#,
    )
    .unwrap();
    for source in [
        options.streaming().unwrap().source,
        options.batch().unwrap().source,
    ] {
        assert_eq!(
            source.topics,
            TopicSelection::Subscribe(vec!["orders".into()])
        );
        assert_eq!(source.starting, OffsetLimit::Earliest);
        assert_eq!(source.client_properties.bootstrap_servers(), "host:9092");
        assert_eq!(source.client_properties.len(), 1);
    }
    assert!(options.streaming().unwrap().warnings().is_empty());
}

#[test]
fn seed_ssl_map() {
    let options = SourceOptions::from_pairs([
        ("kafka.bootstrap.servers", "broker:9093"),
        ("kafka.security.protocol", "SSL"),
        ("kafka.ssl.truststore.location", "/certs/truststore.p12"),
        ("kafka.ssl.truststore.password", SECRET),
        ("kafka.ssl.truststore.type", "PKCS12"),
        ("kafka.ssl.keystore.location", "/certs/keystore.p12"),
        ("kafka.ssl.keystore.password", SECRET),
        ("kafka.ssl.keystore.type", "PKCS12"),
        ("kafka.ssl.key.password", SECRET),
        ("subscribe", "orders"),
    ]);
    let settings = options.streaming().unwrap();
    let properties = &settings.source.client_properties;
    assert_eq!(properties.get("security.protocol"), Some("SSL"));
    assert_eq!(properties.get("ssl.truststore.type"), Some("PKCS12"));
    assert_eq!(properties.get("ssl.keystore.password"), Some(SECRET));
    assert_eq!(properties.len(), 9);
    assert!(settings.warnings().is_empty());
    let debug = format!("{options:?} {settings:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(
        debug.contains("\"ssl.truststore.location\": \"/certs/truststore.p12\""),
        "{debug}"
    );
}

fn event_hubs_lines() -> String {
    format!(
        "# Azure Event Hubs, OAUTHBEARER with a service principal\n\
         kafka.bootstrap.servers = ns.servicebus.windows.net:9093\n\
         kafka.security.protocol = SASL_SSL\n\
         kafka.sasl.mechanism = OAUTHBEARER\n\
         kafka.sasl.jaas.config = kafkashaded.org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule \
         required clientId=\"app-id\" clientSecret=\"{SECRET}\" scope=\"https://ns.servicebus.windows.net/.default\" \
         ssl.protocol=\"SSL\";\n\
         kafka.sasl.oauthbearer.token.endpoint.url = https://login.microsoft.com/tenant-id/oauth2/v2.0/token\n\
         kafka.sasl.login.callback.handler.class = \
         kafkashaded.org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler\n\
         \n\
         subscribe = events\n"
    )
}

#[test]
fn seed_event_hubs_oauth_map() {
    let options = SourceOptions::from_lines(&event_hubs_lines()).unwrap();
    let settings = options.streaming().unwrap();
    let properties = &settings.source.client_properties;
    let jaas = properties.get("sasl.jaas.config").unwrap();
    assert!(jaas.starts_with("kafkashaded.org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId=\"app-id\""));
    assert!(jaas.ends_with("ssl.protocol=\"SSL\";"), "{jaas}");
    assert!(jaas.contains(SECRET));
    assert_eq!(properties.get("sasl.mechanism"), Some("OAUTHBEARER"));
    assert_eq!(
        properties.get("sasl.login.callback.handler.class"),
        Some("kafkashaded.org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler")
    );
    assert_eq!(properties.len(), 6);
    assert!(settings.warnings().is_empty());
    // The same map as JSON gives the same settings.
    let as_json: serde_json::Map<String, serde_json::Value> = properties
        .iter()
        .map(|(k, v)| (format!("kafka.{k}"), v.into()))
        .chain([("subscribe".to_owned(), "events".into())])
        .collect();
    let from_json =
        SourceOptions::from_json(&serde_json::Value::Object(as_json).to_string()).unwrap();
    assert_eq!(from_json.streaming().unwrap(), settings);
    let debug = format!("{options:?} {settings:?}");
    assert!(!debug.contains(SECRET), "{debug}");
    assert!(
        !debug.contains("tenant-id"),
        "token endpoint hidden too: {debug}"
    );
}

#[test]
fn secrets_stay_out_of_errors_and_logs() {
    let mut options = SourceOptions::from_lines(&event_hubs_lines()).unwrap();
    options.set("kafka.auto.offset.reset", "earliest");
    options.set("sasl.jaas.config", SECRET);
    let (result, logged) = capture_warnings(|| options.streaming());
    let err = result.unwrap_err();
    assert!(!format!("{err} {err:?}").contains(SECRET));
    options.remove("kafka.auto.offset.reset");
    let (result, logged_ok) = capture_warnings(|| options.streaming());
    let settings = result.unwrap();
    let all_logs = format!("{logged:?}{logged_ok:?}{:?}", settings.warnings());
    assert!(!all_logs.contains(SECRET), "{all_logs}");
    assert!(all_logs.contains("'kafka.sasl.jaas.config'"), "{all_logs}");
}

// ---- the map itself ---------------------------------------------------------

#[test]
fn option_names_ignore_case_and_the_last_value_wins() {
    let options = SourceOptions::from_pairs([
        ("KAFKA.BOOTSTRAP.SERVERS", "a:1"),
        ("SubScribe", "x"),
        ("STARTINGOFFSETS", "EARLIEST"),
        ("subscribe", "y, z"),
    ]);
    assert_eq!(options.get("Subscribe"), Some("y, z"));
    let settings = options.streaming().unwrap();
    assert_eq!(
        settings.source.topics,
        TopicSelection::Subscribe(vec!["y".into(), "z".into()])
    );
    assert_eq!(settings.source.starting, OffsetLimit::Earliest);
    // The prefix is stripped whatever its case; the rest is kept as given.
    assert_eq!(
        settings.source.client_properties.iter().next(),
        Some(("BOOTSTRAP.SERVERS", "a:1"))
    );
    assert_eq!(settings.source.client_properties.bootstrap_servers(), "a:1");
    let shown = warning_texts(settings.warnings());
    assert_eq!(
        shown,
        [
            "option 'subscribe' is given more than once (option names ignore case); the last value is used",
            "Kafka client property 'BOOTSTRAP.SERVERS' is not in lower case; Kafka property names are \
             case-sensitive, so write it as 'bootstrap.servers'",
        ]
    );
}

#[test]
fn maps_json_and_lines_make_the_same_options() {
    let pairs = [
        ("kafka.bootstrap.servers", "h:1"),
        ("assign", r#"{"t":[0,1]}"#),
        ("failOnDataLoss", "false"),
        ("minPartitions", "4"),
    ];
    let from_pairs = SourceOptions::from_pairs(pairs).batch().unwrap();
    let map: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(SourceOptions::from_map(&map).batch().unwrap(), from_pairs);
    let json = r#"{"kafka.bootstrap.servers": "h:1", "assign": {"t": [0, 1]}, "failOnDataLoss": false, "minPartitions": 4}"#;
    assert_eq!(
        SourceOptions::from_json(json).unwrap().batch().unwrap(),
        from_pairs
    );
    let lines = "kafka.bootstrap.servers=h:1\n  assign = {\"t\":[0,1]}\n# comment\n\nfailOnDataLoss=false\nminPartitions=4";
    assert_eq!(
        SourceOptions::from_lines(lines).unwrap().batch().unwrap(),
        from_pairs
    );
    assert_eq!(
        from_pairs.source.topics,
        TopicSelection::Assign(vec![tp("t", 0), tp("t", 1)])
    );
    assert!(!from_pairs.source.fail_on_data_loss);
}

#[test]
fn from_map_is_deterministic_for_names_differing_in_case() {
    let map: HashMap<String, String> = [("SUBSCRIBE", "upper"), ("subscribe", "lower")]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    assert_eq!(
        SourceOptions::from_map(&map).get("subscribe"),
        Some("lower")
    );
}

#[test]
fn container_format_errors() {
    let cases = [
        (
            SourceOptions::from_json("[1, 2]").unwrap_err(),
            "the options JSON is an array",
        ),
        (
            SourceOptions::from_json("{\"a\": null}").unwrap_err(),
            "option 'a' is null in the options JSON",
        ),
        (
            SourceOptions::from_json("{\"a\": ").unwrap_err(),
            "the options are not valid JSON",
        ),
        (
            SourceOptions::from_lines("subscribe=t\njust words").unwrap_err(),
            "line 2 of the options has no '='",
        ),
        (
            SourceOptions::from_lines("=value").unwrap_err(),
            "line 1 of the options has no option name before '='",
        ),
    ];
    for (err, start) in cases {
        assert!(err.to_string().starts_with(start), "{err}");
    }
    let err = SourceOptions::from_lines(&format!("{SECRET}\n")).unwrap_err();
    assert!(!err.to_string().contains(SECRET));
}

// ---- topic selection (§1.1) -------------------------------------------------

#[test]
fn exactly_one_topic_selection() {
    let none = SourceOptions::from_pairs([("kafka.bootstrap.servers", "h:1")]);
    let expected = "One of the following options must be specified for Kafka source: subscribe, \
                    subscribepattern, assign. See the docs for more details.";
    assert_eq!(none.batch().unwrap_err().to_string(), expected);
    assert_eq!(none.streaming().unwrap_err().to_string(), expected);
    for err in both_errors(&[("ASSIGN", r#"{"t":[0]}"#), ("subscribePattern", "t.*")]) {
        assert!(
            err.starts_with(
                "Only one of the following options can be specified for Kafka source: subscribe, \
                 subscribepattern, assign. See the docs for more details."
            ),
            "{err}"
        );
        assert!(
            err.ends_with("Given: subscribe, subscribePattern, assign."),
            "{err}"
        );
    }
}

#[test]
fn assign_errors() {
    let options = |value: &str| selecting("assign", value);
    let err = options("t-0").streaming().unwrap_err().to_string();
    assert!(
        err.starts_with(
            "No topicpartitions to assign as specified value for option 'assign' is 't-0'"
        ),
        "{err}"
    );
    let err = options(r#"{"t":"0"}"#).batch().unwrap_err().to_string();
    assert!(
        err.starts_with(
            r#"option 'assign': Expected e.g. {"topicA":[0,1],"topicB":[0,1]}, got {"t":"0"}"#
        ),
        "{err}"
    );
    let ok = options(r#"  {"b":[1],"a":[0]}"#).streaming().unwrap();
    assert_eq!(ok.source.topics.to_string(), "Assign[a-0, b-1]");
}

#[test]
fn subscribe_errors_and_trimming() {
    let options = |value: &str| selecting("subscribe", value);
    let err = options(" , ,").streaming().unwrap_err().to_string();
    assert!(
        err.starts_with(
            "No topics to subscribe to as specified value for option 'subscribe' is ' , ,'"
        ),
        "{err}"
    );
    let ok = options(" a ,, b ").streaming().unwrap();
    assert_eq!(
        ok.source.topics,
        TopicSelection::Subscribe(vec!["a".into(), "b".into()])
    );
}

#[test]
fn subscribe_pattern_errors() {
    let options = |value: &str| selecting("subscribePattern", value);
    let err = options("  ").streaming().unwrap_err().to_string();
    assert!(
        err.starts_with("Pattern to subscribe is empty as specified value for option 'subscribePattern' is '  '"),
        "{err}"
    );
    let err = options("(?!internal)orders")
        .streaming()
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("option 'subscribePattern' has value '(?!internal)orders', which cannot be used: a negative lookahead"),
        "{err}"
    );
    let err = options("orders[").batch().unwrap_err().to_string();
    assert!(
        err.contains("it is not a valid regular expression"),
        "{err}"
    );
    let ok = options(" orders-.* ").streaming().unwrap();
    assert_eq!(ok.source.topics.to_string(), "SubscribePattern[orders-.*]");
}

// ---- client properties (§1.2, §1.5) -------------------------------------------

#[test]
fn bootstrap_servers_are_required() {
    let options = SourceOptions::from_pairs([("subscribe", "t")]);
    let expected =
        "Option 'kafka.bootstrap.servers' must be specified for configuring Kafka consumer";
    assert!(options
        .streaming()
        .unwrap_err()
        .to_string()
        .starts_with(expected));
    let blank = options.clone().with("kafka.bootstrap.servers", " ");
    assert!(blank.batch().unwrap_err().to_string().starts_with(expected));
    let empty = with(&[("kafka.", "x")]).streaming().unwrap_err();
    assert!(empty
        .to_string()
        .starts_with("option 'kafka.' names no Kafka client property"));
}

#[test]
fn client_properties_make_the_client_configuration() {
    // Spark users' usual consumer properties, including ones the client
    // has no use for (accepted, no effect).
    let settings = with(&[
        ("kafka.request.timeout.ms", "5000"),
        ("kafka.isolation.level", "read_committed"),
        ("kafka.group.id", "readers"),
        ("kafka.session.timeout.ms", "10000"),
        ("kafka.max.poll.records", "500"),
        ("kafka.receive.buffer.bytes", "65536"),
        ("kafka.fetch.buffer.max.bytes", "1048576"),
    ])
    .batch()
    .unwrap();
    let config = settings.source.client_properties.client_config().unwrap();
    assert_eq!(config.request_timeout(), std::time::Duration::from_secs(5));
    assert_eq!(
        config.isolation_level(),
        ferrokafka::IsolationLevel::ReadCommitted
    );
    assert_eq!(config.fetch_buffer_max_bytes(), 1 << 20);
}

#[test]
fn a_client_property_the_client_refuses_names_its_option() {
    let refused = |extra: &[(&str, &str)]| {
        let settings = with(extra).batch().unwrap();
        let err = settings
            .source
            .client_properties
            .client_config()
            .unwrap_err();
        let OptionError::BadClientProperty { option, .. } = &err else {
            panic!("{err:?}");
        };
        (option.clone(), err.to_string())
    };
    let (option, text) = refused(&[("kafka.request.timeout.ms", "soon")]);
    assert_eq!(option.as_deref(), Some("kafka.request.timeout.ms"));
    assert!(
        text.starts_with("option 'kafka.request.timeout.ms' is not accepted by the Kafka client: invalid value \"soon\" for `request.timeout.ms`"),
        "{text}"
    );
    let (option, text) = refused(&[("kafka.fetch.max.wait", "100")]);
    assert_eq!(option.as_deref(), Some("kafka.fetch.max.wait"));
    assert!(text.contains("did you mean `fetch.max.wait.ms`?"), "{text}");
    // A producer property on a source says where it belongs.
    let (option, _) = refused(&[("kafka.acks", "all")]);
    assert_eq!(option.as_deref(), Some("kafka.acks"));
    // Contradicting settings name the first one.
    let (option, text) = refused(&[
        ("kafka.fetch.max.wait.ms", "40000"),
        ("kafka.request.timeout.ms", "30000"),
    ]);
    assert_eq!(option.as_deref(), Some("kafka.fetch.max.wait.ms"));
    assert!(text.contains("request.timeout.ms"), "{text}");
    // A JAAS string that does not parse: named, its secret not shown.
    let (option, text) = refused(&[
        ("kafka.sasl.mechanism", "PLAIN"),
        ("kafka.security.protocol", "SASL_PLAINTEXT"),
        (
            "kafka.sasl.jaas.config",
            &format!("PlainLoginModule password=\"{SECRET}\""),
        ),
    ]);
    assert_eq!(option.as_deref(), Some("kafka.sasl.jaas.config"));
    assert!(!text.contains(SECRET), "{text}");
}

#[test]
fn refused_client_properties_give_sparks_reasons() {
    let cases = [
        ("kafka.auto.offset.reset", "Kafka option 'auto.offset.reset' is not supported.\nSet the source option 'startingOffsets' to 'earliest' or 'latest'"),
        ("KAFKA.key.deserializer", "Kafka option 'key.deserializer' is not supported as keys are deserialized as byte arrays with ByteArrayDeserializer. Use DataFrame operations to explicitly deserialize the keys."),
        ("kafka.value.deserializer", "Kafka option 'value.deserializer' is not supported as values are deserialized as byte arrays with ByteArrayDeserializer. Use DataFrame operations to explicitly deserialize the values."),
        ("kafka.enable.auto.commit", "Kafka option 'enable.auto.commit' is not supported"),
        ("kafka.interceptor.classes", "Kafka option 'interceptor.classes' is not supported"),
    ];
    for (key, reason) in cases {
        for err in both_errors(&[(key, "x")]) {
            let expected = format!("option '{key}' is refused: {reason}");
            assert!(err.starts_with(&expected), "{err}\nexpected: {expected}");
        }
    }
    // Serializers are refused only for sinks.
    let settings = with(&[("kafka.key.serializer", "x")]).streaming().unwrap();
    let err = settings
        .source
        .client_properties
        .check_for_sink()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "option 'kafka.key.serializer' is refused: Kafka option 'key.serializer' is not supported as keys are \
         serialized with ByteArraySerializer."
    );
    let settings = with(&[("kafka.value.serializer", "x")])
        .streaming()
        .unwrap();
    assert!(settings.source.client_properties.check_for_sink().unwrap_err().to_string().ends_with(
        "Kafka option 'value.serializer' is not supported as value are serialized with ByteArraySerializer."
    ));
}

// ---- unknown options --------------------------------------------------------

#[test]
fn unknown_options_are_warned_about_once_by_name_with_the_closest_known() {
    let options = with(&[
        ("startingOffset", "earliest"),
        ("STARTINGOFFSET", "latest"),
        ("security.protocol", "SSL"),
        ("kafka.unknown.client.property", "kept"),
    ]);
    let (result, logged) = capture_warnings(|| options.streaming());
    let settings = result.unwrap();
    let shown = warning_texts(settings.warnings());
    assert_eq!(
        shown,
        [
            "option 'STARTINGOFFSET' is given more than once (option names ignore case); the last value is used",
            "option 'security.protocol' is not a Kafka source option and is ignored; the closest known option is \
             'kafka.security.protocol'",
            "option 'STARTINGOFFSET' is not a Kafka source option and is ignored; the closest known option is \
             'startingOffsets'",
        ]
    );
    assert_eq!(logged, shown, "each warning is logged once");
    // Unknown `kafka.` properties are passed on, unchecked.
    assert_eq!(
        settings
            .source
            .client_properties
            .get("unknown.client.property"),
        Some("kept")
    );
    // Spark's default start, since the misspelt option is ignored.
    assert_eq!(settings.source.starting, OffsetLimit::Latest);
}

// ---- the builder --------------------------------------------------------------

#[test]
fn the_builder_produces_the_same_settings_as_strings() {
    let typed = SourceOptions::builder()
        .bootstrap_servers("h:1")
        .client_property("security.protocol", "SSL")
        .assign([tp("t", 1), tp("t", 0), tp("u", 3)])
        .starting(OffsetLimit::Latest)
        .starting(OffsetLimit::Timestamps(offsets(
            r#"{"t":{"0":5,"1":6},"u":{"3":7}}"#,
        )))
        .ending(OffsetLimit::Timestamp(99))
        .timestamp_strategy(TimestampStrategy::Latest)
        .fail_on_data_loss(false)
        .include_headers(true)
        .min_partitions(8)
        .max_records_per_partition(10_000)
        .poll_timeout(std::time::Duration::from_secs(2))
        .fetch_offset_num_retries(4)
        .fetch_offset_retry_interval(std::time::Duration::from_millis(250))
        .group_id_prefix("etl")
        .build();
    let strings = SourceOptions::from_pairs([
        ("kafka.bootstrap.servers", "h:1"),
        ("kafka.security.protocol", "SSL"),
        ("assign", r#"{"t":[1,0],"u":[3]}"#),
        (
            "startingOffsetsByTimestamp",
            r#"{"t":{"0":5,"1":6},"u":{"3":7}}"#,
        ),
        ("endingTimestamp", "99"),
        ("startingOffsetsByTimestampStrategy", "LATEST"),
        ("failOnDataLoss", "false"),
        ("includeHeaders", "true"),
        ("minPartitions", "8"),
        ("maxRecordsPerPartition", "10000"),
        ("kafkaConsumer.pollTimeoutMs", "2000"),
        ("fetchOffset.numRetries", "4"),
        ("fetchOffset.retryIntervalMs", "250"),
        ("groupIdPrefix", "etl"),
    ]);
    assert_eq!(typed.batch().unwrap(), strings.batch().unwrap());
    // `starting` replaced the earlier `startingOffsets=latest`, which a batch would refuse.
    assert_eq!(typed.get("startingOffsets"), None);

    let typed = SourceOptions::builder()
        .bootstrap_servers("h:1")
        .subscribe_pattern("orders-.*")
        .starting(OffsetLimit::Offsets(offsets(r#"{"orders-1":{"0":-2}}"#)))
        .max_offsets_per_trigger(100)
        .min_offsets_per_trigger(10)
        .max_trigger_delay(std::time::Duration::from_secs(30))
        .bytes_estimate_window_length(std::time::Duration::from_secs(60))
        .group_id("g")
        .streaming()
        .unwrap();
    let strings = SourceOptions::from_pairs([
        ("kafka.bootstrap.servers", "h:1"),
        ("subscribePattern", "orders-.*"),
        ("startingOffsets", r#"{"orders-1":{"0":-2}}"#),
        ("maxOffsetsPerTrigger", "100"),
        ("minOffsetsPerTrigger", "10"),
        ("maxTriggerDelay", "30s"),
        ("bytesEstimateWindowLength", "1m"),
        ("kafka.group.id", "g"),
    ])
    .streaming()
    .unwrap();
    assert_eq!(typed, strings);
    // The builder cannot make a bad value valid: validation is the same.
    let err = SourceOptions::builder()
        .bootstrap_servers("h:1")
        .subscribe(["t"])
        .min_partitions(0)
        .streaming();
    assert!(err
        .unwrap_err()
        .to_string()
        .starts_with("minPartitions must be positive"));
}
