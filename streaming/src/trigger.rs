//! Triggers (§8): when micro-batches run, when the query stops, and the
//! read limit each trigger plans under (§3.1, §3.2). Pure: the caller
//! passes the time in and does the waiting, so tests drive a virtual clock.
//!
//! * [`TriggerScheduler`] says when the next trigger starts, or that the
//!   query stops, from how the last trigger went.
//! * [`TriggerPlanner`] decides each trigger's end offsets: the read limit
//!   (ignored under `Once`), the `minOffsetsPerTrigger` clock, and under
//!   `AvailableNow` the snapshot of latest offsets taken on the first
//!   trigger and the checks of every batch against it.
//!
//! A query's loop, by hand (a real driver fetches the latest offsets from
//! Kafka and reads the batch in between):
//!
//! ```
//! use ferrokafka_streaming::planner::{PartitionOffsets, ReadLimit};
//! use ferrokafka_streaming::trigger::*;
//!
//! let trigger = Trigger::AvailableNow;
//! let limit = ReadLimit { max_rows: Some(300), ..ReadLimit::default() };
//! let scheduler = TriggerScheduler::new(trigger);
//! let mut planner = TriggerPlanner::new(trigger, limit, "KafkaV2[Subscribe[t]]");
//! let latest = PartitionOffsets::from_json(r#"{"t":{"0":1000}}"#).unwrap();
//! let mut start = PartitionOffsets::from_json(r#"{"t":{"0":0}}"#).unwrap();
//! let (mut now, mut batches) = (0, Vec::new());
//! loop {
//!     let fetched = planner.needs_latest().then(|| latest.clone());
//!     let plan = planner.plan(&start, fetched, now, &PartitionOffsets::new()).unwrap();
//!     let ran_batch = plan.end.is_some();
//!     if let Some(end) = plan.end {
//!         planner.check_batch_end(&end, &latest).unwrap();
//!         batches.push(end.to_json());
//!         start = end;
//!     }
//!     let run = TriggerRun { started_ms: now, finished_ms: now + 50, ran_batch };
//!     match scheduler.after(run) {
//!         NextTrigger::At(at) => now = at,
//!         stop => {
//!             assert_eq!(stop, NextTrigger::Stop(StopReason::AllAvailableDataProcessed));
//!             break;
//!         }
//!     }
//! }
//! assert_eq!(batches.len(), 4); // 300 + 300 + 300 + 100
//! ```

use std::fmt;
use std::time::Duration;

use crate::planner::{
    check_end_against_latest, check_end_against_prefetched, next_end_offsets, AvailableNowError,
    PartitionOffsets, ReadLimit, TriggerDelay,
};

/// Spark's `spark.sql.streaming.pollingDelay`: the pause after a trigger
/// that found no new data, so an idle query does not spin.
pub const POLLING_DELAY_MS: i64 = 10;

/// When a streaming query runs its micro-batches (Spark's `Trigger`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Trigger {
    /// A trigger every interval, aligned to multiples of it since the
    /// epoch; a batch that overruns it is followed at once by the next. A
    /// zero interval (the default) starts each trigger as soon as the
    /// previous one is done. Millisecond resolution, as in Spark.
    ProcessingTime(Duration),
    /// One batch with everything available, ignoring
    /// `maxOffsetsPerTrigger` and `minOffsetsPerTrigger`, then stop
    /// (deprecated in Spark in favour of [`AvailableNow`](Self::AvailableNow)).
    Once,
    /// Everything available when the query starts, in as many batches as
    /// the read limit needs, then stop. Data arriving meanwhile, and
    /// partitions created meanwhile, are left for the next run.
    AvailableNow,
}

impl Default for Trigger {
    /// As soon as the previous batch is done.
    fn default() -> Self {
        Trigger::ProcessingTime(Duration::ZERO)
    }
}

/// Spark's `toString`: `ProcessingTimeTrigger(10000)`, `OneTimeTrigger`,
/// `AvailableNowTrigger`.
impl fmt::Display for Trigger {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Trigger::ProcessingTime(interval) => {
                write!(f, "ProcessingTimeTrigger({})", interval_ms(*interval))
            }
            Trigger::Once => f.write_str("OneTimeTrigger"),
            Trigger::AvailableNow => f.write_str("AvailableNowTrigger"),
        }
    }
}

fn interval_ms(interval: Duration) -> i64 {
    i64::try_from(interval.as_millis()).unwrap_or(i64::MAX)
}

/// How one trigger went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriggerRun {
    /// When it started, in ms (any clock, the same for every call).
    pub started_ms: i64,
    /// When it finished.
    pub finished_ms: i64,
    /// Whether it ran a batch; `false` when there was no new data (or
    /// `minOffsetsPerTrigger` held it back).
    pub ran_batch: bool,
}

/// What follows a trigger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NextTrigger {
    /// Start the next trigger at this time (at once if it is past).
    At(i64),
    /// The query is done.
    Stop(StopReason),
}

/// Why a query stopped by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StopReason {
    /// `Once` ran its trigger.
    OnceDone,
    /// `AvailableNow` found nothing left of its snapshot.
    AllAvailableDataProcessed,
}

/// When triggers run (Spark's trigger executors).
///
/// ```
/// use std::time::Duration;
/// use ferrokafka_streaming::trigger::{NextTrigger, Trigger, TriggerRun, TriggerScheduler};
/// let every_10s = TriggerScheduler::new(Trigger::ProcessingTime(Duration::from_secs(10)));
/// // A 3 s batch started at 20 s: the next trigger is at 30 s.
/// let run = TriggerRun { started_ms: 20_000, finished_ms: 23_000, ran_batch: true };
/// assert_eq!(every_10s.after(run), NextTrigger::At(30_000));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriggerScheduler {
    trigger: Trigger,
}

impl TriggerScheduler {
    /// A scheduler for `trigger`. The first trigger runs at once.
    pub fn new(trigger: Trigger) -> Self {
        TriggerScheduler { trigger }
    }

    /// The trigger.
    pub fn trigger(&self) -> Trigger {
        self.trigger
    }

    /// What follows `run`:
    ///
    /// * processing time: the next multiple of the interval after the
    ///   trigger's start (Spark's `nextBatchTime`), or the run's end if that
    ///   is later; after a trigger without a batch, not before
    ///   [`POLLING_DELAY_MS`] has passed;
    /// * `Once`: stop;
    /// * `AvailableNow`: the next trigger at once after a batch, stop after
    ///   a trigger without one.
    pub fn after(&self, run: TriggerRun) -> NextTrigger {
        let idle_until = if run.ran_batch {
            run.finished_ms
        } else {
            run.finished_ms.saturating_add(POLLING_DELAY_MS)
        };
        match self.trigger {
            Trigger::ProcessingTime(interval) => {
                let interval = interval_ms(interval);
                if self.falling_behind(run) {
                    tracing::warn!(
                        "Current batch is falling behind. The trigger interval is {interval} \
                         milliseconds, but spent {} milliseconds",
                        run.finished_ms - run.started_ms
                    );
                }
                let next = if interval == 0 {
                    run.started_ms
                } else {
                    run.started_ms
                        .div_euclid(interval)
                        .saturating_add(1)
                        .saturating_mul(interval)
                };
                NextTrigger::At(next.max(idle_until))
            }
            Trigger::Once => NextTrigger::Stop(StopReason::OnceDone),
            Trigger::AvailableNow if run.ran_batch => NextTrigger::At(run.finished_ms),
            Trigger::AvailableNow => {
                tracing::info!(
                    "Finished processing all available data for the trigger, terminating this \
                     Trigger.AvailableNow query"
                );
                NextTrigger::Stop(StopReason::AllAvailableDataProcessed)
            }
        }
    }

    /// Whether `run` took longer than the processing-time interval (Spark
    /// then warns that the batch is falling behind).
    pub fn falling_behind(&self, run: TriggerRun) -> bool {
        match self.trigger {
            Trigger::ProcessingTime(interval) => {
                let interval = interval_ms(interval);
                interval > 0 && run.finished_ms - run.started_ms > interval
            }
            _ => false,
        }
    }
}

/// A trigger's planned end offsets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerPlan {
    /// The latest offsets this trigger planned against (the `AvailableNow`
    /// snapshot, or the offsets just fetched): progress reports them as
    /// `latestOffset` and measures the backlog against them.
    pub latest: PartitionOffsets,
    /// The end of the batch to run, `None` when this trigger runs none:
    /// nothing new, no partitions, or `minOffsetsPerTrigger` waiting.
    pub end: Option<PartitionOffsets>,
}

/// [`TriggerPlanner::plan`] was called without the latest offsets while
/// [`TriggerPlanner::needs_latest`] said they were needed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "this trigger needs the latest offsets: fetch them whenever TriggerPlanner::needs_latest() \
     is true and pass them to plan()"
)]
pub struct LatestOffsetsNeeded;

/// Plans each trigger's end offsets under the trigger's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TriggerPlanner {
    available_now: bool,
    limit: ReadLimit,
    delay: TriggerDelay,
    snapshot: Option<PartitionOffsets>,
}

impl TriggerPlanner {
    /// A planner for `trigger` with the source's read limit (from
    /// [`StreamSettings::read_limit`](crate::options::StreamSettings::read_limit)).
    /// Under `Once` the limit is replaced by everything available, with
    /// Spark's warning naming the `source`.
    pub fn new(trigger: Trigger, limit: ReadLimit, source: &str) -> Self {
        let limit = if trigger == Trigger::Once && limit != ReadLimit::all_available() {
            tracing::warn!(
                "The read limit {} for {source} is ignored when Trigger.Once is used.",
                describe_limit(&limit)
            );
            ReadLimit::all_available()
        } else {
            limit
        };
        TriggerPlanner {
            available_now: trigger == Trigger::AvailableNow,
            limit,
            delay: TriggerDelay::new(),
            snapshot: None,
        }
    }

    /// The read limit triggers plan under.
    pub fn read_limit(&self) -> ReadLimit {
        self.limit
    }

    /// Whether the next [`plan`](Self::plan) needs freshly fetched latest
    /// offsets: always, except under `AvailableNow` once its snapshot is
    /// taken.
    pub fn needs_latest(&self) -> bool {
        !(self.available_now && self.snapshot.is_some())
    }

    /// When a batch last fired on the `maxTriggerDelay` clock (0: never),
    /// as [`TriggerDelay::last_trigger_ms`].
    pub fn last_trigger_ms(&self) -> i64 {
        self.delay.last_trigger_ms()
    }

    /// The `AvailableNow` snapshot of latest offsets, once taken.
    pub fn snapshot(&self) -> Option<&PartitionOffsets> {
        self.snapshot.as_ref()
    }

    /// Plans the trigger starting at `start` (Spark's `latestOffset(start,
    /// limit)`), at `now_ms` on the clock of `maxTriggerDelay`.
    ///
    /// `fetched_latest` are the latest offsets fetched for this trigger
    /// (needed when [`needs_latest`](Self::needs_latest) says so; the first
    /// ones become the `AvailableNow` snapshot, later ones are ignored
    /// there). `new_partition_earliest` has the earliest offsets of the
    /// latest offsets' partitions missing from `start` (see
    /// [`new_partitions`](crate::planner::new_partitions)); only
    /// `maxOffsetsPerTrigger` uses them.
    pub fn plan(
        &mut self,
        start: &PartitionOffsets,
        fetched_latest: Option<PartitionOffsets>,
        now_ms: i64,
        new_partition_earliest: &PartitionOffsets,
    ) -> Result<TriggerPlan, LatestOffsetsNeeded> {
        let latest = match (&self.snapshot, fetched_latest) {
            (Some(snapshot), _) if self.available_now => snapshot.clone(),
            (_, Some(fetched)) => {
                if self.available_now {
                    self.snapshot = Some(fetched.clone());
                }
                fetched
            }
            (_, None) => return Err(LatestOffsetsNeeded),
        };
        let end = next_end_offsets(
            start,
            &latest,
            &self.limit,
            &mut self.delay,
            now_ms,
            new_partition_earliest,
        )
        .filter(|end| end != start);
        Ok(TriggerPlan { latest, end })
    }

    /// Spark's checks of an `AvailableNow` batch before it is read (§8):
    /// its end against the snapshot, then against `latest_now`, the latest
    /// offsets fetched again for this batch. Errors are fatal whatever
    /// `failOnDataLoss` says. Nothing to check under other triggers.
    pub fn check_batch_end(
        &self,
        end: &PartitionOffsets,
        latest_now: &PartitionOffsets,
    ) -> Result<(), AvailableNowError> {
        match &self.snapshot {
            Some(snapshot) if self.available_now => {
                check_end_against_prefetched(snapshot, end)?;
                check_end_against_latest(end, latest_now)
            }
            _ => Ok(()),
        }
    }

    /// Whether [`check_batch_end`](Self::check_batch_end) has anything to
    /// check (so the driver knows to fetch the latest offsets again).
    pub fn checks_batch_ends(&self) -> bool {
        self.available_now
    }
}

/// The limit as its options: `maxOffsetsPerTrigger=100,
/// minOffsetsPerTrigger=10 (maxTriggerDelay=900000ms)`.
fn describe_limit(limit: &ReadLimit) -> String {
    let mut parts = Vec::new();
    if let Some(max) = limit.max_rows {
        parts.push(format!("maxOffsetsPerTrigger={max}"));
    }
    if let Some(min) = limit.min_rows {
        parts.push(format!(
            "minOffsetsPerTrigger={} (maxTriggerDelay={}ms)",
            min.rows, min.max_trigger_delay_ms
        ));
    }
    parts.join(", ")
}

#[cfg(test)]
#[path = "trigger_tests.rs"]
mod tests;
