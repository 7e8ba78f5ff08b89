//! Progress on long work: an indicatif bar with counts and rates on a
//! terminal, nothing otherwise (or JSON lines where a command offers them).

use std::io::IsTerminal;
use std::time::Duration;

use ferrokafka_streaming::planner::offsets_behind;
use ferrokafka_streaming::progress::{IdleEvent, ProgressListener, QueryProgress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A counter of records (and bytes) shown while it runs.
pub(crate) struct Counter {
    bar: Option<ProgressBar>,
}

impl Counter {
    /// A counter drawn on stderr when stderr is a terminal; `what` names
    /// the work ("written", "read").
    pub(crate) fn new(what: &str) -> Counter {
        if !std::io::stderr().is_terminal() {
            return Counter { bar: None };
        }
        let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{spinner}} {{human_pos}} records {what} ({{per_sec}}) {{msg}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Counter { bar: Some(bar) }
    }

    /// A bar towards `total` records drawn on stderr when stderr is a
    /// terminal, with the rate and the time left.
    pub(crate) fn with_total(what: &str, total: u64) -> Counter {
        if !std::io::stderr().is_terminal() {
            return Counter { bar: None };
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(&format!(
                "{{bar:30}} {{human_pos}}/{{human_len}} records {what} ({{per_sec}}, {{eta}} left) {{msg}}"
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        Counter { bar: Some(bar) }
    }

    /// Counts `n` more.
    pub(crate) fn add(&self, n: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(n);
        }
    }

    /// Removes the bar.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Prints one line per micro-batch of a streaming query: rows, rate, and
/// how far the query is behind the latest offsets (lag).
pub(crate) struct BatchLines<W> {
    out: W,
}

impl<W: std::io::Write + Send> BatchLines<W> {
    /// Lines go to `out`.
    pub(crate) fn new(out: W) -> Self {
        BatchLines { out }
    }
}

/// Offsets between a batch's end and the latest offsets: the total, and
/// the most in one partition.
pub(crate) fn lag(progress: &QueryProgress) -> Option<(i64, i64)> {
    let behind: Vec<i64> = progress
        .sources
        .iter()
        .filter_map(|s| {
            Some(offsets_behind(
                s.latest_offset.as_ref()?,
                s.end_offset.as_ref()?,
            ))
        })
        .flatten()
        .map(|b| b.max(0))
        .collect();
    let max = *behind.iter().max()?;
    Some((behind.into_iter().fold(0i64, i64::saturating_add), max))
}

/// A batch's line, e.g. `batch 3: 120000 rows in 1.96 s (61234 rows/s);
/// lag 240000 offsets (at most 40000 in one partition, about 25.2 MB)`.
pub(crate) fn batch_line(progress: &QueryProgress) -> String {
    let seconds = progress.batch_duration_ms as f64 / 1000.0;
    let mut line = format!(
        "batch {}: {} rows in {seconds:.2} s ({:.0} rows/s)",
        progress.batch_id,
        progress.num_input_rows(),
        progress.processed_rows_per_second()
    );
    match lag(progress) {
        Some((0, _)) => line.push_str("; lag 0: caught up with the latest offsets"),
        Some((total, max)) => {
            line.push_str(&format!(
                "; lag {total} offsets (at most {max} in one partition"
            ));
            let bytes = progress.sources.iter().find_map(|s| {
                s.metrics
                    .get("estimatedTotalBytesBehindLatest")
                    .and_then(|b| b.parse::<f64>().ok())
            });
            if let Some(bytes) = bytes {
                if bytes >= 1e6 {
                    line.push_str(&format!(", about {:.1} MB", bytes / 1e6));
                } else {
                    line.push_str(&format!(", about {:.0} kB", bytes / 1e3));
                }
            }
            line.push(')');
        }
        None => {}
    }
    line
}

impl<W: std::io::Write + Send> ProgressListener for BatchLines<W> {
    fn on_progress(&mut self, progress: &QueryProgress) {
        let _ = writeln!(self.out, "{}", batch_line(progress));
        let _ = self.out.flush();
    }

    fn on_idle(&mut self, event: &IdleEvent) {
        let line = match &event.no_rows {
            Some(diagnosis) => format!("waiting for data: {diagnosis}"),
            None => "waiting for data".to_owned(),
        };
        let _ = writeln!(self.out, "{line}");
        let _ = self.out.flush();
    }
}
