//! Rows printed to stdout as `read` and `stream --to console` print them:
//! JSON lines, a table, raw values or a kcat-style format string.

use std::io::Write as _;

use clap::{Args, ValueEnum};
use ferrokafka_streaming::Row;

use crate::cmd::write::Encoding;
use crate::exit::CliError;
use crate::render::{self, Piece};

/// How records are printed (flattened into `read` and `stream`).
#[derive(Debug, Clone, Args)]
pub(crate) struct PrintArgs {
    /// json (one object per line; the default when stdout is not a
    /// terminal), table (the default on a terminal) or raw (values only).
    #[arg(long, value_enum)]
    pub output: Option<ReadOutput>,
    /// Print each record with a kcat-style format string, e.g.
    /// '%t %p %o %k %s\n' (see the fields below).
    #[arg(short = 'f', long, value_name = "FORMAT", conflicts_with = "output")]
    pub format: Option<String>,
    /// How keys, values and header values appear in JSON: utf8 (text; a
    /// record that is not text fails) or base64 (any bytes).
    #[arg(long, value_enum, default_value = "utf8")]
    pub encoding: Encoding,
    /// What --output raw prints after each value (\n, \t, \\ understood).
    #[arg(short = 'D', long, default_value = "\\n", value_name = "DELIMITER")]
    pub delimiter: String,
    /// What raw and --format output print for a null key or value
    /// (default nothing; kcat -Z prints NULL).
    #[arg(long, default_value = "", value_name = "TEXT")]
    pub null: String,
}

/// Help on the format fields, after `--help` (a literal, for `concat!`).
macro_rules! format_fields_help {
    () => {
        "\
Format fields: %s value, %k key, %t topic, %p partition, %o offset, %T timestamp (ms),
%h headers (k=v,…), %K key length, %S value length (-1 for null), %% a percent sign;
\\n \\r \\t \\\\ as in C."
    };
}
pub(crate) use format_fields_help;

impl PrintArgs {
    /// The printer these arguments ask for; `headers` says whether rows
    /// carry headers (`includeHeaders`).
    pub(crate) fn printer(&self, headers: bool) -> Result<Printer, CliError> {
        let printer = match (&self.format, self.output.unwrap_or_else(default_output)) {
            (Some(format), _) => Printer::Format {
                pieces: render::parse_format(format).map_err(|e| CliError::usage(e.0))?,
                null: self.null.clone().into_bytes(),
            },
            (None, ReadOutput::Json) => Printer::Json {
                encoding: self.encoding,
                headers,
            },
            (None, ReadOutput::Raw) => {
                let delimiter = render::parse_format(&self.delimiter.replace('%', "%%"))
                    .map_err(|e| CliError::usage(e.0))?;
                let mut pieces = vec![Piece::Value];
                pieces.extend(delimiter);
                Printer::Format {
                    pieces,
                    null: self.null.clone().into_bytes(),
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
        Ok(printer)
    }
}

fn default_output() -> ReadOutput {
    match crate::output::Output::or_default(None) {
        crate::output::Output::Table => ReadOutput::Table,
        crate::output::Output::Json => ReadOutput::Json,
    }
}

/// Bytes rendered before they are written to stdout.
pub(crate) const OUT_BUFFER: usize = 256 * 1024;

/// Writes `out` to stdout; `false` when stdout was closed (`read | head`),
/// which ends the work quietly.
pub(crate) fn write_out(out: &mut Vec<u8>) -> Result<bool, CliError> {
    let mut stdout = std::io::stdout().lock();
    let written = stdout.write_all(out).and_then(|()| stdout.flush());
    out.clear();
    match written {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
        Err(e) => Err(CliError::failed(format!("cannot write to stdout: {e}"))),
    }
}

/// How rows are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReadOutput {
    /// Aligned columns, text cut to fit.
    Table,
    /// One JSON object per line (what `write --format json` takes back).
    Json,
    /// The values alone, each followed by the delimiter.
    Raw,
}

/// How rows become bytes.
pub(crate) enum Printer {
    Json { encoding: Encoding, headers: bool },
    Format { pieces: Vec<Piece>, null: Vec<u8> },
    Table(Table),
}

/// A table whose column widths come from its first rows, so a long read
/// prints as it goes.
pub(crate) struct Table {
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
    /// Renders `row` into `out`.
    pub(crate) fn print(&mut self, out: &mut Vec<u8>, row: &Row) -> Result<(), CliError> {
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

    /// Renders what is held back (a table's last rows).
    pub(crate) fn finish(&mut self, out: &mut Vec<u8>) {
        if let Printer::Table(table) = self {
            table.finish(out);
        }
    }
}
