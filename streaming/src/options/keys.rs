//! The option names Spark's Kafka source knows, the client properties it
//! refuses, and which values are secret.

/// Option names, as documented (the map itself is case-insensitive).
pub(crate) mod names {
    pub(crate) const ASSIGN: &str = "assign";
    pub(crate) const SUBSCRIBE: &str = "subscribe";
    pub(crate) const SUBSCRIBE_PATTERN: &str = "subscribePattern";
    pub(crate) const STARTING_OFFSETS: &str = "startingOffsets";
    pub(crate) const ENDING_OFFSETS: &str = "endingOffsets";
    pub(crate) const STARTING_TIMESTAMP: &str = "startingTimestamp";
    pub(crate) const ENDING_TIMESTAMP: &str = "endingTimestamp";
    pub(crate) const STARTING_OFFSETS_BY_TIMESTAMP: &str = "startingOffsetsByTimestamp";
    pub(crate) const ENDING_OFFSETS_BY_TIMESTAMP: &str = "endingOffsetsByTimestamp";
    pub(crate) const TIMESTAMP_STRATEGY: &str = "startingOffsetsByTimestampStrategy";
    pub(crate) const FAIL_ON_DATA_LOSS: &str = "failOnDataLoss";
    pub(crate) const POLL_TIMEOUT_MS: &str = "kafkaConsumer.pollTimeoutMs";
    pub(crate) const FETCH_OFFSET_NUM_RETRIES: &str = "fetchOffset.numRetries";
    pub(crate) const FETCH_OFFSET_RETRY_INTERVAL_MS: &str = "fetchOffset.retryIntervalMs";
    pub(crate) const MAX_OFFSETS_PER_TRIGGER: &str = "maxOffsetsPerTrigger";
    pub(crate) const MIN_OFFSETS_PER_TRIGGER: &str = "minOffsetsPerTrigger";
    pub(crate) const MAX_TRIGGER_DELAY: &str = "maxTriggerDelay";
    pub(crate) const MIN_PARTITIONS: &str = "minPartitions";
    pub(crate) const MAX_RECORDS_PER_PARTITION: &str = "maxRecordsPerPartition";
    pub(crate) const GROUP_ID_PREFIX: &str = "groupIdPrefix";
    pub(crate) const INCLUDE_HEADERS: &str = "includeHeaders";
    pub(crate) const BYTES_ESTIMATE_WINDOW_LENGTH: &str = "bytesEstimateWindowLength";
    /// Spark's internal test hook; accepted and ignored.
    pub(crate) const MOCK_SYSTEM_TIME: &str = "_mockSystemTime";
    pub(crate) const BOOTSTRAP_SERVERS: &str = "kafka.bootstrap.servers";
    pub(crate) const GROUP_ID: &str = "kafka.group.id";
    /// The sink's topic for every row.
    pub(crate) const TOPIC: &str = "topic";
    pub(crate) const PARTITIONER_CLASS: &str = "partitioner.class";
}

use names::*;

/// The options of a start limit, in Spark's order of precedence.
pub(crate) const STARTING_LIMIT_OPTIONS: [&str; 3] = [
    STARTING_TIMESTAMP,
    STARTING_OFFSETS_BY_TIMESTAMP,
    STARTING_OFFSETS,
];
/// The options of an end limit, in Spark's order of precedence.
pub(crate) const ENDING_LIMIT_OPTIONS: [&str; 3] = [
    ENDING_TIMESTAMP,
    ENDING_OFFSETS_BY_TIMESTAMP,
    ENDING_OFFSETS,
];

/// Every source option other than `kafka.*` ones.
pub(crate) const SOURCE_OPTIONS: &[&str] = &[
    ASSIGN,
    SUBSCRIBE,
    SUBSCRIBE_PATTERN,
    STARTING_OFFSETS,
    ENDING_OFFSETS,
    STARTING_TIMESTAMP,
    ENDING_TIMESTAMP,
    STARTING_OFFSETS_BY_TIMESTAMP,
    ENDING_OFFSETS_BY_TIMESTAMP,
    TIMESTAMP_STRATEGY,
    FAIL_ON_DATA_LOSS,
    POLL_TIMEOUT_MS,
    FETCH_OFFSET_NUM_RETRIES,
    FETCH_OFFSET_RETRY_INTERVAL_MS,
    MAX_OFFSETS_PER_TRIGGER,
    MIN_OFFSETS_PER_TRIGGER,
    MAX_TRIGGER_DELAY,
    MIN_PARTITIONS,
    MAX_RECORDS_PER_PARTITION,
    GROUP_ID_PREFIX,
    INCLUDE_HEADERS,
    BYTES_ESTIMATE_WINDOW_LENGTH,
    MOCK_SYSTEM_TIME,
];

/// The prefix of options passed to the Kafka client.
pub(crate) const CLIENT_PREFIX: &str = "kafka.";

/// Whether `key` (any case) is a source option other than a `kafka.` one.
pub(crate) fn is_source_option(key: &str) -> bool {
    SOURCE_OPTIONS
        .iter()
        .any(|known| known.eq_ignore_ascii_case(key))
}

/// Beginnings of Kafka client property names, to recognise a client
/// property given without its `kafka.` prefix.
const CLIENT_PROPERTY_STARTS: &[&str] = &[
    "bootstrap.",
    "security.",
    "sasl.",
    "ssl.",
    "group.",
    "client.",
    "isolation.",
    "session.",
    "request.",
    "metadata.",
    "max.poll",
    "fetch.max",
    "fetch.min",
    "receive.",
    "connections.",
    "retry.",
    "reconnect.",
    "auto.offset",
    "enable.auto",
];

/// The known option closest to an unknown `key`: `kafka.<key>` when `key`
/// looks like a Kafka client property without its prefix, else the source
/// option (or `kafka.bootstrap.servers`) at the smallest edit distance.
pub(crate) fn closest_known(key: &str) -> String {
    let lower = key.to_ascii_lowercase();
    if CLIENT_PROPERTY_STARTS
        .iter()
        .any(|start| lower.starts_with(start))
    {
        return format!("{CLIENT_PREFIX}{key}");
    }
    let squashed: String = lower
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    if squashed == "bootstrapservers" {
        return BOOTSTRAP_SERVERS.to_owned();
    }
    SOURCE_OPTIONS
        .iter()
        .copied()
        .filter(|known| *known != MOCK_SYSTEM_TIME)
        .chain([BOOTSTRAP_SERVERS])
        .min_by_key(|known| edit_distance(&lower, &known.to_ascii_lowercase()))
        .expect("the option list is not empty")
        .to_owned()
}

/// Java producer property names (or their beginnings), to recognise a
/// producer property given to a sink without its `kafka.` prefix.
const PRODUCER_PROPERTY_STARTS: &[&str] = &[
    "acks",
    "linger.",
    "batch.size",
    "buffer.memory",
    "compression.",
    "delivery.timeout",
    "enable.idempotence",
    "max.block",
    "max.in.flight",
    "max.request",
    "partitioner.",
    "retries",
    "transactional.",
];

/// The known sink option closest to an unknown `key`: `kafka.<key>` when
/// `key` looks like a Kafka client property without its prefix, else
/// `topic` or `kafka.bootstrap.servers`, whichever is nearer.
pub(crate) fn closest_sink_option(key: &str) -> String {
    let lower = key.to_ascii_lowercase();
    if CLIENT_PROPERTY_STARTS
        .iter()
        .chain(PRODUCER_PROPERTY_STARTS)
        .any(|start| lower.starts_with(start))
    {
        return format!("{CLIENT_PREFIX}{key}");
    }
    let squashed: String = lower
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    if squashed == "bootstrapservers" {
        return BOOTSTRAP_SERVERS.to_owned();
    }
    [TOPIC, BOOTSTRAP_SERVERS]
        .into_iter()
        .min_by_key(|known| edit_distance(&lower, &known.to_ascii_lowercase()))
        .expect("two options")
        .to_owned()
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

/// Whether the value of client property `key` (without `kafka.`) may hold a
/// secret, so that it is never shown.
pub(crate) fn is_sensitive(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    ["password", "secret", "jaas", "token", "key", "credential"]
        .iter()
        .any(|word| lower.contains(word))
}

/// A Kafka client property Spark refuses, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RefusedProperty {
    /// `auto.offset.reset` (source).
    AutoOffsetReset,
    /// `key.deserializer` (source).
    KeyDeserializer,
    /// `value.deserializer` (source).
    ValueDeserializer,
    /// `enable.auto.commit` (source).
    EnableAutoCommit,
    /// `interceptor.classes` (source).
    InterceptorClasses,
    /// `key.serializer` (sink).
    KeySerializer,
    /// `value.serializer` (sink).
    ValueSerializer,
}

/// Whether properties are checked for a source or a sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Source,
    Sink,
}

impl RefusedProperty {
    /// Every refused property, in the order Spark checks them.
    pub(crate) const ALL: [RefusedProperty; 7] = [
        RefusedProperty::AutoOffsetReset,
        RefusedProperty::KeyDeserializer,
        RefusedProperty::ValueDeserializer,
        RefusedProperty::EnableAutoCommit,
        RefusedProperty::InterceptorClasses,
        RefusedProperty::KeySerializer,
        RefusedProperty::ValueSerializer,
    ];

    /// The client property's name, without `kafka.`.
    pub fn property(self) -> &'static str {
        match self {
            RefusedProperty::AutoOffsetReset => "auto.offset.reset",
            RefusedProperty::KeyDeserializer => "key.deserializer",
            RefusedProperty::ValueDeserializer => "value.deserializer",
            RefusedProperty::EnableAutoCommit => "enable.auto.commit",
            RefusedProperty::InterceptorClasses => "interceptor.classes",
            RefusedProperty::KeySerializer => "key.serializer",
            RefusedProperty::ValueSerializer => "value.serializer",
        }
    }

    pub(crate) fn side(self) -> Side {
        match self {
            RefusedProperty::KeySerializer | RefusedProperty::ValueSerializer => Side::Sink,
            _ => Side::Source,
        }
    }

    /// The refused property for `key` (without `kafka.`, any case) on `side`.
    #[cfg(test)]
    fn of(key: &str, side: Side) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|refused| refused.side() == side && refused.property().eq_ignore_ascii_case(key))
    }

    /// The first refused property among `options` (full option names with
    /// their `kafka.` prefix), in Spark's order, with the name as given.
    pub(crate) fn first_among<'a>(
        side: Side,
        options: impl Iterator<Item = &'a str> + Clone,
    ) -> Option<(String, RefusedProperty)> {
        Self::ALL
            .into_iter()
            .filter(|refused| refused.side() == side)
            .find_map(|refused| {
                options
                    .clone()
                    .find(|option| {
                        option.get(CLIENT_PREFIX.len()..).is_some_and(|property| {
                            property.eq_ignore_ascii_case(refused.property())
                        })
                    })
                    .map(|option| (option.to_owned(), refused))
            })
    }

    /// Spark's reason, with what to do instead.
    pub fn reason(self) -> &'static str {
        match self {
            RefusedProperty::AutoOffsetReset => {
                "Kafka option 'auto.offset.reset' is not supported.\nSet the source option \
                 'startingOffsets' to 'earliest' or 'latest' instead to say where to start. The \
                 source tracks consumed offsets itself rather than letting the Kafka consumer do \
                 it, so no data is missed when topics or partitions are added. 'startingOffsets' \
                 applies only when a new streaming query starts; a resumed query always continues \
                 where it left off."
            }
            RefusedProperty::KeyDeserializer => {
                "Kafka option 'key.deserializer' is not supported as keys are deserialized as byte \
                 arrays with ByteArrayDeserializer. Use DataFrame operations to explicitly \
                 deserialize the keys."
            }
            RefusedProperty::ValueDeserializer => {
                "Kafka option 'value.deserializer' is not supported as values are deserialized as \
                 byte arrays with ByteArrayDeserializer. Use DataFrame operations to explicitly \
                 deserialize the values."
            }
            RefusedProperty::EnableAutoCommit => {
                "Kafka option 'enable.auto.commit' is not supported; remove it (the source keeps \
                 its offsets in the checkpoint and never commits them to Kafka)"
            }
            RefusedProperty::InterceptorClasses => {
                "Kafka option 'interceptor.classes' is not supported; remove it (interceptors \
                 could change the records read)"
            }
            RefusedProperty::KeySerializer => {
                "Kafka option 'key.serializer' is not supported as keys are serialized with \
                 ByteArraySerializer."
            }
            RefusedProperty::ValueSerializer => {
                "Kafka option 'value.serializer' is not supported as value are serialized with \
                 ByteArraySerializer."
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_known_option() {
        assert_eq!(closest_known("startingOffset"), STARTING_OFFSETS);
        assert_eq!(
            closest_known("maxOffsetPerTrigger"),
            MAX_OFFSETS_PER_TRIGGER
        );
        assert_eq!(closest_known("failondataloss2"), FAIL_ON_DATA_LOSS);
        assert_eq!(closest_known("subscribepatern"), SUBSCRIBE_PATTERN);
        assert_eq!(closest_known("bootstrapServers"), BOOTSTRAP_SERVERS);
        assert_eq!(
            closest_known("security.protocol"),
            "kafka.security.protocol"
        );
        assert_eq!(closest_known("kafka.bootstrap.server"), BOOTSTRAP_SERVERS);
    }

    #[test]
    fn closest_sink_option_names_a_prefixless_property_or_the_nearer_option() {
        assert_eq!(closest_sink_option("topc"), TOPIC);
        assert_eq!(closest_sink_option("Topics"), TOPIC);
        assert_eq!(closest_sink_option("bootstrapServers"), BOOTSTRAP_SERVERS);
        assert_eq!(
            closest_sink_option("kafka.bootstrap.server"),
            BOOTSTRAP_SERVERS
        );
        assert_eq!(closest_sink_option("linger.ms"), "kafka.linger.ms");
        assert_eq!(closest_sink_option("acks"), "kafka.acks");
        assert_eq!(
            closest_sink_option("security.protocol"),
            "kafka.security.protocol"
        );
    }

    #[test]
    fn edit_distances() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }

    #[test]
    fn sensitive_keys() {
        for key in [
            "ssl.truststore.password",
            "ssl.keystore.password",
            "ssl.key.password",
            "sasl.jaas.config",
            "sasl.oauthbearer.token.endpoint.url",
            "Some.Secret",
        ] {
            assert!(is_sensitive(key), "{key}");
        }
        for key in [
            "bootstrap.servers",
            "security.protocol",
            "sasl.mechanism",
            "group.id",
        ] {
            assert!(!is_sensitive(key), "{key}");
        }
    }

    #[test]
    fn refusals_depend_on_the_side() {
        assert_eq!(
            RefusedProperty::of("AUTO.offset.reset", Side::Source),
            Some(RefusedProperty::AutoOffsetReset)
        );
        assert_eq!(RefusedProperty::of("key.serializer", Side::Source), None);
        assert_eq!(
            RefusedProperty::of("key.serializer", Side::Sink),
            Some(RefusedProperty::KeySerializer)
        );
        assert_eq!(RefusedProperty::of("key.deserializer", Side::Sink), None);
        assert_eq!(RefusedProperty::of("bootstrap.servers", Side::Source), None);
    }
}
