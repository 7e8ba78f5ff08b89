//! Validated settings of a batch or streaming Kafka source.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use ferrokafka::{ClientConfig, ConfigError, ProducerConfig};

use super::error::OptionWarning;
use super::keys::{is_sensitive, RefusedProperty, Side};
use super::OptionError;
use crate::java::string_hash_code;
use crate::planner::{
    MinRows, OffsetLimit, RangeCalculator, ReadLimit, TimestampStrategy, TopicSelection,
};

/// The Kafka client properties of the options: every `kafka.<property>`
/// option with the prefix stripped and the rest kept as given.
///
/// `Debug` shows the values of properties that may hold secrets (names
/// containing password, secret, jaas, token, key or credential) as
/// `<redacted>`.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct ClientProperties(BTreeMap<String, String>);

impl ClientProperties {
    pub(crate) fn insert(&mut self, property: String, value: String) {
        self.0.insert(property, value);
    }

    /// The value of `property`, matched exactly first, then ignoring case
    /// (as Spark matches option names).
    pub fn get(&self, property: &str) -> Option<&str> {
        self.0
            .get(property)
            .or_else(|| {
                self.0
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(property))
                    .map(|(_, value)| value)
            })
            .map(String::as_str)
    }

    /// `bootstrap.servers` (always present in validated settings).
    pub fn bootstrap_servers(&self) -> &str {
        self.get("bootstrap.servers").unwrap_or_default()
    }

    /// Whether the user set `group.id`.
    pub fn has_group_id(&self) -> bool {
        self.get("group.id").is_some()
    }

    /// The properties, sorted by name. Values are shown as given: do not log
    /// them.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
    }

    /// The properties as a map, for building the client's configuration.
    pub fn into_map(self) -> BTreeMap<String, String> {
        self.0
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The Kafka client's configuration from these properties.
    ///
    /// Spark forces some consumer properties (`auto.offset.reset`,
    /// `enable.auto.commit`, the deserializers, §1.5); there is nothing to
    /// force here: the source's reader reads exact offset ranges, never
    /// commits offsets and never resets a position (a start that is gone
    /// is data loss, see `failOnDataLoss`), and keys and values are always
    /// bytes. Java consumer properties the client has no use for are
    /// accepted and have no effect.
    ///
    /// A property the client refuses is an error naming the option with
    /// its `kafka.` prefix.
    ///
    /// ```
    /// use ferrokafka_streaming::options::SourceOptions;
    ///
    /// let options = SourceOptions::from_pairs([
    ///     ("kafka.bootstrap.servers", "host:9092"),
    ///     ("kafka.request.timeout.ms", "soon"),
    ///     ("subscribe", "orders"),
    /// ]);
    /// let settings = options.batch().unwrap();
    /// let err = settings.source.client_properties.client_config().unwrap_err();
    /// assert!(err.to_string().starts_with("option 'kafka.request.timeout.ms' is not accepted"), "{err}");
    /// ```
    pub fn client_config(&self) -> Result<ClientConfig, OptionError> {
        let properties: HashMap<&str, &str> = self.iter().collect();
        ClientConfig::from_properties(&properties).map_err(|source| self.refused(source))
    }

    /// The Kafka client's and the producer's configurations from these
    /// properties, for a sink: producer properties (`linger.ms`, `acks`,
    /// `enable.idempotence`, …) go to the [`ProducerConfig`], the rest to
    /// the [`ClientConfig`]. Nothing is forced: as with Spark's producer,
    /// the client's defaults apply, idempotence included (on unless
    /// `enable.idempotence=false`, or `acks`/`retries` rule it out).
    ///
    /// A property neither accepts is an error naming the option with its
    /// `kafka.` prefix and the closest property of any section.
    ///
    /// ```
    /// use ferrokafka_streaming::options::SourceOptions;
    ///
    /// let options = SourceOptions::from_pairs([
    ///     ("kafka.bootstrap.servers", "host:9092"),
    ///     ("kafka.linger.ms", "20"),
    ///     ("kafka.enable.idempotence", "false"),
    ///     ("subscribe", "orders"),
    /// ]);
    /// let settings = options.batch().unwrap();
    /// let (client, producer) = settings.source.client_properties.producer_config().unwrap();
    /// assert_eq!(client.bootstrap_servers()[0].to_string(), "host:9092");
    /// assert_eq!(producer.linger().as_millis(), 20);
    /// assert!(!producer.idempotence());
    /// ```
    pub fn producer_config(&self) -> Result<(ClientConfig, ProducerConfig), OptionError> {
        let mut properties: HashMap<String, String> = self
            .iter()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect();
        let producer = ProducerConfig::take_properties(&mut properties)
            .map_err(|source| self.refused(source))?;
        let client = ClientConfig::from_properties(&properties).map_err(|source| {
            // The client suggests keys of its own sections only; a sink
            // takes the producer's too.
            let source = match source {
                ConfigError::UnknownKey { key, .. } => {
                    let accepted: Vec<&'static str> = ferrokafka::config::KEYS
                        .iter()
                        .map(|info| info.name)
                        .collect();
                    ConfigError::UnknownKey {
                        suggestion: ferrokafka::config::closest(&key, accepted.iter().copied()),
                        key,
                        accepted,
                    }
                }
                other => other,
            };
            self.refused(source)
        })?;
        Ok((client, producer))
    }

    /// `source` as an option error naming the option as given.
    fn refused(&self, source: ConfigError) -> OptionError {
        let option = config_error_property(&source).map(|property| {
            let given = self
                .0
                .keys()
                .find(|name| name.eq_ignore_ascii_case(property))
                .map_or(property, String::as_str);
            format!("kafka.{given}")
        });
        OptionError::BadClientProperty { option, source }
    }

    /// Refuses the properties Spark refuses for a sink (`key.serializer`,
    /// `value.serializer`); sources are checked when their settings are made.
    pub fn check_for_sink(&self) -> Result<(), OptionError> {
        let options: Vec<String> = self.0.keys().map(|name| format!("kafka.{name}")).collect();
        match RefusedProperty::first_among(Side::Sink, options.iter().map(String::as_str)) {
            Some((key, refusal)) => Err(OptionError::RefusedClientProperty { key, refusal }),
            None => Ok(()),
        }
    }
}

/// The property a client configuration error is about, when it names one.
fn config_error_property(error: &ConfigError) -> Option<&str> {
    match error {
        ConfigError::UnknownKey { key, .. } => Some(key),
        ConfigError::OtherSection { key, .. }
        | ConfigError::InvalidValue { key, .. }
        | ConfigError::Missing { key, .. }
        | ConfigError::Conflict { key, .. }
        | ConfigError::Unsupported { key, .. } => Some(key),
        ConfigError::Jaas(_) => Some(ferrokafka::config::keys::SASL_JAAS_CONFIG),
        _ => None,
    }
}

impl fmt::Debug for ClientProperties {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in &self.0 {
            if is_sensitive(name) {
                map.entry(name, &format_args!("<redacted>"));
            } else {
                map.entry(name, value);
            }
        }
        map.finish()
    }
}

/// Settings both query kinds share.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SourceSettings {
    /// `assign`, `subscribe` or `subscribePattern`.
    pub topics: TopicSelection,
    /// The `kafka.` options, prefix stripped, for the Kafka client.
    pub client_properties: ClientProperties,
    /// Where a new query starts (`startingTimestamp`, then
    /// `startingOffsetsByTimestamp`, then `startingOffsets`; default latest
    /// for streams, earliest for batches). Ignored when resuming from a
    /// checkpoint.
    pub starting: OffsetLimit,
    /// `startingOffsetsByTimestampStrategy` (default error).
    pub timestamp_strategy: TimestampStrategy,
    /// `failOnDataLoss` (default true).
    pub fail_on_data_loss: bool,
    /// `kafkaConsumer.pollTimeoutMs` (default 120000, Spark's
    /// `spark.network.timeout`).
    pub poll_timeout_ms: i64,
    /// `fetchOffset.numRetries`: attempts of each offset lookup (default 3).
    pub fetch_offset_num_retries: u32,
    /// `fetchOffset.retryIntervalMs`: pause between them (default 1000, as
    /// Spark's code; its documentation says 10).
    pub fetch_offset_retry_interval_ms: i64,
    /// `minPartitions` and `maxRecordsPerPartition`.
    pub calculator: RangeCalculator,
    /// `groupIdPrefix` (default `spark-kafka-source` for streams,
    /// `spark-kafka-relation` for batches).
    pub group_id_prefix: String,
    /// `includeHeaders` (default false).
    pub include_headers: bool,
}

/// Consumer group ids, as Spark derives them (§1.4).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConsumerGroups {
    /// `<groupIdPrefix>-<uuid>` (batch) or
    /// `<groupIdPrefix>-<uuid>-<metadataPath.hashCode>` (stream).
    pub unique_group_id: String,
    /// `<unique>-driver`: the prefix of the driver's reader.
    pub driver_group_id_prefix: String,
    /// The readers' `group.id`: the user's `kafka.group.id` if set, else
    /// `<unique>-executor`.
    pub executor_group_id: String,
}

impl SourceSettings {
    fn consumer_groups(&self, unique_group_id: String) -> ConsumerGroups {
        ConsumerGroups {
            driver_group_id_prefix: format!("{unique_group_id}-driver"),
            executor_group_id: self
                .client_properties
                .get("group.id")
                .map_or_else(|| format!("{unique_group_id}-executor"), str::to_owned),
            unique_group_id,
        }
    }
}

/// Validated settings of a batch query.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchSettings {
    /// What batches and streams share.
    pub source: SourceSettings,
    /// Where the query ends (`endingTimestamp`, then
    /// `endingOffsetsByTimestamp`, then `endingOffsets`; default latest).
    pub ending: OffsetLimit,
    pub(crate) warnings: Vec<OptionWarning>,
}

impl BatchSettings {
    /// What was accepted but deserves a word (also logged once).
    pub fn warnings(&self) -> &[OptionWarning] {
        &self.warnings
    }

    /// The query's consumer groups, with `uuid` from
    /// [`java::random_uuid`](crate::java::random_uuid) (passed in so tests
    /// can fix it).
    pub fn consumer_groups(&self, uuid: &str) -> ConsumerGroups {
        self.source
            .consumer_groups(format!("{}-{uuid}", self.source.group_id_prefix))
    }
}

/// Validated settings of a streaming query.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StreamSettings {
    /// What batches and streams share.
    pub source: SourceSettings,
    /// `maxOffsetsPerTrigger`.
    pub max_offsets_per_trigger: Option<i64>,
    /// `minOffsetsPerTrigger`.
    pub min_offsets_per_trigger: Option<i64>,
    /// `maxTriggerDelay` in milliseconds (default 15 minutes).
    pub max_trigger_delay_ms: i64,
    /// `bytesEstimateWindowLength` in milliseconds (default 300 s): the
    /// window of the bytes-behind estimate.
    pub bytes_estimate_window_ms: i64,
    pub(crate) warnings: Vec<OptionWarning>,
}

impl StreamSettings {
    /// What was accepted but deserves a word (also logged once).
    pub fn warnings(&self) -> &[OptionWarning] {
        &self.warnings
    }

    /// The default read limit per trigger (ignore it under `Trigger.Once`,
    /// which reads everything).
    pub fn read_limit(&self) -> ReadLimit {
        ReadLimit {
            min_rows: self.min_offsets_per_trigger.map(|rows| MinRows {
                rows,
                max_trigger_delay_ms: self.max_trigger_delay_ms,
            }),
            max_rows: self.max_offsets_per_trigger,
        }
    }

    /// The query's consumer groups: `metadata_path` is the source's
    /// checkpoint directory (e.g. `<checkpoint>/sources/0`), `uuid` from
    /// [`java::random_uuid`](crate::java::random_uuid).
    pub fn consumer_groups(&self, metadata_path: &str, uuid: &str) -> ConsumerGroups {
        self.source.consumer_groups(format!(
            "{}-{uuid}-{}",
            self.source.group_id_prefix,
            string_hash_code(metadata_path)
        ))
    }
}
