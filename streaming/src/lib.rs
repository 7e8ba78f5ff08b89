//! # ferrokafka-streaming
//!
//! A Kafka source and sink with the semantics of Spark Structured Streaming
//! (Spark ≥ 4.1): option parsing, offset planning, `minPartitions` splitting,
//! `failOnDataLoss`, checkpoints, triggers and metrics.
//!
//! Nothing is implemented here yet: it builds on the client crate.
#![forbid(unsafe_code)]

pub use ferrokafka as client;
