//! One file per command.

pub(crate) mod config;
pub(crate) mod demo;
pub(crate) mod offsets;
pub(crate) mod read;
pub(crate) mod stream;
pub(crate) mod topics;
pub(crate) mod write;

use ferrokafka::admin::{ListedOffset, OffsetSpec};
use ferrokafka::{Client, IsolationLevel, TopicPartition};

use crate::exit::CliError;

/// The offset `spec` finds in each of `partitions` (read_uncommitted).
pub(crate) async fn lookup(
    client: &Client,
    partitions: &[TopicPartition],
    spec: OffsetSpec,
) -> Result<Vec<ListedOffset>, CliError> {
    let asked: Vec<(TopicPartition, OffsetSpec)> =
        partitions.iter().map(|tp| (tp.clone(), spec)).collect();
    client
        .admin()
        .list_offsets(&asked, IsolationLevel::ReadUncommitted)
        .await?
        .into_iter()
        .map(|(_, found)| found.map_err(CliError::from))
        .collect()
}

/// Every partition of `topic`, in order.
pub(crate) async fn partitions_of(
    client: &Client,
    topic: &str,
) -> Result<Vec<TopicPartition>, CliError> {
    let info = client.admin().describe_topic(topic).await?;
    Ok(info
        .partitions
        .keys()
        .map(|p| TopicPartition::new(topic, *p))
        .collect())
}
