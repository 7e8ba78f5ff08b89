//! Which partitions the source reads: `assign`, `subscribe` or
//! `subscribePattern`, applied to a topic listing the caller fetched.

use std::collections::BTreeSet;
use std::fmt;

use ferrokafka::TopicPartition;
use regex::Regex;

use crate::java::{translate_java_regex, JavaRegexError};

/// The topic selection of a source: exactly one of Spark's `assign`,
/// `subscribe` and `subscribePattern`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TopicSelection {
    /// `assign`: these partitions, as far as they exist.
    Assign(Vec<TopicPartition>),
    /// `subscribe`: every partition of these topics.
    Subscribe(Vec<String>),
    /// `subscribePattern`: every partition of every topic the pattern
    /// matches, re-evaluated against each new listing.
    Pattern(TopicPattern),
}

/// What the caller learned about one topic from the cluster (a metadata or
/// ListTopics/DescribeTopics answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicListing {
    /// The topic name.
    pub name: String,
    /// Whether Kafka marks it internal (`__consumer_offsets`,
    /// `__transaction_state`); Spark never reads those.
    pub internal: bool,
    /// Its partition numbers.
    pub partitions: Vec<i32>,
}

impl TopicSelection {
    /// The partitions this selection reads, given the cluster's topics:
    /// internal topics are always left out (Spark filters them for every
    /// strategy); `assign` keeps only listed partitions that exist; a
    /// subscribed topic that is absent contributes nothing; a pattern keeps
    /// every topic whose name it matches anywhere (Spark's Admin-based
    /// `findFirstIn`, not a whole-name match).
    ///
    /// ```
    /// use ferrokafka_streaming::planner::{TopicListing, TopicPattern, TopicSelection};
    /// let listing = vec![
    ///     TopicListing { name: "orders-eu".into(), internal: false, partitions: vec![0, 1] },
    ///     TopicListing { name: "__consumer_offsets".into(), internal: true, partitions: vec![0] },
    /// ];
    /// let selection = TopicSelection::Pattern(TopicPattern::new("orders").unwrap());
    /// let partitions = selection.assigned_partitions(&listing);
    /// assert_eq!(partitions.len(), 2);
    /// ```
    pub fn assigned_partitions(&self, listing: &[TopicListing]) -> BTreeSet<TopicPartition> {
        let visible = listing.iter().filter(|topic| !topic.internal);
        let all_of = |topic: &TopicListing| {
            let name: std::sync::Arc<str> = topic.name.as_str().into();
            topic
                .partitions
                .iter()
                .map(move |partition| TopicPartition {
                    topic: name.clone(),
                    partition: *partition,
                })
                .collect::<Vec<_>>()
        };
        match self {
            TopicSelection::Assign(wanted) => visible
                .flat_map(all_of)
                .filter(|tp| wanted.contains(tp))
                .collect(),
            TopicSelection::Subscribe(topics) => visible
                .filter(|topic| topics.contains(&topic.name))
                .flat_map(all_of)
                .collect(),
            TopicSelection::Pattern(pattern) => visible
                .filter(|topic| pattern.matches(&topic.name))
                .flat_map(all_of)
                .collect(),
        }
    }

    /// The topics to describe for `assign` and `subscribe` (`None` for a
    /// pattern, which needs the full listing).
    pub fn named_topics(&self) -> Option<BTreeSet<&str>> {
        match self {
            TopicSelection::Assign(partitions) => {
                Some(partitions.iter().map(|tp| &*tp.topic).collect())
            }
            TopicSelection::Subscribe(topics) => Some(topics.iter().map(String::as_str).collect()),
            TopicSelection::Pattern(_) => None,
        }
    }
}

/// Spark's strategy description, as in `KafkaV2[Subscribe[a, b]]`:
/// `Assign[t-0, t-1]`, `Subscribe[a, b]`, `SubscribePattern[regex]`.
impl fmt::Display for TopicSelection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicSelection::Assign(partitions) => {
                let names: Vec<String> = partitions.iter().map(ToString::to_string).collect();
                write!(f, "Assign[{}]", names.join(", "))
            }
            TopicSelection::Subscribe(topics) => write!(f, "Subscribe[{}]", topics.join(", ")),
            TopicSelection::Pattern(pattern) => write!(f, "SubscribePattern[{}]", pattern.as_str()),
        }
    }
}

/// A `subscribePattern`: a Java regular expression, translated for the
/// `regex` crate (see [`translate_java_regex`] for what is accepted).
#[derive(Clone)]
pub struct TopicPattern {
    source: String,
    regex: Regex,
}

/// Why a `subscribePattern` cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TopicPatternError {
    /// A Java construct with no equivalent here.
    #[error(transparent)]
    Unsupported(#[from] JavaRegexError),
    /// Not a valid regular expression.
    #[error("it is not a valid regular expression: {0}")]
    Invalid(String),
}

impl TopicPattern {
    /// Compiles a Java-style pattern (Spark trims it first; so should the
    /// caller).
    pub fn new(pattern: &str) -> Result<Self, TopicPatternError> {
        let translated = translate_java_regex(pattern)?;
        let regex = regex::RegexBuilder::new(&translated)
            // Topic names are short; a pattern this large is a mistake.
            .size_limit(1 << 20)
            .build()
            .map_err(|err| TopicPatternError::Invalid(err.to_string()))?;
        Ok(TopicPattern {
            source: pattern.to_owned(),
            regex,
        })
    }

    /// Whether the pattern matches anywhere in `topic` (Spark's `findFirstIn`).
    pub fn matches(&self, topic: &str) -> bool {
        self.regex.is_match(topic)
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Debug for TopicPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("TopicPattern").field(&self.source).finish()
    }
}

impl PartialEq for TopicPattern {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for TopicPattern {}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing() -> Vec<TopicListing> {
        let topic = |name: &str, internal, count: i32| TopicListing {
            name: name.to_owned(),
            internal,
            partitions: (0..count).collect(),
        };
        vec![
            topic("orders", false, 2),
            topic("orders-eu", false, 1),
            topic("payments", false, 3),
            topic("__consumer_offsets", true, 50),
            topic("__transaction_state", true, 50),
        ]
    }

    fn names(partitions: &BTreeSet<TopicPartition>) -> Vec<String> {
        partitions.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn subscribe_takes_every_partition_of_existing_named_topics() {
        let selection = TopicSelection::Subscribe(vec!["orders".into(), "missing".into()]);
        assert_eq!(
            names(&selection.assigned_partitions(&listing())),
            ["orders-0", "orders-1"]
        );
        let internal = TopicSelection::Subscribe(vec!["__consumer_offsets".into()]);
        assert!(internal.assigned_partitions(&listing()).is_empty());
    }

    #[test]
    fn assign_keeps_only_partitions_that_exist() {
        let selection = TopicSelection::Assign(vec![
            TopicPartition::new("payments", 2),
            TopicPartition::new("payments", 7),
            TopicPartition::new("gone", 0),
        ]);
        assert_eq!(
            names(&selection.assigned_partitions(&listing())),
            ["payments-2"]
        );
        assert_eq!(selection.named_topics().unwrap().len(), 2);
    }

    #[test]
    fn pattern_searches_names_and_skips_internal_topics() {
        let selection = TopicSelection::Pattern(TopicPattern::new("ders").unwrap());
        assert_eq!(
            names(&selection.assigned_partitions(&listing())),
            ["orders-0", "orders-1", "orders-eu-0"]
        );
        let anchored = TopicSelection::Pattern(TopicPattern::new("^orders$").unwrap());
        assert_eq!(
            names(&anchored.assigned_partitions(&listing())),
            ["orders-0", "orders-1"]
        );
        let everything = TopicSelection::Pattern(TopicPattern::new(".*").unwrap());
        assert_eq!(everything.assigned_partitions(&listing()).len(), 6);
        // Re-evaluated per listing: a topic that appears later is picked up.
        let mut grown = listing();
        grown.push(TopicListing {
            name: "orders-us".into(),
            internal: false,
            partitions: vec![0],
        });
        assert_eq!(selection.assigned_partitions(&grown).len(), 4);
    }

    #[test]
    fn descriptions_match_spark() {
        let subscribe = TopicSelection::Subscribe(vec!["a".into(), "b".into()]);
        assert_eq!(subscribe.to_string(), "Subscribe[a, b]");
        let assign = TopicSelection::Assign(vec![
            TopicPartition::new("t", 0),
            TopicPartition::new("t", 1),
        ]);
        assert_eq!(assign.to_string(), "Assign[t-0, t-1]");
        let pattern = TopicSelection::Pattern(TopicPattern::new("t.*").unwrap());
        assert_eq!(pattern.to_string(), "SubscribePattern[t.*]");
    }

    #[test]
    fn bad_patterns_are_refused() {
        assert!(matches!(
            TopicPattern::new("(?=x)"),
            Err(TopicPatternError::Unsupported(_))
        ));
        assert!(matches!(
            TopicPattern::new("a("),
            Err(TopicPatternError::Invalid(_))
        ));
        assert!(matches!(
            TopicPattern::new("\\p{javaLowerCase}"),
            Err(TopicPatternError::Invalid(_))
        ));
    }
}
