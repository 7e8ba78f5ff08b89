//! CreateTopics (key 19), versions 2–7.
//!
//! Behaviour, as a Kafka broker:
//! - Legal names only (INVALID_TOPIC_EXCEPTION), no duplicates
//!   (TOPIC_ALREADY_EXISTS), at least one partition (INVALID_PARTITIONS),
//!   a replication factor the brokers can hold (INVALID_REPLICATION_FACTOR);
//!   -1 means the defaults (the cluster's partition count, one replica).
//! - Manual replica assignments are honoured (the first replica leads);
//!   naming an unknown broker is INVALID_REPLICA_ASSIGNMENT.
//! - Configs must be ones the fake knows, with valid values (INVALID_CONFIG;
//!   see DescribeConfigs for the list).
//! - `validate_only` checks without creating. From v5 the answer carries
//!   the partition count, replication factor and configs; v7 the topic id.
//! - The same name twice in one request: INVALID_REQUEST for both.
//!
//! Skipped: `timeout_ms` (creation is immediate), config sources other than
//! topic/default.

use std::collections::BTreeMap;

use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult,
};
use kafka_protocol::messages::{ApiKey, CreateTopicsRequest, CreateTopicsResponse, ResponseKind};

use super::{str_bytes, ApiSpec, Ctx, Handled};
use crate::state::{code, TOPIC_DEFAULTS};

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::CreateTopics,
    min: 2,
    max: 7,
};

/// DescribeConfigs / CreateTopics config source ids.
pub(crate) const SOURCE_TOPIC: i8 = 1;
pub(crate) const SOURCE_DEFAULT: i8 = 5;

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &CreateTopicsRequest) -> Handled {
    let version = ctx.version;
    let mut results = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let name = topic.name.0.to_string();
        let mut result = CreatableTopicResult::default().with_name(topic.name.clone());
        if version >= 5 {
            result.num_partitions = -1;
            result.replication_factor = -1;
        }
        let duplicated = request
            .topics
            .iter()
            .filter(|t| t.name == topic.name)
            .count()
            > 1;
        let outcome = if let Some(error) = ctx.forced_code() {
            Err((error, None))
        } else if duplicated {
            Err((
                code::INVALID_REQUEST,
                Some(format!(
                    "topic {name} appears more than once in the request"
                )),
            ))
        } else {
            let configs: BTreeMap<String, String> = topic
                .configs
                .iter()
                .map(|c| {
                    (
                        c.name.to_string(),
                        c.value.as_ref().map(|v| v.to_string()).unwrap_or_default(),
                    )
                })
                .collect();
            let assignments: Vec<Vec<i32>> = topic
                .assignments
                .iter()
                .map(|a| a.broker_ids.iter().map(|b| b.0).collect())
                .collect();
            ctx.state
                .create_topic(
                    &name,
                    topic.num_partitions,
                    topic.replication_factor,
                    &assignments,
                    configs,
                    request.validate_only,
                )
                .map_err(|e| (e.code, Some(e.message)))
        };
        match outcome {
            Err((error, message)) => {
                result.error_code = error;
                result.error_message = message.map(str_bytes);
            }
            Ok(()) if version >= 5 => {
                if let Some(created) = ctx.state.topics.get(&name) {
                    result.num_partitions = created.partitions.len() as i32;
                    result.replication_factor = created.partitions[0].replicas.len() as i16;
                    if version >= 7 {
                        result.topic_id = created.id;
                    }
                    result.configs = Some(
                        TOPIC_DEFAULTS
                            .iter()
                            .map(|(key, _)| {
                                let source = if created.configs.contains_key(*key) {
                                    SOURCE_TOPIC
                                } else {
                                    SOURCE_DEFAULT
                                };
                                CreatableTopicConfigs::default()
                                    .with_name(str_bytes(*key))
                                    .with_value(created.config(key).map(str_bytes))
                                    .with_config_source(source)
                            })
                            .collect(),
                    );
                } else {
                    // validate_only: report what would have been created.
                    result.num_partitions = if topic.num_partitions == -1 {
                        ctx.state.settings.default_partitions
                    } else {
                        topic.num_partitions
                    };
                    result.replication_factor = topic.replication_factor.max(1);
                }
            }
            Ok(()) => {}
        }
        results.push(result);
    }
    Handled::Respond(ResponseKind::CreateTopics(
        CreateTopicsResponse::default().with_topics(results),
    ))
}
