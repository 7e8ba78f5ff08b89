//! `ferrokafka topics`: list, create, delete, describe.

use clap::{Args, Subcommand};
use ferrokafka::admin::{NewTopic, OffsetSpec};
use serde_json::json;

use super::{lookup, partitions_of};
use crate::client::{connect, warn_unused};
use crate::exit::CliError;
use crate::options::Options;
use crate::output::{Output, Rows};

/// What to do with topics.
#[derive(Debug, Subcommand)]
pub(crate) enum Topics {
    /// List the topics (internal ones with --internal).
    List {
        /// Include internal topics (__consumer_offsets, …).
        #[arg(long)]
        internal: bool,
        #[command(flatten)]
        output: OutputArg,
    },
    /// Create a topic.
    Create {
        /// The topic name.
        name: String,
        /// How many partitions.
        #[arg(short, long, default_value_t = 1)]
        partitions: i32,
        /// How many replicas of each partition.
        #[arg(short, long, default_value_t = 1)]
        replication_factor: i16,
        /// A topic setting as key=value (repeatable), e.g. --set retention.ms=3600000.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        settings: Vec<String>,
    },
    /// Delete topics.
    Delete {
        /// The topics to delete.
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Show a topic's partitions: leader, replicas, in-sync replicas and offsets.
    Describe {
        /// The topic name.
        name: String,
        #[command(flatten)]
        output: OutputArg,
    },
}

/// `--output table|json`.
#[derive(Debug, Args)]
pub(crate) struct OutputArg {
    /// table (the default on a terminal) or json (one object per line).
    #[arg(long, value_enum)]
    output: Option<Output>,
}

/// Runs a `topics` command.
pub(crate) async fn run(command: Topics, options: &Options) -> Result<(), CliError> {
    warn_unused("topics", options.spark_options());
    let client = connect(options).await?;
    let admin = client.admin();
    match command {
        Topics::List { internal, output } => {
            let mut topics = admin.list_topics().await?;
            topics.retain(|t| internal || !t.internal);
            topics.sort_by(|a, b| a.name.cmp(&b.name));
            let mut rows = Rows::new(&["topic", "partitions", "internal"]);
            for t in topics {
                rows.push(vec![json!(t.name), json!(t.partitions), json!(t.internal)]);
            }
            rows.print(Output::or_default(output.output))?;
        }
        Topics::Create {
            name,
            partitions,
            replication_factor,
            settings,
        } => {
            let mut topic = NewTopic::new(&name, partitions, replication_factor);
            for setting in settings {
                let (key, value) = setting.split_once('=').ok_or_else(|| {
                    CliError::usage(format!(
                        "--set {setting:?}: expected key=value, e.g. --set retention.ms=3600000"
                    ))
                })?;
                topic = topic.with_config(key.trim(), value);
            }
            admin.create_topic(topic).await?;
            eprintln!("created topic {name} ({partitions} partitions, replication factor {replication_factor})");
        }
        Topics::Delete { names } => {
            let refs: Vec<&str> = names.iter().map(String::as_str).collect();
            let mut failed = None;
            for (name, outcome) in admin.delete_topics(&refs).await? {
                match outcome {
                    Ok(()) => eprintln!("deleted topic {name}"),
                    Err(e) => {
                        eprintln!("ferrokafka: {e}");
                        failed = Some(e);
                    }
                }
            }
            if let Some(e) = failed {
                return Err(e.into());
            }
        }
        Topics::Describe { name, output } => {
            let info = admin.describe_topic(&name).await?;
            let partitions = partitions_of(&client, &name).await?;
            let earliest = lookup(&client, &partitions, OffsetSpec::Earliest).await?;
            let latest = lookup(&client, &partitions, OffsetSpec::Latest).await?;
            let mut rows = Rows::new(&[
                "topic",
                "partition",
                "leader",
                "replicas",
                "in_sync",
                "earliest",
                "latest",
                "records",
            ]);
            for ((p, first), last) in info.partitions.values().zip(earliest).zip(latest) {
                rows.push(vec![
                    json!(name),
                    json!(p.partition),
                    json!(p.leader),
                    json!(p.replicas),
                    json!(p.isr),
                    json!(first.offset),
                    json!(last.offset),
                    json!(last.offset - first.offset),
                ]);
            }
            rows.print(Output::or_default(output.output))?;
        }
    }
    client.close().await;
    Ok(())
}
