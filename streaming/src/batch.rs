//! Batch reads: Spark's `spark.read.format("kafka")` (§2.5).
//!
//! A [`BatchSource`] plans a read on the driver's terms and reads it on the
//! executors' terms:
//!
//! * [`plan`](BatchSource::plan) resolves the topic selection (`assign`,
//!   `subscribe`, `subscribePattern`, internal topics left out), then the
//!   start and end limits: specific offsets are kept as given, timestamps
//!   are looked up now, and `earliest`/`latest` stay sentinels (late
//!   binding) unless `minPartitions` or `maxRecordsPerPartition` make the
//!   planner split, which needs them looked up. The tasks come in the
//!   planner's stable order (topic, partition, start offset).
//! * [`read`](BatchSource::read) runs the tasks through the one client:
//!   each task looks its sentinels up right before it reads (so records
//!   aged out since planning do not fail the query), an empty range sends
//!   no fetch, and every record of every range comes once. Offsets that
//!   are gone (OFFSET_OUT_OF_RANGE) fail the read with Spark's
//!   `COULD_NOT_READ_OFFSET_RANGE` when `failOnDataLoss` is true, and are
//!   skipped with a warning and counted when it is false.
//!
//! ```
//! use futures::TryStreamExt;
//! use ferrokafka_streaming::batch::BatchSource;
//! use ferrokafka_streaming::options::SourceOptions;
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
//! #         let record = ProducerRecord::new("orders").value(format!("order {i}")).partition(i % 2);
//! #         producer.send(record).await?.await?;
//! #     }
//! # }
//! // `bootstrap` is "host:port": here an in-process fake cluster.
//! let options = SourceOptions::from_pairs([
//!     ("kafka.bootstrap.servers", bootstrap.as_str()),
//!     ("subscribe", "orders"),
//!     ("minPartitions", "4"),
//! ]);
//! let source = BatchSource::connect(options.batch()?).await?;
//! let plan = source.plan().await?;
//! assert_eq!(plan.tasks.len(), 4); // 2 partitions of 5 records, split for minPartitions
//! let rows: Vec<_> = source.read(&plan).try_collect().await?;
//! assert_eq!(rows.len(), 10);
//! # Ok(()) }
//! ```

use std::collections::BTreeSet;
use std::num::NonZeroUsize;

use ferrokafka::{Client, TopicPartition};

use crate::error::SourceError;
use crate::java::random_uuid;
use crate::lookup::Lookups;
use crate::options::{BatchSettings, ConsumerGroups};
use crate::planner::{
    batch_lookups_needed, plan_batch_ranges, Binding, LimitPosition, OffsetRange, PartitionOffsets,
};
use crate::reader::{self, ReadSettings, Rows};

/// A batch query's plan: the partitions read, the late-bound start and
/// end offsets, and the read tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchPlan {
    /// The partitions the topic selection covered at planning.
    pub partitions: BTreeSet<TopicPartition>,
    /// Where each partition starts: an offset, or [`EARLIEST`](crate::planner::EARLIEST)
    /// (`-2`) to be looked up when its task reads.
    pub start: PartitionOffsets,
    /// Where each partition ends: an offset, or [`LATEST`](crate::planner::LATEST)
    /// (`-1`) to be looked up when its task reads.
    pub end: PartitionOffsets,
    /// The read tasks, by topic, partition and start offset. A range may
    /// keep a sentinel at its start or end.
    pub tasks: Vec<OffsetRange>,
}

/// A Kafka batch source: plans and reads one batch query.
///
/// See the [module documentation](self) for what planning and reading do.
pub struct BatchSource {
    settings: BatchSettings,
    client: Client,
    groups: ConsumerGroups,
    max_concurrent_tasks: Option<NonZeroUsize>,
}

impl std::fmt::Debug for BatchSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchSource")
            .field("settings", &self.settings)
            .field("groups", &self.groups)
            .field("max_concurrent_tasks", &self.max_concurrent_tasks)
            .finish_non_exhaustive()
    }
}

impl BatchSource {
    /// Connects a client configured from the `kafka.` options (see
    /// [`ClientProperties::client_config`](crate::options::ClientProperties::client_config))
    /// and makes the source.
    pub async fn connect(settings: BatchSettings) -> Result<Self, SourceError> {
        let config = settings.source.client_properties.client_config()?;
        let client = Client::connect(config)
            .await
            .map_err(|error| SourceError::Connect(Box::new(error)))?;
        Ok(Self::new(settings, client))
    }

    /// The source over an existing client (whose configuration wins over
    /// the `kafka.` options, which are then not used).
    pub fn new(settings: BatchSettings, client: Client) -> Self {
        let groups = settings.consumer_groups(&random_uuid());
        BatchSource {
            settings,
            client,
            groups,
            max_concurrent_tasks: None,
        }
    }

    /// Reads at most `tasks` tasks at once (default: all). Each reading
    /// task may hold about one record batch beyond the client's
    /// `fetch.buffer.max.bytes` budget, so bound this when a plan has very
    /// many tasks.
    pub fn max_concurrent_tasks(mut self, tasks: NonZeroUsize) -> Self {
        self.max_concurrent_tasks = Some(tasks);
        self
    }

    /// The validated options.
    pub fn settings(&self) -> &BatchSettings {
        &self.settings
    }

    /// The client every look-up and read goes through.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The query's consumer group ids (Spark's `spark-kafka-relation-<uuid>`
    /// family, or the user's `kafka.group.id`). Reads join no group; the
    /// id names the reader in data-loss messages.
    pub fn consumer_groups(&self) -> &ConsumerGroups {
        &self.groups
    }

    /// Plans the read (see the [module documentation](self)).
    pub async fn plan(&self) -> Result<BatchPlan, SourceError> {
        let source = &self.settings.source;
        let lookups = Lookups::new(&self.client, source);
        let listing = lookups.topic_listing(&source.topics).await?;
        let partitions = source.topics.assigned_partitions(&listing);
        let strategy = source.timestamp_strategy;
        let mut limits = Vec::with_capacity(2);
        for (limit, position) in [
            (&source.starting, LimitPosition::Start),
            (&self.settings.ending, LimitPosition::End),
        ] {
            let needed = limit.lookups_needed(&partitions, position, strategy, Binding::Late);
            let looked_up = lookups.offsets(&needed).await?;
            limits.push(limit.resolve(
                &partitions,
                &looked_up,
                position,
                strategy,
                Binding::Late,
            )?);
        }
        let end = limits.pop().expect("two limits");
        let start = limits.pop().expect("two limits");
        let needed = batch_lookups_needed(&start, &end, &source.calculator)?;
        let looked_up = lookups.offsets(&needed).await?;
        let tasks = plan_batch_ranges(&start, &end, &source.calculator, &looked_up)?;
        Ok(BatchPlan {
            partitions,
            start,
            end,
            tasks,
        })
    }

    /// Reads the plan's tasks: a stream of every record of every range,
    /// once (see [`Rows`]). Must be polled inside a tokio runtime.
    pub fn read(&self, plan: &BatchPlan) -> Rows {
        reader::read(&self.client, plan.tasks.clone(), self.read_settings())
    }

    /// Plans and reads.
    pub async fn rows(&self) -> Result<Rows, SourceError> {
        let plan = self.plan().await?;
        Ok(self.read(&plan))
    }

    fn read_settings(&self) -> ReadSettings {
        ReadSettings::new(
            &self.settings.source,
            &self.groups,
            self.max_concurrent_tasks,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::SourceOptions;

    fn assert_send<T: Send>(_: &T) {}

    /// Type-checked, never run: the futures and streams a caller would
    /// spawn are `Send`.
    #[allow(dead_code)]
    fn plans_and_reads_are_send(source: &BatchSource, plan: &BatchPlan) {
        assert_send(&source.plan());
        assert_send(&source.rows());
        assert_send(&source.read(plan));
    }

    #[test]
    fn connecting_is_send() {
        let settings =
            SourceOptions::from_pairs([("kafka.bootstrap.servers", "h:1"), ("subscribe", "t")])
                .batch()
                .unwrap();
        assert_send(&BatchSource::connect(settings));
    }
}
