//! The query's look-ups against the cluster (§2.3, §2.4): the partitions
//! the topic selection covers, the initial offsets, the latest offsets
//! (audited against the batch start) and the earliest offsets of new
//! partitions.

use std::collections::BTreeSet;
use std::time::Duration;

use ferrokafka::admin::OffsetSpec;
use ferrokafka::{Client, ErrorKind, TopicPartition};

use crate::lookup::{partition_list, Lookups};
use crate::options::{ConsumerGroups, StreamSettings};
use crate::planner::{Binding, LimitPosition, PartitionOffsets, TopicListing};
use crate::reader::ReadSettings;
use crate::SourceError;

/// The streaming source: its settings, client and consumer groups.
pub(super) struct StreamSource {
    pub(super) settings: StreamSettings,
    pub(super) client: Client,
    pub(super) groups: ConsumerGroups,
}

impl StreamSource {
    fn lookups(&self) -> Lookups {
        Lookups::new(&self.client, &self.settings.source)
    }

    /// The cluster's topics as the selection sees them, and the partitions
    /// it covers.
    pub(super) async fn assigned(
        &self,
    ) -> Result<(Vec<TopicListing>, BTreeSet<TopicPartition>), SourceError> {
        let listing = self
            .lookups()
            .topic_listing(&self.settings.source.topics)
            .await?;
        let assigned = self.settings.source.topics.assigned_partitions(&listing);
        Ok((listing, assigned))
    }

    /// A new query's initial offsets: the starting options resolved for
    /// `assigned` (§2.3 step 2).
    pub(super) async fn initial_offsets(
        &self,
        assigned: &BTreeSet<TopicPartition>,
    ) -> Result<PartitionOffsets, SourceError> {
        let source = &self.settings.source;
        let strategy = source.timestamp_strategy;
        let needed = source.starting.lookups_needed(
            assigned,
            LimitPosition::Start,
            strategy,
            Binding::Eager,
        );
        let looked_up = self.lookups().offsets(&needed).await?;
        Ok(source.starting.resolve(
            assigned,
            &looked_up,
            LimitPosition::Start,
            strategy,
            Binding::Eager,
        )?)
    }

    /// The offsets `spec` gives for `partitions`, leaving out partitions
    /// that no longer exist; retried as Spark retries its offset fetches.
    async fn offsets_of_existing(
        &self,
        partitions: &BTreeSet<TopicPartition>,
        spec: OffsetSpec,
        what: &str,
    ) -> Result<PartitionOffsets, SourceError> {
        if partitions.is_empty() {
            return Ok(PartitionOffsets::new());
        }
        let requests: Vec<(TopicPartition, OffsetSpec)> =
            partitions.iter().map(|tp| (tp.clone(), spec)).collect();
        let admin = self.client.admin();
        let isolation = self.client.config().isolation_level();
        self.lookups()
            .retried(
                || format!("the {what} offsets of {}", partition_list(&requests)),
                || async {
                    let mut offsets = PartitionOffsets::new();
                    for (tp, listed) in admin.list_offsets(&requests, isolation).await? {
                        match listed {
                            Ok(listed) => offsets.insert(tp, listed.offset),
                            // Deleted since it was listed: absent.
                            Err(e) if matches!(e.kind(), ErrorKind::UnknownTopicOrPartition) => {}
                            Err(e) => return Err(e),
                        }
                    }
                    Ok(offsets)
                },
            )
            .await
    }

    /// The latest offsets of `partitions` (Spark's `fetchLatestOffsets`):
    /// when one is below its offset in `known` (the batch start), asked
    /// again up to `fetchOffset.numRetries` times `retryIntervalMs` apart
    /// (a broker may answer a stale offset, KAFKA-7703), then taken as
    /// they are — a topic deleted and recreated looks just the same.
    pub(super) async fn latest_offsets(
        &self,
        partitions: &BTreeSet<TopicPartition>,
        known: &PartitionOffsets,
    ) -> Result<PartitionOffsets, SourceError> {
        let source = &self.settings.source;
        let attempts = source.fetch_offset_num_retries.max(1);
        let mut attempt = 1;
        loop {
            let latest = self
                .offsets_of_existing(partitions, OffsetSpec::Latest, "latest")
                .await?;
            let behind: Vec<String> = latest
                .iter()
                .filter(|(tp, offset)| known.get(tp).is_some_and(|known| *offset < known))
                .map(|(tp, offset)| format!("{tp} (latest {offset}, known {})", known.0[tp]))
                .collect();
            if behind.is_empty() || attempt >= attempts {
                return Ok(latest);
            }
            tracing::warn!(
                "Found incorrect offsets in some partitions ({}), retrying in {} ms \
                 (attempt {attempt} of {attempts})",
                behind.join(", "),
                source.fetch_offset_retry_interval_ms
            );
            tokio::time::sleep(Duration::from_millis(
                u64::try_from(source.fetch_offset_retry_interval_ms).unwrap_or(0),
            ))
            .await;
            attempt += 1;
        }
    }

    /// The earliest offsets of `partitions`; those deleted meanwhile are
    /// absent.
    pub(super) async fn earliest_offsets(
        &self,
        partitions: &BTreeSet<TopicPartition>,
    ) -> Result<PartitionOffsets, SourceError> {
        self.offsets_of_existing(partitions, OffsetSpec::Earliest, "earliest")
            .await
    }

    pub(super) fn read_settings(
        &self,
        max_concurrent_tasks: Option<std::num::NonZeroUsize>,
    ) -> ReadSettings {
        ReadSettings::new(&self.settings.source, &self.groups, max_concurrent_tasks)
    }
}
