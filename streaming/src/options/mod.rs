//! The source's options, taken as Spark's Kafka source takes them (§1).
//!
//! A [`SourceOptions`] is a case-insensitive map of option names to string
//! values, made from Rust pairs, a `HashMap`, a JSON object or `key=value`
//! lines, or with the typed [`SourceOptionsBuilder`]. Nothing is checked
//! until [`SourceOptions::batch`] or [`SourceOptions::streaming`] validates
//! it for that kind of query and returns typed settings, or an
//! [`OptionError`] naming the option, the bad value and what is accepted.
//!
//! * Options starting with `kafka.` (any case) are Kafka client properties:
//!   the prefix is stripped, the rest kept as given, and they land in
//!   [`ClientProperties`]; the few Spark refuses are refused with its reason.
//! * Other options the source does not know are ignored with an
//!   [`OptionWarning`] naming the closest known option.
//! * A later value for the same name (in any case) replaces an earlier one.
//!
//! ```
//! use ferrokafka_streaming::options::SourceOptions;
//! use ferrokafka_streaming::planner::OffsetLimit;
//!
//! let options = SourceOptions::from_json(r#"{
//!     "kafka.bootstrap.servers": "host:9092",
//!     "subscribe": "orders",
//!     "startingOffsets": "earliest",
//!     "maxOffsetsPerTriger": 1000
//! }"#).unwrap();
//! let settings = options.streaming().unwrap();
//! assert_eq!(settings.source.starting, OffsetLimit::Earliest);
//! assert_eq!(settings.source.client_properties.bootstrap_servers(), "host:9092");
//! // The misspelt option is ignored, with a hint.
//! assert_eq!(
//!     settings.warnings()[0].to_string(),
//!     "option 'maxOffsetsPerTriger' is not a Kafka source option and is ignored; \
//!      the closest known option is 'maxOffsetsPerTrigger'"
//! );
//! // A batch query may not end at earliest.
//! let err = options.clone().with("endingOffsets", "earliest").batch().unwrap_err();
//! assert!(err.to_string().starts_with("ending offset can't be earliest for batch queries on Kafka"));
//! ```

mod builder;
mod error;
mod keys;
mod parse;
mod settings;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::hash::BuildHasher;

use serde_json::Value;

pub(crate) use keys::{closest_sink_option, is_source_option, names, Side};
pub(crate) use parse::{client_properties, has_client_prefix};

pub use builder::SourceOptionsBuilder;
pub use error::{OptionError, OptionWarning};
pub use keys::RefusedProperty;
pub use settings::{
    BatchSettings, ClientProperties, ConsumerGroups, SourceSettings, StreamSettings,
};

/// A Kafka source's options: a case-insensitive map of names to values.
///
/// `Debug` hides the values of options whose names suggest a secret
/// (password, secret, jaas, token, key, credential).
#[derive(Clone, Default)]
pub struct SourceOptions {
    /// Lower-cased name → (name as last given, value).
    entries: BTreeMap<String, (String, String)>,
    /// Names (as last given) that were set more than once.
    repeated: Vec<String>,
}

impl SourceOptions {
    /// No options.
    pub fn new() -> Self {
        Self::default()
    }

    /// A typed builder that produces the same options (and so the same
    /// validated settings) as the equivalent strings.
    pub fn builder() -> SourceOptionsBuilder {
        SourceOptionsBuilder::default()
    }

    /// Options from name/value pairs, in order (a later pair replaces an
    /// earlier one with the same name in any case).
    pub fn from_pairs<K, V>(pairs: impl IntoIterator<Item = (K, V)>) -> Self
    where
        K: Into<String>,
        V: Into<String>,
    {
        let mut options = Self::new();
        for (key, value) in pairs {
            options.set(key, value);
        }
        options
    }

    /// Options from a map. Where two names differ only in case, the one
    /// sorting last (lower case sorts after upper) wins, with a warning.
    pub fn from_map<S: BuildHasher>(map: &HashMap<String, String, S>) -> Self {
        let mut pairs: Vec<(&String, &String)> = map.iter().collect();
        pairs.sort();
        Self::from_pairs(pairs.into_iter().map(|(k, v)| (k.clone(), v.clone())))
    }

    /// Options from a JSON object whose values are strings, numbers or
    /// booleans (taken as their text). An object or array value is taken as
    /// its compact JSON text, so `"assign": {"t": [0]}` works like the
    /// string `"{\"t\":[0]}"`.
    pub fn from_json(text: &str) -> Result<Self, OptionError> {
        let value: Value = serde_json::from_str(text).map_err(|err| OptionError::InvalidJson {
            detail: err.to_string(),
        })?;
        let object = match value {
            Value::Object(object) => object,
            Value::Array(_) => return Err(OptionError::JsonNotAnObject { found: "an array" }),
            Value::String(_) => return Err(OptionError::JsonNotAnObject { found: "a string" }),
            Value::Number(_) => return Err(OptionError::JsonNotAnObject { found: "a number" }),
            Value::Bool(_) => return Err(OptionError::JsonNotAnObject { found: "a boolean" }),
            Value::Null => return Err(OptionError::JsonNotAnObject { found: "null" }),
        };
        let mut options = Self::new();
        for (key, value) in object {
            let text = match value {
                Value::String(text) => text,
                Value::Null => return Err(OptionError::NullJsonValue { key }),
                Value::Number(_) | Value::Bool(_) | Value::Object(_) | Value::Array(_) => {
                    value.to_string()
                }
            };
            options.set(key, text);
        }
        Ok(options)
    }

    /// Options from `key=value` lines: the first `=` separates name and
    /// value (values may contain `=`), both are trimmed, blank lines and
    /// lines starting with `#` are skipped.
    pub fn from_lines(text: &str) -> Result<Self, OptionError> {
        let mut options = Self::new();
        for (index, line) in text.lines().enumerate() {
            let line_number = index + 1;
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(OptionError::BadLine {
                    line: line_number,
                    problem: "has no '='",
                });
            };
            let key = key.trim();
            if key.is_empty() {
                return Err(OptionError::BadLine {
                    line: line_number,
                    problem: "has no option name before '='",
                });
            }
            options.set(key, value.trim());
        }
        Ok(options)
    }

    /// Sets an option, replacing any with the same name in any case.
    pub fn set(&mut self, key: impl Into<String>, value: impl Into<String>) -> &mut Self {
        let key = key.into();
        let lower = key.to_lowercase();
        let previous = self
            .entries
            .insert(lower.clone(), (key.clone(), value.into()));
        if previous.is_some() && !self.repeated.iter().any(|k| k.to_lowercase() == lower) {
            self.repeated.push(key);
        }
        self
    }

    /// The options with one more set (see [`set`](Self::set)).
    pub fn with(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.set(key, value);
        self
    }

    /// Removes an option (any case).
    pub fn remove(&mut self, key: &str) -> &mut Self {
        let lower = key.to_lowercase();
        self.entries.remove(&lower);
        self.repeated.retain(|k| k.to_lowercase() != lower);
        self
    }

    /// The value of an option, looked up ignoring case.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .get(&key.to_lowercase())
            .map(|(_, value)| value.as_str())
    }

    /// Whether an option is set (any case).
    pub fn contains(&self, key: &str) -> bool {
        self.entries.contains_key(&key.to_lowercase())
    }

    /// Names (as given) and values, sorted by lower-cased name.
    pub(crate) fn entries(&self) -> impl Iterator<Item = (&str, &str)> {
        self.entries
            .values()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }

    /// Names (as last given) that were set more than once.
    pub(crate) fn repeated(&self) -> &[String] {
        &self.repeated
    }

    /// Validates the options for a batch query.
    pub fn batch(&self) -> Result<BatchSettings, OptionError> {
        parse::batch(self)
    }

    /// Validates the options for a streaming query.
    pub fn streaming(&self) -> Result<StreamSettings, OptionError> {
        parse::streaming(self)
    }
}

impl fmt::Debug for SourceOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (key, value) in self.entries() {
            // Also without the `kafka.` prefix: a secret may sit under a
            // misspelt name.
            if keys::is_sensitive(key) {
                map.entry(&key, &format_args!("<redacted>"));
            } else {
                map.entry(&key, &value);
            }
        }
        map.finish()
    }
}

#[cfg(test)]
mod tests;
