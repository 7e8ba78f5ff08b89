//! # ferrokafka
//!
//! A pure-Rust Kafka client driven by tokio: broker connections, metadata
//! and leader routing, the producer, the ranged reader and admin operations,
//! all on top of the sans-IO [`ferrokafka_protocol`] crate.
//!
//! Nothing is implemented here yet: the client-core issue fills this crate.
#![forbid(unsafe_code)]

pub use ferrokafka_protocol as protocol;
