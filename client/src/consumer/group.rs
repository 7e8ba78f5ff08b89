//! [`ReadGroup`]: reads that share their fetches.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::record::ReadRange;
use super::source::{self, Attach, Reader};
use super::stream::{RecordStream, Shared};
use crate::client::Client;
use crate::config::IsolationLevel;

/// Reads whose fetches are shared: every [`RecordStream`] started from one
/// group is served by one fetch source, which sends one fetch per broker
/// listing the partitions of all the group's streams (as librdkafka and
/// the Java consumer fetch for all their assigned partitions at once),
/// instead of one fetch per stream.
///
/// Many small readers of one client (the tasks of a batch query, one
/// partition each) thus cost a few large fetches rather than many small
/// ones. Streams of a group may read the same partition (different
/// ranges, as when a partition is split between tasks): a fetch lists a
/// partition once, so those take turns.
///
/// Each stream keeps its own errors, watermarks and memory accounting:
/// a stream whose consumer has taken everything may still fetch when the
/// client-wide `fetch.buffer.max.bytes` budget is spent, so the streams may
/// be drained one after the other. Dropping a stream stops reading its
/// ranges; the group's source stops when the group and all its streams
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
/// let group = client.read_group();
/// // Two readers, one fetch per broker for both.
/// let mut first = group.read(vec![ReadRange::new("events", 0, 0..5)]);
/// let mut second = group.read(vec![ReadRange::new("events", 1, 0..5)]);
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
pub struct ReadGroup {
    inner: Arc<GroupSource>,
}

impl std::fmt::Debug for ReadGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadGroup").finish_non_exhaustive()
    }
}

/// The group's running source; dropping the last handle stops it.
pub(crate) struct GroupSource {
    attach: mpsc::UnboundedSender<Attach>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for GroupSource {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl ReadGroup {
    pub(crate) fn new(client: &Client, isolation: IsolationLevel) -> Self {
        let (attach, task) = source::spawn(client, isolation);
        ReadGroup {
            inner: Arc::new(GroupSource { attach, task }),
        }
    }

    /// Reads `ranges` through the group's shared fetches, as
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
    /// A group of reads sharing their fetches, at the configured
    /// `isolation.level`. Must be called inside a tokio runtime (it spawns
    /// the group's fetch source).
    pub fn read_group(&self) -> ReadGroup {
        ReadGroup::new(self, self.config().isolation_level())
    }

    /// As [`read_group`](Self::read_group), at the given isolation level.
    pub fn read_group_with(&self, isolation: IsolationLevel) -> ReadGroup {
        ReadGroup::new(self, isolation)
    }
}
