//! Every refusal of the spec: at validation, at client configuration,
//! once the partitions are known, and when a task resolves its range.

use ferrokafka_streaming::batch::BatchSource;
use ferrokafka_streaming::options::SourceOptions;

use super::support::*;

pub(crate) async fn bad_options_are_refused(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "refusals", 2).await;
    produce(&admin, "refusals", 0, 10).await;
    // Refused when the options are validated, with the spec's messages.
    let b = bootstrap.as_str();
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("kafka.bootstrap.servers", b)], "One of the following options must be specified for Kafka source: subscribe, subscribepattern, assign."),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("assign", r#"{"a":[0]}"#)], "Only one of the following options can be specified for Kafka source: subscribe, subscribepattern, assign."),
        (vec![("kafka.bootstrap.servers", b), ("assign", "a:0")], "No topicpartitions to assign as specified value for option 'assign' is 'a:0'"),
        (vec![("kafka.bootstrap.servers", b), ("assign", r#"{"a":0}"#)], r#"option 'assign': Expected e.g. {"topicA":[0,1],"topicB":[0,1]}, got {"a":0}"#),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", " , ")], "No topics to subscribe to as specified value for option 'subscribe' is ' , '"),
        (vec![("kafka.bootstrap.servers", b), ("subscribePattern", " ")], "Pattern to subscribe is empty as specified value for option 'subscribePattern' is ' '"),
        (vec![("subscribe", "a")], "Option 'kafka.bootstrap.servers' must be specified for configuring Kafka consumer"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("kafka.auto.offset.reset", "earliest")], "option 'kafka.auto.offset.reset' is refused"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("kafka.key.deserializer", "x")], "option 'kafka.key.deserializer' is refused: Kafka option 'key.deserializer' is not supported as keys are deserialized as byte arrays with ByteArrayDeserializer."),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("kafka.value.deserializer", "x")], "option 'kafka.value.deserializer' is refused: Kafka option 'value.deserializer' is not supported as values are deserialized as byte arrays with ByteArrayDeserializer."),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("kafka.enable.auto.commit", "true")], "option 'kafka.enable.auto.commit' is refused: Kafka option 'enable.auto.commit' is not supported"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("kafka.interceptor.classes", "x")], "option 'kafka.interceptor.classes' is refused: Kafka option 'interceptor.classes' is not supported"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("startingOffsets", "latest")], "starting offset can't be latest for batch queries on Kafka"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("startingOffsets", r#"{"a":{"0":-1}}"#)], "startingOffsets for a-0 can't be latest for batch queries on Kafka"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("endingOffsets", "earliest")], "ending offset can't be earliest for batch queries on Kafka"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("endingOffsets", r#"{"a":{"0":-2}}"#)], "ending offset for a-0 can't be earliest for batch queries on Kafka"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("startingOffsets", "{oops")], r#"option 'startingOffsets': Expected e.g. {"topicA":{"0":23,"1":-1},"topicB":{"0":-2}}, got {oops"#),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("startingTimestamp", "noon")], "option 'startingTimestamp': Expected a single long value, got noon"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("startingOffsetsByTimestampStrategy", "earliest")], "option 'startingOffsetsByTimestampStrategy' has value 'earliest'; accepted: error or latest"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("minPartitions", "0")], "minPartitions must be positive"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("maxRecordsPerPartition", "-3")], "maxRecordsPerPartition must be positive"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("startingOffsets", r#"{"a":{"0":1}}"#), ("endingOffsets", r#"{"a":{"1":9}}"#)], "[MISMATCHED_TOPIC_PARTITIONS_BETWEEN_START_OFFSET_AND_END_OFFSET]"),
        (vec![("kafka.bootstrap.servers", b), ("subscribe", "a"), ("startingOffsets", r#"{"a":{"0":9}}"#), ("endingOffsets", r#"{"a":{"0":1}}"#)], "[UNRESOLVED_START_OFFSET_GREATER_THAN_END_OFFSET] The specified start offset 9 is greater than the end offset 1 for topic a partition 0."),
    ];
    for (pairs, message) in cases {
        let err = SourceOptions::from_pairs(pairs.iter().copied())
            .batch()
            .unwrap_err();
        assert!(
            err.to_string().starts_with(message),
            "{pairs:?}:\n  got      {err}\n  expected {message}"
        );
    }
    // Refused when the Kafka client is configured: named with `kafka.`.
    let settings = options(
        b,
        &[
            ("subscribe", "refusals"),
            ("kafka.fetch.max.wait.ms", "soon"),
        ],
    )
    .batch()
    .unwrap();
    let err = BatchSource::connect(settings).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("option 'kafka.fetch.max.wait.ms' is not accepted by the Kafka client"),
        "{err}"
    );
    // Refused once the cluster's partitions are known.
    for (pairs, message) in [
        (
            vec![("startingOffsets", r#"{"refusals":{"0":1}}"#)],
            "[KAFKA_START_OFFSET_DOES_NOT_MATCH_ASSIGNED] Partitions specified for Kafka start offsets don't match what are assigned.",
        ),
        (
            vec![("endingOffsetsByTimestamp", r#"{"refusals":{"0":1,"1":2,"2":3}}"#)],
            "[KAFKA_TIMESTAMP_OFFSET_DOES_NOT_MATCH_ASSIGNED] Partitions specified for Kafka timestamp based end offsets don't match what are assigned.",
        ),
    ] {
        let pairs: Vec<(&str, &str)> = pairs.into_iter().chain([("subscribe", "refusals")]).collect();
        let err = open_source(b, &pairs).await.plan().await.unwrap_err();
        assert!(err.to_string().starts_with(message), "{pairs:?}: {err}");
    }
    // Refused by the task once its start is resolved: a start timestamp
    // past a concrete end.
    let source = open_source(
        b,
        &[
            ("subscribe", "refusals"),
            ("startingTimestamp", &timestamp_of(0, 6).to_string()),
            ("startingOffsetsByTimestampStrategy", "latest"),
            ("endingOffsets", r#"{"refusals":{"0":3,"1":0}}"#),
        ],
    )
    .await;
    let plan = source.plan().await.unwrap();
    let err = read(&source, &plan).await.unwrap_err();
    assert!(
        err.to_string().starts_with(
            "[RESOLVED_START_OFFSET_GREATER_THAN_END_OFFSET] The resolved start offset 6 is \
             greater than the resolved end offset 3 for topic refusals partition 0."
        ),
        "{err}"
    );
}
