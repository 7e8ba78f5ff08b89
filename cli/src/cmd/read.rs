//! `ferrokafka read`: a batch read with Spark's source options
//! (`spark.read.format("kafka")`) printed as JSON lines, a table, raw
//! values or a kcat-style format string.
//!
//! The read starts where `startingOffsets` (…Timestamp, …ByTimestamp)
//! says — earliest by default — and ends at `endingOffsets` — the latest
//! offsets when it starts by default — so it always ends. Unlike Spark,
//! headers are read unless `-o includeHeaders=false`: a command-line
//! reader wants to see them, and `read | write --format json` keeps them.

use std::io::Write as _;
use std::time::Instant;

use clap::{Args, ValueEnum};
use ferrokafka_streaming::batch::BatchSource;
use ferrokafka_streaming::options::SourceOptions;
use ferrokafka_streaming::Row;
use futures::StreamExt;

use crate::client::connect_with;
use crate::cmd::write::Encoding;
use crate::exit::CliError;
use crate::options::Options;
use crate::progress::Counter;
use crate::render::{self, Piece};

/// `ferrokafka read [TOPICS]`.
#[derive(Debug, Args)]
pub(crate) struct ReadArgs {
    /// Topics to read, comma-separated (Spark's subscribe); or give
    /// -o subscribe=…, -o subscribePattern=… or -o assign=… instead.
    topics: Option<String>,
    /// json (one object per line; the default when stdout is not a
    /// terminal), table (the default on a terminal) or raw (values only).
    #[arg(long, value_enum)]
    output: Option<ReadOutput>,
    /// Print each record with a kcat-style format string, e.g.
    /// '%t %p %o %k %s\n' (see the fields below).
    #[arg(short = 'f', long, value_name = "FORMAT", conflicts_with = "output")]
    format: Option<String>,
    /// How keys, values and header values appear in JSON: utf8 (text; a
    /// record that is not text fails the read) or base64 (any bytes).
    #[arg(long, value_enum, default_value = "utf8")]
    encoding: Encoding,
    /// What --output raw prints after each value (\n, \t, \\ understood).
    #[arg(short = 'D', long, default_value = "\\n", value_name = "DELIMITER")]
    delimiter: String,
    /// What raw and --format output print for a null key or value
    /// (default nothing; kcat -Z prints NULL).
    #[arg(long, default_value = "", value_name = "TEXT")]
    null: String,
    /// Stop after this many records.
    #[arg(short = 'c', long, value_name = "N")]
    count: Option<u64>,
}

/// How `read` prints rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReadOutput {
    /// Aligned columns, text cut to fit.
    Table,
    /// One JSON object per line (what `write --format json` takes back).
    Json,
    /// The values alone, each followed by the delimiter.
    Raw,
}

/// Help text after `ferrokafka read --help`.
pub(crate) const READ_HELP: &str = "\
Format fields: %s value, %k key, %t topic, %p partition, %o offset, %T timestamp (ms),
%h headers (k=v,…), %K key length, %S value length (-1 for null), %% a percent sign;
\\n \\r \\t \\\\ as in C.

Examples:
  ferrokafka -b localhost:9092 read events
  ferrokafka -b localhost:9092 read events -f '%t %p %o %k %s\\n'
  ferrokafka -b localhost:9092 read events -o startingOffsets=latest -o endingOffsets=latest
  ferrokafka -b localhost:9092 read -o subscribePattern='events-.*' -o minPartitions=12 --output raw
  ferrokafka -b localhost:9092 read events -o startingTimestamp=1700000000000 --encoding base64 > dump.jsonl";

/// How rows become bytes.
enum Printer {
    Json { encoding: Encoding, headers: bool },
    Format { pieces: Vec<Piece>, null: Vec<u8> },
    Table(Table),
}

/// A table whose column widths come from its first rows, so a long read
/// prints as it goes.
struct Table {
    pending: Vec<[String; 6]>,
    widths: Option<Vec<usize>>,
    headers: bool,
}

/// Rows looked at before the table's widths are fixed.
const TABLE_SAMPLE: usize = 100;
/// The widest a key or value cell gets.
const TABLE_CELL_WIDTH: usize = 60;

impl Table {
    fn push(&mut self, out: &mut Vec<u8>, row: &Row) {
        self.pending
            .push(render::table_cells(row, TABLE_CELL_WIDTH));
        if self.widths.is_none() && self.pending.len() >= TABLE_SAMPLE {
            self.fix_widths(out);
        }
        if self.widths.is_some() {
            self.drain(out);
        }
    }

    fn fix_widths(&mut self, out: &mut Vec<u8>) {
        let columns = self.columns();
        let widths: Vec<usize> = (0..columns)
            .map(|i| {
                self.pending
                    .iter()
                    .map(|cells| cells[i].chars().count())
                    .chain([render::TABLE_COLUMNS[i].len()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let titles: Vec<String> = render::TABLE_COLUMNS[..columns]
            .iter()
            .map(|c| (*c).to_owned())
            .collect();
        render::table_line(out, &titles, &widths);
        self.widths = Some(widths);
    }

    fn drain(&mut self, out: &mut Vec<u8>) {
        let columns = self.columns();
        if let Some(widths) = &self.widths {
            for cells in self.pending.drain(..) {
                render::table_line(out, &cells[..columns], widths);
            }
        }
    }

    fn columns(&self) -> usize {
        render::TABLE_COLUMNS.len() - usize::from(!self.headers)
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if self.widths.is_none() {
            self.fix_widths(out);
        }
        self.drain(out);
    }
}

impl Printer {
    fn print(&mut self, out: &mut Vec<u8>, row: &Row) -> Result<(), CliError> {
        match self {
            Printer::Json { encoding, headers } => {
                render::render_json(out, row, *encoding, *headers)
                    .map_err(|e| CliError::failed(e.0))?;
            }
            Printer::Format { pieces, null } => render::render_format(out, row, pieces, null),
            Printer::Table(table) => table.push(out, row),
        }
        Ok(())
    }

    fn finish(&mut self, out: &mut Vec<u8>) {
        if let Printer::Table(table) = self {
            table.finish(out);
        }
    }
}

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
    let mut printer = match (&args.format, args.output.unwrap_or_else(default_output)) {
        (Some(format), _) => Printer::Format {
            pieces: render::parse_format(format).map_err(|e| CliError::usage(e.0))?,
            null: args.null.clone().into_bytes(),
        },
        (None, ReadOutput::Json) => Printer::Json {
            encoding: args.encoding,
            headers,
        },
        (None, ReadOutput::Raw) => {
            let delimiter = render::parse_format(&args.delimiter.replace('%', "%%"))
                .map_err(|e| CliError::usage(e.0))?;
            let mut pieces = vec![Piece::Value];
            pieces.extend(delimiter);
            Printer::Format {
                pieces,
                null: args.null.clone().into_bytes(),
            }
        }
        (None, ReadOutput::Table) => Printer::Table(Table {
            pending: Vec::new(),
            widths: None,
            headers,
        }),
    };
    if let Printer::Format { pieces, .. } = &printer {
        if render::shows_headers(pieces) && !headers {
            tracing::warn!("%h prints nothing: the options say includeHeaders=false");
        }
    }
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

/// Bytes rendered before they are written to stdout.
const OUT_BUFFER: usize = 256 * 1024;

/// Writes `out` to stdout; `false` when stdout was closed (`read | head`),
/// which ends the read quietly.
fn write_out(out: &mut Vec<u8>) -> Result<bool, CliError> {
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_all(out).and_then(|()| stdout.flush());
    out.clear();
    match written {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(CliError::failed(format!("cannot write to stdout: {e}"))),
    }
}

fn default_output() -> ReadOutput {
    match crate::output::Output::or_default(None) {
        crate::output::Output::Table => ReadOutput::Table,
        crate::output::Output::Json => ReadOutput::Json,
    }
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
