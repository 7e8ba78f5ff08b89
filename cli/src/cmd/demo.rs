//! `ferrokafka demo`: the main job end to end in one command. Starts a
//! fake Kafka cluster in this process (or uses `-b` for a real one),
//! writes a sample set of orders through the sink, runs a streaming query
//! (`minPartitions`, `maxOffsetsPerTrigger`, trigger `availableNow`) that
//! prices each order into an output topic, prints each batch's progress
//! and lag as it goes, and reads the output back to check that every
//! order arrived once.

use std::collections::HashSet;
use std::io::Write as _;
use std::time::Instant;

use clap::Args;
use ferrokafka::admin::NewTopic;
use ferrokafka::ErrorKind;
use ferrokafka_fake::FakeCluster;
use ferrokafka_streaming::batch::BatchSource;
use ferrokafka_streaming::checkpoint::MemoryCheckpoint;
use ferrokafka_streaming::options::SourceOptions;
use ferrokafka_streaming::progress::JsonLinesListener;
use ferrokafka_streaming::query::{CheckpointLocation, MicroBatch, StreamingQuery};
use ferrokafka_streaming::sink::{KafkaSink, SinkOptions, SinkRow};
use ferrokafka_streaming::trigger::Trigger;
use ferrokafka_streaming::Row;
use futures::TryStreamExt;
use serde_json::{json, Value};

use crate::client::connect_with;
use crate::cmd::stream::ProgressForm;
use crate::exit::CliError;
use crate::options::Options;
use crate::progress::{BatchLines, Counter};

/// `ferrokafka demo`.
#[derive(Debug, Args)]
pub(crate) struct DemoArgs {
    /// Orders to write and stream.
    #[arg(long, default_value_t = 300_000)]
    records: u64,
    /// Partitions of the demo's topics.
    #[arg(long, default_value_t = 6)]
    partitions: i32,
    /// The query's maxOffsetsPerTrigger (default: a fifth of --records,
    /// so the stream runs in five batches).
    #[arg(long, value_name = "N")]
    batch_size: Option<u64>,
    /// human (a line per batch: rows, rate, lag) or json (Spark's
    /// StreamingQueryProgress, one object per line).
    #[arg(long, value_enum, default_value = "human", value_name = "FORM")]
    progress: ProgressForm,
    /// Where the query keeps its checkpoint (default: a new directory in
    /// the temporary directory, removed afterwards; in memory when there is
    /// no writable one).
    #[arg(long, value_name = "DIR")]
    checkpoint: Option<std::path::PathBuf>,
    /// With -b: keep the demo's topics afterwards (they are deleted
    /// otherwise).
    #[arg(long)]
    keep_topics: bool,
}

/// Help text after `ferrokafka demo --help`.
pub(crate) const DEMO_HELP: &str = "\
Examples:
  ferrokafka demo
  ferrokafka demo --records 1000000 --progress json
  ferrokafka -b localhost:9092 demo          # a real cluster: the topics get a run-unique name";

const ITEMS: [(&str, u32); 6] = [
    ("coffee beans 1kg", 1_890),
    ("espresso cups", 1_250),
    ("milk frother", 3_999),
    ("grinder", 12_900),
    ("filter papers", 450),
    ("kettle", 5_490),
];

/// The demo's `n`-th order as JSON: the same every run.
fn order(n: u64) -> (String, String) {
    // A multiplicative hash spreads customers and items evenly.
    let mixed = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    let customer = format!("customer-{:04}", mixed % 1_000);
    let (item, cents) = ITEMS[(mixed / 1_000 % ITEMS.len() as u64) as usize];
    let quantity = 1 + mixed / 7 % 5;
    let value = json!({
        "order": n,
        "customer": customer,
        "item": item,
        "quantity": quantity,
        "unit_price_cents": cents,
    });
    (customer, value.to_string())
}

/// The query's work: the order with its total.
fn priced(row: &Row) -> Result<SinkRow, CliError> {
    let value = row.value().map_or(&[][..], |v| &v[..]);
    let mut order: Value = serde_json::from_slice(value).map_err(|e| {
        CliError::failed(format!(
            "{}-{} offset {}: not an order ({e})",
            row.topic(),
            row.partition(),
            row.offset()
        ))
    })?;
    let quantity = order["quantity"].as_u64().unwrap_or(0);
    let cents = order["unit_price_cents"].as_u64().unwrap_or(0);
    order["total_cents"] = json!(quantity * cents);
    let mut out = SinkRow::new().value(order.to_string());
    if let Some(key) = row.key() {
        out = out.key(key.clone());
    }
    Ok(out)
}

/// Runs `demo`.
pub(crate) async fn run(args: DemoArgs, options: &Options) -> Result<(), CliError> {
    if args.records == 0 || args.partitions < 1 {
        return Err(CliError::usage(
            "--records and --partitions must be at least 1",
        ));
    }
    let started = Instant::now();
    let mut temporary_checkpoint = None;
    let mut out = std::io::stdout();
    // A real cluster, or one in this process.
    let mut options = options.clone();
    let (fake, suffix) = if options.contains("kafka.bootstrap.servers") {
        let unique = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        (None, format!("-{unique}"))
    } else {
        let cluster = FakeCluster::builder()
            .build()
            .map_err(|e| CliError::failed(format!("cannot start the fake cluster: {e}")))?;
        options.set("kafka.bootstrap.servers".to_owned(), cluster.bootstrap());
        (Some(cluster), String::new())
    };
    let bootstrap = options
        .pairs()
        .find(|(k, _)| *k == "kafka.bootstrap.servers")
        .map(|(_, v)| v.to_owned())
        .unwrap_or_default();
    let orders = format!("demo-orders{suffix}");
    let priced_topic = format!("demo-orders-priced{suffix}");
    say(
        &mut out,
        &match &fake {
            Some(_) => format!(
                "ferrokafka demo on a fake Kafka cluster in this process at {bootstrap} \
                 (pass -b host:port for a real one)"
            ),
            None => format!("ferrokafka demo on the Kafka cluster at {bootstrap}"),
        },
    );

    let client = connect_with(crate::client::client_config(&options)?).await?;
    let admin = client.admin();
    for topic in [&orders, &priced_topic] {
        match admin
            .create_topic(NewTopic::new(topic, args.partitions, 1))
            .await
        {
            Ok(()) => {}
            // TOPIC_ALREADY_EXISTS (36): a real cluster's topic from a run this second.
            Err(e) if matches!(e.kind(), ErrorKind::Broker { error, .. } if error.code() == 36) => {
            }
            Err(e) => return Err(e.into()),
        }
    }
    say(
        &mut out,
        &format!(
            "1/4 created topics {orders} and {priced_topic} ({} partitions each)",
            args.partitions
        ),
    );

    // The sample data, through the sink (Spark's df.write.format("kafka")).
    let kafka_options = || SinkOptions::from_pairs(options.kafka_pairs());
    let writer = KafkaSink::with_cache(
        kafka_options().with("topic", orders.as_str()).settings()?,
        crate::client::sink_cache(),
    );
    let counter = Counter::with_total("written", args.records);
    let writing = Instant::now();
    let mut bytes = 0u64;
    const CHUNK: u64 = 10_000;
    let mut next = 0;
    while next < args.records {
        let end = (next + CHUNK).min(args.records);
        let rows: Vec<SinkRow> = (next..end)
            .map(|n| {
                let (customer, value) = order(n);
                bytes += (customer.len() + value.len()) as u64;
                SinkRow::new()
                    .key(customer)
                    .value(value)
                    .header("source", Some("ferrokafka-demo"))
            })
            .collect();
        writer.write(rows).await?;
        counter.add(end - next);
        next = end;
    }
    counter.finish();
    let seconds = writing.elapsed().as_secs_f64().max(1e-9);
    say(
        &mut out,
        &format!(
            "2/4 wrote {} orders ({:.1} MB) to {orders} in {seconds:.2} s ({:.0} records/s)",
            args.records,
            bytes as f64 / 1e6,
            args.records as f64 / seconds
        ),
    );

    // The streaming query: orders → priced orders, in batches.
    let batch_size = args.batch_size.unwrap_or(args.records.div_ceil(5)).max(1);
    let min_partitions = args.partitions * 2;
    let (checkpoint, shown): (CheckpointLocation, String) = match &args.checkpoint {
        Some(dir) => (dir.as_path().into(), dir.display().to_string()),
        None => {
            let dir = std::env::temp_dir().join(format!(
                "ferrokafka-demo-{}-{}",
                std::process::id(),
                started.elapsed().as_nanos()
            ));
            match std::fs::create_dir_all(&dir) {
                Ok(()) => {
                    temporary_checkpoint = Some(dir.clone());
                    let shown = dir.display().to_string();
                    (dir.into(), shown)
                }
                // An empty container may have no /tmp.
                Err(_) => (
                    MemoryCheckpoint::new().into(),
                    "in memory (no writable temporary directory)".to_owned(),
                ),
            }
        }
    };
    let mut source = SourceOptions::from_pairs(options.kafka_pairs());
    source
        .set("subscribe", orders.as_str())
        .set("startingOffsets", "earliest")
        .set("minPartitions", min_partitions.to_string())
        .set("maxOffsetsPerTrigger", batch_size.to_string())
        .set("includeHeaders", "true");
    say(
        &mut out,
        &format!(
            "3/4 streaming {orders} -> {priced_topic}: minPartitions={min_partitions}, \
             maxOffsetsPerTrigger={batch_size}, trigger availableNow, checkpoint {shown}"
        ),
    );
    let sink = KafkaSink::with_cache(
        kafka_options()
            .with("topic", priced_topic.as_str())
            .settings()?,
        crate::client::sink_cache(),
    );
    let builder = StreamingQuery::builder(source.streaming()?, checkpoint)
        .name("demo-pricing")
        .client(client.clone())
        .trigger(Trigger::AvailableNow);
    let builder = match args.progress {
        ProgressForm::Json => builder.listener(JsonLinesListener::new(std::io::stdout())),
        ProgressForm::None => builder,
        ProgressForm::Human => builder.listener(BatchLines::new(Indented {
            out: std::io::stdout(),
            at_line_start: true,
        })),
    };
    let query = builder
        .start(move |batch: MicroBatch| {
            let sink = sink.clone();
            async move {
                let batch_id = batch.batch_id();
                let rows = batch
                    .into_rows()
                    .map_err(CliError::from)
                    .and_then(|row| async move { priced(&row) });
                sink.write_micro_batch(batch_id, rows).await?;
                Ok::<(), CliError>(())
            }
        })
        .await?;
    let outcome = query.await_termination().await;
    if let Some(dir) = &temporary_checkpoint {
        let _ = std::fs::remove_dir_all(dir);
    }
    let outcome = outcome?;

    // Check: every order in the output once.
    let read = BatchSource::new(
        SourceOptions::from_pairs(options.kafka_pairs())
            .with("subscribe", priced_topic.as_str())
            .batch()?,
        client.clone(),
    );
    let mut rows = read.rows().await?;
    let mut seen = HashSet::new();
    let mut repeated = 0u64;
    let mut example = None;
    while let Some(row) = rows.try_next().await? {
        let value: Value = serde_json::from_slice(row.value().map_or(&[][..], |v| &v[..]))
            .map_err(|e| CliError::failed(format!("{priced_topic}: not a priced order ({e})")))?;
        let n = value["order"].as_u64().unwrap_or(u64::MAX);
        if !seen.insert(n) {
            repeated += 1;
        }
        if n == 0 {
            example = Some(value.to_string());
        }
    }
    let missing = (0..args.records).filter(|n| !seen.contains(n)).count();
    say(
        &mut out,
        &format!(
            "4/4 {priced_topic} holds {} priced orders from {} batches: {} missing, {} repeated",
            seen.len() as u64 + repeated,
            outcome.batches_committed,
            missing,
            repeated
        ),
    );
    if let Some(example) = example {
        say(&mut out, &format!("    order 0: {example}"));
    }
    if fake.is_none() && !args.keep_topics {
        let _ = admin.delete_topics(&[&orders, &priced_topic]).await;
    }
    client.close().await;
    if missing > 0 {
        return Err(CliError::failed(format!(
            "{missing} orders did not reach {priced_topic}"
        )));
    }
    say(
        &mut out,
        &format!(
            "done in {:.1} s. Next: `ferrokafka demo --progress json` shows Spark's progress \
             records; `ferrokafka stream --help` runs your own.",
            started.elapsed().as_secs_f64()
        ),
    );
    drop(fake);
    Ok(())
}

fn say(out: &mut std::io::Stdout, line: &str) {
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Indents each line written through it by four spaces.
struct Indented<W> {
    out: W,
    at_line_start: bool,
}

impl<W: std::io::Write> std::io::Write for Indented<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut written = Vec::with_capacity(buf.len() + 8);
        for &b in buf {
            if self.at_line_start && b != b'\n' {
                written.extend_from_slice(b"    ");
            }
            written.push(b);
            self.at_line_start = b == b'\n';
        }
        self.out.write_all(&written)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}
