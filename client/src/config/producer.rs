//! The producer section, with Java property names.
//!
//! Connection settings (`bootstrap.servers`, `request.timeout.ms`,
//! `retry.backoff.ms`, `max.in.flight.requests.per.connection`, …) live in
//! [`ClientConfig`](crate::ClientConfig); this section holds the rest.
//!
//! ```
//! use std::collections::HashMap;
//! use std::time::Duration;
//! use ferrokafka::{ClientConfig, ProducerConfig};
//!
//! // From a Java producer's properties: each section takes its keys.
//! let mut props = HashMap::from([
//!     ("bootstrap.servers".to_owned(), "localhost:9092".to_owned()),
//!     ("linger.ms".to_owned(), "10".to_owned()),
//!     ("compression.type".to_owned(), "zstd".to_owned()),
//! ]);
//! let producer = ProducerConfig::take_properties(&mut props)?;
//! let client = ClientConfig::take_properties(&mut props)?;
//! assert!(props.is_empty());
//! assert!(producer.idempotence());
//!
//! // In code, with typed setters:
//! let producer = ProducerConfig::builder()
//!     .linger(Duration::from_millis(10))
//!     .batch_size(64 * 1024usize)
//!     .build()?;
//! assert_eq!(producer.batch_size(), 65536);
//!
//! // A typo names the key it probably meant:
//! let err = ProducerConfig::builder().property("lingr.ms", "5").build().unwrap_err();
//! assert!(err.to_string().contains("did you mean `linger.ms`"));
//! # Ok::<(), ferrokafka::ConfigError>(())
//! ```

use std::collections::HashMap;
use std::time::Duration;

use ferrokafka_protocol::compression::Compression;

use super::error::ConfigError;
use super::kinds::{
    invalid, Choice, Inert, Int, Kind, Millis, Named, OptFlag, OptInt, OptText, MAX_MS,
};

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
}

impl Named for Acks {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("all", Acks::All),
        ("-1", Acks::All),
        ("1", Acks::Leader),
        ("0", Acks::None),
    ];
    const ANY_CASE: bool = true;
}

impl Named for Compression {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("none", Compression::None),
        ("gzip", Compression::Gzip),
        ("snappy", Compression::Snappy),
        ("lz4", Compression::Lz4),
        ("zstd", Compression::Zstd),
    ];
    const ANY_CASE: bool = true;
}

settings! {
    /// The producer section's values.
    values ProducerValues in Producer, keys producer_keys;
    getters on ProducerConfig, via producer_values;
    setters on ProducerConfigBuilder, via producer_values_mut;

    /// `0`, `1` or `all` (`-1`).
    ACKS "acks" => acks: Choice<Acks> = "all" pub(Acks);
    /// How long a batch waits for more records.
    LINGER_MS "linger.ms" => linger: Millis<0, MAX_MS> = "5" pub(Duration);
    /// Bytes per partition batch before it is sent (at least one record
    /// per batch even when 0).
    BATCH_SIZE "batch.size" => batch_size: Int<usize, 0, 2147483647> = "16384" pub(usize);
    /// Largest request (and so record) the producer sends, in bytes.
    MAX_REQUEST_SIZE "max.request.size" => max_request_size: Int<usize, 1, 2147483647> = "1048576" pub(usize);
    /// Bytes of records buffered and not yet acknowledged; `send` waits
    /// when full.
    BUFFER_MEMORY "buffer.memory" => buffer_memory: Int<usize, 1024, 1099511627776> = "33554432" pub(usize);
    /// How long `send` may wait for metadata or buffer space.
    MAX_BLOCK_MS "max.block.ms" => max_block: Millis<0, MAX_MS> = "60000" pub(Duration);
    /// `none`, `gzip`, `snappy`, `lz4` or `zstd`.
    COMPRESSION_TYPE "compression.type" => compression: Choice<Compression> = "none" pub(Compression);
    /// gzip level (KIP-390); unset: the codec's default.
    COMPRESSION_GZIP_LEVEL "compression.gzip.level" => gzip_level: OptInt<i32, 1, 9> = "" pub(Option<i32>, i32);
    /// lz4 level (KIP-390); unset: the codec's default.
    COMPRESSION_LZ4_LEVEL "compression.lz4.level" => lz4_level: OptInt<i32, 1, 17> = "" pub(Option<i32>, i32);
    /// zstd level (KIP-390); unset: the codec's default.
    COMPRESSION_ZSTD_LEVEL "compression.zstd.level" => zstd_level: OptInt<i32, -131072, 22> = "" pub(Option<i32>, i32);
    /// Upper bound on the time from `send` to the record's outcome,
    /// retries included.
    DELIVERY_TIMEOUT_MS "delivery.timeout.ms" => delivery_timeout: Millis<1, MAX_MS> = "120000" pub(Duration);
    /// How many times a batch is sent again after a retriable error
    /// (bounded by `delivery.timeout.ms`).
    RETRIES "retries" => retries: Int<u32, 0, 2147483647> = "2147483647" pub(u32);
    /// Exactly-once per partition (KIP-98). Unset: on, unless `acks` or
    /// `retries` rule it out (as Java's producer does); see
    /// [`ProducerConfig::idempotence`](crate::ProducerConfig::idempotence).
    ENABLE_IDEMPOTENCE "enable.idempotence" => enable_idempotence: OptFlag = "" pub(Option<bool>, bool);
    /// Transactions: not supported yet; setting it is an error.
    TRANSACTIONAL_ID "transactional.id" => transactional_id: OptText = "" inner;
    /// Java: the key serializer class. Keys are bytes here.
    KEY_SERIALIZER "key.serializer" => key_serializer: Inert = "" inner;
    /// Java: the value serializer class. Values are bytes here.
    VALUE_SERIALIZER "value.serializer" => value_serializer: Inert = "" inner;
    /// Java: the partitioner class. Partitioning here is Java's default
    /// (murmur2 on keys, sticky without); a custom one is given in code
    /// (`Producer::with_partitioner`).
    PARTITIONER_CLASS "partitioner.class" => partitioner_class: Inert = "" inner;
}

/// The validated producer settings. Build them with
/// [`ProducerConfig::builder`], from Java property names with
/// [`take_properties`](Self::take_properties), or as
/// `ProducerConfig::default().with(key, value)?`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProducerConfig {
    values: ProducerValues,
}

impl ProducerConfig {
    /// Every key of this section.
    pub const KEYS: &'static [super::KeyInfo] = ProducerValues::KEYS;

    /// A builder starting from the defaults.
    pub fn builder() -> ProducerConfigBuilder {
        ProducerConfigBuilder {
            config: ProducerConfig::default(),
            error: None,
        }
    }

    /// Sets one property by its Java name; `Ok(false)` for a key of
    /// another section.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
        self.values.set(key, value)
    }

    /// Removes this section's keys from `properties` and parses them,
    /// leaving other keys for other sections. The result is validated.
    pub fn take_properties(properties: &mut HashMap<String, String>) -> Result<Self, ConfigError> {
        let mut config = ProducerConfig::default();
        for key in ProducerValues::KEYS.iter().map(|k| k.name) {
            if let Some(value) = properties.remove(key) {
                config.set(key, &value)?;
            }
        }
        config.validate()?;
        Ok(config)
    }

    /// Sets a property and returns the config, for chaining in code. An
    /// unknown key is an error naming the closest known one.
    pub fn with(mut self, key: &str, value: &str) -> Result<Self, ConfigError> {
        if !self.set(key, value)? {
            return Err(super::unknown_key(key, Some(super::Section::Producer)));
        }
        self.validate()?;
        Ok(self)
    }

    /// Checks the settings against each other.
    ///
    /// Idempotence needs `acks=all` and `retries` > 0: when
    /// `enable.idempotence` is unset, a conflicting `acks` or `retries`
    /// turns it off (as the Java client does); when it is set to true,
    /// the conflict is an error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        use producer_keys::*;
        let v = &self.values;
        if let Some(id) = &v.transactional_id {
            return Err(ConfigError::Unsupported {
                key: TRANSACTIONAL_ID,
                value: id.clone(),
                hint: "transactions are not supported yet; remove transactional.id (the idempotent producer still writes each record once per partition)",
            });
        }
        if v.enable_idempotence == Some(true) {
            let conflict = if v.acks != Acks::All {
                Some((ACKS, Choice::<Acks>::show(&v.acks).unwrap_or_default()))
            } else if v.retries == 0 {
                Some((RETRIES, "0".to_owned()))
            } else {
                None
            };
            if let Some((key, value)) = conflict {
                return Err(ConfigError::Conflict {
                    key,
                    value,
                    other: ENABLE_IDEMPOTENCE,
                    other_value: "true".to_owned(),
                    hint: "idempotence needs acks=all and retries > 0; change them or set enable.idempotence=false",
                });
            }
        }
        v.compression
            .validate_level(self.compression_level())
            .map_err(|e| invalid(COMPRESSION_TYPE, v.compression.name(), e.to_string()))?;
        Ok(())
    }

    /// The level of the configured codec (`compression.<codec>.level`),
    /// `None` for its default.
    pub fn compression_level(&self) -> Option<i32> {
        let v = &self.values;
        match v.compression {
            Compression::Gzip => v.gzip_level,
            Compression::Lz4 => v.lz4_level,
            Compression::Zstd => v.zstd_level,
            _ => None,
        }
    }

    /// Whether idempotence is on: `enable.idempotence` when set, else on
    /// when `acks=all` and `retries` > 0 (Java's rule).
    pub fn idempotence(&self) -> bool {
        let v = &self.values;
        v.enable_idempotence
            .unwrap_or(v.acks == Acks::All && v.retries > 0)
    }

    /// Every set key of this section as Java property names and values,
    /// for display.
    pub fn to_properties(&self) -> Vec<(&'static str, String)> {
        let mut out = Vec::new();
        self.values.show(&mut out);
        out
    }
}

impl ProducerConfig {
    fn producer_values(&self) -> &ProducerValues {
        &self.values
    }
}

impl ProducerConfigBuilder {
    fn producer_values_mut(&mut self) -> &mut ProducerValues {
        &mut self.config.values
    }
}

/// Typed construction of a [`ProducerConfig`];
/// [`build`](Self::build) validates.
#[derive(Debug, Clone)]
#[must_use]
pub struct ProducerConfigBuilder {
    config: ProducerConfig,
    error: Option<ConfigError>,
}

impl ProducerConfigBuilder {
    /// Sets any property by its Java name; an unknown key or a bad value
    /// is reported by [`build`](Self::build).
    pub fn property(mut self, key: &str, value: &str) -> Self {
        match self.config.set(key, value) {
            Ok(true) => {}
            Ok(false) => {
                self.error
                    .get_or_insert(super::unknown_key(key, Some(super::Section::Producer)));
            }
            Err(e) => {
                self.error.get_or_insert(e);
            }
        }
        self
    }

    /// Validates and returns the configuration.
    pub fn build(self) -> Result<ProducerConfig, ConfigError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.config.validate()?;
        Ok(self.config)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::props;
    use super::*;

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

    #[test]
    fn typos_are_named_with_the_key_meant() {
        let e = ProducerConfig::default()
            .with("batch.sise", "10")
            .unwrap_err();
        assert!(
            matches!(
                e,
                ConfigError::UnknownKey {
                    suggestion: Some("batch.size"),
                    ..
                }
            ),
            "{e}"
        );
        // A key of another section says where it belongs.
        let e = ProducerConfig::builder()
            .property("request.timeout.ms", "10")
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("ClientConfig"), "{e}");
    }

    #[test]
    fn typed_setters_check_ranges_and_transactions_are_refused() {
        let e = ProducerConfig::builder()
            .batch_size(usize::MAX)
            .build()
            .unwrap_err();
        assert!(e.to_string().contains("batch.size"), "{e}");
        let c = ProducerConfig::builder()
            .acks(Acks::Leader)
            .compression(Compression::Zstd)
            .zstd_level(3)
            .build()
            .unwrap();
        assert_eq!(c.compression_level(), Some(3));
        assert!(!c.idempotence());
        let e = ProducerConfig::default()
            .with("transactional.id", "tx-1")
            .unwrap_err();
        assert!(matches!(e, ConfigError::Unsupported { .. }), "{e}");
    }

    #[test]
    fn every_set_key_round_trips_through_to_properties() {
        let c = ProducerConfig::builder()
            .property("linger.ms", "7")
            .property("compression.type", "gzip")
            .property("compression.gzip.level", "4")
            .property("enable.idempotence", "false")
            .property(
                "key.serializer",
                "org.apache.kafka.common.serialization.ByteArraySerializer",
            )
            .build()
            .unwrap();
        let mut again = ProducerConfig::default();
        for (k, v) in c.to_properties() {
            assert!(again.set(k, &v).unwrap(), "{k}");
        }
        assert_eq!(again, c);
    }
}
