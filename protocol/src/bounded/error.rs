//! The errors of bounded decoding: [`DecodeError`] for responses read by a
//! client, [`RequestDecodeError`] for requests read by a broker.

use kafka_protocol::messages::ApiKey;

use super::table::NotInTable;

/// A response body could not be decoded.
///
/// Every variant except [`DecodeError::UnsupportedVersion`] and
/// [`DecodeError::UnsupportedApi`] means the broker (or whatever answered
/// on its port) sent bytes that are not a valid response.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The body does not match the response's wire layout. Detected before
    /// `kafka-protocol` saw it, so nothing was allocated for it.
    #[error(
        "the broker sent a malformed response: {api} v{version} {path} at byte {offset}: {reason}"
    )]
    Malformed {
        /// The response type, e.g. `MetadataResponse`.
        api: &'static str,
        /// The version the body was decoded at.
        version: i16,
        /// Where in the body, e.g. `topics[3].partitions`; `<body>` for the
        /// top level.
        path: String,
        /// The byte offset in the body of the offending value (for a length
        /// or count: of its prefix).
        offset: usize,
        /// What is wrong.
        reason: Malformation,
    },
    /// The body passed the schema walk but `kafka-protocol` refused it
    /// (for example a null where its type does not allow one, or a tag it
    /// does not accept at this version).
    #[error("the broker sent a malformed response: {api} v{version}: {source}")]
    Rejected {
        /// The response type, e.g. `MetadataResponse`.
        api: &'static str,
        /// The version the body was decoded at.
        version: i16,
        /// `kafka-protocol`'s error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The version is outside the versions this client implements for
    /// the API (see [`supported_versions`](super::supported_versions)).
    #[error(
        "{api_key:?} v{version} is not a version this client implements (supported: {supported:?})"
    )]
    UnsupportedVersion {
        /// The API.
        api_key: ApiKey,
        /// The requested version.
        version: i16,
        /// The implemented range, inclusive.
        supported: (i16, i16),
    },
    /// The API is not one whose responses this client reads.
    #[error("{api_key:?} responses are not decoded by this client")]
    UnsupportedApi {
        /// The API.
        api_key: ApiKey,
    },
}

/// A request body could not be decoded.
///
/// Returned by [`decode_request`](super::decode_request) and friends, which
/// a broker (such as `ferrokafka-fake`) uses on bytes a client sent. Every
/// variant except [`RequestDecodeError::UnsupportedVersion`] and
/// [`RequestDecodeError::UnsupportedApi`] means the client sent bytes that
/// are not a valid request; a broker should close that connection.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestDecodeError {
    /// The body does not match the request's wire layout. Detected before
    /// `kafka-protocol` saw it, so nothing was allocated for it.
    #[error(
        "the client sent a malformed request: {api} v{version} {path} at byte {offset}: {reason}"
    )]
    Malformed {
        /// The request type, e.g. `MetadataRequest`.
        api: &'static str,
        /// The version the body was decoded at (from the request header).
        version: i16,
        /// Where in the body, e.g. `topics[3].partitions`; `<body>` for the
        /// top level.
        path: String,
        /// The byte offset in the body of the offending value (for a length
        /// or count: of its prefix).
        offset: usize,
        /// What is wrong.
        reason: Malformation,
    },
    /// The body passed the schema walk but `kafka-protocol` refused it
    /// (for example a null where its type does not allow one).
    #[error("the client sent a malformed request: {api} v{version}: {source}")]
    Rejected {
        /// The request type, e.g. `MetadataRequest`.
        api: &'static str,
        /// The version the body was decoded at.
        version: i16,
        /// `kafka-protocol`'s error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The version is outside the versions whose request layout is known
    /// (see [`supported_versions`](super::supported_versions)); a broker
    /// should have refused it during version negotiation.
    #[error(
        "{api_key:?} v{version} requests cannot be decoded safely \
         (versions with a known layout: {supported:?})"
    )]
    UnsupportedVersion {
        /// The API.
        api_key: ApiKey,
        /// The requested version.
        version: i16,
        /// The versions with a known layout, inclusive.
        supported: (i16, i16),
    },
    /// The API has no known request layout.
    #[error("{api_key:?} requests cannot be decoded safely (no known layout for this API)")]
    UnsupportedApi {
        /// The API.
        api_key: ApiKey,
    },
}

/// A schema walk that failed: where and why. Turned into the `Malformed`
/// variant of [`DecodeError`] or [`RequestDecodeError`] by the caller.
#[derive(Debug)]
pub(crate) struct WalkError {
    pub(crate) api: &'static str,
    pub(crate) version: i16,
    pub(crate) path: String,
    pub(crate) offset: usize,
    pub(crate) reason: Malformation,
}

/// Why [`walk_and_decode`](super::walk_and_decode) failed, before it
/// becomes the response or the request side's public error.
#[derive(Debug)]
pub(crate) enum CheckedDecodeError {
    /// The walk refused the body.
    Walk(WalkError),
    /// The walk accepted the body but `kafka-protocol` refused it.
    Rejected {
        api: &'static str,
        version: i16,
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
}

impl From<WalkError> for CheckedDecodeError {
    fn from(e: WalkError) -> Self {
        CheckedDecodeError::Walk(e)
    }
}

/// Both public error types have the same decoding and table variants.
macro_rules! from_checked {
    ($($ty:ident),*) => {$(
        impl From<WalkError> for $ty {
            fn from(e: WalkError) -> Self {
                $ty::Malformed {
                    api: e.api,
                    version: e.version,
                    path: e.path,
                    offset: e.offset,
                    reason: e.reason,
                }
            }
        }

        impl From<NotInTable> for $ty {
            fn from(e: NotInTable) -> Self {
                match e.supported {
                    None => $ty::UnsupportedApi { api_key: e.api_key },
                    Some(supported) => $ty::UnsupportedVersion {
                        api_key: e.api_key,
                        version: e.version,
                        supported,
                    },
                }
            }
        }

        impl From<CheckedDecodeError> for $ty {
            fn from(e: CheckedDecodeError) -> Self {
                match e {
                    CheckedDecodeError::Walk(e) => e.into(),
                    CheckedDecodeError::Rejected { api, version, source } => {
                        $ty::Rejected { api, version, source }
                    }
                }
            }
        }
    )*};
}

from_checked!(DecodeError, RequestDecodeError);

/// What is wrong with a malformed body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformation {
    /// The body ends inside a value.
    #[error("truncated: {needed} bytes needed, {available} left")]
    Truncated {
        /// Bytes the value needs.
        needed: usize,
        /// Bytes that were left.
        available: usize,
    },
    /// A classic length or count below the null marker (-1).
    #[error("negative length or count {length}")]
    NegativeLength {
        /// The value on the wire.
        length: i32,
    },
    /// A string, byte string or tagged field longer than the bytes left.
    #[error("length {length} exceeds the {remaining} bytes left")]
    LengthExceedsRemaining {
        /// The declared length.
        length: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// An array (or tagged-field section) declaring more elements than the
    /// bytes left could hold.
    #[error(
        "count {count} exceeds what the {remaining} bytes left can hold \
         (an element needs at least {min_element_size} bytes)"
    )]
    CountExceedsRemaining {
        /// The declared count.
        count: usize,
        /// The fewest bytes one element takes at this version.
        min_element_size: usize,
        /// Bytes that were left.
        remaining: usize,
    },
    /// An unsigned varint longer than 5 bytes or above `u32::MAX`.
    #[error("invalid varint (longer than 5 bytes or above u32::MAX)")]
    InvalidVarint,
    /// A string that is not UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A known tagged field whose payload does not fill its declared size.
    #[error("tagged field {tag} declares {declared} bytes but its value takes {consumed}")]
    TaggedFieldSizeMismatch {
        /// The tag.
        tag: u32,
        /// The declared size.
        declared: usize,
        /// The size of the value found there.
        consumed: usize,
    },
    /// A known tag sent at a version that does not have it.
    #[error("tag {tag} is not valid at this version")]
    TagNotValidForVersion {
        /// The tag.
        tag: u32,
    },
    /// `kafka-protocol` decoded the body but stopped before its last field
    /// as the walk found it, which means the schema table and
    /// `kafka-protocol` disagree.
    #[error("decoder stopped {count} bytes before the last field of the body (schema mismatch)")]
    DecoderDisagreement {
        /// Bytes left unread by `kafka-protocol`.
        count: usize,
    },
}
