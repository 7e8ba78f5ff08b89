//! Progress records (§7): one per trigger, shaped like Spark's
//! `StreamingQueryProgress`, for Rust callers (a [`ProgressListener`] and
//! the [`RecentProgress`] ring) and as JSON lines whose keys, order and
//! value types are Spark's ([`QueryProgress::to_json`]).
//!
//! A [`ProgressReporter`] turns what the driver measured in a trigger (a
//! [`TriggerReport`]) into a record as Spark's progress reporter does:
//!
//! * rates: `inputRowsPerSecond` divides the rows by the time since the
//!   previous trigger started (0 on the first trigger),
//!   `processedRowsPerSecond` by this trigger's duration (at least 1 ms);
//! * a trigger that ran a batch is recorded and passed to
//!   [`ProgressListener::on_progress`];
//! * a trigger without a batch is recorded only when 10 s
//!   (`spark.sql.streaming.noDataProgressEventInterval`) have passed since
//!   the last record, and then passed to [`ProgressListener::on_idle`]
//!   (not on the very first record of a run), with the
//!   [diagnosis](crate::diagnosis) of why no rows arrive, which is also
//!   logged;
//! * the source's metrics are [`source_metrics`].
//!
//! ```
//! use ferrokafka_streaming::planner::PartitionOffsets;
//! use ferrokafka_streaming::progress::*;
//!
//! let mut reporter = ProgressReporter::new(
//!     QueryIdentity::new("8c2a6b1e-0f4d-4c3b-9a2e-5d6f7a8b9c0d", "0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e", None),
//!     "KafkaV2[Subscribe[orders]]",
//!     "ForeachBatchSink",
//! );
//! let end = PartitionOffsets::from_json(r#"{"orders":{"0":50}}"#).unwrap();
//! let progress = reporter.finish_trigger(TriggerReport {
//!     batch_id: 0,
//!     started_ms: 1_700_000_000_000,
//!     finished_ms: 1_700_000_000_500,
//!     ran_batch: true,
//!     end: Some(end.clone()),
//!     latest: Some(end),
//!     input_rows: 50,
//!     ..TriggerReport::default()
//! });
//! let json = progress.unwrap().to_json();
//! assert!(json.contains(r#""timestamp":"2023-11-14T22:13:20.000Z","batchId":0,"batchDuration":500,"numInputRows":50,"inputRowsPerSecond":0.0,"processedRowsPerSecond":100.0"#));
//! assert_eq!(reporter.recent().last().unwrap().num_input_rows(), 50);
//! ```

mod json;
mod metrics;

use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::num::NonZeroUsize;
use std::sync::{Arc, Mutex, MutexGuard};

pub use metrics::{source_metrics, BytesBehindEstimator, ESTIMATED_TOTAL_BYTES_BEHIND_LATEST};

use crate::diagnosis::{Diagnosis, NoRowsReason};
use crate::planner::PartitionOffsets;
use json::ObjectWriter;

/// Spark's names of the phases in `durationMs`.
pub mod phase {
    /// Writing the batch to the sink.
    pub const ADD_BATCH: &str = "addBatch";
    /// Writing the commit log entry.
    pub const COMMIT_OFFSETS: &str = "commitOffsets";
    /// Getting the batch's data from the source (planning its ranges).
    pub const GET_BATCH: &str = "getBatch";
    /// Fetching the latest offsets and applying the read limit.
    pub const LATEST_OFFSET: &str = "latestOffset";
    /// Planning the batch's query.
    pub const QUERY_PLANNING: &str = "queryPlanning";
    /// The whole trigger.
    pub const TRIGGER_EXECUTION: &str = "triggerExecution";
    /// Writing the offsets log entry.
    pub const WAL_COMMIT: &str = "walCommit";
}

/// The source metric counting the possible data losses a batch went on
/// despite (`failOnDataLoss=false`), named after Spark's task metric; only
/// in records of batches that had one.
pub const DATA_LOSS: &str = "dataLoss";

/// The source metric counting the offsets those data losses skipped, named
/// after Spark's task metric (which counts the read's skips only; here the
/// offsets a new partition lost before its first batch count too).
pub const OFFSET_OUT_OF_RANGE: &str = "offsetOutOfRange";

/// Spark's default `spark.sql.streaming.numRecentProgressUpdates`.
pub const DEFAULT_PROGRESS_RETENTION: NonZeroUsize = match NonZeroUsize::new(100) {
    Some(n) => n,
    None => unreachable!(),
};

/// Spark's default `spark.sql.streaming.noDataProgressEventInterval`.
pub const DEFAULT_IDLE_INTERVAL_MS: i64 = 10_000;

/// A source's part of a progress record (Spark's `SourceProgress`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SourceProgress {
    /// `KafkaV2[Subscribe[orders]]` and the like.
    pub description: String,
    /// Where the trigger started (`null` on a query's first batch).
    pub start_offset: Option<PartitionOffsets>,
    /// Where it ended.
    pub end_offset: Option<PartitionOffsets>,
    /// The latest offsets it planned against.
    pub latest_offset: Option<PartitionOffsets>,
    /// Rows read.
    pub num_input_rows: i64,
    /// Rows per second since the previous trigger started.
    pub input_rows_per_second: f64,
    /// Rows per second of this trigger's duration.
    pub processed_rows_per_second: f64,
    /// [`source_metrics`], keys sorted.
    pub metrics: BTreeMap<String, String>,
}

/// The sink's part of a progress record (Spark's `SinkProgress`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SinkProgress {
    /// The sink's description.
    pub description: String,
    /// Rows written, −1 when the sink does not count them.
    pub num_output_rows: i64,
    /// The sink's own metrics.
    pub metrics: BTreeMap<String, String>,
}

/// The progress of one trigger (Spark's `StreamingQueryProgress`).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct QueryProgress {
    /// The query's id, kept across restarts (a UUID).
    pub id: String,
    /// This run's id (a UUID).
    pub run_id: String,
    /// The query's name, if it has one.
    pub name: Option<String>,
    /// When the trigger started, in ms since the epoch.
    pub timestamp_ms: i64,
    /// The batch's id; for a trigger without a batch, the id the next
    /// batch will have.
    pub batch_id: u64,
    /// How long the trigger took, in ms.
    pub batch_duration_ms: i64,
    /// Time per phase, in ms (names in [`phase`]).
    pub duration_ms: BTreeMap<String, i64>,
    /// The sources (this query has one).
    pub sources: Vec<SourceProgress>,
    /// The sink.
    pub sink: SinkProgress,
    /// Why the trigger brought no rows, when it brought none and the
    /// driver diagnosed it. In the Rust API only: the JSON is Spark's.
    pub no_rows: Option<Diagnosis>,
}

impl QueryProgress {
    /// The trigger's start as Spark writes it: `2023-11-14T22:13:20.123Z`.
    pub fn timestamp(&self) -> String {
        json::timestamp(self.timestamp_ms)
    }

    /// Rows read, all sources together.
    pub fn num_input_rows(&self) -> i64 {
        self.sources
            .iter()
            .map(|source| source.num_input_rows)
            .sum()
    }

    /// Input rate, all sources together.
    pub fn input_rows_per_second(&self) -> f64 {
        self.sources
            .iter()
            .map(|source| source.input_rows_per_second)
            .sum()
    }

    /// Processing rate, all sources together.
    pub fn processed_rows_per_second(&self) -> f64 {
        self.sources
            .iter()
            .map(|source| source.processed_rows_per_second)
            .sum()
    }

    /// Spark's compact JSON: the fields in Spark's order, empty maps and
    /// NaN or infinite rates left out, rates with one decimal (Spark ≥ 4.1),
    /// offsets as JSON objects, `stateOperators` empty (the source keeps
    /// no state), no `eventTime` (no watermark) and no `observedMetrics`.
    pub fn to_json(&self) -> String {
        let sources: Vec<String> = self.sources.iter().map(source_json).collect();
        ObjectWriter::new()
            .raw("id", &json::string(&self.id))
            .raw("runId", &json::string(&self.run_id))
            .raw("name", &json::nullable_string(self.name.as_deref()))
            .raw("timestamp", &json::string(&self.timestamp()))
            .raw("batchId", &self.batch_id.to_string())
            .raw("batchDuration", &self.batch_duration_ms.to_string())
            .raw("numInputRows", &self.num_input_rows().to_string())
            .optional(
                "inputRowsPerSecond",
                json::rate(self.input_rows_per_second()),
            )
            .optional(
                "processedRowsPerSecond",
                json::rate(self.processed_rows_per_second()),
            )
            .optional(
                "durationMs",
                json::sorted_map(&self.duration_ms, ToString::to_string),
            )
            .raw("stateOperators", "[]")
            .raw("sources", &format!("[{}]", sources.join(",")))
            .raw(
                "sink",
                &ObjectWriter::new()
                    .raw("description", &json::string(&self.sink.description))
                    .raw("numOutputRows", &self.sink.num_output_rows.to_string())
                    .optional(
                        "metrics",
                        json::sorted_map(&self.sink.metrics, |v| json::string(v)),
                    )
                    .finish(),
            )
            .finish()
    }
}

fn source_json(source: &SourceProgress) -> String {
    let offsets = |offsets: &Option<PartitionOffsets>| {
        offsets
            .as_ref()
            .map_or_else(|| "null".to_owned(), PartitionOffsets::to_json)
    };
    ObjectWriter::new()
        .raw("description", &json::string(&source.description))
        .raw("startOffset", &offsets(&source.start_offset))
        .raw("endOffset", &offsets(&source.end_offset))
        .raw("latestOffset", &offsets(&source.latest_offset))
        .raw("numInputRows", &source.num_input_rows.to_string())
        .optional(
            "inputRowsPerSecond",
            json::rate(source.input_rows_per_second),
        )
        .optional(
            "processedRowsPerSecond",
            json::rate(source.processed_rows_per_second),
        )
        .optional(
            "metrics",
            json::sorted_map(&source.metrics, |v| json::string(v)),
        )
        .finish()
}

/// A query that has been waiting for data (Spark's `QueryIdleEvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IdleEvent {
    /// The query's id.
    pub id: String,
    /// This run's id.
    pub run_id: String,
    /// When the idle trigger started, as Spark writes timestamps.
    pub timestamp: String,
    /// Why no rows arrive, when the driver diagnosed it.
    pub no_rows: Option<Diagnosis>,
}

/// A query that stopped (Spark's `QueryTerminatedEvent`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TerminatedEvent {
    /// The query's id.
    pub id: String,
    /// This run's id.
    pub run_id: String,
    /// The error that stopped it; `None` when it stopped normally.
    pub exception: Option<String>,
    /// The error's class (`KAFKA_DATA_LOSS.PARTITIONS_DELETED`), if it has
    /// one.
    pub error_class: Option<String>,
}

/// Receives a query's progress (Spark's `StreamingQueryListener`). Calls
/// come from the query's driver, one at a time; keep them short.
pub trait ProgressListener: Send {
    /// A trigger ran a batch.
    fn on_progress(&mut self, progress: &QueryProgress);

    /// The query has been waiting for data (at most every 10 s).
    fn on_idle(&mut self, _event: &IdleEvent) {}

    /// The query stopped.
    fn on_terminated(&mut self, _event: &TerminatedEvent) {}
}

/// Writes each batch's progress as one line of Spark's JSON.
///
/// A write that fails is logged and dropped: progress reporting never
/// stops a query.
#[derive(Debug)]
pub struct JsonLinesListener<W> {
    out: W,
}

impl<W: Write + Send> JsonLinesListener<W> {
    /// Lines go to `out` (a file, stdout, a buffer).
    pub fn new(out: W) -> Self {
        JsonLinesListener { out }
    }

    /// The writer back.
    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write + Send> ProgressListener for JsonLinesListener<W> {
    fn on_progress(&mut self, progress: &QueryProgress) {
        let written = writeln!(self.out, "{}", progress.to_json()).and_then(|()| self.out.flush());
        if let Err(err) = written {
            tracing::warn!(error = %err, "could not write a progress line; it is dropped");
        }
    }
}

/// The last records of a query, newest last (Spark's `recentProgress`);
/// clones share the records, so one can be read while the driver adds.
#[derive(Debug, Clone)]
pub struct RecentProgress {
    capacity: usize,
    records: Arc<Mutex<VecDeque<QueryProgress>>>,
}

impl RecentProgress {
    /// Keeps the last `capacity` records.
    pub fn new(capacity: NonZeroUsize) -> Self {
        RecentProgress {
            capacity: capacity.get(),
            records: Arc::new(Mutex::new(VecDeque::with_capacity(capacity.get()))),
        }
    }

    /// Adds a record, dropping the oldest beyond the capacity.
    pub fn push(&self, progress: QueryProgress) {
        let mut records = self.lock();
        records.push_back(progress);
        while records.len() > self.capacity {
            records.pop_front();
        }
    }

    /// The records, oldest first.
    pub fn recent(&self) -> Vec<QueryProgress> {
        self.lock().iter().cloned().collect()
    }

    /// The newest record (Spark's `lastProgress`).
    pub fn last(&self) -> Option<QueryProgress> {
        self.lock().back().cloned()
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<QueryProgress>> {
        // Pushing cannot leave the queue half-changed: a poisoned lock is fine.
        self.records
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Who a query is: its ids and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryIdentity {
    /// The id kept across restarts ([`Checkpoint::query_id`](crate::checkpoint::Checkpoint::query_id)).
    pub id: String,
    /// This run's id ([`java::random_uuid`](crate::java::random_uuid)).
    pub run_id: String,
    /// The query's name, if it has one.
    pub name: Option<String>,
}

impl QueryIdentity {
    /// A query's identity.
    pub fn new(id: &str, run_id: &str, name: Option<&str>) -> Self {
        QueryIdentity {
            id: id.to_owned(),
            run_id: run_id.to_owned(),
            name: name.map(str::to_owned),
        }
    }
}

/// What the driver measured in one trigger.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TriggerReport {
    /// The batch's id, or the next batch's id for a trigger without one.
    pub batch_id: u64,
    /// When the trigger started, in ms since the epoch.
    pub started_ms: i64,
    /// When it finished.
    pub finished_ms: i64,
    /// Whether it ran a batch.
    pub ran_batch: bool,
    /// Where it started (`None` before the first batch of a query).
    pub start: Option<PartitionOffsets>,
    /// Where it ended (for a trigger without a batch, where it would have
    /// started).
    pub end: Option<PartitionOffsets>,
    /// The latest offsets it planned against.
    pub latest: Option<PartitionOffsets>,
    /// Rows read.
    pub input_rows: i64,
    /// Bytes read: keys, values and headers of the rows.
    pub input_bytes: u64,
    /// Offsets covered: Σ (until − from) of the batch's ranges.
    pub input_offsets: u64,
    /// Possible data losses the batch went on despite
    /// (`failOnDataLoss=false`): noticed while planning it or reading it.
    pub data_loss: u64,
    /// Offsets those data losses skipped.
    pub skipped_offsets: u64,
    /// Rows the sink wrote, if it counts them.
    pub output_rows: Option<i64>,
    /// Time per phase, in ms; `triggerExecution` is filled in when absent.
    pub durations_ms: BTreeMap<String, i64>,
    /// Why no rows arrived, if the trigger read none and the driver
    /// diagnosed it ([`diagnose`](crate::diagnosis::diagnose)).
    pub no_rows: Option<Diagnosis>,
}

/// Builds progress records from [`TriggerReport`]s and hands them out.
pub struct ProgressReporter {
    identity: QueryIdentity,
    source_description: String,
    sink_description: String,
    recent: RecentProgress,
    listeners: Vec<Box<dyn ProgressListener>>,
    estimator: BytesBehindEstimator,
    idle_interval_ms: i64,
    previous_trigger_start_ms: Option<i64>,
    /// When a record was last made (Spark's `lastNoExecutionProgressEventTime`).
    last_record_ms: Option<i64>,
    /// Whether the last batch's sink counted rows (idle records then say 0, else −1).
    sink_counts_rows: Option<bool>,
    /// The kinds of the last logged no-rows reasons.
    logged_reasons: Option<Vec<std::mem::Discriminant<NoRowsReason>>>,
}

impl std::fmt::Debug for ProgressReporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProgressReporter")
            .field("identity", &self.identity)
            .field("source_description", &self.source_description)
            .field("sink_description", &self.sink_description)
            .field("listeners", &self.listeners.len())
            .finish_non_exhaustive()
    }
}

impl ProgressReporter {
    /// A reporter for `identity`'s query reading `source_description`
    /// (`KafkaV2[Subscribe[orders]]`, see
    /// [`TopicSelection`](crate::planner::TopicSelection)'s `Display`) into
    /// `sink_description`. It keeps 100 records, makes idle records every
    /// 10 s and estimates bytes behind over 300 s, as Spark and Databricks
    /// do by default.
    pub fn new(
        identity: QueryIdentity,
        source_description: impl Into<String>,
        sink_description: impl Into<String>,
    ) -> Self {
        ProgressReporter {
            identity,
            source_description: source_description.into(),
            sink_description: sink_description.into(),
            recent: RecentProgress::new(DEFAULT_PROGRESS_RETENTION),
            listeners: Vec::new(),
            estimator: BytesBehindEstimator::new(300_000),
            idle_interval_ms: DEFAULT_IDLE_INTERVAL_MS,
            previous_trigger_start_ms: None,
            last_record_ms: None,
            sink_counts_rows: None,
            logged_reasons: None,
        }
    }

    /// Keeps the last `records` records instead of 100.
    pub fn with_retention(mut self, records: NonZeroUsize) -> Self {
        self.recent = RecentProgress::new(records);
        self
    }

    /// Makes idle records at most every `interval_ms` instead of 10 s.
    pub fn with_idle_interval(mut self, interval_ms: i64) -> Self {
        self.idle_interval_ms = interval_ms;
        self
    }

    /// Estimates bytes behind over `window_ms`
    /// (`bytesEstimateWindowLength`) instead of 300 s.
    pub fn with_bytes_estimate_window(mut self, window_ms: i64) -> Self {
        self.estimator = BytesBehindEstimator::new(window_ms);
        self
    }

    /// Whether a trigger without a batch that ends at `now_ms` would make
    /// a record (the first of a run, or the idle interval has passed): so
    /// the driver diagnoses why no rows come only then.
    pub fn idle_record_due(&self, now_ms: i64) -> bool {
        self.last_record_ms
            .is_none_or(|last| now_ms - self.idle_interval_ms >= last)
    }

    /// Adds a listener.
    pub fn add_listener(&mut self, listener: Box<dyn ProgressListener>) {
        self.listeners.push(listener);
    }

    /// The recent records (a handle that stays current).
    pub fn recent(&self) -> RecentProgress {
        self.recent.clone()
    }

    /// Records a trigger; returns the record when one was made (always for
    /// a batch; for an idle trigger, at most every idle interval).
    pub fn finish_trigger(&mut self, report: TriggerReport) -> Option<QueryProgress> {
        let processing_ms = report.finished_ms - report.started_ms;
        let processing_seconds = processing_ms.max(1) as f64 / 1000.0;
        let input_seconds = match self.previous_trigger_start_ms {
            Some(previous) => (report.started_ms - previous) as f64 / 1000.0,
            None => f64::INFINITY,
        };
        self.previous_trigger_start_ms = Some(report.started_ms);
        let input_rows = if report.ran_batch {
            self.estimator.record_batch(
                report.finished_ms,
                report.input_bytes,
                report.input_offsets,
            );
            report.input_rows
        } else {
            0
        };
        let num_output_rows = if report.ran_batch {
            self.sink_counts_rows = Some(report.output_rows.is_some());
            report.output_rows.unwrap_or(-1)
        } else if self.sink_counts_rows == Some(true) {
            0
        } else {
            -1
        };
        let mut duration_ms = report.durations_ms;
        duration_ms
            .entry(phase::TRIGGER_EXECUTION.to_owned())
            .or_insert(processing_ms);
        let mut metrics = source_metrics(
            report.latest.as_ref(),
            report.end.as_ref(),
            &self.estimator,
            report.finished_ms,
        );
        if report.ran_batch && report.data_loss > 0 {
            metrics.insert(DATA_LOSS.to_owned(), report.data_loss.to_string());
            metrics.insert(
                OFFSET_OUT_OF_RANGE.to_owned(),
                report.skipped_offsets.to_string(),
            );
        }
        let progress = QueryProgress {
            id: self.identity.id.clone(),
            run_id: self.identity.run_id.clone(),
            name: self.identity.name.clone(),
            timestamp_ms: report.started_ms,
            batch_id: report.batch_id,
            batch_duration_ms: processing_ms,
            duration_ms,
            sources: vec![SourceProgress {
                description: self.source_description.clone(),
                start_offset: report.start,
                end_offset: report.end,
                latest_offset: report.latest,
                num_input_rows: input_rows,
                input_rows_per_second: input_rows as f64 / input_seconds,
                processed_rows_per_second: input_rows as f64 / processing_seconds,
                metrics,
            }],
            sink: SinkProgress {
                description: self.sink_description.clone(),
                num_output_rows,
                metrics: BTreeMap::new(),
            },
            no_rows: report.no_rows,
        };
        let now = report.finished_ms;
        if report.ran_batch {
            self.last_record_ms = Some(now);
            self.recent.push(progress.clone());
            tracing::info!(progress = %progress.to_json(), "Streaming query made progress");
            for listener in &mut self.listeners {
                listener.on_progress(&progress);
            }
            return Some(progress);
        }
        if self
            .last_record_ms
            .is_some_and(|last| now - self.idle_interval_ms < last)
        {
            return None;
        }
        self.recent.push(progress.clone());
        if self.last_record_ms.is_some() {
            self.log_no_rows(progress.no_rows.as_ref());
            let event = IdleEvent {
                id: progress.id.clone(),
                run_id: progress.run_id.clone(),
                timestamp: progress.timestamp(),
                no_rows: progress.no_rows.clone(),
            };
            for listener in &mut self.listeners {
                listener.on_idle(&event);
            }
        }
        self.last_record_ms = Some(now);
        Some(progress)
    }

    /// Logs the diagnosis: a warning when its reasons changed (information
    /// when the query is merely caught up), then quietly.
    fn log_no_rows(&mut self, diagnosis: Option<&Diagnosis>) {
        let Some(diagnosis) = diagnosis else {
            tracing::info!(
                "Streaming query has been idle and waiting for new data more than {} ms.",
                self.idle_interval_ms
            );
            return;
        };
        let kinds: Vec<_> = diagnosis
            .reasons
            .iter()
            .map(std::mem::discriminant)
            .collect();
        let changed = self.logged_reasons.as_ref() != Some(&kinds);
        let caught_up = diagnosis.reasons == [NoRowsReason::CaughtUp];
        let id = &self.identity.id;
        if changed && !caught_up {
            tracing::warn!(query_id = %id, "Streaming query reads {diagnosis}");
        } else if changed {
            tracing::info!(query_id = %id, "Streaming query reads {diagnosis}");
        } else {
            tracing::debug!(query_id = %id, "Streaming query reads {diagnosis}");
        }
        self.logged_reasons = Some(kinds);
    }

    /// Tells the listeners the query stopped, with the error that stopped
    /// it (and its error class) if any.
    pub fn terminate(&mut self, error: Option<(&str, Option<&str>)>) {
        let event = TerminatedEvent {
            id: self.identity.id.clone(),
            run_id: self.identity.run_id.clone(),
            exception: error.map(|(message, _)| message.to_owned()),
            error_class: error.and_then(|(_, class)| class.map(str::to_owned)),
        };
        for listener in &mut self.listeners {
            listener.on_terminated(&event);
        }
    }
}

#[cfg(test)]
mod tests;
