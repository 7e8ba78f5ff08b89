//! The write options (§6, §1.5): `topic`, `kafka.*`, validated into
//! [`SinkSettings`]; Spark's save modes.

use std::collections::HashMap;
use std::fmt;
use std::hash::BuildHasher;
use std::str::FromStr;

use ferrokafka::{ClientConfig, ProducerConfig};

use super::error::SinkError;
use crate::java::java_trim;
use crate::options::names::{PARTITIONER_CLASS, TOPIC};
use crate::options::{
    client_properties, closest_sink_option, has_client_prefix, is_source_option, names,
    ClientProperties, OptionError, OptionWarning, RefusedProperty, Side, SourceOptions,
};

/// Java's default partitioner classes: naming one changes nothing.
const DEFAULT_PARTITIONERS: [&str; 2] = [
    "org.apache.kafka.clients.producer.internals.DefaultPartitioner",
    "org.apache.kafka.clients.producer.internals.BuiltInPartitioner",
];

/// A Kafka sink's options, as Spark's `df.write.format("kafka")` takes
/// them: a case-insensitive map of names to values.
///
/// * `topic`: the topic of every row (trimmed), overriding any `topic`
///   column.
/// * `kafka.<property>`: a Kafka client or producer property, prefix
///   stripped; `kafka.bootstrap.servers` is required. Nothing is forced:
///   the producer is idempotent unless `kafka.enable.idempotence=false`
///   (or `kafka.acks`/`kafka.retries` rule it out), as with kafka-clients
///   ≥ 3.0. `kafka.key.serializer` and `kafka.value.serializer` are refused
///   with Spark's reasons: keys and values are bytes.
/// * Anything else is ignored with an [`OptionWarning`]: source options
///   (an option file shared by a read and a write), `includeHeaders`
///   (documented by Spark for writes, read by nothing), and unknown names,
///   with the closest known option.
///
/// `Debug` hides the values of options whose names suggest a secret.
///
/// ```
/// use ferrokafka_streaming::sink::SinkOptions;
///
/// let settings = SinkOptions::from_pairs([
///     ("kafka.bootstrap.servers", "host:9092"),
///     ("topic", " orders "),
///     ("kafka.linger.ms", "20"),
///     ("kafka.enable.idempotence", "false"),
///     ("topc", "typo"),
/// ])
/// .settings()
/// .unwrap();
/// assert_eq!(settings.topic.as_deref(), Some("orders"));
/// assert!(!settings.producer_config().idempotence());
/// assert_eq!(
///     settings.warnings()[0].to_string(),
///     "option 'topc' is not a Kafka sink option and is ignored; the closest known option is 'topic'"
/// );
///
/// let err = SinkOptions::from_pairs([
///     ("kafka.bootstrap.servers", "host:9092"),
///     ("kafka.value.serializer", "org.apache.kafka.common.serialization.StringSerializer"),
/// ])
/// .settings()
/// .unwrap_err();
/// assert!(err.to_string().ends_with(
///     "Kafka option 'value.serializer' is not supported as value are serialized with ByteArraySerializer."
/// ));
/// ```
#[derive(Clone, Default)]
pub struct SinkOptions {
    options: SourceOptions,
}

impl SinkOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// Options from name/value pairs, in order (a later pair replaces an
    /// earlier one with the same name in any case).
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        SourceOptions::from_pairs(pairs).into()
    }

    /// Options from a map (see [`SourceOptions::from_map`]).
    pub fn from_map<S: BuildHasher>(map: &HashMap<String, String, S>) -> Self {
        SourceOptions::from_map(map).into()
    }

    /// Options from a JSON object (see [`SourceOptions::from_json`]).
    pub fn from_json(text: &str) -> Result<Self, OptionError> {
        SourceOptions::from_json(text).map(Into::into)
    }

    /// Options from `key=value` lines (see [`SourceOptions::from_lines`]).
    pub fn from_lines(text: &str) -> Result<Self, OptionError> {
        SourceOptions::from_lines(text).map(Into::into)
    }

    /// Sets an option, replacing any with the same name in any case.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        self.options.set(key, value);
        self
    }

    /// The options with one more set (see [`set`](Self::set)).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.set(key, value);
        self
    }

    /// Removes an option (any case).
    pub fn remove(&mut self, key: &str) -> &mut Self {
        self.options.remove(key);
        self
    }

    /// The value of an option, looked up ignoring case.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.options.get(key)
    }

    /// Validates the options (see the [type documentation](Self)). The
    /// client and producer configurations are built here, so a bad
    /// `kafka.` value fails now, naming its option.
    pub fn settings(&self) -> Result<SinkSettings, OptionError> {
        let options = &self.options;
        let mut warnings: Vec<OptionWarning> = options
            .repeated()
            .iter()
            .map(|key| OptionWarning::RepeatedOption { key: key.clone() })
            .collect();
        let mut client_options = Vec::new();
        for (key, _) in options.entries() {
            if has_client_prefix(key) {
                client_options.push(key);
                let property = &key["kafka.".len()..];
                if property.chars().any(|c| c.is_ascii_uppercase()) {
                    warnings.push(OptionWarning::ClientPropertyCase {
                        property: property.to_owned(),
                    });
                }
            } else if key.eq_ignore_ascii_case(TOPIC) {
            } else if key.eq_ignore_ascii_case(names::INCLUDE_HEADERS) {
                warnings.push(OptionWarning::IncludeHeadersInSink);
            } else if is_source_option(key) {
                warnings.push(OptionWarning::SourceOptionInSink {
                    key: key.to_owned(),
                });
            } else {
                warnings.push(OptionWarning::UnknownSinkOption {
                    key: key.to_owned(),
                    closest: closest_sink_option(key),
                });
            }
        }
        // Spark refuses the serializers before anything else.
        if let Some((key, refusal)) =
            RefusedProperty::first_among(Side::Sink, client_options.into_iter())
        {
            return Err(OptionError::RefusedClientProperty { key, refusal });
        }
        let client_properties = client_properties(options)?;
        if java_trim(client_properties.bootstrap_servers()).is_empty() {
            return Err(OptionError::MissingProducerBootstrapServers);
        }
        let topic = match options.get(TOPIC).map(java_trim) {
            Some("") => return Err(OptionError::EmptyTopicOption),
            topic => topic.map(str::to_owned),
        };
        let (client, producer) = client_properties.producer_config()?;
        if let Some(class) = client_properties.get(PARTITIONER_CLASS) {
            if !DEFAULT_PARTITIONERS.contains(&java_trim(class)) {
                warnings.push(OptionWarning::PartitionerClassIgnored {
                    class: class.to_owned(),
                });
            }
        }
        for warning in &warnings {
            tracing::warn!("{warning}");
        }
        Ok(SinkSettings {
            topic,
            client_properties,
            client,
            producer,
            warnings,
        })
    }
}

impl From<SourceOptions> for SinkOptions {
    /// The same map, to be validated as a sink's.
    fn from(options: SourceOptions) -> Self {
        SinkOptions { options }
    }
}

impl fmt::Debug for SinkOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.options, f)
    }
}

/// A Kafka sink's validated options.
///
/// `Debug` shows secret properties as `<redacted>`.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct SinkSettings {
    /// The `topic` option, trimmed: the topic of every row, overriding any
    /// `topic` column.
    pub topic: Option<String>,
    /// The `kafka.` options, prefix stripped. The producer cache keys on
    /// them: sinks with the same properties share a producer.
    pub client_properties: ClientProperties,
    client: ClientConfig,
    producer: ProducerConfig,
    warnings: Vec<OptionWarning>,
}

impl SinkSettings {
    /// The client configuration (connection and security) from the
    /// `kafka.` options.
    pub fn client_config(&self) -> &ClientConfig {
        &self.client
    }

    /// The producer configuration from the `kafka.` options.
    pub fn producer_config(&self) -> &ProducerConfig {
        &self.producer
    }

    /// What was accepted but deserves a word (also logged once, when the
    /// settings were made).
    pub fn warnings(&self) -> &[OptionWarning] {
        &self.warnings
    }
}

/// Spark's save modes for a batch write (`df.write.mode(…)`). Kafka takes
/// `Append` and `ErrorIfExists` (the default), which both append.
///
/// ```
/// use ferrokafka_streaming::sink::SaveMode;
///
/// let mode: SaveMode = "overwrite".parse().unwrap();
/// assert_eq!(
///     mode.check_for_kafka().unwrap_err().to_string(),
///     "Save mode Overwrite not allowed for Kafka. Allowed save modes are Append and ErrorIfExists (default)."
/// );
/// assert!(SaveMode::default().check_for_kafka().is_ok());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SaveMode {
    /// `append`.
    Append,
    /// `overwrite`: refused by Kafka.
    Overwrite,
    /// `errorifexists`, `error` or `default` (the default).
    #[default]
    ErrorIfExists,
    /// `ignore`: refused by Kafka.
    Ignore,
}

impl SaveMode {
    /// Spark's check (`_LEGACY_ERROR_TEMP_3081`): `Overwrite` and
    /// `Ignore` are refused, the others append.
    pub fn check_for_kafka(self) -> Result<(), SinkError> {
        match self {
            SaveMode::Append | SaveMode::ErrorIfExists => Ok(()),
            SaveMode::Overwrite | SaveMode::Ignore => {
                Err(SinkError::SaveModeNotAllowed { mode: self })
            }
        }
    }
}

impl fmt::Display for SaveMode {
    /// The name as Spark prints it (`SaveMode.toString`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SaveMode::Append => "Append",
            SaveMode::Overwrite => "Overwrite",
            SaveMode::ErrorIfExists => "ErrorIfExists",
            SaveMode::Ignore => "Ignore",
        })
    }
}

impl FromStr for SaveMode {
    type Err = OptionError;

    /// Spark's names, any case: `append`, `overwrite`, `ignore`,
    /// `errorifexists`, `error`, `default`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.to_ascii_lowercase().as_str() {
            "append" => Ok(SaveMode::Append),
            "overwrite" => Ok(SaveMode::Overwrite),
            "ignore" => Ok(SaveMode::Ignore),
            "errorifexists" | "error" | "default" => Ok(SaveMode::ErrorIfExists),
            _ => Err(OptionError::InvalidValue {
                option: "mode",
                value: text.to_owned(),
                accepted: "append, overwrite, ignore, errorifexists, error or default (any \
                           case); Kafka takes append and errorifexists",
                spark_message: Some("Unknown save mode"),
            }),
        }
    }
}
