//! Hooks: callbacks on what the client does, for metrics and tracing.
//!
//! Implement [`Hooks`] (every method has an empty default, so implement
//! only what you need) and register it with
//! [`ClientConfigBuilder::hook`](crate::ClientConfigBuilder::hook). The
//! client calls it:
//!
//! | method | when |
//! |---|---|
//! | [`on_broker_connect`](Hooks::on_broker_connect) | a connection to a broker is set up (TLS, ApiVersions, SASL done) |
//! | [`on_broker_disconnect`](Hooks::on_broker_disconnect) | a connection ends, with why |
//! | [`on_request_written`](Hooks::on_request_written) | a request was handed to the socket |
//! | [`on_response_read`](Hooks::on_response_read) | its answer was read and decoded (latency, throttle) |
//! | [`on_batch_produced`](Hooks::on_batch_produced) | the broker acknowledged a producer batch |
//! | [`on_fetch_applied`](Hooks::on_fetch_applied) | a reader applied a partition's fetch answer |
//!
//! Hooks run inline on the client's tasks (the connection task, the
//! producer's sender, a reader's fetch source): keep them fast and
//! non-blocking, and hand slow work to a channel. Events borrow what they
//! describe; copy what you keep. New hook methods and new event fields
//! can be added without breaking implementations (the events are
//! `#[non_exhaustive]`).
//!
//! With the `metrics` feature, `MetricsHooks` turns the hooks into
//! counters and histograms of the [`metrics`](https://docs.rs/metrics)
//! facade; install the exporter of your choice (Prometheus,
//! OpenTelemetry, …) in your program.
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering};
//! use std::sync::Arc;
//! use ferrokafka::hooks::{Hooks, RequestWritten};
//! use ferrokafka::ClientConfig;
//!
//! #[derive(Default)]
//! struct BytesSent(AtomicU64);
//!
//! impl Hooks for BytesSent {
//!     fn on_request_written(&self, event: &RequestWritten<'_>) {
//!         self.0.fetch_add(event.bytes as u64, Ordering::Relaxed);
//!     }
//! }
//!
//! let sent = Arc::new(BytesSent::default());
//! let config = ClientConfig::builder()
//!     .bootstrap_servers("localhost:9092")
//!     .hook(sent.clone())
//!     .build()?;
//! # let _ = config;
//! # Ok::<(), ferrokafka::ConfigError>(())
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::failure::{BrokerRef, ConnectionFailure};
use crate::types::{Api, TopicPartition};

/// Callbacks on what the client does. Every method does nothing unless
/// implemented.
pub trait Hooks: Send + Sync + 'static {
    /// A connection to a broker is ready for requests.
    fn on_broker_connect(&self, event: &BrokerConnected<'_>) {
        let _ = event;
    }
    /// A connection to a broker ended.
    fn on_broker_disconnect(&self, event: &BrokerDisconnected<'_>) {
        let _ = event;
    }
    /// A request was handed to the socket (including the ApiVersions and
    /// SASL requests of the connection set-up).
    fn on_request_written(&self, event: &RequestWritten<'_>) {
        let _ = event;
    }
    /// A request's answer was read and decoded.
    fn on_response_read(&self, event: &ResponseRead<'_>) {
        let _ = event;
    }
    /// The broker acknowledged a batch of records from a producer.
    fn on_batch_produced(&self, event: &BatchProduced<'_>) {
        let _ = event;
    }
    /// A reader applied one partition's fetch answer.
    fn on_fetch_applied(&self, event: &FetchApplied<'_>) {
        let _ = event;
    }
}

/// A connection to a broker is ready: TLS, ApiVersions and SASL are done.
#[derive(Debug)]
#[non_exhaustive]
pub struct BrokerConnected<'a> {
    /// The broker (its id is `None` for a bootstrap connection).
    pub broker: &'a BrokerRef,
    /// The socket address connected to.
    pub addr: SocketAddr,
    /// How long the set-up took (TCP, TLS, ApiVersions, SASL).
    pub setup: Duration,
}

/// A connection to a broker ended.
#[derive(Debug)]
#[non_exhaustive]
pub struct BrokerDisconnected<'a> {
    /// The broker.
    pub broker: &'a BrokerRef,
    /// Why (closed by the client, by the broker, idle, an error, …).
    pub reason: &'a ConnectionFailure,
    /// How long the connection was up.
    pub lifetime: Duration,
}

/// A request was handed to the socket.
#[derive(Debug)]
#[non_exhaustive]
pub struct RequestWritten<'a> {
    /// The broker.
    pub broker: &'a BrokerRef,
    /// The request's API.
    pub api: Api,
    /// The version it was sent at.
    pub version: i16,
    /// Its size on the wire, the 4-byte length prefix included.
    pub bytes: usize,
}

/// A request's answer was read and decoded.
#[derive(Debug)]
#[non_exhaustive]
pub struct ResponseRead<'a> {
    /// The broker.
    pub broker: &'a BrokerRef,
    /// The request's API.
    pub api: Api,
    /// The version it was sent at.
    pub version: i16,
    /// The answer's size on the wire, the 4-byte length prefix included.
    pub bytes: usize,
    /// From handing the request to the socket to reading the whole answer.
    pub latency: Duration,
    /// How long the broker asked the client to hold further requests
    /// (quota throttling, KIP-219); zero when it did not.
    pub throttle: Duration,
}

/// The broker acknowledged a producer batch.
#[derive(Debug)]
#[non_exhaustive]
pub struct BatchProduced<'a> {
    /// The partition written to.
    pub partition: &'a TopicPartition,
    /// The offset of the batch's first record.
    pub base_offset: i64,
    /// Records in the batch.
    pub records: usize,
    /// The batch's size on the wire (compressed, when compression is on).
    pub bytes: usize,
    /// From the batch's first record to the acknowledgement.
    pub latency: Duration,
}

/// A reader applied one partition's fetch answer.
#[derive(Debug)]
#[non_exhaustive]
pub struct FetchApplied<'a> {
    /// The partition.
    pub partition: &'a TopicPartition,
    /// Records in the batches handed to the reader (counted from the
    /// batch headers: the edges of a range are trimmed later).
    pub records: u64,
    /// The size of those batches on the wire.
    pub bytes: usize,
    /// The partition's high watermark in the answer (-1 when unknown).
    pub high_watermark: i64,
    /// The partition's next offset to read after applying the answer.
    pub position: i64,
}

/// The hooks registered on a client, shared by its tasks.
#[derive(Clone, Default)]
pub(crate) struct HookSet(Option<Arc<[Arc<dyn Hooks>]>>);

impl HookSet {
    /// The set with `hook` added.
    pub(crate) fn with(&self, hook: Arc<dyn Hooks>) -> HookSet {
        let mut all: Vec<Arc<dyn Hooks>> = self.0.iter().flat_map(|s| s.iter().cloned()).collect();
        all.push(hook);
        HookSet(Some(all.into()))
    }

    /// Whether no hook is registered (then events need not be built).
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }

    /// Calls `f` on every hook.
    pub(crate) fn each(&self, f: impl Fn(&dyn Hooks)) {
        if let Some(all) = &self.0 {
            for hook in all.iter() {
                f(&**hook);
            }
        }
    }
}

impl HookSet {
    /// Reports a request written and its answer read, for the exchanges
    /// of a connection set-up (ApiVersions, SASL), which run before the
    /// connection task and report both at once.
    pub(crate) fn exchange(
        &self,
        broker: &BrokerRef,
        api: Api,
        version: i16,
        sent: usize,
        received: usize,
        latency: Duration,
    ) {
        self.each(|h| {
            h.on_request_written(&RequestWritten {
                broker,
                api,
                version,
                bytes: sent,
            });
            h.on_response_read(&ResponseRead {
                broker,
                api,
                version,
                bytes: received,
                latency,
                throttle: Duration::ZERO,
            });
        });
    }
}

impl fmt::Debug for HookSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} hooks", self.0.as_ref().map_or(0, |s| s.len()))
    }
}

impl PartialEq for HookSet {
    fn eq(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (None, None) => true,
            (Some(a), Some(b)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| Arc::ptr_eq(x, y))
            }
            _ => false,
        }
    }
}

impl Eq for HookSet {}

#[cfg(feature = "metrics")]
mod metrics_hooks;
#[cfg(feature = "metrics")]
pub use metrics_hooks::MetricsHooks;
