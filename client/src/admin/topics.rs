//! Topics and the cluster: create, delete, list, describe, add partitions.

use std::sync::Arc;

use ferrokafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use ferrokafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use ferrokafka_protocol::messages::delete_topics_request::DeleteTopicState;
use ferrokafka_protocol::messages::{
    ApiKey, CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, TopicName,
};
use ferrokafka_protocol::StrBytes;

use super::{error_message, request_timeout_ms, Admin, ItemResult};
use crate::error::{Error, ErrorKind, Result};
use crate::metadata::{BrokerInfo, TopicInfo};

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// The name.
    pub name: String,
    /// Partition count; -1 for the broker's `num.partitions`.
    pub partitions: i32,
    /// Replication factor; -1 for the broker's `default.replication.factor`.
    pub replication_factor: i16,
    /// Topic configs (`retention.ms`, `cleanup.policy`, …).
    pub configs: Vec<(String, String)>,
}

impl NewTopic {
    /// A topic with `partitions` partitions, each on `replication_factor` brokers.
    pub fn new(name: impl Into<String>, partitions: i32, replication_factor: i16) -> Self {
        NewTopic {
            name: name.into(),
            partitions,
            replication_factor,
            configs: Vec::new(),
        }
    }

    /// Adds a topic config.
    pub fn with_config(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.configs.push((key.into(), value.into()));
        self
    }
}

/// A topic as [`Admin::list_topics`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicListing {
    /// The name.
    pub name: String,
    /// Whether it is internal (`__consumer_offsets`, …).
    pub internal: bool,
    /// The partition count.
    pub partitions: usize,
}

/// The cluster as [`Admin::describe_cluster`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterDescription {
    /// The cluster id, if the cluster reports one.
    pub cluster_id: Option<String>,
    /// The controller's broker id, if known.
    pub controller: Option<i32>,
    /// Every broker.
    pub brokers: Vec<BrokerInfo>,
}

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

/// Checks `name` against Kafka's rules for topic names (the broker would
/// refuse it with INVALID_TOPIC_EXCEPTION), so a bad name fails locally,
/// saying what is allowed.
pub(crate) fn check_name(name: &str) -> crate::error::Result<()> {
    let valid = !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(crate::error::Error::new(crate::error::ErrorKind::InvalidArgument(format!(
            "{name:?} is not a valid topic name: use 1 to 249 of the characters a-z A-Z 0-9 . _ -, and not \".\" or \"..\""
        )))
        .with_topic(name))
    }
}

impl Admin {
    /// Creates topics; one outcome per topic, in the order given.
    /// `TOPIC_ALREADY_EXISTS` is reported as an error for that topic.
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
    ) -> Result<Vec<(String, ItemResult<()>)>> {
        let mut outcomes: Vec<(String, Option<ItemResult<()>>)> =
            topics.iter().map(|t| (t.name.clone(), None)).collect();
        for (i, t) in topics.iter().enumerate() {
            if let Err(e) = check_name(&t.name) {
                outcomes[i].1 = Some(Err(e));
            }
        }
        let client = &self.client;
        client
            .with_retries(None, || async {
                let todo: Vec<&NewTopic> = topics
                    .iter()
                    .zip(&outcomes)
                    .filter(|(_, (_, done))| done.is_none())
                    .map(|(t, _)| t)
                    .collect();
                if todo.is_empty() {
                    return Ok(Vec::new());
                }
                let request = CreateTopicsRequest::default()
                    .with_timeout_ms(request_timeout_ms(client))
                    .with_topics(
                        todo.iter()
                            .map(|t| {
                                CreatableTopic::default()
                                    .with_name(topic_name(&t.name))
                                    .with_num_partitions(t.partitions)
                                    .with_replication_factor(t.replication_factor)
                                    .with_configs(
                                        t.configs
                                            .iter()
                                            .map(|(k, v)| {
                                                CreatableTopicConfig::default()
                                                    .with_name(StrBytes::from_string(k.clone()))
                                                    .with_value(Some(StrBytes::from_string(
                                                        v.clone(),
                                                    )))
                                            })
                                            .collect(),
                                    )
                            })
                            .collect(),
                    );
                let conn = client.controller_connection().await?;
                let response = conn.send(&request).await?;
                let mut results = Vec::new();
                for r in &response.topics {
                    let error = Error::from_code_with_message(
                        r.error_code,
                        error_message(&r.error_message),
                    )
                    .map(|e| e.with_topic(&r.name.0).with_api(ApiKey::CreateTopics));
                    match error {
                        Some(e) if e.is_retriable() => return Err(e),
                        other => results.push((r.name.0.to_string(), other)),
                    }
                }
                Ok(results)
            })
            .await
            .map(|results| {
                for (name, error) in results {
                    if let Some(slot) = outcomes.iter_mut().find(|(n, r)| *n == name && r.is_none())
                    {
                        slot.1 = Some(error.map_or(Ok(()), Err));
                    }
                }
            })?;
        for (name, _) in &outcomes {
            self.client.forget_topic(name);
        }
        Ok(outcomes
            .into_iter()
            .map(|(name, r)| {
                let r = r.unwrap_or_else(|| {
                    Err(Error::new(ErrorKind::UnexpectedResponse(
                        "the CreateTopics answer does not mention this topic".to_owned(),
                    ))
                    .with_topic(&name))
                });
                (name, r)
            })
            .collect())
    }

    /// Creates one topic.
    pub async fn create_topic(&self, topic: NewTopic) -> Result<()> {
        let mut outcomes = self.create_topics(std::slice::from_ref(&topic)).await?;
        outcomes.pop().map_or(Ok(()), |(_, r)| r)
    }

    /// Deletes topics by name; one outcome per topic.
    pub async fn delete_topics(&self, names: &[&str]) -> Result<Vec<(String, ItemResult<()>)>> {
        let client = &self.client;
        let mut results = client
            .with_retries(None, || async {
                let conn = client.controller_connection().await?;
                let version = conn.version(ApiKey::DeleteTopics)?;
                let mut request =
                    DeleteTopicsRequest::default().with_timeout_ms(request_timeout_ms(client));
                if version >= 6 {
                    request.topics = names
                        .iter()
                        .map(|n| DeleteTopicState::default().with_name(Some(topic_name(n))))
                        .collect();
                } else {
                    request.topic_names = names.iter().map(|n| topic_name(n)).collect();
                }
                let response = conn
                    .send_at(&request, version, client.config().request_timeout())
                    .await?;
                let mut results = Vec::new();
                for r in &response.responses {
                    let name = r.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
                    let error = Error::from_code_with_message(
                        r.error_code,
                        error_message(&r.error_message),
                    )
                    .map(|e| e.with_topic(&name).with_api(ApiKey::DeleteTopics));
                    match error {
                        Some(e) if e.is_retriable() && !is_unknown_topic(&e) => return Err(e),
                        other => results.push((name, other)),
                    }
                }
                Ok(results)
            })
            .await?;
        let mut outcomes = Vec::new();
        for name in names {
            client.forget_topic(name);
            let result = match results.iter().position(|(n, _)| n == name) {
                Some(i) => results.swap_remove(i).1.map_or(Ok(()), Err),
                None => Err(Error::new(ErrorKind::UnexpectedResponse(
                    "the DeleteTopics answer does not mention this topic".to_owned(),
                ))
                .with_topic(name)),
            };
            outcomes.push(((*name).to_owned(), result));
        }
        Ok(outcomes)
    }

    /// Deletes one topic.
    pub async fn delete_topic(&self, name: &str) -> Result<()> {
        let mut outcomes = self.delete_topics(&[name]).await?;
        outcomes.pop().map_or(Ok(()), |(_, r)| r)
    }

    /// Every topic in the cluster, sorted by name.
    pub async fn list_topics(&self) -> Result<Vec<TopicListing>> {
        let client = &self.client;
        let response = client
            .with_retries(None, || client.refresh_metadata_with(None, false))
            .await?;
        let mut topics: Vec<TopicListing> = response
            .topics
            .iter()
            .filter(|t| t.error_code == 0)
            .filter_map(|t| {
                Some(TopicListing {
                    name: t.name.as_ref()?.0.to_string(),
                    internal: t.is_internal,
                    partitions: t.partitions.len(),
                })
            })
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(topics)
    }

    /// A topic's partitions, leaders and replicas, freshly fetched.
    pub async fn describe_topic(&self, name: &str) -> Result<TopicInfo> {
        let client = &self.client;
        let topics = [Arc::<str>::from(name)];
        let response = client
            .with_retries(None, || client.refresh_metadata_with(Some(&topics), false))
            .await?;
        let topic = response
            .topics
            .iter()
            .find(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == name))
            .ok_or_else(|| Error::new(ErrorKind::UnknownTopicOrPartition).with_topic(name))?;
        if let Some(e) = Error::from_code(topic.error_code) {
            return Err(e.with_topic(name).with_api(ApiKey::Metadata));
        }
        client
            .cached_metadata()
            .topic_info(name)
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::UnknownTopicOrPartition).with_topic(name))
    }

    /// The cluster id, the controller and every broker.
    pub async fn describe_cluster(&self) -> Result<ClusterDescription> {
        let client = &self.client;
        client
            .with_retries(None, || client.refresh_metadata_with(Some(&[]), false))
            .await?;
        let metadata = client.cached_metadata();
        Ok(ClusterDescription {
            cluster_id: metadata.cluster_id().map(str::to_owned),
            controller: metadata.controller(),
            brokers: metadata.brokers().values().cloned().collect(),
        })
    }

    /// Raises a topic's partition count to `total`.
    pub async fn create_partitions(&self, topic: &str, total: i32) -> Result<()> {
        let client = &self.client;
        let request = CreatePartitionsRequest::default()
            .with_timeout_ms(request_timeout_ms(client))
            .with_topics(vec![CreatePartitionsTopic::default()
                .with_name(topic_name(topic))
                .with_count(total)
                // Null lets the controller place the new partitions; the
                // default (an empty list) asks for zero explicit
                // assignments, which Kafka refuses as INVALID_REPLICA_ASSIGNMENT.
                .with_assignments(None)]);
        client
            .with_retries(Some(topic), || async {
                let conn = client.controller_connection().await?;
                let response = conn.send(&request).await.map_err(|e| e.with_topic(topic))?;
                let result = response
                    .results
                    .iter()
                    .find(|r| r.name.0.as_str() == topic)
                    .ok_or_else(|| {
                        Error::new(ErrorKind::UnexpectedResponse(
                            "the CreatePartitions answer does not mention the topic".to_owned(),
                        ))
                        .with_topic(topic)
                    })?;
                match Error::from_code_with_message(
                    result.error_code,
                    error_message(&result.error_message),
                ) {
                    None => Ok(Ok(())),
                    // The controller's answer is final for an unknown topic
                    // (retrying it would only wait out default.api.timeout.ms).
                    Some(e) if is_unknown_topic(&e) => Ok(Err(e
                        .with_topic(topic)
                        .with_api(ApiKey::CreatePartitions)
                        .with_hint("create the topic first (Admin::create_topic)"))),
                    Some(e) => Err(e.with_topic(topic).with_api(ApiKey::CreatePartitions)),
                }
            })
            .await??;
        client.invalidate_metadata(topic);
        Ok(())
    }
}

fn is_unknown_topic(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::UnknownTopicOrPartition)
}
