//! `kcat-rdkafka`: the kcat-equivalent of `ferrokafka write --format json`
//! and `ferrokafka read --output json`, done with rust-rdkafka (bundled
//! librdkafka) so the CLI benchmark has a C peer doing the same work.
//!
//! * `kcat-rdkafka -b HOST:PORT produce TOPIC < lines.jsonl` parses each
//!   line (`{"key":…,"value":…,"headers":[{"key":…,"value":…}]}`, UTF-8
//!   strings or null) with serde_json and produces it with librdkafka's
//!   default producer settings plus `enable.idempotence=true` (ferrokafka's
//!   default), then flushes. Any failed record: exit 1.
//! * `kcat-rdkafka -b HOST:PORT consume TOPIC > out.jsonl` assigns every
//!   partition from its start offset to the end offset looked up when it
//!   starts, prints each record as the JSON line `ferrokafka read --output
//!   json` prints (same fields, same order, UTF-8 strings) and exits at the
//!   end. A record that is not UTF-8 or a consume error: exit 1.

use std::io::{BufRead, BufWriter, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use clap::{Parser, Subcommand};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Offset, Timestamp, TopicPartitionList};
use serde_json::Value;

/// How long metadata and watermark look-ups may take.
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the final flush may take.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(300);
/// Poll librdkafka's delivery reports every this many records.
const POLL_EVERY: u64 = 1024;

#[derive(Debug, Parser)]
#[command(about = "kcat-equivalent JSON-lines produce/consume on rust-rdkafka")]
struct Args {
    /// Bootstrap server, HOST:PORT.
    #[arg(short = 'b', long)]
    bootstrap: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Produce the JSON lines on stdin to TOPIC.
    Produce {
        /// The topic to write.
        topic: String,
    },
    /// Print TOPIC from its start to its end (as of now) as JSON lines.
    Consume {
        /// The topic to read.
        topic: String,
    },
}

fn main() -> ExitCode {
    let args = Args::parse();
    let outcome = match &args.command {
        Command::Produce { topic } => produce(&args.bootstrap, topic),
        Command::Consume { topic } => consume(&args.bootstrap, topic),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("kcat-rdkafka: {message}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------- produce

/// Counts delivery reports; keeps the first failure to report it.
#[derive(Default)]
struct Deliveries {
    acked: AtomicU64,
    failed: AtomicU64,
    first_failure: std::sync::Mutex<Option<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.acked.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, message)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                let mut first = self.first_failure.lock().unwrap_or_else(|e| e.into_inner());
                first.get_or_insert_with(|| {
                    format!(
                        "delivery to partition {} failed: {error}",
                        message.partition()
                    )
                });
            }
        }
    }
}

/// One JSON line's key, value and headers (borrowed from the parsed line).
struct JsonRecord<'a> {
    key: Option<&'a str>,
    value: Option<&'a str>,
    headers: Option<OwnedHeaders>,
}

fn string_or_null<'a>(field: &str, value: Option<&'a Value>) -> Result<Option<&'a str>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("{field} must be a string or null, not {other}")),
    }
}

fn json_record(line: &Value) -> Result<JsonRecord<'_>, String> {
    let Value::Object(fields) = line else {
        return Err("expected a JSON object".to_owned());
    };
    let key = string_or_null("key", fields.get("key"))?;
    let value = string_or_null("value", fields.get("value"))?;
    let headers = match fields.get("headers") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => {
            let mut headers = OwnedHeaders::new_with_capacity(list.len());
            for h in list {
                let Some(Value::String(key)) = h.get("key") else {
                    return Err(format!("header {h} needs a string \"key\""));
                };
                let value = string_or_null("header value", h.get("value"))?;
                headers = headers.insert(Header { key, value });
            }
            Some(headers)
        }
        Some(other) => return Err(format!("headers must be a list, not {other}")),
    };
    Ok(JsonRecord {
        key,
        value,
        headers,
    })
}

fn produce(bootstrap: &str, topic: &str) -> Result<(), String> {
    let producer: BaseProducer<Deliveries> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .create_with_context(Deliveries::default())
        .map_err(|e| format!("cannot create the producer: {e}"))?;
    let stdin = std::io::stdin().lock();
    let mut sent = 0u64;
    for (index, line) in stdin.lines().enumerate() {
        let line = line.map_err(|e| format!("reading stdin: {e}"))?;
        if line.trim().is_empty() {
            continue;
        }
        let line_number = index + 1;
        let parsed: Value = serde_json::from_str(&line)
            .map_err(|e| format!("line {line_number}: not JSON: {e}"))?;
        let record = json_record(&parsed).map_err(|e| format!("line {line_number}: {e}"))?;
        let mut base = BaseRecord::<str, str>::to(topic);
        if let Some(key) = record.key {
            base = base.key(key);
        }
        if let Some(value) = record.value {
            base = base.payload(value);
        }
        if let Some(headers) = record.headers {
            base = base.headers(headers);
        }
        loop {
            match producer.send(base) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    base = back;
                    producer.poll(Duration::from_millis(1));
                }
                Err((e, _)) => return Err(format!("line {line_number}: send failed: {e}")),
            }
        }
        sent += 1;
        if sent.is_multiple_of(POLL_EVERY) {
            producer.poll(Duration::ZERO);
        }
        if producer.context().failed.load(Ordering::Relaxed) > 0 {
            break;
        }
    }
    producer
        .flush(FLUSH_TIMEOUT)
        .map_err(|e| format!("flush failed: {e}"))?;
    producer.poll(Duration::ZERO);
    let deliveries = producer.context();
    let acked = deliveries.acked.load(Ordering::Relaxed);
    let failed = deliveries.failed.load(Ordering::Relaxed);
    if let Some(first) = deliveries
        .first_failure
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .take()
    {
        return Err(format!("{failed} records failed; the first: {first}"));
    }
    if acked != sent {
        return Err(format!("{sent} records sent but {acked} acknowledged"));
    }
    eprintln!("{acked} records written");
    Ok(())
}

// ---------------------------------------------------------------- consume

fn consume(bootstrap: &str, topic: &str) -> Result<(), String> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        // librdkafka wants a group for a consumer; nothing is committed.
        .set("group.id", "kcat-rdkafka")
        .set("enable.auto.commit", "false")
        .create()
        .map_err(|e| format!("cannot create the consumer: {e}"))?;
    let metadata = consumer
        .fetch_metadata(Some(topic), LOOKUP_TIMEOUT)
        .map_err(|e| format!("metadata of {topic}: {e}"))?;
    let partitions: Vec<i32> = metadata
        .topics()
        .iter()
        .filter(|t| t.name() == topic)
        .flat_map(|t| t.partitions().iter().map(|p| p.id()))
        .collect();
    if partitions.is_empty() {
        return Err(format!("topic {topic} has no partitions (does it exist?)"));
    }
    // The end of each partition as of now; a partition is done once its
    // next offset reaches it.
    let mut assignment = TopicPartitionList::new();
    let mut ends = std::collections::HashMap::new();
    for &p in &partitions {
        let (low, high) = consumer
            .fetch_watermarks(topic, p, LOOKUP_TIMEOUT)
            .map_err(|e| format!("offsets of {topic}-{p}: {e}"))?;
        if high > low {
            assignment
                .add_partition_offset(topic, p, Offset::Offset(low))
                .map_err(|e| format!("assign {topic}-{p}: {e}"))?;
            ends.insert(p, high);
        }
    }
    consumer
        .assign(&assignment)
        .map_err(|e| format!("assign: {e}"))?;
    let mut out = BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let mut line = Vec::with_capacity(1024);
    let mut printed = 0u64;
    while !ends.is_empty() {
        let Some(message) = consumer.poll(Duration::from_secs(1)) else {
            continue;
        };
        let message = message.map_err(|e| format!("consume failed: {e}"))?;
        let partition = message.partition();
        let Some(&end) = ends.get(&partition) else {
            continue;
        };
        if message.offset() >= end {
            continue;
        }
        line.clear();
        render(&mut line, &message)?;
        out.write_all(&line)
            .map_err(|e| format!("writing stdout: {e}"))?;
        printed += 1;
        if message.offset() + 1 >= end {
            ends.remove(&partition);
        }
    }
    out.flush().map_err(|e| format!("writing stdout: {e}"))?;
    drop(out);
    eprintln!("{printed} records read");
    Ok(())
}

/// Appends the JSON line `ferrokafka read --output json` prints for this
/// record: topic, partition, offset, timestamp, timestampType (0 create
/// time, 1 log-append time), key, value, headers.
fn render(out: &mut Vec<u8>, message: &impl Message) -> Result<(), String> {
    let (timestamp, kind) = match message.timestamp() {
        Timestamp::CreateTime(t) => (t, 0),
        Timestamp::LogAppendTime(t) => (t, 1),
        Timestamp::NotAvailable => (-1, -1),
    };
    out.extend_from_slice(b"{\"topic\":");
    json_string(out, message.topic());
    let _ = write!(
        out,
        ",\"partition\":{},\"offset\":{},\"timestamp\":{timestamp},\"timestampType\":{kind},\"key\":",
        message.partition(),
        message.offset()
    );
    let at = || {
        format!(
            "{}-{} offset {}",
            message.topic(),
            message.partition(),
            message.offset()
        )
    };
    json_text(out, message.key()).map_err(|e| format!("{}: key {e}", at()))?;
    out.extend_from_slice(b",\"value\":");
    json_text(out, message.payload()).map_err(|e| format!("{}: value {e}", at()))?;
    out.extend_from_slice(b",\"headers\":[");
    if let Some(headers) = message.headers() {
        for (i, header) in headers.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"key\":");
            json_string(out, header.key);
            out.extend_from_slice(b",\"value\":");
            json_text(out, header.value).map_err(|e| format!("{}: header {e}", at()))?;
            out.push(b'}');
        }
    }
    out.extend_from_slice(b"]}\n");
    Ok(())
}

fn json_string(out: &mut Vec<u8>, text: &str) {
    // Writing into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, text);
}

fn json_text(out: &mut Vec<u8>, bytes: Option<&[u8]>) -> Result<(), String> {
    match bytes {
        None => out.extend_from_slice(b"null"),
        Some(bytes) => {
            let text = std::str::from_utf8(bytes).map_err(|_| "is not UTF-8 text".to_owned())?;
            json_string(out, text);
        }
    }
    Ok(())
}
