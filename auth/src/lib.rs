//! # ferrokafka-auth
//!
//! Security settings and mechanisms for ferrokafka: TLS settings for rustls
//! (CA, client certificate and key, hostname verification) and the SASL
//! mechanisms (PLAIN, SCRAM-SHA-256/512, OAUTHBEARER) with their token
//! providers. The mechanisms are sans-IO state machines; the client drives
//! them over its connections.
//!
//! Nothing is implemented here yet: the security issue fills this crate.
//! It exists now so that the dependency direction
//! (protocol ← auth ← client ← streaming) is fixed from the start.
#![forbid(unsafe_code)]
