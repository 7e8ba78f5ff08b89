//! # ferrokafka-tests
//!
//! Integration-test support, shared by the test files of this crate:
//!
//! - [`nisshi`]: the Nisshi broker on a free loopback port, with in-memory
//!   storage, or with SCRAM users and authentication required; stopped
//!   when dropped.
//! - [`pki`]: a test certificate authority and the usual set of server and
//!   client certificates on disk.
//! - [`stunnel`]: TLS (and mutual TLS) in front of a plaintext port.
//! - [`tempdir`]: temporary directories removed on drop.
//! - [`process`]: helper processes killed on drop, free ports.
//! - [`scenarios`]: many scenarios run concurrently on one broker.
//! - [`interop`]: the librdkafka peer (Python `confluent-kafka`).
//! - [`wire`]: a small blocking wire client built only on
//!   `ferrokafka-protocol`, so the protocol layer can be checked against a
//!   real broker without the async client; [`backend`] runs one test body
//!   on Nisshi and on the fake cluster.
//!
//! The broker binary is found through `$NISSHI_BIN`, then `nisshi` on the
//! `PATH`, then `~/.cargo/bin/nisshi`. When it is missing, [`Nisshi::start`]
//! fails with the command that installs it.
#![forbid(unsafe_code)]

pub mod backend;
pub mod interop;
pub mod nisshi;
pub mod oauth_endpoint;
pub mod pki;
pub mod process;
pub mod scenarios;
pub mod stunnel;
pub mod tempdir;
pub mod wire;

pub use nisshi::{nisshi_binary, Nisshi, NISSHI_INSTALL};
pub use process::free_port;
pub use tempdir::TempDir;
