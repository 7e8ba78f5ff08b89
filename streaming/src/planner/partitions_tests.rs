use super::*;

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

fn offsets(json: &str) -> PartitionOffsets {
    PartitionOffsets::from_json(json).unwrap()
}

fn plan(start: &str, end: &str, earliest: &str, group_id: bool) -> MicroBatchPlan {
    plan_micro_batch(
        &offsets(start),
        &offsets(end),
        &offsets(earliest),
        group_id,
        &RangeCalculator::default(),
        &[],
    )
    .unwrap()
}

fn shown(ranges: &[OffsetRange]) -> Vec<String> {
    ranges
        .iter()
        .map(|r| format!("{}:[{},{})", r.partition, r.from, r.until))
        .collect()
}

#[test]
fn steady_state_has_no_data_loss() {
    let plan = plan(
        r#"{"t":{"0":10,"1":5}}"#,
        r#"{"t":{"0":20,"1":5}}"#,
        "{}",
        false,
    );
    assert!(plan.data_loss.is_empty());
    // The empty range of t-1 is dropped by the calculator.
    assert_eq!(shown(&plan.ranges), ["t-0:[10,20)"]);
}

#[test]
fn a_new_partition_starting_at_zero_is_read_from_zero() {
    let plan = plan(
        r#"{"t":{"0":10}}"#,
        r#"{"t":{"0":10,"1":7}}"#,
        r#"{"t":{"1":0}}"#,
        false,
    );
    assert!(plan.data_loss.is_empty());
    assert_eq!(shown(&plan.ranges), ["t-1:[0,7)"]);
}

#[test]
fn a_new_partition_not_starting_at_zero_is_data_loss_but_still_read() {
    let plan = plan(
        r#"{"t":{"0":10}}"#,
        r#"{"t":{"0":10},"u":{"0":50}}"#,
        r#"{"u":{"0":30}}"#,
        false,
    );
    assert_eq!(
        plan.data_loss,
        [DataLoss::AddedPartitionNotFromZero {
            partition: tp("u", 0),
            start_offset: 30
        }]
    );
    assert_eq!(
        plan.data_loss[0].reason(),
        "Added partition u-0 starts from 30 instead of 0."
    );
    assert_eq!(shown(&plan.ranges), ["u-0:[30,50)"]);
}

#[test]
fn a_new_partition_that_vanished_again_is_skipped() {
    let plan = plan(
        r#"{"t":{"0":10}}"#,
        r#"{"t":{"0":12,"1":9,"2":4}}"#,
        r#"{"t":{"2":0}}"#,
        false,
    );
    assert_eq!(
        plan.data_loss,
        [DataLoss::InitialOffsetNotFound {
            partitions: vec![tp("t", 1)]
        }]
    );
    assert_eq!(
        plan.data_loss[0].reason(),
        "Cannot find initial offsets for partitions Set(t-1). They may have been deleted."
    );
    assert_eq!(shown(&plan.ranges), ["t-0:[10,12)", "t-2:[0,4)"]);
}

#[test]
fn deleted_partitions_are_reported_and_dropped() {
    let plan = plan(
        r#"{"t":{"0":10,"1":3},"gone":{"0":1}}"#,
        r#"{"t":{"0":11}}"#,
        "{}",
        false,
    );
    assert_eq!(
        plan.data_loss,
        [DataLoss::PartitionsDeleted {
            partitions: vec![tp("gone", 0), tp("t", 1)],
            group_id_configured: false
        }]
    );
    let loss = &plan.data_loss[0];
    assert_eq!(loss.error_class(), "KAFKA_DATA_LOSS.PARTITIONS_DELETED");
    assert_eq!(
        loss.reason(),
        "Partitions Set(gone-0, t-1) have been deleted."
    );
    assert!(loss.warning().starts_with(
        "Set(gone-0, t-1) are gone. Some data may have been missed. Some data may have been lost"
    ));
    assert_eq!(shown(&plan.ranges), ["t-0:[10,11)"]);
}

#[test]
fn deleted_partitions_with_a_user_group_id_say_so() {
    let plan = plan(r#"{"t":{"0":10,"1":3}}"#, r#"{"t":{"0":11}}"#, "{}", true);
    let loss = &plan.data_loss[0];
    assert_eq!(
        loss.error_class(),
        "KAFKA_DATA_LOSS.PARTITIONS_DELETED_AND_GROUP_ID_CONFIG_PRESENT"
    );
    assert!(
        loss.reason().contains("'kafka.group.id' has been set"),
        "{}",
        loss.reason()
    );
    assert!(loss.warning().contains("'kafka.session.timeout.ms'"));
}

#[test]
fn a_shrunk_partition_is_data_loss_and_reads_nothing() {
    let plan = plan(
        r#"{"t":{"0":100,"1":5}}"#,
        r#"{"t":{"0":40,"1":6}}"#,
        "{}",
        false,
    );
    assert_eq!(
        plan.data_loss,
        [DataLoss::PartitionOffsetChanged {
            partition: tp("t", 0),
            from: 100,
            to: 40
        }]
    );
    assert!(plan.data_loss[0]
        .reason()
        .starts_with("Partition t-0 offset was changed from 100 to 40."));
    assert_eq!(shown(&plan.ranges), ["t-1:[5,6)"]);
}

#[test]
fn losses_come_in_sparks_order() {
    let plan = plan(
        r#"{"a":{"0":100},"gone":{"0":1}}"#,
        r#"{"a":{"0":50},"b":{"0":9},"c":{"0":9}}"#,
        r#"{"c":{"0":2}}"#,
        false,
    );
    let classes: Vec<&str> = plan.data_loss.iter().map(DataLoss::error_class).collect();
    assert_eq!(
        classes,
        [
            "KAFKA_DATA_LOSS.INITIAL_OFFSET_NOT_FOUND_FOR_PARTITIONS",
            "KAFKA_DATA_LOSS.ADDED_PARTITION_DOES_NOT_START_FROM_OFFSET_ZERO",
            "KAFKA_DATA_LOSS.PARTITIONS_DELETED",
            "KAFKA_DATA_LOSS.PARTITION_OFFSET_CHANGED",
        ]
    );
}

#[test]
fn fail_on_data_loss_decides_between_error_and_warning() {
    let lossy = plan(r#"{"t":{"0":10,"1":3}}"#, r#"{"t":{"0":11}}"#, "{}", false);
    let err = lossy.clone().apply_fail_on_data_loss(true).unwrap_err();
    let message = err.to_string();
    assert!(
        message.starts_with("[KAFKA_DATA_LOSS.PARTITIONS_DELETED] Some data may have been lost")
    );
    assert!(message.contains("failOnDataLoss to false"));
    assert!(
        message.ends_with("Reason: Partitions Set(t-1) have been deleted."),
        "{message}"
    );
    let ranges = lossy.apply_fail_on_data_loss(false).unwrap();
    assert_eq!(shown(&ranges), ["t-0:[10,11)"]);
    let clean = plan(r#"{"t":{"0":10}}"#, r#"{"t":{"0":11}}"#, "{}", false);
    assert_eq!(clean.apply_fail_on_data_loss(true).unwrap().len(), 1);
}

#[test]
fn new_partitions_are_those_only_in_the_end() {
    let start = offsets(r#"{"t":{"0":1,"1":1}}"#);
    let end = offsets(r#"{"t":{"1":1,"2":1},"u":{"0":1}}"#);
    assert_eq!(
        new_partitions(&start, &end),
        [tp("t", 2), tp("u", 0)].into()
    );
}

#[test]
fn preferred_locations_survive_when_nothing_is_split() {
    let executors = vec!["executor_h_1".to_owned(), "executor_h_2".to_owned()];
    let plan = plan_micro_batch(
        &offsets(r#"{"t":{"0":0}}"#),
        &offsets(r#"{"t":{"0":5}}"#),
        &PartitionOffsets::new(),
        false,
        &RangeCalculator::default(),
        &executors,
    )
    .unwrap();
    // hash(t-0) = 1077, odd.
    assert_eq!(
        plan.ranges[0].preferred_location.as_deref(),
        Some("executor_h_2")
    );
}

#[test]
fn a_range_that_could_not_be_read_speaks_sparks_words() {
    let loss = DataLoss::CouldNotReadOffsetRange {
        partition: tp("t", 3),
        start: 5,
        end: 20,
        group_id: "spark-kafka-relation-x-executor".to_owned(),
    };
    assert_eq!(
        loss.error_class(),
        "KAFKA_DATA_LOSS.COULD_NOT_READ_OFFSET_RANGE"
    );
    let message = loss.to_string();
    assert!(
        message.starts_with(
            "[KAFKA_DATA_LOSS.COULD_NOT_READ_OFFSET_RANGE] Some data may have been lost"
        ) && message.ends_with(
            "Reason: Could not read records in offset [5, 20) for topic partition t-3 with \
                 consumer group spark-kafka-relation-x-executor."
        ),
        "{message}"
    );
    let warning = loss.warning();
    assert!(
        warning.starts_with("Could not read records in offset [5, 20) for topic partition t-3")
            && warning.contains("Reading goes on with the records still there")
            && warning.contains("\"failOnDataLoss\" to \"true\""),
        "{warning}"
    );
}
