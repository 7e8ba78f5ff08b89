//! Start and end limits (§1.3) and the other options (§1.4).

use super::*;
use crate::planner::{OffsetLimit, TimestampStrategy};

// ---- start and end limits (§1.3) ----------------------------------------------

#[test]
fn defaults_depend_on_the_query_kind() {
    let stream = with(&[]).streaming().unwrap();
    assert_eq!(stream.source.starting, OffsetLimit::Latest);
    let batch = with(&[]).batch().unwrap();
    assert_eq!(batch.source.starting, OffsetLimit::Earliest);
    assert_eq!(batch.ending, OffsetLimit::Latest);
}

#[test]
fn limit_precedence_is_timestamp_then_per_partition_then_offsets() {
    let all = [
        ("startingTimestamp", " 1000 "),
        ("startingOffsetsByTimestamp", r#"{"t":{"0":5}}"#),
        ("startingOffsets", "latest"),
    ];
    // The overridden `latest` is not even checked in a batch query.
    assert_eq!(
        with(&all).batch().unwrap().source.starting,
        OffsetLimit::Timestamp(1000)
    );
    assert_eq!(
        with(&all[1..]).streaming().unwrap().source.starting,
        OffsetLimit::Timestamps(offsets(r#"{"t":{"0":5}}"#))
    );
    assert_eq!(
        with(&all[2..]).streaming().unwrap().source.starting,
        OffsetLimit::Latest
    );
    assert_eq!(
        with(&[("startingOffsets", r#" {"t":{"1":-2,"0":23}} "#)])
            .streaming()
            .unwrap()
            .source
            .starting,
        OffsetLimit::Offsets(offsets(r#"{"t":{"0":23,"1":-2}}"#))
    );
    let ending = [("endingTimestamp", "2000"), ("endingOffsets", "latest")];
    assert_eq!(
        with(&ending).batch().unwrap().ending,
        OffsetLimit::Timestamp(2000)
    );
}

#[test]
fn limit_value_errors() {
    for err in both_errors(&[("startingTimestamp", " soon ")]) {
        assert!(
            err.starts_with("option 'startingTimestamp': Expected a single long value, got soon"),
            "{err}"
        );
    }
    for err in both_errors(&[("startingOffsets", "beginning")]) {
        assert!(
            err.starts_with(
                r#"option 'startingOffsets': Expected e.g. {"topicA":{"0":23,"1":-1},"topicB":{"0":-2}}, got beginning"#
            ),
            "{err}"
        );
    }
    for err in both_errors(&[("startingOffsetsByTimestamp", "{}x")]) {
        assert!(
            err.starts_with(
                r#"option 'startingOffsetsByTimestamp': Expected e.g. {"topicA": {"0": 123456789"#
            ),
            "{err}"
        );
    }
    let err = stream_error(&[("startingOffsets", r#"{"t":{"0":-3}}"#)]);
    assert!(
        err.starts_with("option 'startingOffsets': offset -3 for t-0 is not valid"),
        "{err}"
    );
    let err = batch_error(&[("endingTimestamp", "-5")]);
    assert!(
        err.starts_with("option 'endingTimestamp': the timestamp -5 is negative"),
        "{err}"
    );
    let err = stream_error(&[("startingOffsetsByTimestamp", r#"{"t":{"0":-1}}"#)]);
    assert!(
        err.contains("the timestamp -1 for t-0 is negative"),
        "{err}"
    );
}

#[test]
fn timestamp_strategy_values() {
    let strategy = |value: &str| with(&[("startingOffsetsByTimestampStrategy", value)]).streaming();
    assert_eq!(
        strategy("Latest").unwrap().source.timestamp_strategy,
        TimestampStrategy::Latest
    );
    assert_eq!(
        strategy("ERROR").unwrap().source.timestamp_strategy,
        TimestampStrategy::Error
    );
    assert_eq!(
        with(&[]).batch().unwrap().source.timestamp_strategy,
        TimestampStrategy::Error
    );
    let err = strategy("earliest").unwrap_err().to_string();
    assert_eq!(
        err,
        "option 'startingOffsetsByTimestampStrategy' has value 'earliest'; accepted: error or latest (any case)"
    );
}

#[test]
fn batch_rejects_a_latest_start_and_an_earliest_end() {
    assert!(batch_error(&[("startingOffsets", " LATEST ")])
        .starts_with("starting offset can't be latest for batch queries on Kafka"));
    assert!(
        batch_error(&[("startingOffsets", r#"{"t":{"0":-2,"1":-1}}"#)])
            .starts_with("startingOffsets for t-1 can't be latest for batch queries on Kafka")
    );
    assert!(batch_error(&[("endingOffsets", "earliest")])
        .starts_with("ending offset can't be earliest for batch queries on Kafka"));
    assert!(
        batch_error(&[("endingOffsets", r#"{"t":{"0":-1,"1":-2}}"#)])
            .starts_with("ending offset for t-1 can't be earliest for batch queries on Kafka")
    );
    // Streams may start at latest.
    assert!(with(&[("startingOffsets", "latest")]).streaming().is_ok());
}

#[test]
fn batch_start_and_end_offsets_must_agree() {
    let err = batch_error(&[
        ("startingOffsets", r#"{"t":{"0":10}}"#),
        ("endingOffsets", r#"{"t":{"0":5}}"#),
    ]);
    assert!(
        err.starts_with("[UNRESOLVED_START_OFFSET_GREATER_THAN_END_OFFSET]"),
        "{err}"
    );
    let err = batch_error(&[
        ("startingOffsets", r#"{"t":{"0":1}}"#),
        ("endingOffsets", r#"{"t":{"1":5}}"#),
    ]);
    assert!(
        err.starts_with("[MISMATCHED_TOPIC_PARTITIONS_BETWEEN_START_OFFSET_AND_END_OFFSET]"),
        "{err}"
    );
    let ok = with(&[
        ("startingOffsets", r#"{"t":{"0":1}}"#),
        ("endingOffsets", r#"{"t":{"0":-1}}"#),
    ]);
    assert!(ok.batch().is_ok());
}

#[test]
fn streams_reject_ending_offsets_and_ignore_an_ending_timestamp() {
    assert!(stream_error(&[("endingOffsets", "latest")])
        .starts_with("ending offset not valid in streaming queries"));
    assert!(
        stream_error(&[("endingOffsetsByTimestamp", r#"{"t":{"0":1}}"#)])
            .starts_with("ending timestamp not valid in streaming queries")
    );
    let settings = with(&[("endingTimestamp", "123")]).streaming().unwrap();
    assert_eq!(
        settings.warnings(),
        [OptionWarning::EndingTimestampIgnoredInStreaming]
    );
}

// ---- other options (§1.4) -----------------------------------------------------

#[test]
fn defaults_of_the_other_options() {
    let stream = with(&[]).streaming().unwrap();
    let source = &stream.source;
    assert!(source.fail_on_data_loss);
    assert!(!source.include_headers);
    assert_eq!(source.poll_timeout_ms, 120_000);
    assert_eq!(source.fetch_offset_num_retries, 3);
    assert_eq!(source.fetch_offset_retry_interval_ms, 1000);
    assert_eq!(
        source.calculator,
        crate::planner::RangeCalculator::default()
    );
    assert_eq!(source.group_id_prefix, "spark-kafka-source");
    assert_eq!(stream.max_offsets_per_trigger, None);
    assert_eq!(stream.min_offsets_per_trigger, None);
    assert_eq!(stream.max_trigger_delay_ms, 900_000);
    assert_eq!(stream.bytes_estimate_window_ms, 300_000);
    assert_eq!(
        stream.read_limit(),
        crate::planner::ReadLimit::all_available()
    );
    assert_eq!(
        with(&[]).batch().unwrap().source.group_id_prefix,
        "spark-kafka-relation"
    );
}

#[test]
fn typed_values_of_the_other_options() {
    let stream = with(&[
        ("failOnDataLoss", "FALSE"),
        ("includeHeaders", "True"),
        ("kafkaConsumer.pollTimeoutMs", "5000"),
        ("fetchOffset.numRetries", "5"),
        ("fetchOffset.retryIntervalMs", "10"),
        ("minPartitions", "12"),
        ("maxRecordsPerPartition", "+1000"),
        ("maxOffsetsPerTrigger", "500"),
        ("minOffsetsPerTrigger", "100"),
        ("maxTriggerDelay", "2m"),
        ("bytesEstimateWindowLength", "600s"),
        ("groupIdPrefix", "mine"),
        ("_mockSystemTime", "1"),
    ])
    .streaming()
    .unwrap();
    assert!(stream.warnings().is_empty(), "{:?}", stream.warnings());
    let source = &stream.source;
    assert!(!source.fail_on_data_loss);
    assert!(source.include_headers);
    assert_eq!(source.poll_timeout_ms, 5000);
    assert_eq!(source.fetch_offset_num_retries, 5);
    assert_eq!(source.fetch_offset_retry_interval_ms, 10);
    assert_eq!(source.calculator.min_partitions.map(|n| n.get()), Some(12));
    assert_eq!(
        source.calculator.max_records_per_partition.map(|n| n.get()),
        Some(1000)
    );
    assert_eq!(source.group_id_prefix, "mine");
    let limit = stream.read_limit();
    assert_eq!(limit.max_rows, Some(500));
    assert_eq!(
        limit.min_rows.map(|m| (m.rows, m.max_trigger_delay_ms)),
        Some((100, 120_000))
    );
    assert_eq!(stream.bytes_estimate_window_ms, 600_000);
}

#[test]
fn bad_values_name_option_value_and_what_is_accepted() {
    let cases: [(&str, &str, &str); 14] = [
        ("failOnDataLoss", "yes", "option 'failOnDataLoss' has value 'yes'; accepted: true or false (any case)"),
        ("includeHeaders", " true", "option 'includeHeaders' has value ' true'; accepted: true or false (any case)"),
        ("minPartitions", "0", "minPartitions must be positive: option 'minPartitions' has value '0'; accepted: a whole number from 1 to 2147483647"),
        ("minPartitions", "-4", "minPartitions must be positive: option 'minPartitions' has value '-4'"),
        ("minPartitions", "2.5", "option 'minPartitions' has value '2.5'; accepted: a whole number from 1 to 2147483647"),
        ("minPartitions", "3000000000", "option 'minPartitions' has value '3000000000'"),
        ("maxRecordsPerPartition", "0", "maxRecordsPerPartition must be positive: option 'maxRecordsPerPartition' has value '0'"),
        ("maxRecordsPerPartition", "many", "option 'maxRecordsPerPartition' has value 'many'; accepted: a whole number from 1 to"),
        ("fetchOffset.numRetries", "0", "option 'fetchOffset.numRetries' has value '0'; accepted: a whole number of attempts from 1"),
        ("fetchOffset.retryIntervalMs", "-1", "option 'fetchOffset.retryIntervalMs' has value '-1'; accepted: a whole number of milliseconds, 0 or more"),
        ("kafkaConsumer.pollTimeoutMs", "1s", "option 'kafkaConsumer.pollTimeoutMs' has value '1s'; accepted: a whole number of milliseconds"),
        ("maxOffsetsPerTrigger", "0", "option 'maxOffsetsPerTrigger' has value '0'; accepted: a whole number of 1 or more"),
        ("minOffsetsPerTrigger", "ten", "option 'minOffsetsPerTrigger' has value 'ten'; accepted: a whole number of 1 or more"),
        ("maxTriggerDelay", "-1s", "option 'maxTriggerDelay' has value '-1s'; accepted: a duration of 0 or more"),
    ];
    for (option, value, expected) in cases {
        let err = stream_error(&[(option, value)]);
        assert!(
            err.starts_with(expected),
            "{option}={value}: {err}\nexpected: {expected}"
        );
    }
    let err = stream_error(&[("maxTriggerDelay", "15 m")]);
    assert!(
        err.starts_with("option 'maxTriggerDelay' has value '15 m': Time must be specified as seconds (s), milliseconds (ms)"),
        "{err}"
    );
    let err = stream_error(&[("bytesEstimateWindowLength", "0s")]);
    assert!(err.starts_with("option 'bytesEstimateWindowLength' has value '0s'; accepted: a duration of 1ms or more"), "{err}");
}

#[test]
fn min_offsets_above_max_offsets_is_refused_in_both_kinds() {
    for err in both_errors(&[
        ("minOffsetsPerTrigger", "10"),
        ("maxOffsetsPerTrigger", "5"),
    ]) {
        assert!(
            err.starts_with(
                "The value of minOffsetPerTrigger(10) is higher than the maxOffsetsPerTrigger(5)."
            ),
            "{err}"
        );
    }
    assert!(
        with(&[("minOffsetsPerTrigger", "5"), ("maxOffsetsPerTrigger", "5")])
            .streaming()
            .is_ok()
    );
}

#[test]
fn streaming_only_options_are_ignored_with_a_warning_in_batch() {
    let settings = with(&[
        ("maxOffsetsPerTrigger", "5"),
        ("minOffsetsPerTrigger", "1"),
        ("maxTriggerDelay", "not even a duration"),
        ("bytesEstimateWindowLength", "1m"),
    ])
    .batch()
    .unwrap();
    let shown = warning_texts(settings.warnings());
    assert_eq!(
        shown,
        [
            "maxOffsetsPerTrigger option ignored in batch queries",
            "minOffsetsPerTrigger option ignored in batch queries",
            "maxTriggerDelay option ignored in batch queries",
            "bytesEstimateWindowLength option ignored in batch queries",
        ]
    );
}

#[test]
fn a_user_group_id_is_warned_about_and_used_by_readers() {
    let settings = with(&[("kafka.group.id", "team-a"), ("groupIdPrefix", "ignored")])
        .streaming()
        .unwrap();
    assert_eq!(
        settings.warnings(),
        [
            OptionWarning::CustomGroupId,
            OptionWarning::GroupIdPrefixIgnored
        ]
    );
    assert!(settings.warnings()[0]
        .to_string()
        .starts_with("Kafka option 'kafka.group.id' has been set on this query."));
    assert_eq!(
        settings.warnings()[1].to_string(),
        "Option groupIdPrefix will be ignored as option kafka.group.id has been set."
    );
    let groups = settings.consumer_groups("/ckpt/sources/0", "u-u-i-d");
    assert_eq!(groups.executor_group_id, "team-a");
}

#[test]
fn generated_group_ids() {
    let stream = with(&[]).streaming().unwrap();
    let path = "/checkpoints/q1/sources/0";
    let hash = crate::java::string_hash_code(path);
    let groups = stream.consumer_groups(path, "0f8fad5b-d9cb-469f-a165-70867728950e");
    let unique = format!("spark-kafka-source-0f8fad5b-d9cb-469f-a165-70867728950e-{hash}");
    assert_eq!(groups.unique_group_id, unique);
    assert_eq!(groups.driver_group_id_prefix, format!("{unique}-driver"));
    assert_eq!(groups.executor_group_id, format!("{unique}-executor"));
    let batch = with(&[("groupIdPrefix", "nightly")]).batch().unwrap();
    let groups = batch.consumer_groups("abc");
    assert_eq!(groups.unique_group_id, "nightly-abc");
    assert_eq!(groups.executor_group_id, "nightly-abc-executor");
}
