//! Reading planned tasks: [`Rows`], a stream of every record of every
//! task's range, once.
//!
//! ```text
//!  tasks (OffsetRange, maybe earliest/latest sentinels)
//!    │  at most max_concurrent_tasks at once
//!    ▼
//!  task (task.rs): sentinels resolved by ListOffsets right before it reads;
//!    │             an empty range stops here (no fetch); otherwise one
//!    │             read of its range through the read's SharedFetcher, record
//!    │             batches in offset order;
//!    │             gone offsets → failOnDataLoss (fail, or skip and count)
//!    ▼
//!  Rows: the tasks' rows interleaved as they arrive; the first error ends it
//! ```
//!
//! Every task reads through the same [`Client`] and one
//! [`SharedFetcher`](ferrokafka::SharedFetcher): one connection per broker, one
//! fetch per broker listing the partitions of all running tasks (tasks of
//! one partition take turns), and the client-wide
//! `fetch.buffer.max.bytes` budget bounds what all tasks hold in memory
//! together. Rows travel a fetched record batch at a time up to [`Rows`],
//! which hands them out one by one. A task holding nothing may still fetch
//! when the budget is spent (asking for what is left, so that tasks never
//! wait on each other's unread records): a read holds at most the budget
//! plus about one record batch per running task.

mod task;

use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{ready, Context, Poll};

use ferrokafka::{Client, Record, SharedFetcher};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};

use crate::error::SourceError;
use crate::options::{ConsumerGroups, SourceSettings};
use crate::planner::OffsetRange;
use crate::row::Row;

/// How tasks read: what the source options say about reading.
#[derive(Debug, Clone)]
pub(crate) struct ReadSettings {
    /// `failOnDataLoss`.
    pub(crate) fail_on_data_loss: bool,
    /// `kafkaConsumer.pollTimeoutMs`.
    pub(crate) poll_timeout_ms: i64,
    /// `includeHeaders`.
    pub(crate) include_headers: bool,
    /// The readers' consumer group, named in data-loss messages.
    pub(crate) group_id: String,
    /// Tasks reading at once (`None`: all).
    pub(crate) max_concurrent_tasks: Option<NonZeroUsize>,
}

impl ReadSettings {
    /// What the source options say about reading, for readers of the
    /// consumer groups `groups`.
    pub(crate) fn new(
        source: &SourceSettings,
        groups: &ConsumerGroups,
        max_concurrent_tasks: Option<NonZeroUsize>,
    ) -> Self {
        ReadSettings {
            fail_on_data_loss: source.fail_on_data_loss,
            poll_timeout_ms: source.poll_timeout_ms,
            include_headers: source.include_headers,
            group_id: groups.executor_group_id.clone(),
            max_concurrent_tasks,
        }
    }
}

/// Counts of what a read did, for metrics and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadMetrics {
    /// Rows read so far: handed out, or taken from the fetched data to be
    /// (counted a record batch at a time).
    pub rows: u64,
    /// Bytes of those rows: keys, values, and header keys and
    /// values.
    pub bytes: u64,
    /// Tasks that fetched (their range was not empty).
    pub tasks_fetched: u64,
    /// Tasks whose range was empty once resolved: they sent no fetch.
    pub tasks_empty: u64,
    /// Data losses noticed and skipped (`failOnDataLoss=false`; Spark's
    /// `dataLoss` task metric).
    pub data_loss: u64,
    /// Offsets skipped because they were gone (Spark's
    /// `offsetOutOfRange` task metric).
    pub offsets_out_of_range: u64,
}

#[derive(Debug, Default)]
struct Counters {
    rows: AtomicU64,
    bytes: AtomicU64,
    tasks_fetched: AtomicU64,
    tasks_empty: AtomicU64,
    data_loss: AtomicU64,
    offsets_out_of_range: AtomicU64,
}

/// What every task of one read shares.
struct Shared {
    client: Client,
    settings: ReadSettings,
    counters: Counters,
    failure: Mutex<Option<ReadFailure>>,
}

/// The error that ended a read, as the one who reads the [`Rows`] may not
/// pass it on: a copy where the error can be copied, and its message.
#[derive(Debug)]
pub(crate) struct ReadFailure {
    /// A copy of the error, when it holds no client error (which cannot be
    /// copied).
    pub(crate) copy: Option<SourceError>,
    /// Its message.
    pub(crate) message: String,
}

/// Watches a read from outside its [`Rows`]: what it did, and how it
/// failed, also after the rows were dropped.
#[derive(Clone)]
pub(crate) struct ReadProbe {
    shared: Arc<Shared>,
}

impl ReadProbe {
    pub(crate) fn metrics(&self) -> ReadMetrics {
        self.shared.metrics()
    }

    /// The error that ended the read, taken (later calls give `None`).
    pub(crate) fn take_failure(&self) -> Option<ReadFailure> {
        lock(&self.shared.failure).take()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Setting an Option cannot be left half-done: a poisoned lock is fine.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Shared {
    fn metrics(&self) -> ReadMetrics {
        let counters = &self.counters;
        ReadMetrics {
            rows: counters.rows.load(Relaxed),
            bytes: counters.bytes.load(Relaxed),
            tasks_fetched: counters.tasks_fetched.load(Relaxed),
            tasks_empty: counters.tasks_empty.load(Relaxed),
            data_loss: counters.data_loss.load(Relaxed),
            offsets_out_of_range: counters.offsets_out_of_range.load(Relaxed),
        }
    }
}

/// The rows of a read, as a [`Stream`] of `Result<Row, SourceError>`.
///
/// Rows of one task come in offset order; rows of different tasks
/// interleave as their fetches answer. Every record of every task's range
/// comes exactly once (offsets missing inside a range because of
/// compaction or transaction markers are not records, and are not data
/// loss). The first error ends the stream, as a failed task fails a Spark
/// query; dropping the stream stops every task.
pub struct Rows {
    inner: Option<BoxStream<'static, Result<Vec<Record>, SourceError>>>,
    /// Records of the last batch not handed out yet, their headers already
    /// dropped unless `includeHeaders` (each becomes a row as it is taken).
    ready: std::vec::IntoIter<Record>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Rows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rows")
            .field("metrics", &self.metrics())
            .field("ready", &self.ready.len())
            .field("done", &self.inner.is_none())
            .finish()
    }
}

impl Rows {
    /// What the read did so far.
    pub fn metrics(&self) -> ReadMetrics {
        self.shared.metrics()
    }

    /// A watcher of this read that outlives the rows.
    pub(crate) fn probe(&self) -> ReadProbe {
        ReadProbe {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Whether rows carry headers (`includeHeaders`): Spark's schema then
    /// has a `headers` column.
    pub fn includes_headers(&self) -> bool {
        self.shared.settings.include_headers
    }
}

impl Stream for Rows {
    type Item = Result<Row, SourceError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(record) = self.ready.next() {
                return Poll::Ready(Some(Ok(Row::wrap(record))));
            }
            match ready!(self.poll_next_records(cx)) {
                Some(Ok(rows)) => self.ready = rows.into_iter(),
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                None => return Poll::Ready(None),
            }
        }
    }
}

impl Rows {
    /// Gives back records taken by
    /// [`poll_next_records`](Self::poll_next_records) but not used: they
    /// come first again. Only records of the last batch taken, and only
    /// when nothing is waiting.
    #[cfg(feature = "arrow")]
    pub(crate) fn put_back(&mut self, rows: std::vec::IntoIter<Record>) {
        debug_assert_eq!(self.ready.len(), 0, "rows are waiting already");
        self.ready = rows;
    }

    /// The next rows as the records they wrap, a whole record batch at a
    /// time (all of one task, in offset order, never empty, headers
    /// dropped unless `includeHeaders`), after any not yet handed out one
    /// by one. Rows and batches may be taken alternately.
    pub(crate) fn poll_next_records(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Vec<Record>, SourceError>>> {
        if self.ready.len() > 0 {
            let rest = std::mem::take(&mut self.ready);
            return Poll::Ready(Some(Ok(rest.collect())));
        }
        let Some(inner) = self.inner.as_mut() else {
            return Poll::Ready(None);
        };
        match inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(rows))) => {
                let counters = &self.shared.counters;
                let bytes: u64 = rows.iter().map(crate::row::size_in_bytes).sum();
                counters.rows.fetch_add(rows.len() as u64, Relaxed);
                counters.bytes.fetch_add(bytes, Relaxed);
                Poll::Ready(Some(Ok(rows)))
            }
            Poll::Ready(Some(Err(error))) => {
                // A failed task fails the read: stop the others.
                self.inner = None;
                *lock(&self.shared.failure) = Some(ReadFailure {
                    copy: error.try_clone(),
                    message: error.to_string(),
                });
                Poll::Ready(Some(Err(error)))
            }
            Poll::Ready(None) => {
                self.inner = None;
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Reads `tasks` through `client`. Must be polled inside a tokio runtime.
pub(crate) fn read(client: &Client, tasks: Vec<OffsetRange>, settings: ReadSettings) -> Rows {
    let limit = settings.max_concurrent_tasks.map(NonZeroUsize::get);
    let shared = Arc::new(Shared {
        client: client.clone(),
        settings,
        counters: Counters::default(),
        failure: Mutex::new(None),
    });
    let for_tasks = Arc::clone(&shared);
    // The tasks' shared fetches, started by the first task that reads
    // (inside the runtime polling the rows); the tasks alone hold it, so
    // it stops with the rows (a probe outlives them).
    let fetcher: Arc<OnceLock<SharedFetcher>> = Arc::default();
    let inner = futures::stream::iter(tasks)
        .map(move |range| {
            task::Task::new(Arc::clone(&for_tasks), Arc::clone(&fetcher), range).into_stream()
        })
        .flatten_unordered(limit)
        .boxed();
    Rows {
        inner: Some(inner),
        ready: Vec::new().into_iter(),
        shared,
    }
}
