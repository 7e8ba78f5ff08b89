//! Why connecting to a broker, or a connection, failed: shared by errors
//! and hooks, so it depends on neither.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use ferrokafka_protocol::frame::FrameError;

/// Which broker an error is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerRef {
    /// The broker id, when known (not for bootstrap connections).
    pub id: Option<i32>,
    /// `host:port` as configured or advertised.
    pub address: String,
}

impl fmt::Display for BrokerRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.id {
            Some(id) => write!(f, "broker {id} at {}", self.address),
            None => write!(f, "{}", self.address),
        }
    }
}

/// Why an established connection stopped working. Cheap to clone: every
/// request in flight on the connection gets a copy.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionFailure {
    /// A socket error.
    #[error("i/o error: {0}")]
    Io(Arc<std::io::Error>),
    /// The broker closed the connection.
    #[error("the broker closed the connection")]
    ClosedByPeer,
    /// The byte stream could not be split into frames.
    #[error(transparent)]
    Frame(FrameError),
    /// A response did not parse far enough to be matched to its request.
    #[error("malformed response header: {0}")]
    MalformedHeader(Arc<str>),
    /// A response carried a correlation id no request is waiting for.
    #[error("the broker answered correlation id {0}, which no request is waiting for")]
    UnexpectedCorrelationId(i32),
    /// Another request on the same connection timed out, so the connection
    /// was closed (its answers can no longer be trusted to be in step).
    #[error("the connection was closed after a request on it timed out")]
    ClosedAfterTimeout,
    /// The connection was closed for being idle.
    #[error("the connection was closed for being idle")]
    Idle,
    /// The client closed the connection.
    #[error("the connection was closed by the client")]
    ClosedByClient,
    /// The in-band SASL re-authentication (KIP-368) failed, so the
    /// connection was closed before its session ran out. Retriable: the
    /// next connection authenticates from scratch and reports a lasting
    /// cause (wrong credentials) as an authentication error.
    #[error("SASL re-authentication (KIP-368) failed, the connection was closed: {0}")]
    Reauthentication(Arc<ConnectFailure>),
}

impl ConnectionFailure {
    pub(crate) fn is_retriable(&self) -> bool {
        matches!(
            self,
            ConnectionFailure::Io(_)
                | ConnectionFailure::ClosedByPeer
                | ConnectionFailure::ClosedAfterTimeout
                | ConnectionFailure::Idle
                | ConnectionFailure::Reauthentication(_)
        )
    }
}

/// Why one connection attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectFailure {
    /// The host name did not resolve.
    #[error("DNS lookup failed: {0}")]
    Dns(String),
    /// Nothing listens on the port.
    #[error("connection refused (nothing listens there)")]
    Refused,
    /// The TCP connect or the handshake did not finish in time.
    #[error("timed out after {0:?} during {1}")]
    TimedOut(Duration, &'static str),
    /// The peer answered in another protocol.
    #[error("the port answered with {0}, not Kafka: wrong port or security.protocol?")]
    WrongProtocol(&'static str),
    /// The peer closed the connection during the handshake.
    #[error("the peer closed the connection during the ApiVersions handshake (a Kafka broker would have answered): wrong port or security.protocol?")]
    ClosedDuringHandshake,
    /// An answer during the connection set-up (ApiVersions, SASL, the
    /// first Metadata) did not decode; the text names the step.
    #[error("malformed answer during the connection set-up: {0}")]
    Malformed(String),
    /// The broker answered ApiVersions, then closed the connection instead
    /// of answering the first Metadata request: what a listener that
    /// requires SASL or TLS does with a client that skipped it.
    #[error("the broker answered ApiVersions, then closed the connection instead of answering Metadata: the listener probably requires authentication; check security.protocol (SASL_PLAINTEXT or SASL_SSL with sasl.mechanism, or SSL)")]
    ClosedAfterApiVersions,
    /// The broker refused the handshake (e.g. no common ApiVersions version).
    #[error("handshake refused: {0}")]
    Refusal(String),
    /// The TLS handshake failed.
    #[error("TLS handshake failed: {0}")]
    Tls(String),
    /// SASL authentication failed (bad credentials, a mechanism the broker
    /// does not enable, or a server that failed the client's checks).
    #[error("SASL {mechanism} authentication as user {user:?} failed: {reason}")]
    Authentication {
        /// The mechanism (`PLAIN`, `SCRAM-SHA-256`, …).
        mechanism: &'static str,
        /// The user name (never the password).
        user: String,
        /// What went wrong and what to check.
        reason: String,
    },
    /// The server failed the client's SASL checks (a SCRAM nonce that does
    /// not extend the client's, a wrong server signature, an iteration
    /// count outside 4096..=1000000): the connection is dropped before any
    /// other request.
    #[error("SASL as user {user:?}: {error}")]
    SaslServerRejected {
        /// The user name (never the password).
        user: String,
        /// What the server did wrong.
        error: ferrokafka_auth::SaslError,
    },
    /// No OAUTHBEARER token could be had for now (identity provider
    /// unreachable or overloaded); retried.
    #[error("{0}")]
    TokenUnavailable(String),
    /// Another socket error.
    #[error("i/o error: {0}")]
    Io(String),
}

impl ConnectFailure {
    /// Whether retrying cannot help: SASL authentication or TLS
    /// certificate checks failed, or the port speaks another protocol
    /// (TLS, HTTP) than `security.protocol` says.
    pub fn is_permanent(&self) -> bool {
        matches!(
            self,
            ConnectFailure::Authentication { .. }
                | ConnectFailure::SaslServerRejected { .. }
                | ConnectFailure::Tls(_)
                | ConnectFailure::WrongProtocol(_)
        )
    }

    /// Whether the peer answered, just not like a Kafka broker would
    /// (closed mid-handshake, malformed frames, closed after ApiVersions):
    /// the same answer several times over is not going to change.
    pub(crate) fn is_misbehaviour(&self) -> bool {
        matches!(
            self,
            ConnectFailure::ClosedDuringHandshake
                | ConnectFailure::Malformed(_)
                | ConnectFailure::Refusal(_)
                | ConnectFailure::ClosedAfterApiVersions
        )
    }

    /// How much a failure tells about what is wrong, to choose which of
    /// an address's failures to report: a timeout cut short by the
    /// bootstrap deadline says least, a lasting refusal most.
    pub(crate) fn telling(&self) -> u8 {
        match self {
            ConnectFailure::TimedOut(..) => 0,
            ConnectFailure::Io(_) | ConnectFailure::Dns(_) | ConnectFailure::Refused => 1,
            ConnectFailure::TokenUnavailable(_) => 2,
            ConnectFailure::ClosedDuringHandshake => 3,
            ConnectFailure::Malformed(_)
            | ConnectFailure::Refusal(_)
            | ConnectFailure::ClosedAfterApiVersions => 4,
            _ => 5,
        }
    }
    pub(crate) fn from_io(error: &std::io::Error) -> Self {
        match error.kind() {
            std::io::ErrorKind::ConnectionRefused => ConnectFailure::Refused,
            std::io::ErrorKind::UnexpectedEof
            | std::io::ErrorKind::ConnectionReset
            | std::io::ErrorKind::ConnectionAborted
            | std::io::ErrorKind::BrokenPipe => ConnectFailure::ClosedDuringHandshake,
            _ => ConnectFailure::Io(error.to_string()),
        }
    }
}
