//! SASL mechanisms as sans-IO state machines.
//!
//! A [`SaslClient`] produces the bytes of each `SaslAuthenticate` request
//! and checks each answer; the connection code only moves bytes:
//!
//! ```
//! use ferrokafka_auth::sasl::{SaslClient, SaslStep};
//! use ferrokafka_auth::{Credentials, Secret};
//!
//! let creds = Credentials::new("alice", Secret::new("s3cret"));
//! let mut client = SaslClient::plain(&creds);
//! let first = client.start().unwrap();
//! assert_eq!(&first[..], b"\0alice\0s3cret");
//! // The broker answers PLAIN with empty bytes:
//! assert!(matches!(client.receive(b"").unwrap(), SaslStep::Done));
//! ```

mod oauthbearer;
mod plain;
mod scram;

use std::fmt;

use zeroize::Zeroizing;

pub use oauthbearer::{OAuthBearer, OAuthBearerError};
pub use scram::{ScramHash, MAX_SCRAM_ITERATIONS, MIN_SCRAM_ITERATIONS};
#[cfg(feature = "server")]
pub use scram::{ScramServer, ScramStoredCredential};

use crate::Secret;

/// A SASL mechanism Kafka supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Mechanism {
    /// `PLAIN` (RFC 4616): user name and password in clear; use with TLS.
    Plain,
    /// `SCRAM-SHA-256` (RFC 7677).
    ScramSha256,
    /// `SCRAM-SHA-512`.
    ScramSha512,
    /// `OAUTHBEARER` (RFC 7628).
    OAuthBearer,
}

impl Mechanism {
    /// Every mechanism, in the order listed in error messages.
    pub const ALL: [Mechanism; 4] = [
        Mechanism::Plain,
        Mechanism::ScramSha256,
        Mechanism::ScramSha512,
        Mechanism::OAuthBearer,
    ];

    /// The name sent in `SaslHandshake`.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    /// Parses a `sasl.mechanism` value (case-insensitive).
    pub fn parse(name: &str) -> Option<Mechanism> {
        Mechanism::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(name.trim()))
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A user name and password, for PLAIN and SCRAM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The user name (not secret; appears in errors).
    pub username: String,
    /// The password.
    pub password: Secret,
}

impl Credentials {
    /// A user name and password.
    pub fn new(username: impl Into<String>, password: Secret) -> Self {
        Credentials {
            username: username.into(),
            password,
        }
    }
}

/// Why a SASL exchange failed on the client side. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SaslError {
    /// The server's SCRAM nonce does not extend ours: a replay or a
    /// man in the middle.
    #[error("{mechanism}: the server's nonce does not start with the client nonce (possible replay or man-in-the-middle); connection refused")]
    NonceMismatch {
        /// The mechanism.
        mechanism: Mechanism,
    },
    /// The server's SCRAM signature is wrong: it does not know the password.
    #[error("{mechanism}: the server's final signature is wrong, so the server does not know this user's credentials (an impostor, or the user was recreated); connection refused")]
    BadServerSignature {
        /// The mechanism.
        mechanism: Mechanism,
    },
    /// The iteration count is outside what the client accepts.
    #[error("{mechanism}: the server asks for {iterations} PBKDF2 iterations; accepted are {MIN_SCRAM_ITERATIONS} to {MAX_SCRAM_ITERATIONS} (fewer is insecure, more is a denial of service); ask the broker operator to recreate the SCRAM credential with a sane iteration count")]
    BadIterations {
        /// The mechanism.
        mechanism: Mechanism,
        /// The count the server sent.
        iterations: u64,
    },
    /// The server sent an error (`e=` in SCRAM, a JSON status in OAUTHBEARER).
    #[error("{mechanism}: the server refused authentication: {message}")]
    ServerError {
        /// The mechanism.
        mechanism: Mechanism,
        /// What the server said.
        message: String,
    },
    /// The server's message does not follow the mechanism's grammar.
    #[error("{mechanism}: malformed server message: {reason}")]
    Malformed {
        /// The mechanism.
        mechanism: Mechanism,
        /// What was wrong.
        reason: String,
    },
    /// A message arrived after the exchange finished, or before it started.
    #[error("{mechanism}: unexpected server message in state {state}")]
    UnexpectedMessage {
        /// The mechanism.
        mechanism: Mechanism,
        /// The client's state.
        state: &'static str,
    },
    /// A value given to the client cannot be sent (e.g. a NUL in a user name).
    #[error("{mechanism}: invalid {what}: {reason}")]
    InvalidInput {
        /// The mechanism.
        mechanism: Mechanism,
        /// Which value.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// What the connection does next.
#[derive(Debug)]
#[non_exhaustive]
pub enum SaslStep {
    /// Send these bytes in another `SaslAuthenticate` request.
    Send(Zeroizing<Vec<u8>>),
    /// Authenticated.
    Done,
}

/// One client-side SASL exchange.
#[derive(Debug)]
pub struct SaslClient {
    inner: Inner,
}

#[derive(Debug)]
enum Inner {
    Plain(plain::PlainClient),
    Scram(Box<scram::ScramClient>),
    OAuthBearer(oauthbearer::OAuthBearerClient),
}

impl SaslClient {
    /// PLAIN with a user name and password.
    pub fn plain(credentials: &Credentials) -> Self {
        SaslClient {
            inner: Inner::Plain(plain::PlainClient::new(credentials.clone())),
        }
    }

    /// SCRAM with the given hash.
    pub fn scram(hash: ScramHash, credentials: &Credentials) -> Self {
        SaslClient {
            inner: Inner::Scram(Box::new(scram::ScramClient::new(hash, credentials.clone()))),
        }
    }

    /// OAUTHBEARER with a token already fetched.
    pub fn oauthbearer(message: OAuthBearer) -> Self {
        SaslClient {
            inner: Inner::OAuthBearer(oauthbearer::OAuthBearerClient::new(message)),
        }
    }

    /// The mechanism this client runs.
    pub fn mechanism(&self) -> Mechanism {
        match &self.inner {
            Inner::Plain(_) => Mechanism::Plain,
            Inner::Scram(s) => s.mechanism(),
            Inner::OAuthBearer(_) => Mechanism::OAuthBearer,
        }
    }

    /// The bytes of the first `SaslAuthenticate` request.
    pub fn start(&mut self) -> Result<Zeroizing<Vec<u8>>, SaslError> {
        match &mut self.inner {
            Inner::Plain(c) => c.start(),
            Inner::Scram(c) => c.start(),
            Inner::OAuthBearer(c) => c.start(),
        }
    }

    /// Handles the `auth_bytes` of a successful `SaslAuthenticate` response.
    pub fn receive(&mut self, server: &[u8]) -> Result<SaslStep, SaslError> {
        match &mut self.inner {
            Inner::Plain(c) => c.receive(server),
            Inner::Scram(c) => c.receive(server),
            Inner::OAuthBearer(c) => c.receive(server),
        }
    }
}
