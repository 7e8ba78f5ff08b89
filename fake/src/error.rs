//! [`FakeError`]: why the fake cluster or the proxy could not do what was asked.

use std::net::SocketAddr;

/// Why a fake-cluster or proxy operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FakeError {
    /// A broker or the proxy could not bind its port.
    #[error("cannot listen on {addr}: {source}; pick another port, or port 0 for a free one")]
    Bind {
        /// The address it tried.
        addr: SocketAddr,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// The runtime threads could not be started.
    #[error("cannot start the runtime threads: {0}")]
    Runtime(#[source] std::io::Error),
    /// The builder's settings do not fit together.
    #[error("invalid fake cluster settings: {0}")]
    Config(String),
    /// No broker has this id.
    #[error("there is no broker {id} in the fake cluster (its brokers are {known:?})")]
    UnknownBroker {
        /// The id asked for.
        id: i32,
        /// The ids that exist.
        known: Vec<i32>,
    },
    /// The topic-partition does not exist.
    #[error("topic-partition {topic}-{partition} does not exist in the fake cluster; create the topic first")]
    UnknownPartition {
        /// Topic.
        topic: String,
        /// Partition.
        partition: i32,
    },
    /// A topic could not be created.
    #[error("cannot create topic {topic}: {message}")]
    CreateTopic {
        /// The topic.
        topic: String,
        /// Why (the message CreateTopics would answer with).
        message: String,
    },
    /// The producer has no open transaction on any partition.
    #[error("producer {producer_id} has no open transaction; produce transactional batches first")]
    NoOpenTransaction {
        /// The producer id.
        producer_id: i64,
    },
}
