//! [`SharedFetcher`]: one fetch source serving several reads.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::record::ReadRange;
use super::source::{self, Attach, Reader};
use super::stream::{RecordStream, Shared};
use crate::client::Client;
use crate::config::IsolationLevel;

/// A fetch source shared by several reads: every [`RecordStream`] started
/// from one fetcher is served by one fetch loop, which sends one fetch per
/// broker listing the partitions of all the fetcher's streams (as librdkafka and
/// the Java consumer fetch for all their assigned partitions at once),
/// instead of one fetch per stream.
///
/// Many small readers of one client (the tasks of a batch query, one
/// partition each) thus cost a few large fetches rather than many small
/// ones. Streams of a fetcher may read the same partition (different
/// ranges, as when a partition is split between tasks): a fetch lists a
/// partition once, so those take turns (the one fetched longest ago
/// first).
///
/// Each stream keeps its own errors, watermarks and memory accounting:
/// a stream whose consumer has taken everything may still fetch when the
/// client-wide `fetch.buffer.max.bytes` budget is spent, so the streams may
/// be drained one after the other. Dropping a stream stops reading its
/// ranges; the fetch loop stops when the fetcher and all its streams
/// are dropped.
///
/// ```
/// use futures::StreamExt;
/// use ferrokafka::{Client, ClientConfig, ReadRange};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let cluster = ferrokafka_fake::FakeCluster::builder().topic("events", 2).build()?;
/// # let config = ClientConfig::builder().bootstrap_servers(&cluster.bootstrap()).build()?;
/// # let client = Client::connect(config).await?;
/// # let producer = client.producer(Default::default()).await?;
/// # for p in 0..2 {
/// #     for i in 0..5 {
/// #         producer.send(ferrokafka::ProducerRecord::new("events").partition(p).value(format!("v{i}"))).await?.await?;
/// #     }
/// # }
/// let fetcher = client.shared_fetcher();
/// // Two readers, one fetch per broker for both.
/// let mut first = fetcher.read(vec![ReadRange::new("events", 0, 0..5)]);
/// let mut second = fetcher.read(vec![ReadRange::new("events", 1, 0..5)]);
/// let (mut a, mut b) = (0, 0);
/// while let Some(record) = first.next().await {
///     record?;
///     a += 1;
/// }
/// while let Some(record) = second.next().await {
///     record?;
///     b += 1;
/// }
/// assert_eq!((a, b), (5, 5));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SharedFetcher {
    inner: Arc<FetcherTask>,
}

impl std::fmt::Debug for SharedFetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedFetcher").finish_non_exhaustive()
    }
}

/// The fetcher's running fetch loop; dropping the last handle stops it.
pub(crate) struct FetcherTask {
    attach: mpsc::UnboundedSender<Attach>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FetcherTask {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SharedFetcher {
    pub(crate) fn new(client: &Client, isolation: IsolationLevel) -> Self {
        let (attach, task) = source::spawn(client, isolation);
        SharedFetcher {
            inner: Arc::new(FetcherTask { attach, task }),
        }
    }

    /// Reads `ranges` through the fetcher's shared fetches, as
    /// [`Client::read`] does alone: empty ranges are skipped, an invalid
    /// one is yielded as an error for its partition, and a partition may
    /// be listed once per call.
    pub fn read(&self, ranges: Vec<ReadRange>) -> RecordStream {
        let (events_tx, events) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared::default());
        let reader = Reader::new(events_tx, Arc::clone(&shared));
        // The source lives as long as this handle; the send cannot fail.
        let _ = self.inner.attach.send(Attach { ranges, reader });
        RecordStream::new(events, shared, Arc::clone(&self.inner))
    }
}

impl Client {
    /// A fetcher whose reads share their fetches, at the configured
    /// `isolation.level`. Must be called inside a tokio runtime (it spawns
    /// the fetcher's fetch loop).
    pub fn shared_fetcher(&self) -> SharedFetcher {
        SharedFetcher::new(self, self.config().isolation_level())
    }

    /// As [`shared_fetcher`](Self::shared_fetcher), at the given isolation
    /// level.
    pub fn shared_fetcher_with(&self, isolation: IsolationLevel) -> SharedFetcher {
        SharedFetcher::new(self, isolation)
    }
}
