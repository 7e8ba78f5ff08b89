use super::*;

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

fn offsets(json: &str) -> PartitionOffsets {
    PartitionOffsets::from_json(json).unwrap()
}

fn assigned() -> BTreeSet<TopicPartition> {
    [tp("t", 0), tp("t", 1)].into()
}

fn lookups() -> OffsetLookups {
    OffsetLookups {
        earliest: offsets(r#"{"t":{"0":5,"1":6}}"#),
        latest: offsets(r#"{"t":{"0":50,"1":60}}"#),
        by_timestamp: BTreeMap::new(),
    }
}

fn resolve(
    limit: &OffsetLimit,
    lookups: &OffsetLookups,
    position: LimitPosition,
    strategy: TimestampStrategy,
    binding: Binding,
) -> Result<PartitionOffsets, LimitError> {
    limit.resolve(&assigned(), lookups, position, strategy, binding)
}

use Binding::{Eager, Late};
use LimitPosition::{End, Start};
use TimestampStrategy as Strategy;

#[test]
fn earliest_and_latest_resolve_eagerly_or_stay_sentinels() {
    let l = lookups();
    assert_eq!(
        resolve(&OffsetLimit::Earliest, &l, Start, Strategy::Error, Eager).unwrap(),
        l.earliest
    );
    assert_eq!(
        resolve(&OffsetLimit::Latest, &l, Start, Strategy::Error, Eager).unwrap(),
        l.latest
    );
    assert_eq!(
        resolve(&OffsetLimit::Earliest, &l, Start, Strategy::Error, Late).unwrap(),
        offsets(r#"{"t":{"0":-2,"1":-2}}"#)
    );
    assert_eq!(
        resolve(&OffsetLimit::Latest, &l, End, Strategy::Error, Late).unwrap(),
        offsets(r#"{"t":{"0":-1,"1":-1}}"#)
    );
    let plan = OffsetLimit::Earliest.lookups_needed(&assigned(), Start, Strategy::Error, Eager);
    assert_eq!(plan.earliest, assigned());
    assert!(plan.latest.is_empty() && plan.by_timestamp.is_empty());
    assert!(OffsetLimit::Latest
        .lookups_needed(&assigned(), End, Strategy::Error, Late)
        .is_empty());
}

#[test]
fn specific_offsets_keep_numbers_and_resolve_sentinels_when_eager() {
    let limit = OffsetLimit::Offsets(offsets(r#"{"t":{"0":23,"1":-2}}"#));
    let plan = limit.lookups_needed(&assigned(), Start, Strategy::Error, Eager);
    assert_eq!(plan.earliest, [tp("t", 1)].into());
    assert!(plan.latest.is_empty());
    assert_eq!(
        resolve(&limit, &lookups(), Start, Strategy::Error, Eager).unwrap(),
        offsets(r#"{"t":{"0":23,"1":6}}"#)
    );
    assert_eq!(
        resolve(
            &limit,
            &OffsetLookups::default(),
            Start,
            Strategy::Error,
            Late
        )
        .unwrap(),
        offsets(r#"{"t":{"0":23,"1":-2}}"#)
    );
    let latest = OffsetLimit::Offsets(offsets(r#"{"t":{"0":-1,"1":7}}"#));
    assert_eq!(
        resolve(&latest, &lookups(), Start, Strategy::Error, Eager).unwrap(),
        offsets(r#"{"t":{"0":50,"1":7}}"#)
    );
}

#[test]
fn specific_offsets_must_cover_exactly_the_assigned_partitions() {
    let partial = OffsetLimit::Offsets(offsets(r#"{"t":{"0":23}}"#));
    let err = resolve(&partial, &lookups(), Start, Strategy::Error, Eager).unwrap_err();
    assert_eq!(
        err.to_string(),
        "If startingOffsets contains specific offsets, you must specify all TopicPartitions.\n\
         Use -1 for latest, -2 for earliest, if you don't care.\n\
         Specified: Set(t-0) Assigned: Set(t-0, t-1)"
    );
    let err = resolve(&partial, &lookups(), End, Strategy::Error, Late).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "[KAFKA_START_OFFSET_DOES_NOT_MATCH_ASSIGNED] Partitions specified for Kafka end offsets don't match"
        ),
        "{err}"
    );
    assert!(err
        .to_string()
        .ends_with("Specified: Set(t-0) Assigned: Set(t-0, t-1)"));
    let extra = OffsetLimit::Offsets(offsets(r#"{"t":{"0":1,"1":1,"2":1}}"#));
    assert!(resolve(&extra, &lookups(), Start, Strategy::Error, Late).is_err());
}

#[test]
fn a_start_timestamp_without_match_fails_or_takes_latest() {
    let limit = OffsetLimit::Timestamp(1_000);
    let mut l = lookups();
    l.by_timestamp = [(tp("t", 0), Some(17)), (tp("t", 1), None)].into();
    let err = resolve(&limit, &l, Start, Strategy::Error, Eager).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "No offset matched from request of topic-partition t-1 and timestamp 1000."
        ),
        "{err}"
    );
    assert!(err
        .to_string()
        .contains("startingOffsetsByTimestampStrategy to latest"));
    assert_eq!(
        resolve(&limit, &l, Start, Strategy::Latest, Eager).unwrap(),
        offsets(r#"{"t":{"0":17,"1":60}}"#)
    );
    // Batch (late binding) resolves timestamps all the same.
    assert_eq!(
        resolve(&limit, &l, Start, Strategy::Latest, Late).unwrap(),
        offsets(r#"{"t":{"0":17,"1":60}}"#)
    );
    // An end timestamp without match always takes latest, whatever the strategy.
    assert_eq!(
        resolve(&limit, &l, End, Strategy::Error, Late).unwrap(),
        offsets(r#"{"t":{"0":17,"1":60}}"#)
    );
}

#[test]
fn timestamp_lookups_ask_for_latest_only_when_it_may_be_used() {
    let limit = OffsetLimit::Timestamp(1_000);
    let error = limit.lookups_needed(&assigned(), Start, Strategy::Error, Eager);
    assert_eq!(
        error.by_timestamp,
        [(tp("t", 0), 1_000), (tp("t", 1), 1_000)].into()
    );
    assert!(error.latest.is_empty());
    let latest = limit.lookups_needed(&assigned(), Start, Strategy::Latest, Eager);
    assert_eq!(latest.latest, assigned());
    let end = limit.lookups_needed(&assigned(), End, Strategy::Error, Late);
    assert_eq!(end.latest, assigned());
    let per_partition = OffsetLimit::Timestamps(offsets(r#"{"t":{"0":5,"1":9}}"#));
    let plan = per_partition.lookups_needed(&assigned(), Start, Strategy::Error, Eager);
    assert_eq!(plan.by_timestamp, [(tp("t", 0), 5), (tp("t", 1), 9)].into());
}

#[test]
fn partitions_not_assigned_are_refused_before_any_lookup() {
    // t-2 does not exist: asking Kafka about it would fail, and resolve
    // refuses the map anyway.
    for limit in [
        OffsetLimit::Timestamps(offsets(r#"{"t":{"0":5,"1":9,"2":1}}"#)),
        OffsetLimit::Offsets(offsets(r#"{"t":{"0":-2,"2":-1}}"#)),
    ] {
        for position in [Start, End] {
            let plan = limit.lookups_needed(&assigned(), position, Strategy::Latest, Eager);
            assert!(plan.is_empty(), "{limit:?}: {plan:?}");
            let err = resolve(
                &limit,
                &OffsetLookups::default(),
                position,
                Strategy::Latest,
                Eager,
            )
            .unwrap_err();
            assert!(
                matches!(
                    err,
                    LimitError::TimestampsDoNotMatchAssigned { .. }
                        | LimitError::StartOffsetsDoNotMatchAssigned { .. }
                ),
                "{err}"
            );
        }
    }
}

#[test]
fn per_partition_timestamps_must_cover_the_assigned_partitions() {
    let limit = OffsetLimit::Timestamps(offsets(r#"{"t":{"0":5,"1":9}}"#));
    let mut l = lookups();
    l.by_timestamp = [(tp("t", 0), Some(1)), (tp("t", 1), None)].into();
    assert_eq!(
        resolve(&limit, &l, End, Strategy::Error, Late).unwrap(),
        offsets(r#"{"t":{"0":1,"1":60}}"#)
    );
    let err = resolve(&limit, &l, Start, Strategy::Error, Eager).unwrap_err();
    assert_eq!(
        err,
        LimitError::NoOffsetForTimestamp {
            partition: tp("t", 1),
            timestamp: 9
        }
    );
    let partial = OffsetLimit::Timestamps(offsets(r#"{"t":{"0":5}}"#));
    let err = resolve(&partial, &l, End, Strategy::Error, Late).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "[KAFKA_TIMESTAMP_OFFSET_DOES_NOT_MATCH_ASSIGNED] Partitions specified for Kafka timestamp based end offsets"
        ),
        "{err}"
    );
}

#[test]
fn missing_lookups_are_named() {
    let err = resolve(
        &OffsetLimit::Earliest,
        &OffsetLookups::default(),
        Start,
        Strategy::Error,
        Eager,
    )
    .unwrap_err();
    assert_eq!(
        err,
        LimitError::MissingLookup {
            partition: tp("t", 0),
            kind: LookupKind::Earliest
        }
    );
    let err = resolve(
        &OffsetLimit::Timestamp(1),
        &OffsetLookups::default(),
        Start,
        Strategy::Error,
        Eager,
    )
    .unwrap_err();
    assert!(err
        .to_string()
        .starts_with("the by-timestamp offset of t-0 was not supplied"));
}

#[test]
fn batch_limits_must_agree_spark_4_2() {
    let start = OffsetLimit::Offsets(offsets(r#"{"t":{"0":10,"1":-2}}"#));
    let end = OffsetLimit::Offsets(offsets(r#"{"t":{"0":5,"1":-1}}"#));
    let err = check_batch_limits(&start, &end).unwrap_err();
    assert_eq!(
        err.to_string(),
        "[UNRESOLVED_START_OFFSET_GREATER_THAN_END_OFFSET] The specified start offset 10 is greater \
         than the end offset 5 for topic t partition 0."
    );
    // Sentinels are never compared.
    let start = OffsetLimit::Offsets(offsets(r#"{"t":{"0":-2,"1":70}}"#));
    let end = OffsetLimit::Offsets(offsets(r#"{"t":{"0":5,"1":-1}}"#));
    assert_eq!(check_batch_limits(&start, &end), Ok(()));
    let other = OffsetLimit::Offsets(offsets(r#"{"t":{"0":5},"u":{"0":5}}"#));
    let err = check_batch_limits(&start, &other).unwrap_err();
    assert_eq!(
        err.to_string(),
        "[MISMATCHED_TOPIC_PARTITIONS_BETWEEN_START_OFFSET_AND_END_OFFSET] The specified start offset \
         and end offset should have the same topic-partitions.\nTopic-partitions for start offset: \
         Set(t-0, t-1), topic-partitions for end offset: Set(t-0, u-0)."
    );
    let start = OffsetLimit::Timestamps(offsets(r#"{"t":{"0":2000}}"#));
    let end = OffsetLimit::Timestamps(offsets(r#"{"t":{"0":1000}}"#));
    assert!(check_batch_limits(&start, &end)
        .unwrap_err()
        .to_string()
        .contains("The specified start timestamp 2000 is greater than the end timestamp 1000"));
    // Different kinds are not compared before resolution.
    assert_eq!(
        check_batch_limits(&start, &OffsetLimit::Offsets(offsets(r#"{"t":{"0":1}}"#))),
        Ok(())
    );
    assert_eq!(
        check_batch_limits(&OffsetLimit::Earliest, &OffsetLimit::Latest),
        Ok(())
    );
}
