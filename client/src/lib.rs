//! # ferrokafka
//!
//! A pure-Rust Kafka client driven by tokio — no librdkafka, no C: a
//! [`Client`] holds the connections and metadata; [`Producer`] writes
//! records (idempotent by default), [`Client::read`] reads offset ranges as
//! a [`futures::Stream`] (a [`SharedFetcher`] serves many such reads with
//! one fetch per broker), [`Admin`] manages topics and offsets.
//! Configuration takes the Java client's property names ([`ClientConfig`],
//! [`ProducerConfig`]), so existing property files work unchanged.
//!
//! ```
//! use futures::StreamExt;
//! use ferrokafka::{Client, ClientConfig, ProducerConfig, ProducerRecord, ReadRange};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let cluster = ferrokafka_fake::FakeCluster::builder().topic("events", 1).build()?;
//! # let bootstrap = cluster.bootstrap();
//! // `bootstrap` is "host:port,…": here an in-process fake cluster.
//! let config = ClientConfig::builder().bootstrap_servers(&bootstrap).build()?;
//! let client = Client::connect(config).await?;
//!
//! // Write two records and wait until the broker has them.
//! let producer = client.producer(ProducerConfig::default()).await?;
//! for value in ["hello", "world"] {
//!     let record = ProducerRecord::new("events").key("greeting").value(value);
//!     let written = producer.send(record).await?.await?;
//!     println!("written at offset {}", written.offset);
//! }
//!
//! // Read partition 0 from its first offset to its last.
//! let mut records = client.read(vec![ReadRange::new("events", 0, 0..2)]);
//! while let Some(record) = records.next().await {
//!     let record = record?;
//!     println!("{}: {:?}", record.offset, record.value);
//! }
//! # Ok(()) }
//! ```
//!
//! ```text
//!  ClientConfig ──► Client::connect ──► bootstrap (every address, deadline)
//!                      │
//!      ┌──────────┬────┴─────┬──────────────┐
//!    Admin     Producer   Client::read    Metadata cache ◄── refresh on age / errors
//!      └──────────┴────┬─────┴──────────────┘
//!                    Pool: one connection per broker id
//!                      │   (reconnect with backoff + jitter)
//!              connection task: correlation ids, in-flight cap,
//!              deadlines, throttle, re-authentication; TCP or TLS
//! ```
//!
//! Modules: [`config`] (every key, its default and what it accepts),
//! [`consumer`] and [`producer`] (reading and writing), [`admin`],
//! [`metadata`], [`hooks`] (callbacks for metrics), [`security`] (the Entra
//! ID token provider), and [`low_level`] (raw requests, custom
//! transports).
#![forbid(unsafe_code)]

pub mod admin;
mod backoff;
mod broker;
mod client;
pub mod config;
pub mod consumer;
mod error;
mod failure;
pub mod hooks;
pub mod low_level;
pub mod metadata;
mod pool;
pub mod producer;
pub mod security;
mod transport;
mod types;

pub use admin::Admin;
pub use client::Client;
pub use config::{
    Acks, BrokerAddress, ClientConfig, ClientConfigBuilder, ConfigError, IsolationLevel,
    ProducerConfig, ProducerConfigBuilder, SecurityProtocol,
};
pub use consumer::{
    PartitionWatermarks, ReadRange, Record, RecordHeader, RecordStream, SharedFetcher,
};
pub use error::{
    BootstrapAttempt, BootstrapError, BrokerErrorCode, BrokerRef, ConnectFailure,
    ConnectionFailure, Error, ErrorKind, Result,
};
pub use ferrokafka_auth as auth;
pub use ferrokafka_protocol::compression::Compression;
pub use ferrokafka_protocol::record::TimestampType;
pub use producer::{
    DeliveryFuture, ProduceError, Producer, ProducerRecord, RecordMetadata, WriteStatus,
};
pub use types::{Api, TopicPartition};
