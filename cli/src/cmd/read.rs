//! `ferrokafka read`: a batch read with Spark's source options
//! (`spark.read.format("kafka")`) printed as JSON lines, a table, raw
//! values or a kcat-style format string.
//!
//! The read starts where `startingOffsets` (…Timestamp, …ByTimestamp)
//! says — earliest by default — and ends at `endingOffsets` — the latest
//! offsets when it starts by default — so it always ends. Unlike Spark,
//! headers are read unless `-o includeHeaders=false`: a command-line
//! reader wants to see them, and `read | write --format json` keeps them.

use std::time::Instant;

use clap::Args;
use ferrokafka_streaming::batch::BatchSource;
use ferrokafka_streaming::options::SourceOptions;
use futures::StreamExt;

use crate::client::connect_with;
use crate::exit::CliError;
use crate::options::Options;
use crate::printer::{write_out, PrintArgs, OUT_BUFFER};
use crate::progress::Counter;

/// `ferrokafka read [TOPICS]`.
#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    /// Topics to read, comma-separated (Spark's subscribe); or give
    /// -o subscribe=…, -o subscribePattern=… or -o assign=… instead.
    topics: Option<String>,
    #[command(flatten)]
    print: PrintArgs,
    /// Stop after this many records.
    #[arg(short = 'c', long, value_name = "N")]
    count: Option<u64>,
}

/// Help text after `ferrokafka read --help`.
pub(crate) const READ_HELP: &str = concat!(
    crate::printer::format_fields_help!(),
    "

Examples:
  ferrokafka -b localhost:9092 read events
  ferrokafka -b localhost:9092 read events -f '%t %p %o %k %s\\n'
  ferrokafka -b localhost:9092 read events -o startingOffsets=latest -o endingOffsets=latest
  ferrokafka -b localhost:9092 read -o subscribePattern='events-.*' -o minPartitions=12 --output raw
  ferrokafka -b localhost:9092 read events -o startingTimestamp=1700000000000 --encoding base64 > dump.jsonl"
);

/// The source options of `read`: the topic argument as `subscribe`, and
/// headers included unless the options say otherwise.
pub(crate) fn source_options(
    topics: Option<&str>,
    options: &Options,
) -> Result<SourceOptions, CliError> {
    let mut source = SourceOptions::from_pairs(options.pairs());
    if let Some(topics) = topics {
        if let Some(given) = ["assign", "subscribe", "subscribePattern"]
            .into_iter()
            .find(|k| options.contains(k))
        {
            return Err(CliError::usage(format!(
                "both a topic argument ({topics}) and -o {given}=… name what to read: give one"
            )));
        }
        source.set("subscribe", topics);
    }
    if !options.contains("includeHeaders") {
        source.set("includeHeaders", "true");
    }
    Ok(source)
}

/// Runs `read`.
pub(crate) async fn run(args: ReadArgs, options: &Options) -> Result<(), CliError> {
    if !options.contains("kafka.bootstrap.servers") {
        return Err(CliError::config(
            "no cluster given: pass -b host:port (or -o kafka.bootstrap.servers=host:port, or bootstrap.servers in --config)",
        ));
    }
    let settings = source_options(args.topics.as_deref(), options)?.batch()?;
    let headers = settings.source.include_headers;
    let mut printer = args.print.printer(headers)?;
    let config = settings.source.client_properties.client_config()?;
    let source = BatchSource::new(settings, connect_with(config).await?);
    let plan = source.plan().await?;
    let planned: u64 = plan
        .tasks
        .iter()
        .map(|t| u64::try_from(t.until - t.from).unwrap_or(0))
        .sum();
    let total = args.count.map_or(planned, |c| c.min(planned));
    let counter = Counter::with_total("read", total);
    let started = Instant::now();
    let mut rows = source.read(&plan);
    let mut out = Vec::with_capacity(OUT_BUFFER * 2);
    let mut read = 0u64;
    let mut counted = 0u64;
    let mut stdout_closed = false;
    let mut outcome = Ok(());
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    while args.count.is_none_or(|c| read < c) {
        let row = tokio::select! {
            row = rows.next() => row,
            _ = &mut interrupted => {
                outcome = Err(CliError::interrupted(format!(
                    "interrupted after {read} records; those were printed"
                )));
                break;
            }
        };
        let row = match row {
            None => break,
            Some(Ok(row)) => row,
            Some(Err(e)) => {
                outcome = Err(e.into());
                break;
            }
        };
        if let Err(e) = printer.print(&mut out, &row) {
            outcome = Err(e);
            break;
        }
        read += 1;
        if out.len() >= OUT_BUFFER {
            counter.add(read - counted);
            counted = read;
            if !write_out(&mut out)? {
                stdout_closed = true;
                break;
            }
        }
    }
    if !stdout_closed {
        printer.finish(&mut out);
        write_out(&mut out)?;
    }
    counter.add(read - counted);
    counter.finish();
    let metrics = rows.metrics();
    drop(rows);
    source.client().close().await;
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    tracing::info!(
        records = read,
        seconds = elapsed,
        tasks = plan.tasks.len(),
        "read done"
    );
    if metrics.offsets_out_of_range > 0 {
        eprintln!(
            "ferrokafka: {} offsets were gone and skipped ({} data losses; failOnDataLoss=false)",
            metrics.offsets_out_of_range, metrics.data_loss
        );
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::Sources;

    fn options(pairs: &[&str]) -> Options {
        Options::load(&Sources {
            pairs: pairs.iter().map(|p| (*p).to_owned()).collect(),
            ..Sources::default()
        })
        .unwrap()
    }

    #[test]
    fn the_topic_argument_subscribes_and_headers_are_read() {
        let o = options(&["kafka.bootstrap.servers=h:1"]);
        let s = source_options(Some("a,b"), &o).unwrap();
        assert_eq!(s.get("subscribe"), Some("a,b"));
        assert_eq!(s.get("includeHeaders"), Some("true"));
        let settings = s.batch().unwrap();
        assert!(settings.source.include_headers);

        let o = options(&["kafka.bootstrap.servers=h:1", "includeheaders=false"]);
        let s = source_options(Some("a"), &o).unwrap();
        assert!(!s.batch().unwrap().source.include_headers);

        let o = options(&["kafka.bootstrap.servers=h:1", "subscribePattern=a.*"]);
        let err = source_options(Some("a"), &o).unwrap_err();
        assert_eq!(err.code, crate::exit::code::USAGE);
        assert!(err.message.contains("subscribePattern"), "{err}");
        // Without a topic, Spark's own message says what is missing.
        let s = source_options(None, &options(&["kafka.bootstrap.servers=h:1"])).unwrap();
        let err: CliError = s.batch().unwrap_err().into();
        assert_eq!(err.code, crate::exit::code::CONFIG);
        assert!(err.message.contains("subscribe"), "{err}");
    }
}
