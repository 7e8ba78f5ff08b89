//! Progress on long work: an indicatif bar with counts and rates on a
//! terminal, nothing otherwise (or JSON lines where a command offers them).

use std::io::IsTerminal;
use std::time::Duration;

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
