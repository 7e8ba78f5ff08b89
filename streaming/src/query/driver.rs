//! The query's loop (Spark's `MicroBatchExecution` with the Kafka
//! source's `KafkaMicroBatchStream`): per trigger, plan from the latest
//! offsets under the read limit, log the batch's offsets, hand the batch
//! to the handler, commit it, report progress, then wait for the next
//! trigger.
//!
//! Crash safety comes from the order of the checkpoint writes, each atomic:
//! `offsets/N` before any row of batch N is read, `commits/N` only after
//! the handler returned `Ok`. A process that dies anywhere leaves either
//! batch N uncommitted (the next run re-plans exactly its range and runs it
//! again) or committed (the next run plans N + 1 from its end).

use std::collections::{BTreeMap, BTreeSet};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures::FutureExt;
use tokio::sync::watch;

use super::batch::{BatchHandler, MicroBatch};
use super::clock::Clock;
use super::error::{HandlerError, QueryError};
use super::source::StreamSource;
use super::{Command, QueryOutcome, QueryPhase, Termination};
use crate::checkpoint::{BatchMetadata, Checkpoint, CheckpointError, LoggedBatch};
use crate::diagnosis::{diagnose, Diagnosis, QueryFacts};
use crate::planner::{
    new_partitions, plan_micro_batch, DataLoss, OffsetRange, PartitionOffsets, TopicListing,
};
use crate::progress::{phase, ProgressReporter, TriggerReport};
use crate::reader::{self, ReadFailure, ReadSettings};
use crate::trigger::{NextTrigger, TriggerPlanner, TriggerRun, TriggerScheduler};
use crate::SourceError;

/// Called at each phase of the loop.
pub(super) type PhaseHook = Arc<dyn Fn(QueryPhase) + Send + Sync>;

/// How a trigger ended.
enum TriggerEnd {
    /// It ran a batch (`true`) or found none to run.
    Ran(bool),
    /// A stop came while it planned: no batch was logged.
    Stopped,
    /// An abort came: the running batch was abandoned.
    Aborted,
}

/// A batch ready to run: logged (or to be re-run) with these offsets.
struct BatchToRun {
    batch_id: u64,
    start: PartitionOffsets,
    end: PartitionOffsets,
    /// The latest offsets planned against (`None` for a re-run).
    latest: Option<PartitionOffsets>,
    ranges: Vec<OffsetRange>,
    rerun: bool,
    data_loss: Vec<DataLoss>,
    skipped_offsets: u64,
    durations: BTreeMap<String, i64>,
}

/// What planning a trigger gave.
enum Planned {
    /// No batch this trigger.
    Idle {
        latest: PartitionOffsets,
        assigned: BTreeSet<ferrokafka::TopicPartition>,
        durations: BTreeMap<String, i64>,
    },
    /// A batch to log and run.
    Batch(BatchToRun),
}

pub(super) struct Driver<H> {
    pub(super) source: StreamSource,
    pub(super) read_settings: ReadSettings,
    pub(super) checkpoint: Option<Checkpoint>,
    pub(super) handler: H,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) control: watch::Receiver<Command>,
    pub(super) scheduler: TriggerScheduler,
    pub(super) planner: TriggerPlanner,
    pub(super) reporter: ProgressReporter,
    pub(super) on_phase: Option<PhaseHook>,
    /// The next batch's id.
    pub(super) batch_id: u64,
    /// Where the next batch starts.
    pub(super) start: PartitionOffsets,
    /// The initial offsets (`sources/0/0`).
    pub(super) initial: PartitionOffsets,
    /// A logged, uncommitted batch to run first.
    pub(super) pending_rerun: Option<LoggedBatch>,
    /// The latest offset last seen of every partition ever seen: what a
    /// deleted partition held that the query never read.
    pub(super) known_latest: PartitionOffsets,
    /// The topic listing of the last trigger.
    pub(super) listing: Vec<TopicListing>,
    /// Offsets read without a row since the last row.
    pub(super) offsets_without_rows: u64,
    pub(super) batches_committed: u64,
    pub(super) rows: u64,
}

impl<H: BatchHandler> Driver<H> {
    /// Runs triggers until the query stops; tells the listeners how.
    pub(super) async fn run(mut self) -> Result<QueryOutcome, QueryError> {
        let result = self.run_triggers().await;
        match &result {
            Ok(outcome) => {
                tracing::info!(
                    query_id = %self.checkpoint_query_id(),
                    "Streaming query terminated: {:?}",
                    outcome.termination
                );
                self.reporter.terminate(None);
            }
            Err(error) => {
                tracing::error!(query_id = %self.checkpoint_query_id(), "Streaming query failed: {error}");
                self.reporter
                    .terminate(Some((&error.to_string(), error.error_class())));
            }
        }
        result
    }

    fn checkpoint_query_id(&self) -> String {
        self.checkpoint
            .as_ref()
            .map(|c| c.query_id().to_owned())
            .unwrap_or_default()
    }

    fn outcome(&self, termination: Termination) -> QueryOutcome {
        QueryOutcome {
            termination,
            batches_committed: self.batches_committed,
            rows: self.rows,
            next_batch_id: self.batch_id,
        }
    }

    fn command(&self) -> Command {
        *self.control.borrow()
    }

    fn phase(&self, phase: QueryPhase) {
        if let Some(hook) = &self.on_phase {
            hook(phase);
        }
    }

    async fn run_triggers(&mut self) -> Result<QueryOutcome, QueryError> {
        loop {
            match self.command() {
                Command::Run => {}
                Command::Stop => return Ok(self.outcome(Termination::Stopped)),
                Command::Abort => return Ok(self.outcome(Termination::Aborted)),
            }
            let started_ms = self.clock.now_ms();
            let ran_batch = match self.trigger(started_ms).await? {
                TriggerEnd::Ran(ran_batch) => ran_batch,
                TriggerEnd::Stopped => return Ok(self.outcome(Termination::Stopped)),
                TriggerEnd::Aborted => return Ok(self.outcome(Termination::Aborted)),
            };
            let finished_ms = self.clock.now_ms();
            let run = TriggerRun {
                started_ms,
                finished_ms,
                ran_batch,
            };
            match self.scheduler.after(run) {
                NextTrigger::At(at_ms) => {
                    if at_ms > self.clock.now_ms() {
                        self.phase(QueryPhase::Waiting { until_ms: at_ms });
                        let mut control = self.control.clone();
                        tokio::select! {
                            () = self.clock.sleep_until(at_ms) => {}
                            () = stop_requested(&mut control) => {}
                        }
                    }
                }
                NextTrigger::Stop(reason) => {
                    return Ok(self.outcome(Termination::Finished(reason)));
                }
            }
        }
    }

    async fn trigger(&mut self, started_ms: i64) -> Result<TriggerEnd, QueryError> {
        let mut control = self.control.clone();
        let planned = if let Some(logged) = self.pending_rerun.take() {
            let batch_id = logged.batch_id;
            tokio::select! {
                planned = self.plan_rerun(logged) => planned?,
                () = abort_requested(&mut control) => {
                    tracing::warn!("Streaming query aborted while re-planning batch {batch_id}");
                    return Ok(TriggerEnd::Aborted);
                }
            }
        } else {
            let planned = tokio::select! {
                planned = self.plan(started_ms) => planned?,
                () = abort_requested(&mut control) => return Ok(TriggerEnd::Aborted),
            };
            match planned {
                Planned::Idle {
                    latest,
                    assigned,
                    durations,
                } => {
                    self.report_idle(started_ms, latest, &assigned, durations)
                        .await;
                    return Ok(TriggerEnd::Ran(false));
                }
                Planned::Batch(batch) => {
                    if self.command() != Command::Run {
                        // Stopped while planning: log nothing, run nothing.
                        return Ok(TriggerEnd::Stopped);
                    }
                    let mut batch = batch;
                    self.phase(QueryPhase::WritingOffsets {
                        batch_id: batch.batch_id,
                    });
                    let written_at = self.clock.now_ms();
                    let (batch_id, end) = (batch.batch_id, batch.end.clone());
                    self.with_checkpoint(move |checkpoint| {
                        checkpoint.write_offsets(batch_id, &end, &BatchMetadata::new(started_ms))
                    })
                    .await?;
                    batch.durations.insert(
                        phase::WAL_COMMIT.to_owned(),
                        self.clock.now_ms() - written_at,
                    );
                    batch
                }
            }
        };
        self.run_batch(planned, started_ms).await
    }

    /// Plans the next trigger (§2.4): the partitions, their latest offsets,
    /// the end under the read limit, then the batch's ranges.
    async fn plan(&mut self, started_ms: i64) -> Result<Planned, QueryError> {
        let batch_id = self.batch_id;
        let source_error = |error| QueryError::source(batch_id, error);
        self.phase(QueryPhase::Planning { batch_id });
        let (listing, assigned) = self.source.assigned().await.map_err(source_error)?;
        self.listing = listing;
        let fetched = if self.planner.needs_latest() {
            Some(
                self.source
                    .latest_offsets(&assigned, &self.start)
                    .await
                    .map_err(source_error)?,
            )
        } else {
            None
        };
        let latest_for_plan = fetched
            .as_ref()
            .or(self.planner.snapshot())
            .cloned()
            .unwrap_or_default();
        let added = new_partitions(&self.start, &latest_for_plan);
        let new_earliest = self
            .source
            .earliest_offsets(&added)
            .await
            .map_err(source_error)?;
        let now_ms = self.clock.now_ms();
        let plan = self
            .planner
            .plan(&self.start, fetched, now_ms, &new_earliest)
            .expect("the latest offsets are fetched whenever the planner needs them");
        for (tp, offset) in plan.latest.iter() {
            self.known_latest.insert(tp.clone(), offset);
        }
        let mut durations = BTreeMap::from([(
            phase::LATEST_OFFSET.to_owned(),
            self.clock.now_ms() - started_ms,
        )]);
        let end = match plan.end {
            Some(end) => end,
            // Every partition of the start is gone: a batch with no
            // partitions records (or fails on) the deletion.
            None if plan.latest.is_empty() && !self.start.is_empty() => PartitionOffsets::new(),
            None => {
                return Ok(Planned::Idle {
                    latest: plan.latest,
                    assigned,
                    durations,
                })
            }
        };
        if self.planner.checks_batch_ends() {
            let partitions: BTreeSet<_> = end.partitions().cloned().collect();
            let latest_now = self
                .source
                .latest_offsets(&partitions, &PartitionOffsets::new())
                .await
                .map_err(source_error)?;
            self.planner
                .check_batch_end(&end, &latest_now)
                .map_err(|source| QueryError::AvailableNow { batch_id, source })?;
        }
        let planning_started = self.clock.now_ms();
        let start = self.start.clone();
        let batch = self
            .ranges(batch_id, start, end, new_earliest, Some(plan.latest), false)
            .await?;
        durations.insert(
            phase::QUERY_PLANNING.to_owned(),
            self.clock.now_ms() - planning_started,
        );
        durations.insert(phase::GET_BATCH.to_owned(), 0);
        Ok(Planned::Batch(BatchToRun { durations, ..batch }))
    }

    /// Plans a logged, uncommitted batch again: exactly its offsets.
    async fn plan_rerun(&mut self, logged: LoggedBatch) -> Result<BatchToRun, QueryError> {
        let batch_id = logged.batch_id;
        self.phase(QueryPhase::Planning { batch_id });
        tracing::info!(
            "Resuming at batch {batch_id}: it was logged but not committed, so it runs again \
             from {} to {}",
            logged.start,
            logged.end
        );
        let added = new_partitions(&logged.start, &logged.end);
        let new_earliest = self
            .source
            .earliest_offsets(&added)
            .await
            .map_err(|error| QueryError::source(batch_id, error))?;
        self.ranges(batch_id, logged.start, logged.end, new_earliest, None, true)
            .await
    }

    /// The ranges of a batch and its data losses, `failOnDataLoss`
    /// applied.
    async fn ranges(
        &mut self,
        batch_id: u64,
        start: PartitionOffsets,
        end: PartitionOffsets,
        new_earliest: PartitionOffsets,
        latest: Option<PartitionOffsets>,
        rerun: bool,
    ) -> Result<BatchToRun, QueryError> {
        let source_settings = &self.source.settings.source;
        let plan = plan_micro_batch(
            &start,
            &end,
            &new_earliest,
            source_settings.client_properties.has_group_id(),
            &source_settings.calculator,
            &[],
        )
        .map_err(|error| QueryError::source(batch_id, SourceError::Plan(error)))?;
        if let Some(first) = plan.data_loss.first() {
            if source_settings.fail_on_data_loss {
                return Err(QueryError::DataLoss {
                    batch_id,
                    loss: first.clone(),
                });
            }
        }
        let mut skipped_offsets = 0u64;
        for loss in &plan.data_loss {
            tracing::warn!(
                error_class = loss.error_class(),
                batch_id,
                "{}",
                loss.warning()
            );
            skipped_offsets +=
                offsets_skipped_by(&self.source, &self.known_latest, loss, &start).await;
        }
        Ok(BatchToRun {
            batch_id,
            start,
            end,
            latest,
            ranges: plan.ranges,
            rerun,
            data_loss: plan.data_loss,
            skipped_offsets,
            durations: BTreeMap::new(),
        })
    }

    /// Reads the batch through the handler and commits it.
    async fn run_batch(
        &mut self,
        batch: BatchToRun,
        started_ms: i64,
    ) -> Result<TriggerEnd, QueryError> {
        let BatchToRun {
            batch_id,
            start,
            end,
            latest,
            ranges,
            rerun,
            data_loss,
            skipped_offsets,
            mut durations,
        } = batch;
        let rows = reader::read(
            &self.source.client,
            ranges.clone(),
            self.read_settings.clone(),
        );
        let probe = rows.probe();
        let input_offsets: u64 = ranges
            .iter()
            .map(|range| u64::try_from(range.size()).unwrap_or(0))
            .sum();
        let micro_batch = MicroBatch {
            batch_id,
            start: start.clone(),
            end: end.clone(),
            ranges,
            rerun,
            data_loss: data_loss.clone(),
            rows,
        };
        self.phase(QueryPhase::Handling { batch_id });
        let handling_started = self.clock.now_ms();
        let handled = AssertUnwindSafe(self.handler.handle(micro_batch)).catch_unwind();
        let mut control = self.control.clone();
        let handled = tokio::select! {
            handled = handled => handled,
            () = abort_requested(&mut control) => {
                tracing::warn!(
                    "Streaming query aborted in batch {batch_id}: the batch is not committed and \
                     runs again when the query restarts"
                );
                return Ok(TriggerEnd::Aborted);
            }
        };
        durations.insert(
            phase::ADD_BATCH.to_owned(),
            self.clock.now_ms() - handling_started,
        );
        let handled = handled.map_err(|panic| QueryError::Panicked {
            message: panic_message(panic.as_ref()),
        })?;
        batch_result(batch_id, handled, probe.take_failure())?;
        if self.command() == Command::Abort {
            tracing::warn!(
                "Streaming query aborted after its handler finished batch {batch_id}: the batch \
                 is not committed and runs again when the query restarts"
            );
            return Ok(TriggerEnd::Aborted);
        }
        self.phase(QueryPhase::Committing { batch_id });
        let committing_started = self.clock.now_ms();
        self.with_checkpoint(move |checkpoint| checkpoint.commit(batch_id, 0))
            .await?;
        let finished_ms = self.clock.now_ms();
        durations.insert(
            phase::COMMIT_OFFSETS.to_owned(),
            finished_ms - committing_started,
        );
        let metrics = probe.metrics();
        if metrics.rows == 0 {
            self.offsets_without_rows += input_offsets;
        } else {
            self.offsets_without_rows = 0;
        }
        self.reporter.finish_trigger(TriggerReport {
            batch_id,
            started_ms,
            finished_ms,
            ran_batch: true,
            start: (batch_id > 0).then(|| start.clone()),
            end: Some(end.clone()),
            latest,
            input_rows: i64::try_from(metrics.rows).unwrap_or(i64::MAX),
            input_bytes: metrics.bytes,
            input_offsets,
            output_rows: None,
            durations_ms: durations,
            data_loss: data_loss.len() as u64 + metrics.data_loss,
            skipped_offsets: skipped_offsets + metrics.offsets_out_of_range,
            no_rows: None,
        });
        self.start = end;
        self.batch_id = batch_id + 1;
        self.batches_committed += 1;
        self.rows += metrics.rows;
        Ok(TriggerEnd::Ran(true))
    }

    /// Records a trigger without a batch; says why no rows come when a
    /// record is due.
    async fn report_idle(
        &mut self,
        started_ms: i64,
        latest: PartitionOffsets,
        assigned: &BTreeSet<ferrokafka::TopicPartition>,
        durations: BTreeMap<String, i64>,
    ) {
        let now_ms = self.clock.now_ms();
        let no_rows = if self.reporter.idle_record_due(now_ms) {
            match self.source.earliest_offsets(assigned).await {
                Ok(earliest) => Some(self.diagnose(&earliest, &latest, now_ms)),
                Err(error) => {
                    tracing::debug!("no diagnosis of the idle trigger: {error}");
                    None
                }
            }
        } else {
            None
        };
        self.reporter.finish_trigger(TriggerReport {
            batch_id: self.batch_id,
            started_ms,
            finished_ms: now_ms,
            ran_batch: false,
            start: (self.batch_id > 0).then(|| self.start.clone()),
            end: Some(self.start.clone()),
            latest: Some(latest),
            durations_ms: durations,
            no_rows,
            ..TriggerReport::default()
        });
    }

    fn diagnose(
        &self,
        earliest: &PartitionOffsets,
        latest: &PartitionOffsets,
        now_ms: i64,
    ) -> Diagnosis {
        let settings = &self.source.settings.source;
        diagnose(&QueryFacts {
            selection: &settings.topics,
            listing: &self.listing,
            earliest,
            latest,
            position: &self.start,
            starting: &settings.starting,
            initial: Some(&self.initial),
            offsets_read_without_rows: self.offsets_without_rows,
            read_limit: self.planner.read_limit(),
            last_trigger_fired_ms: self.planner.last_trigger_ms(),
            now_ms,
        })
    }

    /// Runs a checkpoint call on a blocking thread. Not cancelled by an
    /// abort: a write, once started, completes.
    async fn with_checkpoint<T, F>(&mut self, call: F) -> Result<T, QueryError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Checkpoint) -> Result<T, CheckpointError> + Send + 'static,
    {
        let mut checkpoint = self
            .checkpoint
            .take()
            .expect("every checkpoint call gives the checkpoint back");
        let (checkpoint, result) = tokio::task::spawn_blocking(move || {
            let result = call(&mut checkpoint);
            (checkpoint, result)
        })
        .await
        .map_err(|error| QueryError::Panicked {
            message: format!("a checkpoint call failed: {error}"),
        })?;
        self.checkpoint = Some(checkpoint);
        Ok(result?)
    }
}

/// How many offsets the query will never read because of `loss`, a
/// data loss noticed while planning a batch from `start`:
///
/// * a new partition not starting at 0: the offsets below its start;
/// * a partition that shrank (deleted and recreated, or truncated):
///   the recreated partition's offsets below the new end, which the
///   query moves past;
/// * deleted partitions: the offsets the query saw in them past the
///   batch start (their last latest offset looked up, minus the start).
async fn offsets_skipped_by(
    source: &StreamSource,
    known_latest: &PartitionOffsets,
    loss: &DataLoss,
    start: &PartitionOffsets,
) -> u64 {
    let positive = |n: i64| u64::try_from(n).unwrap_or(0);
    match loss {
        DataLoss::AddedPartitionNotFromZero { start_offset, .. } => positive(*start_offset),
        DataLoss::PartitionOffsetChanged { partition, to, .. } => {
            let partitions = BTreeSet::from([partition.clone()]);
            match source.earliest_offsets(&partitions).await {
                Ok(earliest) => positive(to - earliest.get(partition).unwrap_or(*to)),
                Err(error) => {
                    tracing::warn!(
                        "could not look up the earliest offset of {partition} to count the \
                         offsets skipped: {error}"
                    );
                    0
                }
            }
        }
        DataLoss::PartitionsDeleted { partitions, .. } => partitions
            .iter()
            .map(|tp| {
                let seen = known_latest.get(tp).unwrap_or(0);
                positive(seen - start.get(tp).unwrap_or(seen))
            })
            .sum(),
        _ => 0,
    }
}

/// What a batch's handling gave, as the query's result: a read error wins
/// over the handler's (it is typed), then the handler's error.
fn batch_result(
    batch_id: u64,
    handled: Result<(), HandlerError>,
    read_failure: Option<ReadFailure>,
) -> Result<(), QueryError> {
    let handler_error = match handled {
        Ok(()) => None,
        Err(error) => match error.downcast::<SourceError>() {
            Ok(source) => return Err(QueryError::source(batch_id, *source)),
            Err(other) => Some(other),
        },
    };
    match (read_failure, handler_error) {
        (
            Some(ReadFailure {
                copy: Some(copy), ..
            }),
            _,
        ) => Err(QueryError::source(batch_id, copy)),
        (_, Some(source)) => Err(QueryError::Handler { batch_id, source }),
        (Some(ReadFailure { message, .. }), None) => {
            Err(QueryError::ReadFailed { batch_id, message })
        }
        (None, None) => Ok(()),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

/// Completes once an abort is asked for; never when the handle is gone
/// (that is a stop).
async fn abort_requested(control: &mut watch::Receiver<Command>) {
    if control
        .wait_for(|command| *command == Command::Abort)
        .await
        .is_err()
    {
        futures::future::pending::<()>().await;
    }
}

/// Completes once a stop or an abort is asked for, or the handle is gone.
async fn stop_requested(control: &mut watch::Receiver<Command>) {
    let _ = control.wait_for(|command| *command != Command::Run).await;
}
