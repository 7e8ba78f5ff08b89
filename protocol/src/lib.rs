//! # ferrokafka-protocol
//!
//! The Kafka wire protocol without I/O: this crate turns bytes into typed
//! messages and back, and never touches a socket, a clock or a runtime.
//! The async client (`ferrokafka`) drives it; the fake cluster reuses it.
//!
//! ```text
//!   socket bytes ──► frame::FrameDecoder ──► header::ResponseHeader + body
//!                                              │
//!                    bounded::decode_response ◄┘  (counts checked before
//!                                                  kafka-protocol allocates)
//!   record bytes ──► record::BatchDecoder ──► zero-copy RecordView
//! ```
//!
//! What it holds:
//! - [`frame`]: the 4-byte length prefix, a frame-size cap, and the
//!   "wrong port or security.protocol?" sniffing of a first reply.
//! - [`header`]: request header v1/v2 and response header v0/v1, and the
//!   patch that writes a correlation id into an encoded request.
//! - [`versions`]: the negotiation of the API versions we implement (the
//!   table in [`bounded`]) against a broker's ApiVersions answer.
//! - [`bounded`]: decoding of every response the client reads (and of
//!   every request a broker such as the fake cluster reads), with each
//!   array and string length checked against the bytes left in the frame
//!   before `kafka-protocol` is allowed to allocate for it; and the one
//!   table of implemented APIs and versions that all of it comes from.
//! - [`produce`]: Produce requests written around their record batches,
//!   which are never copied.
//! - [`requests`]: Metadata, Fetch, ListOffsets and InitProducerId
//!   requests built from plain inputs at a negotiated version, each
//!   version's quirks handled.
//! - [`record`]: record batch v2, an encoder and a lazy zero-copy decoder,
//!   and the patch that gives a sealed batch a new producer identity.
//! - [`compression`]: gzip, snappy, lz4 and zstd in pure Rust, with a cap
//!   on decompressed size.
//!
//! Message structs are `kafka-protocol`'s, re-exported as [`messages`].
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub)]

pub mod bounded;
pub mod compression;
mod error;
pub mod frame;
pub mod header;
pub mod produce;
pub mod record;
pub mod requests;
pub mod versions;

pub use error::ProtocolError;
pub use kafka_protocol::messages;
pub use kafka_protocol::protocol::StrBytes;
