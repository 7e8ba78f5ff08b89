//! Fetch requests, as a consumer sends them.

use std::time::Duration;

use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiKey, BrokerId, FetchRequest};
use kafka_protocol::protocol::StrBytes;

use super::{by_topic, check_version, epoch_at, millis_i32, IsolationLevel, RequestBuildError};

/// The first Fetch version with `current_leader_epoch` (KIP-320).
const CURRENT_LEADER_EPOCH_FROM: i16 = 9;

/// One partition to fetch from, and where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchPosition<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The partition.
    pub partition: i32,
    /// The offset of the first record wanted.
    pub offset: i64,
    /// The leader epoch the consumer knows for the partition, so that a
    /// stale leader or a stale consumer is detected (KIP-320). Sent from
    /// v9; `None`, and every version before v9, skip the check.
    pub current_leader_epoch: Option<i32>,
    /// The most bytes to return for this partition (the first batch comes
    /// back whole even when it is larger).
    pub max_bytes: i32,
}

/// The request-wide settings of a fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchSettings {
    /// How long the broker may wait for `min_bytes` to arrive (sent in
    /// whole milliseconds, at most `i32::MAX`).
    pub max_wait: Duration,
    /// The fewest bytes worth answering with before `max_wait` passes.
    pub min_bytes: i32,
    /// The most bytes to return in all.
    pub max_bytes: i32,
    /// Which records may be read.
    pub isolation: IsolationLevel,
}

/// A consumer's Fetch request at `version` for `partitions` (grouped by
/// topic, topics in the order they first appear).
///
/// What it fills in for every version: replica id -1 (a consumer, not a
/// follower); no fetch session (session id 0, epoch -1: a full fetch,
/// from v7) and nothing to forget; `log_start_offset` and
/// `last_fetched_epoch` -1, which only followers set (sent from v5 and
/// v12; Nisshi expects the -1 explicitly); an empty rack id (from v11).
/// `current_leader_epoch` is sent from v9 only, -1 before.
///
/// ```
/// use std::time::Duration;
/// use ferrokafka_protocol::requests::{fetch_request, FetchPosition, FetchSettings, IsolationLevel};
///
/// let settings = FetchSettings {
///     max_wait: Duration::from_millis(500),
///     min_bytes: 1,
///     max_bytes: 50 << 20,
///     isolation: IsolationLevel::ReadCommitted,
/// };
/// let positions = [
///     FetchPosition { topic: "orders", partition: 0, offset: 42, current_leader_epoch: Some(3), max_bytes: 1 << 20 },
///     FetchPosition { topic: "orders", partition: 1, offset: 7, current_leader_epoch: None, max_bytes: 1 << 20 },
/// ];
/// let request = fetch_request(12, &settings, &positions)?;
/// assert_eq!(request.topics.len(), 1, "one entry per topic");
/// assert_eq!(request.topics[0].partitions[0].current_leader_epoch, 3);
/// assert_eq!(request.isolation_level, 1);
/// # Ok::<(), ferrokafka_protocol::requests::RequestBuildError>(())
/// ```
pub fn fetch_request(
    version: i16,
    settings: &FetchSettings,
    partitions: &[FetchPosition<'_>],
) -> Result<FetchRequest, RequestBuildError> {
    check_version(ApiKey::Fetch, version)?;
    let topics = by_topic(
        partitions,
        |p| p.topic,
        |p| {
            let epoch = epoch_at(p.current_leader_epoch, version, CURRENT_LEADER_EPOCH_FROM);
            FetchPartition::default()
                .with_partition(p.partition)
                .with_current_leader_epoch(epoch)
                .with_fetch_offset(p.offset)
                .with_last_fetched_epoch(-1)
                .with_log_start_offset(-1)
                .with_partition_max_bytes(p.max_bytes)
        },
        |name, partitions| {
            FetchTopic::default()
                .with_topic(name)
                .with_partitions(partitions)
        },
    );
    Ok(FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(millis_i32(settings.max_wait))
        .with_min_bytes(settings.min_bytes)
        .with_max_bytes(settings.max_bytes)
        .with_isolation_level(settings.isolation.wire_value())
        .with_session_id(0)
        .with_session_epoch(-1)
        .with_topics(topics)
        .with_forgotten_topics_data(Vec::new())
        .with_rack_id(StrBytes::from_static_str("")))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{as_sent, versions};
    use super::*;

    const SETTINGS: FetchSettings = FetchSettings {
        max_wait: Duration::from_millis(500),
        min_bytes: 1,
        max_bytes: 1 << 20,
        isolation: IsolationLevel::ReadCommitted,
    };

    fn position(topic: &str, partition: i32, epoch: Option<i32>) -> FetchPosition<'_> {
        FetchPosition {
            topic,
            partition,
            offset: 1000 + i64::from(partition),
            current_leader_epoch: epoch,
            max_bytes: 4096,
        }
    }

    #[test]
    fn a_consumer_fetch_encodes_at_every_version() {
        let positions = [
            position("a", 0, Some(5)),
            position("b", 3, Some(6)),
            position("a", 1, None),
        ];
        for version in versions::<FetchRequest>() {
            let sent = as_sent(
                &fetch_request(version, &SETTINGS, &positions).unwrap(),
                version,
            );
            assert_eq!(sent.replica_id, BrokerId(-1), "v{version}");
            assert_eq!(sent.max_wait_ms, 500);
            assert_eq!((sent.min_bytes, sent.max_bytes), (1, 1 << 20));
            assert_eq!(sent.isolation_level, 1, "v{version}");
            assert_eq!((sent.session_id, sent.session_epoch), (0, -1));
            let layout: Vec<(String, Vec<(i32, i64)>)> = sent
                .topics
                .iter()
                .map(|t| {
                    let partitions = t.partitions.iter().map(|p| (p.partition, p.fetch_offset));
                    (t.topic.to_string(), partitions.collect())
                })
                .collect();
            assert_eq!(
                layout,
                [
                    ("a".to_owned(), vec![(0, 1000), (1, 1001)]),
                    ("b".to_owned(), vec![(3, 1003)])
                ],
                "v{version}: grouped by topic in first-seen order"
            );
            for p in sent.topics.iter().flat_map(|t| &t.partitions) {
                assert_eq!(p.partition_max_bytes, 4096);
                assert_eq!((p.log_start_offset, p.last_fetched_epoch), (-1, -1));
            }
        }
    }

    #[test]
    fn the_leader_epoch_is_sent_from_v9() {
        let positions = [position("a", 0, Some(5)), position("a", 1, None)];
        for version in versions::<FetchRequest>() {
            let built = fetch_request(version, &SETTINGS, &positions).unwrap();
            let sent = as_sent(&built, version);
            let epochs: Vec<i32> = sent.topics[0]
                .partitions
                .iter()
                .map(|p| p.current_leader_epoch)
                .collect();
            let expected = if version >= 9 {
                vec![5, -1]
            } else {
                vec![-1, -1]
            };
            assert_eq!(epochs, expected, "v{version}");
            // What is built is what is sent: nothing is lost on the wire.
            assert_eq!(sent, built, "v{version}");
        }
    }

    #[test]
    fn a_long_wait_saturates_and_versions_outside_the_table_are_refused() {
        let settings = FetchSettings {
            max_wait: Duration::from_secs(u64::MAX),
            ..SETTINGS
        };
        let request = fetch_request(12, &settings, &[]).unwrap();
        assert_eq!(request.max_wait_ms, i32::MAX);
        for version in [3, 13] {
            assert!(matches!(
                fetch_request(version, &SETTINGS, &[]),
                Err(RequestBuildError::UnsupportedVersion {
                    api: ApiKey::Fetch,
                    supported: (4, 12),
                    ..
                })
            ));
        }
    }
}
