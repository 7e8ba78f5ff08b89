//! The producer's configuration section, with Java property names.
//!
//! Connection settings (`bootstrap.servers`, `request.timeout.ms`,
//! `retry.backoff.ms`, `max.in.flight.requests.per.connection`, …) live in
//! [`ClientConfig`](crate::ClientConfig); this section holds the rest.
//!
//! ```
//! use std::collections::HashMap;
//! use ferrokafka::{ClientConfig, producer::ProducerConfig};
//!
//! let mut props = HashMap::from([
//!     ("bootstrap.servers".to_owned(), "localhost:9092".to_owned()),
//!     ("linger.ms".to_owned(), "10".to_owned()),
//!     ("compression.type".to_owned(), "zstd".to_owned()),
//! ]);
//! let producer = ProducerConfig::take_properties(&mut props)?;
//! let client = ClientConfig::take_properties(&mut props)?;
//! assert!(props.is_empty());
//! assert!(producer.idempotence());
//! # Ok::<(), ferrokafka::ConfigError>(())
//! ```

use std::collections::HashMap;
use std::time::Duration;

use ferrokafka_protocol::compression::Compression;

use crate::config::ConfigError;

/// `acks`: how many replicas must have a batch before it counts as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum Acks {
    /// `0`: no answer at all: a record counts as delivered once written
    /// to the socket, with offset -1; nothing says whether the broker
    /// took it, and idempotence is off.
    None,
    /// `1`: the leader.
    Leader,
    /// `all` / `-1`: every in-sync replica (required by idempotence).
    #[default]
    All,
}

impl Acks {
    /// The value sent in Produce requests.
    pub fn wire_value(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
    fn name(self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

/// The Java property names of this section.
pub mod keys {
    /// `0`, `1` or `all` (default `all`).
    pub const ACKS: &str = "acks";
    /// How long a batch waits for more records. Default 5.
    pub const LINGER_MS: &str = "linger.ms";
    /// Bytes per partition batch before it is sent. Default 16 384.
    pub const BATCH_SIZE: &str = "batch.size";
    /// Largest record the producer accepts, in bytes. Default 1 048 576.
    pub const MAX_REQUEST_SIZE: &str = "max.request.size";
    /// Bytes of records buffered and not yet acknowledged; `send` waits
    /// when full. Default 33 554 432.
    pub const BUFFER_MEMORY: &str = "buffer.memory";
    /// How long `send` may wait for metadata or buffer space. Default 60 000.
    pub const MAX_BLOCK_MS: &str = "max.block.ms";
    /// `none`, `gzip`, `snappy`, `lz4` or `zstd`. Default `none`.
    pub const COMPRESSION_TYPE: &str = "compression.type";
    /// gzip level 1..=9.
    pub const COMPRESSION_GZIP_LEVEL: &str = "compression.gzip.level";
    /// lz4 level 1..=17.
    pub const COMPRESSION_LZ4_LEVEL: &str = "compression.lz4.level";
    /// zstd level.
    pub const COMPRESSION_ZSTD_LEVEL: &str = "compression.zstd.level";
    /// Upper bound on the time from `send` to the record's outcome,
    /// retries included. Default 120 000.
    pub const DELIVERY_TIMEOUT_MS: &str = "delivery.timeout.ms";
    /// How many times a batch is sent again after a retriable error.
    /// Default 2147483647 (bounded by `delivery.timeout.ms`).
    pub const RETRIES: &str = "retries";
    /// Exactly-once per partition (KIP-98). Default true.
    pub const ENABLE_IDEMPOTENCE: &str = "enable.idempotence";

    /// Every key of this section.
    pub const ALL: [&str; 13] = [
        ACKS,
        LINGER_MS,
        BATCH_SIZE,
        MAX_REQUEST_SIZE,
        BUFFER_MEMORY,
        MAX_BLOCK_MS,
        COMPRESSION_TYPE,
        COMPRESSION_GZIP_LEVEL,
        COMPRESSION_LZ4_LEVEL,
        COMPRESSION_ZSTD_LEVEL,
        DELIVERY_TIMEOUT_MS,
        RETRIES,
        ENABLE_IDEMPOTENCE,
    ];
}

/// The validated producer settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerConfig {
    acks: Acks,
    acks_explicit: bool,
    linger: Duration,
    batch_size: usize,
    max_request_size: usize,
    buffer_memory: usize,
    max_block: Duration,
    compression: Compression,
    gzip_level: Option<i32>,
    lz4_level: Option<i32>,
    zstd_level: Option<i32>,
    delivery_timeout: Duration,
    retries: u32,
    idempotence: bool,
    idempotence_explicit: bool,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            acks_explicit: false,
            linger: Duration::from_millis(5),
            batch_size: 16_384,
            max_request_size: 1_048_576,
            buffer_memory: 33_554_432,
            max_block: Duration::from_millis(60_000),
            compression: Compression::None,
            gzip_level: None,
            lz4_level: None,
            zstd_level: None,
            delivery_timeout: Duration::from_millis(120_000),
            retries: i32::MAX as u32,
            idempotence: true,
            idempotence_explicit: false,
        }
    }
}

fn invalid(key: &'static str, value: &str, expected: &str) -> ConfigError {
    ConfigError::InvalidValue {
        key,
        value: value.to_owned(),
        expected: expected.to_owned(),
    }
}

fn int(key: &'static str, value: &str, min: i64, max: i64) -> Result<i64, ConfigError> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| invalid(key, value, &format!("a whole number from {min} to {max}")))
}

fn ms(key: &'static str, value: &str, min: i64) -> Result<Duration, ConfigError> {
    int(key, value, min, i32::MAX.into()).map(|v| Duration::from_millis(v as u64))
}

impl ProducerConfig {
    /// Sets one property by its Java name; `Ok(false)` for a key of
    /// another section.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
        use keys::*;
        match key {
            ACKS => {
                self.acks = match value.trim() {
                    "0" => Acks::None,
                    "1" => Acks::Leader,
                    "all" | "-1" => Acks::All,
                    _ => return Err(invalid(ACKS, value, "one of 0, 1, all, -1")),
                };
                self.acks_explicit = true;
            }
            LINGER_MS => self.linger = ms(LINGER_MS, value, 0)?,
            BATCH_SIZE => self.batch_size = int(BATCH_SIZE, value, 0, i32::MAX.into())? as usize,
            MAX_REQUEST_SIZE => {
                self.max_request_size = int(MAX_REQUEST_SIZE, value, 1, i32::MAX.into())? as usize
            }
            BUFFER_MEMORY => {
                self.buffer_memory = int(BUFFER_MEMORY, value, 1024, 1 << 40)? as usize
            }
            MAX_BLOCK_MS => self.max_block = ms(MAX_BLOCK_MS, value, 0)?,
            COMPRESSION_TYPE => {
                let v = value.trim();
                self.compression = Compression::ALL
                    .into_iter()
                    .find(|c| c.name().eq_ignore_ascii_case(v))
                    .ok_or_else(|| {
                        invalid(
                            COMPRESSION_TYPE,
                            value,
                            "one of none, gzip, snappy, lz4, zstd",
                        )
                    })?;
            }
            COMPRESSION_GZIP_LEVEL => {
                self.gzip_level = Some(int(COMPRESSION_GZIP_LEVEL, value, 1, 9)? as i32)
            }
            COMPRESSION_LZ4_LEVEL => {
                self.lz4_level = Some(int(COMPRESSION_LZ4_LEVEL, value, 1, 17)? as i32)
            }
            COMPRESSION_ZSTD_LEVEL => {
                self.zstd_level = Some(int(COMPRESSION_ZSTD_LEVEL, value, -131_072, 22)? as i32)
            }
            DELIVERY_TIMEOUT_MS => self.delivery_timeout = ms(DELIVERY_TIMEOUT_MS, value, 1)?,
            RETRIES => self.retries = int(RETRIES, value, 0, i32::MAX.into())? as u32,
            ENABLE_IDEMPOTENCE => {
                self.idempotence = match value.trim().to_ascii_lowercase().as_str() {
                    "true" => true,
                    "false" => false,
                    _ => return Err(invalid(ENABLE_IDEMPOTENCE, value, "true or false")),
                };
                self.idempotence_explicit = true;
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// Removes this section's keys from `properties` and parses them,
    /// leaving other keys for other sections. The result is validated.
    pub fn take_properties(properties: &mut HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut config = ProducerConfig::default();
        for key in keys::ALL {
            if let Some(value) = properties.remove(key) {
                config.set(key, &value)?;
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Sets a property and returns the config, for chaining in code.
    pub fn with(mut self, key: &str, value: &str) -> Result<Self, ConfigError> {
        if !self.set(key, value)? {
            return Err(ConfigError::UnknownKey {
                key: key.to_owned(),
                suggestion: None,
                accepted: keys::ALL.to_vec(),
            });
        }
        self.validate()?;
        Ok(self)
    }

    /// Checks the settings against each other.
    ///
    /// Idempotence needs `acks=all` and `retries` > 0: when it was left at
    /// its default, a conflicting `acks` or `retries` turns it off (as the
    /// Java client does); when it was set to true explicitly, the conflict
    /// is an error.
    pub fn validate(&mut self) -> Result<(), ConfigError> {
        use keys::*;
        let conflict = if self.acks != Acks::All {
            Some((ACKS, self.acks.name().to_owned()))
        } else if self.retries == 0 {
            Some((RETRIES, "0".to_owned()))
        } else {
            None
        };
        if let (true, Some((key, value))) = (self.idempotence, conflict) {
            if self.idempotence_explicit {
                return Err(ConfigError::Conflict {
                    key,
                    value,
                    other: ENABLE_IDEMPOTENCE,
                    other_value: "true".to_owned(),
                    hint: "idempotence needs acks=all and retries > 0; change them or set enable.idempotence=false",
                });
            }
            self.idempotence = false;
        }
        let level = match self.compression {
            Compression::Gzip => self.gzip_level,
            Compression::Lz4 => self.lz4_level,
            Compression::Zstd => self.zstd_level,
            _ => None,
        };
        self.compression
            .validate_level(level)
            .map_err(|e| invalid(COMPRESSION_TYPE, self.compression.name(), &e.to_string()))?;
        Ok(())
    }

    /// `acks`.
    pub fn acks(&self) -> Acks {
        self.acks
    }
    /// `linger.ms`.
    pub fn linger(&self) -> Duration {
        self.linger
    }
    /// `batch.size` (at least one record per batch even when 0).
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }
    /// `max.request.size`.
    pub fn max_request_size(&self) -> usize {
        self.max_request_size
    }
    /// `buffer.memory`.
    pub fn buffer_memory(&self) -> usize {
        self.buffer_memory
    }
    /// `max.block.ms`.
    pub fn max_block(&self) -> Duration {
        self.max_block
    }
    /// `compression.type`.
    pub fn compression(&self) -> Compression {
        self.compression
    }
    /// The level of the configured codec (`compression.<codec>.level`),
    /// `None` for its default.
    pub fn compression_level(&self) -> Option<i32> {
        match self.compression {
            Compression::Gzip => self.gzip_level,
            Compression::Lz4 => self.lz4_level,
            Compression::Zstd => self.zstd_level,
            _ => None,
        }
    }
    /// `delivery.timeout.ms`.
    pub fn delivery_timeout(&self) -> Duration {
        self.delivery_timeout
    }
    /// `retries`.
    pub fn retries(&self) -> u32 {
        self.retries
    }
    /// Whether idempotence is on (after [`validate`](Self::validate)).
    pub fn idempotence(&self) -> bool {
        self.idempotence
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
    fn takes_its_keys_and_leaves_the_rest() {
        let mut p = props(&[
            ("linger.ms", "20"),
            ("compression.type", "LZ4"),
            ("compression.lz4.level", "9"),
            ("bootstrap.servers", "a:1"),
        ]);
        let c = ProducerConfig::take_properties(&mut p).unwrap();
        assert_eq!(c.linger(), Duration::from_millis(20));
        assert_eq!(c.compression(), Compression::Lz4);
        assert_eq!(c.compression_level(), Some(9));
        assert_eq!(p.len(), 1);
        assert!(p.contains_key("bootstrap.servers"));
    }

    #[test]
    fn idempotence_defaults_on_and_yields_to_acks_1() {
        assert!(ProducerConfig::default().idempotence());
        let c = ProducerConfig::take_properties(&mut props(&[("acks", "1")])).unwrap();
        assert!(!c.idempotence());
        assert_eq!(c.acks(), Acks::Leader);
        let err = ProducerConfig::take_properties(&mut props(&[
            ("acks", "1"),
            ("enable.idempotence", "true"),
        ]))
        .unwrap_err();
        assert!(
            err.to_string().contains("enable.idempotence=false"),
            "{err}"
        );
        let c = ProducerConfig::take_properties(&mut props(&[("enable.idempotence", "false")]))
            .unwrap();
        assert!(!c.idempotence());
    }

    #[test]
    fn bad_values_name_the_key() {
        for (k, v, want) in [
            ("compression.type", "brotli", "zstd"),
            ("acks", "2", "all"),
            ("linger.ms", "-1", "linger.ms"),
            ("compression.gzip.level", "12", "1 to 9"),
        ] {
            let e = ProducerConfig::take_properties(&mut props(&[(k, v)])).unwrap_err();
            assert!(e.to_string().contains(want), "{k}: {e}");
        }
    }

    #[test]
    fn acks_zero_turns_default_idempotence_off_and_conflicts_with_explicit() {
        let c = ProducerConfig::take_properties(&mut props(&[("acks", "0")])).unwrap();
        assert_eq!(c.acks(), Acks::None);
        assert!(!c.idempotence());
        let e = ProducerConfig::take_properties(&mut props(&[
            ("acks", "0"),
            ("enable.idempotence", "true"),
        ]))
        .unwrap_err();
        assert!(matches!(e, ConfigError::Conflict { .. }), "{e}");
    }
}
