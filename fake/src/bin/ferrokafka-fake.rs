//! `ferrokafka-fake`: the fake Kafka cluster as a local development broker.
//!
//! ```text
//! ferrokafka-fake --brokers 3 --port 9092 --topic orders:6
//! ```
//!
//! Listens on 127.0.0.1 only, keeps everything in memory, and runs until
//! interrupted (Ctrl-C).
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use ferrokafka_fake::FakeCluster;

/// A fake Kafka cluster in memory on 127.0.0.1, for trying a Kafka client
/// without installing Kafka. Everything is lost when it stops.
#[derive(Debug, Parser)]
#[command(name = "ferrokafka-fake", version)]
struct Args {
    /// Number of brokers (ids 0, 1, …).
    #[arg(long, default_value_t = 1)]
    brokers: usize,
    /// Port of broker 0; broker i listens on PORT + i. 0 picks free ports.
    #[arg(long, default_value_t = 9092)]
    port: u16,
    /// A topic to create at start, as NAME or NAME:PARTITIONS (repeatable).
    #[arg(long = "topic", value_name = "NAME[:PARTITIONS]")]
    topics: Vec<String>,
    /// Partitions of auto-created topics.
    #[arg(long, default_value_t = 1)]
    default_partitions: i32,
    /// Refuse to create topics on first use (Kafka's auto.create.topics.enable=false).
    #[arg(long)]
    no_auto_create: bool,
    /// Require SASL PLAIN with this user, as USER:PASSWORD (repeatable).
    #[arg(long = "sasl-plain", value_name = "USER:PASSWORD")]
    sasl_plain: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut builder = FakeCluster::builder()
        .brokers(args.brokers)
        .port(args.port)
        .default_partitions(args.default_partitions)
        .auto_create_topics(!args.no_auto_create);
    for topic in &args.topics {
        let (name, partitions) = match topic.split_once(':') {
            None => (topic.as_str(), 1),
            Some((name, count)) => match count.parse::<i32>() {
                Ok(n) if n >= 1 => (name, n),
                _ => {
                    eprintln!("error: --topic {topic}: the partition count must be a number of at least 1, as in orders:6");
                    return ExitCode::from(2);
                }
            },
        };
        builder = builder.topic(name, partitions);
    }
    for user in &args.sasl_plain {
        let Some((name, password)) = user.split_once(':') else {
            eprintln!("error: --sasl-plain {user}: give USER:PASSWORD");
            return ExitCode::from(2);
        };
        builder = builder.sasl_plain_user(name, password);
    }
    let cluster = match builder.build() {
        Ok(cluster) => cluster,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    for id in cluster.broker_ids() {
        if let Some(addr) = cluster.broker_addr(id) {
            println!("broker {id} listening on {addr}");
        }
    }
    println!("bootstrap.servers={}", cluster.bootstrap());
    if !args.sasl_plain.is_empty() {
        println!("security.protocol=SASL_PLAINTEXT sasl.mechanism=PLAIN");
    }
    println!("in memory only; press Ctrl-C to stop");
    // Park the main thread; the brokers run on the cluster's own threads
    // and the process ends on SIGINT.
    loop {
        std::thread::park();
    }
}
