//! [`QueryError`]: why a streaming query could not start, or stopped.

use ferrokafka::BootstrapError;

use crate::checkpoint::CheckpointError;
use crate::options::OptionError;
use crate::planner::{AvailableNowError, DataLoss};
use crate::SourceError;

/// What a batch handler returns when it fails: any error.
pub type HandlerError = Box<dyn std::error::Error + Send + Sync>;

/// Why a streaming query could not start, or stopped. Each message names
/// what failed (the file, the topic-partition and offsets, the batch) and
/// what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum QueryError {
    /// The `kafka.` options do not make a client configuration.
    #[error(transparent)]
    Options(Box<OptionError>),
    /// No bootstrap server answered within the client's deadline
    /// (`kafka.bootstrap.timeout.ms`), or every one failed in a way
    /// retrying cannot fix.
    #[error(
        "the streaming query cannot start: {0}\nCheck kafka.bootstrap.servers and that the \
         cluster is reachable from here"
    )]
    Bootstrap(Box<BootstrapError>),
    /// A client to the cluster could not be set up otherwise.
    #[error("the streaming query cannot connect to the Kafka cluster: {0}")]
    Connect(#[source] Box<ferrokafka::Error>),
    /// The checkpoint cannot be opened, read or written (the error names
    /// the file).
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// Data may have been lost and `failOnDataLoss` is true: noticed while
    /// planning batch `batch_id` or reading it. The message names the
    /// topic-partition and the offsets.
    #[error("batch {batch_id}: {loss}")]
    DataLoss {
        /// The batch.
        batch_id: u64,
        /// What may have been lost.
        loss: DataLoss,
    },
    /// An `AvailableNow` batch does not fit the run's snapshot (fatal
    /// whatever `failOnDataLoss` says).
    #[error("batch {batch_id}: {source}")]
    AvailableNow {
        /// The batch.
        batch_id: u64,
        /// The failed check.
        #[source]
        source: AvailableNowError,
    },
    /// Looking topics or offsets up, planning or reading failed.
    #[error("batch {batch_id}: {source}")]
    Source {
        /// The batch being planned or read.
        batch_id: u64,
        /// What failed.
        #[source]
        source: SourceError,
    },
    /// Reading batch `batch_id` failed with a client error, and the
    /// handler did not return it (it returned `Ok`, or its own error).
    #[error(
        "batch {batch_id}: reading the batch failed ({message}); it was not committed and runs \
         again when the query restarts"
    )]
    ReadFailed {
        /// The batch.
        batch_id: u64,
        /// The read's error.
        message: String,
    },
    /// The batch handler failed; the batch was not committed and runs
    /// again when the query restarts.
    #[error(
        "batch {batch_id}: the batch handler failed: {source}; the batch was not committed and \
         runs again when the query restarts"
    )]
    Handler {
        /// The batch.
        batch_id: u64,
        /// The handler's error.
        #[source]
        source: HandlerError,
    },
    /// The query's task panicked (in the handler, most likely).
    #[error(
        "the streaming query panicked: {message}; its last batch was not committed and runs \
         again when the query restarts"
    )]
    Panicked {
        /// The panic's message.
        message: String,
    },
}

impl QueryError {
    /// The error of a failed source operation in batch `batch_id`, with
    /// data losses made [`DataLoss`](Self::DataLoss).
    pub(crate) fn source(batch_id: u64, source: SourceError) -> Self {
        match source {
            SourceError::DataLoss(loss) => QueryError::DataLoss { batch_id, loss },
            SourceError::Options(error) => QueryError::Options(error),
            source => QueryError::Source { batch_id, source },
        }
    }

    /// Spark's error class, for data losses and `AvailableNow` checks
    /// (`KAFKA_DATA_LOSS.PARTITIONS_DELETED`).
    pub fn error_class(&self) -> Option<&'static str> {
        match self {
            QueryError::DataLoss { loss, .. } => Some(loss.error_class()),
            QueryError::AvailableNow { source, .. } => Some(available_now_class(source)),
            _ => None,
        }
    }

    /// The data loss that stopped the query, if that is what stopped it.
    pub fn data_loss(&self) -> Option<&DataLoss> {
        match self {
            QueryError::DataLoss { loss, .. } => Some(loss),
            _ => None,
        }
    }
}

fn available_now_class(error: &AvailableNowError) -> &'static str {
    match error {
        AvailableNowError::PartitionsDifferFromPrefetched { .. } => {
            "MISMATCHED_TOPIC_PARTITIONS_BETWEEN_END_OFFSET_AND_PREFETCHED"
        }
        AvailableNowError::EndBeyondPrefetched { .. } => {
            "END_OFFSET_HAS_GREATER_OFFSET_FOR_TOPIC_PARTITION_THAN_PREFETCHED"
        }
        AvailableNowError::PartitionsLost { .. } => {
            "LOST_TOPIC_PARTITIONS_IN_END_OFFSET_WITH_TRIGGER_AVAILABLENOW"
        }
        AvailableNowError::EndBeyondLatest { .. } => {
            "END_OFFSET_HAS_GREATER_OFFSET_FOR_TOPIC_PARTITION_THAN_LATEST_WITH_TRIGGER_AVAILABLENOW"
        }
    }
}

impl From<OptionError> for QueryError {
    fn from(error: OptionError) -> Self {
        QueryError::Options(Box::new(error))
    }
}
