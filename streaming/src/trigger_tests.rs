use std::time::Duration;

use super::*;
use crate::planner::MinRows;

fn offsets(json: &str) -> PartitionOffsets {
    PartitionOffsets::from_json(json).unwrap()
}

fn one_partition(offset: i64) -> PartitionOffsets {
    offsets(&format!(r#"{{"t":{{"0":{offset}}}}}"#))
}

fn run(started_ms: i64, finished_ms: i64, ran_batch: bool) -> TriggerRun {
    TriggerRun {
        started_ms,
        finished_ms,
        ran_batch,
    }
}

fn max_rows(max: i64) -> ReadLimit {
    ReadLimit {
        max_rows: Some(max),
        ..ReadLimit::default()
    }
}

#[test]
fn processing_time_aligns_triggers_to_the_interval() {
    let scheduler = TriggerScheduler::new(Trigger::ProcessingTime(Duration::from_secs(10)));
    // A 3 s batch at 0 s: wait for 10 s.
    assert_eq!(
        scheduler.after(run(0, 3_000, true)),
        NextTrigger::At(10_000)
    );
    assert!(!scheduler.falling_behind(run(0, 3_000, true)));
    // A 12 s batch at 10 s overruns 20 s: the next starts when it ends, and
    // the one after that is back on the 10 s grid.
    assert_eq!(
        scheduler.after(run(10_000, 22_000, true)),
        NextTrigger::At(22_000)
    );
    assert!(scheduler.falling_behind(run(10_000, 22_000, true)));
    assert_eq!(
        scheduler.after(run(22_000, 23_000, true)),
        NextTrigger::At(30_000)
    );
    // A query started off the grid joins it.
    assert_eq!(
        scheduler.after(run(1_234, 1_300, true)),
        NextTrigger::At(10_000)
    );
    // A trigger exactly on the grid waits a whole interval (Spark: the
    // interval includes its start).
    assert_eq!(
        scheduler.after(run(20_000, 20_000, false)),
        NextTrigger::At(30_000)
    );
    // Without a batch, the same: idle triggers keep the rhythm.
    assert_eq!(
        scheduler.after(run(30_000, 30_005, false)),
        NextTrigger::At(40_000)
    );
    assert_eq!(
        scheduler.trigger().to_string(),
        "ProcessingTimeTrigger(10000)"
    );
}

#[test]
fn processing_time_zero_runs_back_to_back() {
    let scheduler = TriggerScheduler::new(Trigger::default());
    assert_eq!(scheduler.trigger(), Trigger::ProcessingTime(Duration::ZERO));
    // After a batch the next trigger starts at once…
    assert_eq!(
        scheduler.after(run(5_000, 7_500, true)),
        NextTrigger::At(7_500)
    );
    // …after an idle trigger, Spark's polling delay later.
    assert_eq!(
        scheduler.after(run(7_500, 7_502, false)),
        NextTrigger::At(7_512)
    );
    assert!(!scheduler.falling_behind(run(0, 1_000_000, true)));
}

#[test]
fn once_runs_one_trigger_and_reads_everything() {
    let scheduler = TriggerScheduler::new(Trigger::Once);
    assert_eq!(
        scheduler.after(run(0, 10, true)),
        NextTrigger::Stop(StopReason::OnceDone)
    );
    assert_eq!(
        scheduler.after(run(0, 10, false)),
        NextTrigger::Stop(StopReason::OnceDone)
    );
    // maxOffsetsPerTrigger and minOffsetsPerTrigger are ignored.
    let limit = ReadLimit {
        max_rows: Some(300),
        min_rows: Some(MinRows {
            rows: 5_000,
            max_trigger_delay_ms: 900_000,
        }),
    };
    let mut planner = TriggerPlanner::new(Trigger::Once, limit, "KafkaV2[Subscribe[t]]");
    assert_eq!(planner.read_limit(), ReadLimit::all_available());
    assert!(!planner.checks_batch_ends());
    let plan = planner
        .plan(
            &one_partition(0),
            Some(one_partition(1_000)),
            1,
            &PartitionOffsets::new(),
        )
        .unwrap();
    assert_eq!(plan.end, Some(one_partition(1_000)));
    assert_eq!(
        describe_limit(&limit),
        "maxOffsetsPerTrigger=300, minOffsetsPerTrigger=5000 (maxTriggerDelay=900000ms)"
    );
}

/// Runs an `AvailableNow` query on a virtual clock: each trigger takes
/// 100 ms, and `produce(trigger_number)` is the partition's latest offset
/// Kafka reports at that trigger. Returns the batches' end offsets.
fn drain_available_now(limit: ReadLimit, produce: impl Fn(usize) -> i64) -> Vec<i64> {
    let scheduler = TriggerScheduler::new(Trigger::AvailableNow);
    let mut planner = TriggerPlanner::new(Trigger::AvailableNow, limit, "KafkaV2[Subscribe[t]]");
    let mut start = one_partition(0);
    let mut now = 1_000_000;
    let mut ends = Vec::new();
    for trigger in 0.. {
        assert!(trigger < 100, "AvailableNow never stopped");
        let latest = one_partition(produce(trigger));
        let fetched = planner.needs_latest().then(|| latest.clone());
        let plan = planner
            .plan(&start, fetched, now, &PartitionOffsets::new())
            .unwrap();
        assert_eq!(&plan.latest, planner.snapshot().unwrap());
        let ran_batch = plan.end.is_some();
        if let Some(end) = plan.end {
            planner.check_batch_end(&end, &latest).unwrap();
            ends.push(end.get(&ferrokafka::TopicPartition::new("t", 0)).unwrap());
            start = end;
        }
        match scheduler.after(run(now, now + 100, ran_batch)) {
            NextTrigger::At(at) => {
                assert_eq!(at, now + 100, "AvailableNow runs batches back to back");
                now = at;
            }
            NextTrigger::Stop(reason) => {
                assert_eq!(reason, StopReason::AllAvailableDataProcessed);
                assert!(!ran_batch);
                return ends;
            }
        }
    }
    unreachable!()
}

#[test]
fn available_now_drains_its_snapshot_under_the_limit_then_stops() {
    // 1000 offsets at the start, 50 more arrive every trigger: they are left
    // for the next run.
    let ends = drain_available_now(max_rows(300), |trigger| 1_000 + 50 * trigger as i64);
    assert_eq!(ends, [300, 600, 900, 1_000]);
    // Without a limit: one batch.
    assert_eq!(
        drain_available_now(ReadLimit::all_available(), |_| 1_000),
        [1_000]
    );
    // Nothing there: no batch, stop at once.
    assert_eq!(drain_available_now(max_rows(300), |_| 0), Vec::<i64>::new());
}

#[test]
fn available_now_with_min_offsets_leaves_a_short_tail() {
    // Spark's documented combination: a trigger held back by
    // minOffsetsPerTrigger runs no batch, which ends an AvailableNow run.
    let limit = ReadLimit {
        max_rows: Some(300),
        min_rows: Some(MinRows {
            rows: 200,
            max_trigger_delay_ms: 60_000,
        }),
    };
    assert_eq!(drain_available_now(limit, |_| 1_000), [300, 600, 900]);
}

#[test]
fn available_now_ignores_partitions_created_after_its_snapshot() {
    let mut planner = TriggerPlanner::new(Trigger::AvailableNow, max_rows(10), "s");
    let start = offsets(r#"{"t":{"0":0}}"#);
    let snapshot = offsets(r#"{"t":{"0":5}}"#);
    let plan = planner
        .plan(&start, Some(snapshot.clone()), 0, &PartitionOffsets::new())
        .unwrap();
    assert_eq!(plan.end, Some(snapshot.clone()));
    assert!(!planner.needs_latest());
    // The topic grew a partition: the snapshot still rules.
    let grown = offsets(r#"{"t":{"0":9,"1":4}}"#);
    let plan = planner
        .plan(&snapshot, Some(grown.clone()), 1, &PartitionOffsets::new())
        .unwrap();
    assert_eq!((plan.latest, plan.end), (snapshot.clone(), None));
    // The new partition is no reason to fail the checks either.
    assert_eq!(planner.check_batch_end(&snapshot, &grown), Ok(()));
}

#[test]
fn available_now_checks_each_batch_against_the_snapshot_and_kafka() {
    let mut planner = TriggerPlanner::new(Trigger::AvailableNow, max_rows(100), "s");
    let start = offsets(r#"{"t":{"0":0,"1":0}}"#);
    let snapshot = offsets(r#"{"t":{"0":100,"1":100}}"#);
    let end = planner
        .plan(&start, Some(snapshot), 0, &PartitionOffsets::new())
        .unwrap()
        .end
        .unwrap();
    assert_eq!(end, offsets(r#"{"t":{"0":50,"1":50}}"#));
    // The topic was truncated below the batch's end: fatal.
    let err = planner
        .check_batch_end(&end, &offsets(r#"{"t":{"0":40,"1":100}}"#))
        .unwrap_err();
    assert!(
        matches!(err, AvailableNowError::EndBeyondLatest { .. }),
        "{err}"
    );
    // A partition vanished.
    let err = planner
        .check_batch_end(&end, &offsets(r#"{"t":{"0":100}}"#))
        .unwrap_err();
    assert!(
        matches!(err, AvailableNowError::PartitionsLost { .. }),
        "{err}"
    );
    // An end the snapshot does not cover.
    let err = planner
        .check_batch_end(
            &offsets(r#"{"t":{"0":150,"1":50}}"#),
            &offsets(r#"{"t":{"0":200,"1":200}}"#),
        )
        .unwrap_err();
    assert!(
        matches!(err, AvailableNowError::EndBeyondPrefetched { .. }),
        "{err}"
    );
    // Other triggers check nothing.
    let processing = TriggerPlanner::new(Trigger::default(), max_rows(100), "s");
    assert!(!processing.checks_batch_ends());
    assert_eq!(
        processing.check_batch_end(&end, &PartitionOffsets::new()),
        Ok(())
    );
}

#[test]
fn the_latest_offsets_are_required_until_a_snapshot_exists() {
    let mut planner = TriggerPlanner::new(Trigger::default(), ReadLimit::all_available(), "s");
    assert!(planner.needs_latest());
    assert_eq!(
        planner.plan(&one_partition(0), None, 0, &PartitionOffsets::new()),
        Err(LatestOffsetsNeeded)
    );
    // Processing-time triggers use every fetch.
    let plan = planner
        .plan(
            &one_partition(0),
            Some(one_partition(7)),
            0,
            &PartitionOffsets::new(),
        )
        .unwrap();
    assert_eq!(plan.end, Some(one_partition(7)));
    assert!(planner.needs_latest());
    assert_eq!(planner.snapshot(), None);
}

#[test]
fn min_offsets_waits_then_fires_at_max_trigger_delay() {
    // minOffsetsPerTrigger=100, maxTriggerDelay=60s, a trigger every 5 s;
    // one offset arrives per trigger.
    let limit = ReadLimit {
        max_rows: None,
        min_rows: Some(MinRows {
            rows: 100,
            max_trigger_delay_ms: 60_000,
        }),
    };
    let trigger = Trigger::ProcessingTime(Duration::from_secs(5));
    let scheduler = TriggerScheduler::new(trigger);
    let mut planner = TriggerPlanner::new(trigger, limit, "s");
    let mut start = one_partition(0);
    let mut now = 1_700_000_000_000;
    let mut fired_at = Vec::new();
    for trigger_number in 1..=30 {
        let latest = one_partition(trigger_number);
        let plan = planner
            .plan(&start, Some(latest), now, &PartitionOffsets::new())
            .unwrap();
        let ran_batch = plan.end.is_some();
        if let Some(end) = plan.end {
            fired_at.push((now - 1_700_000_000_000, end.to_json()));
            start = end;
        }
        let NextTrigger::At(next) = scheduler.after(run(now, now + 20, ran_batch)) else {
            panic!("processing time never stops");
        };
        now = next;
    }
    assert_eq!(
        fired_at,
        [
            // The first trigger after a start always fires.
            (0, r#"{"t":{"0":1}}"#.to_owned()),
            // Then one per trigger is too few: wait for maxTriggerDelay.
            (60_000, r#"{"t":{"0":13}}"#.to_owned()),
            (120_000, r#"{"t":{"0":25}}"#.to_owned()),
        ]
    );
}

#[test]
fn min_offsets_fires_early_when_enough_arrived() {
    let limit = ReadLimit {
        max_rows: Some(150),
        min_rows: Some(MinRows {
            rows: 100,
            max_trigger_delay_ms: 60_000,
        }),
    };
    let mut planner = TriggerPlanner::new(Trigger::default(), limit, "s");
    let first = planner
        .plan(
            &one_partition(0),
            Some(one_partition(40)),
            1_000_000,
            &PartitionOffsets::new(),
        )
        .unwrap();
    assert_eq!(first.end, Some(one_partition(40)));
    let held = planner
        .plan(
            &one_partition(40),
            Some(one_partition(139)),
            1_001_000,
            &PartitionOffsets::new(),
        )
        .unwrap();
    assert_eq!(held.end, None, "99 new offsets are fewer than 100");
    assert_eq!(held.latest, one_partition(139));
    // 100 new offsets fire, capped by maxOffsetsPerTrigger.
    let enough = planner
        .plan(
            &one_partition(40),
            Some(one_partition(400)),
            1_002_000,
            &PartitionOffsets::new(),
        )
        .unwrap();
    assert_eq!(enough.end, Some(one_partition(190)));
}

#[test]
fn a_trigger_without_partitions_or_new_data_runs_no_batch() {
    let mut planner = TriggerPlanner::new(Trigger::default(), ReadLimit::all_available(), "s");
    let empty = PartitionOffsets::new();
    let plan = planner
        .plan(&empty, Some(empty.clone()), 0, &empty)
        .unwrap();
    assert_eq!(plan.end, None);
    let plan = planner
        .plan(&one_partition(5), Some(one_partition(5)), 0, &empty)
        .unwrap();
    assert_eq!(plan.end, None);
    // A changed partition set is a batch (where the data loss is reported).
    let plan = planner
        .plan(
            &offsets(r#"{"t":{"0":5,"1":2}}"#),
            Some(one_partition(5)),
            0,
            &empty,
        )
        .unwrap();
    assert_eq!(plan.end, Some(one_partition(5)));
}

#[test]
fn triggers_print_as_spark_does() {
    assert_eq!(Trigger::Once.to_string(), "OneTimeTrigger");
    assert_eq!(Trigger::AvailableNow.to_string(), "AvailableNowTrigger");
    assert_eq!(
        Trigger::ProcessingTime(Duration::from_millis(1_500)).to_string(),
        "ProcessingTimeTrigger(1500)"
    );
}
