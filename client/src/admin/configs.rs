//! Describe configs of topics and brokers.

use ferrokafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use ferrokafka_protocol::messages::{ApiKey, DescribeConfigsRequest};
use ferrokafka_protocol::StrBytes;

use super::{error_message, Admin};
use crate::error::{Error, ErrorKind, Result};

/// What to describe.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigResource {
    /// A topic, by name.
    Topic(String),
    /// A broker, by id.
    Broker(i32),
}

impl ConfigResource {
    fn wire(&self) -> (i8, String) {
        match self {
            ConfigResource::Topic(name) => (2, name.clone()),
            ConfigResource::Broker(id) => (4, id.to_string()),
        }
    }
}

/// Where a config value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConfigSource {
    /// Set on the topic.
    Topic,
    /// Set on this broker, dynamically.
    DynamicBroker,
    /// Set as the cluster-wide dynamic default.
    DynamicDefaultBroker,
    /// From the broker's properties file.
    StaticBroker,
    /// Kafka's built-in default.
    Default,
    /// Another source (a code this client does not know).
    Other(i8),
}

impl ConfigSource {
    fn from_wire(code: i8) -> Self {
        match code {
            1 => ConfigSource::Topic,
            2 => ConfigSource::DynamicBroker,
            3 => ConfigSource::DynamicDefaultBroker,
            4 => ConfigSource::StaticBroker,
            5 => ConfigSource::Default,
            other => ConfigSource::Other(other),
        }
    }
}

/// One config entry.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigEntry {
    /// The name, e.g. `retention.ms`.
    pub name: String,
    /// The value; `None` when unset or sensitive.
    pub value: Option<String>,
    /// Whether it cannot be changed.
    pub read_only: bool,
    /// Whether the value is a secret (the broker never sends it).
    pub sensitive: bool,
    /// Where the value comes from.
    pub source: ConfigSource,
}

impl std::fmt::Debug for ConfigEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConfigEntry")
            .field("name", &self.name)
            .field(
                "value",
                if self.sensitive {
                    &"<redacted>"
                } else {
                    &self.value
                },
            )
            .field("read_only", &self.read_only)
            .field("source", &self.source)
            .finish()
    }
}

impl Admin {
    /// Describes the configs of one topic or broker.
    pub async fn describe_configs(&self, resource: &ConfigResource) -> Result<Vec<ConfigEntry>> {
        let client = &self.client;
        let (resource_type, resource_name) = resource.wire();
        let request = DescribeConfigsRequest::default().with_resources(vec![
            DescribeConfigsResource::default()
                .with_resource_type(resource_type)
                .with_resource_name(StrBytes::from_string(resource_name.clone()))
                .with_configuration_keys(None),
        ]);
        let topic = match resource {
            ConfigResource::Topic(t) => Some(t.as_str()),
            ConfigResource::Broker(_) => None,
        };
        client
            .with_retries(topic, || async {
                let conn = match resource {
                    ConfigResource::Broker(id) => client.broker_connection(*id).await?,
                    ConfigResource::Topic(_) => client.any_connection().await?,
                };
                let response = conn.send(&request).await?;
                let result = response
                    .results
                    .iter()
                    .find(|r| {
                        r.resource_type == resource_type
                            && r.resource_name.as_str() == resource_name
                    })
                    .ok_or_else(|| {
                        Error::new(ErrorKind::UnexpectedResponse(
                            "the DescribeConfigs answer does not mention the resource".to_owned(),
                        ))
                    })?;
                if let Some(e) = Error::from_code_with_message(
                    result.error_code,
                    error_message(&result.error_message),
                ) {
                    let e = e.with_api(ApiKey::DescribeConfigs);
                    return Err(match topic {
                        Some(t) => e.with_topic(t),
                        None => e,
                    });
                }
                Ok(result
                    .configs
                    .iter()
                    .map(|c| ConfigEntry {
                        name: c.name.to_string(),
                        value: c.value.as_ref().map(|v| v.to_string()),
                        read_only: c.read_only,
                        sensitive: c.is_sensitive,
                        source: ConfigSource::from_wire(c.config_source),
                    })
                    .collect())
            })
            .await
    }
}
