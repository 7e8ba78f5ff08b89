//! ListOffsets requests, as a consumer or an admin client sends them.

use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::{ApiKey, BrokerId, ListOffsetsRequest};

use super::{by_topic, check_version, epoch_at, require, IsolationLevel, RequestBuildError};

/// The first ListOffsets version with `isolation_level`.
const ISOLATION_LEVEL_FROM: i16 = 2;
/// The first ListOffsets version with `current_leader_epoch` (KIP-320).
const CURRENT_LEADER_EPOCH_FROM: i16 = 4;
/// The first ListOffsets version that finds the largest timestamp (KIP-734).
const MAX_TIMESTAMP_FROM: i16 = 7;

/// Which offset of a partition to look up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OffsetTarget {
    /// The first offset still in the log (the log start offset).
    Earliest,
    /// The next offset to be written (the high watermark), or with
    /// read_committed isolation the last stable offset.
    Latest,
    /// The offset of the record with the largest timestamp (v7+).
    MaxTimestamp,
    /// The first offset whose timestamp is at or after this many
    /// milliseconds since the Unix epoch (0 or more).
    Timestamp(i64),
}

impl OffsetTarget {
    /// The `timestamp` value on the wire: -2 earliest, -1 latest, -3 the
    /// largest timestamp, or the timestamp itself.
    pub const fn wire_value(self) -> i64 {
        match self {
            OffsetTarget::Earliest => -2,
            OffsetTarget::Latest => -1,
            OffsetTarget::MaxTimestamp => -3,
            OffsetTarget::Timestamp(ts) => ts,
        }
    }
}

/// One partition to look up an offset in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListOffsetsPosition<'a> {
    /// The topic.
    pub topic: &'a str,
    /// The partition.
    pub partition: i32,
    /// The leader epoch the caller knows, so that a stale leader is
    /// detected (KIP-320). Sent from v4; `None`, and every version before
    /// v4, skip the check.
    pub current_leader_epoch: Option<i32>,
    /// Which offset.
    pub target: OffsetTarget,
}

/// A ListOffsets request at `version` for `partitions` (grouped by topic,
/// topics in the order they first appear), with replica id -1 (a client,
/// not a follower).
///
/// Refused when `version` cannot carry what is asked:
/// [`IsolationLevel::ReadCommitted`] needs v2 (before, every lookup is
/// read_uncommitted), [`OffsetTarget::MaxTimestamp`] needs v7. A negative
/// [`OffsetTarget::Timestamp`] is refused at every version (negative
/// values are the special targets). `current_leader_epoch` is sent from
/// v4 only, -1 before.
///
/// ```
/// use ferrokafka_protocol::requests::{
///     list_offsets_request, IsolationLevel, ListOffsetsPosition, OffsetTarget,
/// };
///
/// let positions = [ListOffsetsPosition {
///     topic: "orders",
///     partition: 0,
///     current_leader_epoch: Some(3),
///     target: OffsetTarget::Latest,
/// }];
/// let request = list_offsets_request(9, IsolationLevel::ReadCommitted, &positions)?;
/// assert_eq!(request.topics[0].partitions[0].timestamp, -1);
///
/// // v1 has no isolation level: read_committed cannot be asked for.
/// assert!(list_offsets_request(1, IsolationLevel::ReadCommitted, &positions).is_err());
/// # Ok::<(), ferrokafka_protocol::requests::RequestBuildError>(())
/// ```
pub fn list_offsets_request(
    version: i16,
    isolation: IsolationLevel,
    partitions: &[ListOffsetsPosition<'_>],
) -> Result<ListOffsetsRequest, RequestBuildError> {
    let api = ApiKey::ListOffsets;
    check_version(api, version)?;
    if isolation == IsolationLevel::ReadCommitted {
        require(
            api,
            version,
            ISOLATION_LEVEL_FROM,
            "read_committed isolation",
        )?;
    }
    for p in partitions {
        match p.target {
            OffsetTarget::MaxTimestamp => require(
                api,
                version,
                MAX_TIMESTAMP_FROM,
                "the offset of the largest timestamp (OffsetTarget::MaxTimestamp)",
            )?,
            OffsetTarget::Timestamp(ts) if ts < 0 => {
                return Err(RequestBuildError::InvalidInput {
                    api,
                    what: "timestamp",
                    reason: format!(
                        "{ts} is before the Unix epoch; use OffsetTarget::Earliest or Latest for \
                         the ends of the log"
                    ),
                })
            }
            _ => {}
        }
    }
    let topics = by_topic(
        partitions,
        |p| p.topic,
        |p| {
            let epoch = epoch_at(p.current_leader_epoch, version, CURRENT_LEADER_EPOCH_FROM);
            ListOffsetsPartition::default()
                .with_partition_index(p.partition)
                .with_current_leader_epoch(epoch)
                .with_timestamp(p.target.wire_value())
        },
        |name, partitions| {
            ListOffsetsTopic::default()
                .with_name(name)
                .with_partitions(partitions)
        },
    );
    Ok(ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(isolation.wire_value())
        .with_topics(topics))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{as_sent, versions};
    use super::*;

    /// A partition as sent: index, timestamp, current leader epoch.
    type SentPartition = (i32, i64, i32);

    fn position(topic: &str, partition: i32, target: OffsetTarget) -> ListOffsetsPosition<'_> {
        ListOffsetsPosition {
            topic,
            partition,
            current_leader_epoch: Some(9),
            target,
        }
    }

    #[test]
    fn every_target_the_version_knows_encodes_as_built() {
        for version in versions::<ListOffsetsRequest>() {
            let mut positions = vec![
                position("a", 0, OffsetTarget::Earliest),
                position("b", 1, OffsetTarget::Latest),
                position("a", 2, OffsetTarget::Timestamp(1_700_000_000_000)),
            ];
            if version >= 7 {
                positions.push(position("b", 3, OffsetTarget::MaxTimestamp));
            }
            let isolation = if version >= 2 {
                IsolationLevel::ReadCommitted
            } else {
                IsolationLevel::ReadUncommitted
            };
            let built = list_offsets_request(version, isolation, &positions).unwrap();
            let sent = as_sent(&built, version);
            assert_eq!(sent, built, "v{version}: nothing is lost on the wire");
            assert_eq!(sent.replica_id, BrokerId(-1));
            assert_eq!(sent.isolation_level, isolation.wire_value());
            let layout: Vec<(String, Vec<SentPartition>)> = sent
                .topics
                .iter()
                .map(|t| {
                    let partitions = t
                        .partitions
                        .iter()
                        .map(|p| (p.partition_index, p.timestamp, p.current_leader_epoch));
                    (t.name.to_string(), partitions.collect())
                })
                .collect();
            let epoch = if version >= 4 { 9 } else { -1 };
            let mut b = vec![(1, -1, epoch)];
            if version >= 7 {
                b.push((3, -3, epoch));
            }
            assert_eq!(
                layout,
                [
                    (
                        "a".to_owned(),
                        vec![(0, -2, epoch), (2, 1_700_000_000_000, epoch)]
                    ),
                    ("b".to_owned(), b)
                ],
                "v{version}"
            );
        }
    }

    #[test]
    fn what_the_version_cannot_carry_is_refused() {
        let latest = position("a", 0, OffsetTarget::Latest);
        let max = position("a", 0, OffsetTarget::MaxTimestamp);
        for (isolation, wanted, needs, what) in [
            (IsolationLevel::ReadCommitted, latest, 2, "read_committed"),
            (IsolationLevel::ReadUncommitted, max, 7, "largest timestamp"),
        ] {
            let err = list_offsets_request(needs - 1, isolation, &[wanted]).unwrap_err();
            assert!(
                matches!(
                    err,
                    RequestBuildError::NeedsNewerVersion { api: ApiKey::ListOffsets, version, needs: n, .. }
                        if version == needs - 1 && n == needs
                ),
                "{err}"
            );
            assert!(err.to_string().contains(what), "{err}");
            list_offsets_request(needs, isolation, &[wanted]).unwrap();
        }

        let before_epoch = [position("a", 0, OffsetTarget::Timestamp(-5))];
        let err =
            list_offsets_request(9, IsolationLevel::ReadUncommitted, &before_epoch).unwrap_err();
        assert!(
            matches!(
                err,
                RequestBuildError::InvalidInput {
                    what: "timestamp",
                    ..
                }
            ),
            "{err}"
        );

        for version in [0, 10] {
            assert!(matches!(
                list_offsets_request(version, IsolationLevel::ReadUncommitted, &[latest]),
                Err(RequestBuildError::UnsupportedVersion {
                    supported: (1, 9),
                    ..
                })
            ));
        }
    }
}
