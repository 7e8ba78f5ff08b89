//! "Why no rows?": when a query reads nothing, the reason in words.
//!
//! Spark leaves a silent query to its user: a missing topic, an empty one,
//! `startingOffsets=latest` (the streaming default) skipping what was
//! there, or a pattern matching nothing all look the same — batches with
//! no rows. [`diagnose`] tells them apart from what the query already
//! knows (the topic listing and the offsets it looked up), so it costs no
//! request. The reasons reach callers in the Rust API only — on progress
//! records ([`QueryProgress::no_rows`](crate::progress::QueryProgress::no_rows))
//! and idle events ([`IdleEvent`](crate::progress::IdleEvent)) — and in a
//! log line; the progress JSON keeps Spark's shape.
//!
//! A bootstrap server that never answers is not a reason here: the client
//! fails within `bootstrap.timeout.ms` with an error naming the servers, so
//! the query fails instead of waiting silently.
//!
//! ```
//! use ferrokafka_streaming::diagnosis::{diagnose, NoRowsReason, QueryFacts};
//! use ferrokafka_streaming::planner::{OffsetLimit, PartitionOffsets, ReadLimit, TopicListing, TopicSelection};
//!
//! let listing = vec![TopicListing { name: "orders".into(), internal: false, partitions: vec![0] }];
//! let at = |offset: i64| PartitionOffsets::from_json(&format!(r#"{{"orders":{{"0":{offset}}}}}"#)).unwrap();
//! let (earliest, latest) = (at(0), at(500));
//! let facts = QueryFacts {
//!     selection: &TopicSelection::Subscribe(vec!["orders".into()]),
//!     listing: &listing,
//!     earliest: &earliest,
//!     latest: &latest,
//!     position: &latest,
//!     starting: &OffsetLimit::Latest,
//!     initial: Some(&latest),
//!     offsets_read_without_rows: 0,
//!     read_limit: ReadLimit::default(),
//!     last_trigger_fired_ms: 0,
//!     now_ms: 0,
//! };
//! let diagnosis = diagnose(&facts);
//! assert_eq!(diagnosis.reasons, [NoRowsReason::StartedAtLatest { skipped: 500 }]);
//! assert!(diagnosis.to_string().contains("startingOffsets=earliest"));
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use ferrokafka::TopicPartition;

use crate::planner::{OffsetLimit, PartitionOffsets, ReadLimit, TopicListing, TopicSelection};

/// What the query knows when a trigger brought no rows.
#[derive(Debug, Clone, Copy)]
pub struct QueryFacts<'a> {
    /// The `assign`, `subscribe` or `subscribePattern` option.
    pub selection: &'a TopicSelection,
    /// The cluster's topics, as last listed or described.
    pub listing: &'a [TopicListing],
    /// The earliest offsets of the assigned partitions.
    pub earliest: &'a PartitionOffsets,
    /// Their latest offsets.
    pub latest: &'a PartitionOffsets,
    /// Where the query stands: the next offsets it reads.
    pub position: &'a PartitionOffsets,
    /// The starting option (how the initial offsets were chosen when the
    /// query first ran).
    pub starting: &'a OffsetLimit,
    /// The initial offsets (`sources/0/0`), once known.
    pub initial: Option<&'a PartitionOffsets>,
    /// Offsets the query has read that held no record.
    pub offsets_read_without_rows: u64,
    /// The read limit (for `minOffsetsPerTrigger`).
    pub read_limit: ReadLimit,
    /// When a batch last fired on the `maxTriggerDelay` clock
    /// ([`TriggerDelay::last_trigger_ms`](crate::planner::TriggerDelay::last_trigger_ms)).
    pub last_trigger_fired_ms: i64,
    /// Now, on the same clock.
    pub now_ms: i64,
}

/// One reason a query reads no rows.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NoRowsReason {
    /// Topics named by `subscribe` or `assign` do not exist.
    TopicsMissing {
        /// The topics.
        topics: Vec<String>,
    },
    /// Topics named by `subscribe` or `assign` are Kafka's internal topics,
    /// which the source never reads.
    InternalTopics {
        /// The topics.
        topics: Vec<String>,
    },
    /// `subscribePattern` matches no topic.
    NoTopicMatches {
        /// The pattern.
        pattern: String,
    },
    /// None of the partitions `assign` lists exists.
    NoPartitionsAssigned {
        /// The listed partitions.
        requested: Vec<TopicPartition>,
    },
    /// A topic holds no record: every partition's earliest offset equals
    /// its latest.
    TopicEmpty {
        /// The topic.
        topic: String,
        /// The sum of its partitions' latest offsets: 0 when nothing was
        /// ever written, else how many offsets retention removed.
        written: i64,
    },
    /// The query started at the latest offsets, after the records already
    /// there, and nothing was written since.
    StartedAtLatest {
        /// Offsets before the start, all partitions together: up to this
        /// many records are skipped.
        skipped: i64,
    },
    /// New offsets wait for `minOffsetsPerTrigger`.
    WaitingForMinOffsets {
        /// New offsets available.
        available: i64,
        /// `minOffsetsPerTrigger`.
        min_offsets: i64,
        /// Time left until `maxTriggerDelay` forces a batch.
        fires_in_ms: i64,
    },
    /// Offsets were read that held no record.
    OffsetsWithoutRecords {
        /// How many.
        offsets: u64,
    },
    /// Everything up to the latest offsets was read; nothing new arrived.
    CaughtUp,
}

impl fmt::Display for NoRowsReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoRowsReason::TopicsMissing { topics } => write!(
                f,
                "{} not exist: create {}, or correct the topic option; the query reads it once it \
                 exists",
                topic_list(topics, "does", "do"),
                if topics.len() == 1 { "it" } else { "them" }
            ),
            NoRowsReason::InternalTopics { topics } => write!(
                f,
                "{} Kafka-internal, and the Kafka source never reads internal topics",
                topic_list(topics, "is", "are")
            ),
            NoRowsReason::NoTopicMatches { pattern } => write!(
                f,
                "no topic matches subscribePattern '{pattern}' (searched for anywhere in each \
                 name; internal topics never match): check the pattern against the topic names"
            ),
            NoRowsReason::NoPartitionsAssigned { requested } => {
                let names: Vec<String> = requested.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "none of the partitions in assign ({}) exists: check the partition numbers \
                     against the topics' partition counts",
                    names.join(", ")
                )
            }
            NoRowsReason::TopicEmpty { topic, written: 0 } => write!(
                f,
                "topic {topic} is empty: nothing has been written to it yet"
            ),
            NoRowsReason::TopicEmpty { topic, written } => write!(
                f,
                "topic {topic} is empty: all {written} offsets written to it were removed \
                 (retention or deleted records)"
            ),
            NoRowsReason::StartedAtLatest { skipped } => write!(
                f,
                "the query started at the latest offsets (startingOffsets=latest, the default for \
                 streaming queries), after the up to {skipped} records already in the topic, and \
                 nothing was written since. To read those records, start the query with \
                 startingOffsets=earliest and a new checkpoint location (a checkpoint keeps the \
                 offsets its query first started at)"
            ),
            NoRowsReason::WaitingForMinOffsets {
                available,
                min_offsets,
                fires_in_ms,
            } => write!(
                f,
                "{available} new offsets wait for minOffsetsPerTrigger={min_offsets}: a batch runs \
                 when that many have arrived, or in {} s at the latest (maxTriggerDelay)",
                (fires_in_ms.max(&0) + 999) / 1000
            ),
            NoRowsReason::OffsetsWithoutRecords { offsets } => write!(
                f,
                "{offsets} offsets were read without a record: they hold transaction markers, \
                 records of aborted transactions (not returned with \
                 kafka.isolation.level=read_committed) or records removed by compaction"
            ),
            NoRowsReason::CaughtUp => f.write_str(
                "every record up to the latest offsets has been read, and nothing new has been \
                 written since",
            ),
        }
    }
}

/// "topic a does" / "topics a, b do".
fn topic_list(topics: &[String], singular: &str, plural: &str) -> String {
    match topics {
        [one] => format!("topic {one} {singular}"),
        many => format!("topics {} {plural}", many.join(", ")),
    }
}

/// The reasons a query reads no rows, most fundamental first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Diagnosis {
    /// The reasons; empty when none is known (the query has a backlog but
    /// reads no rows: look at its errors and warnings).
    pub reasons: Vec<NoRowsReason>,
}

/// `no rows: <reason>; <reason>`.
impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.reasons.is_empty() {
            return f.write_str(
                "no rows, though offsets are waiting: look for errors or data-loss warnings",
            );
        }
        f.write_str("no rows: ")?;
        for (index, reason) in self.reasons.iter().enumerate() {
            if index > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{reason}")?;
        }
        Ok(())
    }
}

/// Why a query whose last trigger read no rows reads none: missing,
/// internal or unmatched topics, missing partitions, empty topics, a
/// `latest` start after existing records, `minOffsetsPerTrigger` waiting,
/// offsets without records, or simply nothing new.
pub fn diagnose(facts: &QueryFacts<'_>) -> Diagnosis {
    let mut reasons = topic_reasons(facts);
    let assigned = facts.selection.assigned_partitions(facts.listing);
    if assigned.is_empty() {
        match facts.selection {
            TopicSelection::Pattern(pattern) => reasons.push(NoRowsReason::NoTopicMatches {
                pattern: pattern.as_str().to_owned(),
            }),
            TopicSelection::Assign(requested) if reasons.is_empty() => {
                reasons.push(NoRowsReason::NoPartitionsAssigned {
                    requested: requested.clone(),
                });
            }
            _ => {}
        }
        return Diagnosis { reasons };
    }
    let offset = |offsets: &PartitionOffsets, tp| offsets.get(tp).unwrap_or(0);

    let mut by_topic: BTreeMap<&str, Vec<&TopicPartition>> = BTreeMap::new();
    for tp in &assigned {
        by_topic.entry(&tp.topic).or_default().push(tp);
    }
    for (topic, partitions) in &by_topic {
        if partitions
            .iter()
            .all(|tp| offset(facts.earliest, tp) >= offset(facts.latest, tp))
        {
            reasons.push(NoRowsReason::TopicEmpty {
                topic: (*topic).to_owned(),
                written: partitions.iter().map(|tp| offset(facts.latest, tp)).sum(),
            });
        }
    }

    let caught_up = assigned
        .iter()
        .all(|tp| offset(facts.position, tp) >= offset(facts.latest, tp));
    if let (OffsetLimit::Latest, Some(initial), true) = (facts.starting, facts.initial, caught_up) {
        let never_moved = assigned
            .iter()
            .all(|tp| offset(facts.position, tp) == offset(initial, tp));
        let skipped: i64 = assigned
            .iter()
            .map(|tp| (offset(initial, tp) - offset(facts.earliest, tp)).max(0))
            .sum();
        if never_moved && skipped > 0 {
            reasons.push(NoRowsReason::StartedAtLatest { skipped });
        }
    }

    let backlog: i64 = assigned
        .iter()
        .map(|tp| (offset(facts.latest, tp) - offset(facts.position, tp)).max(0))
        .sum();
    if let Some(min) = facts.read_limit.min_rows {
        if backlog > 0 && backlog < min.rows {
            reasons.push(NoRowsReason::WaitingForMinOffsets {
                available: backlog,
                min_offsets: min.rows,
                fires_in_ms: facts.last_trigger_fired_ms + min.max_trigger_delay_ms - facts.now_ms,
            });
        }
    }
    if facts.offsets_read_without_rows > 0 {
        reasons.push(NoRowsReason::OffsetsWithoutRecords {
            offsets: facts.offsets_read_without_rows,
        });
    }
    if caught_up && reasons.is_empty() {
        reasons.push(NoRowsReason::CaughtUp);
    }
    Diagnosis { reasons }
}

/// Named topics that are missing or internal.
fn topic_reasons(facts: &QueryFacts<'_>) -> Vec<NoRowsReason> {
    let named: BTreeSet<&str> = match facts.selection.named_topics() {
        Some(named) => named,
        None => return Vec::new(),
    };
    let listed = |name: &str| facts.listing.iter().find(|topic| topic.name == name);
    let missing: Vec<String> = named
        .iter()
        .filter(|name| listed(name).is_none())
        .map(|name| (*name).to_owned())
        .collect();
    let internal: Vec<String> = named
        .iter()
        .filter(|name| listed(name).is_some_and(|topic| topic.internal))
        .map(|name| (*name).to_owned())
        .collect();
    let mut reasons = Vec::new();
    if !missing.is_empty() {
        reasons.push(NoRowsReason::TopicsMissing { topics: missing });
    }
    if !internal.is_empty() {
        reasons.push(NoRowsReason::InternalTopics { topics: internal });
    }
    reasons
}

#[cfg(test)]
#[path = "diagnosis_tests.rs"]
mod tests;
