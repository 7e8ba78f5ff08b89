//! Tests of the option map: the seed maps, every refusal and warning of §1.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ferrokafka::TopicPartition;

use super::*;
use crate::planner::PartitionOffsets;

mod map;
mod values;

const SECRET: &str = "s3cr3t-VALUE";

fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

fn offsets(json: &str) -> PartitionOffsets {
    PartitionOffsets::from_json(json).unwrap()
}

/// The smallest valid option map, plus `extra`.
fn with(extra: &[(&str, &str)]) -> SourceOptions {
    let mut options =
        SourceOptions::from_pairs([("kafka.bootstrap.servers", "host:9092"), ("subscribe", "t")]);
    for (key, value) in extra {
        options.set(*key, *value);
    }
    options
}

fn batch_error(extra: &[(&str, &str)]) -> String {
    with(extra).batch().unwrap_err().to_string()
}

fn stream_error(extra: &[(&str, &str)]) -> String {
    with(extra).streaming().unwrap_err().to_string()
}

fn both_errors(extra: &[(&str, &str)]) -> [String; 2] {
    [batch_error(extra), stream_error(extra)]
}

/// Bootstrap servers and one topic-selection option.
fn selecting(option: &str, value: &str) -> SourceOptions {
    SourceOptions::from_pairs([("kafka.bootstrap.servers", "h:1"), (option, value)])
}

/// The warnings as their messages.
fn warning_texts(warnings: &[OptionWarning]) -> Vec<String> {
    warnings.iter().map(ToString::to_string).collect()
}

// ---- a tiny subscriber recording warn! messages -----------------------------

struct Recorder {
    messages: Arc<Mutex<Vec<String>>>,
    next_span: AtomicUsize,
}

struct MessageField<'a>(&'a mut String);

impl tracing::field::Visit for MessageField<'_> {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            *self.0 = format!("{value:?}");
        }
    }
}

impl tracing::Subscriber for Recorder {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        *metadata.level() == tracing::Level::WARN
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(self.next_span.fetch_add(1, Ordering::Relaxed) as u64 + 1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut message = String::new();
        event.record(&mut MessageField(&mut message));
        self.messages.lock().unwrap().push(message);
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

fn capture_warnings<T>(run: impl FnOnce() -> T) -> (T, Vec<String>) {
    let messages = Arc::new(Mutex::new(Vec::new()));
    let recorder = Recorder {
        messages: messages.clone(),
        next_span: AtomicUsize::new(0),
    };
    let result = tracing::subscriber::with_default(recorder, run);
    let logged = messages.lock().unwrap().clone();
    (result, logged)
}
