//! Per-trigger reconciliation of a micro-batch's start and end offsets
//! (§2.4 step 3): new partitions, vanished partitions and shrunk
//! partitions, classified as Spark's `KAFKA_DATA_LOSS` reasons.

use std::collections::BTreeSet;
use std::fmt;

use ferrokafka::TopicPartition;

use super::ranges::{OffsetRange, PlanError, RangeCalculator};
use super::PartitionOffsets;
use crate::java::scala_set_string;

/// What Spark tells the user when `kafka.group.id` is set (paraphrased).
pub(crate) const CUSTOM_GROUP_ID_WARNING: &str = "Kafka option 'kafka.group.id' has been set on \
    this query. Setting it is not recommended: concurrent queries or sources with the same group \
    id interfere with each other as members of one consumer group, and a restarted query may be \
    disturbed by consumers of its previous run. Use one query per group id, or set \
    'kafka.session.timeout.ms' small enough that the previous run's consumers are declared dead \
    before the restarted query starts.";

/// How Spark's warnings end when `failOnDataLoss` is false (paraphrased).
const CONTINUING_DESPITE_LOSS: &str = "Some data may have been lost because it is no longer \
    available in Kafka: it aged out, or the topic was deleted before all of it was processed. \
    Set the source option \"failOnDataLoss\" to \"true\" to make the query fail in such cases.";

/// A possible loss of data (Spark's `KAFKA_DATA_LOSS` sub-classes): noticed
/// while planning a micro-batch (on Spark's driver), or by a reading task
/// ([`CouldNotReadOffsetRange`](Self::CouldNotReadOffsetRange), on Spark's
/// executors).
///
/// With `failOnDataLoss=true` the first one fails the batch (its `Display`
/// is the error message); with `false` each is logged
/// ([`warning`](Self::warning)) and planning or reading goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DataLoss {
    /// New partitions whose earliest offset could not be looked up: they
    /// vanished again before their first batch.
    InitialOffsetNotFound {
        /// The partitions.
        partitions: Vec<TopicPartition>,
    },
    /// A new partition (or a newly matching topic) whose earliest offset is
    /// not 0: its head was deleted before the query saw it.
    AddedPartitionNotFromZero {
        /// The partition.
        partition: TopicPartition,
        /// Its earliest offset.
        start_offset: i64,
    },
    /// Partitions in the start offsets that no longer exist.
    PartitionsDeleted {
        /// The partitions.
        partitions: Vec<TopicPartition>,
        /// Whether the user set `kafka.group.id` (Spark then adds its
        /// group id warning).
        group_id_configured: bool,
    },
    /// A partition whose latest offset is below the batch start: the topic
    /// was deleted and recreated, or truncated.
    PartitionOffsetChanged {
        /// The partition.
        partition: TopicPartition,
        /// The batch's start offset.
        from: i64,
        /// The new, lower end offset.
        to: i64,
    },
    /// A reading task found offsets of its range gone: deleted by
    /// retention (or a topic recreated) after the range was planned, or a
    /// given start offset below the partition's earliest one.
    CouldNotReadOffsetRange {
        /// The partition.
        partition: TopicPartition,
        /// The first offset that could not be read.
        start: i64,
        /// The end of the task's range.
        end: i64,
        /// The reading consumer group (Spark's `<unique>-executor`, or the
        /// user's `kafka.group.id`).
        group_id: String,
    },
}

impl DataLoss {
    /// Spark's error class, e.g. `KAFKA_DATA_LOSS.PARTITIONS_DELETED`.
    pub fn error_class(&self) -> &'static str {
        match self {
            DataLoss::InitialOffsetNotFound { .. } => {
                "KAFKA_DATA_LOSS.INITIAL_OFFSET_NOT_FOUND_FOR_PARTITIONS"
            }
            DataLoss::AddedPartitionNotFromZero { .. } => {
                "KAFKA_DATA_LOSS.ADDED_PARTITION_DOES_NOT_START_FROM_OFFSET_ZERO"
            }
            DataLoss::PartitionsDeleted {
                group_id_configured: false,
                ..
            } => "KAFKA_DATA_LOSS.PARTITIONS_DELETED",
            DataLoss::PartitionsDeleted {
                group_id_configured: true,
                ..
            } => "KAFKA_DATA_LOSS.PARTITIONS_DELETED_AND_GROUP_ID_CONFIG_PRESENT",
            DataLoss::PartitionOffsetChanged { .. } => "KAFKA_DATA_LOSS.PARTITION_OFFSET_CHANGED",
            DataLoss::CouldNotReadOffsetRange { .. } => {
                "KAFKA_DATA_LOSS.COULD_NOT_READ_OFFSET_RANGE"
            }
        }
    }

    /// The reason, as in Spark's error sub-class text.
    pub fn reason(&self) -> String {
        match self {
            DataLoss::InitialOffsetNotFound { partitions } => format!(
                "Cannot find initial offsets for partitions {}. They may have been deleted.",
                scala_set_string(partitions)
            ),
            DataLoss::AddedPartitionNotFromZero {
                partition,
                start_offset,
            } => format!("Added partition {partition} starts from {start_offset} instead of 0."),
            DataLoss::PartitionsDeleted {
                partitions,
                group_id_configured,
            } => {
                let deleted = format!(
                    "Partitions {} have been deleted.",
                    scala_set_string(partitions)
                );
                if *group_id_configured {
                    format!("{deleted}\n{CUSTOM_GROUP_ID_WARNING}")
                } else {
                    deleted
                }
            }
            DataLoss::PartitionOffsetChanged {
                partition,
                from,
                to,
            } => format!(
                "Partition {partition} offset was changed from {from} to {to}.\nEither the start \
                 offset was set too high and this is the first batch, or the topic-partition was \
                 deleted, recreated or truncated, and some data may have been missed."
            ),
            DataLoss::CouldNotReadOffsetRange {
                partition,
                start,
                end,
                group_id,
            } => format!(
                "Could not read records in offset [{start}, {end}) for topic partition \
                 {partition} with consumer group {group_id}."
            ),
        }
    }

    /// The warning Spark logs instead of failing when `failOnDataLoss` is
    /// false: its short description, then the note that data may be lost.
    pub fn warning(&self) -> String {
        let short = match self {
            DataLoss::InitialOffsetNotFound { partitions } => format!(
                "Cannot find earliest offsets of {}. Some data may have been missed",
                scala_set_string(partitions)
            ),
            DataLoss::AddedPartitionNotFromZero {
                partition,
                start_offset,
            } => format!(
                "Added partition {partition} starts from {start_offset} instead of 0. Some data may \
                 have been missed"
            ),
            DataLoss::PartitionsDeleted {
                partitions,
                group_id_configured,
            } => {
                let tail = if *group_id_configured {
                    CUSTOM_GROUP_ID_WARNING
                } else {
                    "Some data may have been missed."
                };
                format!("{} are gone. {tail}", scala_set_string(partitions))
            }
            DataLoss::PartitionOffsetChanged { partition, from, to } => format!(
                "Partition {partition}'s offset was changed from {from} to {to}, some data may have \
                 been missed"
            ),
            DataLoss::CouldNotReadOffsetRange { .. } => format!(
                "{} Reading goes on with the records still there; some data may have been missed",
                self.reason()
            ),
        };
        let separator = if short.ends_with('.') { " " } else { ". " };
        format!("{short}{separator}{CONTINUING_DESPITE_LOSS}")
    }
}

/// The failure message: Spark's `KAFKA_DATA_LOSS` text with the reason.
impl fmt::Display for DataLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] Some data may have been lost because it is no longer available in Kafka: it \
             aged out, or the topic was deleted before all of it was processed. Set the source \
             option failOnDataLoss to false if the query should continue in such cases.\nReason: {}",
            self.error_class(),
            self.reason()
        )
    }
}

impl std::error::Error for DataLoss {}

/// The partitions in `end` but not in `start`: their earliest offsets must
/// be looked up before [`plan_micro_batch`] (and [`rate_limit`](super::rate_limit)).
pub fn new_partitions(
    start: &PartitionOffsets,
    end: &PartitionOffsets,
) -> BTreeSet<TopicPartition> {
    end.partitions_missing_from(start).into_iter().collect()
}

/// The tasks of one micro-batch and the data losses noticed on the way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MicroBatchPlan {
    /// The read tasks, in the calculator's stable order.
    pub ranges: Vec<OffsetRange>,
    /// Possible data losses, in the order Spark reports them.
    pub data_loss: Vec<DataLoss>,
}

impl MicroBatchPlan {
    /// Applies `failOnDataLoss`: with `true` the first data loss is the
    /// error; with `false` every one is logged as a warning and the ranges
    /// are returned.
    pub fn apply_fail_on_data_loss(
        self,
        fail_on_data_loss: bool,
    ) -> Result<Vec<OffsetRange>, DataLoss> {
        if let Some(first) = self.data_loss.first() {
            if fail_on_data_loss {
                return Err(first.clone());
            }
        }
        for loss in &self.data_loss {
            tracing::warn!(error_class = loss.error_class(), "{}", loss.warning());
        }
        Ok(self.ranges)
    }
}

/// Plans one micro-batch from its start and end offsets (Spark's
/// `getOffsetRangesFromResolvedOffsets`, §2.4 step 3).
///
/// * New partitions (in `end`, not in `start`) start at their earliest
///   offset from `new_partition_earliest`; one missing there vanished again
///   ([`DataLoss::InitialOffsetNotFound`]) and is skipped; one whose earliest
///   offset is not 0 is [`DataLoss::AddedPartitionNotFromZero`].
/// * Partitions in `start` but not in `end` are
///   [`DataLoss::PartitionsDeleted`] and dropped.
/// * A partition whose end is below its start is
///   [`DataLoss::PartitionOffsetChanged`]; its (negative) range is then
///   dropped by the calculator, so it reads nothing this batch.
/// * The ranges go through the calculator with `executors` for preferred
///   locations.
///
/// ```
/// use ferrokafka::TopicPartition;
/// use ferrokafka_streaming::planner::*;
///
/// let start = PartitionOffsets::from_json(r#"{"t":{"0":10}}"#).unwrap();
/// let end = PartitionOffsets::from_json(r#"{"t":{"0":20,"1":5}}"#).unwrap();
/// assert_eq!(new_partitions(&start, &end).len(), 1);
/// let earliest = PartitionOffsets::from_json(r#"{"t":{"1":3}}"#).unwrap();
/// let plan = plan_micro_batch(&start, &end, &earliest, false, &RangeCalculator::default(), &[]).unwrap();
/// assert_eq!(plan.ranges.len(), 2);
/// assert_eq!(plan.data_loss[0].error_class(), "KAFKA_DATA_LOSS.ADDED_PARTITION_DOES_NOT_START_FROM_OFFSET_ZERO");
/// assert!(plan.apply_fail_on_data_loss(true).is_err());
/// ```
pub fn plan_micro_batch(
    start: &PartitionOffsets,
    end: &PartitionOffsets,
    new_partition_earliest: &PartitionOffsets,
    group_id_configured: bool,
    calculator: &RangeCalculator,
    executors: &[String],
) -> Result<MicroBatchPlan, PlanError> {
    let mut data_loss = Vec::new();
    let added = new_partitions(start, end);
    let not_found: Vec<TopicPartition> = added
        .iter()
        .filter(|tp| new_partition_earliest.get(tp).is_none())
        .cloned()
        .collect();
    if !not_found.is_empty() {
        data_loss.push(DataLoss::InitialOffsetNotFound {
            partitions: not_found,
        });
    }
    for tp in &added {
        if let Some(earliest) = new_partition_earliest.get(tp).filter(|offset| *offset != 0) {
            data_loss.push(DataLoss::AddedPartitionNotFromZero {
                partition: tp.clone(),
                start_offset: earliest,
            });
        }
    }
    let deleted = start.partitions_missing_from(end);
    if !deleted.is_empty() {
        data_loss.push(DataLoss::PartitionsDeleted {
            partitions: deleted,
            group_id_configured,
        });
    }
    let mut ranges = Vec::with_capacity(end.len());
    for (tp, until) in end.iter() {
        let from = match start.get(tp) {
            Some(from) => from,
            None => match new_partition_earliest.get(tp) {
                Some(earliest) => earliest,
                None => continue,
            },
        };
        if until < from {
            data_loss.push(DataLoss::PartitionOffsetChanged {
                partition: tp.clone(),
                from,
                to: until,
            });
        }
        ranges.push(OffsetRange::new(tp.clone(), from, until));
    }
    Ok(MicroBatchPlan {
        ranges: calculator.ranges(ranges, executors)?,
        data_loss,
    })
}

#[cfg(test)]
#[path = "partitions_tests.rs"]
mod tests;
