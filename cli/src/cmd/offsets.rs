//! `ferrokafka offsets`: where each partition of a topic starts and ends,
//! or the first offset at or after a time.

use clap::Args;
use ferrokafka::admin::OffsetSpec;
use ferrokafka::TopicPartition;
use serde_json::json;

use super::{lookup, partitions_of};
use crate::client::{connect, warn_unused};
use crate::exit::CliError;
use crate::options::Options;
use crate::output::{Output, Rows};

/// `ferrokafka offsets TOPIC`.
#[derive(Debug, Args)]
pub(crate) struct OffsetsArgs {
    /// The topic.
    topic: String,
    /// Only these partitions (repeatable; all by default).
    #[arg(short, long = "partition")]
    partitions: Vec<i32>,
    /// Also the first offset whose timestamp is at or after this time:
    /// milliseconds since the epoch (the offset is -1 when no record is that late).
    #[arg(long, value_name = "MS")]
    timestamp: Option<i64>,
    /// table (the default on a terminal) or json (one object per line).
    #[arg(long, value_enum)]
    output: Option<Output>,
}

/// Runs `offsets`.
pub(crate) async fn run(args: OffsetsArgs, options: &Options) -> Result<(), CliError> {
    warn_unused("offsets", options.spark_options());
    if args.timestamp.is_some_and(|t| t < 0) {
        return Err(CliError::usage(
            "--timestamp takes milliseconds since the epoch (0 or more)",
        ));
    }
    let client = connect(options).await?;
    let mut partitions = partitions_of(&client, &args.topic).await?;
    if !args.partitions.is_empty() {
        for p in &args.partitions {
            if !partitions.iter().any(|tp| tp.partition == *p) {
                return Err(CliError::usage(format!(
                    "{} has no partition {p} (it has {})",
                    args.topic,
                    partitions.len()
                )));
            }
        }
        partitions.retain(|tp| args.partitions.contains(&tp.partition));
    }
    let earliest = lookup(&client, &partitions, OffsetSpec::Earliest).await?;
    let latest = lookup(&client, &partitions, OffsetSpec::Latest).await?;
    let at_time = match args.timestamp {
        Some(ts) => Some(lookup(&client, &partitions, OffsetSpec::Timestamp(ts)).await?),
        None => None,
    };
    let mut columns = vec!["topic", "partition", "earliest", "latest"];
    if at_time.is_some() {
        columns.push("at_timestamp");
    }
    let mut rows = Rows::new(&columns);
    for (i, TopicPartition { topic, partition }) in partitions.iter().enumerate() {
        let mut row = vec![
            json!(topic.as_ref()),
            json!(partition),
            json!(earliest[i].offset),
            json!(latest[i].offset),
        ];
        if let Some(found) = &at_time {
            row.push(json!(found[i].offset));
        }
        rows.push(row);
    }
    rows.print(Output::or_default(args.output))?;
    client.close().await;
    Ok(())
}
