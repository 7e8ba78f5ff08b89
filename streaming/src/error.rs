//! [`SourceError`]: why a read could not be planned, or failed.

use ferrokafka::TopicPartition;

use crate::options::OptionError;
use crate::planner::{DataLoss, LimitError, PlanError};

/// Why a read could not be planned, or failed while reading. Each message
/// says what to change or check.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SourceError {
    /// The options cannot be used (including `kafka.` options the Kafka
    /// client refuses).
    #[error(transparent)]
    Options(Box<OptionError>),
    /// No connection to the cluster could be set up.
    #[error("could not connect to the Kafka cluster: {0}")]
    Connect(#[source] Box<ferrokafka::Error>),
    /// Topics or offsets could not be looked up, after
    /// `fetchOffset.numRetries` attempts.
    #[error(
        "could not look up {what} after {attempts} attempt(s) (fetchOffset.numRetries; \
         fetchOffset.retryIntervalMs apart): {source}"
    )]
    Lookup {
        /// What was looked up, e.g. "the latest offsets of t-0, t-1".
        what: String,
        /// Attempts made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        source: Box<ferrokafka::Error>,
    },
    /// The start or end limit cannot be resolved (partitions that do not
    /// match the assigned ones, no offset for a starting timestamp).
    #[error(transparent)]
    Limit(#[from] LimitError),
    /// The read tasks cannot be planned, or a task's offsets resolved to a
    /// start past its end.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// Records of a planned range are gone (`failOnDataLoss` is true).
    #[error(transparent)]
    DataLoss(#[from] DataLoss),
    /// Fetching a partition failed.
    #[error("reading {partition} failed at offset {offset}: {source}")]
    Read {
        /// The partition.
        partition: TopicPartition,
        /// The next offset the task was to read.
        offset: i64,
        /// The client's error.
        #[source]
        source: Box<ferrokafka::Error>,
    },
    /// Nothing arrived for `kafkaConsumer.pollTimeoutMs` although the offset
    /// exists (Spark's executor `TimeoutException`).
    #[error(
        "Cannot fetch record for offset {offset} in {timeout_ms} milliseconds ({partition}); \
         check that the partition's leader is reachable, or raise kafkaConsumer.pollTimeoutMs"
    )]
    FetchTimeout {
        /// The partition.
        partition: TopicPartition,
        /// The offset waited for.
        offset: i64,
        /// `kafkaConsumer.pollTimeoutMs`.
        timeout_ms: i64,
    },
    /// Rows could not become an Arrow record batch.
    #[cfg(feature = "arrow")]
    #[error("could not build an Arrow record batch: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
}

impl From<OptionError> for SourceError {
    fn from(error: OptionError) -> Self {
        SourceError::Options(Box::new(error))
    }
}

impl SourceError {
    /// A copy of this error, unless it holds a client or Arrow error
    /// (which cannot be copied).
    pub(crate) fn try_clone(&self) -> Option<SourceError> {
        Some(match self {
            SourceError::Options(error) => SourceError::Options(error.clone()),
            SourceError::Limit(error) => SourceError::Limit(error.clone()),
            SourceError::Plan(error) => SourceError::Plan(error.clone()),
            SourceError::DataLoss(loss) => SourceError::DataLoss(loss.clone()),
            SourceError::FetchTimeout {
                partition,
                offset,
                timeout_ms,
            } => SourceError::FetchTimeout {
                partition: partition.clone(),
                offset: *offset,
                timeout_ms: *timeout_ms,
            },
            SourceError::Connect(_) | SourceError::Lookup { .. } | SourceError::Read { .. } => {
                return None
            }
            #[cfg(feature = "arrow")]
            SourceError::Arrow(_) => return None,
        })
    }
}
