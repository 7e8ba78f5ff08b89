//! A typed builder for option maps.

use std::collections::BTreeMap;
use std::time::Duration;

use ferrokafka::TopicPartition;

use super::keys::names::*;
use super::keys::{ENDING_LIMIT_OPTIONS, STARTING_LIMIT_OPTIONS};
use super::{BatchSettings, OptionError, SourceOptions, StreamSettings};
use crate::planner::{OffsetLimit, TimestampStrategy};

/// Builds [`SourceOptions`] with typed values. Each setter writes the
/// option's usual string, so the builder's options validate exactly as the
/// same options given as strings.
///
/// ```
/// use ferrokafka_streaming::options::SourceOptions;
/// use ferrokafka_streaming::planner::OffsetLimit;
///
/// let typed = SourceOptions::builder()
///     .bootstrap_servers("host:9092")
///     .subscribe(["orders", "payments"])
///     .starting(OffsetLimit::Earliest)
///     .max_offsets_per_trigger(1000)
///     .streaming()
///     .unwrap();
/// let strings = SourceOptions::from_pairs([
///     ("kafka.bootstrap.servers", "host:9092"),
///     ("subscribe", "orders,payments"),
///     ("startingOffsets", "earliest"),
///     ("maxOffsetsPerTrigger", "1000"),
/// ])
/// .streaming()
/// .unwrap();
/// assert_eq!(typed, strings);
/// ```
#[derive(Debug, Clone, Default)]
pub struct SourceOptionsBuilder {
    options: SourceOptions,
}

impl SourceOptionsBuilder {
    /// The options built so far.
    pub fn build(self) -> SourceOptions {
        self.options
    }

    /// Validates the options for a batch query.
    pub fn batch(&self) -> Result<BatchSettings, OptionError> {
        self.options.batch()
    }

    /// Validates the options for a streaming query.
    pub fn streaming(&self) -> Result<StreamSettings, OptionError> {
        self.options.streaming()
    }

    /// Any option by name, as a string.
    pub fn option(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.options.set(key, value);
        self
    }

    /// A Kafka client property, given without its `kafka.` prefix.
    pub fn client_property(self, property: &str, value: impl Into<String>) -> Self {
        self.option(format!("kafka.{property}"), value)
    }

    /// `kafka.bootstrap.servers`.
    pub fn bootstrap_servers(self, servers: impl Into<String>) -> Self {
        self.option(BOOTSTRAP_SERVERS, servers)
    }

    /// `subscribe`: these topics (a name cannot contain a comma).
    pub fn subscribe<T: AsRef<str>>(self, topics: impl IntoIterator<Item = T>) -> Self {
        let joined: Vec<String> = topics.into_iter().map(|t| t.as_ref().to_owned()).collect();
        self.option(SUBSCRIBE, joined.join(","))
    }

    /// `subscribePattern`: topics matching this Java-style regex.
    pub fn subscribe_pattern(self, pattern: impl Into<String>) -> Self {
        self.option(SUBSCRIBE_PATTERN, pattern)
    }

    /// `assign`: exactly these partitions.
    pub fn assign(self, partitions: impl IntoIterator<Item = TopicPartition>) -> Self {
        let mut by_topic: BTreeMap<String, Vec<i32>> = BTreeMap::new();
        for tp in partitions {
            by_topic
                .entry(tp.topic.to_string())
                .or_default()
                .push(tp.partition);
        }
        let json =
            serde_json::to_string(&by_topic).expect("a map of strings to numbers serialises");
        self.option(ASSIGN, json)
    }

    /// Where a new query starts: sets `startingOffsets`,
    /// `startingTimestamp` or `startingOffsetsByTimestamp` and removes the
    /// other two.
    pub fn starting(self, limit: OffsetLimit) -> Self {
        self.limit(limit, STARTING_LIMIT_OPTIONS)
    }

    /// Where a batch query ends: sets `endingOffsets`, `endingTimestamp` or
    /// `endingOffsetsByTimestamp` and removes the other two.
    pub fn ending(self, limit: OffsetLimit) -> Self {
        self.limit(limit, ENDING_LIMIT_OPTIONS)
    }

    fn limit(mut self, limit: OffsetLimit, limit_options: [&'static str; 3]) -> Self {
        for option in limit_options {
            self.options.remove(option);
        }
        let [timestamp, timestamps, offsets] = limit_options;
        let (option, value) = match limit {
            OffsetLimit::Earliest => (offsets, "earliest".to_owned()),
            OffsetLimit::Latest => (offsets, "latest".to_owned()),
            OffsetLimit::Offsets(map) => (offsets, map.to_json()),
            OffsetLimit::Timestamp(ms) => (timestamp, ms.to_string()),
            OffsetLimit::Timestamps(map) => (timestamps, map.to_json()),
        };
        self.option(option, value)
    }

    /// `startingOffsetsByTimestampStrategy`.
    pub fn timestamp_strategy(self, strategy: TimestampStrategy) -> Self {
        let value = match strategy {
            TimestampStrategy::Error => "error",
            TimestampStrategy::Latest => "latest",
        };
        self.option(TIMESTAMP_STRATEGY, value)
    }

    /// `failOnDataLoss`.
    pub fn fail_on_data_loss(self, fail: bool) -> Self {
        self.option(FAIL_ON_DATA_LOSS, fail.to_string())
    }

    /// `includeHeaders`.
    pub fn include_headers(self, include: bool) -> Self {
        self.option(INCLUDE_HEADERS, include.to_string())
    }

    /// `minPartitions`.
    pub fn min_partitions(self, partitions: u32) -> Self {
        self.option(MIN_PARTITIONS, partitions.to_string())
    }

    /// `maxRecordsPerPartition`.
    pub fn max_records_per_partition(self, records: u64) -> Self {
        self.option(MAX_RECORDS_PER_PARTITION, records.to_string())
    }

    /// `maxOffsetsPerTrigger`.
    pub fn max_offsets_per_trigger(self, offsets: u64) -> Self {
        self.option(MAX_OFFSETS_PER_TRIGGER, offsets.to_string())
    }

    /// `minOffsetsPerTrigger`.
    pub fn min_offsets_per_trigger(self, offsets: u64) -> Self {
        self.option(MIN_OFFSETS_PER_TRIGGER, offsets.to_string())
    }

    /// `maxTriggerDelay`, in whole milliseconds.
    pub fn max_trigger_delay(self, delay: Duration) -> Self {
        self.option(MAX_TRIGGER_DELAY, format!("{}ms", delay.as_millis()))
    }

    /// `bytesEstimateWindowLength`, in whole milliseconds.
    pub fn bytes_estimate_window_length(self, window: Duration) -> Self {
        self.option(
            BYTES_ESTIMATE_WINDOW_LENGTH,
            format!("{}ms", window.as_millis()),
        )
    }

    /// `kafkaConsumer.pollTimeoutMs`, in whole milliseconds.
    pub fn poll_timeout(self, timeout: Duration) -> Self {
        self.option(POLL_TIMEOUT_MS, timeout.as_millis().to_string())
    }

    /// `fetchOffset.numRetries`: attempts of each offset lookup.
    pub fn fetch_offset_num_retries(self, attempts: u32) -> Self {
        self.option(FETCH_OFFSET_NUM_RETRIES, attempts.to_string())
    }

    /// `fetchOffset.retryIntervalMs`, in whole milliseconds.
    pub fn fetch_offset_retry_interval(self, interval: Duration) -> Self {
        self.option(
            FETCH_OFFSET_RETRY_INTERVAL_MS,
            interval.as_millis().to_string(),
        )
    }

    /// `groupIdPrefix`.
    pub fn group_id_prefix(self, prefix: impl Into<String>) -> Self {
        self.option(GROUP_ID_PREFIX, prefix)
    }

    /// `kafka.group.id` (not recommended; see [`OptionWarning::CustomGroupId`](super::OptionWarning::CustomGroupId)).
    pub fn group_id(self, group_id: impl Into<String>) -> Self {
        self.option(GROUP_ID, group_id)
    }
}
