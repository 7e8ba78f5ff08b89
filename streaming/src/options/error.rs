//! Refused options and warnings about accepted ones.

use std::fmt;

use super::keys::RefusedProperty;
use crate::java::TimeStringError;
use ferrokafka::ConfigError;

use crate::planner::{JsonShapeError, LimitError, TopicPatternError, CUSTOM_GROUP_ID_WARNING};
use ferrokafka::TopicPartition;

/// An option map that cannot be used. Each message names the option, the
/// bad value and what is accepted, in Spark's words where Spark has some.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionError {
    /// `from_json` text that is not JSON.
    #[error(
        "the options are not valid JSON ({detail}); give a JSON object of option names to \
         strings, numbers or booleans"
    )]
    InvalidJson {
        /// The parser's complaint (position, not content).
        detail: String,
    },
    /// `from_json` text that is JSON but not an object.
    #[error("the options JSON is {found}; give a JSON object of option names to strings, numbers or booleans")]
    JsonNotAnObject {
        /// What it is instead, e.g. "an array".
        found: &'static str,
    },
    /// A `null` option value in `from_json` text.
    #[error("option '{key}' is null in the options JSON; give a string, number or boolean, or leave it out")]
    NullJsonValue {
        /// The option.
        key: String,
    },
    /// A `from_lines` line that is not `key=value`.
    #[error("line {line} of the options {problem}; write one option per line as key=value (# starts a comment)")]
    BadLine {
        /// The line number, from 1.
        line: usize,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// None of `assign`, `subscribe`, `subscribePattern`.
    #[error(
        "One of the following options must be specified for Kafka source: subscribe, \
         subscribepattern, assign. See the docs for more details."
    )]
    NoTopicSelection,
    /// More than one of them.
    #[error(
        "Only one of the following options can be specified for Kafka source: subscribe, \
         subscribepattern, assign. See the docs for more details. Given: {}.",
        .given.join(", ")
    )]
    SeveralTopicSelections {
        /// The ones given.
        given: Vec<&'static str>,
    },
    /// `assign` not starting with `{`.
    #[error(
        "No topicpartitions to assign as specified value for option 'assign' is '{value}'; \
         accepted: JSON such as {{\"topicA\":[0,1],\"topicB\":[2]}}"
    )]
    EmptyAssign {
        /// The value given.
        value: String,
    },
    /// `assign` JSON of the wrong shape.
    #[error("option 'assign': {0}")]
    BadAssign(JsonShapeError),
    /// `subscribe` naming no topic.
    #[error(
        "No topics to subscribe to as specified value for option 'subscribe' is '{value}'; \
         accepted: topic names separated by commas"
    )]
    EmptySubscribe {
        /// The value given.
        value: String,
    },
    /// An empty `subscribePattern`.
    #[error(
        "Pattern to subscribe is empty as specified value for option 'subscribePattern' is \
         '{value}'; accepted: a Java-style regular expression matched against topic names"
    )]
    EmptyPattern {
        /// The value given.
        value: String,
    },
    /// A `subscribePattern` that cannot be used.
    #[error("option 'subscribePattern' has value '{value}', which cannot be used: {reason}")]
    BadPattern {
        /// The pattern given.
        value: String,
        /// Why.
        reason: TopicPatternError,
    },
    /// No `kafka.bootstrap.servers`.
    #[error(
        "Option 'kafka.bootstrap.servers' must be specified for configuring Kafka consumer; \
         accepted: host:port pairs separated by commas"
    )]
    MissingBootstrapServers,
    /// A sink without `kafka.bootstrap.servers`.
    #[error(
        "Option 'kafka.bootstrap.servers' must be specified for configuring Kafka producer; \
         accepted: host:port pairs separated by commas"
    )]
    MissingProducerBootstrapServers,
    /// A sink's `topic` option that is empty (after trimming).
    #[error(
        "option 'topic' is empty; give the topic to write every row to, or leave the option out \
         to take each row's topic column"
    )]
    EmptyTopicOption,
    /// A Spark configuration of the producer cache that cannot be used.
    #[error("{key} has value '{value}': {problem}")]
    BadCacheConf {
        /// The configuration key.
        key: &'static str,
        /// The value given.
        value: String,
        /// What is wrong and what is accepted.
        problem: String,
    },
    /// A Kafka client property Spark refuses.
    #[error("option '{key}' is refused: {}", .refusal.reason())]
    RefusedClientProperty {
        /// The option as given, with its `kafka.` prefix.
        key: String,
        /// Which property and why.
        refusal: RefusedProperty,
    },
    /// A `kafka.` option the Kafka client does not accept (an unknown
    /// property, a bad value, settings that contradict each other).
    #[error(
        "{} is not accepted by the Kafka client: {source}",
        .option.as_ref().map_or_else(|| "a kafka. option".to_owned(), |o| format!("option '{o}'"))
    )]
    BadClientProperty {
        /// The option as given, with its `kafka.` prefix, when the client
        /// names one.
        option: Option<String>,
        /// The client's reason.
        source: ConfigError,
    },
    /// The option `kafka.` alone, naming no client property.
    #[error("option '{key}' names no Kafka client property; accepted: kafka.<property>, e.g. kafka.security.protocol")]
    EmptyClientProperty {
        /// The option as given.
        key: String,
    },
    /// Offset or timestamp JSON of the wrong shape.
    #[error("option '{option}': {source}")]
    BadPartitionJson {
        /// The option.
        option: &'static str,
        /// What is wrong.
        source: JsonShapeError,
    },
    /// An offset below -2 in offset JSON.
    #[error(
        "option '{option}': offset {offset} for {partition} is not valid; accepted: an offset of \
         0 or more, -1 for latest or -2 for earliest"
    )]
    BadOffset {
        /// The option.
        option: &'static str,
        /// The partition.
        partition: TopicPartition,
        /// The offset given.
        offset: i64,
    },
    /// A global timestamp that is not a whole number.
    #[error(
        "option '{option}': Expected a single long value, got {value}; accepted: milliseconds \
         since the epoch"
    )]
    BadTimestamp {
        /// The option.
        option: &'static str,
        /// The (trimmed) value given.
        value: String,
    },
    /// A negative timestamp (Kafka would read it as a special lookup).
    #[error(
        "option '{option}': the timestamp {timestamp}{} is negative; accepted: milliseconds \
         since the epoch, 0 or more (use startingOffsets for earliest or latest)",
        .partition.as_ref().map(|tp| format!(" for {tp}")).unwrap_or_default()
    )]
    NegativeTimestamp {
        /// The option.
        option: &'static str,
        /// The partition, for per-partition timestamps.
        partition: Option<TopicPartition>,
        /// The timestamp given.
        timestamp: i64,
    },
    /// An unknown `startingOffsetsByTimestampStrategy`.
    #[error(
        "option 'startingOffsetsByTimestampStrategy' has value '{value}'; accepted: error or \
         latest (any case)"
    )]
    BadTimestampStrategy {
        /// The value given.
        value: String,
    },
    /// `startingOffsets=latest` in a batch query.
    #[error(
        "starting offset can't be latest for batch queries on Kafka; set startingOffsets to \
         earliest or to offsets, or give startingTimestamp"
    )]
    LatestStartInBatch,
    /// A `-1` in a batch query's starting offsets.
    #[error(
        "startingOffsets for {partition} can't be latest for batch queries on Kafka; give it \
         -2 (earliest) or an offset in startingOffsets"
    )]
    LatestPartitionStartInBatch {
        /// The partition.
        partition: TopicPartition,
    },
    /// `endingOffsets=earliest` in a batch query.
    #[error(
        "ending offset can't be earliest for batch queries on Kafka; set endingOffsets to latest \
         or to offsets, or give endingTimestamp"
    )]
    EarliestEndInBatch,
    /// A `-2` in a batch query's ending offsets.
    #[error(
        "ending offset for {partition} can't be earliest for batch queries on Kafka; give it \
         -1 (latest) or an offset in endingOffsets"
    )]
    EarliestPartitionEndInBatch {
        /// The partition.
        partition: TopicPartition,
    },
    /// `endingOffsets` in a streaming query.
    #[error("ending offset not valid in streaming queries; remove endingOffsets (a stream reads on as data arrives)")]
    EndingOffsetsInStreaming,
    /// `endingOffsetsByTimestamp` in a streaming query.
    #[error(
        "ending timestamp not valid in streaming queries; remove endingOffsetsByTimestamp (a \
         stream reads on as data arrives)"
    )]
    EndingTimestampsInStreaming,
    /// A batch start and end that cannot both hold (Spark 4.2's checks).
    #[error(transparent)]
    Limits(#[from] LimitError),
    /// A value that does not parse or is out of range.
    #[error("{}option '{option}' has value '{value}'; accepted: {accepted}", spark_prefix(.spark_message))]
    InvalidValue {
        /// The option.
        option: &'static str,
        /// The value given.
        value: String,
        /// What is accepted.
        accepted: &'static str,
        /// Spark's own message for it, where it has one.
        spark_message: Option<&'static str>,
    },
    /// A duration that is not a Spark duration string.
    #[error("option '{option}' has value '{value}': {source}")]
    BadDuration {
        /// The option.
        option: &'static str,
        /// The value given.
        value: String,
        /// Spark's message.
        source: TimeStringError,
    },
    /// `minOffsetsPerTrigger` above `maxOffsetsPerTrigger`.
    #[error(
        "The value of minOffsetPerTrigger({min}) is higher than the maxOffsetsPerTrigger({max}). \
         Lower minOffsetsPerTrigger or raise maxOffsetsPerTrigger."
    )]
    MinAboveMax {
        /// `minOffsetsPerTrigger`.
        min: i64,
        /// `maxOffsetsPerTrigger`.
        max: i64,
    },
}

fn spark_prefix(message: &Option<&'static str>) -> String {
    message.map(|m| format!("{m}: ")).unwrap_or_default()
}

/// Something accepted but worth telling the user; each is also logged once
/// with `tracing::warn!` when the settings are made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OptionWarning {
    /// An option the source does not know (not a `kafka.` one): ignored.
    UnknownOption {
        /// The option as given.
        key: String,
        /// The closest known option.
        closest: String,
    },
    /// An option given more than once (keys are case-insensitive): the last
    /// value is used.
    RepeatedOption {
        /// The option as last given.
        key: String,
    },
    /// A streaming-only option in a batch query: ignored.
    IgnoredInBatch {
        /// The option.
        option: &'static str,
    },
    /// `endingTimestamp` in a streaming query: ignored (Spark says nothing).
    EndingTimestampIgnoredInStreaming,
    /// `kafka.group.id` is set.
    CustomGroupId,
    /// `groupIdPrefix` is set but `kafka.group.id` wins.
    GroupIdPrefixIgnored,
    /// An option a Kafka sink does not know (not a `kafka.` one): ignored.
    UnknownSinkOption {
        /// The option as given.
        key: String,
        /// The closest known option.
        closest: String,
    },
    /// A Kafka source option given to a sink (an option map shared between
    /// a read and a write): ignored.
    SourceOptionInSink {
        /// The option as given.
        key: String,
    },
    /// `includeHeaders` given to a sink: Spark's documentation lists it for
    /// writes, but a `headers` column is always written.
    IncludeHeadersInSink,
    /// `kafka.partitioner.class` naming a Java partitioner other than the
    /// default: it has no effect here.
    PartitionerClassIgnored {
        /// The class given.
        class: String,
    },
    /// A client property not in lower case: Kafka property names are
    /// case-sensitive, so the client will not take it for the lower-case one.
    ClientPropertyCase {
        /// The property as given, without `kafka.`.
        property: String,
    },
}

impl fmt::Display for OptionWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionWarning::UnknownOption { key, closest } => write!(
                f,
                "option '{key}' is not a Kafka source option and is ignored; the closest known \
                 option is '{closest}'"
            ),
            OptionWarning::RepeatedOption { key } => write!(
                f,
                "option '{key}' is given more than once (option names ignore case); the last \
                 value is used"
            ),
            OptionWarning::IgnoredInBatch { option } => write!(f, "{option} option ignored in batch queries"),
            OptionWarning::EndingTimestampIgnoredInStreaming => f.write_str(
                "endingTimestamp option ignored in streaming queries (a stream reads on as data arrives)",
            ),
            OptionWarning::CustomGroupId => f.write_str(CUSTOM_GROUP_ID_WARNING),
            OptionWarning::GroupIdPrefixIgnored => {
                f.write_str("Option groupIdPrefix will be ignored as option kafka.group.id has been set.")
            }
            OptionWarning::UnknownSinkOption { key, closest } => write!(
                f,
                "option '{key}' is not a Kafka sink option and is ignored; the closest known \
                 option is '{closest}'"
            ),
            OptionWarning::SourceOptionInSink { key } => write!(
                f,
                "option '{key}' is a Kafka source option; a sink ignores it"
            ),
            OptionWarning::IncludeHeadersInSink => f.write_str(
                "option 'includeHeaders' has no effect on a Kafka sink: a headers column, when \
                 present, is always written",
            ),
            OptionWarning::PartitionerClassIgnored { class } => write!(
                f,
                "Kafka client property 'partitioner.class' ({class}) has no effect: rows without \
                 a partition go to Kafka's default partitioner (murmur2 of the key, sticky \
                 batches for null keys); set the partition column to choose partitions"
            ),
            OptionWarning::ClientPropertyCase { property } => write!(
                f,
                "Kafka client property '{property}' is not in lower case; Kafka property names \
                 are case-sensitive, so write it as '{}'",
                property.to_ascii_lowercase()
            ),
        }
    }
}
