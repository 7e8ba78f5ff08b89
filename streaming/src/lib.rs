//! # ferrokafka-streaming
//!
//! A Kafka source and sink with the semantics of Spark Structured Streaming's
//! (Spark ≥ 4.1): the same options, the same offsets and checkpoint JSON,
//! the same per-trigger limits, `minPartitions`/`maxRecordsPerPartition`
//! splitting and `failOnDataLoss` decisions.
//!
//! * [`options`]: the option map, taken as Spark takes it, validated into
//!   batch or streaming settings.
//! * [`planner`]: pure functions that plan reads from offsets the caller
//!   looked up — no I/O, time passed in.
//! * [`java`]: the Java and Spark helpers whose exact results the plans
//!   depend on.
//! * [`trigger`]: when micro-batches run and when the query stops
//!   (processing time, `Once`, `AvailableNow`), and the read limit and
//!   snapshot each trigger plans under — pure, time passed in.
//! * [`checkpoint`]: the query's checkpoint in Spark's layout (`metadata`,
//!   `sources/0/0`, `offsets/N`, `commits/N`), written atomically, behind a
//!   small storage trait.
//! * [`progress`]: a progress record per trigger, shaped like Spark's
//!   `StreamingQueryProgress`, for listeners, a ring of recent records and
//!   JSON lines, with the lag metrics.
//! * [`diagnosis`]: why a query reads no rows, in words.
//! * [`query`]: streaming queries: a [`StreamingQuery`](query::StreamingQuery)
//!   runs micro-batches under a trigger, hands each to a handler with its
//!   rows, and commits it to the checkpoint when the handler succeeds.
//! * [`batch`]: batch reads (`spark.read.format("kafka")`): a
//!   [`BatchSource`](batch::BatchSource) plans with the cluster's offsets
//!   and reads the tasks through one [`client`], as a stream of [`Row`]s
//!   ([`Rows`]).
//! * `arrow` (cargo feature `arrow`): the rows as Arrow record batches
//!   with Spark's schema, keys and values not copied.
//! * [`sink`]: writes (`df.write.format("kafka")` and
//!   `df.writeStream.format("kafka")`): a [`KafkaSink`](sink::KafkaSink)
//!   sends rows, streams of rows, a query's micro-batches or Arrow record
//!   batches through an idempotent producer shared per configuration,
//!   with Spark's options and errors; at-least-once.
//!
//! ```
//! use std::collections::BTreeSet;
//! use ferrokafka_streaming::options::SourceOptions;
//! use ferrokafka_streaming::planner::*;
//!
//! let settings = SourceOptions::from_lines(
//!     "kafka.bootstrap.servers=host:9092\n\
//!      subscribe=orders\n\
//!      startingOffsets=earliest\n\
//!      maxOffsetsPerTrigger=100\n",
//! )
//! .unwrap()
//! .streaming()
//! .unwrap();
//!
//! // Offsets the caller looked up: orders has 2 partitions, both starting at 0.
//! let start = PartitionOffsets::from_json(r#"{"orders":{"0":0,"1":0}}"#).unwrap();
//! let latest = PartitionOffsets::from_json(r#"{"orders":{"0":500,"1":500}}"#).unwrap();
//! let mut clock = TriggerDelay::new();
//! let end = next_end_offsets(&start, &latest, &settings.read_limit(), &mut clock, 0, &PartitionOffsets::new())
//!     .unwrap();
//! assert_eq!(end.to_json(), r#"{"orders":{"0":50,"1":50}}"#);
//! let plan = plan_micro_batch(&start, &end, &PartitionOffsets::new(), false, &settings.source.calculator, &[]).unwrap();
//! assert_eq!(plan.ranges.len(), 2);
//! ```
#![forbid(unsafe_code)]

pub use ferrokafka as client;

#[cfg(feature = "arrow")]
pub mod arrow;
pub mod batch;
pub mod checkpoint;
pub mod diagnosis;
mod error;
pub mod java;
mod lookup;
pub mod options;
pub mod planner;
pub mod progress;
pub mod query;
mod reader;
mod row;
pub mod sink;
pub mod trigger;

pub use error::SourceError;
pub use reader::{ReadMetrics, Rows};
pub use row::Row;
