//! Requests built from plain inputs at a negotiated version.
//!
//! `kafka-protocol`'s request structs hold every field of every version.
//! Which fields a version carries, which values an old version cannot
//! express (its encoder refuses a non-default value in a field the version
//! lacks), and what a consumer is expected to send where a broker's
//! replica would send something else: all of that is left to the caller.
//! The builders here take what the caller means (topic names, partitions,
//! offsets, epochs, an [`IsolationLevel`], timeouts) and the version
//! negotiated with the broker ([`BrokerVersions::negotiate`]), and return
//! the request ready to encode at that version, or a [`RequestBuildError`]
//! that says why that version cannot carry it.
//!
//! | API | builder | what differs by version |
//! | --- | --- | --- |
//! | Metadata | [`metadata_request`] | `allow_auto_topic_creation` exists from v4 (before, the broker decides) |
//! | Fetch | [`fetch_request`] | `current_leader_epoch` from v9; sessions from v7; `last_fetched_epoch` from v12 |
//! | ListOffsets | [`list_offsets_request`] | isolation level from v2; `current_leader_epoch` from v4; max-timestamp lookups from v7 |
//! | InitProducerId | [`init_producer_id_request`] | bumping an epoch (KIP-360) from v3 |
//!
//! Every builder refuses a version outside
//! [`supported_versions`](crate::bounded::supported_versions): the crate
//! can neither check nor decode the answer to it.
//!
//! [`BrokerVersions::negotiate`]: crate::versions::BrokerVersions::negotiate

mod fetch;
mod init_producer_id;
mod list_offsets;
mod metadata;

use std::collections::HashMap;
use std::time::Duration;

use kafka_protocol::messages::{ApiKey, TopicName};
use kafka_protocol::protocol::StrBytes;

pub use fetch::{fetch_request, FetchPosition, FetchSettings};
pub use init_producer_id::{init_producer_id_request, ProducerIdAndEpoch};
pub use list_offsets::{list_offsets_request, ListOffsetsPosition, OffsetTarget};
pub use metadata::{metadata_request, ALL_TOPICS};

/// What a consumer may read (Fetch and ListOffsets `isolation_level`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum IsolationLevel {
    /// Every record up to the high watermark, including those of open and
    /// aborted transactions.
    #[default]
    ReadUncommitted,
    /// Records up to the last stable offset; records of aborted
    /// transactions are left out by the reader.
    ReadCommitted,
}

impl IsolationLevel {
    /// The value on the wire: 0 or 1.
    pub const fn wire_value(self) -> i8 {
        match self {
            IsolationLevel::ReadUncommitted => 0,
            IsolationLevel::ReadCommitted => 1,
        }
    }
}

/// Why a request could not be built at the requested version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestBuildError {
    /// The version is not one this crate implements for the API.
    #[error(
        "{api:?} v{version} is not a version ferrokafka implements (v{}..=v{}); \
         build the request at the version BrokerVersions::negotiate picked",
        supported.0,
        supported.1
    )]
    UnsupportedVersion {
        /// The API.
        api: ApiKey,
        /// The version asked for.
        version: i16,
        /// The implemented versions, inclusive.
        supported: (i16, i16),
    },
    /// What was asked for needs a newer version of the API than the one
    /// negotiated with the broker.
    #[error(
        "{what} needs {api:?} v{needs} or later, but v{version} was negotiated with the \
         broker; upgrade the broker or do without it"
    )]
    NeedsNewerVersion {
        /// The API.
        api: ApiKey,
        /// The negotiated version.
        version: i16,
        /// The first version that can carry it.
        needs: i16,
        /// What needs it, e.g. "read_committed isolation".
        what: &'static str,
    },
    /// An input value the request cannot carry at any version.
    #[error("invalid {what} for a {api:?} request: {reason}")]
    InvalidInput {
        /// The API.
        api: ApiKey,
        /// The input, e.g. "timestamp".
        what: &'static str,
        /// What is wrong with it, and what to do.
        reason: String,
    },
}

/// Refuses a version outside the implemented range of `api`.
fn check_version(api: ApiKey, version: i16) -> Result<(), RequestBuildError> {
    let supported = crate::bounded::supported_versions(api).unwrap_or((0, -1));
    if (supported.0..=supported.1).contains(&version) {
        Ok(())
    } else {
        Err(RequestBuildError::UnsupportedVersion {
            api,
            version,
            supported,
        })
    }
}

/// Refuses `what` below version `needs`.
fn require(
    api: ApiKey,
    version: i16,
    needs: i16,
    what: &'static str,
) -> Result<(), RequestBuildError> {
    if version >= needs {
        Ok(())
    } else {
        Err(RequestBuildError::NeedsNewerVersion {
            api,
            version,
            needs,
            what,
        })
    }
}

/// A duration in whole milliseconds, at most `i32::MAX` (about 24.8 days).
fn millis_i32(duration: Duration) -> i32 {
    i32::try_from(duration.as_millis()).unwrap_or(i32::MAX)
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

/// The leader epoch to send at `version`: `epoch` from version `from` on,
/// else -1, which skips the broker's epoch check.
fn epoch_at(epoch: Option<i32>, version: i16, from: i16) -> i32 {
    match epoch {
        Some(epoch) if version >= from => epoch,
        _ => -1,
    }
}

/// Groups `items` by topic into topic entries (built by `topic` from the
/// name and the entries `partition` built), topics in the order they first
/// appear and each topic's partitions in their order: a request lists
/// each topic once.
fn by_topic<'a, T, P, E>(
    items: &[T],
    topic_of: impl Fn(&T) -> &'a str,
    partition: impl Fn(&T) -> P,
    topic: impl Fn(TopicName, Vec<P>) -> E,
) -> Vec<E> {
    let mut groups: Vec<(&'a str, Vec<P>)> = Vec::new();
    let mut index: HashMap<&'a str, usize> = HashMap::new();
    for item in items {
        let name = topic_of(item);
        let at = *index.entry(name).or_insert_with(|| {
            groups.push((name, Vec::new()));
            groups.len() - 1
        });
        groups[at].1.push(partition(item));
    }
    groups
        .into_iter()
        .map(|(name, partitions)| topic(topic_name(name), partitions))
        .collect()
}

#[cfg(test)]
mod test_support {
    use bytes::{Bytes, BytesMut};
    use kafka_protocol::protocol::Encodable;

    use crate::bounded::{decode_request, supported_versions, BoundedRequest};

    /// Encodes `request` at `version` and decodes it back with the bounded
    /// decoder: what a broker reads. Fields the version lacks come back as
    /// their defaults.
    pub(super) fn as_sent<R: BoundedRequest + Encodable>(request: &R, version: i16) -> R {
        let mut out = BytesMut::new();
        request
            .encode(&mut out, version)
            .unwrap_or_else(|e| panic!("{:?} v{version} does not encode: {e}", R::API_KEY));
        decode_request::<R>(&mut Bytes::from(out), version)
            .unwrap_or_else(|e| panic!("{:?} v{version} does not decode: {e}", R::API_KEY))
    }

    /// The implemented versions of `R`'s API.
    pub(super) fn versions<R: BoundedRequest>() -> std::ops::RangeInclusive<i16> {
        let (min, max) = supported_versions(R::API_KEY).expect("implemented");
        min..=max
    }
}
