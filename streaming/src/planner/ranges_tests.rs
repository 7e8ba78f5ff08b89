use std::num::{NonZeroU32, NonZeroU64};

use super::*;

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

fn range(topic: &str, partition: i32, from: i64, until: i64) -> OffsetRange {
    OffsetRange::new(tp(topic, partition), from, until)
}

fn calculator(min_partitions: Option<u32>, max_records: Option<u64>) -> RangeCalculator {
    RangeCalculator {
        min_partitions: min_partitions.and_then(NonZeroU32::new),
        max_records_per_partition: max_records.and_then(NonZeroU64::new),
    }
}

/// `topic-partition:[from,until)` per task, in task order.
fn shown(ranges: &[OffsetRange]) -> Vec<String> {
    ranges
        .iter()
        .map(|r| format!("{}:[{},{})", r.partition, r.from, r.until))
        .collect()
}

fn offsets(json: &str) -> PartitionOffsets {
    PartitionOffsets::from_json(json).unwrap()
}

#[test]
fn spark_suite_worked_example_min_partitions_6() {
    let tasks = calculator(Some(6), None)
        .ranges(
            vec![
                range("t3", 1, 0, 15001),
                range("t1", 1, 0, 500),
                range("t2", 1, 0, 12000),
            ],
            &[],
        )
        .unwrap();
    assert_eq!(
        shown(&tasks),
        [
            "t1-1:[0,500)",
            "t2-1:[0,6000)",
            "t2-1:[6000,12000)",
            "t3-1:[0,5000)",
            "t3-1:[5000,10000)",
            "t3-1:[10000,15001)",
        ]
    );
    assert!(tasks.iter().all(|t| t.preferred_location.is_none()));
}

#[test]
fn remainders_land_on_later_pieces() {
    let ten_into_three = calculator(Some(3), None)
        .ranges(vec![range("t", 0, 0, 10)], &[])
        .unwrap();
    assert_eq!(
        shown(&ten_into_three),
        ["t-0:[0,3)", "t-0:[3,6)", "t-0:[6,10)"]
    );
    let thousand_into_seven = calculator(Some(7), None)
        .ranges(vec![range("t", 0, 0, 1000)], &[])
        .unwrap();
    let sizes: Vec<i64> = thousand_into_seven.iter().map(OffsetRange::size).collect();
    assert_eq!(sizes, [142, 143, 143, 143, 143, 143, 143]);
    assert_eq!(thousand_into_seven.last().unwrap().until, 1000);
}

#[test]
fn part_counts_use_java_rounding_half_up() {
    // Each range is 50 / 100 × 5 = 2.5 tasks: Java rounds to 3 (banker's rounding would give 2).
    let tasks = calculator(Some(5), None)
        .ranges(vec![range("a", 0, 0, 50), range("b", 0, 0, 50)], &[])
        .unwrap();
    assert_eq!(tasks.len(), 6);
    assert_eq!(
        tasks.iter().filter(|t| &*t.partition.topic == "a").count(),
        3
    );
}

#[test]
fn max_records_first_then_min_partitions() {
    // §3.3: 9000/900/10 with minPartitions=7 and maxRecordsPerPartition=3000 gives 8 tasks.
    let tasks = calculator(Some(7), Some(3000))
        .ranges(
            vec![
                range("t", 0, 0, 9000),
                range("t", 1, 0, 900),
                range("t", 2, 0, 10),
            ],
            &[],
        )
        .unwrap();
    assert_eq!(
        shown(&tasks),
        [
            "t-0:[0,1500)",
            "t-0:[1500,3000)",
            "t-0:[3000,4500)",
            "t-0:[4500,6000)",
            "t-0:[6000,7500)",
            "t-0:[7500,9000)",
            "t-1:[0,900)",
            "t-2:[0,10)",
        ]
    );
}

#[test]
fn max_records_alone_cuts_by_ceiling_and_keeps_no_location() {
    let executors = vec!["executor_h_1".to_owned()];
    let tasks = calculator(None, Some(4))
        .ranges(vec![range("t", 0, 0, 10), range("t", 1, 5, 9)], &executors)
        .unwrap();
    assert_eq!(
        shown(&tasks),
        ["t-0:[0,3)", "t-0:[3,6)", "t-0:[6,10)", "t-1:[5,9)"]
    );
    assert!(tasks.iter().all(|t| t.preferred_location.is_none()));
}

#[test]
fn fast_path_keeps_ranges_and_assigns_executors_by_hash() {
    let executors: Vec<String> = ["executor_c_1", "executor_b_1", "executor_a_1"]
        .map(String::from)
        .to_vec();
    let tasks = calculator(Some(2), None)
        .ranges(vec![range("t", 1, 0, 5), range("t", 0, 0, 5)], &executors)
        .unwrap();
    assert_eq!(shown(&tasks), ["t-0:[0,5)", "t-1:[0,5)"]);
    // hash(t-0) = 31·31 + 116 = 1077 → 1077 mod 3 = 0; hash(t-1) = 31·32 + 116 = 1108 → 1.
    assert_eq!(tasks[0].preferred_location.as_deref(), Some("executor_c_1"));
    assert_eq!(tasks[1].preferred_location.as_deref(), Some("executor_b_1"));
    let unset = RangeCalculator::default()
        .ranges(vec![range("t", 0, 0, 5)], &[])
        .unwrap();
    assert_eq!(unset[0].preferred_location, None);
}

#[test]
fn empty_and_negative_ranges_are_dropped_before_counting() {
    // Two usable ranges, so minPartitions=2 is satisfied on the fast path.
    let tasks = calculator(Some(2), None)
        .ranges(
            vec![
                range("t", 0, 5, 5),
                range("t", 1, 9, 3),
                range("t", 2, 0, 4),
                range("t", 3, 0, 4),
            ],
            &[],
        )
        .unwrap();
    assert_eq!(shown(&tasks), ["t-2:[0,4)", "t-3:[0,4)"]);
}

#[test]
fn pieces_of_size_zero_are_dropped_after_splitting() {
    // 1 offset asked to become 2 tasks: the empty piece goes.
    let tasks = calculator(Some(4), None)
        .ranges(vec![range("t", 0, 0, 1), range("t", 1, 0, 1)], &[])
        .unwrap();
    assert_eq!(shown(&tasks), ["t-0:[0,1)", "t-1:[0,1)"]);
}

#[test]
fn one_small_piece_keeps_every_piece_of_its_partition_whole() {
    // Two pieces of t-0: the small one is "unsplit", so (membership is by
    // partition) the large one stays whole too, where its own share
    // (990 / 1990 × 5 ≈ 2.49) would have made 2 tasks.
    let tasks = calculator(Some(6), None)
        .ranges(
            vec![
                range("t", 0, 0, 10),
                range("t", 0, 10, 1000),
                range("t", 1, 0, 1000),
            ],
            &[],
        )
        .unwrap();
    assert_eq!(
        shown(&tasks),
        [
            "t-0:[0,10)",
            "t-0:[10,1000)",
            "t-1:[0,333)",
            "t-1:[333,666)",
            "t-1:[666,1000)"
        ]
    );
}

#[test]
fn task_order_is_stable_whatever_the_input_order() {
    let input = vec![
        range("b", 0, 0, 100),
        range("a", 1, 0, 100),
        range("a", 0, 0, 100),
    ];
    let mut reversed = input.clone();
    reversed.reverse();
    let calc = calculator(Some(6), None);
    let once = calc.ranges(input, &[]).unwrap();
    assert_eq!(once, calc.ranges(reversed, &[]).unwrap());
    assert_eq!(
        shown(&once),
        [
            "a-0:[0,50)",
            "a-0:[50,100)",
            "a-1:[0,50)",
            "a-1:[50,100)",
            "b-0:[0,50)",
            "b-0:[50,100)"
        ]
    );
}

#[test]
fn absurd_splits_are_refused_before_allocating() {
    let err = calculator(None, Some(1))
        .ranges(vec![range("t", 0, 0, i64::MAX)], &[])
        .unwrap_err();
    assert!(
        matches!(
            err,
            PlanError::TooManyTasks {
                max: MAX_PLANNED_TASKS,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("raise maxRecordsPerPartition"));
    let err = calculator(Some(u32::MAX), None)
        .ranges(vec![range("t", 0, 0, i64::MAX)], &[])
        .unwrap_err();
    assert!(matches!(err, PlanError::TooManyTasks { .. }));
}

#[test]
fn executor_list_is_sorted_like_spark() {
    let peer = |host: &str, id: &str| ExecutorLocation {
        host: host.to_owned(),
        executor_id: id.to_owned(),
    };
    let sorted = sorted_executor_list(&[
        peer("a", "1"),
        peer("b", "1"),
        peer("a", "2"),
        peer("a", "10"),
    ]);
    assert_eq!(
        sorted,
        [
            "executor_b_1",
            "executor_a_2",
            "executor_a_10",
            "executor_a_1"
        ]
    );
}

#[test]
fn preferred_location_uses_floor_mod_of_negative_hashes() {
    // "polygenelubricants".hashCode() is i32::MIN; with partition -31 the TopicPartition hash is too.
    let executors: Vec<String> = (0..3).map(|i| format!("e{i}")).collect();
    let negative = tp("polygenelubricants", -31);
    // floorMod(-2147483648, 3) = 1 (Java's % would give -2).
    assert_eq!(
        preferred_location(&negative, &executors).as_deref(),
        Some("e1")
    );
    assert_eq!(preferred_location(&negative, &[]), None);
}

#[test]
fn batch_default_read_is_never_split_by_max_records() {
    // earliest→latest has unresolved size -1 − -2 = 1.
    let start = offsets(r#"{"t":{"0":-2,"1":-2}}"#);
    let end = offsets(r#"{"t":{"0":-1,"1":-1}}"#);
    let calc = calculator(None, Some(4));
    assert!(batch_lookups_needed(&start, &end, &calc)
        .unwrap()
        .is_empty());
    let tasks = plan_batch_ranges(&start, &end, &calc, &OffsetLookups::default()).unwrap();
    assert_eq!(shown(&tasks), ["t-0:[-2,-1)", "t-1:[-2,-1)"]);
}

#[test]
fn batch_without_split_keeps_every_range_as_given() {
    // Not even empty ranges are dropped when nothing is split.
    let start = offsets(r#"{"t":{"0":5,"1":-2}}"#);
    let end = offsets(r#"{"t":{"0":5,"1":40}}"#);
    let tasks = plan_batch_ranges(
        &start,
        &end,
        &RangeCalculator::default(),
        &OffsetLookups::default(),
    )
    .unwrap();
    assert_eq!(shown(&tasks), ["t-0:[5,5)", "t-1:[-2,40)"]);
}

#[test]
fn batch_split_resolves_sentinels_then_restores_the_outer_ends() {
    let start = offsets(r#"{"t":{"0":-2,"1":10,"2":-2}}"#);
    let end = offsets(r#"{"t":{"0":-1,"1":20,"2":-1}}"#);
    let calc = calculator(Some(6), None);
    let needed = batch_lookups_needed(&start, &end, &calc).unwrap();
    assert_eq!(needed.earliest, [tp("t", 0), tp("t", 2)].into());
    assert_eq!(needed.latest, [tp("t", 0), tp("t", 2)].into());
    let lookups = OffsetLookups {
        earliest: offsets(r#"{"t":{"0":100,"2":7}}"#),
        latest: offsets(r#"{"t":{"0":400,"2":7}}"#),
        ..OffsetLookups::default()
    };
    let tasks = plan_batch_ranges(&start, &end, &calc, &lookups).unwrap();
    // t-0 (300 offsets) is cut in pieces whose outer ends stay sentinels; t-1 (10) stays whole
    // and keeps its range; t-2 resolved to nothing and has no task.
    assert_eq!(
        shown(&tasks),
        [
            "t-0:[-2,160)",
            "t-0:[160,220)",
            "t-0:[220,280)",
            "t-0:[280,340)",
            "t-0:[340,-1)",
            "t-1:[10,20)",
        ]
    );
}

#[test]
fn batch_split_needs_its_lookups() {
    let start = offsets(r#"{"t":{"0":-2}}"#);
    let end = offsets(r#"{"t":{"0":50}}"#);
    let err = plan_batch_ranges(
        &start,
        &end,
        &calculator(Some(2), None),
        &OffsetLookups::default(),
    )
    .unwrap_err();
    assert_eq!(
        err,
        PlanError::MissingLookup {
            partition: tp("t", 0),
            kind: LookupKind::Earliest
        }
    );
}

#[test]
fn batch_start_and_end_must_name_the_same_partitions() {
    let start = offsets(r#"{"t":{"0":-2,"1":-2}}"#);
    let end = offsets(r#"{"t":{"0":-1},"u":{"0":-1}}"#);
    let err = plan_batch_ranges(
        &start,
        &end,
        &RangeCalculator::default(),
        &OffsetLookups::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("different topic partitions for starting offsets topics[t-0,t-1] and ending offsets topics[t-0,u-0]"),
        "{err}"
    );
}

#[test]
fn should_split_batch_rules() {
    let ranges = vec![range("t", 0, 0, 10), range("t", 1, -2, -1)];
    assert!(!RangeCalculator::default().should_split_batch(&ranges));
    assert!(!calculator(Some(2), None).should_split_batch(&ranges));
    assert!(calculator(Some(3), None).should_split_batch(&ranges));
    assert!(calculator(None, Some(9)).should_split_batch(&ranges));
    assert!(!calculator(None, Some(10)).should_split_batch(&ranges));
}

#[test]
fn tasks_resolve_sentinels_when_they_read() {
    let task = range("t", 0, EARLIEST, LATEST);
    assert_eq!(task.resolve_sentinels(5, 9).unwrap(), range("t", 0, 5, 9));
    assert_eq!(
        range("t", 0, 7, LATEST).resolve_sentinels(0, 9).unwrap(),
        range("t", 0, 7, 9)
    );
    let err = range("t", 0, 12, LATEST)
        .resolve_sentinels(0, 9)
        .unwrap_err();
    assert!(
        err.to_string().starts_with(
            "[RESOLVED_START_OFFSET_GREATER_THAN_END_OFFSET] The resolved start offset 12 is greater than the \
             resolved end offset 9 for topic t partition 0."
        ),
        "{err}"
    );
}
