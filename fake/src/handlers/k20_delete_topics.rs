//! DeleteTopics (key 20), versions 1–6.
//!
//! Behaviour, as a Kafka broker:
//! - Deletes by name (v1–5 `topic_names`, v6 `topics[].name`) or by topic
//!   id (v6). Unknown names get UNKNOWN_TOPIC_OR_PARTITION, unknown ids
//!   UNKNOWN_TOPIC_ID. Deletion is immediate: the log, its producer states
//!   and its open transactions go with it.
//!
//! Skipped: `timeout_ms`, deletion of internal topics (there are none).

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    ApiKey, DeleteTopicsRequest, DeleteTopicsResponse, ResponseKind, TopicName,
};
use uuid::Uuid;

use super::{str_bytes, ApiSpec, Ctx, Handled};
use crate::state::code;

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::DeleteTopics,
    min: 1,
    max: 6,
};

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &DeleteTopicsRequest) -> Handled {
    let version = ctx.version;
    let targets: Vec<(Option<String>, Uuid)> = if version >= 6 {
        request
            .topics
            .iter()
            .map(|t| (t.name.as_ref().map(|n| n.0.to_string()), t.topic_id))
            .collect()
    } else {
        request
            .topic_names
            .iter()
            .map(|n| (Some(n.0.to_string()), Uuid::nil()))
            .collect()
    };
    let mut responses = Vec::with_capacity(targets.len());
    for (name, id) in targets {
        let resolved = match &name {
            Some(name) => ctx.state.topics.contains_key(name).then(|| name.clone()),
            None => ctx
                .state
                .topics
                .iter()
                .find(|(_, t)| t.id == id)
                .map(|(n, _)| n.clone()),
        };
        let mut result = DeletableTopicResult::default()
            .with_name(name.clone().map(|n| TopicName(str_bytes(n))));
        if version >= 6 {
            result.topic_id = id;
        }
        if let Some(error) = ctx.forced_code() {
            result.error_code = error;
        } else if let Some(found) = resolved {
            if let Some(topic) = ctx.state.topics.remove(&found) {
                if version >= 6 {
                    result.topic_id = topic.id;
                    result.name = Some(TopicName(str_bytes(found)));
                }
            }
        } else if name.is_some() {
            result.error_code = code::UNKNOWN_TOPIC_OR_PARTITION;
        } else {
            result.error_code = code::UNKNOWN_TOPIC_ID;
        }
        responses.push(result);
    }
    Handled::Respond(ResponseKind::DeleteTopics(
        DeleteTopicsResponse::default().with_responses(responses),
    ))
}
