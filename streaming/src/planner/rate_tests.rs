use super::*;

fn offsets(json: &str) -> PartitionOffsets {
    PartitionOffsets::from_json(json).unwrap()
}

#[test]
fn cap_1000_over_9000_900_10_reads_908_90_1() {
    let from = offsets(r#"{"t":{"0":0,"1":0,"2":0}}"#);
    let until = offsets(r#"{"t":{"0":9000,"1":900,"2":10}}"#);
    let end = rate_limit(1000, &from, &until, &PartitionOffsets::new());
    assert_eq!(end, offsets(r#"{"t":{"0":908,"1":90,"2":1}}"#));
    let read: i64 = end.iter().map(|(_, o)| o).sum();
    assert_eq!(read, 999);
}

#[test]
fn small_partitions_are_not_starved_so_the_cap_is_not_exact() {
    // 20 partitions × 3 records with a cap of 5: each share is 0.25, rounded up to 1.
    let from: PartitionOffsets = (0..20)
        .map(|p| (ferrokafka::TopicPartition::new("t", p), 0))
        .collect();
    let until: PartitionOffsets = (0..20)
        .map(|p| (ferrokafka::TopicPartition::new("t", p), 3))
        .collect();
    let end = rate_limit(5, &from, &until, &PartitionOffsets::new());
    assert!(end.iter().all(|(_, offset)| offset == 1));
    assert_eq!(end.iter().map(|(_, o)| o).sum::<i64>(), 20);
}

#[test]
fn new_partitions_count_from_their_earliest_offset() {
    let from = offsets(r#"{"t":{"0":0}}"#);
    let until = offsets(r#"{"t":{"0":100,"1":1100}}"#);
    let earliest = offsets(r#"{"t":{"1":1000}}"#);
    let end = rate_limit(100, &from, &until, &earliest);
    assert_eq!(end, offsets(r#"{"t":{"0":50,"1":1050}}"#));
    // Without its earliest offset a new partition keeps its latest offset (Spark leaves it
    // to the data-loss checks).
    let end = rate_limit(100, &from, &until, &PartitionOffsets::new());
    assert_eq!(end, offsets(r#"{"t":{"0":100,"1":1100}}"#));
}

#[test]
fn partitions_without_backlog_keep_until_and_no_backlog_returns_until() {
    let from = offsets(r#"{"t":{"0":50,"1":10}}"#);
    let until = offsets(r#"{"t":{"0":40,"1":20}}"#);
    // t-0 shrank (no positive backlog): left at until; t-1 gets the whole (capped) share.
    assert_eq!(
        rate_limit(5, &from, &until, &PartitionOffsets::new()),
        offsets(r#"{"t":{"0":40,"1":15}}"#)
    );
    let caught_up = offsets(r#"{"t":{"0":50,"1":10}}"#);
    assert_eq!(
        rate_limit(5, &from, &caught_up, &PartitionOffsets::new()),
        caught_up
    );
}

#[test]
fn the_end_never_passes_until_or_overflows() {
    let from = offsets(r#"{"t":{"0":9223372036854775000}}"#);
    let until = offsets(r#"{"t":{"0":9223372036854775807}}"#);
    let end = rate_limit(i64::MAX, &from, &until, &PartitionOffsets::new());
    assert_eq!(end, until);
}

#[test]
fn delay_batch_fires_first_then_waits_for_rows_or_the_delay() {
    let min = MinRows {
        rows: 100,
        max_trigger_delay_ms: 900_000,
    };
    let start = offsets(r#"{"t":{"0":0}}"#);
    let few = offsets(r#"{"t":{"0":40}}"#);
    let enough = offsets(r#"{"t":{"0":100}}"#);
    let mut clock = TriggerDelay::new();
    let t0 = 1_700_000_000_000;
    // The first trigger after a (re)start always fires: lastTriggerMillis starts at 0.
    assert!(!clock.delay_batch(&min, &start, &few, t0));
    assert_eq!(clock.last_trigger_ms(), t0);
    // Too few rows and the delay not yet passed: skip, clock unchanged.
    assert!(clock.delay_batch(&min, &start, &few, t0 + 1_000));
    assert!(clock.delay_batch(&min, &start, &few, t0 + 899_999));
    assert_eq!(clock.last_trigger_ms(), t0);
    // Enough rows: fire and restart the delay.
    assert!(!clock.delay_batch(&min, &start, &enough, t0 + 5_000));
    assert_eq!(clock.last_trigger_ms(), t0 + 5_000);
    assert!(clock.delay_batch(&min, &start, &few, t0 + 6_000));
    // Exactly maxTriggerDelay after the last firing: fire even with few rows.
    assert!(!clock.delay_batch(&min, &start, &few, t0 + 905_000));
    assert_eq!(clock.last_trigger_ms(), t0 + 905_000);
}

#[test]
fn delay_batch_counts_new_partitions_from_zero() {
    let min = MinRows {
        rows: 100,
        max_trigger_delay_ms: 60_000,
    };
    let mut clock = TriggerDelay::new();
    assert!(!clock.delay_batch(
        &min,
        &PartitionOffsets::new(),
        &PartitionOffsets::new(),
        1_000_000
    ));
    // The new partition t-1 has earliest 990 but counts as 1000 − 0.
    let start = offsets(r#"{"t":{"0":0}}"#);
    let latest = offsets(r#"{"t":{"0":0,"1":1000}}"#);
    assert!(!clock.delay_batch(&min, &start, &latest, 1_000_001));
}

#[test]
fn next_end_offsets_applies_the_read_limit() {
    let start = offsets(r#"{"t":{"0":0,"1":0}}"#);
    let latest = offsets(r#"{"t":{"0":300,"1":100}}"#);
    let none = PartitionOffsets::new();
    let mut clock = TriggerDelay::new();

    let all = next_end_offsets(
        &start,
        &latest,
        &ReadLimit::all_available(),
        &mut clock,
        0,
        &none,
    );
    assert_eq!(all.as_ref(), Some(&latest));

    let capped = ReadLimit {
        max_rows: Some(100),
        ..ReadLimit::default()
    };
    let end = next_end_offsets(&start, &latest, &capped, &mut clock, 0, &none).unwrap();
    assert_eq!(end, offsets(r#"{"t":{"0":75,"1":25}}"#));

    // min + max: the first trigger fires and is capped; the next skips (returns the start).
    let both = ReadLimit {
        min_rows: Some(MinRows {
            rows: 1000,
            max_trigger_delay_ms: 60_000,
        }),
        max_rows: Some(100),
    };
    let mut clock = TriggerDelay::new();
    let now = 10_000_000;
    let end = next_end_offsets(&start, &latest, &both, &mut clock, now, &none).unwrap();
    assert_eq!(end, offsets(r#"{"t":{"0":75,"1":25}}"#));
    let skipped = next_end_offsets(&start, &latest, &both, &mut clock, now + 1, &none).unwrap();
    assert_eq!(skipped, start);

    // No partitions at all: no batch.
    assert_eq!(
        next_end_offsets(
            &none,
            &none,
            &ReadLimit::all_available(),
            &mut clock,
            now,
            &none
        ),
        None
    );
}
