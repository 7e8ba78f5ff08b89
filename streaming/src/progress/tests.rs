use std::fmt;
use std::sync::{Arc, Mutex};

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::*;

/// Spark's StreamingQueryProgress for a Kafka batch, written by hand in
/// Spark's pretty form from `progress.scala`'s field list (Spark 4.1:
/// rates with one decimal) and the spec's source example; offsets in the
/// hash order Spark prints them in.
const SPARK_PROGRESS: &str = include_str!("spark_progress.json");

const QUERY_ID: &str = "8c2a6b1e-0f4d-4c3b-9a2e-5d6f7a8b9c0d";
const RUN_ID: &str = "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e";
/// 2025-03-01T12:00:00.000Z
const NOON: i64 = 1_740_830_400_000;

/// JSON parsed with its key order and number kinds kept.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Integer(i128),
    Decimal(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, value: bool) -> Result<Json, E> {
        Ok(Json::Bool(value))
    }
    fn visit_i64<E>(self, value: i64) -> Result<Json, E> {
        Ok(Json::Integer(value.into()))
    }
    fn visit_u64<E>(self, value: u64) -> Result<Json, E> {
        Ok(Json::Integer(value.into()))
    }
    fn visit_f64<E>(self, value: f64) -> Result<Json, E> {
        Ok(Json::Decimal(value))
    }
    fn visit_str<E>(self, value: &str) -> Result<Json, E> {
        Ok(Json::String(value.to_owned()))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Json::Object(entries))
    }
}

fn parse(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|err| panic!("{err}: {text}"))
}

fn kind(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "boolean",
        Json::Integer(_) => "integer",
        Json::Decimal(_) => "decimal",
        Json::String(_) => "string",
        Json::Array(_) => "array",
        Json::Object(_) => "object",
    }
}

/// Asserts that `ours` has Spark's keys, in Spark's order, with values of
/// the same kinds, all the way down. The order of offset maps is free:
/// Spark prints them in hash order.
fn assert_same_shape(path: &str, ours: &Json, spark: &Json) {
    assert_eq!(kind(ours), kind(spark), "kind of {path}");
    match (ours, spark) {
        (Json::Array(ours), Json::Array(spark)) => {
            assert_eq!(ours.len(), spark.len(), "length of {path}");
            for (index, (ours, spark)) in ours.iter().zip(spark).enumerate() {
                assert_same_shape(&format!("{path}[{index}]"), ours, spark);
            }
        }
        (Json::Object(ours), Json::Object(spark)) => {
            let keys = |entries: &[(String, Json)]| -> Vec<String> {
                entries.iter().map(|(key, _)| key.clone()).collect()
            };
            let (mut our_keys, mut spark_keys) = (keys(ours), keys(spark));
            if path.ends_with("Offset") || path.ends_with("Offset.orders") {
                our_keys.sort();
                spark_keys.sort();
            }
            assert_eq!(our_keys, spark_keys, "keys of {path}");
            for (key, value) in ours {
                let (_, spark_value) = spark.iter().find(|(k, _)| k == key).unwrap();
                assert_same_shape(&format!("{path}.{key}"), value, spark_value);
            }
        }
        _ => {}
    }
}

/// The report of the fixture's batch 7, ten seconds after batch 6.
fn batch_seven(reporter: &mut ProgressReporter) -> QueryProgress {
    let offsets = |json: &str| Some(PartitionOffsets::from_json(json).unwrap());
    reporter.finish_trigger(TriggerReport {
        batch_id: 6,
        started_ms: NOON,
        finished_ms: NOON + 1_000,
        ran_batch: true,
        end: offsets(r#"{"orders":{"0":90,"1":100}}"#),
        latest: offsets(r#"{"orders":{"0":90,"1":100}}"#),
        input_rows: 40,
        input_bytes: 20_480,
        input_offsets: 40,
        output_rows: Some(40),
        ..TriggerReport::default()
    });
    let durations_ms = [
        (phase::ADD_BATCH, 1_500),
        (phase::COMMIT_OFFSETS, 100),
        (phase::GET_BATCH, 0),
        (phase::LATEST_OFFSET, 200),
        (phase::QUERY_PLANNING, 50),
        (phase::WAL_COMMIT, 150),
    ]
    .into_iter()
    .map(|(phase, ms)| (phase.to_owned(), ms))
    .collect();
    reporter
        .finish_trigger(TriggerReport {
            batch_id: 7,
            started_ms: NOON + 10_000,
            finished_ms: NOON + 12_000,
            ran_batch: true,
            start: offsets(r#"{"orders":{"0":90,"1":100}}"#),
            end: offsets(r#"{"orders":{"0":90,"1":150}}"#),
            latest: offsets(r#"{"orders":{"0":90,"1":160}}"#),
            input_rows: 50,
            input_bytes: 25_600,
            input_offsets: 50,
            output_rows: Some(50),
            durations_ms,
            data_loss: 0,
            skipped_offsets: 0,
            no_rows: None,
        })
        .unwrap()
}

fn reporter() -> ProgressReporter {
    ProgressReporter::new(
        QueryIdentity::new(QUERY_ID, RUN_ID, None),
        "KafkaV2[Subscribe[orders]]",
        "ForeachBatchSink",
    )
}

#[test]
fn progress_json_has_sparks_shape_and_values() {
    let progress = batch_seven(&mut reporter());
    let ours = progress.to_json();
    assert_same_shape("progress", &parse(&ours), &parse(SPARK_PROGRESS));
    // And the same values: rates, durations and metrics computed as Spark
    // and Databricks compute them (bytes: 45 KiB over 90 offsets in the
    // window is 512 per offset, times 10 behind).
    let ours: serde_json::Value = serde_json::from_str(&ours).unwrap();
    let spark: serde_json::Value = serde_json::from_str(SPARK_PROGRESS).unwrap();
    assert_eq!(ours, spark);
}

#[test]
fn metrics_and_rates_equal_hand_computed_values() {
    let progress = batch_seven(&mut reporter());
    let source = &progress.sources[0];
    // 50 rows, 10 s after the previous trigger started, in a 2 s trigger.
    assert_eq!(source.input_rows_per_second, 5.0);
    assert_eq!(source.processed_rows_per_second, 25.0);
    assert_eq!(progress.input_rows_per_second(), 5.0);
    assert_eq!(progress.num_input_rows(), 50);
    assert_eq!(progress.duration_ms[phase::TRIGGER_EXECUTION], 2_000);
    assert_eq!(progress.batch_duration_ms, 2_000);
    assert_eq!(progress.timestamp(), "2025-03-01T12:00:10.000Z");
    let metrics: Vec<(&str, &str)> = source
        .metrics
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    assert_eq!(
        metrics,
        [
            ("avgOffsetsBehindLatest", "5.0"),
            ("estimatedTotalBytesBehindLatest", "5120.0"),
            ("maxOffsetsBehindLatest", "10"),
            ("minOffsetsBehindLatest", "0"),
        ]
    );
}

#[test]
fn first_batch_and_edge_rates() {
    let mut reporter = reporter();
    let progress = reporter
        .finish_trigger(TriggerReport {
            batch_id: 0,
            started_ms: NOON,
            finished_ms: NOON,
            ran_batch: true,
            input_rows: 3,
            ..TriggerReport::default()
        })
        .unwrap();
    let json = parse(&progress.to_json());
    let Json::Object(fields) = &json else {
        panic!()
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    // No previous trigger: rows / ∞ = 0.0; a 0 ms trigger counts as 1 ms.
    assert_eq!(field("inputRowsPerSecond"), Some(Json::Decimal(0.0)));
    assert_eq!(field("processedRowsPerSecond"), Some(Json::Decimal(3000.0)));
    assert_eq!(field("name"), Some(Json::Null));
    // A sink that does not count rows says −1; no offsets are null; no
    // metrics without offsets.
    let text = progress.to_json();
    assert!(
        text.contains(r#""sink":{"description":"ForeachBatchSink","numOutputRows":-1}"#),
        "{text}"
    );
    assert!(
        text.contains(r#""startOffset":null,"endOffset":null,"latestOffset":null"#),
        "{text}"
    );
    assert!(!text.contains("metrics"), "{text}");
    assert!(
        text.contains(r#""durationMs":{"triggerExecution":0}"#),
        "{text}"
    );

    // A second trigger in the same millisecond: rows / 0 s is infinite and
    // left out, as Spark leaves it out.
    let progress = reporter
        .finish_trigger(TriggerReport {
            batch_id: 1,
            started_ms: NOON,
            finished_ms: NOON + 4,
            ran_batch: true,
            input_rows: 2,
            ..TriggerReport::default()
        })
        .unwrap();
    let text = progress.to_json();
    assert!(!text.contains("inputRowsPerSecond"), "{text}");
    assert!(text.contains(r#""processedRowsPerSecond":500.0"#), "{text}");

    // A named query.
    let mut named = ProgressReporter::new(
        QueryIdentity::new(QUERY_ID, RUN_ID, Some("orders \"raw\"")),
        "KafkaV2[Assign[t-0]]",
        "sink",
    );
    let progress = named
        .finish_trigger(TriggerReport {
            ran_batch: true,
            ..TriggerReport::default()
        })
        .unwrap();
    assert!(progress
        .to_json()
        .contains(r#""name":"orders \"raw\"","timestamp":"1970-01-01T00:00:00.000Z""#));
}

#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl Recorder {
    fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

impl ProgressListener for Recorder {
    fn on_progress(&mut self, progress: &QueryProgress) {
        self.0
            .lock()
            .unwrap()
            .push(format!("progress {}", progress.batch_id));
    }
    fn on_idle(&mut self, event: &IdleEvent) {
        let reason = event
            .no_rows
            .as_ref()
            .map_or_else(|| "-".to_owned(), ToString::to_string);
        self.0
            .lock()
            .unwrap()
            .push(format!("idle {} {reason}", event.timestamp));
    }
    fn on_terminated(&mut self, event: &TerminatedEvent) {
        self.0.lock().unwrap().push(format!(
            "terminated {:?} {:?}",
            event.exception, event.error_class
        ));
    }
}

fn idle(started_ms: i64, no_rows: Option<Diagnosis>) -> TriggerReport {
    TriggerReport {
        batch_id: 3,
        started_ms,
        finished_ms: started_ms + 5,
        ran_batch: false,
        no_rows,
        ..TriggerReport::default()
    }
}

#[test]
fn idle_triggers_are_recorded_every_ten_seconds_with_the_reason() {
    let recorder = Recorder::default();
    let mut reporter = reporter();
    reporter.add_listener(Box::new(recorder.clone()));
    let caught_up = Some(Diagnosis {
        reasons: vec![NoRowsReason::CaughtUp],
    });
    // The run's first record: kept, but not an idle event (as in Spark).
    assert!(reporter
        .finish_trigger(idle(NOON, caught_up.clone()))
        .is_some());
    assert_eq!(recorder.take(), Vec::<String>::new());
    // Idle triggers within 10 s make no record.
    for second in 1..10 {
        assert!(reporter
            .finish_trigger(idle(NOON + second * 1_000, caught_up.clone()))
            .is_none());
    }
    // 10 s after the last record: a record and an idle event with the reason.
    let record = reporter
        .finish_trigger(idle(NOON + 10_000, caught_up.clone()))
        .unwrap();
    assert_eq!(record.num_input_rows(), 0);
    assert_eq!(record.no_rows, caught_up);
    assert_eq!(record.batch_id, 3);
    assert_eq!(
        recorder.take(),
        ["idle 2025-03-01T12:00:10.000Z no rows: every record up to the latest offsets has been \
          read, and nothing new has been written since"]
    );
    // A batch resets the clock and is always recorded.
    assert!(reporter
        .finish_trigger(TriggerReport {
            batch_id: 3,
            started_ms: NOON + 11_000,
            finished_ms: NOON + 11_500,
            ran_batch: true,
            output_rows: Some(0),
            ..TriggerReport::default()
        })
        .is_some());
    assert!(reporter.finish_trigger(idle(NOON + 20_000, None)).is_none());
    let record = reporter.finish_trigger(idle(NOON + 21_500, None)).unwrap();
    // After a batch whose sink counts rows, idle records say 0 output rows.
    assert_eq!(record.sink.num_output_rows, 0);
    assert_eq!(
        recorder.take(),
        ["progress 3", "idle 2025-03-01T12:00:21.500Z -"]
    );
    assert_eq!(
        reporter
            .recent()
            .recent()
            .iter()
            .map(|p| p.timestamp_ms - NOON)
            .collect::<Vec<_>>(),
        [0, 10_000, 11_000, 21_500]
    );
    // A data loss with failOnDataLoss=true stops the query with its class.
    let loss = crate::planner::DataLoss::PartitionsDeleted {
        partitions: vec![ferrokafka::TopicPartition::new("orders", 1)],
        group_id_configured: false,
    };
    reporter.terminate(Some((&loss.to_string(), Some(loss.error_class()))));
    reporter.terminate(None);
    let events = recorder.take();
    assert!(
        events[0].starts_with(
            "terminated Some(\"[KAFKA_DATA_LOSS.PARTITIONS_DELETED] Some data may have been lost"
        ),
        "{events:?}"
    );
    assert!(events[0].ends_with(
        "Partitions Set(orders-1) have been deleted.\") Some(\"KAFKA_DATA_LOSS.PARTITIONS_DELETED\")"
    ), "{events:?}");
    assert_eq!(events[1], "terminated None None");
}

#[test]
fn the_ring_keeps_the_last_records() {
    let mut reporter = reporter().with_retention(NonZeroUsize::new(3).unwrap());
    let recent = reporter.recent();
    assert_eq!(recent.last(), None);
    for batch_id in 0..5 {
        reporter.finish_trigger(TriggerReport {
            batch_id,
            started_ms: batch_id as i64 * 1_000,
            finished_ms: batch_id as i64 * 1_000 + 10,
            ran_batch: true,
            ..TriggerReport::default()
        });
    }
    let ids: Vec<u64> = recent.recent().iter().map(|p| p.batch_id).collect();
    assert_eq!(ids, [2, 3, 4]);
    assert_eq!(recent.last().unwrap().batch_id, 4);
}

#[test]
fn json_lines_are_one_spark_record_per_batch() {
    let mut listener = JsonLinesListener::new(Vec::new());
    let mut reporter = reporter();
    let progress = batch_seven(&mut reporter);
    listener.on_progress(&progress);
    listener.on_idle(&IdleEvent {
        id: QUERY_ID.into(),
        run_id: RUN_ID.into(),
        timestamp: progress.timestamp(),
        no_rows: None,
    });
    listener.on_progress(&progress);
    let text = String::from_utf8(listener.into_inner()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2);
    for line in lines {
        assert_same_shape("line", &parse(line), &parse(SPARK_PROGRESS));
    }
}

#[test]
fn windows_and_idle_intervals_can_be_set() {
    let mut reporter = reporter()
        .with_bytes_estimate_window(1_000)
        .with_idle_interval(2_000);
    let offsets = |json: &str| Some(PartitionOffsets::from_json(json).unwrap());
    reporter.finish_trigger(TriggerReport {
        batch_id: 0,
        started_ms: 0,
        finished_ms: 100,
        ran_batch: true,
        end: offsets(r#"{"t":{"0":10}}"#),
        latest: offsets(r#"{"t":{"0":10}}"#),
        input_bytes: 100,
        input_offsets: 10,
        ..TriggerReport::default()
    });
    // 2 s later the batch has left the 1 s window: no bytes estimate.
    let idle = reporter
        .finish_trigger(TriggerReport {
            batch_id: 1,
            started_ms: 2_100,
            finished_ms: 2_100,
            end: offsets(r#"{"t":{"0":10}}"#),
            latest: offsets(r#"{"t":{"0":15}}"#),
            ..TriggerReport::default()
        })
        .unwrap();
    assert_eq!(idle.sources[0].metrics.len(), 3);
    assert_eq!(idle.sources[0].metrics["maxOffsetsBehindLatest"], "5");
    assert!(format!("{reporter:?}").starts_with("ProgressReporter { identity:"));
}

#[test]
fn data_losses_a_batch_went_on_despite_are_in_its_metrics() {
    let offsets = |json: &str| Some(PartitionOffsets::from_json(json).unwrap());
    let mut reporter = reporter();
    assert!(reporter.idle_record_due(NOON));
    let progress = reporter
        .finish_trigger(TriggerReport {
            batch_id: 3,
            started_ms: NOON,
            finished_ms: NOON + 10,
            ran_batch: true,
            end: offsets(r#"{"orders":{"0":40}}"#),
            latest: offsets(r#"{"orders":{"0":40}}"#),
            input_rows: 25,
            input_offsets: 40,
            data_loss: 2,
            skipped_offsets: 15,
            ..TriggerReport::default()
        })
        .unwrap();
    let metrics = &progress.sources[0].metrics;
    assert_eq!(metrics["dataLoss"], "2");
    assert_eq!(metrics["offsetOutOfRange"], "15");
    assert!(progress
        .to_json()
        .contains(r#""metrics":{"avgOffsetsBehindLatest":"0.0","dataLoss":"2","#));
    // The next idle record is due 10 s after this one.
    assert!(!reporter.idle_record_due(NOON + 10 + 9_999));
    assert!(reporter.idle_record_due(NOON + 10 + 10_000));
    let idle = reporter
        .finish_trigger(TriggerReport {
            batch_id: 4,
            started_ms: NOON + 10_010,
            finished_ms: NOON + 10_010,
            end: offsets(r#"{"orders":{"0":40}}"#),
            latest: offsets(r#"{"orders":{"0":40}}"#),
            data_loss: 1,
            ..TriggerReport::default()
        })
        .unwrap();
    assert!(!idle.sources[0].metrics.contains_key("dataLoss"));
}
