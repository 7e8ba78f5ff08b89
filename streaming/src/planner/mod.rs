//! The source's planner: pure functions, no I/O, time passed in.
//!
//! Everything Spark's Kafka source decides on the driver, given the offsets
//! a caller looked up: which partitions a topic selection covers, where a
//! query starts and ends, how far each micro-batch reads, which partitions
//! appeared, vanished or shrank (and whether that is data loss), and how
//! the offsets are cut into read tasks. The caller does the lookups
//! (metadata, ListOffsets) and hands the answers in.
//!
//! A micro-batch, end to end:
//!
//! ```
//! use std::collections::BTreeSet;
//! use std::num::NonZeroU32;
//! use ferrokafka_streaming::planner::*;
//!
//! // 1. The topic listing the caller fetched, and what `subscribe` takes from it.
//! let listing = vec![TopicListing { name: "orders".into(), internal: false, partitions: vec![0, 1] }];
//! let assigned: BTreeSet<_> = TopicSelection::Subscribe(vec!["orders".into()]).assigned_partitions(&listing);
//!
//! // 2. A new query starts at `earliest`: look those offsets up, then resolve.
//! let limit = OffsetLimit::Earliest;
//! let needed = limit.lookups_needed(&assigned, LimitPosition::Start, TimestampStrategy::Error, Binding::Eager);
//! let lookups = OffsetLookups {
//!     earliest: needed.earliest.iter().map(|tp| (tp.clone(), 0)).collect(),
//!     ..Default::default()
//! };
//! let start = limit.resolve(&assigned, &lookups, LimitPosition::Start, TimestampStrategy::Error, Binding::Eager).unwrap();
//!
//! // 3. The trigger: latest offsets, capped by maxOffsetsPerTrigger = 100.
//! let latest = PartitionOffsets::from_json(r#"{"orders":{"0":300,"1":100}}"#).unwrap();
//! let limit = ReadLimit { max_rows: Some(100), ..ReadLimit::default() };
//! let mut clock = TriggerDelay::new();
//! let end = next_end_offsets(&start, &latest, &limit, &mut clock, 1_000, &PartitionOffsets::new()).unwrap();
//! assert_eq!(end.to_json(), r#"{"orders":{"0":75,"1":25}}"#);
//!
//! // 4. Read tasks, split for minPartitions = 4.
//! let calculator = RangeCalculator { min_partitions: NonZeroU32::new(4), ..Default::default() };
//! let plan = plan_micro_batch(&start, &end, &PartitionOffsets::new(), false, &calculator, &[]).unwrap();
//! let tasks = plan.apply_fail_on_data_loss(true).unwrap();
//! let bounds: Vec<String> = tasks.iter().map(|r| format!("{}:{}..{}", r.partition, r.from, r.until)).collect();
//! assert_eq!(bounds, ["orders-0:0..25", "orders-0:25..50", "orders-0:50..75", "orders-1:0..25"]);
//! ```

mod available_now;
mod json;
mod metrics;
mod offsets;
mod partitions;
mod ranges;
mod rate;
mod topics;

pub use available_now::{
    check_end_against_latest, check_end_against_prefetched, AvailableNowError,
};
pub(crate) use json::parse_assign_json;
pub use json::{JsonShapeError, PartitionOffsets};
pub use metrics::{offsets_behind, offsets_behind_latest};
pub use offsets::{
    check_batch_limits, Binding, LimitError, LimitPosition, LookupKind, LookupPlan, OffsetLimit,
    OffsetLookups, TimestampStrategy, EARLIEST, LATEST,
};
pub(crate) use partitions::CUSTOM_GROUP_ID_WARNING;
pub use partitions::{new_partitions, plan_micro_batch, DataLoss, MicroBatchPlan};
pub use ranges::{
    batch_lookups_needed, plan_batch_ranges, preferred_location, sorted_executor_list,
    ExecutorLocation, OffsetRange, PlanError, RangeCalculator, MAX_PLANNED_TASKS,
};
pub use rate::{next_end_offsets, rate_limit, MinRows, ReadLimit, TriggerDelay};
pub use topics::{TopicListing, TopicPattern, TopicPatternError, TopicSelection};
