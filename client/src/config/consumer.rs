//! The consumer section: fetching (`fetch.*`), `isolation.level`,
//! `auto.offset.reset` and consumer groups (`group.*`).

use std::time::Duration;

use super::kinds::{Choice, Flag, Inert, Int, Millis, Named, OptText, MAX_MS};
use super::{ClientConfig, ClientConfigBuilder};

/// `isolation.level`: whether a reader sees records of open and aborted
/// transactions (`read_uncommitted`, the default) or only committed ones
/// up to the last stable offset (`read_committed`).
pub use ferrokafka_protocol::requests::IsolationLevel;

impl Named for IsolationLevel {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("read_uncommitted", IsolationLevel::ReadUncommitted),
        ("read_committed", IsolationLevel::ReadCommitted),
    ];
    const ANY_CASE: bool = false;
}

/// `auto.offset.reset`: where a consumer group member starts reading a
/// partition with no committed offset, or whose offset is out of range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum AutoOffsetReset {
    /// `latest`: the next record written.
    #[default]
    Latest,
    /// `earliest`: the first record the partition holds.
    Earliest,
    /// `none`: fail instead.
    None,
}

impl Named for AutoOffsetReset {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("latest", AutoOffsetReset::Latest),
        ("earliest", AutoOffsetReset::Earliest),
        ("none", AutoOffsetReset::None),
    ];
    const ANY_CASE: bool = true;
}

settings! {
    /// The consumer section's values.
    values ConsumerValues in Consumer, keys consumer_keys;
    getters on ClientConfig, via consumer_values;
    setters on ClientConfigBuilder, via consumer_values_mut;

    /// Minimum bytes a fetch waits for.
    FETCH_MIN_BYTES "fetch.min.bytes" => fetch_min_bytes: Int<i32, 0, 2147483647> = "1" pub(i32);
    /// Maximum bytes one fetch response may carry (soft: one batch always
    /// comes through).
    FETCH_MAX_BYTES "fetch.max.bytes" => fetch_max_bytes: Int<i32, 1, 2147483647> = "52428800" pub(i32);
    /// How long the broker may hold a fetch waiting for `fetch.min.bytes`.
    FETCH_MAX_WAIT_MS "fetch.max.wait.ms" => fetch_max_wait: Millis<0, MAX_MS> = "500" pub(Duration);
    /// Maximum bytes per partition in one fetch.
    MAX_PARTITION_FETCH_BYTES "max.partition.fetch.bytes" => max_partition_fetch_bytes: Int<i32, 1, 2147483647> = "1048576" pub(i32);
    /// ferrokafka's own: fetched bytes buffered client-wide and not yet
    /// taken by readers; fetching pauses above it.
    FETCH_BUFFER_MAX_BYTES "fetch.buffer.max.bytes" => fetch_buffer_max_bytes: Int<usize, 1024, 1099511627776> = "33554432" pub(usize);
    /// `read_uncommitted` or `read_committed`.
    ISOLATION_LEVEL "isolation.level" => isolation_level: Choice<IsolationLevel> = "read_uncommitted" pub(IsolationLevel);
    /// Verify record batch CRCs when reading.
    CHECK_CRCS "check.crcs" => check_crcs: Flag = "true" pub(bool);
    /// Where a group member starts in a partition without a committed
    /// offset: `latest`, `earliest` or `none`. Read by consumer groups,
    /// which are not implemented yet: today it has no effect.
    AUTO_OFFSET_RESET "auto.offset.reset" => auto_offset_reset: Choice<AutoOffsetReset> = "latest" pub(AutoOffsetReset);
    /// The consumer group. Read by consumer groups, which are not
    /// implemented yet: today it has no effect (readers read the ranges
    /// they are given).
    GROUP_ID "group.id" => group_id: OptText = "" pub(Option<&str>, impl Into<String>);
    /// A static member id (KIP-345). Read by consumer groups, which are
    /// not implemented yet.
    GROUP_INSTANCE_ID "group.instance.id" => group_instance_id: OptText = "" pub(Option<&str>, impl Into<String>);
    /// How long the group coordinator waits for a member's heartbeat.
    /// Read by consumer groups, which are not implemented yet.
    SESSION_TIMEOUT_MS "session.timeout.ms" => session_timeout: Millis<1, MAX_MS> = "45000" pub(Duration);
    /// How often a member heartbeats. Read by consumer groups, which are
    /// not implemented yet.
    HEARTBEAT_INTERVAL_MS "heartbeat.interval.ms" => heartbeat_interval: Millis<1, MAX_MS> = "3000" pub(Duration);
    /// The longest time between polls before a member leaves the group.
    /// Read by consumer groups, which are not implemented yet.
    MAX_POLL_INTERVAL_MS "max.poll.interval.ms" => max_poll_interval: Millis<1, MAX_MS> = "300000" pub(Duration);
    /// Java: records one poll returns at most. Readers here stream
    /// records one by one.
    MAX_POLL_RECORDS "max.poll.records" => max_poll_records: Inert = "" inner;
    /// Commit consumed offsets periodically. Read by consumer groups,
    /// which are not implemented yet.
    ENABLE_AUTO_COMMIT "enable.auto.commit" => enable_auto_commit: Flag = "true" pub(bool);
    /// How often offsets are committed with `enable.auto.commit`. Read by
    /// consumer groups, which are not implemented yet.
    AUTO_COMMIT_INTERVAL_MS "auto.commit.interval.ms" => auto_commit_interval: Millis<0, MAX_MS> = "5000" pub(Duration);
    /// Java: how partitions are assigned in a group; the assignors come
    /// with consumer groups.
    PARTITION_ASSIGNMENT_STRATEGY "partition.assignment.strategy" => partition_assignment_strategy: Inert = "" inner;
    /// Java: the key deserializer class. Keys are handed out as bytes here.
    KEY_DESERIALIZER "key.deserializer" => key_deserializer: Inert = "" inner;
    /// Java: the value deserializer class. Values are handed out as bytes here.
    VALUE_DESERIALIZER "value.deserializer" => value_deserializer: Inert = "" inner;
    /// Java: the consumer's rack, for fetching from the closest replica;
    /// fetches here go to the leader.
    CLIENT_RACK "client.rack" => client_rack: Inert = "" inner;
    /// Java: whether a consumer's metadata requests may create topics;
    /// readers here never ask for topics to be created.
    ALLOW_AUTO_CREATE_TOPICS "allow.auto.create.topics" => allow_auto_create_topics: Inert = "" inner;
    /// Java: whether pattern subscriptions skip internal topics; they
    /// always do here.
    EXCLUDE_INTERNAL_TOPICS "exclude.internal.topics" => exclude_internal_topics: Inert = "" inner;
}
