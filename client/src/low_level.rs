//! The low-level API: raw Kafka requests on a broker connection, custom
//! transports, and the wire-protocol crate. Most programs never need it;
//! reach for it to send a request the client has no method for, or to put
//! the client on a transport of your own (a proxy, an in-memory pipe).
//!
//! What lives here may expose `kafka-protocol`'s message types, which
//! change with that crate's releases; the rest of `ferrokafka` does not.
//!
//! ```no_run
//! use ferrokafka::low_level::protocol::messages::DescribeClusterRequest;
//! use ferrokafka::low_level::ClientExt;
//! # async fn demo(client: ferrokafka::Client) -> Result<(), ferrokafka::Error> {
//! let conn = client.any_connection().await?;
//! let answer = conn.send(&DescribeClusterRequest::default()).await?;
//! println!("cluster {}", answer.cluster_id);
//! # Ok(()) }
//! ```

use std::sync::Arc;

pub use ferrokafka_protocol as protocol;

pub use crate::broker::BrokerConnection;
pub use crate::transport::{
    BoxTransport, Connector, Resolve, SystemResolver, TcpConnector, TlsConnector, Transport,
    CLIENT_CERTIFICATE_VERDICT_WAIT,
};

use crate::client::Client;
use crate::config::ClientConfig;
use crate::error::Result;
use crate::types::TopicPartition;

/// Connects as [`Client::connect`] does, over `connector` instead of TCP
/// or TLS.
pub async fn connect_with(config: ClientConfig, connector: Arc<dyn Connector>) -> Result<Client> {
    Client::connect_parts(config, Some(connector), None).await
}

/// Connects as [`Client::connect`] does (TCP or TLS per
/// `security.protocol`), resolving host names with `resolver` instead of
/// the operating system's resolver: for a static binary in an empty
/// container, where the C library's resolver cannot load its modules.
pub async fn connect_resolving_with(
    config: ClientConfig,
    resolver: Arc<dyn Resolve>,
) -> Result<Client> {
    Client::connect_parts(config, None, Some(resolver)).await
}

/// Connections of a client, for raw requests. Import the trait to call
/// its methods on a [`Client`].
#[allow(async_fn_in_trait)] // called on `Client` only; no `Send` bound needed by callers
pub trait ClientExt {
    /// A connection to broker `id` (from the pool, connecting if needed).
    async fn broker_connection(&self, id: i32) -> Result<BrokerConnection>;
    /// A connection to the leader of a partition.
    async fn leader_connection(&self, tp: &TopicPartition) -> Result<BrokerConnection>;
    /// Any live connection, or a new one to some broker (falling back to
    /// the bootstrap servers when no known broker answers).
    async fn any_connection(&self) -> Result<BrokerConnection>;
}

impl ClientExt for Client {
    async fn broker_connection(&self, id: i32) -> Result<BrokerConnection> {
        Client::broker_connection(self, id).await
    }
    async fn leader_connection(&self, tp: &TopicPartition) -> Result<BrokerConnection> {
        Client::leader_connection(self, tp).await
    }
    async fn any_connection(&self) -> Result<BrokerConnection> {
        Client::any_connection(self).await
    }
}
