//! Streaming queries (Spark's `spark.readStream.format("kafka")` with
//! `foreachBatch`): a [`StreamingQuery`] reads micro-batches under a
//! [`Trigger`], hands each to a [`BatchHandler`] and commits it to its
//! checkpoint when the handler returns `Ok`.
//!
//! Per trigger (§2.3, §2.4, §8):
//!
//! 1. the first trigger of a run resumes from the checkpoint: a batch
//!    logged but not committed runs again over exactly its offsets; a new
//!    query resolves `startingOffsets` (or the timestamp options) and
//!    writes them to `sources/0/0`;
//! 2. the partitions of the topic selection are listed (new partitions of
//!    a subscribed topic start at their earliest offset), their latest
//!    offsets looked up, and the batch's end planned under the read limit
//!    (`maxOffsetsPerTrigger`, `minOffsetsPerTrigger` with
//!    `maxTriggerDelay` on the query's [`Clock`], `AvailableNow`'s
//!    snapshot); no new offsets, no batch;
//! 3. data losses noticed while planning (partitions deleted or shrunk, a
//!    new partition not starting at 0) fail the query with
//!    [`QueryError::DataLoss`] when `failOnDataLoss` is true, or are
//!    warned about once and counted when it is false;
//! 4. `offsets/<id>` is written, then the handler gets the [`MicroBatch`]
//!    and reads its rows (offsets gone meanwhile: the same
//!    `failOnDataLoss` rule, counted in the batch's metrics);
//! 5. on `Ok`, `commits/<id>` is written, old batches purged, and a
//!    [`QueryProgress`] record made for
//!    the listeners and [`recent_progress`](StreamingQuery::recent_progress)
//!    (with `dataLoss` and `offsetOutOfRange` metrics when the batch went
//!    on despite a data loss).
//!
//! A process that dies at any instant leaves a checkpoint that resumes
//! correctly: at most the batch it was in runs again, whole, with the
//! same offsets (at-least-once).
//!
//! ```
//! use futures::TryStreamExt;
//! use ferrokafka_streaming::options::SourceOptions;
//! use ferrokafka_streaming::query::{MicroBatch, StreamingQuery, Termination};
//! use ferrokafka_streaming::trigger::{StopReason, Trigger};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let cluster = ferrokafka_fake::FakeCluster::builder().topic("orders", 2).build()?;
//! # let bootstrap = cluster.bootstrap();
//! # {
//! #     use ferrokafka::{Client, ClientConfig, ProducerConfig, ProducerRecord};
//! #     let client = Client::connect(ClientConfig::builder().bootstrap_servers(&bootstrap).build()?).await?;
//! #     let producer = client.producer(ProducerConfig::default()).await?;
//! #     for i in 0..10 {
//! #         producer.send(ProducerRecord::new("orders").value(format!("order {i}")).partition(i % 2)).await?.await?;
//! #     }
//! # }
//! # let checkpoint_dir = std::env::temp_dir().join(format!("doc-query-{}", std::process::id()));
//! // `bootstrap` is "host:port": here an in-process fake cluster.
//! let settings = SourceOptions::from_pairs([
//!     ("kafka.bootstrap.servers", bootstrap.as_str()),
//!     ("subscribe", "orders"),
//!     ("startingOffsets", "earliest"),
//!     ("maxOffsetsPerTrigger", "4"),
//! ])
//! .streaming()?;
//! let query = StreamingQuery::builder(settings, checkpoint_dir.as_path())
//!     .name("orders-to-stdout")
//!     .trigger(Trigger::AvailableNow)
//!     .start(|mut batch: MicroBatch| async move {
//!         while let Some(row) = batch.rows().try_next().await? {
//!             println!("batch {}: {}-{}@{}", batch.batch_id(), row.topic(), row.partition(), row.offset());
//!         }
//!         Ok::<_, ferrokafka_streaming::SourceError>(())
//!     })
//!     .await?;
//! let outcome = query.await_termination().await?;
//! assert_eq!(outcome.termination, Termination::Finished(StopReason::AllAvailableDataProcessed));
//! assert_eq!((outcome.batches_committed, outcome.rows), (3, 10)); // 4 + 4 + 2 offsets
//! # std::fs::remove_dir_all(&checkpoint_dir)?;
//! # Ok(()) }
//! ```

mod batch;
mod clock;
mod driver;
mod error;
mod source;

use std::num::{NonZeroU64, NonZeroUsize};
use std::path::PathBuf;
use std::sync::Arc;

use ferrokafka::{Client, ErrorKind};
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use batch::{BatchHandler, MicroBatch};
pub use clock::{Clock, ManualClock, SystemClock};
pub use error::{HandlerError, QueryError};

use crate::checkpoint::{Checkpoint, CheckpointError, CheckpointStore, LocalCheckpoint, Resume};
use crate::java::random_uuid;
use crate::options::StreamSettings;
use crate::planner::PartitionOffsets;
use crate::progress::{
    ProgressListener, ProgressReporter, QueryIdentity, QueryProgress, RecentProgress,
    DEFAULT_PROGRESS_RETENTION,
};
use crate::trigger::{StopReason, Trigger, TriggerPlanner, TriggerScheduler};
use driver::{Driver, PhaseHook};
use source::StreamSource;

/// The sink description in progress records: Spark's for `foreachBatch`.
const SINK_DESCRIPTION: &str = "ForeachBatchSink";

/// What the handle asks of the running query; later variants win.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Command {
    Run,
    Stop,
    Abort,
}

/// Where a query keeps its checkpoint: a directory (a
/// [`LocalCheckpoint`], created if missing) or any [`CheckpointStore`].
#[derive(Debug)]
pub enum CheckpointLocation {
    /// A directory of the local filesystem.
    Path(PathBuf),
    /// A store.
    Store(Box<dyn CheckpointStore>),
}

impl From<PathBuf> for CheckpointLocation {
    fn from(path: PathBuf) -> Self {
        CheckpointLocation::Path(path)
    }
}

impl From<&std::path::Path> for CheckpointLocation {
    fn from(path: &std::path::Path) -> Self {
        CheckpointLocation::Path(path.to_owned())
    }
}

impl From<&str> for CheckpointLocation {
    fn from(path: &str) -> Self {
        CheckpointLocation::Path(path.into())
    }
}

impl From<String> for CheckpointLocation {
    fn from(path: String) -> Self {
        CheckpointLocation::Path(path.into())
    }
}

impl From<LocalCheckpoint> for CheckpointLocation {
    fn from(store: LocalCheckpoint) -> Self {
        CheckpointLocation::Store(Box::new(store))
    }
}

impl From<crate::checkpoint::MemoryCheckpoint> for CheckpointLocation {
    fn from(store: crate::checkpoint::MemoryCheckpoint) -> Self {
        CheckpointLocation::Store(Box::new(store))
    }
}

impl From<Box<dyn CheckpointStore>> for CheckpointLocation {
    fn from(store: Box<dyn CheckpointStore>) -> Self {
        CheckpointLocation::Store(store)
    }
}

/// Where the query's loop is, for a [`QueryBuilder::on_phase`] hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueryPhase {
    /// Looking up partitions and offsets and planning batch `batch_id`
    /// (or re-planning it, when it runs again).
    Planning {
        /// The batch.
        batch_id: u64,
    },
    /// Writing `offsets/<batch_id>`.
    WritingOffsets {
        /// The batch.
        batch_id: u64,
    },
    /// The handler has the batch (and reads its rows).
    Handling {
        /// The batch.
        batch_id: u64,
    },
    /// Writing `commits/<batch_id>`.
    Committing {
        /// The batch.
        batch_id: u64,
    },
    /// Waiting for the next trigger, due at `until_ms` on the query's clock.
    Waiting {
        /// When the next trigger starts.
        until_ms: i64,
    },
}

/// How a query ended without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Termination {
    /// [`StreamingQuery::stop`]: the running batch was finished and
    /// committed.
    Stopped,
    /// [`StreamingQuery::abort`]: the running batch, if any, was abandoned
    /// uncommitted; it runs again when the query restarts.
    Aborted,
    /// The trigger ended the query (`Once`, `AvailableNow`).
    Finished(StopReason),
}

/// How a query ended, and what this run did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueryOutcome {
    /// Why it ended.
    pub termination: Termination,
    /// Batches this run committed.
    pub batches_committed: u64,
    /// Rows the handler took in this run's committed batches.
    pub rows: u64,
    /// The id the next batch will have (after a restart).
    pub next_batch_id: u64,
}

/// How to start a [`StreamingQuery`]: see [`StreamingQuery::builder`].
pub struct QueryBuilder {
    settings: StreamSettings,
    checkpoint: CheckpointLocation,
    trigger: Trigger,
    name: Option<String>,
    client: Option<Client>,
    clock: Arc<dyn Clock>,
    listeners: Vec<Box<dyn ProgressListener>>,
    progress_retention: NonZeroUsize,
    min_batches_to_retain: Option<NonZeroU64>,
    max_concurrent_tasks: Option<NonZeroUsize>,
    on_phase: Option<PhaseHook>,
}

impl std::fmt::Debug for QueryBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryBuilder")
            .field("settings", &self.settings)
            .field("checkpoint", &self.checkpoint)
            .field("trigger", &self.trigger)
            .field("name", &self.name)
            .field("clock", &self.clock)
            .field("listeners", &self.listeners.len())
            .finish_non_exhaustive()
    }
}

impl QueryBuilder {
    /// The trigger (default: [`Trigger::ProcessingTime`] with no interval,
    /// each batch as soon as the previous one is done).
    pub fn trigger(mut self, trigger: Trigger) -> Self {
        self.trigger = trigger;
        self
    }

    /// The query's name, shown in its progress records.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Reads through `client` instead of connecting one from the `kafka.`
    /// options (which are then not used).
    pub fn client(mut self, client: Client) -> Self {
        self.client = Some(client);
        self
    }

    /// Plans and waits by `clock` instead of the system clock (a
    /// [`ManualClock`] in tests).
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Adds a progress listener, e.g. a
    /// [`JsonLinesListener`](crate::progress::JsonLinesListener).
    pub fn listener(mut self, listener: impl ProgressListener + 'static) -> Self {
        self.listeners.push(Box::new(listener));
        self
    }

    /// Keeps the last `records` progress records instead of 100
    /// (`spark.sql.streaming.numRecentProgressUpdates`).
    pub fn progress_retention(mut self, records: NonZeroUsize) -> Self {
        self.progress_retention = records;
        self
    }

    /// Keeps the checkpoint files of the last `batches` batches instead of
    /// 100 (`spark.sql.streaming.minBatchesToRetain`).
    pub fn min_batches_to_retain(mut self, batches: NonZeroU64) -> Self {
        self.min_batches_to_retain = Some(batches);
        self
    }

    /// Reads at most `tasks` ranges of a batch at once (default: all).
    pub fn max_concurrent_tasks(mut self, tasks: NonZeroUsize) -> Self {
        self.max_concurrent_tasks = Some(tasks);
        self
    }

    /// Calls `hook` as the loop enters each [`QueryPhase`], on the query's
    /// task: for tracing, and for tests that stop a process at a phase.
    /// Keep it short; it holds the query up.
    pub fn on_phase(mut self, hook: impl Fn(QueryPhase) + Send + Sync + 'static) -> Self {
        self.on_phase = Some(Arc::new(hook));
        self
    }

    /// Starts the query: connects (unless given a client), opens or
    /// creates the checkpoint, resolves a new query's starting offsets and
    /// writes them, then runs the triggers on a tokio task (call it inside
    /// a tokio runtime).
    ///
    /// Fails with [`QueryError::Bootstrap`] when no bootstrap server
    /// answers within `kafka.bootstrap.timeout.ms`, and with
    /// [`QueryError::Checkpoint`] (naming the file) for a checkpoint of
    /// another query, a newer version or a corrupt file.
    pub async fn start<H: BatchHandler>(self, handler: H) -> Result<StreamingQuery, QueryError> {
        let QueryBuilder {
            settings,
            checkpoint,
            trigger,
            name,
            client,
            clock,
            listeners,
            progress_retention,
            min_batches_to_retain,
            max_concurrent_tasks,
            on_phase,
        } = self;
        let client = match client {
            Some(client) => client,
            None => {
                let config = settings.source.client_properties.client_config()?;
                Client::connect(config).await.map_err(connect_error)?
            }
        };
        let checkpoint = open_checkpoint(checkpoint, min_batches_to_retain).await?;
        let query_id = checkpoint.query_id().to_owned();
        let run_id = random_uuid();
        let groups = settings.consumer_groups(&checkpoint.location("sources/0"), &random_uuid());
        let source = StreamSource {
            settings,
            client,
            groups,
        };
        let (checkpoint, resume) = blocking(move || {
            let resume = checkpoint.resume()?;
            Ok((checkpoint, resume))
        })
        .await?;
        let (checkpoint, initial) = match &resume {
            Resume::New { initial: None } => {
                let (_, assigned) = source
                    .assigned()
                    .await
                    .map_err(|error| QueryError::source(0, error))?;
                let initial = source
                    .initial_offsets(&assigned)
                    .await
                    .map_err(|error| QueryError::source(0, error))?;
                let written = initial.clone();
                blocking(move || {
                    let mut checkpoint = checkpoint;
                    checkpoint.write_initial_offsets(&written)?;
                    Ok((checkpoint, written))
                })
                .await?
            }
            _ => {
                blocking(move || {
                    let initial = checkpoint.initial_offsets()?.unwrap_or_default();
                    Ok((checkpoint, initial))
                })
                .await?
            }
        };
        let (batch_id, start, pending_rerun) = match resume {
            Resume::New { .. } => (0, initial.clone(), None),
            Resume::Rerun(logged) => (logged.batch_id, logged.start.clone(), Some(logged)),
            Resume::Next {
                batch_id, start, ..
            } => (batch_id, start, None),
        };
        let description = format!("KafkaV2[{}]", source.settings.source.topics);
        let mut reporter = ProgressReporter::new(
            QueryIdentity::new(&query_id, &run_id, name.as_deref()),
            description.clone(),
            SINK_DESCRIPTION,
        )
        .with_retention(progress_retention)
        .with_bytes_estimate_window(source.settings.bytes_estimate_window_ms);
        for listener in listeners {
            reporter.add_listener(listener);
        }
        let recent = reporter.recent();
        let (control, control_rx) = watch::channel(Command::Run);
        let read_settings = source.read_settings(max_concurrent_tasks);
        let planner = TriggerPlanner::new(trigger, source.settings.read_limit(), &description);
        tracing::info!(
            query_id = %query_id,
            run_id = %run_id,
            "Starting streaming query {} at batch {batch_id} ({trigger}, {description})",
            name.as_deref().unwrap_or("(unnamed)")
        );
        let driver = Driver {
            source,
            read_settings,
            checkpoint: Some(checkpoint),
            handler,
            clock,
            control: control_rx,
            scheduler: TriggerScheduler::new(trigger),
            planner,
            reporter,
            on_phase,
            batch_id,
            start,
            initial,
            pending_rerun,
            known_latest: PartitionOffsets::new(),
            listing: Vec::new(),
            offsets_without_rows: 0,
            batches_committed: 0,
            rows: 0,
        };
        let task = tokio::spawn(driver.run());
        Ok(StreamingQuery {
            id: query_id,
            run_id,
            name,
            control: QueryControl {
                sender: Arc::new(control),
            },
            recent,
            task: Some(task),
        })
    }
}

fn connect_error(error: ferrokafka::Error) -> QueryError {
    match error.kind() {
        ErrorKind::Bootstrap(bootstrap) => QueryError::Bootstrap(Box::new(bootstrap.clone())),
        _ => QueryError::Connect(Box::new(error)),
    }
}

/// Runs blocking checkpoint work off the async threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CheckpointError> + Send + 'static,
) -> Result<T, QueryError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| QueryError::Panicked {
            message: format!("a checkpoint call failed: {error}"),
        })?
        .map_err(QueryError::from)
}

async fn open_checkpoint(
    location: CheckpointLocation,
    min_batches_to_retain: Option<NonZeroU64>,
) -> Result<Checkpoint, QueryError> {
    blocking(move || {
        let store: Box<dyn CheckpointStore> = match location {
            CheckpointLocation::Path(path) => {
                let store = LocalCheckpoint::new(&path).map_err(|source| CheckpointError::Io {
                    file: path.display().to_string(),
                    source,
                })?;
                Box::new(store)
            }
            CheckpointLocation::Store(store) => store,
        };
        let checkpoint = Checkpoint::open(store)?;
        Ok(match min_batches_to_retain {
            Some(batches) => checkpoint.with_min_batches_to_retain(batches),
            None => checkpoint,
        })
    })
    .await
}

/// A running streaming query (Spark's `StreamingQuery`).
///
/// Dropping the handle stops the query as [`stop`](Self::stop) does.
#[derive(Debug)]
pub struct StreamingQuery {
    id: String,
    run_id: String,
    name: Option<String>,
    control: QueryControl,
    recent: RecentProgress,
    task: Option<JoinHandle<Result<QueryOutcome, QueryError>>>,
}

/// Stops or aborts a query from anywhere, also while
/// [`StreamingQuery::await_termination`] has taken the handle (a Ctrl-C
/// handler, another task): see [`StreamingQuery::control`]. Clones act on
/// the same query; once it has ended they do nothing.
#[derive(Debug, Clone)]
pub struct QueryControl {
    sender: Arc<watch::Sender<Command>>,
}

impl QueryControl {
    /// As [`StreamingQuery::stop`]: finish the running batch, then end.
    pub fn stop(&self) {
        self.sender.send_if_modified(|command| {
            let changed = *command == Command::Run;
            *command = (*command).max(Command::Stop);
            changed
        });
    }

    /// As [`StreamingQuery::abort`]: abandon the running batch, uncommitted.
    pub fn abort(&self) {
        self.sender.send_replace(Command::Abort);
    }
}

impl StreamingQuery {
    /// How to start a query reading with `settings` and checkpointing to
    /// `checkpoint` (a directory, or any [`CheckpointStore`]).
    pub fn builder(
        settings: StreamSettings,
        checkpoint: impl Into<CheckpointLocation>,
    ) -> QueryBuilder {
        QueryBuilder {
            settings,
            checkpoint: checkpoint.into(),
            trigger: Trigger::default(),
            name: None,
            client: None,
            clock: Arc::new(SystemClock),
            listeners: Vec::new(),
            progress_retention: DEFAULT_PROGRESS_RETENTION,
            min_batches_to_retain: None,
            max_concurrent_tasks: None,
            on_phase: None,
        }
    }

    /// The query's id, kept in its checkpoint across restarts.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// This run's id.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The query's name, if it has one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// Stops the query gracefully: a running batch is finished and
    /// committed, then the query ends ([`Termination::Stopped`]). Returns
    /// at once; [`await_termination`](Self::await_termination) waits.
    pub fn stop(&self) {
        self.control.stop();
    }

    /// Stops the query now: a running batch is abandoned (its handler
    /// dropped, its reads stopped) and not committed, so it runs again,
    /// whole, when the query restarts ([`Termination::Aborted`]). A
    /// checkpoint write under way completes first.
    pub fn abort(&self) {
        self.control.abort();
    }

    /// A handle that stops or aborts this query, usable after
    /// [`await_termination`](Self::await_termination) has taken the query:
    ///
    /// ```no_run
    /// # async fn run(query: ferrokafka_streaming::query::StreamingQuery) {
    /// let control = query.control();
    /// tokio::spawn(async move {
    ///     tokio::time::sleep(std::time::Duration::from_secs(3600)).await; // or a Ctrl-C
    ///     control.stop(); // finish the running batch, then end
    /// });
    /// let outcome = query.await_termination().await;
    /// # }
    /// ```
    pub fn control(&self) -> QueryControl {
        self.control.clone()
    }

    /// Whether the query is still running.
    pub fn is_active(&self) -> bool {
        self.task.as_ref().is_some_and(|task| !task.is_finished())
    }

    /// Waits until the query ends: how, or the error that ended it.
    pub async fn await_termination(mut self) -> Result<QueryOutcome, QueryError> {
        let task = self.task.take().expect("the task is taken only here");
        match task.await {
            Ok(result) => result,
            Err(error) => Err(QueryError::Panicked {
                message: error.to_string(),
            }),
        }
    }

    /// The last progress records, oldest first (Spark's `recentProgress`).
    pub fn recent_progress(&self) -> Vec<QueryProgress> {
        self.recent.recent()
    }

    /// The newest progress record (Spark's `lastProgress`).
    pub fn last_progress(&self) -> Option<QueryProgress> {
        self.recent.last()
    }

    /// The query's recent progress records as a shared handle, still
    /// readable after [`await_termination`](Self::await_termination) has
    /// taken the query (the driver adds to it while the query runs).
    pub fn progress_handle(&self) -> RecentProgress {
        self.recent.clone()
    }
}

impl Drop for StreamingQuery {
    fn drop(&mut self) {
        if self.task.is_some() {
            self.stop();
        }
    }
}

#[cfg(test)]
mod tests;
