//! A tracing subscriber that records every span and event of every crate
//! (the fake cluster's own excepted), with all fields, as text lines.
#![allow(dead_code, unreachable_pub)]

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// Records every span and event, with all fields, as text.
#[derive(Clone, Default)]
pub struct Capture {
    lines: Arc<Mutex<String>>,
    next_id: Arc<AtomicU64>,
}

struct Line<'a>(&'a mut String);

impl Visit for Line<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let _ = write!(self.0, " {}={value:?}", field.name());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        let _ = write!(self.0, " {}={value}", field.name());
    }
}

impl Capture {
    /// The capture installed as the global subscriber of this test binary
    /// (installed on first use, shared by every test in it).
    pub fn global() -> &'static Capture {
        static GLOBAL: OnceLock<Capture> = OnceLock::new();
        GLOBAL.get_or_init(|| {
            let capture = Capture::default();
            tracing::subscriber::set_global_default(capture.clone())
                .expect("another global subscriber is installed");
            capture
        })
    }

    /// Everything recorded so far, one event or span per line.
    pub fn text(&self) -> String {
        self.lines.lock().unwrap().clone()
    }

    /// The recorded lines at WARN level containing every one of `needles`.
    pub fn warnings_with(&self, needles: &[&str]) -> Vec<String> {
        self.text()
            .lines()
            .filter(|l| l.starts_with("WARN ") && needles.iter().all(|n| l.contains(n)))
            .map(str::to_owned)
            .collect()
    }

    fn keep(metadata: &Metadata<'_>) -> bool {
        !metadata.target().starts_with("ferrokafka_fake")
    }
}

impl Subscriber for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, span: &Attributes<'_>) -> Id {
        if Self::keep(span.metadata()) {
            let mut line = format!("span {}:", span.metadata().target());
            span.record(&mut Line(&mut line));
            self.lines.lock().unwrap().push_str(&(line + "\n"));
        }
        Id::from_u64(self.next_id.fetch_add(1, Ordering::Relaxed) + 1)
    }
    fn record(&self, _: &Id, values: &Record<'_>) {
        let mut line = String::from("record:");
        values.record(&mut Line(&mut line));
        self.lines.lock().unwrap().push_str(&(line + "\n"));
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        if Self::keep(event.metadata()) {
            let mut line = format!(
                "{} {}:",
                event.metadata().level(),
                event.metadata().target()
            );
            event.record(&mut Line(&mut line));
            self.lines.lock().unwrap().push_str(&(line + "\n"));
        }
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}
