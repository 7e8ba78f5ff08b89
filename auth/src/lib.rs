//! # ferrokafka-auth
//!
//! Security for ferrokafka, without I/O: the SASL mechanisms (PLAIN,
//! SCRAM-SHA-256/512, OAUTHBEARER) as sans-IO state machines, the parser
//! for Java's `sasl.jaas.config`, TLS client settings for rustls (ring),
//! and [`Secret`], the type every password, client secret, token and key
//! passphrase lives in (redacted in `Debug`/`Display`, zeroized on drop).
//! The client crate drives the mechanisms over its connections.
#![forbid(unsafe_code)]

pub mod entra;
pub mod jaas;
#[cfg(feature = "server")]
pub mod jwt;
pub mod redact;
pub mod sasl;
mod secret;
pub mod tls;
pub mod token;

pub use sasl::{Credentials, Mechanism, SaslClient, SaslError, SaslStep};
pub use secret::Secret;
