//! Reading: records of given `[start, end)` offset ranges, as a
//! [`futures::Stream`], in offset order per partition.
//!
//! ```text
//!  SharedFetcher::read(ranges) ──► the fetcher's source task (source.rs):
//!  (Client::read: a fetcher      leaders, one fetch in flight per broker for
//!   of one read)                 all its readers, cursors (cursor.rs)
//!        │                  advanced by each answer, memory budget (budget.rs)
//!        ▼                          │ whole batches, as chunks
//!  RecordStream (stream.rs) ◄───────┘ records decoded as they are polled
//! ```
//!
//! One job a file: `record.rs` the public types, `budget.rs` the memory
//! budget, `cursor.rs` the sans-IO per-partition cursor (position, range
//! end, aborted transactions, retry state), `source.rs` the fetch loop,
//! `stream.rs` the stream, `fetcher.rs` the shared fetcher. Fetch sessions (KIP-227, `session.rs`) and
//! consumer groups (`group/`) will join them.
//!
//! Readers of one [`SharedFetcher`] share their fetches: one fetch per broker
//! lists the partitions of all of them; [`Client::read`] is a fetcher of
//! one read.
//!
//! Memory is bounded three ways: each fetch asks for at most
//! `fetch.max.bytes` (and `max.partition.fetch.bytes` per partition), and
//! every fetch first reserves its size from the client-wide
//! `fetch.buffer.max.bytes` budget, which is given back as the consumer
//! takes the records: a slow consumer stops the fetching (backpressure).
//!
//! Per partition:
//! - a batch that starts before the requested offset is trimmed, and one
//!   that runs past the end is cut;
//! - `OFFSET_OUT_OF_RANGE` ends that partition with
//!   [`ErrorKind::OffsetOutOfRange`](crate::ErrorKind::OffsetOutOfRange)
//!   (carrying the available range); the other partitions go on;
//! - with `read_committed`, records of aborted transactions and control
//!   records are skipped (control records are skipped in any case);
//! - a leader change (NOT_LEADER_OR_FOLLOWER, FENCED_LEADER_EPOCH, …, or a
//!   lost connection) refreshes metadata and moves the fetch to the new
//!   leader, with backoff; a partition that keeps failing past
//!   `default.api.timeout.ms` ends with the last error.
//!
//! A range whose end lies past the partition's high watermark waits for
//! the records to be written (long polling with `fetch.max.wait.ms`).
//! Records in the range that no longer exist (compaction) are skipped.
//!
//! Each fetch answer also updates the partition's
//! [`PartitionWatermarks`] (high watermark, last stable offset, log start
//! offset), readable on the stream for lag metrics.
//!
//! Reading a whole topic, from its earliest to its latest offsets:
//!
//! ```
//! use futures::StreamExt;
//! use ferrokafka::admin::OffsetSpec;
//! use ferrokafka::{Client, ClientConfig, IsolationLevel, ReadRange, TopicPartition};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let cluster = ferrokafka_fake::FakeCluster::builder().topic("events", 3).build()?;
//! # let config = ClientConfig::builder().bootstrap_servers(&cluster.bootstrap()).build()?;
//! # let client = Client::connect(config).await?;
//! # let producer = client.producer(Default::default()).await?;
//! # for i in 0..10 {
//! #     producer.send(ferrokafka::ProducerRecord::new("events").value(format!("v{i}"))).await?.await?;
//! # }
//! let admin = client.admin();
//! let partitions: Vec<TopicPartition> = admin
//!     .describe_topic("events")
//!     .await?
//!     .partitions
//!     .keys()
//!     .map(|p| TopicPartition::new("events", *p))
//!     .collect();
//! let look_up = |spec: OffsetSpec| -> Vec<(TopicPartition, OffsetSpec)> {
//!     partitions.iter().map(|tp| (tp.clone(), spec)).collect()
//! };
//! let isolation = IsolationLevel::ReadUncommitted;
//! let earliest = admin.list_offsets(&look_up(OffsetSpec::Earliest), isolation).await?;
//! let latest = admin.list_offsets(&look_up(OffsetSpec::Latest), isolation).await?;
//! let ranges = earliest
//!     .into_iter()
//!     .zip(latest)
//!     .map(|((tp, start), (_, end))| {
//!         Ok::<_, ferrokafka::Error>(ReadRange::new(tp.topic, tp.partition, start?.offset..end?.offset))
//!     })
//!     .collect::<Result<Vec<_>, _>>()?;
//! let mut records = client.read(ranges);
//! let mut count = 0;
//! while let Some(record) = records.next().await {
//!     let record = record?;
//!     count += 1;
//!     println!("{}-{}@{}: {:?}", record.topic, record.partition, record.offset, record.value);
//! }
//! assert_eq!(count, 10);
//! # Ok(()) }
//! ```

mod budget;
mod cursor;
mod fetcher;
mod record;
mod source;
mod stream;

pub use fetcher::SharedFetcher;
pub use record::{PartitionWatermarks, ReadRange, Record, RecordHeader};
pub use stream::RecordStream;

use crate::client::Client;
use crate::config::IsolationLevel;

impl Client {
    /// Reads `ranges` at the configured `isolation.level`. Must be called
    /// inside a tokio runtime (it spawns the fetch source, which stops
    /// when the stream is dropped).
    ///
    /// Empty ranges are skipped; an invalid one (negative start, end
    /// before start) is yielded as an error for its partition.
    pub fn read(&self, ranges: Vec<ReadRange>) -> RecordStream {
        self.read_with(ranges, self.config().isolation_level())
    }

    /// As [`read`](Self::read), at the given isolation level.
    pub fn read_with(&self, ranges: Vec<ReadRange>, isolation: IsolationLevel) -> RecordStream {
        SharedFetcher::new(self, isolation).read(ranges)
    }
}
