//! Client configuration: a typed builder, and a parser for Kafka's Java
//! property names.
//!
//! Every setting has the name the Java client gives it, so a properties
//! map written for the Java client (or for Spark's `kafka.` options) works
//! here unchanged, for the keys this section knows. Keys the client does
//! not know are an error naming the key and listing the accepted ones;
//! values out of range are an error naming the key and the accepted values.
//!
//! The configuration comes in sections: this one holds what every client
//! needs (connections, metadata, fetching). Producer and consumer settings
//! will be sections of their own; [`ClientConfig::take_properties`] removes
//! the keys this section knows from a map and leaves the rest for the next.
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

use std::collections::HashMap;
use std::fmt;
use std::time::Duration;

/// Why a configuration was refused. Each variant names the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A key this section does not know.
    #[error("unknown configuration key `{key}`{}; accepted keys: {}", suggestion.map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default(), accepted.join(", "))]
    UnknownKey {
        /// The key as given.
        key: String,
        /// The closest known key, if one is close.
        suggestion: Option<&'static str>,
        /// Every key this section accepts.
        accepted: Vec<&'static str>,
    },
    /// A value that does not parse or is out of range.
    #[error("invalid value {value:?} for `{key}`: expected {expected}")]
    InvalidValue {
        /// The key.
        key: &'static str,
        /// The value as given.
        value: String,
        /// What the key accepts.
        expected: String,
    },
    /// A required key is missing.
    #[error("`{key}` is required: {hint}")]
    Missing {
        /// The key.
        key: &'static str,
        /// What to set it to.
        hint: &'static str,
    },
    /// Two settings contradict each other.
    #[error("`{key}` = {value} conflicts with `{other}` = {other_value}: {hint}")]
    Conflict {
        /// The key reported.
        key: &'static str,
        /// Its value.
        value: String,
        /// The key it conflicts with.
        other: &'static str,
        /// That key's value.
        other_value: String,
        /// How to resolve it.
        hint: &'static str,
    },
    /// `sasl.jaas.config` does not parse (the message never shows option values).
    #[error(transparent)]
    Jaas(#[from] ferrokafka_auth::jaas::JaasError),
    /// The TLS files or settings cannot be used (bad PEM, unreadable file,
    /// JKS/PKCS#12 store with the command converting it).
    #[error(transparent)]
    Tls(#[from] ferrokafka_auth::tls::TlsError),
    /// A value that is valid Kafka configuration but not supported yet.
    #[error("`{key}` = {value} is not supported yet: {hint}")]
    Unsupported {
        /// The key.
        key: &'static str,
        /// The value.
        value: String,
        /// What to use instead.
        hint: &'static str,
    },
}

/// One `host:port` entry of `bootstrap.servers`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BrokerAddress {
    /// Host name or IP literal (without brackets for IPv6).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl fmt::Display for BrokerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

impl BrokerAddress {
    /// Parses `host:port`, `1.2.3.4:port` or `[::1]:port`.
    pub fn parse(entry: &str) -> Result<Self, ConfigError> {
        let invalid = |expected: &str| ConfigError::InvalidValue {
            key: keys::BOOTSTRAP_SERVERS,
            value: entry.to_owned(),
            expected: expected.to_owned(),
        };
        let entry = entry.trim();
        if entry.contains("://") {
            return Err(invalid(
                "host:port without a listener prefix (drop the `PLAINTEXT://` part; security.protocol selects the listener type)",
            ));
        }
        let (host, port) = if let Some(rest) = entry.strip_prefix('[') {
            let (host, port) = rest
                .split_once("]:")
                .ok_or_else(|| invalid("[ipv6]:port, e.g. [::1]:9092"))?;
            (host, port)
        } else {
            let (host, port) = entry
                .rsplit_once(':')
                .ok_or_else(|| invalid("host:port, e.g. localhost:9092 (the port is required)"))?;
            if host.contains(':') {
                return Err(invalid("an IPv6 address in brackets, e.g. [::1]:9092"));
            }
            (host, port)
        };
        if host.is_empty() || host.chars().any(char::is_whitespace) {
            return Err(invalid(
                "host:port with a non-empty host name, e.g. localhost:9092",
            ));
        }
        let port: u16 = port
            .parse()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| invalid("host:port with a port from 1 to 65535"))?;
        Ok(BrokerAddress {
            host: host.to_owned(),
            port,
        })
    }
}

/// `isolation.level`: whether a reader sees records of open and aborted
/// transactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum IsolationLevel {
    /// `read_uncommitted`: every record, up to the high watermark.
    #[default]
    ReadUncommitted,
    /// `read_committed`: only committed transactional records, up to the
    /// last stable offset; aborted records and control records are skipped.
    ReadCommitted,
}

impl IsolationLevel {
    /// The value Kafka puts on the wire.
    pub fn wire_value(self) -> i8 {
        match self {
            IsolationLevel::ReadUncommitted => 0,
            IsolationLevel::ReadCommitted => 1,
        }
    }
    fn name(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "read_uncommitted",
            IsolationLevel::ReadCommitted => "read_committed",
        }
    }
}

/// `security.protocol`: how connections are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SecurityProtocol {
    /// `PLAINTEXT`: plain TCP.
    #[default]
    Plaintext,
    /// `SSL`: TLS.
    Ssl,
    /// `SASL_PLAINTEXT`: SASL authentication over plain TCP.
    SaslPlaintext,
    /// `SASL_SSL`: SASL authentication over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// The Java name.
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }
    /// Whether connections start with a TLS handshake.
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }
    /// Whether connections authenticate with SASL after ApiVersions.
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

/// The Java property names this section accepts.
pub mod keys {
    /// Comma-separated `host:port` list used to find the cluster. Required.
    pub const BOOTSTRAP_SERVERS: &str = "bootstrap.servers";
    /// Sent with every request, for broker logs and quotas. Default `ferrokafka`.
    pub const CLIENT_ID: &str = "client.id";
    /// How long to wait for a response before failing the request and
    /// closing the connection. Default 30 000.
    pub const REQUEST_TIMEOUT_MS: &str = "request.timeout.ms";
    /// How long one TCP connect (plus handshake) may take. Default 10 000.
    pub const SOCKET_CONNECTION_SETUP_TIMEOUT_MS: &str = "socket.connection.setup.timeout.ms";
    /// Upper bound of the connect timeout as it grows after failures. Default 30 000.
    pub const SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS: &str =
        "socket.connection.setup.timeout.max.ms";
    /// ferrokafka's own: how long to keep trying `bootstrap.servers` before
    /// failing with the list of addresses tried and why each failed.
    /// Default 30 000.
    pub const BOOTSTRAP_TIMEOUT_MS: &str = "bootstrap.timeout.ms";
    /// Metadata older than this is refreshed before use. Default 300 000.
    pub const METADATA_MAX_AGE_MS: &str = "metadata.max.age.ms";
    /// First wait before retrying a failed request. Default 100.
    pub const RETRY_BACKOFF_MS: &str = "retry.backoff.ms";
    /// Cap of the exponential retry backoff. Default 1 000.
    pub const RETRY_BACKOFF_MAX_MS: &str = "retry.backoff.max.ms";
    /// First wait before reconnecting to a broker. Default 50.
    pub const RECONNECT_BACKOFF_MS: &str = "reconnect.backoff.ms";
    /// Cap of the exponential reconnect backoff. Default 1 000.
    pub const RECONNECT_BACKOFF_MAX_MS: &str = "reconnect.backoff.max.ms";
    /// Idle connections are closed after this long. Default 540 000.
    pub const CONNECTIONS_MAX_IDLE_MS: &str = "connections.max.idle.ms";
    /// Total time an admin call may take, retries included. Default 60 000.
    pub const DEFAULT_API_TIMEOUT_MS: &str = "default.api.timeout.ms";
    /// Requests sent on one connection before waiting for answers. Default 5.
    pub const MAX_IN_FLIGHT: &str = "max.in.flight.requests.per.connection";
    /// Minimum bytes a fetch waits for. Default 1.
    pub const FETCH_MIN_BYTES: &str = "fetch.min.bytes";
    /// Maximum bytes one fetch response may carry (soft: one batch always
    /// comes through). Default 52 428 800.
    pub const FETCH_MAX_BYTES: &str = "fetch.max.bytes";
    /// How long the broker may hold a fetch waiting for `fetch.min.bytes`. Default 500.
    pub const FETCH_MAX_WAIT_MS: &str = "fetch.max.wait.ms";
    /// Maximum bytes per partition in one fetch. Default 1 048 576.
    pub const MAX_PARTITION_FETCH_BYTES: &str = "max.partition.fetch.bytes";
    /// ferrokafka's own: fetched bytes buffered client-wide and not yet
    /// taken by readers; fetching pauses above it. Default 33 554 432.
    pub const FETCH_BUFFER_MAX_BYTES: &str = "fetch.buffer.max.bytes";
    /// `read_uncommitted` (default) or `read_committed`.
    pub const ISOLATION_LEVEL: &str = "isolation.level";
    /// Verify record batch CRCs when reading. Default true.
    pub const CHECK_CRCS: &str = "check.crcs";
    /// `PLAINTEXT` (default), `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
    pub const SECURITY_PROTOCOL: &str = "security.protocol";

    /// Every key, in documentation order.
    pub const ALL: [&str; 22] = [
        BOOTSTRAP_SERVERS,
        CLIENT_ID,
        REQUEST_TIMEOUT_MS,
        SOCKET_CONNECTION_SETUP_TIMEOUT_MS,
        SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS,
        BOOTSTRAP_TIMEOUT_MS,
        METADATA_MAX_AGE_MS,
        RETRY_BACKOFF_MS,
        RETRY_BACKOFF_MAX_MS,
        RECONNECT_BACKOFF_MS,
        RECONNECT_BACKOFF_MAX_MS,
        CONNECTIONS_MAX_IDLE_MS,
        DEFAULT_API_TIMEOUT_MS,
        MAX_IN_FLIGHT,
        FETCH_MIN_BYTES,
        FETCH_MAX_BYTES,
        FETCH_MAX_WAIT_MS,
        MAX_PARTITION_FETCH_BYTES,
        FETCH_BUFFER_MAX_BYTES,
        ISOLATION_LEVEL,
        CHECK_CRCS,
        SECURITY_PROTOCOL,
    ];
}

/// The validated settings every client needs. Build it with
/// [`ClientConfig::builder`] or [`ClientConfig::from_properties`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    bootstrap_servers: Vec<BrokerAddress>,
    client_id: String,
    request_timeout: Duration,
    connection_setup_timeout: Duration,
    connection_setup_timeout_max: Duration,
    bootstrap_timeout: Duration,
    metadata_max_age: Duration,
    retry_backoff: Duration,
    retry_backoff_max: Duration,
    reconnect_backoff: Duration,
    reconnect_backoff_max: Duration,
    connections_max_idle: Duration,
    default_api_timeout: Duration,
    max_in_flight: usize,
    fetch_min_bytes: i32,
    fetch_max_bytes: i32,
    fetch_max_wait: Duration,
    max_partition_fetch_bytes: i32,
    fetch_buffer_max_bytes: usize,
    isolation_level: IsolationLevel,
    check_crcs: bool,
    security_protocol: SecurityProtocol,
    security: crate::security::SecurityConfig,
    hooks: crate::hooks::HookSet,
}

impl Default for ClientConfig {
    /// Java's defaults, with no bootstrap servers (which
    /// [`validate`](ClientConfig::validate) requires).
    fn default() -> Self {
        ClientConfig {
            bootstrap_servers: Vec::new(),
            client_id: "ferrokafka".to_owned(),
            request_timeout: Duration::from_millis(30_000),
            connection_setup_timeout: Duration::from_millis(10_000),
            connection_setup_timeout_max: Duration::from_millis(30_000),
            bootstrap_timeout: Duration::from_millis(30_000),
            metadata_max_age: Duration::from_millis(300_000),
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_millis(1_000),
            reconnect_backoff: Duration::from_millis(50),
            reconnect_backoff_max: Duration::from_millis(1_000),
            connections_max_idle: Duration::from_millis(540_000),
            default_api_timeout: Duration::from_millis(60_000),
            max_in_flight: 5,
            fetch_min_bytes: 1,
            fetch_max_bytes: 52_428_800,
            fetch_max_wait: Duration::from_millis(500),
            max_partition_fetch_bytes: 1_048_576,
            fetch_buffer_max_bytes: 32 * 1024 * 1024,
            isolation_level: IsolationLevel::ReadUncommitted,
            check_crcs: true,
            security_protocol: SecurityProtocol::Plaintext,
            security: crate::security::SecurityConfig::default(),
            hooks: crate::hooks::HookSet::default(),
        }
    }
}

fn parse_ms(key: &'static str, value: &str, min: u64) -> Result<Duration, ConfigError> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|&v| v >= min && v <= i32::MAX as u64)
        .map(Duration::from_millis)
        .ok_or_else(|| ConfigError::InvalidValue {
            key,
            value: value.to_owned(),
            expected: format!("a whole number of milliseconds from {min} to {}", i32::MAX),
        })
}

fn parse_int(key: &'static str, value: &str, min: i64, max: i64) -> Result<i64, ConfigError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| ConfigError::InvalidValue {
            key,
            value: value.to_owned(),
            expected: format!("a whole number from {min} to {max}"),
        })
}

fn parse_choice<T: Copy>(
    key: &'static str,
    value: &str,
    choices: &[(&'static str, T)],
    case_insensitive: bool,
) -> Result<T, ConfigError> {
    let value_t = value.trim();
    choices
        .iter()
        .find(|(name, _)| {
            if case_insensitive {
                name.eq_ignore_ascii_case(value_t)
            } else {
                *name == value_t
            }
        })
        .map(|(_, v)| *v)
        .ok_or_else(|| ConfigError::InvalidValue {
            key,
            value: value.to_owned(),
            expected: format!(
                "one of {}",
                choices
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
}

/// Edit distance, for "did you mean" on unknown keys.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

fn unknown_key(key: &str) -> ConfigError {
    let suggestion = keys::ALL
        .iter()
        .chain(crate::security::keys::ALL.iter())
        .map(|k| (distance(key, k), *k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 5))
        .min()
        .map(|(_, k)| k);
    ConfigError::UnknownKey {
        key: key.to_owned(),
        suggestion,
        accepted: keys::ALL
            .iter()
            .chain(crate::security::keys::ALL.iter())
            .copied()
            .collect(),
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

    /// Parses a map of Java property names. Every key must be one of
    /// [`keys::ALL`] or of the security section's
    /// [`security::keys::ALL`](crate::security::keys::ALL); the result is
    /// validated.
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
                return Err(unknown_key(key));
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Parses the keys of this section out of `properties`, removing them,
    /// and leaves keys it does not know for other sections (producer,
    /// consumer). The result is validated.
    pub fn take_properties(properties: &mut HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut config = ClientConfig::default();
        for key in keys::ALL.iter().chain(crate::security::keys::ALL.iter()) {
            if let Some(value) = properties.remove(*key) {
                config.set(key, &value)?;
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Sets one property by its Java name. Returns `Ok(false)` for a key
    /// this section does not know.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
        use keys::*;
        match key {
            BOOTSTRAP_SERVERS => {
                self.bootstrap_servers = value
                    .split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(BrokerAddress::parse)
                    .collect::<Result<_, _>>()?;
                self.security
                    .set_bootstrap_host(self.bootstrap_servers.first().map(|b| b.host.clone()));
            }
            CLIENT_ID => self.client_id = value.to_owned(),
            REQUEST_TIMEOUT_MS => self.request_timeout = parse_ms(REQUEST_TIMEOUT_MS, value, 1)?,
            SOCKET_CONNECTION_SETUP_TIMEOUT_MS => {
                self.connection_setup_timeout = parse_ms(key_of(key), value, 1)?
            }
            SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS => {
                self.connection_setup_timeout_max = parse_ms(key_of(key), value, 1)?
            }
            BOOTSTRAP_TIMEOUT_MS => self.bootstrap_timeout = parse_ms(key_of(key), value, 1)?,
            METADATA_MAX_AGE_MS => self.metadata_max_age = parse_ms(key_of(key), value, 0)?,
            RETRY_BACKOFF_MS => self.retry_backoff = parse_ms(key_of(key), value, 0)?,
            RETRY_BACKOFF_MAX_MS => self.retry_backoff_max = parse_ms(key_of(key), value, 0)?,
            RECONNECT_BACKOFF_MS => self.reconnect_backoff = parse_ms(key_of(key), value, 0)?,
            RECONNECT_BACKOFF_MAX_MS => {
                self.reconnect_backoff_max = parse_ms(key_of(key), value, 0)?
            }
            CONNECTIONS_MAX_IDLE_MS => self.connections_max_idle = parse_ms(key_of(key), value, 1)?,
            DEFAULT_API_TIMEOUT_MS => self.default_api_timeout = parse_ms(key_of(key), value, 1)?,
            MAX_IN_FLIGHT => {
                self.max_in_flight = parse_int(MAX_IN_FLIGHT, value, 1, 1000)? as usize
            }
            FETCH_MIN_BYTES => {
                self.fetch_min_bytes = parse_int(FETCH_MIN_BYTES, value, 0, i32::MAX.into())? as i32
            }
            FETCH_MAX_BYTES => {
                self.fetch_max_bytes = parse_int(FETCH_MAX_BYTES, value, 1, i32::MAX.into())? as i32
            }
            FETCH_MAX_WAIT_MS => self.fetch_max_wait = parse_ms(FETCH_MAX_WAIT_MS, value, 0)?,
            MAX_PARTITION_FETCH_BYTES => {
                self.max_partition_fetch_bytes =
                    parse_int(MAX_PARTITION_FETCH_BYTES, value, 1, i32::MAX.into())? as i32
            }
            FETCH_BUFFER_MAX_BYTES => {
                self.fetch_buffer_max_bytes =
                    parse_int(FETCH_BUFFER_MAX_BYTES, value, 1024, 1 << 40)? as usize
            }
            ISOLATION_LEVEL => {
                self.isolation_level = parse_choice(
                    ISOLATION_LEVEL,
                    value,
                    &[
                        ("read_uncommitted", IsolationLevel::ReadUncommitted),
                        ("read_committed", IsolationLevel::ReadCommitted),
                    ],
                    false,
                )?
            }
            CHECK_CRCS => {
                self.check_crcs =
                    parse_choice(CHECK_CRCS, value, &[("true", true), ("false", false)], true)?
            }
            SECURITY_PROTOCOL => {
                self.security_protocol = parse_choice(
                    SECURITY_PROTOCOL,
                    value,
                    &[
                        ("PLAINTEXT", SecurityProtocol::Plaintext),
                        ("SSL", SecurityProtocol::Ssl),
                        ("SASL_PLAINTEXT", SecurityProtocol::SaslPlaintext),
                        ("SASL_SSL", SecurityProtocol::SaslSsl),
                    ],
                    true,
                )?
            }
            _ => return self.security.set(key, value),
        }
        Ok(true)
    }

    /// Checks the settings against each other. [`from_properties`] and
    /// [`ClientConfigBuilder::build`] call it.
    ///
    /// [`from_properties`]: ClientConfig::from_properties
    pub fn validate(&self) -> Result<(), ConfigError> {
        use keys::*;
        if self.bootstrap_servers.is_empty() {
            return Err(ConfigError::Missing {
                key: BOOTSTRAP_SERVERS,
                hint: "set it to a comma-separated list of host:port, e.g. localhost:9092",
            });
        }
        let ms = |d: Duration| d.as_millis().to_string();
        let pairs = [
            (
                RETRY_BACKOFF_MS,
                self.retry_backoff,
                RETRY_BACKOFF_MAX_MS,
                self.retry_backoff_max,
            ),
            (
                RECONNECT_BACKOFF_MS,
                self.reconnect_backoff,
                RECONNECT_BACKOFF_MAX_MS,
                self.reconnect_backoff_max,
            ),
            (
                SOCKET_CONNECTION_SETUP_TIMEOUT_MS,
                self.connection_setup_timeout,
                SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS,
                self.connection_setup_timeout_max,
            ),
        ];
        for (key, value, other, max) in pairs {
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
        if self.max_partition_fetch_bytes > self.fetch_max_bytes {
            return Err(ConfigError::Conflict {
                key: MAX_PARTITION_FETCH_BYTES,
                value: self.max_partition_fetch_bytes.to_string(),
                other: FETCH_MAX_BYTES,
                other_value: self.fetch_max_bytes.to_string(),
                hint: "one partition cannot get more than a whole fetch; raise fetch.max.bytes",
            });
        }
        if self.fetch_max_wait >= self.request_timeout {
            return Err(ConfigError::Conflict {
                key: FETCH_MAX_WAIT_MS,
                value: ms(self.fetch_max_wait),
                other: REQUEST_TIMEOUT_MS,
                other_value: ms(self.request_timeout),
                hint: "a fetch the broker may hold that long would time out; lower fetch.max.wait.ms or raise request.timeout.ms",
            });
        }
        self.security.validate(self.security_protocol)
    }

    /// The `bootstrap.servers` entries.
    pub fn bootstrap_servers(&self) -> &[BrokerAddress] {
        &self.bootstrap_servers
    }
    /// `client.id`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
    /// `request.timeout.ms`.
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }
    /// `socket.connection.setup.timeout.ms`.
    pub fn connection_setup_timeout(&self) -> Duration {
        self.connection_setup_timeout
    }
    /// `socket.connection.setup.timeout.max.ms`.
    pub fn connection_setup_timeout_max(&self) -> Duration {
        self.connection_setup_timeout_max
    }
    /// `bootstrap.timeout.ms`.
    pub fn bootstrap_timeout(&self) -> Duration {
        self.bootstrap_timeout
    }
    /// `metadata.max.age.ms`.
    pub fn metadata_max_age(&self) -> Duration {
        self.metadata_max_age
    }
    /// `retry.backoff.ms`.
    pub fn retry_backoff(&self) -> Duration {
        self.retry_backoff
    }
    /// `retry.backoff.max.ms`.
    pub fn retry_backoff_max(&self) -> Duration {
        self.retry_backoff_max
    }
    /// `reconnect.backoff.ms`.
    pub fn reconnect_backoff(&self) -> Duration {
        self.reconnect_backoff
    }
    /// `reconnect.backoff.max.ms`.
    pub fn reconnect_backoff_max(&self) -> Duration {
        self.reconnect_backoff_max
    }
    /// `connections.max.idle.ms`.
    pub fn connections_max_idle(&self) -> Duration {
        self.connections_max_idle
    }
    /// `default.api.timeout.ms`.
    pub fn default_api_timeout(&self) -> Duration {
        self.default_api_timeout
    }
    /// `max.in.flight.requests.per.connection`.
    pub fn max_in_flight(&self) -> usize {
        self.max_in_flight
    }
    /// `fetch.min.bytes`.
    pub fn fetch_min_bytes(&self) -> i32 {
        self.fetch_min_bytes
    }
    /// `fetch.max.bytes`.
    pub fn fetch_max_bytes(&self) -> i32 {
        self.fetch_max_bytes
    }
    /// `fetch.max.wait.ms`.
    pub fn fetch_max_wait(&self) -> Duration {
        self.fetch_max_wait
    }
    /// `max.partition.fetch.bytes`.
    pub fn max_partition_fetch_bytes(&self) -> i32 {
        self.max_partition_fetch_bytes
    }
    /// `fetch.buffer.max.bytes`.
    pub fn fetch_buffer_max_bytes(&self) -> usize {
        self.fetch_buffer_max_bytes
    }
    /// `isolation.level`.
    pub fn isolation_level(&self) -> IsolationLevel {
        self.isolation_level
    }
    /// `check.crcs`.
    pub fn check_crcs(&self) -> bool {
        self.check_crcs
    }
    /// `security.protocol`.
    pub fn security_protocol(&self) -> SecurityProtocol {
        self.security_protocol
    }
    /// The TLS and SASL settings (`ssl.*`, `sasl.*`).
    pub fn security(&self) -> &crate::security::SecurityConfig {
        &self.security
    }
    /// The registered hooks.
    pub(crate) fn hooks(&self) -> &crate::hooks::HookSet {
        &self.hooks
    }

    /// Every setting as Java property names and values, for display.
    pub fn to_properties(&self) -> Vec<(&'static str, String)> {
        use keys::*;
        let ms = |d: Duration| d.as_millis().to_string();
        let mut out = vec![
            (
                BOOTSTRAP_SERVERS,
                self.bootstrap_servers
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            (CLIENT_ID, self.client_id.clone()),
            (REQUEST_TIMEOUT_MS, ms(self.request_timeout)),
            (
                SOCKET_CONNECTION_SETUP_TIMEOUT_MS,
                ms(self.connection_setup_timeout),
            ),
            (
                SOCKET_CONNECTION_SETUP_TIMEOUT_MAX_MS,
                ms(self.connection_setup_timeout_max),
            ),
            (BOOTSTRAP_TIMEOUT_MS, ms(self.bootstrap_timeout)),
            (METADATA_MAX_AGE_MS, ms(self.metadata_max_age)),
            (RETRY_BACKOFF_MS, ms(self.retry_backoff)),
            (RETRY_BACKOFF_MAX_MS, ms(self.retry_backoff_max)),
            (RECONNECT_BACKOFF_MS, ms(self.reconnect_backoff)),
            (RECONNECT_BACKOFF_MAX_MS, ms(self.reconnect_backoff_max)),
            (CONNECTIONS_MAX_IDLE_MS, ms(self.connections_max_idle)),
            (DEFAULT_API_TIMEOUT_MS, ms(self.default_api_timeout)),
            (MAX_IN_FLIGHT, self.max_in_flight.to_string()),
            (FETCH_MIN_BYTES, self.fetch_min_bytes.to_string()),
            (FETCH_MAX_BYTES, self.fetch_max_bytes.to_string()),
            (FETCH_MAX_WAIT_MS, ms(self.fetch_max_wait)),
            (
                MAX_PARTITION_FETCH_BYTES,
                self.max_partition_fetch_bytes.to_string(),
            ),
            (
                FETCH_BUFFER_MAX_BYTES,
                self.fetch_buffer_max_bytes.to_string(),
            ),
            (ISOLATION_LEVEL, self.isolation_level.name().to_owned()),
            (CHECK_CRCS, self.check_crcs.to_string()),
            (SECURITY_PROTOCOL, self.security_protocol.name().to_owned()),
        ];
        out.extend(self.security.to_properties());
        out
    }
}

/// Maps a key back to its `&'static str` constant (for error messages).
fn key_of(key: &str) -> &'static str {
    keys::ALL
        .iter()
        .find(|k| **k == key)
        .copied()
        .unwrap_or("?")
}

/// Typed construction of a [`ClientConfig`]; [`build`](Self::build) validates.
#[derive(Debug, Clone)]
#[must_use]
pub struct ClientConfigBuilder {
    config: ClientConfig,
    error: Option<ConfigError>,
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $ty:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, value: $ty) -> Self {
            self.config.$name = value;
            self
        }
    };
}

impl ClientConfigBuilder {
    /// `bootstrap.servers`: a comma-separated `host:port` list. A malformed
    /// entry is reported by [`build`](Self::build).
    pub fn bootstrap_servers(mut self, servers: &str) -> Self {
        if let Err(e) = self.config.set(keys::BOOTSTRAP_SERVERS, servers) {
            self.error.get_or_insert(e);
        }
        self
    }
    /// `client.id`.
    pub fn client_id(mut self, id: impl Into<String>) -> Self {
        self.config.client_id = id.into();
        self
    }
    /// Sets any property by its Java name (as [`ClientConfig::set`]); an
    /// unknown key or bad value is reported by [`build`](Self::build).
    pub fn property(mut self, key: &str, value: &str) -> Self {
        match self.config.set(key, value) {
            Ok(true) => {}
            Ok(false) => {
                self.error.get_or_insert(unknown_key(key));
            }
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }
    setter!(/// `request.timeout.ms`.
        request_timeout: Duration);
    setter!(/// `socket.connection.setup.timeout.ms`.
        connection_setup_timeout: Duration);
    setter!(/// `socket.connection.setup.timeout.max.ms`.
        connection_setup_timeout_max: Duration);
    setter!(/// `bootstrap.timeout.ms`.
        bootstrap_timeout: Duration);
    setter!(/// `metadata.max.age.ms`.
        metadata_max_age: Duration);
    setter!(/// `retry.backoff.ms`.
        retry_backoff: Duration);
    setter!(/// `retry.backoff.max.ms`.
        retry_backoff_max: Duration);
    setter!(/// `reconnect.backoff.ms`.
        reconnect_backoff: Duration);
    setter!(/// `reconnect.backoff.max.ms`.
        reconnect_backoff_max: Duration);
    setter!(/// `connections.max.idle.ms`.
        connections_max_idle: Duration);
    setter!(/// `default.api.timeout.ms`.
        default_api_timeout: Duration);
    setter!(/// `max.in.flight.requests.per.connection`.
        max_in_flight: usize);
    setter!(/// `fetch.min.bytes`.
        fetch_min_bytes: i32);
    setter!(/// `fetch.max.bytes`.
        fetch_max_bytes: i32);
    setter!(/// `fetch.max.wait.ms`.
        fetch_max_wait: Duration);
    setter!(/// `max.partition.fetch.bytes`.
        max_partition_fetch_bytes: i32);
    setter!(/// `fetch.buffer.max.bytes`.
        fetch_buffer_max_bytes: usize);
    setter!(/// `isolation.level`.
        isolation_level: IsolationLevel);
    setter!(/// `check.crcs`.
        check_crcs: bool);
    setter!(/// `security.protocol`.
        security_protocol: SecurityProtocol);
    /// The OAUTHBEARER token source (with `sasl.mechanism=OAUTHBEARER`):
    /// a [`StaticToken`](ferrokafka_auth::token::StaticToken), a
    /// [`TokenCallback`](ferrokafka_auth::token::TokenCallback) or your own
    /// [`TokenProvider`](ferrokafka_auth::token::TokenProvider). Asked for
    /// a token on every new connection.
    pub fn oauthbearer_token_provider(
        mut self,
        provider: std::sync::Arc<dyn ferrokafka_auth::token::TokenProvider>,
    ) -> Self {
        self.config.security.set_token_provider(provider);
        self
    }

    /// Registers `hook` (see [`hooks`](crate::hooks)); every registered
    /// hook is called, in the order registered.
    pub fn hook(mut self, hook: std::sync::Arc<dyn crate::hooks::Hooks>) -> Self {
        self.config.hooks = self.config.hooks.with(hook);
        self
    }

    /// Validates and returns the configuration.
    pub fn build(self) -> Result<ClientConfig, ConfigError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let c = &self.config;
        let range = |key: &'static str, value: String, ok: bool, expected: &str| {
            if ok {
                Ok(())
            } else {
                Err(ConfigError::InvalidValue {
                    key,
                    value,
                    expected: expected.to_owned(),
                })
            }
        };
        range(
            keys::MAX_IN_FLIGHT,
            c.max_in_flight.to_string(),
            (1..=1000).contains(&c.max_in_flight),
            "a whole number from 1 to 1000",
        )?;
        for (key, v) in [
            (keys::FETCH_MAX_BYTES, c.fetch_max_bytes),
            (keys::MAX_PARTITION_FETCH_BYTES, c.max_partition_fetch_bytes),
        ] {
            range(
                key,
                v.to_string(),
                v >= 1,
                "a whole number from 1 to 2147483647",
            )?;
        }
        range(
            keys::FETCH_MIN_BYTES,
            c.fetch_min_bytes.to_string(),
            c.fetch_min_bytes >= 0,
            "a whole number from 0 to 2147483647",
        )?;
        range(
            keys::FETCH_BUFFER_MAX_BYTES,
            c.fetch_buffer_max_bytes.to_string(),
            c.fetch_buffer_max_bytes >= 1024,
            "at least 1024 bytes",
        )?;
        for (key, d) in [
            (keys::REQUEST_TIMEOUT_MS, c.request_timeout),
            (keys::BOOTSTRAP_TIMEOUT_MS, c.bootstrap_timeout),
            (
                keys::SOCKET_CONNECTION_SETUP_TIMEOUT_MS,
                c.connection_setup_timeout,
            ),
            (keys::DEFAULT_API_TIMEOUT_MS, c.default_api_timeout),
            (keys::CONNECTIONS_MAX_IDLE_MS, c.connections_max_idle),
        ] {
            range(
                key,
                format!("{d:?}"),
                !d.is_zero() && d <= Duration::from_millis(i32::MAX as u64),
                "a duration from 1 ms to 2147483647 ms",
            )?;
        }
        self.config.validate()?;
        Ok(self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn parses_java_names_and_keeps_defaults() {
        let config = ClientConfig::from_properties(&props(&[
            ("bootstrap.servers", " a:1 , [::1]:9092,10.0.0.1:2"),
            ("request.timeout.ms", "1234"),
            ("isolation.level", "read_committed"),
            ("check.crcs", "FALSE"),
            ("security.protocol", "plaintext"),
        ]))
        .unwrap();
        assert_eq!(
            config.bootstrap_servers(),
            &[
                BrokerAddress {
                    host: "a".into(),
                    port: 1
                },
                BrokerAddress {
                    host: "::1".into(),
                    port: 9092
                },
                BrokerAddress {
                    host: "10.0.0.1".into(),
                    port: 2
                },
            ]
        );
        assert_eq!(config.bootstrap_servers()[1].to_string(), "[::1]:9092");
        assert_eq!(config.request_timeout(), Duration::from_millis(1234));
        assert_eq!(config.isolation_level(), IsolationLevel::ReadCommitted);
        assert!(!config.check_crcs());
        assert_eq!(config.metadata_max_age(), Duration::from_secs(300));
        assert_eq!(config.bootstrap_timeout(), Duration::from_secs(30));
    }

    #[test]
    fn every_key_round_trips_through_to_properties() {
        let config = ClientConfig::builder()
            .bootstrap_servers("h:1")
            .build()
            .unwrap();
        let map: HashMap<String, String> = config
            .to_properties()
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect();
        assert_eq!(map.len(), keys::ALL.len());
        assert_eq!(ClientConfig::from_properties(&map).unwrap(), config);
    }

    #[test]
    fn unknown_key_names_it_suggests_and_lists_accepted() {
        let err = ClientConfig::from_properties(&props(&[
            ("bootstrap.servers", "a:1"),
            ("request.timeout", "10"),
        ]))
        .unwrap_err();
        let ConfigError::UnknownKey {
            key, suggestion, ..
        } = &err
        else {
            panic!("{err:?}")
        };
        assert_eq!(key, "request.timeout");
        assert_eq!(*suggestion, Some("request.timeout.ms"));
        let text = err.to_string();
        assert!(
            text.contains("`request.timeout`") && text.contains("fetch.max.bytes"),
            "{text}"
        );
        // Nothing close: no suggestion, still the list.
        let err =
            ClientConfig::from_properties(&props(&[("bootstrap.servers", "a:1"), ("zzz", "1")]))
                .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::UnknownKey {
                    suggestion: None,
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn invalid_values_name_key_and_accepted_values() {
        for (key, value, needle) in [
            (
                "isolation.level",
                "committed",
                "read_uncommitted, read_committed",
            ),
            (
                "security.protocol",
                "TLS",
                "PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL",
            ),
            ("request.timeout.ms", "-5", "milliseconds"),
            ("request.timeout.ms", "10s", "milliseconds"),
            (
                "max.in.flight.requests.per.connection",
                "0",
                "from 1 to 1000",
            ),
            ("check.crcs", "yes", "true, false"),
            ("bootstrap.servers", "localhost", "port is required"),
            ("bootstrap.servers", "::1:9092", "brackets"),
            ("bootstrap.servers", "h:0", "1 to 65535"),
            ("bootstrap.servers", "h:99999", "1 to 65535"),
            ("bootstrap.servers", "PLAINTEXT://h:9092", "listener prefix"),
            ("bootstrap.servers", "[::1:9092", "[ipv6]:port"),
        ] {
            let mut map = props(&[("bootstrap.servers", "a:1")]);
            map.insert(key.to_owned(), value.to_owned());
            let err = ClientConfig::from_properties(&map).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(key), "{key}={value}: {text}");
            assert!(text.contains(needle), "{key}={value}: {text}");
        }
    }

    #[test]
    fn cross_checks() {
        let err = ClientConfig::from_properties(&props(&[])).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Missing {
                key: "bootstrap.servers",
                ..
            }
        ));
        let err = ClientConfig::from_properties(&props(&[
            ("bootstrap.servers", "a:1"),
            ("retry.backoff.ms", "5000"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("retry.backoff.max.ms"), "{err}");
        let err = ClientConfig::from_properties(&props(&[
            ("bootstrap.servers", "a:1"),
            ("max.partition.fetch.bytes", "100000000"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("fetch.max.bytes"), "{err}");
        let err = ClientConfig::from_properties(&props(&[
            ("bootstrap.servers", "a:1"),
            ("security.protocol", "SASL_SSL"),
        ]))
        .unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Missing {
                    key: "sasl.mechanism",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn builder_reports_bad_input_at_build() {
        let err = ClientConfig::builder()
            .bootstrap_servers("nope")
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("bootstrap.servers"));
        let err = ClientConfig::builder()
            .bootstrap_servers("a:1")
            .property("fetch.max.bites", "1")
            .build()
            .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::UnknownKey {
                suggestion: Some("fetch.max.bytes"),
                ..
            }
        ));
        let err = ClientConfig::builder()
            .bootstrap_servers("a:1")
            .request_timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert!(err.to_string().contains("request.timeout.ms"), "{err}");
        let ok = ClientConfig::builder()
            .bootstrap_servers("a:1")
            .property("fetch.max.wait.ms", "100")
            .max_in_flight(1)
            .build()
            .unwrap();
        assert_eq!(ok.fetch_max_wait(), Duration::from_millis(100));
        assert_eq!(ok.max_in_flight(), 1);
    }

    #[test]
    fn take_properties_leaves_other_sections() {
        let mut map = props(&[
            ("bootstrap.servers", "a:1"),
            ("linger.ms", "5"),
            ("fetch.min.bytes", "10"),
        ]);
        let config = ClientConfig::take_properties(&mut map).unwrap();
        assert_eq!(config.fetch_min_bytes(), 10);
        assert_eq!(map, props(&[("linger.ms", "5")]));
    }
}
