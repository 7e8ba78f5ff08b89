//! Printing results: aligned tables for people, JSON lines for programs.

use std::io::{IsTerminal, Write};

/// How a command prints what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Output {
    /// Aligned columns (the default on a terminal).
    Table,
    /// One JSON object per line (the default otherwise).
    Json,
}

impl Output {
    /// `chosen`, or the default for where stdout goes.
    pub(crate) fn or_default(chosen: Option<Output>) -> Output {
        chosen.unwrap_or(if std::io::stdout().is_terminal() {
            Output::Table
        } else {
            Output::Json
        })
    }
}

/// Rows with named columns, printed as a table or as JSON lines.
#[derive(Debug)]
pub(crate) struct Rows {
    columns: Vec<&'static str>,
    rows: Vec<Vec<serde_json::Value>>,
}

impl Rows {
    /// Rows with these columns.
    pub(crate) fn new(columns: &[&'static str]) -> Rows {
        Rows {
            columns: columns.to_vec(),
            rows: Vec::new(),
        }
    }

    /// Adds a row (one value per column).
    pub(crate) fn push(&mut self, row: Vec<serde_json::Value>) {
        debug_assert_eq!(row.len(), self.columns.len());
        self.rows.push(row);
    }

    /// Prints the rows to stdout in `output`.
    pub(crate) fn print(&self, output: Output) -> std::io::Result<()> {
        let mut out = std::io::stdout().lock();
        match output {
            Output::Json => {
                for row in &self.rows {
                    let object: serde_json::Map<String, serde_json::Value> = self
                        .columns
                        .iter()
                        .map(|c| (*c).to_owned())
                        .zip(row.iter().cloned())
                        .collect();
                    writeln!(out, "{}", serde_json::Value::Object(object))?;
                }
            }
            Output::Table => {
                let cells: Vec<Vec<String>> = self
                    .rows
                    .iter()
                    .map(|row| row.iter().map(cell).collect())
                    .collect();
                let widths: Vec<usize> = self
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| {
                        cells
                            .iter()
                            .map(|r| r[i].chars().count())
                            .chain([c.len()])
                            .max()
                            .unwrap_or(0)
                    })
                    .collect();
                let line = |values: Vec<&str>| -> String {
                    values
                        .iter()
                        .zip(&widths)
                        .map(|(v, w)| format!("{v:<w$}"))
                        .collect::<Vec<_>>()
                        .join("  ")
                        .trim_end()
                        .to_owned()
                };
                writeln!(out, "{}", line(self.columns.clone()))?;
                for row in &cells {
                    writeln!(out, "{}", line(row.iter().map(String::as_str).collect()))?;
                }
            }
        }
        out.flush()
    }
}

/// A JSON value as a table cell: strings without quotes, lists joined.
fn cell(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".to_owned(),
        serde_json::Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cells_read_as_people_expect() {
        assert_eq!(cell(&json!("t")), "t");
        assert_eq!(cell(&json!([1, 2, 3])), "1,2,3");
        assert_eq!(cell(&json!(null)), "-");
        assert_eq!(cell(&json!(42)), "42");
    }
}
