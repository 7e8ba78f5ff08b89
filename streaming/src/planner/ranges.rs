//! Read tasks: Spark's `KafkaOffsetRangeCalculator` as of Spark 4.1
//! (`maxRecordsPerPartition` first, then `minPartitions`), batch late
//! binding (§2.5) and preferred executor locations.

use std::collections::HashSet;
use std::num::{NonZeroU32, NonZeroU64};

use ferrokafka::TopicPartition;

use super::offsets::{LookupKind, LookupPlan, OffsetLookups, EARLIEST, LATEST};
use super::PartitionOffsets;
use crate::java::{floor_mod, math_round, topic_partition_hash_code};

/// At most this many tasks in one plan; more means a `maxRecordsPerPartition`
/// or `minPartitions` far too fine for the data, and Spark would exhaust
/// memory planning them.
pub const MAX_PLANNED_TASKS: u64 = 1_000_000;

/// One read task: offsets `[from, until)` of one partition.
///
/// In batch plans `from` may be [`EARLIEST`] and `until` [`LATEST`]: the
/// task resolves them when it reads ([`resolve_sentinels`](Self::resolve_sentinels)).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetRange {
    /// The partition.
    pub partition: TopicPartition,
    /// First offset to read.
    pub from: i64,
    /// Offset after the last one to read.
    pub until: i64,
    /// The executor that read this partition before, so its cached
    /// consumer is reused; set only when nothing was split.
    pub preferred_location: Option<String>,
}

impl OffsetRange {
    /// A range without a preferred location.
    pub fn new(partition: TopicPartition, from: i64, until: i64) -> Self {
        OffsetRange {
            partition,
            from,
            until,
            preferred_location: None,
        }
    }

    /// `until - from`: offsets, which may exceed records (compaction,
    /// transaction markers); negative when the partition shrank.
    pub fn size(&self) -> i64 {
        self.until.wrapping_sub(self.from)
    }

    /// Resolves batch sentinels the way a task does when it starts reading:
    /// [`EARLIEST`] becomes `earliest`, [`LATEST`] becomes `latest` (the
    /// partition's available offsets at that moment).
    ///
    /// Fails when the resolved start is past the resolved end (Spark's
    /// `RESOLVED_START_OFFSET_GREATER_THAN_END_OFFSET`).
    pub fn resolve_sentinels(&self, earliest: i64, latest: i64) -> Result<OffsetRange, PlanError> {
        let resolve = |offset: i64| match offset {
            EARLIEST => earliest,
            LATEST => latest,
            concrete => concrete,
        };
        let (from, until) = (resolve(self.from), resolve(self.until));
        if from > until {
            return Err(PlanError::ResolvedStartAfterEnd {
                partition: self.partition.clone(),
                start: from,
                end: until,
            });
        }
        Ok(OffsetRange {
            from,
            until,
            ..self.clone()
        })
    }
}

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// A batch query's start and end resolved to different partitions (a
    /// topic changed between the two lookups). Spark's message.
    #[error(
        "different topic partitions for starting offsets topics[{}] and ending offsets \
         topics[{}]; the topics changed while the query was planned, run it again",
        join_partitions(.start), join_partitions(.end)
    )]
    DifferentPartitions {
        /// The start's partitions.
        start: Vec<TopicPartition>,
        /// The end's partitions.
        end: Vec<TopicPartition>,
    },
    /// An offset that [`batch_lookups_needed`] listed was not supplied.
    #[error(
        "the {kind} offset of {partition} was not supplied; look up every offset that \
         batch_lookups_needed lists"
    )]
    MissingLookup {
        /// The partition.
        partition: TopicPartition,
        /// The kind of lookup.
        kind: LookupKind,
    },
    /// The plan would have more than [`MAX_PLANNED_TASKS`] tasks.
    #[error(
        "planning would create {tasks} read tasks, more than the {max} allowed; raise \
         maxRecordsPerPartition or lower minPartitions"
    )]
    TooManyTasks {
        /// Tasks the plan would need.
        tasks: u64,
        /// The most allowed.
        max: u64,
    },
    /// A batch task's start, once resolved, is past its end (Spark's
    /// `RESOLVED_START_OFFSET_GREATER_THAN_END_OFFSET`).
    #[error(
        "[RESOLVED_START_OFFSET_GREATER_THAN_END_OFFSET] The resolved start offset {start} is \
         greater than the resolved end offset {end} for topic {} partition {}. Either the start \
         is too high for the end (a start timestamp with an end offset, a start offset with an \
         end timestamp, or a start offset with the end at latest), or the topic-partition is \
         broken.",
        .partition.topic, .partition.partition
    )]
    ResolvedStartAfterEnd {
        /// The partition.
        partition: TopicPartition,
        /// The resolved start.
        start: i64,
        /// The resolved end.
        end: i64,
    },
}

fn join_partitions(partitions: &[TopicPartition]) -> String {
    partitions
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// Spark's offset-range calculator with the `minPartitions` and
/// `maxRecordsPerPartition` options, as in Spark 4.1 and later.
///
/// [`ranges`](Self::ranges) drops ranges of size ≤ 0, then:
///
/// * **Fast path** — neither option forces a split (`minPartitions` unset
///   or ≤ the number of ranges, `maxRecordsPerPartition` unset): one task
///   per range, each with its [preferred location](preferred_location).
/// * Otherwise, without preferred locations:
///   1. with `maxRecordsPerPartition`, each range is cut into
///      `ceil(size / max)` pieces;
///   2. then, if `minPartitions` exceeds the number of pieces, the
///      proportional split: a piece whose share `round(size / total ×
///      minPartitions)` (Java rounding) is at most 1 stays whole, and so does
///      every piece of its partition; the rest are split proportionally over
///      `max(minPartitions − whole pieces, 1)` tasks;
///   3. pieces of size ≤ 0 are dropped.
///
/// A split cuts `[from, until)` into `n` pieces of `remaining / (n − i)`
/// offsets, so remainders land on later pieces (10 into 3 → 3, 3, 4).
///
/// Task order is stable (Spark's is not): by topic, then partition, then
/// start offset.
///
/// ```
/// use std::num::NonZeroU32;
/// use ferrokafka::TopicPartition;
/// use ferrokafka_streaming::planner::{OffsetRange, RangeCalculator};
///
/// let calculator = RangeCalculator { min_partitions: NonZeroU32::new(3), ..Default::default() };
/// let tasks = calculator.ranges(vec![OffsetRange::new(TopicPartition::new("t", 0), 0, 10)], &[]).unwrap();
/// let sizes: Vec<i64> = tasks.iter().map(|r| r.size()).collect();
/// assert_eq!(sizes, [3, 3, 4]);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RangeCalculator {
    /// `minPartitions`: the least number of tasks wanted (a hint: the
    /// result may have more or fewer).
    pub min_partitions: Option<NonZeroU32>,
    /// `maxRecordsPerPartition`: the most offsets one task should read.
    pub max_records_per_partition: Option<NonZeroU64>,
}

impl RangeCalculator {
    /// The read tasks for `ranges` (see the type's documentation);
    /// `executors` is the sorted executor list for preferred locations
    /// (empty: none).
    pub fn ranges(
        &self,
        ranges: Vec<OffsetRange>,
        executors: &[String],
    ) -> Result<Vec<OffsetRange>, PlanError> {
        let mut ranges: Vec<OffsetRange> = ranges.into_iter().filter(|r| r.size() > 0).collect();
        ranges.sort_by(|a, b| (&a.partition, a.from).cmp(&(&b.partition, b.from)));
        let min_partitions = self.min_partitions.map(|m| m.get() as usize);
        let enough_ranges = min_partitions.is_none_or(|min| ranges.len() >= min);
        if enough_ranges && self.max_records_per_partition.is_none() {
            for range in &mut ranges {
                range.preferred_location = preferred_location(&range.partition, executors);
            }
            return Ok(ranges);
        }
        for range in &mut ranges {
            range.preferred_location = None;
        }
        if let Some(max_records) = self.max_records_per_partition {
            let parts: Vec<u64> = ranges
                .iter()
                .map(|r| (r.size() as f64 / max_records.get() as f64).ceil() as u64)
                .collect();
            ranges = divide_all(&ranges, &parts)?;
        }
        if let Some(min) = min_partitions.filter(|min| *min > ranges.len()) {
            let parts = proportional_parts(&ranges, min);
            ranges = divide_all(&ranges, &parts)?;
        }
        ranges.retain(|r| r.size() > 0);
        Ok(ranges)
    }

    /// Spark's `shouldDivvyUpLargePartitions` for batch reads, on the
    /// unresolved numbers: `minPartitions` above the number of ranges, or a
    /// range larger than `maxRecordsPerPartition`. An `earliest`→`latest`
    /// range counts as size 1 (`-1 − -2`), so `maxRecordsPerPartition` alone
    /// never splits a default batch read.
    pub fn should_split_batch(&self, ranges: &[OffsetRange]) -> bool {
        let too_few = self
            .min_partitions
            .is_some_and(|min| min.get() as usize > ranges.len());
        let too_large = self.max_records_per_partition.is_some_and(|max| {
            ranges
                .iter()
                .any(|r| r.size() > 0 && r.size() as u64 > max.get())
        });
        too_few || too_large
    }
}

/// How many pieces each range gets in the proportional `minPartitions`
/// split (SPARK-36576's exclusion of small ranges).
fn proportional_parts(ranges: &[OffsetRange], min_partitions: usize) -> Vec<u64> {
    let total = ranges
        .iter()
        .fold(0i64, |sum, r| sum.saturating_add(r.size()));
    let part_count = |size: i64, total: i64, min: usize| -> u64 {
        math_round(size as f64 / total as f64 * min as f64).max(1) as u64
    };
    let whole: Vec<&OffsetRange> = ranges
        .iter()
        .filter(|r| part_count(r.size(), total, min_partitions) == 1)
        .collect();
    let whole_partitions: HashSet<&TopicPartition> = whole.iter().map(|r| &r.partition).collect();
    let split_total = total - whole.iter().map(|r| r.size()).sum::<i64>();
    let split_min = min_partitions.saturating_sub(whole.len()).max(1);
    ranges
        .iter()
        .map(|r| {
            if whole_partitions.contains(&r.partition) {
                1
            } else {
                part_count(r.size(), split_total, split_min)
            }
        })
        .collect()
}

fn divide_all(ranges: &[OffsetRange], parts: &[u64]) -> Result<Vec<OffsetRange>, PlanError> {
    let tasks = parts.iter().fold(0u64, |sum, p| sum.saturating_add(*p));
    if tasks > MAX_PLANNED_TASKS {
        return Err(PlanError::TooManyTasks {
            tasks,
            max: MAX_PLANNED_TASKS,
        });
    }
    let mut out = Vec::with_capacity(tasks as usize);
    for (range, parts) in ranges.iter().zip(parts) {
        divide(range, *parts as i64, &mut out);
    }
    Ok(out)
}

/// Spark's `getDividedPartition`: `parts` pieces, remainders on later ones.
fn divide(range: &OffsetRange, parts: i64, out: &mut Vec<OffsetRange>) {
    let mut remaining = range.size();
    let mut start = range.from;
    for piece in 0..parts {
        let this = remaining / (parts - piece);
        remaining -= this;
        let end = start.saturating_add(this).min(range.until);
        out.push(OffsetRange::new(range.partition.clone(), start, end));
        start = end;
    }
}

/// The executor that should read `tp`: `executors[floorMod(tp.hashCode, n)]`
/// with Kafka's `TopicPartition.hashCode`, so a partition keeps its executor
/// (and cached consumer) from batch to batch; `None` without executors.
///
/// ```
/// use ferrokafka::TopicPartition;
/// use ferrokafka_streaming::planner::preferred_location;
/// let executors = vec!["executor_b_1".to_owned(), "executor_a_2".to_owned()];
/// // "t".hashCode() = 116; 31 * (31 + 0) + 116 = 1077; 1077 mod 2 = 1.
/// assert_eq!(preferred_location(&TopicPartition::new("t", 0), &executors).as_deref(), Some("executor_a_2"));
/// ```
pub fn preferred_location(tp: &TopicPartition, executors: &[String]) -> Option<String> {
    if executors.is_empty() {
        return None;
    }
    let index = floor_mod(
        i64::from(topic_partition_hash_code(tp)),
        executors.len() as i64,
    );
    Some(executors[index as usize].clone())
}

/// One executor of the cluster, as the block manager lists its peers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutorLocation {
    /// Its host.
    pub host: String,
    /// Its executor id.
    pub executor_id: String,
}

/// Spark's sorted executor list for [`preferred_location`]:
/// `executor_<host>_<id>`, by host descending, then executor id descending
/// (string comparison).
pub fn sorted_executor_list(peers: &[ExecutorLocation]) -> Vec<String> {
    let mut sorted: Vec<&ExecutorLocation> = peers.iter().collect();
    sorted.sort_by(|a, b| (&b.host, &b.executor_id).cmp(&(&a.host, &a.executor_id)));
    sorted
        .iter()
        .map(|peer| format!("executor_{}_{}", peer.host, peer.executor_id))
        .collect()
}

/// The ranges of a batch read before any split: one per partition, with
/// sentinels kept. Start and end must name the same partitions.
fn batch_base_ranges(
    start: &PartitionOffsets,
    end: &PartitionOffsets,
) -> Result<Vec<OffsetRange>, PlanError> {
    if !start.partitions().eq(end.partitions()) {
        return Err(PlanError::DifferentPartitions {
            start: start.partitions().cloned().collect(),
            end: end.partitions().cloned().collect(),
        });
    }
    Ok(start
        .iter()
        .zip(end.iter())
        .map(|((tp, from), (_, until))| OffsetRange::new(tp.clone(), from, until))
        .collect())
}

/// The offsets [`plan_batch_ranges`] needs looked up: none unless the
/// calculator must split, then the earliest and latest offsets behind every
/// sentinel in `start` and `end` (late-bound limits from
/// [`OffsetLimit::resolve`](super::OffsetLimit::resolve) with
/// [`Binding::Late`](super::Binding::Late)).
pub fn batch_lookups_needed(
    start: &PartitionOffsets,
    end: &PartitionOffsets,
    calculator: &RangeCalculator,
) -> Result<LookupPlan, PlanError> {
    let base = batch_base_ranges(start, end)?;
    let mut plan = LookupPlan::default();
    if calculator.should_split_batch(&base) {
        for range in &base {
            for offset in [range.from, range.until] {
                match offset {
                    EARLIEST => plan.earliest.insert(range.partition.clone()),
                    LATEST => plan.latest.insert(range.partition.clone()),
                    _ => false,
                };
            }
        }
    }
    Ok(plan)
}

/// The read tasks of a batch query (Spark's
/// `getOffsetRangesFromUnresolvedOffsets`, §2.5), from late-bound start and
/// end offsets.
///
/// Without a split ([`RangeCalculator::should_split_batch`]) there is one
/// task per partition, sentinels kept, nothing dropped. With a split the
/// sentinels are resolved with `lookups`, the calculator runs, and then per
/// partition: a single piece becomes the original (possibly sentinel)
/// range; several keep the original start on the first piece and the
/// original end on the last, so only interior boundaries are fixed. A
/// partition whose resolved range is empty or negative has no task.
///
/// ```
/// use std::num::NonZeroU32;
/// use ferrokafka_streaming::planner::*;
///
/// let start = PartitionOffsets::from_json(r#"{"t":{"0":-2}}"#).unwrap();
/// let end = PartitionOffsets::from_json(r#"{"t":{"0":-1}}"#).unwrap();
/// let calculator = RangeCalculator { min_partitions: NonZeroU32::new(2), ..Default::default() };
/// let needed = batch_lookups_needed(&start, &end, &calculator).unwrap();
/// assert_eq!((needed.earliest.len(), needed.latest.len()), (1, 1));
/// let lookups = OffsetLookups {
///     earliest: PartitionOffsets::from_json(r#"{"t":{"0":100}}"#).unwrap(),
///     latest: PartitionOffsets::from_json(r#"{"t":{"0":200}}"#).unwrap(),
///     ..Default::default()
/// };
/// let tasks = plan_batch_ranges(&start, &end, &calculator, &lookups).unwrap();
/// let bounds: Vec<(i64, i64)> = tasks.iter().map(|r| (r.from, r.until)).collect();
/// assert_eq!(bounds, [(-2, 150), (150, -1)]);
/// ```
pub fn plan_batch_ranges(
    start: &PartitionOffsets,
    end: &PartitionOffsets,
    calculator: &RangeCalculator,
    lookups: &OffsetLookups,
) -> Result<Vec<OffsetRange>, PlanError> {
    let base = batch_base_ranges(start, end)?;
    if !calculator.should_split_batch(&base) {
        return Ok(base);
    }
    let resolve = |tp: &TopicPartition, offset: i64| -> Result<i64, PlanError> {
        let (map, kind) = match offset {
            EARLIEST => (&lookups.earliest, LookupKind::Earliest),
            LATEST => (&lookups.latest, LookupKind::Latest),
            concrete => return Ok(concrete),
        };
        map.get(tp).ok_or_else(|| PlanError::MissingLookup {
            partition: tp.clone(),
            kind,
        })
    };
    let resolved = base
        .iter()
        .map(|r| {
            Ok(OffsetRange::new(
                r.partition.clone(),
                resolve(&r.partition, r.from)?,
                resolve(&r.partition, r.until)?,
            ))
        })
        .collect::<Result<Vec<_>, PlanError>>()?;
    let pieces = calculator.ranges(resolved, &[])?;
    let mut out = Vec::with_capacity(pieces.len());
    // Both lists are sorted by partition, so each partition's pieces follow
    // one another.
    let mut pieces = pieces.into_iter().peekable();
    for original in &base {
        let mut mine = Vec::new();
        while let Some(piece) = pieces.next_if(|p| p.partition == original.partition) {
            mine.push(piece);
        }
        match mine.as_slice() {
            [] => {}
            [_] => out.push(original.clone()),
            [first, middle @ .., last] => {
                out.push(OffsetRange::new(
                    original.partition.clone(),
                    original.from,
                    first.until,
                ));
                out.extend(middle.iter().cloned());
                out.push(OffsetRange::new(
                    original.partition.clone(),
                    last.from,
                    original.until,
                ));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
#[path = "ranges_tests.rs"]
mod tests;
