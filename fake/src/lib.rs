//! # ferrokafka-fake
//!
//! A fake Kafka cluster for testing Kafka clients — ferrokafka and any
//! other — with fault injection, and a chaos proxy for tests against a
//! real broker.
//!
//! [`FakeCluster`] runs N brokers in this process, each on its own
//! loopback port, speaking the real Kafka protocol and keeping real record
//! batches in memory. It does what real brokers rarely do on cue: answer
//! the third Produce with an error, cut the connection after appending,
//! never answer, send hostile bytes, move a partition's leader, stop and
//! restart a broker. It records every request, so a test can assert what
//! the client sent (producer id, epoch and sequence of every retry).
//!
//! [`ChaosProxy`] sits between a client and a real broker and adds latency
//! and jitter, caps bandwidth, cuts connections mid-frame and blackholes
//! them, switchable while traffic flows.
//!
//! # Example
//!
//! ```
//! use std::io::{Read, Write};
//! use std::net::TcpStream;
//! use ferrokafka_fake::{Fault, FaultAction, FakeCluster, ResponseError};
//! use ferrokafka_fake::messages::ApiKey;
//!
//! // Three brokers, one topic with six partitions spread over them.
//! let cluster = FakeCluster::builder().brokers(3).topic("orders", 6).build()?;
//! println!("bootstrap.servers={}", cluster.bootstrap());
//!
//! // The second Produce to orders-0 fails with NOT_LEADER_OR_FOLLOWER ...
//! let fault = cluster.inject(
//!     Fault::on(ApiKey::Produce)
//!         .partition("orders", 0)
//!         .nth(2)
//!         .action(FaultAction::Error(ResponseError::NotLeaderOrFollower)),
//! );
//! // ... and orders-1 moves to broker 2 (its leader epoch goes up).
//! let epoch = cluster.move_leader("orders", 1, 2)?;
//! assert_eq!(cluster.partition_state("orders", 1).unwrap().leader, 2);
//! assert_eq!(epoch, 1);
//!
//! // Any client can connect; here, a raw ApiVersions v0 request.
//! let mut socket = TcpStream::connect(cluster.broker_addr(0).unwrap())?;
//! socket.write_all(&[0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0, 0])?;
//! let mut length = [0u8; 4];
//! socket.read_exact(&mut length)?;
//! assert!(u32::from_be_bytes(length) > 6);
//!
//! // Every request is recorded; the fault has not fired yet.
//! assert_eq!(cluster.requests()[0].api_key, ApiKey::ApiVersions);
//! assert_eq!(cluster.fault_hits(fault), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What the brokers serve
//!
//! One handler per API key (versions in brackets): Produce [3–11] with
//! acks 0/1/all and Kafka's idempotent-producer sequence checks, Fetch
//! [4–12] (read_uncommitted and read_committed, long polls), ListOffsets
//! [1–8], Metadata [1–12], OffsetCommit [2–8], OffsetFetch [1–7],
//! FindCoordinator [0–4], JoinGroup [0–7], Heartbeat [0–4], LeaveGroup
//! [0–4], SyncGroup [0–5], SaslHandshake v1 and SaslAuthenticate [0–2]
//! (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER), ApiVersions [0–4], CreateTopics [2–7], DeleteTopics [1–6],
//! DeleteRecords [0–2], InitProducerId [0–4], DescribeConfigs [1–4],
//! CreatePartitions [0–3]. Each handler's documentation lists what it does
//! and what it skips; `SKIPPED.md` collects the gaps. Any other API closes
//! the connection, as Kafka does for a request it cannot parse.
//!
//! # Faults
//!
//! A [`Fault`] picks requests by API, broker, topic-partition and position
//! (the Nth match) and applies a [`FaultAction`]: an error code, a delay,
//! closing the connection before or after applying, never answering, or
//! raw bytes instead of the answer. Besides faults the cluster offers
//! [`FakeCluster::move_leader`], [`FakeCluster::stop_broker`] /
//! [`FakeCluster::restart_broker`], [`FakeCluster::delete_records`] and
//! [`FakeCluster::end_transaction`].
//!
//! # TLS
//!
//! [`FakeClusterBuilder::tls`] makes every broker listener TLS-only
//! (rustls, ring provider); [`FakeClusterBuilder::tls_client_ca`] also
//! requires client certificates (mTLS), and any `sasl_*` user on top
//! makes the listeners `SASL_SSL`. Plaintext clients get a TLS alert and
//! a closed connection, as from a real TLS listener.
//!
//! # Untrusted input
//!
//! The brokers cap request frames ([`FakeClusterBuilder::max_frame_size`])
//! before reading them. Request bodies are then decoded by
//! `kafka-protocol`, whose array decoders pre-allocate from the count on
//! the wire: a request crafted to announce billions of elements inside a
//! small frame can exhaust memory. Point only clients you are testing at
//! the fake, not a fuzzer.
//!
//! # Running it standalone
//!
//! `ferrokafka-fake --brokers 3 --port 9092` runs the cluster as a local
//! development broker (feature `cli`, on by default).
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

mod cluster;
mod config;
mod control;
mod error;
mod handlers;
mod net;
pub mod proxy;
mod state;
mod tls;

pub use cluster::{FakeCluster, PartitionState};
pub use config::{FakeClusterBuilder, ScramFault, ScramHash};
pub use control::{Fault, FaultAction, FaultId, ProducedBatch, RecordedRequest};
pub use error::FakeError;
/// HS256 JWT signing and validation, for test identity providers.
pub use ferrokafka_auth::jwt;
pub use kafka_protocol::messages;
pub use kafka_protocol::ResponseError;
pub use proxy::ChaosProxy;
