//! Admin operations: topics, partitions, records, configs, offsets and
//! the cluster.
//!
//! Each call retries retriable errors (leader moved, controller moved,
//! connection lost) with backoff until `default.api.timeout.ms`, and
//! reports per-item outcomes where Kafka does: a batch of topics to create
//! can partly succeed.
//!
//! ```no_run
//! # async fn demo(client: ferrokafka::Client) -> Result<(), ferrokafka::Error> {
//! use ferrokafka::admin::{NewTopic, OffsetSpec};
//! use ferrokafka::{IsolationLevel, TopicPartition};
//! let admin = client.admin();
//! admin.create_topic(NewTopic::new("events", 6, 1).with_config("retention.ms", "60000")).await?;
//! let latest = admin
//!     .list_offsets(&[(TopicPartition::new("events", 0), OffsetSpec::Latest)], IsolationLevel::ReadUncommitted)
//!     .await?;
//! # Ok(()) }
//! ```

mod configs;
mod offsets;
mod topics;

pub use configs::{ConfigEntry, ConfigResource, ConfigSource};
pub use offsets::{ListedOffset, OffsetSpec};
pub(crate) use topics::check_name as check_topic_name;
pub use topics::{ClusterDescription, NewTopic, TopicListing};

use crate::client::Client;
use crate::error::Error;

/// Admin operations over a [`Client`]; get one with [`Client::admin`].
#[derive(Debug, Clone)]
pub struct Admin {
    client: Client,
}

impl Client {
    /// Admin operations on this client's cluster.
    pub fn admin(&self) -> Admin {
        Admin {
            client: self.clone(),
        }
    }
}

/// The outcome for one item (topic, partition) of a batch admin call.
pub type ItemResult<T> = Result<T, Error>;

fn request_timeout_ms(client: &Client) -> i32 {
    i32::try_from(client.config().request_timeout().as_millis()).unwrap_or(i32::MAX)
}

fn error_message(message: &Option<ferrokafka_protocol::StrBytes>) -> Option<String> {
    message
        .as_ref()
        .map(|m| m.to_string())
        .filter(|m| !m.is_empty())
}
