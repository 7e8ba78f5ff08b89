//! The write options: `topic`, `kafka.*`, refusals, warnings, save modes.

use std::time::Duration;

use ferrokafka::Acks;

use super::{settings, SECRET};
use crate::options::{OptionError, OptionWarning};
use crate::sink::{ProducerCacheConfig, SaveMode, SinkError, SinkOptions};

fn error(pairs: &[(&str, &str)]) -> String {
    SinkOptions::from_pairs(pairs.iter().copied())
        .settings()
        .unwrap_err()
        .to_string()
}

fn warnings(extra: &[(&str, &str)]) -> Vec<String> {
    settings("host:9092", extra)
        .warnings()
        .iter()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn the_topic_option_is_trimmed_and_optional() {
    assert_eq!(settings("h:1", &[]).topic, None);
    assert_eq!(
        settings("h:1", &[("TOPIC", "\t orders \n")])
            .topic
            .as_deref(),
        Some("orders")
    );
    assert_eq!(
        error(&[("kafka.bootstrap.servers", "h:1"), ("topic", "  ")]),
        "option 'topic' is empty; give the topic to write every row to, or leave the option out \
         to take each row's topic column"
    );
}

#[test]
fn bootstrap_servers_are_required() {
    let expected = "Option 'kafka.bootstrap.servers' must be specified for configuring Kafka \
                    producer; accepted: host:port pairs separated by commas";
    assert_eq!(error(&[("topic", "t")]), expected);
    assert_eq!(
        error(&[("topic", "t"), ("kafka.bootstrap.servers", " ")]),
        expected
    );
}

#[test]
fn serializers_are_refused_with_sparks_reasons_in_any_case() {
    assert_eq!(
        error(&[
            ("kafka.bootstrap.servers", "h:1"),
            ("KAFKA.Key.Serializer", "x")
        ]),
        "option 'KAFKA.Key.Serializer' is refused: Kafka option 'key.serializer' is not supported \
         as keys are serialized with ByteArraySerializer."
    );
    assert_eq!(
        error(&[
            ("kafka.bootstrap.servers", "h:1"),
            ("kafka.value.serializer", "x")
        ]),
        "option 'kafka.value.serializer' is refused: Kafka option 'value.serializer' is not \
         supported as value are serialized with ByteArraySerializer."
    );
    // Spark checks the key's before the value's, and before anything else.
    let both = error(&[
        ("kafka.value.serializer", "x"),
        ("kafka.key.serializer", "x"),
    ]);
    assert!(both.contains("'key.serializer'"), "{both}");
    // Deserializers are a source's business: a sink's producer ignores them.
    settings("h:1", &[("kafka.key.deserializer", "x")]);
}

#[test]
fn producer_and_client_properties_reach_their_configurations() {
    let settings = settings(
        "a:1,b:2",
        &[
            ("kafka.linger.ms", "25"),
            ("kafka.acks", "all"),
            ("kafka.compression.type", "lz4"),
            ("kafka.request.timeout.ms", "7000"),
            ("kafka.client.id", "writer"),
        ],
    );
    let producer = settings.producer_config();
    assert_eq!(producer.linger(), Duration::from_millis(25));
    assert_eq!(producer.acks(), Acks::All);
    assert_eq!(producer.compression(), ferrokafka::Compression::Lz4);
    let client = settings.client_config();
    assert_eq!(client.request_timeout(), Duration::from_secs(7));
    assert_eq!(client.client_id(), "writer");
    assert_eq!(client.bootstrap_servers().len(), 2);
}

#[test]
fn idempotence_is_on_by_default_and_can_be_turned_off() {
    assert!(settings("h:1", &[]).producer_config().idempotence());
    assert!(!settings("h:1", &[("kafka.enable.idempotence", "false")])
        .producer_config()
        .idempotence());
    // acks=1 rules it out unless it is asked for, as the Java client.
    assert!(!settings("h:1", &[("kafka.acks", "1")])
        .producer_config()
        .idempotence());
    let err = error(&[
        ("kafka.bootstrap.servers", "h:1"),
        ("kafka.acks", "1"),
        ("kafka.enable.idempotence", "true"),
    ]);
    assert!(
        err.starts_with("option 'kafka.acks' is not accepted by the Kafka client")
            && err.contains("set enable.idempotence=false"),
        "{err}"
    );
}

#[test]
fn a_misspelt_property_names_the_closest_of_any_section() {
    let err = error(&[("kafka.bootstrap.servers", "h:1"), ("kafka.lingr.ms", "5")]);
    assert!(
        err.starts_with("option 'kafka.lingr.ms' is not accepted by the Kafka client: unknown configuration key `lingr.ms` (did you mean `linger.ms`?)"),
        "{err}"
    );
    let err = error(&[
        ("kafka.bootstrap.servers", "h:1"),
        ("kafka.request.timeout.ms", "soon"),
    ]);
    assert!(
        err.starts_with("option 'kafka.request.timeout.ms' is not accepted"),
        "{err}"
    );
    assert_eq!(
        SinkOptions::from_pairs([("kafka.bootstrap.servers", "h:1"), ("kafka.", "x")])
            .settings()
            .unwrap_err(),
        OptionError::EmptyClientProperty {
            key: "kafka.".into()
        }
    );
}

#[test]
fn options_that_are_not_the_sinks_are_warned_about() {
    assert_eq!(
        warnings(&[
            ("topc", "t"),
            ("linger.ms", "5"),
            ("subscribe", "other"),
            ("includeHeaders", "true"),
        ]),
        [
            "option 'includeHeaders' has no effect on a Kafka sink: a headers column, when \
             present, is always written",
            "option 'linger.ms' is not a Kafka sink option and is ignored; the closest known \
             option is 'kafka.linger.ms'",
            "option 'subscribe' is a Kafka source option; a sink ignores it",
            "option 'topc' is not a Kafka sink option and is ignored; the closest known option \
             is 'topic'",
        ]
        .map(String::from)
    );
}

#[test]
fn client_property_names_are_case_sensitive() {
    let err = error(&[("kafka.bootstrap.servers", "h:1"), ("kafka.Linger.ms", "5")]);
    assert!(
        err.starts_with(
            "option 'kafka.Linger.ms' is not accepted by the Kafka client: unknown configuration \
             key `Linger.ms` (did you mean `linger.ms`?)"
        ),
        "{err}"
    );
}

#[test]
fn repeated_options_keep_the_last_value_with_a_warning() {
    let mut options = SinkOptions::from_pairs([("kafka.bootstrap.servers", "h:1")]);
    options.set("topic", "first").set("Topic", "second");
    let settings = options.settings().unwrap();
    assert_eq!(settings.topic.as_deref(), Some("second"));
    assert_eq!(
        settings.warnings(),
        [OptionWarning::RepeatedOption {
            key: "Topic".into()
        }]
    );
}

#[test]
fn a_java_partitioner_other_than_the_default_is_warned_about() {
    assert_eq!(
        warnings(&[(
            "kafka.partitioner.class",
            "org.apache.kafka.clients.producer.RoundRobinPartitioner"
        )]),
        ["Kafka client property 'partitioner.class' \
          (org.apache.kafka.clients.producer.RoundRobinPartitioner) has no effect: rows without a \
          partition go to Kafka's default partitioner (murmur2 of the key, sticky batches for \
          null keys); set the partition column to choose partitions"]
    );
    assert!(warnings(&[(
        "kafka.partitioner.class",
        "org.apache.kafka.clients.producer.internals.DefaultPartitioner"
    )])
    .is_empty());
}

#[test]
fn options_come_from_json_and_lines_like_the_sources() {
    let from_json = SinkOptions::from_json(
        r#"{"kafka.bootstrap.servers": "h:1", "topic": "t", "kafka.linger.ms": 20}"#,
    )
    .unwrap()
    .settings()
    .unwrap();
    let from_lines = SinkOptions::from_lines(
        "# the write\nkafka.bootstrap.servers=h:1\ntopic = t\nkafka.linger.ms=20\n",
    )
    .unwrap()
    .settings()
    .unwrap();
    assert_eq!(from_json, from_lines);
    assert_eq!(
        from_json.producer_config().linger(),
        Duration::from_millis(20)
    );
}

#[test]
fn secrets_stay_out_of_debug_output_and_errors() {
    let jaas = format!(
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" \
         password=\"{SECRET}\";"
    );
    let pairs = [
        ("kafka.bootstrap.servers", "h:1"),
        ("kafka.security.protocol", "SASL_SSL"),
        ("kafka.sasl.mechanism", "PLAIN"),
        ("kafka.sasl.jaas.config", jaas.as_str()),
        ("kafka.ssl.truststore.password", SECRET),
    ];
    let options = SinkOptions::from_pairs(pairs);
    assert!(!format!("{options:?}").contains(SECRET));
    let settings = options.settings().unwrap();
    assert!(!format!("{settings:?}").contains(SECRET), "{settings:?}");
    let sink = crate::sink::KafkaSink::new(settings);
    assert!(!format!("{sink:?}").contains(SECRET));
    // A JAAS line that does not parse is refused without showing it.
    let err = SinkOptions::from_pairs([
        ("kafka.bootstrap.servers", "h:1"),
        ("kafka.security.protocol", "SASL_PLAINTEXT"),
        ("kafka.sasl.mechanism", "PLAIN"),
        (
            "kafka.sasl.jaas.config",
            &format!("PlainLoginModule password=\"{SECRET}\""),
        ),
    ])
    .settings()
    .unwrap_err();
    assert!(!err.to_string().contains(SECRET), "{err}");
}

#[test]
fn save_modes_kafka_refuses_get_sparks_message() {
    for (text, mode) in [
        ("append", SaveMode::Append),
        ("Overwrite", SaveMode::Overwrite),
        ("IGNORE", SaveMode::Ignore),
        ("errorifexists", SaveMode::ErrorIfExists),
        ("error", SaveMode::ErrorIfExists),
        ("default", SaveMode::ErrorIfExists),
    ] {
        assert_eq!(text.parse::<SaveMode>().unwrap(), mode, "{text}");
    }
    for mode in [SaveMode::Overwrite, SaveMode::Ignore] {
        let err = mode.check_for_kafka().unwrap_err();
        assert!(matches!(err, SinkError::SaveModeNotAllowed { .. }));
        assert_eq!(
            err.to_string(),
            format!(
                "Save mode {mode} not allowed for Kafka. Allowed save modes are Append and \
                 ErrorIfExists (default)."
            )
        );
    }
    assert_eq!(SaveMode::Overwrite.to_string(), "Overwrite");
    assert!(SaveMode::Append.check_for_kafka().is_ok());
    assert!(SaveMode::ErrorIfExists.check_for_kafka().is_ok());
    let err = "truncate".parse::<SaveMode>().unwrap_err().to_string();
    assert!(
        err.starts_with("Unknown save mode: option 'mode' has value 'truncate'; accepted: append"),
        "{err}"
    );
}

#[test]
fn the_cache_takes_sparks_configuration_keys() {
    let config = ProducerCacheConfig::new()
        .with_spark_conf("spark.kafka.producer.cache.timeout", "2m")
        .unwrap()
        .with_spark_conf("spark.kafka.producer.cache.evictorThreadRunInterval", "500")
        .unwrap();
    assert_eq!(config.timeout, Duration::from_secs(120));
    assert_eq!(config.evictor_interval, Duration::from_millis(500));
    assert_eq!(
        ProducerCacheConfig::default(),
        ProducerCacheConfig::new()
            .with_timeout(Duration::from_secs(600))
            .with_evictor_interval(Duration::from_secs(60))
    );
    let err = ProducerCacheConfig::new()
        .with_spark_conf("spark.kafka.producer.cache.evictorThreadRunInterval", "0")
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "spark.kafka.producer.cache.evictorThreadRunInterval has value '0': accepted: a duration \
         of 1ms or more, such as 10m, 30s or 500ms"
    );
    let err = ProducerCacheConfig::new()
        .with_spark_conf("spark.kafka.producer.cache.timeout", "ten minutes")
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("spark.kafka.producer.cache.timeout has value 'ten minutes': "),
        "{err}"
    );
}
