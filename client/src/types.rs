//! Small shared types.

use std::fmt;
use std::sync::Arc;

/// A topic and a partition of it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TopicPartition {
    /// The topic name.
    pub topic: Arc<str>,
    /// The partition index.
    pub partition: i32,
}

impl TopicPartition {
    /// `topic`-`partition`.
    pub fn new(topic: impl Into<Arc<str>>, partition: i32) -> Self {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

impl fmt::Display for TopicPartition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.topic, self.partition)
    }
}

/// A Kafka API (request type): `Produce`, `Fetch`, `Metadata`, ….
///
/// ```
/// # use ferrokafka::Api;
/// # fn show(api: Api) {
/// println!("{} (key {})", api.name(), api.code());
/// # }
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Api(ferrokafka_protocol::messages::ApiKey);

impl Api {
    /// The API key number on the wire (Fetch is 1).
    pub fn code(self) -> i16 {
        self.0 as i16
    }

    /// The API's name as Kafka's protocol guide spells it (`Fetch`,
    /// `ListOffsets`, …).
    pub fn name(self) -> &'static str {
        use std::collections::HashMap;
        use std::sync::OnceLock;
        // kafka-protocol names its variants after the APIs; their Debug
        // text is the name. Made once, so names are `&'static` for metrics
        // labels.
        static NAMES: OnceLock<HashMap<i16, &'static str>> = OnceLock::new();
        NAMES
            .get_or_init(|| {
                ferrokafka_protocol::messages::ApiKey::iter()
                    .map(|k| (k as i16, &*Box::leak(format!("{k:?}").into_boxed_str())))
                    .collect()
            })
            .get(&self.code())
            .copied()
            .unwrap_or("Unknown")
    }

    #[allow(dead_code)] // used by the low-level API next
    pub(crate) fn key(self) -> ferrokafka_protocol::messages::ApiKey {
        self.0
    }
}

impl Api {
    pub(crate) fn of(key: ferrokafka_protocol::messages::ApiKey) -> Self {
        Api(key)
    }
}

impl fmt::Display for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Debug for Api {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrokafka_protocol::messages::ApiKey;

    #[test]
    fn api_names_and_codes() {
        assert_eq!(Api::of(ApiKey::Fetch).name(), "Fetch");
        assert_eq!(Api::of(ApiKey::ListOffsets).to_string(), "ListOffsets");
        assert_eq!(Api::of(ApiKey::Produce).code(), 0);
        assert_eq!(
            format!("{:?}", Api::of(ApiKey::SaslHandshake)),
            "SaslHandshake"
        );
    }
}
