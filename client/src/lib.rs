//! # ferrokafka
//!
//! A pure-Rust Kafka client driven by tokio: broker connections, metadata
//! and leader routing, admin operations and the ranged reader, all on top
//! of the sans-IO [`ferrokafka_protocol`] crate.
//!
//! ```text
//!  ClientConfig ──► Client::connect ──► bootstrap (every address, deadline)
//!                      │
//!          ┌───────────┼──────────────┐
//!        Admin      Reader          Metadata cache ◄── refresh on age / errors
//!          └───────────┼──────────────┘
//!                    Pool: one BrokerConnection per broker id
//!                      │   (reconnect with backoff + jitter)
//!              connection task: correlation ids, in-flight cap,
//!              deadlines, throttle; writer task; Connector (TCP, TLS…)
//! ```
//!
//! ```no_run
//! use futures::StreamExt;
//! use ferrokafka::{Client, ClientConfig, ReadRange};
//!
//! # async fn demo() -> Result<(), ferrokafka::Error> {
//! let config = ClientConfig::builder().bootstrap_servers("localhost:9092").build()?;
//! let client = Client::connect(config).await?;
//! let mut records = client.read(vec![ReadRange::new("events", 0, 0..1000)]);
//! while let Some(record) = records.next().await {
//!     let record = record?;
//!     println!("{} {:?}", record.offset, record.value);
//! }
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod admin;
pub mod backoff;
pub mod broker;
mod client;
pub mod config;
pub mod consumer;
mod error;
pub mod hooks;
pub mod metadata;
pub mod oauth;
mod pool;
pub mod producer;
pub mod security;
pub mod transport;
mod types;

pub use admin::Admin;
pub use broker::BrokerConnection;
pub use client::Client;
pub use config::{
    BrokerAddress, ClientConfig, ClientConfigBuilder, ConfigError, IsolationLevel, SecurityProtocol,
};
pub use consumer::{PartitionWatermarks, ReadRange, Record, RecordHeader, RecordStream};
pub use error::{
    BootstrapAttempt, BootstrapError, BrokerRef, ConnectFailure, ConnectionFailure, Error,
    ErrorKind, Result,
};
pub use ferrokafka_auth as auth;
pub use ferrokafka_protocol as protocol;
pub use types::{Api, TopicPartition};
