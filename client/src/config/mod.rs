//! Configuration: one table of keys under the Java client's property
//! names, in four sections — connection, security, consumer
//! ([`ClientConfig`]) and producer ([`ProducerConfig`]).
//!
//! A properties map written for the Java client (or Spark's `kafka.`
//! options, prefix stripped) works here unchanged. Keys Java clients know
//! that change nothing here (`receive.buffer.bytes`, serializer classes, …)
//! are accepted and marked [`KeyInfo::inert`]; a key no section knows is
//! an error naming the closest known key; a value out of range is an error
//! naming the key and what it accepts. [`KEYS`] lists every key with its
//! section, default, accepted values and documentation.
//!
//! Settings are plain descriptions: files named here are read, and token
//! providers and TLS configurations built, when a client connects.
//!
//! ```
//! use std::collections::HashMap;
//! use std::time::Duration;
//! use ferrokafka::ClientConfig;
//!
//! // From Java property names:
//! let props = HashMap::from([
//!     ("bootstrap.servers".to_owned(), "localhost:9092,[::1]:9093".to_owned()),
//!     ("request.timeout.ms".to_owned(), "5000".to_owned()),
//!     ("isolation.level".to_owned(), "read_committed".to_owned()),
//! ]);
//! let config = ClientConfig::from_properties(&props)?;
//! assert_eq!(config.request_timeout(), Duration::from_secs(5));
//!
//! // With the typed builder:
//! let config = ClientConfig::builder()
//!     .bootstrap_servers("localhost:9092")
//!     .client_id("my-app")
//!     .bootstrap_timeout(Duration::from_secs(10))
//!     .build()?;
//! assert_eq!(config.client_id(), "my-app");
//!
//! // Mistakes name the key and what it accepts:
//! let bad = HashMap::from([
//!     ("bootstrap.servers".to_owned(), "localhost:9092".to_owned()),
//!     ("isolation.level".to_owned(), "committed".to_owned()),
//! ]);
//! let err = ClientConfig::from_properties(&bad).unwrap_err();
//! assert!(err.to_string().contains("read_committed"));
//! # Ok::<(), ferrokafka::ConfigError>(())
//! ```

#[macro_use]
mod table;
mod address;
mod connection;
mod consumer;
mod error;
pub(crate) mod kinds;
mod producer;
mod security;

use std::collections::HashMap;
use std::time::Duration;

pub use address::BrokerAddress;
pub use consumer::{AutoOffsetReset, IsolationLevel};
pub use error::{closest, ConfigError};
pub use kinds::Named;
pub use producer::{Acks, ProducerConfig, ProducerConfigBuilder};
pub use security::{ProviderHandle, SecurityConfig, SecurityProtocol, SslProtocol};
pub use table::{KeyInfo, Section};

use connection::ConnectionValues;
use consumer::ConsumerValues;
use producer::ProducerValues;
use security::SecurityValues;

/// The Java property names of every section, as constants.
pub mod keys {
    pub use super::connection::connection_keys::*;
    pub use super::consumer::consumer_keys::*;
    pub use super::producer::producer_keys::*;
    pub use super::security::security_keys::*;
    /// librdkafka's `sasl.mechanisms` (the same as `sasl.mechanism`).
    pub const SASL_MECHANISMS: &str = "sasl.mechanisms";
    /// librdkafka's `ssl.ca.location` (the same as `ssl.truststore.location`).
    pub const SSL_CA_LOCATION: &str = "ssl.ca.location";
    /// librdkafka's `ssl.certificate.location` (the same as
    /// `ssl.keystore.location`).
    pub const SSL_CERTIFICATE_LOCATION: &str = "ssl.certificate.location";
}

/// Every key of every section, in documentation order.
pub static KEYS: std::sync::LazyLock<Vec<KeyInfo>> = std::sync::LazyLock::new(|| {
    [
        ConnectionValues::KEYS,
        SecurityValues::KEYS,
        ConsumerValues::KEYS,
        ProducerValues::KEYS,
    ]
    .concat()
});

/// The key an alias (librdkafka's names) stands for, or `key` itself.
fn canonical(key: &str) -> &str {
    security::ALIASES
        .iter()
        .find(|(alias, _)| *alias == key)
        .map_or(key, |(_, canonical)| canonical)
}

/// The error for `key`, unknown to `section` (`None`: the client's
/// connection, security and consumer sections): a key of another section
/// says where it belongs; otherwise the closest known key is suggested.
pub(crate) fn unknown_key(key: &str, section: Option<Section>) -> ConfigError {
    let asked = |s: Section| match section {
        Some(only) => s == only,
        None => s != Section::Producer,
    };
    let accepted: Vec<&'static str> = KEYS
        .iter()
        .filter(|k| asked(k.section))
        .map(|k| k.name)
        .collect();
    if let Some(info) = KEYS.iter().find(|k| k.name == key && !asked(k.section)) {
        return ConfigError::OtherSection {
            key: info.name,
            section: info.section,
        };
    }
    ConfigError::UnknownKey {
        key: key.to_owned(),
        suggestion: closest(key, accepted.iter().copied()),
        accepted,
    }
}

/// The validated settings every client needs: the connection, security
/// and consumer sections. Build it with [`ClientConfig::builder`] or
/// [`ClientConfig::from_properties`]. Secrets print redacted.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientConfig {
    connection: ConnectionValues,
    consumer: ConsumerValues,
    security: SecurityConfig,
    hooks: crate::hooks::HookSet,
}

impl Default for ClientConfig {
    /// Java's defaults, with no bootstrap servers (which
    /// [`validate`](ClientConfig::validate) requires).
    fn default() -> Self {
        ClientConfig {
            connection: ConnectionValues::default(),
            consumer: ConsumerValues::default(),
            security: SecurityConfig::default(),
            hooks: crate::hooks::HookSet::default(),
        }
    }
}

impl ClientConfig {
    /// A builder starting from Java's defaults.
    pub fn builder() -> ClientConfigBuilder {
        ClientConfigBuilder {
            config: ClientConfig::default(),
            error: None,
        }
    }

    /// Parses a map of Java property names. Every key must belong to the
    /// connection, security or consumer section; the result is validated.
    pub fn from_properties<K, V>(properties: &HashMap<K, V>) -> Result<Self, ConfigError>
    where
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut config = ClientConfig::default();
        let mut sorted: Vec<(&str, &str)> = properties
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect();
        // A stable order, so the first error reported does not depend on hashing.
        sorted.sort_unstable();
        for (key, value) in sorted {
            if !config.set(key, value)? {
                return Err(unknown_key(key, None));
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Parses the keys of the connection, security and consumer sections
    /// out of `properties`, removing them, and leaves the rest (producer
    /// keys) for [`ProducerConfig::take_properties`]. The result is
    /// validated.
    pub fn take_properties(properties: &mut HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut config = ClientConfig::default();
        let mut taken: Vec<(String, String)> = Vec::new();
        properties.retain(|key, value| {
            let ours = KEYS
                .iter()
                .any(|k| k.name == canonical(key) && k.section != Section::Producer);
            if ours {
                taken.push((key.clone(), value.clone()));
            }
            !ours
        });
        taken.sort_unstable();
        for (key, value) in taken {
            config.set(&key, &value)?;
        }
        config.validate()?;
        Ok(config)
    }

    /// Sets one property by its Java name. Returns `Ok(false)` for a key
    /// these sections do not know.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
        let key = canonical(key);
        if self.connection.set(key, value)? {
            if key == keys::BOOTSTRAP_SERVERS {
                self.security.bootstrap_host = self
                    .connection
                    .bootstrap_servers
                    .first()
                    .map(|b| b.host.clone());
            }
            return Ok(true);
        }
        Ok(self.consumer.set(key, value)? || self.security.values.set(key, value)?)
    }

    /// Checks the settings against each other. [`from_properties`] and
    /// [`ClientConfigBuilder::build`] call it.
    ///
    /// [`from_properties`]: ClientConfig::from_properties
    pub fn validate(&self) -> Result<(), ConfigError> {
        use keys::*;
        let c = &self.connection;
        if c.bootstrap_servers.is_empty() {
            return Err(ConfigError::Missing {
                key: BOOTSTRAP_SERVERS,
                hint: "set it to a comma-separated list of host:port, e.g. localhost:9092",
            });
        }
        let ms = |d: Duration| d.as_millis().to_string();
        for (key, value, other, max) in [
            (
                RETRY_BACKOFF_MS,
                c.retry_backoff,
                RETRY_BACKOFF_MAX_MS,
                c.retry_backoff_max,
            ),
            (
                RECONNECT_BACKOFF_MS,
                c.reconnect_backoff,
                RECONNECT_BACKOFF_MAX_MS,
                c.reconnect_backoff_max,
            ),
            (
                SOCKET_CONNECTION_SETUP_TIMEOUT_MS,
                c.connection_setup_timeout,
                SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS,
                c.connection_setup_timeout_max,
            ),
        ] {
            if value > max {
                return Err(ConfigError::Conflict {
                    key,
                    value: ms(value),
                    other,
                    other_value: ms(max),
                    hint: "the first wait cannot exceed its maximum",
                });
            }
        }
        let f = &self.consumer;
        if f.max_partition_fetch_bytes > f.fetch_max_bytes {
            return Err(ConfigError::Conflict {
                key: MAX_PARTITION_FETCH_BYTES,
                value: f.max_partition_fetch_bytes.to_string(),
                other: FETCH_MAX_BYTES,
                other_value: f.fetch_max_bytes.to_string(),
                hint: "one partition cannot get more than a whole fetch; raise fetch.max.bytes",
            });
        }
        if f.fetch_max_wait >= c.request_timeout {
            return Err(ConfigError::Conflict {
                key: FETCH_MAX_WAIT_MS,
                value: ms(f.fetch_max_wait),
                other: REQUEST_TIMEOUT_MS,
                other_value: ms(c.request_timeout),
                hint: "a fetch the broker may hold that long would time out; lower fetch.max.wait.ms or raise request.timeout.ms",
            });
        }
        self.security.validate()
    }

    /// `security.protocol`.
    pub fn security_protocol(&self) -> SecurityProtocol {
        self.security.security_protocol()
    }

    /// The TLS and SASL settings (`ssl.*`, `sasl.*`).
    pub fn security(&self) -> &SecurityConfig {
        &self.security
    }

    /// The registered hooks.
    pub(crate) fn hooks(&self) -> &crate::hooks::HookSet {
        &self.hooks
    }

    /// Every set key as Java property names and values, for display;
    /// secrets redacted.
    pub fn to_properties(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        self.connection.show(&mut out);
        self.security.values.show(&mut out);
        self.consumer.show(&mut out);
        out
    }
}

impl ClientConfig {
    fn connection_values(&self) -> &ConnectionValues {
        &self.connection
    }
    fn consumer_values(&self) -> &ConsumerValues {
        &self.consumer
    }
}

impl SecurityConfig {
    fn security_values(&self) -> &SecurityValues {
        &self.values
    }
}

impl ClientConfigBuilder {
    fn connection_values_mut(&mut self) -> &mut ConnectionValues {
        &mut self.config.connection
    }
    fn consumer_values_mut(&mut self) -> &mut ConsumerValues {
        &mut self.config.consumer
    }
    fn security_values_mut(&mut self) -> &mut SecurityValues {
        &mut self.config.security.values
    }
}

/// Typed construction of a [`ClientConfig`]: a setter per key (named
/// after its field: `request_timeout` for `request.timeout.ms`), or
/// [`property`](Self::property) with the Java name. A bad value is kept
/// and reported by [`build`](Self::build), which validates.
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientConfigBuilder {
    config: ClientConfig,
    error: Option<ConfigError>,
}

impl ClientConfigBuilder {
    /// Sets any property by its Java name (as [`ClientConfig::set`]); an
    /// unknown key or bad value is reported by [`build`](Self::build).
    pub fn property(mut self, key: &str, value: &str) -> Self {
        match self.config.set(key, value) {
            Ok(true) => {}
            Ok(false) => {
                self.error.get_or_insert(unknown_key(key, None));
            }
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Registers `hook` (see [`hooks`](crate::hooks)); every registered
    /// hook is called, in the order registered.
    pub fn hook(mut self, hook: std::sync::Arc<dyn crate::hooks::Hooks>) -> Self {
        self.config.hooks = self.config.hooks.with(hook);
        self
    }

    /// Validates and returns the configuration.
    pub fn build(mut self) -> Result<ClientConfig, ConfigError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        // The typed bootstrap setter bypasses `set`.
        self.config.security.bootstrap_host = self
            .config
            .connection
            .bootstrap_servers
            .first()
            .map(|b| b.host.clone());
        self.config.validate()?;
        Ok(self.config)
    }
}

#[cfg(test)]
mod tests;
