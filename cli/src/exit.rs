//! How `ferrokafka` ends: an error carrying the exit code that says what
//! failed, so scripts can tell a typo from an unreachable cluster.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | done |
//! | 1 | failed for another reason (see the message) |
//! | 2 | the command line is wrong (unknown flag, missing argument) |
//! | 3 | an option or setting was refused (name, value, what it accepts) |
//! | 4 | the cluster could not be reached or refused to authenticate |
//! | 5 | the broker refused the request (unknown topic, authorization, …) |
//! | 6 | records the read needed are gone (deleted or aged out) and `failOnDataLoss` is true |
//! | 130 | interrupted (Ctrl-C) before the work was done |

use std::fmt;

use ferrokafka::{ConfigError, ErrorKind};
use ferrokafka_streaming::SourceError;

/// Exit codes (see the module documentation).
pub(crate) mod code {
    /// Failed for another reason.
    pub(crate) const FAILED: i32 = 1;
    /// The command line is wrong.
    pub(crate) const USAGE: i32 = 2;
    /// An option or setting was refused.
    pub(crate) const CONFIG: i32 = 3;
    /// The cluster could not be reached, or refused to authenticate.
    pub(crate) const UNREACHABLE: i32 = 4;
    /// The broker refused the request.
    pub(crate) const REFUSED: i32 = 5;
    /// Records a read needed are gone (`failOnDataLoss=true`).
    pub(crate) const DATA_LOSS: i32 = 6;
    /// Interrupted.
    pub(crate) const INTERRUPTED: i32 = 130;
}

/// A failure of a command, with its exit code.
#[derive(Debug)]
pub(crate) struct CliError {
    /// The exit code.
    pub code: i32,
    /// What happened and what to do.
    pub message: String,
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

impl CliError {
    /// A wrong command line.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        CliError {
            code: code::USAGE,
            message: message.into(),
        }
    }
    /// A refused option or setting.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        CliError {
            code: code::CONFIG,
            message: message.into(),
        }
    }
    /// Another failure.
    pub(crate) fn failed(message: impl Into<String>) -> Self {
        CliError {
            code: code::FAILED,
            message: message.into(),
        }
    }
    /// Interrupted before the work was done.
    pub(crate) fn interrupted(message: impl Into<String>) -> Self {
        CliError {
            code: code::INTERRUPTED,
            message: message.into(),
        }
    }
}

/// The exit code of a client error.
fn client_code(error: &ferrokafka::Error) -> i32 {
    match error.kind() {
        ErrorKind::Config(_) | ErrorKind::InvalidArgument(_) => code::CONFIG,
        ErrorKind::Bootstrap(_) | ErrorKind::Connect { .. } => code::UNREACHABLE,
        ErrorKind::Broker { .. }
        | ErrorKind::UnknownTopicOrPartition
        | ErrorKind::OffsetOutOfRange { .. } => code::REFUSED,
        _ => code::FAILED,
    }
}

impl From<ferrokafka::Error> for CliError {
    fn from(error: ferrokafka::Error) -> Self {
        CliError {
            code: client_code(&error),
            message: error.to_string(),
        }
    }
}

impl CliError {
    /// The exit code of a source error.
    fn from_source_ref(error: &SourceError) -> i32 {
        match error {
            SourceError::Options(_) => code::CONFIG,
            SourceError::Connect(_) => code::UNREACHABLE,
            SourceError::Lookup { source, .. } | SourceError::Read { source, .. } => {
                client_code(source)
            }
            SourceError::DataLoss(_) => code::DATA_LOSS,
            SourceError::FetchTimeout { .. } => code::UNREACHABLE,
            // Limits that cannot be resolved and plans that cannot be made
            // come from the options (a timestamp with no offset, a JSON
            // offset map naming other partitions).
            SourceError::Limit(_) | SourceError::Plan(_) => code::CONFIG,
            _ => code::FAILED,
        }
    }
}

impl From<SourceError> for CliError {
    fn from(error: SourceError) -> Self {
        CliError {
            code: CliError::from_source_ref(&error),
            message: error.to_string(),
        }
    }
}

impl From<ferrokafka_streaming::options::OptionError> for CliError {
    fn from(error: ferrokafka_streaming::options::OptionError) -> Self {
        CliError::config(error.to_string())
    }
}

impl From<ConfigError> for CliError {
    fn from(error: ConfigError) -> Self {
        CliError::config(error.to_string())
    }
}

impl From<ferrokafka::ProduceError> for CliError {
    fn from(error: ferrokafka::ProduceError) -> Self {
        CliError::from(error.error)
    }
}

impl From<std::io::Error> for CliError {
    fn from(error: std::io::Error) -> Self {
        CliError::failed(error.to_string())
    }
}

impl From<ferrokafka_streaming::sink::SinkError> for CliError {
    fn from(error: ferrokafka_streaming::sink::SinkError) -> Self {
        use ferrokafka_streaming::sink::SinkError;
        let code = match &error {
            SinkError::Options(_) | SinkError::Schema(_) | SinkError::NullTopic { .. } => {
                code::CONFIG
            }
            SinkError::Producer(source) => client_code(source),
            SinkError::Send { source, .. } => client_code(&source.error),
            _ => code::FAILED,
        };
        CliError {
            code,
            message: error.to_string(),
        }
    }
}

impl From<ferrokafka_streaming::query::QueryError> for CliError {
    fn from(error: ferrokafka_streaming::query::QueryError) -> Self {
        use ferrokafka_streaming::query::QueryError;
        let code = match &error {
            QueryError::Options(_) => code::CONFIG,
            QueryError::Bootstrap(_) => code::UNREACHABLE,
            QueryError::Connect(source) => client_code(source),
            QueryError::DataLoss { .. } => code::DATA_LOSS,
            QueryError::Source { source, .. } => CliError::from_source_ref(source),
            // The handlers of `stream` fail with a CliError: keep its code.
            QueryError::Handler { source, .. } => source
                .downcast_ref::<CliError>()
                .map_or(code::FAILED, |e| e.code),
            _ => code::FAILED,
        };
        CliError {
            code,
            message: error.to_string(),
        }
    }
}
