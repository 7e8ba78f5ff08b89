//! The wire layout of every response this client reads, one file per API
//! family, learned from `kafka-protocol` 0.18's generated decoders
//! (`src/messages/*_response.rs`); field names are its field names. The
//! API table (`table.rs`) maps each API to its schema here.
//!
//! Version ranges are those of the fields themselves and may reach past
//! the versions in [`SUPPORTED_VERSIONS`](super::SUPPORTED_VERSIONS);
//! only the latter are ever walked.

pub(super) mod admin;
pub(super) mod api_versions;
pub(super) mod fetch;
pub(super) mod group;
pub(super) mod metadata;
pub(super) mod produce;
pub(super) mod sasl;
