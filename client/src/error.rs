//! The client's error type: what went wrong ([`ErrorKind`]), where (broker,
//! topic-partition, API) and what to do about it (a hint).

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use ferrokafka_protocol::messages::ApiKey;
use ferrokafka_protocol::versions::VersionError;
use ferrokafka_protocol::ProtocolError;
use kafka_protocol::error::ResponseError;

use crate::config::{BrokerAddress, ConfigError};
pub use crate::failure::{BrokerRef, ConnectFailure, ConnectionFailure};
use crate::types::{Api, TopicPartition};

/// Any failure of a client operation.
///
/// [`kind`](Error::kind) says what happened; the accessors say where.
/// [`is_retriable`](Error::is_retriable) tells whether trying again (after
/// a metadata refresh, for leader errors) can succeed.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    context: Box<Context>,
}

#[derive(Debug, Default)]
struct Context {
    broker: Option<BrokerRef>,
    topic_partition: Option<TopicPartition>,
    api: Option<Api>,
    hint: Option<String>,
}

/// A Kafka error code a broker returned: its number, Kafka's name for it,
/// and whether the protocol calls it retriable.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct BrokerErrorCode(pub(crate) ResponseError);

impl BrokerErrorCode {
    /// The code (`NOT_LEADER_OR_FOLLOWER` is 6).
    pub fn code(self) -> i16 {
        self.0.code()
    }

    /// Whether the Kafka protocol calls it retriable.
    pub fn is_retriable(self) -> bool {
        self.0.is_retriable()
    }
}

impl fmt::Display for BrokerErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl fmt::Debug for BrokerErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.0, self.0.code())
    }
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The configuration was refused.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// No bootstrap server could be reached within `bootstrap.timeout.ms`.
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    /// A connection to a broker could not be set up.
    #[error("cannot connect to {address}: {failure}")]
    Connect {
        /// Where.
        address: String,
        /// Why.
        failure: ConnectFailure,
    },
    /// An established connection failed; the request may or may not have
    /// reached the broker.
    #[error("connection failed: {0}")]
    Connection(ConnectionFailure),
    /// The broker did not answer within `request.timeout.ms`.
    #[error("no response within {0:?}")]
    Timeout(Duration),
    /// The broker's bytes could not be decoded.
    #[error("malformed response: {0}")]
    Protocol(#[from] ProtocolError),
    /// The broker answered something well-formed that makes no sense here
    /// (a partition we did not ask about missing, an unknown id).
    #[error("unexpected response: {0}")]
    UnexpectedResponse(String),
    /// No version of an API both sides support.
    #[error(transparent)]
    Version(#[from] VersionError),
    /// The broker returned a Kafka error code.
    #[error("the broker returned {error} (error code {})", error.code())]
    Broker {
        /// The error code, with its name and retriability.
        error: BrokerErrorCode,
        /// The broker's error message, when the response carries one.
        message: Option<String>,
    },
    /// The requested offset is outside the partition's log.
    #[error("offset {requested} is out of range: the partition holds offsets {log_start_offset}..{high_watermark}")]
    OffsetOutOfRange {
        /// The offset asked for.
        requested: i64,
        /// The first offset the partition still holds.
        log_start_offset: i64,
        /// One past the last readable offset.
        high_watermark: i64,
    },
    /// The topic or partition does not exist (in the latest metadata).
    #[error("unknown topic or partition")]
    UnknownTopicOrPartition,
    /// The partition has no leader right now.
    #[error("the partition has no leader")]
    LeaderNotAvailable,
    /// A record batch in a fetched response is malformed.
    #[error("corrupt record data at offset {offset}: {source}")]
    CorruptRecords {
        /// The offset where reading stopped.
        offset: i64,
        /// What the decoder found.
        source: ProtocolError,
    },
    /// The caller passed something the client cannot act on.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The client was shut down.
    #[error("the client is shut down")]
    Shutdown,
}

/// One failed try at one bootstrap address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BootstrapAttempt {
    /// The `bootstrap.servers` entry.
    pub server: BrokerAddress,
    /// The address it resolved to, if it resolved.
    pub resolved: Option<SocketAddr>,
    /// Why it failed: when tried more than once, the most telling of its
    /// failures (a timeout cut short by the deadline says less than the
    /// peer closing the connection mid-handshake), the latest among equals.
    pub failure: ConnectFailure,
    /// How many times this address was tried.
    pub tries: u32,
}

/// No bootstrap server could be used: either `bootstrap.timeout.ms`
/// passed, or every address failed in a way retrying cannot fix (wrong
/// credentials, an untrusted certificate, a port that is not Kafka's or
/// answers the same wrong way again and again).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct BootstrapError {
    /// How long the client kept trying.
    pub waited: Duration,
    /// `bootstrap.timeout.ms`.
    pub timeout: Duration,
    /// Whether the client stopped before the deadline because retrying
    /// could not help.
    pub gave_up_early: bool,
    /// Every address tried, with why it failed.
    pub attempts: Vec<BootstrapAttempt>,
}

impl fmt::Display for BootstrapError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.gave_up_early {
            write!(
                f,
                "could not use any bootstrap server; stopped after {:.1?} without waiting out bootstrap.timeout.ms ({:?}), since retrying cannot fix these failures; tried:",
                self.waited, self.timeout
            )?;
        } else {
            write!(
                f,
                "could not reach any bootstrap server within bootstrap.timeout.ms ({:?}); tried:",
                self.timeout
            )?;
        }
        for a in &self.attempts {
            write!(f, "\n  - {}", a.server)?;
            if let Some(ip) = a.resolved {
                if ip.to_string() != a.server.to_string() {
                    write!(f, " ({ip})")?;
                }
            }
            write!(f, ": {}", a.failure)?;
            if a.tries > 1 {
                write!(f, " [{} tries]", a.tries)?;
            }
        }
        write!(
            f,
            "\ncheck bootstrap.servers and security.protocol, and that the brokers are up"
        )
    }
}

impl Error {
    /// An error of this kind with no context yet.
    pub fn new(kind: ErrorKind) -> Self {
        Error {
            kind,
            context: Box::default(),
        }
    }

    /// An error for a Kafka error code (`None` for code 0).
    pub fn from_code(code: i16) -> Option<Self> {
        Self::from_code_with_message(code, None)
    }

    /// An error for a Kafka error code with the broker's message.
    pub fn from_code_with_message(code: i16, message: Option<String>) -> Option<Self> {
        let error = ResponseError::try_from_code(code)?;
        let kind = match error {
            ResponseError::UnknownTopicOrPartition => ErrorKind::UnknownTopicOrPartition,
            ResponseError::LeaderNotAvailable => ErrorKind::LeaderNotAvailable,
            _ => ErrorKind::Broker {
                error: BrokerErrorCode(error),
                message,
            },
        };
        let mut err = Error::new(kind);
        err.context.hint = hint_for(error).map(str::to_owned);
        Some(err)
    }

    /// What happened.
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The Kafka error code, when the broker returned one.
    pub fn code(&self) -> Option<i16> {
        match &self.kind {
            ErrorKind::Broker { error, .. } => Some(error.code()),
            ErrorKind::UnknownTopicOrPartition => Some(3),
            ErrorKind::LeaderNotAvailable => Some(5),
            ErrorKind::OffsetOutOfRange { .. } => Some(1),
            _ => None,
        }
    }

    /// The broker involved, if any.
    pub fn broker(&self) -> Option<&BrokerRef> {
        self.context.broker.as_ref()
    }

    /// The topic-partition involved, if any.
    pub fn topic_partition(&self) -> Option<&TopicPartition> {
        self.context.topic_partition.as_ref()
    }

    /// The API of the request involved, if any.
    pub fn api(&self) -> Option<Api> {
        self.context.api
    }

    /// What to do about it, when there is something to say.
    pub fn hint(&self) -> Option<&str> {
        self.context.hint.as_deref()
    }

    /// Whether the same operation can succeed if tried again (after a
    /// metadata refresh, for leadership errors).
    pub fn is_retriable(&self) -> bool {
        match &self.kind {
            ErrorKind::Connection(f) => f.is_retriable(),
            ErrorKind::Connect { .. } | ErrorKind::Timeout(_) => true,
            ErrorKind::Broker { error, .. } => error.is_retriable(),
            ErrorKind::UnknownTopicOrPartition | ErrorKind::LeaderNotAvailable => true,
            _ => false,
        }
    }

    /// Whether the error means our metadata is stale and should be
    /// refreshed before retrying (leader moved, partition unknown, epoch
    /// mismatch, broker gone).
    pub fn needs_metadata_refresh(&self) -> bool {
        match &self.kind {
            ErrorKind::UnknownTopicOrPartition
            | ErrorKind::LeaderNotAvailable
            | ErrorKind::Connect { .. }
            | ErrorKind::Connection(_) => true,
            ErrorKind::Broker { error, .. } => matches!(
                error.0,
                ResponseError::NotLeaderOrFollower
                    | ResponseError::FencedLeaderEpoch
                    | ResponseError::UnknownLeaderEpoch
                    | ResponseError::ReplicaNotAvailable
                    | ResponseError::KafkaStorageError
                    | ResponseError::OffsetNotAvailable
                    | ResponseError::BrokerNotAvailable
            ),
            _ => false,
        }
    }

    /// A copy for fanning one failure out to several items. Kinds that
    /// cannot be copied (decode errors) become [`ErrorKind::UnexpectedResponse`]
    /// with the same text.
    pub(crate) fn duplicate(&self) -> Error {
        let kind = match &self.kind {
            ErrorKind::Connection(f) => ErrorKind::Connection(f.clone()),
            ErrorKind::Connect { address, failure } => ErrorKind::Connect {
                address: address.clone(),
                failure: failure.clone(),
            },
            ErrorKind::Timeout(d) => ErrorKind::Timeout(*d),
            ErrorKind::Broker { error, message } => ErrorKind::Broker {
                error: *error,
                message: message.clone(),
            },
            ErrorKind::OffsetOutOfRange {
                requested,
                log_start_offset,
                high_watermark,
            } => ErrorKind::OffsetOutOfRange {
                requested: *requested,
                log_start_offset: *log_start_offset,
                high_watermark: *high_watermark,
            },
            ErrorKind::UnknownTopicOrPartition => ErrorKind::UnknownTopicOrPartition,
            ErrorKind::LeaderNotAvailable => ErrorKind::LeaderNotAvailable,
            ErrorKind::Version(v) => ErrorKind::Version(v.clone()),
            ErrorKind::Shutdown => ErrorKind::Shutdown,
            ErrorKind::InvalidArgument(s) => ErrorKind::InvalidArgument(s.clone()),
            other => ErrorKind::UnexpectedResponse(other.to_string()),
        };
        Error {
            kind,
            context: Box::new(Context {
                broker: self.context.broker.clone(),
                topic_partition: self.context.topic_partition.clone(),
                api: self.context.api,
                hint: self.context.hint.clone(),
            }),
        }
    }

    /// Attaches the broker.
    pub(crate) fn with_broker(mut self, broker: BrokerRef) -> Self {
        self.context.broker.get_or_insert(broker);
        self
    }

    /// Attaches the topic-partition; it also narrows a topic-level context
    /// (partition -1) of the same topic, so an error found while looking up
    /// the topic still says which partition it ended.
    pub(crate) fn with_topic_partition(mut self, tp: TopicPartition) -> Self {
        match &self.context.topic_partition {
            Some(known) if known.partition >= 0 || known.topic != tp.topic => {}
            _ => self.context.topic_partition = Some(tp),
        }
        self
    }

    /// Attaches the topic (partition -1 when the error is about the whole topic).
    pub(crate) fn with_topic(self, topic: &str) -> Self {
        self.with_topic_partition(TopicPartition::new(topic, -1))
    }

    /// Attaches the API.
    pub(crate) fn with_api(mut self, api: ApiKey) -> Self {
        self.context.api.get_or_insert(Api::of(api));
        self
    }

    /// Sets the hint.
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.context.hint = Some(hint.into());
        self
    }
}

fn hint_for(error: ResponseError) -> Option<&'static str> {
    Some(match error {
        ResponseError::TopicAlreadyExists => "the topic exists already; delete it first or use another name",
        ResponseError::InvalidReplicationFactor => "the replication factor must be at most the number of brokers",
        ResponseError::InvalidPartitions => "the partition count must be at least 1 (and larger than the current count when adding partitions)",
        ResponseError::InvalidConfig => "check the topic config names and values",
        ResponseError::TopicAuthorizationFailed | ResponseError::ClusterAuthorizationFailed => {
            "the principal lacks the ACL for this operation"
        }
        ResponseError::NotController => "the controller moved; the client retries against the new one",
        ResponseError::PolicyViolation => "a broker-side policy refused the request",
        _ => return None,
    })
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error::new(kind)
    }
}

impl From<ConfigError> for Error {
    fn from(e: ConfigError) -> Self {
        Error::new(ErrorKind::Config(e))
    }
}

impl From<ProtocolError> for Error {
    fn from(e: ProtocolError) -> Self {
        Error::new(ErrorKind::Protocol(e))
    }
}

impl From<ferrokafka_protocol::requests::RequestBuildError> for Error {
    /// A request the negotiated version cannot carry (read_committed
    /// offsets from a broker before ListOffsets v2, …): the caller asked
    /// for something this broker cannot do.
    fn from(e: ferrokafka_protocol::requests::RequestBuildError) -> Self {
        Error::new(ErrorKind::InvalidArgument(e.to_string()))
    }
}

impl From<VersionError> for Error {
    fn from(e: VersionError) -> Self {
        Error::new(ErrorKind::Version(e))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.context;
        if let Some(tp) = &c.topic_partition {
            if tp.partition >= 0 {
                write!(f, "{tp}: ")?;
            } else {
                write!(f, "topic {}: ", tp.topic)?;
            }
        }
        write!(f, "{}", self.kind)?;
        match (&c.api, &c.broker) {
            (Some(api), Some(b)) => write!(f, " ({api:?} request to {b})")?,
            (Some(api), None) => write!(f, " ({api:?} request)")?,
            (None, Some(b)) => write!(f, " ({b})")?,
            (None, None) => {}
        }
        if let Some(hint) = &c.hint {
            write!(f, "; {hint}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        std::error::Error::source(&self.kind)
    }
}

/// The client's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_codes() {
        let e = Error::from_code(6).unwrap();
        assert!(e.is_retriable() && e.needs_metadata_refresh());
        assert_eq!(e.code(), Some(6));
        let e = Error::from_code(3).unwrap();
        assert!(matches!(e.kind(), ErrorKind::UnknownTopicOrPartition));
        assert!(e.needs_metadata_refresh());
        let e = Error::from_code(36).unwrap(); // TOPIC_ALREADY_EXISTS
        assert!(!e.is_retriable());
        assert!(e.to_string().contains("TopicAlreadyExists"), "{e}");
        assert!(e.hint().is_some());
        assert!(Error::from_code(0).is_none());
        let e = Error::from_code(12345).unwrap();
        assert!(!e.is_retriable());
    }

    #[test]
    fn display_carries_context() {
        let e = Error::from_code(6)
            .unwrap()
            .with_topic_partition(TopicPartition::new("t", 3))
            .with_api(ApiKey::Fetch)
            .with_broker(BrokerRef {
                id: Some(1),
                address: "h:1".into(),
            });
        let text = e.to_string();
        assert!(text.starts_with("t-3: "), "{text}");
        assert!(text.contains("Fetch request to broker 1 at h:1"), "{text}");
    }
}
