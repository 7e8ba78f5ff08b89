//! `ferrokafka write`: lines of stdin to a topic, through the idempotent
//! producer (`kafka.…` options set producer settings: `-o
//! kafka.compression.type=lz4`).
//!
//! Text lines (the default): each line is a value; with `--key-delimiter`
//! the line is `key<delimiter>value`. JSON lines: each line an object as
//! `ferrokafka read` prints them: `value`, and optionally `key`, `headers`
//! (`[{"key": …, "value": … or null}]`, duplicates kept), `partition`,
//! `timestamp` (ms) and `topic`; other fields (`offset`, …) are ignored.
//! With `--encoding base64` keys, values and header values are base64.

use std::time::Instant;

use base64::Engine as _;
use bytes::Bytes;
use clap::{Args, ValueEnum};
use ferrokafka::{DeliveryFuture, ProducerRecord};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::client::{client_config, connect_with, producer_config, warn_unused};
use crate::exit::CliError;
use crate::options::Options;
use crate::progress::Counter;

/// Records sent but not yet acknowledged before `write` stops reading
/// lines to wait for acknowledgements.
const MAX_UNACKNOWLEDGED: usize = 100_000;

/// `ferrokafka write [TOPIC]`.
#[derive(Debug, Args)]
pub(crate) struct WriteArgs {
    /// The topic (or -o topic=…; JSON lines may name their own with "topic").
    topic: Option<String>,
    /// How stdin's lines are read.
    #[arg(long, value_enum, default_value = "text")]
    format: Format,
    /// Text lines: split each line at the first occurrence into key and value.
    #[arg(short = 'K', long, value_name = "DELIMITER")]
    key_delimiter: Option<String>,
    /// Write every record to this partition (else the partitioner decides).
    #[arg(short, long)]
    partition: Option<i32>,
    /// How keys, values and header values are written in JSON lines.
    #[arg(long, value_enum, default_value = "utf8")]
    encoding: Encoding,
}

/// How stdin's lines are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Format {
    /// Each line a value (or key and value with --key-delimiter).
    Text,
    /// Each line a JSON object.
    Json,
}

/// How bytes appear in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Encoding {
    /// As UTF-8 text.
    Utf8,
    /// As base64 (any bytes).
    Base64,
}

/// Decodes a JSON string field into bytes.
pub(crate) fn decode_bytes(
    field: &str,
    value: &Value,
    encoding: Encoding,
) -> Result<Option<Bytes>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(s) => match encoding {
            Encoding::Utf8 => Ok(Some(Bytes::from(s.clone().into_bytes()))),
            Encoding::Base64 => base64::engine::general_purpose::STANDARD
                .decode(s)
                .map(|b| Some(Bytes::from(b)))
                .map_err(|e| format!("{field} is not base64: {e}")),
        },
        other => Err(format!("{field} must be a string or null, not {other}")),
    }
}

/// The record one JSON line describes.
fn json_record(
    line: &str,
    default_topic: Option<&str>,
    encoding: Encoding,
) -> Result<ProducerRecord, String> {
    let value: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(fields) = value else {
        return Err("expected a JSON object".to_owned());
    };
    let topic = match fields.get("topic") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Null) | None => default_topic.ok_or(
            "no topic: give one (ferrokafka write TOPIC, or -o topic=…) or a \"topic\" field",
        )?,
        Some(other) => return Err(format!("topic must be a string, not {other}")),
    };
    let mut record = ProducerRecord::new(default_topic.unwrap_or(topic));
    if let Some(key) = decode_bytes("key", fields.get("key").unwrap_or(&Value::Null), encoding)? {
        record = record.key(key);
    }
    if let Some(v) = decode_bytes(
        "value",
        fields.get("value").unwrap_or(&Value::Null),
        encoding,
    )? {
        record = record.value(v);
    }
    match fields.get("headers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(headers)) => {
            for h in headers {
                let key = match h.get("key") {
                    Some(Value::String(k)) => k.clone(),
                    _ => return Err(format!("header {h} needs a string \"key\"")),
                };
                let value = decode_bytes(
                    "header value",
                    h.get("value").unwrap_or(&Value::Null),
                    encoding,
                )?;
                record = record.header(key, value);
            }
        }
        Some(other) => return Err(format!("headers must be a list, not {other}")),
    }
    if let Some(p) = fields.get("partition").filter(|p| !p.is_null()) {
        let p = p
            .as_i64()
            .and_then(|p| i32::try_from(p).ok())
            .ok_or(format!("partition must be a whole number, not {p}"))?;
        record = record.partition(p);
    }
    if let Some(ts) = fields.get("timestamp").filter(|t| !t.is_null()) {
        let ts = ts.as_i64().ok_or(format!(
            "timestamp must be milliseconds since the epoch, not {ts}"
        ))?;
        record = record.timestamp(ts);
    }
    Ok(record)
}

/// Runs `write`.
pub(crate) async fn run(args: WriteArgs, mut options: Options) -> Result<(), CliError> {
    let topic = args.topic.clone().or_else(|| options.take("topic"));
    warn_unused("write", options.spark_options());
    if args.format == Format::Text && topic.is_none() {
        return Err(CliError::usage(
            "no topic: ferrokafka write TOPIC (or -o topic=…)",
        ));
    }
    if args.format == Format::Json && args.key_delimiter.is_some() {
        return Err(CliError::usage("--key-delimiter is for --format text"));
    }
    let client = connect_with(client_config(&options)?).await?;
    let producer = client.producer(producer_config(&options)?).await?;
    let counter = Counter::new("written");
    let started = Instant::now();
    let mut pending: FuturesUnordered<DeliveryFuture> = FuturesUnordered::new();
    let mut written = 0u64;
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut line_number = 0u64;
    let mut first_error: Option<CliError> = None;
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        // Ctrl-C stops reading; what was sent is still waited for.
        let line = tokio::select! {
            line = lines.next_line() => line?,
            _ = &mut interrupted => {
                first_error = Some(CliError::interrupted(format!(
                    "interrupted after {line_number} lines; the records sent were waited for"
                )));
                break;
            }
        };
        let Some(line) = line else { break };
        line_number += 1;
        if args.format == Format::Json && line.trim().is_empty() {
            continue;
        }
        let mut record = match args.format {
            Format::Text => {
                let topic = topic.as_deref().unwrap_or_default();
                match (&args.key_delimiter, &line) {
                    (Some(d), l) if l.contains(d.as_str()) => {
                        let (k, v) = l.split_once(d.as_str()).unwrap_or((l, ""));
                        ProducerRecord::new(topic)
                            .key(k.to_owned())
                            .value(v.to_owned())
                    }
                    (Some(d), _) => {
                        first_error = Some(CliError::failed(format!(
                            "line {line_number}: no key delimiter {d:?} in it"
                        )));
                        break;
                    }
                    (None, l) => ProducerRecord::new(topic).value(l.clone()),
                }
            }
            Format::Json => match json_record(&line, topic.as_deref(), args.encoding) {
                Ok(r) => r,
                Err(e) => {
                    first_error = Some(CliError::failed(format!("line {line_number}: {e}")));
                    break;
                }
            },
        };
        if let Some(p) = args.partition {
            record = record.partition(p);
        }
        pending.push(producer.send(record).await?);
        // Take every outcome already known (counting each acknowledgement),
        // wait while too many records are unacknowledged, and stop at the
        // first failed record (as Spark's sink does).
        loop {
            let outcome = if pending.len() > MAX_UNACKNOWLEDGED {
                pending.next().await
            } else {
                match pending.next().now_or_never() {
                    Some(outcome) => outcome,
                    None => break,
                }
            };
            match outcome {
                Some(Ok(_)) => {
                    written += 1;
                    counter.add(1);
                }
                Some(Err(e)) => {
                    first_error = Some(e.into());
                    break;
                }
                None => break,
            }
        }
        if first_error.is_some() {
            break;
        }
    }
    producer.flush().await;
    while let Some(outcome) = pending.next().await {
        match outcome {
            Ok(_) => {
                written += 1;
                counter.add(1);
            }
            Err(e) => {
                first_error.get_or_insert(e.into());
            }
        }
    }
    counter.finish();
    let _ = producer.close(std::time::Duration::from_secs(30)).await;
    client.close().await;
    let elapsed = started.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "{written} records written in {elapsed:.2} s ({:.0} records/s)",
        written as f64 / elapsed
    );
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

use futures::FutureExt as _;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_carry_what_read_prints() {
        let r = json_record(
            r#"{"topic":"t","partition":2,"offset":9,"timestamp":1700,"key":"k","value":"v","headers":[{"key":"h","value":"x"},{"key":"h","value":null}]}"#,
            None,
            Encoding::Utf8,
        )
        .unwrap();
        let shown = format!("{r:?}");
        assert!(shown.contains("\"t\"") && shown.contains("1700"), "{shown}");
        let err = json_record(r#"{"value":"v"}"#, None, Encoding::Utf8).unwrap_err();
        assert!(err.contains("no topic"), "{err}");
        let err = json_record(r#"{"value":"%%%"}"#, Some("t"), Encoding::Base64).unwrap_err();
        assert!(err.contains("base64"), "{err}");
        assert!(json_record("[1]", Some("t"), Encoding::Utf8).is_err());
    }
}
