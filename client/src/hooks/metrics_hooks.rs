//! [`MetricsHooks`]: the hooks as counters, gauges and histograms of the
//! `metrics` facade (feature `metrics`).

use metrics::{counter, gauge, histogram};

use super::{
    BatchProduced, BrokerConnected, BrokerDisconnected, FetchApplied, Hooks, RequestWritten,
    ResponseRead,
};
use crate::failure::BrokerRef;

/// Records what the client does as `metrics` facade metrics, for the
/// exporter your program installs (Prometheus, OpenTelemetry, StatsD, …);
/// the library installs none.
///
/// | metric | kind | labels |
/// |---|---|---|
/// | `kafka_client_connects_total` | counter | `broker` |
/// | `kafka_client_disconnects_total` | counter | `broker` |
/// | `kafka_client_requests_total` | counter | `broker`, `api` |
/// | `kafka_client_request_bytes_total` | counter | `broker`, `api` |
/// | `kafka_client_response_bytes_total` | counter | `broker`, `api` |
/// | `kafka_client_request_latency_seconds` | histogram | `broker`, `api` |
/// | `kafka_client_throttle_seconds` | histogram (throttled answers only) | `broker`, `api` |
/// | `kafka_client_produced_batches_total` | counter | `topic` |
/// | `kafka_client_produced_records_total` | counter | `topic` |
/// | `kafka_client_produced_bytes_total` | counter | `topic` |
/// | `kafka_client_produce_latency_seconds` | histogram | `topic` |
/// | `kafka_client_fetched_records_total` | counter | `topic` |
/// | `kafka_client_fetched_bytes_total` | counter | `topic` |
/// | `kafka_client_high_watermark` | gauge | `topic`, `partition` |
/// | `kafka_client_fetch_lag` | gauge: high watermark minus the reader's position | `topic`, `partition` |
///
/// The `broker` label is the broker id, or `bootstrap` for a bootstrap
/// connection. [`with_prefix`](Self::with_prefix) replaces
/// `kafka_client`.
///
/// ```
/// use std::sync::Arc;
/// use ferrokafka::hooks::MetricsHooks;
/// use ferrokafka::ClientConfig;
///
/// let config = ClientConfig::builder()
///     .bootstrap_servers("localhost:9092")
///     .hook(Arc::new(MetricsHooks::new().with_prefix("orders_kafka")))
///     .build()?;
/// # let _ = config;
/// # Ok::<(), ferrokafka::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct MetricsHooks {
    names: Names,
}

/// Every metric name, made once with the prefix.
#[derive(Debug, Clone)]
struct Names {
    connects: String,
    disconnects: String,
    requests: String,
    request_bytes: String,
    response_bytes: String,
    latency: String,
    throttle: String,
    produced_batches: String,
    produced_records: String,
    produced_bytes: String,
    produce_latency: String,
    fetched_records: String,
    fetched_bytes: String,
    high_watermark: String,
    fetch_lag: String,
}

impl Names {
    fn new(prefix: &str) -> Self {
        let name = |suffix: &str| format!("{prefix}_{suffix}");
        Names {
            connects: name("connects_total"),
            disconnects: name("disconnects_total"),
            requests: name("requests_total"),
            request_bytes: name("request_bytes_total"),
            response_bytes: name("response_bytes_total"),
            latency: name("request_latency_seconds"),
            throttle: name("throttle_seconds"),
            produced_batches: name("produced_batches_total"),
            produced_records: name("produced_records_total"),
            produced_bytes: name("produced_bytes_total"),
            produce_latency: name("produce_latency_seconds"),
            fetched_records: name("fetched_records_total"),
            fetched_bytes: name("fetched_bytes_total"),
            high_watermark: name("high_watermark"),
            fetch_lag: name("fetch_lag"),
        }
    }
}

impl Default for MetricsHooks {
    fn default() -> Self {
        MetricsHooks::new()
    }
}

impl MetricsHooks {
    /// Metrics named `kafka_client_*`.
    pub fn new() -> Self {
        MetricsHooks {
            names: Names::new("kafka_client"),
        }
    }

    /// Metrics named `<prefix>_*` instead.
    pub fn with_prefix(mut self, prefix: &str) -> Self {
        self.names = Names::new(prefix);
        self
    }
}

fn broker_label(broker: &BrokerRef) -> String {
    broker
        .id
        .map_or_else(|| "bootstrap".to_owned(), |id| id.to_string())
}

impl Hooks for MetricsHooks {
    fn on_broker_connect(&self, event: &BrokerConnected<'_>) {
        counter!(self.names.connects.clone(), "broker" => broker_label(event.broker)).increment(1);
    }

    fn on_broker_disconnect(&self, event: &BrokerDisconnected<'_>) {
        counter!(self.names.disconnects.clone(), "broker" => broker_label(event.broker))
            .increment(1);
    }

    fn on_request_written(&self, event: &RequestWritten<'_>) {
        let broker = broker_label(event.broker);
        let api = event.api.name();
        counter!(self.names.requests.clone(), "broker" => broker.clone(), "api" => api)
            .increment(1);
        counter!(self.names.request_bytes.clone(), "broker" => broker, "api" => api)
            .increment(event.bytes as u64);
    }

    fn on_response_read(&self, event: &ResponseRead<'_>) {
        let broker = broker_label(event.broker);
        let api = event.api.name();
        counter!(self.names.response_bytes.clone(), "broker" => broker.clone(), "api" => api)
            .increment(event.bytes as u64);
        histogram!(self.names.latency.clone(), "broker" => broker.clone(), "api" => api)
            .record(event.latency.as_secs_f64());
        if !event.throttle.is_zero() {
            histogram!(self.names.throttle.clone(), "broker" => broker, "api" => api)
                .record(event.throttle.as_secs_f64());
        }
    }

    fn on_batch_produced(&self, event: &BatchProduced<'_>) {
        let topic = event.partition.topic.to_string();
        counter!(self.names.produced_batches.clone(), "topic" => topic.clone()).increment(1);
        counter!(self.names.produced_records.clone(), "topic" => topic.clone())
            .increment(event.records as u64);
        counter!(self.names.produced_bytes.clone(), "topic" => topic.clone())
            .increment(event.bytes as u64);
        histogram!(self.names.produce_latency.clone(), "topic" => topic)
            .record(event.latency.as_secs_f64());
    }

    fn on_fetch_applied(&self, event: &FetchApplied<'_>) {
        let topic = event.partition.topic.to_string();
        counter!(self.names.fetched_records.clone(), "topic" => topic.clone())
            .increment(event.records);
        counter!(self.names.fetched_bytes.clone(), "topic" => topic.clone())
            .increment(event.bytes as u64);
        if event.high_watermark >= 0 {
            let partition = event.partition.partition.to_string();
            gauge!(self.names.high_watermark.clone(), "topic" => topic.clone(), "partition" => partition.clone())
                .set(event.high_watermark as f64);
            gauge!(self.names.fetch_lag.clone(), "topic" => topic, "partition" => partition)
                .set((event.high_watermark - event.position).max(0) as f64);
        }
    }
}
