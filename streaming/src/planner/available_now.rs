//! `Trigger.AvailableNow` (§8): the latest offsets are fetched once, on the
//! run's first trigger, and every batch's end is checked against that
//! snapshot and against the offsets Kafka reports now. These failures are
//! fatal whatever `failOnDataLoss` says.

use ferrokafka::TopicPartition;

use super::PartitionOffsets;
use crate::java::scala_set_string;

/// A batch end that does not fit an `AvailableNow` run; Spark's error
/// classes and messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AvailableNowError {
    /// The end names other partitions than the snapshot.
    #[error(
        "[MISMATCHED_TOPIC_PARTITIONS_BETWEEN_END_OFFSET_AND_PREFETCHED] Kafka data source in \
         Trigger.AvailableNow should provide the same topic partitions in pre-fetched offset to end \
         offset for each microbatch. The error could be transient - restart your query, and report \
         if you still see the same issue.\ntopic-partitions for pre-fetched offset: {}, \
         topic-partitions for end offset: {}.",
        scala_set_string(.prefetched), scala_set_string(.end)
    )]
    PartitionsDifferFromPrefetched {
        /// The snapshot's partitions.
        prefetched: Vec<TopicPartition>,
        /// The end's partitions.
        end: Vec<TopicPartition>,
    },
    /// An end offset beyond the snapshot.
    #[error(
        "[END_OFFSET_HAS_GREATER_OFFSET_FOR_TOPIC_PARTITION_THAN_PREFETCHED] For Kafka data source \
         with Trigger.AvailableNow, end offset should have lower or equal offset per each topic \
         partition than pre-fetched offset. The error could be transient - restart your query, \
         and report if you still see the same issue.\npre-fetched offset: {prefetched}, end \
         offset: {end}."
    )]
    EndBeyondPrefetched {
        /// The snapshot.
        prefetched: PartitionOffsets,
        /// The end.
        end: PartitionOffsets,
    },
    /// Partitions of the end no longer reported by Kafka.
    #[error(
        "[LOST_TOPIC_PARTITIONS_IN_END_OFFSET_WITH_TRIGGER_AVAILABLENOW] Some of partitions in Kafka \
         topic(s) have been lost during running query with Trigger.AvailableNow. The error could be \
         transient - restart your query, and report if you still see the same issue.\n\
         topic-partitions for latest offset: {}, topic-partitions for end offset: {}",
        scala_set_string(.latest), scala_set_string(.end)
    )]
    PartitionsLost {
        /// The partitions Kafka reports now.
        latest: Vec<TopicPartition>,
        /// The end's partitions.
        end: Vec<TopicPartition>,
    },
    /// An end offset beyond what Kafka reports now.
    #[error(
        "[END_OFFSET_HAS_GREATER_OFFSET_FOR_TOPIC_PARTITION_THAN_LATEST_WITH_TRIGGER_AVAILABLENOW] \
         Some of partitions in Kafka topic(s) report available offset which is less than end offset \
         during running query with Trigger.AvailableNow. The error could be transient - restart \
         your query, and report if you still see the same issue.\nlatest offset: {latest}, end \
         offset: {end}"
    )]
    EndBeyondLatest {
        /// The offsets Kafka reports now.
        latest: PartitionOffsets,
        /// The end.
        end: PartitionOffsets,
    },
}

/// Spark's first two checks of an `AvailableNow` batch end: the same
/// partitions as the snapshot, and no offset beyond it.
pub fn check_end_against_prefetched(
    prefetched: &PartitionOffsets,
    end: &PartitionOffsets,
) -> Result<(), AvailableNowError> {
    if !prefetched.partitions().eq(end.partitions()) {
        return Err(AvailableNowError::PartitionsDifferFromPrefetched {
            prefetched: prefetched.partitions().cloned().collect(),
            end: end.partitions().cloned().collect(),
        });
    }
    if end.any_above(prefetched) {
        return Err(AvailableNowError::EndBeyondPrefetched {
            prefetched: prefetched.clone(),
            end: end.clone(),
        });
    }
    Ok(())
}

/// Spark's last two checks, against latest offsets fetched again for this
/// batch: every end partition still reported, and no end offset beyond it.
///
/// ```
/// use ferrokafka_streaming::planner::{check_end_against_latest, check_end_against_prefetched, PartitionOffsets};
/// let snapshot = PartitionOffsets::from_json(r#"{"t":{"0":100}}"#).unwrap();
/// let end = PartitionOffsets::from_json(r#"{"t":{"0":60}}"#).unwrap();
/// assert!(check_end_against_prefetched(&snapshot, &end).is_ok());
/// let truncated = PartitionOffsets::from_json(r#"{"t":{"0":40}}"#).unwrap();
/// assert!(check_end_against_latest(&end, &truncated).is_err());
/// ```
pub fn check_end_against_latest(
    end: &PartitionOffsets,
    latest: &PartitionOffsets,
) -> Result<(), AvailableNowError> {
    if !end.partitions_missing_from(latest).is_empty() {
        return Err(AvailableNowError::PartitionsLost {
            latest: latest.partitions().cloned().collect(),
            end: end.partitions().cloned().collect(),
        });
    }
    if end.any_above(latest) {
        return Err(AvailableNowError::EndBeyondLatest {
            latest: latest.clone(),
            end: end.clone(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(json: &str) -> PartitionOffsets {
        PartitionOffsets::from_json(json).unwrap()
    }

    #[test]
    fn checks_against_the_snapshot() {
        let snapshot = offsets(r#"{"t":{"0":100,"1":50}}"#);
        assert_eq!(
            check_end_against_prefetched(&snapshot, &offsets(r#"{"t":{"0":100,"1":20}}"#)),
            Ok(())
        );
        let err =
            check_end_against_prefetched(&snapshot, &offsets(r#"{"t":{"0":100}}"#)).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("[MISMATCHED_TOPIC_PARTITIONS_BETWEEN_END_OFFSET_AND_PREFETCHED]"));
        assert!(err
            .to_string()
            .ends_with("topic-partitions for pre-fetched offset: Set(t-0, t-1), topic-partitions for end offset: Set(t-0)."));
        let err = check_end_against_prefetched(&snapshot, &offsets(r#"{"t":{"0":101,"1":50}}"#))
            .unwrap_err();
        assert!(matches!(err, AvailableNowError::EndBeyondPrefetched { .. }));
        assert!(err.to_string().contains(
            r#"pre-fetched offset: {"t":{"0":100,"1":50}}, end offset: {"t":{"0":101,"1":50}}."#
        ));
    }

    #[test]
    fn checks_against_latest_offsets() {
        let end = offsets(r#"{"t":{"0":60,"1":5}}"#);
        // More partitions or higher offsets now are fine: they are left for the next run.
        assert_eq!(
            check_end_against_latest(&end, &offsets(r#"{"t":{"0":90,"1":5,"2":7}}"#)),
            Ok(())
        );
        let err = check_end_against_latest(&end, &offsets(r#"{"t":{"0":90}}"#)).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("[LOST_TOPIC_PARTITIONS_IN_END_OFFSET_WITH_TRIGGER_AVAILABLENOW]"));
        let err = check_end_against_latest(&end, &offsets(r#"{"t":{"0":59,"1":5}}"#)).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("[END_OFFSET_HAS_GREATER_OFFSET_FOR_TOPIC_PARTITION_THAN_LATEST_WITH_TRIGGER_AVAILABLENOW]"));
    }
}
