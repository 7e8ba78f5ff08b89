//! `ferrokafka stream`: a streaming query with Spark's source options
//! (`spark.readStream.format("kafka")`) whose micro-batches go to a Kafka
//! topic, the console, or JSON-lines files, checkpointed as Spark does.
//!
//! Each batch is logged (`offsets/N`) before it is read and committed
//! (`commits/N`) once its rows are written, so a stream killed at any
//! instant and started again with the same checkpoint loses nothing: the
//! batch it was in runs again. To a topic that means at-least-once (the
//! re-run batch is sent again); to a directory, the batch's file is
//! written again whole under the same name, so the files hold every
//! record once.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt as _;

use clap::{Args, ValueEnum};
use ferrokafka_streaming::progress::JsonLinesListener;
use ferrokafka_streaming::query::{MicroBatch, StreamingQuery, Termination};
use ferrokafka_streaming::sink::{KafkaSink, SinkOptions, SinkRow};
use ferrokafka_streaming::trigger::{StopReason, Trigger};
use ferrokafka_streaming::Row;
use futures::{StreamExt, TryStreamExt};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::Notify;

use crate::client::connect_with;
use crate::cmd::read::source_options;
use crate::cmd::write::Encoding;
use crate::exit::CliError;
use crate::options::{is_client_key, Options, Sources};
use crate::printer::{write_out, PrintArgs, Printer, OUT_BUFFER};
use crate::progress::BatchLines;
use crate::render;

/// `ferrokafka stream [TOPICS]`.
#[derive(Debug, Args)]
pub(crate) struct StreamArgs {
    /// Topics to read, comma-separated (Spark's subscribe); or give
    /// -o subscribe=…, -o subscribePattern=… or -o assign=… instead.
    topics: Option<String>,
    /// Where each batch's rows go: console (printed as `read` prints
    /// them), topic:NAME (written to a Kafka topic by the idempotent
    /// producer) or dir:PATH (one JSON-lines file per batch, written
    /// atomically).
    #[arg(long, default_value = "console", value_parser = parse_destination, value_name = "SINK")]
    to: Destination,
    /// The checkpoint directory (Spark's checkpointLocation): where the
    /// query keeps its offsets, so it resumes where it stopped. Needed for
    /// topic and dir sinks; the console gets a temporary one.
    #[arg(long, value_name = "DIR")]
    checkpoint: Option<PathBuf>,
    /// When batches run: processingTime=INTERVAL (or the interval alone:
    /// 10s, 1m, "10 seconds"; 0, the default, runs each batch as soon as
    /// the last is done), availableNow (what is there now, in batches of
    /// maxOffsetsPerTrigger, then stop) or once (one batch, then stop).
    #[arg(long, default_value = "processingTime=0", value_parser = parse_trigger, value_name = "TRIGGER")]
    trigger: Trigger,
    /// human (a line per batch with rows, rate and lag, on stderr; the
    /// default when stderr is a terminal), json (Spark's
    /// StreamingQueryProgress, one object per line: on stdout, or on
    /// stderr when rows are printed there) or none.
    #[arg(long, value_enum, value_name = "FORM")]
    progress: Option<ProgressForm>,
    /// The query's name, shown in its progress.
    #[arg(long)]
    name: Option<String>,
    /// With --to topic:…: write each record to the partition it was read
    /// from (Spark's partition column; the target needs at least as many
    /// partitions). Otherwise the partitioner chooses by key.
    #[arg(long)]
    keep_partitions: bool,
    /// A sink option as key=value, over the -o ones (repeatable): -O
    /// kafka.bootstrap.servers=other:9092 writes to another cluster, -O
    /// kafka.compression.type=zstd compresses.
    #[arg(short = 'O', long = "sink-option", value_name = "KEY=VALUE")]
    sink_option: Vec<String>,
    #[command(flatten)]
    print: PrintArgs,
}

/// Help text after `ferrokafka stream --help`.
pub(crate) const STREAM_HELP: &str = concat!(
    crate::printer::format_fields_help!(),
    "

Ctrl-C (or SIGTERM) stops the stream after the running batch; a second Ctrl-C stops it at once, the
running batch then runs again when the stream restarts with the same checkpoint.

Examples:
  ferrokafka -b localhost:9092 stream events
  ferrokafka -b localhost:9092 stream events --to topic:events-copy --checkpoint ./ckpt/copy
  ferrokafka -b localhost:9092 stream events --to dir:./out --checkpoint ./ckpt/files --trigger 30s
  ferrokafka -b localhost:9092 stream -o subscribePattern='events-.*' -o startingOffsets=earliest \\
      -o maxOffsetsPerTrigger=100000 --trigger availableNow --to topic:archive --checkpoint ./ckpt/a --progress json"
);

/// Where a stream's rows go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Destination {
    /// Printed on stdout.
    Console,
    /// Written to this topic.
    Topic(String),
    /// One JSON-lines file per batch in this directory.
    Dir(PathBuf),
}

fn parse_destination(text: &str) -> Result<Destination, String> {
    if text == "console" {
        return Ok(Destination::Console);
    }
    match text.split_once(':') {
        Some(("topic", name)) if !name.trim().is_empty() => {
            Ok(Destination::Topic(name.trim().to_owned()))
        }
        Some(("dir", path)) if !path.is_empty() => Ok(Destination::Dir(PathBuf::from(path))),
        _ => Err(format!(
            "{text:?} is not a sink: give console, topic:NAME or dir:PATH"
        )),
    }
}

/// Spark's trigger names, and an interval alone for processingTime.
pub(crate) fn parse_trigger(text: &str) -> Result<Trigger, String> {
    let trimmed = text.trim();
    let lower = trimmed.to_ascii_lowercase();
    match lower.as_str() {
        "availablenow" | "available-now" => return Ok(Trigger::AvailableNow),
        "once" => return Ok(Trigger::Once),
        "continuous" => return Err(
            "continuous processing is not supported: use processingTime=INTERVAL (micro-batches)"
                .to_owned(),
        ),
        _ => {}
    }
    let interval = match lower.split_once('=') {
        Some(("processingtime", interval)) => interval.trim(),
        Some((other, _)) => {
            return Err(format!(
                "unknown trigger {other:?}: give processingTime=INTERVAL, availableNow or once"
            ))
        }
        None => lower.as_str(),
    };
    if interval.chars().all(|c| c.is_ascii_digit()) && !interval.is_empty() {
        // A bare number is milliseconds, as Spark's Trigger.ProcessingTime(long).
        let ms: u64 = interval
            .parse()
            .map_err(|_| format!("{interval:?} is too large an interval"))?;
        return Ok(Trigger::ProcessingTime(Duration::from_millis(ms)));
    }
    humantime::parse_duration(interval)
        .map(Trigger::ProcessingTime)
        .map_err(|e| {
            format!(
                "{text:?} is not a trigger ({e}): give processingTime=10s, an interval such as 1m \
                 or \"10 seconds\", availableNow or once"
            )
        })
}

/// How a stream reports its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProgressForm {
    /// A line per batch on stderr.
    Human,
    /// Spark's progress JSON, one object per line.
    Json,
    /// Nothing.
    None,
}

/// Options `stream` takes for its sink rather than its source.
const SINK_KEYS: [&str; 2] = ["topic", "checkpointLocation"];

/// Runs `stream`.
pub(crate) async fn run(args: StreamArgs, options: &Options) -> Result<(), CliError> {
    if !options.contains("kafka.bootstrap.servers") {
        return Err(CliError::config(
            "no cluster given: pass -b host:port (or -o kafka.bootstrap.servers=host:port, or bootstrap.servers in --config)",
        ));
    }
    let mut source_side = options.clone();
    let topic_option = source_side.take(SINK_KEYS[0]);
    let checkpoint_option = source_side.take(SINK_KEYS[1]).map(PathBuf::from);
    let destination = match (&args.to, topic_option) {
        (Destination::Console, Some(topic)) => Destination::Topic(topic),
        (Destination::Topic(named), Some(topic)) if *named != topic => {
            return Err(CliError::usage(format!(
                "--to topic:{named} and -o topic={topic} name different topics: give one"
            )))
        }
        (to, _) => to.clone(),
    };
    let checkpoint =
        match (args.checkpoint.clone(), checkpoint_option) {
            (Some(a), Some(b)) if a != b => {
                return Err(CliError::usage(format!(
                    "--checkpoint {} and -o checkpointLocation={} differ: give one",
                    a.display(),
                    b.display()
                )))
            }
            (Some(dir), _) | (None, Some(dir)) => Checkpoint::Given(dir),
            (None, None) if destination == Destination::Console => Checkpoint::temporary()?,
            (None, None) => return Err(CliError::usage(
                "a stream to a topic or a directory needs --checkpoint DIR, so that it resumes \
                 where it stopped and loses nothing (the console gets a temporary one)",
            )),
        };
    let settings = source_options(args.topics.as_deref(), &source_side)?.streaming()?;
    let headers = settings.source.include_headers;
    let progress = args.progress.unwrap_or_else(|| {
        if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            ProgressForm::Human
        } else {
            ProgressForm::None
        }
    });
    let stdout_closed = Arc::new(Notify::new());
    let handler = Handler::new(&args, &destination, options, headers, stdout_closed.clone())?;

    let client = connect_with(settings.source.client_properties.client_config()?).await?;
    let mut builder = StreamingQuery::builder(settings, checkpoint.path())
        .client(client)
        .trigger(args.trigger);
    if let Some(name) = &args.name {
        builder = builder.name(name.clone());
    }
    builder = match progress {
        ProgressForm::Human => builder.listener(BatchLines::new(std::io::stderr())),
        ProgressForm::Json if destination == Destination::Console => {
            builder.listener(JsonLinesListener::new(std::io::stderr()))
        }
        ProgressForm::Json => builder.listener(JsonLinesListener::new(std::io::stdout())),
        ProgressForm::None => builder,
    };
    let query = builder
        .start(move |batch: MicroBatch| handler.clone().handle(batch))
        .await?;
    if progress == ProgressForm::Human {
        eprintln!(
            "streaming to {} (checkpoint {}, {}); Ctrl-C stops after the running batch",
            destination.describe(),
            checkpoint.path().display(),
            args.trigger
        );
    }
    let result = supervise(query, &stdout_closed).await;
    checkpoint.remove_if_temporary();
    let outcome = result?;
    let ended = match outcome.termination {
        Termination::Aborted => {
            return Err(CliError::interrupted(format!(
                "stopped at once after committing {} batches ({} rows); the running batch was not \
                 committed and runs again when the stream restarts",
                outcome.batches_committed, outcome.rows
            )))
        }
        Termination::Finished(StopReason::AllAvailableDataProcessed) => {
            "all the data available at the start was processed"
        }
        Termination::Finished(_) => "the trigger ran its batch",
        _ => "stopped",
    };
    if progress != ProgressForm::None {
        eprintln!(
            "{ended}: {} batches committed, {} rows; the next batch is {}",
            outcome.batches_committed, outcome.rows, outcome.next_batch_id
        );
    }
    Ok(())
}

/// Waits for the query to end, stopping it on Ctrl-C or SIGTERM (after
/// the running batch), at once on a second Ctrl-C, and when stdout closed.
async fn supervise(
    query: StreamingQuery,
    stdout_closed: &Notify,
) -> Result<ferrokafka_streaming::query::QueryOutcome, CliError> {
    let mut interrupts = signal(SignalKind::interrupt())?;
    let mut terminations = signal(SignalKind::terminate())?;
    let control = query.control();
    let termination = query.await_termination();
    tokio::pin!(termination);
    let mut asked = 0u32;
    loop {
        tokio::select! {
            outcome = &mut termination => return Ok(outcome?),
            _ = interrupts.recv() => {
                asked += 1;
                if asked == 1 {
                    eprintln!(
                        "stopping after the running batch (Ctrl-C again to stop at once; that \
                         batch then runs again on restart)"
                    );
                    control.stop();
                } else {
                    control.abort();
                }
            }
            _ = terminations.recv() => control.stop(),
            () = stdout_closed.notified() => control.stop(),
        }
    }
}

/// The checkpoint directory: given, or a temporary one for the console.
enum Checkpoint {
    Given(PathBuf),
    Temporary(PathBuf),
}

impl Checkpoint {
    fn temporary() -> Result<Checkpoint, CliError> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir =
            std::env::temp_dir().join(format!("ferrokafka-stream-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| {
            CliError::failed(format!(
                "cannot create a temporary checkpoint in {}: {e}; give --checkpoint DIR",
                dir.display()
            ))
        })?;
        Ok(Checkpoint::Temporary(dir))
    }

    fn path(&self) -> &Path {
        match self {
            Checkpoint::Given(dir) | Checkpoint::Temporary(dir) => dir,
        }
    }

    fn remove_if_temporary(&self) {
        if let Checkpoint::Temporary(dir) = self {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl Destination {
    fn describe(&self) -> String {
        match self {
            Destination::Console => "the console".to_owned(),
            Destination::Topic(topic) => format!("topic {topic}"),
            Destination::Dir(dir) => format!("JSON-lines files in {}", dir.display()),
        }
    }
}

/// What each micro-batch's rows go through.
#[derive(Clone)]
enum Handler {
    Console {
        print: Arc<PrintArgs>,
        headers: bool,
        stdout_closed: Arc<Notify>,
    },
    Topic {
        sink: KafkaSink,
        keep_partitions: bool,
    },
    Dir {
        dir: PathBuf,
        encoding: Encoding,
        headers: bool,
    },
}

impl Handler {
    fn new(
        args: &StreamArgs,
        destination: &Destination,
        options: &Options,
        headers: bool,
        stdout_closed: Arc<Notify>,
    ) -> Result<Handler, CliError> {
        Ok(match destination {
            Destination::Console => {
                // Fail on a bad format string now, not at the first batch.
                args.print.printer(headers)?;
                Handler::Console {
                    print: Arc::new(args.print.clone()),
                    headers,
                    stdout_closed,
                }
            }
            Destination::Topic(topic) => {
                let sink_side = Options::load(&Sources {
                    pairs: args.sink_option.clone(),
                    ..Sources::default()
                })?;
                for (key, _) in sink_side.pairs() {
                    if !is_client_key(key) {
                        return Err(CliError::usage(format!(
                            "-O {key}=…: sink options are kafka.… producer settings (the topic \
                             is --to topic:NAME)"
                        )));
                    }
                }
                let mut sink =
                    SinkOptions::from_pairs(options.kafka_pairs().chain(sink_side.kafka_pairs()));
                sink.set("topic", topic.as_str());
                Handler::Topic {
                    sink: KafkaSink::with_cache(sink.settings()?, crate::client::sink_cache()),
                    keep_partitions: args.keep_partitions,
                }
            }
            Destination::Dir(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    CliError::failed(format!("cannot create {}: {e}", dir.display()))
                })?;
                Handler::Dir {
                    dir: dir.clone(),
                    encoding: args.print.encoding,
                    headers,
                }
            }
        })
    }

    async fn handle(self, batch: MicroBatch) -> Result<(), CliError> {
        let batch_id = batch.batch_id();
        match self {
            Handler::Console {
                print,
                headers,
                stdout_closed,
            } => {
                let mut printer = print.printer(headers)?;
                let mut out = Vec::with_capacity(OUT_BUFFER * 2);
                if matches!(printer, Printer::Table(_)) {
                    // Spark's console sink heads each batch so.
                    let rule = "-".repeat(43);
                    out.extend_from_slice(
                        format!("{rule}\nBatch: {batch_id}\n{rule}\n").as_bytes(),
                    );
                }
                let mut rows = batch.into_rows();
                while let Some(row) = rows.try_next().await? {
                    printer.print(&mut out, &row)?;
                    if out.len() >= OUT_BUFFER && !write_out(&mut out)? {
                        stdout_closed.notify_one();
                        return Ok(());
                    }
                }
                printer.finish(&mut out);
                if !write_out(&mut out)? {
                    stdout_closed.notify_one();
                }
                Ok(())
            }
            Handler::Topic {
                sink,
                keep_partitions,
            } => {
                let rows = batch
                    .into_rows()
                    .map_ok(move |row| sink_row(row, keep_partitions));
                sink.write_micro_batch(batch_id, rows).await?;
                Ok(())
            }
            Handler::Dir {
                dir,
                encoding,
                headers,
            } => write_batch_file(&dir, batch_id, batch, encoding, headers).await,
        }
    }
}

/// A read row as a row to write (`From<Row>`: key, value, headers),
/// without its partition unless asked to keep it; the sink's `topic`
/// option replaces its topic.
fn sink_row(row: Row, keep_partition: bool) -> SinkRow {
    let mut out = SinkRow::from(row);
    if !keep_partition {
        out.partition = None;
    }
    out
}

/// The file of batch `batch_id` in a directory sink.
pub(crate) fn batch_file_name(batch_id: u64) -> String {
    format!("batch-{batch_id:010}.jsonl")
}

/// Writes a batch's rows as JSON lines to a hidden temporary file, syncs
/// it, and renames it to the batch's name: a reader never sees half a
/// batch, and a batch that runs again replaces its file whole.
async fn write_batch_file(
    dir: &Path,
    batch_id: u64,
    batch: MicroBatch,
    encoding: Encoding,
    headers: bool,
) -> Result<(), CliError> {
    let name = batch_file_name(batch_id);
    let temporary = dir.join(format!(".{name}.tmp"));
    let cannot = |what: &str, path: &Path, e: std::io::Error| {
        CliError::failed(format!("cannot {what} {}: {e}", path.display()))
    };
    // tokio's file calls run on its blocking threads: a slow disk does
    // not stall the runtime's workers (the query's fetches among them).
    let mut file = tokio::fs::File::create(&temporary)
        .await
        .map_err(|e| cannot("create", &temporary, e))?;
    let mut out = Vec::with_capacity(OUT_BUFFER * 2);
    let mut rows = batch.into_rows();
    while let Some(row) = rows.next().await {
        render::render_json(&mut out, &row?, encoding, headers)
            .map_err(|e| CliError::failed(e.0))?;
        if out.len() >= OUT_BUFFER {
            file.write_all(&out)
                .await
                .map_err(|e| cannot("write", &temporary, e))?;
            out.clear();
        }
    }
    file.write_all(&out)
        .await
        .map_err(|e| cannot("write", &temporary, e))?;
    // A write's error shows on the flush; then the data goes to disk.
    file.flush()
        .await
        .map_err(|e| cannot("write", &temporary, e))?;
    file.sync_all()
        .await
        .map_err(|e| cannot("write", &temporary, e))?;
    drop(file);
    let target = dir.join(&name);
    tokio::fs::rename(&temporary, &target)
        .await
        .map_err(|e| cannot("rename", &temporary, e))?;
    // The rename is durable once the directory is synced.
    let synced_dir = dir.to_path_buf();
    tokio::task::spawn_blocking(move || std::fs::File::open(&synced_dir)?.sync_all())
        .await
        .unwrap_or_else(|e| Err(std::io::Error::other(e)))
        .map_err(|e| cannot("sync", dir, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triggers_parse_as_spark_names_them() {
        let every = |ms| Ok(Trigger::ProcessingTime(Duration::from_millis(ms)));
        assert_eq!(parse_trigger("processingTime=10s"), every(10_000));
        assert_eq!(parse_trigger("ProcessingTime=10 seconds"), every(10_000));
        assert_eq!(parse_trigger("1m"), every(60_000));
        assert_eq!(parse_trigger("250"), every(250));
        assert_eq!(parse_trigger("processingTime=0"), every(0));
        assert_eq!(parse_trigger("availableNow"), Ok(Trigger::AvailableNow));
        assert_eq!(parse_trigger("once"), Ok(Trigger::Once));
        let err = parse_trigger("continuous").unwrap_err();
        assert!(err.contains("not supported"), "{err}");
        let err = parse_trigger("every=3s").unwrap_err();
        assert!(err.contains("unknown trigger"), "{err}");
        let err = parse_trigger("soon").unwrap_err();
        assert!(err.contains("availableNow"), "{err}");
    }

    #[test]
    fn destinations_parse() {
        assert_eq!(parse_destination("console"), Ok(Destination::Console));
        assert_eq!(
            parse_destination("topic:out"),
            Ok(Destination::Topic("out".to_owned()))
        );
        assert_eq!(
            parse_destination("dir:/tmp/x"),
            Ok(Destination::Dir(PathBuf::from("/tmp/x")))
        );
        for bad in ["topic:", "dir:", "kafka", "file:/x"] {
            let err = parse_destination(bad).unwrap_err();
            assert!(err.contains("topic:NAME"), "{bad}: {err}");
        }
        assert_eq!(batch_file_name(3), "batch-0000000003.jsonl");
    }
}
