//! The cluster look-ups of planning and reading: the topics a selection
//! covers, and offsets (earliest, latest, by timestamp) through the admin
//! client's ListOffsets.

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use ferrokafka::admin::{Admin, OffsetSpec};
use ferrokafka::{Client, ErrorKind, IsolationLevel, TopicPartition};

use crate::error::SourceError;
use crate::options::SourceSettings;
use crate::planner::{LookupPlan, OffsetLookups, PartitionOffsets, TopicListing, TopicSelection};

/// Looks up `spec` for each partition (one ListOffsets round per leader);
/// the first partition that failed fails the whole look-up.
pub(crate) async fn list_offsets(
    admin: &Admin,
    requests: &[(TopicPartition, OffsetSpec)],
    isolation: IsolationLevel,
) -> Result<Vec<(TopicPartition, i64)>, ferrokafka::Error> {
    if requests.is_empty() {
        return Ok(Vec::new());
    }
    admin
        .list_offsets(requests, isolation)
        .await?
        .into_iter()
        .map(|(tp, listed)| listed.map(|listed| (tp, listed.offset)))
        .collect()
}

/// The earliest and latest offsets of `tp` (each only when asked for;
/// `None` otherwise), looked up concurrently.
pub(crate) async fn available_range(
    admin: &Admin,
    tp: &TopicPartition,
    isolation: IsolationLevel,
    earliest: bool,
    latest: bool,
) -> Result<(Option<i64>, Option<i64>), ferrokafka::Error> {
    let one = |wanted: bool, spec: OffsetSpec| async move {
        if !wanted {
            return Ok::<_, ferrokafka::Error>(None);
        }
        let listed = list_offsets(admin, &[(tp.clone(), spec)], isolation).await?;
        Ok(listed.first().map(|(_, offset)| *offset))
    };
    let (earliest, latest) = futures::future::join(
        one(earliest, OffsetSpec::Earliest),
        one(latest, OffsetSpec::Latest),
    )
    .await;
    Ok((earliest?, latest?))
}

/// The planner's look-ups against the cluster, each retried as Spark's
/// driver retries its offset fetches: `fetchOffset.numRetries` attempts,
/// `fetchOffset.retryIntervalMs` apart.
pub(crate) struct Lookups {
    admin: Admin,
    isolation: IsolationLevel,
    attempts: u32,
    pause: Duration,
}

impl Lookups {
    pub(crate) fn new(client: &Client, settings: &SourceSettings) -> Self {
        Lookups {
            admin: client.admin(),
            isolation: client.config().isolation_level(),
            attempts: settings.fetch_offset_num_retries.max(1),
            pause: Duration::from_millis(
                u64::try_from(settings.fetch_offset_retry_interval_ms).unwrap_or(0),
            ),
        }
    }

    pub(crate) async fn retried<T, F, Fut>(
        &self,
        what: impl Fn() -> String,
        mut once: F,
    ) -> Result<T, SourceError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, ferrokafka::Error>>,
    {
        let mut attempt = 1;
        loop {
            match once().await {
                Ok(value) => return Ok(value),
                Err(error) if attempt < self.attempts => {
                    tracing::warn!(
                        "looking up {} failed (attempt {attempt} of {}), trying again in {:?}: {error}",
                        what(),
                        self.attempts,
                        self.pause
                    );
                    tokio::time::sleep(self.pause).await;
                    attempt += 1;
                }
                Err(source) => {
                    return Err(SourceError::Lookup {
                        what: what(),
                        attempts: attempt,
                        source: Box::new(source),
                    })
                }
            }
        }
    }

    /// What the cluster has of the topics `selection` may cover: the named
    /// topics that exist (`assign`, `subscribe`), or every topic
    /// (`subscribePattern`). Internal topics are listed as such; the
    /// planner leaves them out.
    pub(crate) async fn topic_listing(
        &self,
        selection: &TopicSelection,
    ) -> Result<Vec<TopicListing>, SourceError> {
        let Some(names) = selection.named_topics() else {
            let topics = self
                .retried(
                    || "the cluster's topics".to_owned(),
                    || self.admin.list_topics(),
                )
                .await?;
            return Ok(topics
                .into_iter()
                .map(|topic| TopicListing {
                    // Kafka numbers a topic's partitions from 0 without gaps.
                    partitions: (0..topic.partitions as i32).collect(),
                    name: topic.name,
                    internal: topic.internal,
                })
                .collect());
        };
        let mut listing = Vec::with_capacity(names.len());
        for name in names {
            let described = self
                .retried(
                    || format!("the partitions of topic {name}"),
                    || async {
                        match self.admin.describe_topic(name).await {
                            Ok(info) => Ok(Some(info)),
                            Err(e) if matches!(e.kind(), ErrorKind::UnknownTopicOrPartition) => {
                                Ok(None)
                            }
                            Err(e) => Err(e),
                        }
                    },
                )
                .await?;
            match described {
                Some(info) => listing.push(TopicListing {
                    name: name.to_owned(),
                    internal: info.internal,
                    partitions: info.partitions.keys().copied().collect(),
                }),
                None => tracing::warn!("topic {name} does not exist: it contributes no partitions"),
            }
        }
        Ok(listing)
    }

    /// The offsets `plan` asks for.
    pub(crate) async fn offsets(&self, plan: &LookupPlan) -> Result<OffsetLookups, SourceError> {
        let mut lookups = OffsetLookups::default();
        if plan.is_empty() {
            return Ok(lookups);
        }
        let same = |spec: OffsetSpec| move |tp: &TopicPartition| (tp.clone(), spec);
        let earliest: Vec<_> = plan
            .earliest
            .iter()
            .map(same(OffsetSpec::Earliest))
            .collect();
        let latest: Vec<_> = plan.latest.iter().map(same(OffsetSpec::Latest)).collect();
        let by_timestamp: Vec<_> = plan
            .by_timestamp
            .iter()
            .map(|(tp, timestamp)| (tp.clone(), OffsetSpec::Timestamp(*timestamp)))
            .collect();
        let (earliest, latest, by_timestamp) = futures::future::join3(
            self.retried(
                || format!("the earliest offsets of {}", partition_list(&earliest)),
                || list_offsets(&self.admin, &earliest, self.isolation),
            ),
            self.retried(
                || format!("the latest offsets of {}", partition_list(&latest)),
                || list_offsets(&self.admin, &latest, self.isolation),
            ),
            self.retried(
                || {
                    format!(
                        "the offsets by timestamp of {}",
                        partition_list(&by_timestamp)
                    )
                },
                || list_offsets(&self.admin, &by_timestamp, self.isolation),
            ),
        )
        .await;
        lookups.earliest = PartitionOffsets(earliest?.into_iter().collect());
        lookups.latest = PartitionOffsets(latest?.into_iter().collect());
        lookups.by_timestamp = by_timestamp?
            .into_iter()
            // Kafka answers -1 when no record is that late.
            .map(|(tp, offset)| (tp, (offset >= 0).then_some(offset)))
            .collect::<BTreeMap<_, _>>();
        Ok(lookups)
    }
}

/// `t-0, t-1, …` for messages, shortened past ten partitions.
pub(crate) fn partition_list<T>(requests: &[(TopicPartition, T)]) -> String {
    const SHOWN: usize = 10;
    let mut names: Vec<String> = requests
        .iter()
        .take(SHOWN)
        .map(|(tp, _)| tp.to_string())
        .collect();
    if requests.len() > SHOWN {
        names.push(format!("… ({} partitions)", requests.len()));
    }
    names.join(", ")
}
