//! Producers shared per configuration (§6.3).

use std::fmt;
use std::ops::Deref;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use ferrokafka::{Client, Producer};
use futures::future::BoxFuture;

use super::error::SinkError;
use super::options::SinkSettings;
use super::pool::{Expiry, Lease, Pool, Pooled};
use crate::java::time_string_as_ms;
use crate::options::{ClientProperties, OptionError};

/// Spark's `spark.kafka.producer.cache.timeout`.
pub const CACHE_TIMEOUT_CONF: &str = "spark.kafka.producer.cache.timeout";
/// Spark's `spark.kafka.producer.cache.evictorThreadRunInterval`.
pub const CACHE_EVICTOR_INTERVAL_CONF: &str = "spark.kafka.producer.cache.evictorThreadRunInterval";

/// How long an unused producer stays in a [`ProducerCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProducerCacheConfig {
    /// A producer unused this long is closed
    /// (`spark.kafka.producer.cache.timeout`, default 10 minutes).
    pub timeout: Duration,
    /// How often unused producers are looked at
    /// (`spark.kafka.producer.cache.evictorThreadRunInterval`, default 1
    /// minute): a producer is closed between `timeout` and `timeout +
    /// evictor_interval` after its last use.
    pub evictor_interval: Duration,
}

impl Default for ProducerCacheConfig {
    /// Spark's defaults: 10 minutes, looked at every minute.
    fn default() -> Self {
        ProducerCacheConfig {
            timeout: Duration::from_secs(600),
            evictor_interval: Duration::from_secs(60),
        }
    }
}

impl ProducerCacheConfig {
    /// Spark's defaults.
    pub fn new() -> Self {
        Self::default()
    }

    /// With `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// With `evictor_interval` (at least 1 ms).
    pub fn with_evictor_interval(mut self, interval: Duration) -> Self {
        self.evictor_interval = interval.max(Duration::from_millis(1));
        self
    }

    /// Sets one of Spark's two configurations by name, with a Spark
    /// duration (`10m`, `30s`, `500ms`; a bare number is milliseconds).
    ///
    /// ```
    /// use std::time::Duration;
    /// use ferrokafka_streaming::sink::ProducerCacheConfig;
    ///
    /// let config = ProducerCacheConfig::new()
    ///     .with_spark_conf("spark.kafka.producer.cache.timeout", "5m")
    ///     .unwrap();
    /// assert_eq!(config.timeout, Duration::from_secs(300));
    /// assert!(config.with_spark_conf("spark.kafka.producer.cache.timout", "5m").is_err());
    /// ```
    pub fn with_spark_conf(mut self, key: &str, value: &str) -> Result<Self, OptionError> {
        let (key, least) = if key == CACHE_TIMEOUT_CONF {
            (CACHE_TIMEOUT_CONF, 0)
        } else if key == CACHE_EVICTOR_INTERVAL_CONF {
            (CACHE_EVICTOR_INTERVAL_CONF, 1)
        } else {
            return Err(OptionError::BadCacheConf {
                key: "producer cache configuration",
                value: key.to_owned(),
                problem: format!(
                    "not a configuration of the producer cache; accepted: \
                     {CACHE_TIMEOUT_CONF}, {CACHE_EVICTOR_INTERVAL_CONF}"
                ),
            });
        };
        let bad = |problem: String| OptionError::BadCacheConf {
            key,
            value: value.to_owned(),
            problem,
        };
        let millis = time_string_as_ms(value).map_err(|e| bad(e.to_string()))?;
        let millis = u64::try_from(millis)
            .ok()
            .filter(|ms| *ms >= least)
            .ok_or_else(|| {
                bad(format!(
                    "accepted: a duration of {least}ms or more, such as 10m, 30s or 500ms"
                ))
            })?;
        let duration = Duration::from_millis(millis);
        if key == CACHE_TIMEOUT_CONF {
            self.timeout = duration;
        } else {
            self.evictor_interval = duration;
        }
        Ok(self)
    }
}

/// A producer and the client it writes through.
struct SharedProducer {
    client: Client,
    producer: Producer,
}

impl Pooled for SharedProducer {
    async fn close(&self) {
        tracing::debug!("closing a cached Kafka producer unused for the cache's timeout");
        if let Err(error) = self.producer.close(Duration::from_secs(30)).await {
            tracing::warn!("closing an unused Kafka producer: {error}");
        }
        self.client.close().await;
    }
}

/// Producers shared per configuration, as Spark's executors share them
/// (§6.3): sinks whose `kafka.` properties are identical (the same
/// names and values) write through one producer and its connections;
/// a producer is closed once it has been unused for the configured
/// timeout ([`ProducerCacheConfig`]).
///
/// [`ProducerCache::global`] is the process's cache (Spark's defaults),
/// which sinks use unless given another. A producer belongs to the tokio
/// runtime that made it: once that runtime is gone, the next write makes a
/// new one. A write that fails stops the cache from handing its producer
/// out again (it is closed once its last user is done).
#[derive(Clone)]
pub struct ProducerCache {
    pool: Arc<Pool<ClientProperties, SharedProducer>>,
    connect: Option<ConnectClient>,
}

/// How a cache connects its producers' clients, when not with
/// [`Client::connect`].
pub type ConnectClient = Arc<
    dyn Fn(ferrokafka::ClientConfig) -> BoxFuture<'static, Result<Client, ferrokafka::Error>>
        + Send
        + Sync,
>;

impl fmt::Debug for ProducerCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProducerCache")
            .field("config", &self.config())
            .field("producers", &self.len())
            .finish()
    }
}

static GLOBAL: LazyLock<ProducerCache> =
    LazyLock::new(|| ProducerCache::new(ProducerCacheConfig::default()));

impl ProducerCache {
    /// An empty cache.
    pub fn new(config: ProducerCacheConfig) -> Self {
        ProducerCache {
            pool: Pool::new(Expiry {
                timeout: config.timeout,
                evictor_interval: config.evictor_interval,
            }),
            connect: None,
        }
    }

    /// An empty cache whose producers' clients are connected by `connect`
    /// (given each sink's client configuration) instead of
    /// [`Client::connect`]: to resolve host names another way (a static
    /// binary in an empty container), or to share a connector.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use futures::FutureExt;
    /// use ferrokafka_streaming::sink::{ProducerCache, ProducerCacheConfig};
    ///
    /// let cache = ProducerCache::with_connect(
    ///     ProducerCacheConfig::default(),
    ///     Arc::new(|config| ferrokafka::Client::connect(config).boxed()),
    /// );
    /// assert!(cache.is_empty());
    /// ```
    pub fn with_connect(config: ProducerCacheConfig, connect: ConnectClient) -> Self {
        ProducerCache {
            connect: Some(connect),
            ..ProducerCache::new(config)
        }
    }

    /// The process's cache, with Spark's defaults.
    pub fn global() -> &'static ProducerCache {
        &GLOBAL
    }

    /// How long unused producers stay.
    pub fn config(&self) -> ProducerCacheConfig {
        let expiry = self.pool.expiry();
        ProducerCacheConfig {
            timeout: expiry.timeout,
            evictor_interval: expiry.evictor_interval,
        }
    }

    /// Producers open in the cache.
    pub fn len(&self) -> usize {
        self.pool.len()
    }

    /// Whether no producer is open in the cache.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The producer for `settings`' `kafka.` properties: the cached one,
    /// or a new one (connecting a client and, with idempotence, getting a
    /// producer id). Must run inside a tokio runtime.
    pub async fn acquire(&self, settings: &SinkSettings) -> Result<ProducerLease, SinkError> {
        let lease = self
            .pool
            .acquire(&settings.client_properties, || async {
                let config = settings.client_config().clone();
                let connected = match &self.connect {
                    Some(connect) => connect(config).await,
                    None => Client::connect(config).await,
                };
                let client = connected.map_err(|e| SinkError::Producer(Box::new(e)))?;
                let producer = Producer::new(client.clone(), settings.producer_config().clone())
                    .await
                    .map_err(|e| SinkError::Producer(Box::new(e)))?;
                tracing::debug!("started a Kafka producer for the sink");
                Ok::<_, SinkError>(SharedProducer { client, producer })
            })
            .await?;
        Ok(ProducerLease { lease })
    }
}

/// A cached producer in use; dropping the lease gives it back.
pub struct ProducerLease {
    lease: Lease<ClientProperties, SharedProducer>,
}

impl fmt::Debug for ProducerLease {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProducerLease")
            .field("producer", self.producer())
            .finish()
    }
}

impl ProducerLease {
    /// The producer.
    pub fn producer(&self) -> &Producer {
        &self.lease.value().producer
    }

    /// Whether `other` holds the same producer.
    pub fn same_producer(&self, other: &ProducerLease) -> bool {
        std::ptr::eq(self.lease.value(), other.lease.value())
    }

    /// Hands this producer out no more (after a failure): the next acquire
    /// starts a new one; this one is closed when its last lease is dropped
    /// and the cache next looks.
    pub fn invalidate(&self) {
        self.lease.invalidate();
    }
}

impl Deref for ProducerLease {
    type Target = Producer;

    fn deref(&self) -> &Producer {
        self.producer()
    }
}
