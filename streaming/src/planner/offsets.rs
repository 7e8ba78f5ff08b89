//! Start and end limits (`startingOffsets`, `endingOffsets`, the timestamp
//! options) and their resolution against offsets the caller looked up.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ferrokafka::TopicPartition;

use super::PartitionOffsets;
use crate::java::scala_set_string;

/// The offset sentinel meaning "the earliest available offset" (Spark's
/// `KafkaOffsetRangeLimit.EARLIEST`).
pub const EARLIEST: i64 = -2;
/// The offset sentinel meaning "the latest offset" (Spark's
/// `KafkaOffsetRangeLimit.LATEST`).
pub const LATEST: i64 = -1;

/// Where a query starts or ends reading, before resolution.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum OffsetLimit {
    /// Every partition from its earliest offset.
    Earliest,
    /// Every partition from (or up to) its latest offset.
    Latest,
    /// These offsets, exactly for the assigned partitions; `-2` ([`EARLIEST`])
    /// and `-1` ([`LATEST`]) stand for the earliest and latest offset.
    Offsets(PartitionOffsets),
    /// Every partition from the first record whose timestamp is at least
    /// this (milliseconds since the epoch).
    Timestamp(i64),
    /// Per partition, the first record whose timestamp is at least the given
    /// one; the values are timestamps, not offsets.
    Timestamps(PartitionOffsets),
}

/// What to do with a partition that has no record at or after the starting
/// timestamp (`startingOffsetsByTimestampStrategy`). End limits always use
/// the latest offset then.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TimestampStrategy {
    /// Fail the query (Spark's default).
    #[default]
    Error,
    /// Start that partition at its latest offset.
    Latest,
}

/// Whether a limit is a start or an end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitPosition {
    /// A starting limit.
    Start,
    /// An ending limit (batch queries only).
    End,
}

impl LimitPosition {
    fn word(self) -> &'static str {
        match self {
            LimitPosition::Start => "start",
            LimitPosition::End => "end",
        }
    }
}

/// When sentinels become concrete offsets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Binding {
    /// Resolve everything now: a streaming query's initial offsets (§2.3).
    Eager,
    /// Batch queries (§2.5): `earliest`/`latest` limits and `-2`/`-1` in
    /// offset JSON stay sentinels, resolved by each task when it reads, so
    /// data aged out in between does not fail the query; timestamps are
    /// resolved now.
    Late,
}

/// The offsets a caller must look up before [`OffsetLimit::resolve`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LookupPlan {
    /// Partitions whose earliest offset is needed.
    pub earliest: BTreeSet<TopicPartition>,
    /// Partitions whose latest offset is needed.
    pub latest: BTreeSet<TopicPartition>,
    /// Partitions whose offset for a timestamp (ListOffsets by time) is needed.
    pub by_timestamp: BTreeMap<TopicPartition, i64>,
}

impl LookupPlan {
    /// Whether nothing needs looking up.
    pub fn is_empty(&self) -> bool {
        self.earliest.is_empty() && self.latest.is_empty() && self.by_timestamp.is_empty()
    }
}

/// Offsets the caller looked up, as a [`LookupPlan`] asked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OffsetLookups {
    /// Earliest offsets.
    pub earliest: PartitionOffsets,
    /// Latest offsets (with the isolation level's meaning of latest).
    pub latest: PartitionOffsets,
    /// The offset of the first record at or after the timestamp asked for,
    /// or `None` when there is none (Kafka answered offset -1).
    pub by_timestamp: BTreeMap<TopicPartition, Option<i64>>,
}

/// Which kind of looked-up offset was missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookupKind {
    /// An earliest offset.
    Earliest,
    /// A latest offset.
    Latest,
    /// An offset by timestamp.
    ByTimestamp,
}

impl fmt::Display for LookupKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LookupKind::Earliest => "earliest",
            LookupKind::Latest => "latest",
            LookupKind::ByTimestamp => "by-timestamp",
        })
    }
}

/// A limit that cannot be resolved, or a pair of batch limits that cannot
/// both hold. Messages follow Spark's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// A streaming query's specific starting offsets name other partitions
    /// than those assigned (Spark's assertion).
    #[error(
        "If startingOffsets contains specific offsets, you must specify all TopicPartitions.\n\
         Use -1 for latest, -2 for earliest, if you don't care.\n\
         Specified: {} Assigned: {}",
        scala_set_string(.specified), scala_set_string(.assigned)
    )]
    StartOffsetsDoNotMatchAssigned {
        /// The partitions in the JSON.
        specified: Vec<TopicPartition>,
        /// The partitions the topic selection resolved to.
        assigned: Vec<TopicPartition>,
    },
    /// A batch query's specific offsets name other partitions than those
    /// assigned.
    #[error(
        "[KAFKA_START_OFFSET_DOES_NOT_MATCH_ASSIGNED] Partitions specified for Kafka {} offsets \
         don't match what are assigned. Maybe topic partitions are created or deleted while the \
         query is running. Use -1 for latest, -2 for earliest.\nSpecified: {} Assigned: {}",
        .position.word(), scala_set_string(.specified), scala_set_string(.assigned)
    )]
    OffsetsDoNotMatchAssigned {
        /// Start or end.
        position: LimitPosition,
        /// The partitions in the JSON.
        specified: Vec<TopicPartition>,
        /// The partitions the topic selection resolved to.
        assigned: Vec<TopicPartition>,
    },
    /// Per-partition timestamps name other partitions than those assigned.
    #[error(
        "[KAFKA_TIMESTAMP_OFFSET_DOES_NOT_MATCH_ASSIGNED] Partitions specified for Kafka \
         timestamp based {} offsets don't match what are assigned. Maybe topic partitions are \
         created or deleted while the query is running, or you didn't specify all the \
         partitions.\nSpecified: {} Assigned: {}",
        .position.word(), scala_set_string(.specified), scala_set_string(.assigned)
    )]
    TimestampsDoNotMatchAssigned {
        /// Start or end.
        position: LimitPosition,
        /// The partitions in the JSON.
        specified: Vec<TopicPartition>,
        /// The partitions the topic selection resolved to.
        assigned: Vec<TopicPartition>,
    },
    /// No record at or after the starting timestamp, with strategy `error`.
    #[error(
        "No offset matched from request of topic-partition {partition} and timestamp \
         {timestamp}. Set startingOffsetsByTimestampStrategy to latest to start such \
         partitions at their latest offset instead."
    )]
    NoOffsetForTimestamp {
        /// The partition.
        partition: TopicPartition,
        /// The timestamp asked for.
        timestamp: i64,
    },
    /// The caller did not supply an offset its [`LookupPlan`] asked for.
    #[error(
        "the {kind} offset of {partition} was not supplied; look up every offset that \
         OffsetLimit::lookups_needed lists"
    )]
    MissingLookup {
        /// The partition.
        partition: TopicPartition,
        /// The kind of lookup.
        kind: LookupKind,
    },
    /// Batch start and end JSON name different partitions (Spark 4.2).
    #[error(
        "[MISMATCHED_TOPIC_PARTITIONS_BETWEEN_START_OFFSET_AND_END_OFFSET] The specified start \
         offset and end offset should have the same topic-partitions.\nTopic-partitions for \
         start offset: {}, topic-partitions for end offset: {}.",
        scala_set_string(.start), scala_set_string(.end)
    )]
    MismatchedStartAndEnd {
        /// The start's partitions.
        start: Vec<TopicPartition>,
        /// The end's partitions.
        end: Vec<TopicPartition>,
    },
    /// A batch start offset (or timestamp) above its end (Spark 4.2); only
    /// concrete values are compared, never sentinels.
    #[error(
        "[UNRESOLVED_START_OFFSET_GREATER_THAN_END_OFFSET] The specified start {kind} {start} \
         is greater than the end {kind} {end} for topic {} partition {}.",
        .partition.topic, .partition.partition
    )]
    StartGreaterThanEnd {
        /// `offset` or `timestamp`.
        kind: &'static str,
        /// The start value.
        start: i64,
        /// The end value.
        end: i64,
        /// The partition.
        partition: TopicPartition,
    },
}

impl OffsetLimit {
    /// The offsets to look up before [`resolve`](Self::resolve) can resolve
    /// this limit for `assigned`.
    ///
    /// For timestamp limits the latest offsets are listed too whenever a
    /// partition without a matching record would take its latest offset (an
    /// end limit, or strategy `latest`), so one round of lookups suffices.
    ///
    /// Offsets or timestamps that name other partitions than `assigned`
    /// need nothing looked up: [`resolve`](Self::resolve) refuses them (as
    /// Spark does before it asks Kafka, which would not know a partition
    /// that does not exist).
    pub fn lookups_needed(
        &self,
        assigned: &BTreeSet<TopicPartition>,
        position: LimitPosition,
        strategy: TimestampStrategy,
        binding: Binding,
    ) -> LookupPlan {
        let mut plan = LookupPlan::default();
        let eager = binding == Binding::Eager;
        let latest_for_no_match =
            position == LimitPosition::End || strategy == TimestampStrategy::Latest;
        match self {
            OffsetLimit::Earliest if eager => plan.earliest = assigned.clone(),
            OffsetLimit::Latest if eager => plan.latest = assigned.clone(),
            OffsetLimit::Earliest | OffsetLimit::Latest => {}
            OffsetLimit::Offsets(offsets) | OffsetLimit::Timestamps(offsets)
                if !same_partitions(offsets, assigned) => {}
            OffsetLimit::Offsets(offsets) if eager => {
                for (tp, offset) in offsets.iter() {
                    match offset {
                        EARLIEST => plan.earliest.insert(tp.clone()),
                        LATEST => plan.latest.insert(tp.clone()),
                        _ => false,
                    };
                }
            }
            OffsetLimit::Offsets(_) => {}
            OffsetLimit::Timestamp(timestamp) => {
                plan.by_timestamp = assigned.iter().map(|tp| (tp.clone(), *timestamp)).collect();
                if latest_for_no_match {
                    plan.latest = assigned.clone();
                }
            }
            OffsetLimit::Timestamps(timestamps) => {
                plan.by_timestamp = timestamps.0.clone();
                if latest_for_no_match {
                    plan.latest = timestamps.0.keys().cloned().collect();
                }
            }
        }
        plan
    }

    /// Resolves this limit for the `assigned` partitions with the offsets
    /// the caller looked up.
    ///
    /// * `earliest` / `latest`: every assigned partition, looked up
    ///   ([`Binding::Eager`]) or as a sentinel ([`Binding::Late`]).
    /// * Offsets JSON: must name exactly the assigned partitions; numbers are
    ///   kept as given (a number below the earliest offset is only noticed
    ///   when reading), sentinels resolved when eager.
    /// * Timestamps: the first offset at or after the timestamp; where there
    ///   is none, a start limit fails ([`TimestampStrategy::Error`]) or takes
    ///   the latest offset, and an end limit takes the latest offset.
    ///   Per-partition timestamps must name exactly the assigned partitions.
    ///
    /// ```
    /// use std::collections::BTreeSet;
    /// use ferrokafka::TopicPartition;
    /// use ferrokafka_streaming::planner::*;
    ///
    /// let assigned: BTreeSet<_> = [TopicPartition::new("t", 0)].into();
    /// let limit = OffsetLimit::Timestamp(1_700_000_000_000);
    /// let plan = limit.lookups_needed(&assigned, LimitPosition::Start, TimestampStrategy::Latest, Binding::Eager);
    /// // The caller asks Kafka; here partition 0 has no record that late.
    /// let lookups = OffsetLookups {
    ///     by_timestamp: plan.by_timestamp.keys().map(|tp| (tp.clone(), None)).collect(),
    ///     latest: plan.latest.iter().map(|tp| (tp.clone(), 42)).collect(),
    ///     ..OffsetLookups::default()
    /// };
    /// let start = limit
    ///     .resolve(&assigned, &lookups, LimitPosition::Start, TimestampStrategy::Latest, Binding::Eager)
    ///     .unwrap();
    /// assert_eq!(start.to_json(), r#"{"t":{"0":42}}"#);
    /// ```
    pub fn resolve(
        &self,
        assigned: &BTreeSet<TopicPartition>,
        lookups: &OffsetLookups,
        position: LimitPosition,
        strategy: TimestampStrategy,
        binding: Binding,
    ) -> Result<PartitionOffsets, LimitError> {
        let eager = binding == Binding::Eager;
        let all = |offset_of: &dyn Fn(&TopicPartition) -> Result<i64, LimitError>| {
            assigned
                .iter()
                .map(|tp| Ok((tp.clone(), offset_of(tp)?)))
                .collect::<Result<PartitionOffsets, LimitError>>()
        };
        match self {
            OffsetLimit::Earliest if eager => {
                all(&|tp| looked_up(&lookups.earliest, tp, LookupKind::Earliest))
            }
            OffsetLimit::Latest if eager => {
                all(&|tp| looked_up(&lookups.latest, tp, LookupKind::Latest))
            }
            OffsetLimit::Earliest => all(&|_| Ok(EARLIEST)),
            OffsetLimit::Latest => all(&|_| Ok(LATEST)),
            OffsetLimit::Offsets(offsets) => {
                if !same_partitions(offsets, assigned) {
                    let specified = offsets.partitions().cloned().collect();
                    let assigned = assigned.iter().cloned().collect();
                    return Err(if eager {
                        LimitError::StartOffsetsDoNotMatchAssigned {
                            specified,
                            assigned,
                        }
                    } else {
                        LimitError::OffsetsDoNotMatchAssigned {
                            position,
                            specified,
                            assigned,
                        }
                    });
                }
                if !eager {
                    return Ok(offsets.clone());
                }
                offsets
                    .iter()
                    .map(|(tp, offset)| {
                        let resolved = match offset {
                            EARLIEST => looked_up(&lookups.earliest, tp, LookupKind::Earliest)?,
                            LATEST => looked_up(&lookups.latest, tp, LookupKind::Latest)?,
                            concrete => concrete,
                        };
                        Ok((tp.clone(), resolved))
                    })
                    .collect()
            }
            OffsetLimit::Timestamp(timestamp) => {
                all(&|tp| by_timestamp(lookups, tp, *timestamp, position, strategy))
            }
            OffsetLimit::Timestamps(timestamps) => {
                if !same_partitions(timestamps, assigned) {
                    return Err(LimitError::TimestampsDoNotMatchAssigned {
                        position,
                        specified: timestamps.partitions().cloned().collect(),
                        assigned: assigned.iter().cloned().collect(),
                    });
                }
                timestamps
                    .iter()
                    .map(|(tp, timestamp)| {
                        Ok((
                            tp.clone(),
                            by_timestamp(lookups, tp, timestamp, position, strategy)?,
                        ))
                    })
                    .collect()
            }
        }
    }

    /// The first partition whose offset in an [`OffsetLimit::Offsets`] map
    /// is `sentinel` (for the batch checks of `-1` starts and `-2` ends).
    pub(crate) fn first_partition_with(&self, sentinel: i64) -> Option<&TopicPartition> {
        match self {
            OffsetLimit::Offsets(offsets) => offsets
                .iter()
                .find(|(_, o)| *o == sentinel)
                .map(|(tp, _)| tp),
            _ => None,
        }
    }
}

/// Spark 4.2's batch check of a start and end limit before any lookup:
/// two offset maps (or two timestamp maps) must name the same partitions,
/// and no concrete start may exceed its concrete end.
pub fn check_batch_limits(start: &OffsetLimit, end: &OffsetLimit) -> Result<(), LimitError> {
    let (starts, ends, kind) = match (start, end) {
        (OffsetLimit::Offsets(s), OffsetLimit::Offsets(e)) => (s, e, "offset"),
        (OffsetLimit::Timestamps(s), OffsetLimit::Timestamps(e)) => (s, e, "timestamp"),
        _ => return Ok(()),
    };
    if !starts.partitions().eq(ends.partitions()) {
        return Err(LimitError::MismatchedStartAndEnd {
            start: starts.partitions().cloned().collect(),
            end: ends.partitions().cloned().collect(),
        });
    }
    for ((tp, start), (_, end)) in starts.iter().zip(ends.iter()) {
        if start > end && start >= 0 && end >= 0 {
            return Err(LimitError::StartGreaterThanEnd {
                kind,
                start,
                end,
                partition: tp.clone(),
            });
        }
    }
    Ok(())
}

fn same_partitions(offsets: &PartitionOffsets, assigned: &BTreeSet<TopicPartition>) -> bool {
    offsets.partitions().eq(assigned.iter())
}

fn looked_up(
    map: &PartitionOffsets,
    tp: &TopicPartition,
    kind: LookupKind,
) -> Result<i64, LimitError> {
    map.get(tp).ok_or_else(|| LimitError::MissingLookup {
        partition: tp.clone(),
        kind,
    })
}

fn by_timestamp(
    lookups: &OffsetLookups,
    tp: &TopicPartition,
    timestamp: i64,
    position: LimitPosition,
    strategy: TimestampStrategy,
) -> Result<i64, LimitError> {
    let found = lookups
        .by_timestamp
        .get(tp)
        .ok_or_else(|| LimitError::MissingLookup {
            partition: tp.clone(),
            kind: LookupKind::ByTimestamp,
        })?;
    match (found, position, strategy) {
        (Some(offset), _, _) => Ok(*offset),
        (None, LimitPosition::Start, TimestampStrategy::Error) => {
            Err(LimitError::NoOffsetForTimestamp {
                partition: tp.clone(),
                timestamp,
            })
        }
        (None, _, _) => looked_up(&lookups.latest, tp, LookupKind::Latest),
    }
}

#[cfg(test)]
#[path = "offsets_tests.rs"]
mod tests;
