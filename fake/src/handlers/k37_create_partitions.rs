//! CreatePartitions (key 37), versions 0–3.
//!
//! Behaviour, as a Kafka broker:
//! - Grows a topic to `count` partitions; the count must be larger than
//!   the current one (INVALID_PARTITIONS); unknown topics get
//!   UNKNOWN_TOPIC_OR_PARTITION. New partitions keep the topic's
//!   replication factor and are placed round-robin.
//! - `validate_only` checks without growing.
//!
//! Skipped: manual `assignments` (INVALID_REPLICA_ASSIGNMENT if given).

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{
    ApiKey, CreatePartitionsRequest, CreatePartitionsResponse, ResponseKind,
};

use super::{str_bytes, ApiSpec, Ctx, Handled};
use crate::state::code;

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::CreatePartitions,
    min: 0,
    max: 3,
};

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &CreatePartitionsRequest) -> Handled {
    let mut results = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let name = topic.name.0.to_string();
        let mut result = CreatePartitionsTopicResult::default().with_name(topic.name.clone());
        let outcome = if let Some(error) = ctx.forced_code() {
            Err((error, None))
        } else if topic.assignments.is_some() {
            Err((
                code::INVALID_REPLICA_ASSIGNMENT,
                Some(
                    "the fake cluster places new partitions itself; leave assignments null"
                        .to_owned(),
                ),
            ))
        } else {
            match ctx.state.topics.get(&name).map(|t| t.partitions.len() as i32) {
                None => Err((
                    code::UNKNOWN_TOPIC_OR_PARTITION,
                    Some(format!("topic {name} does not exist")),
                )),
                Some(current) if topic.count <= current => Err((
                    code::INVALID_PARTITIONS,
                    Some(format!(
                        "topic {name} has {current} partitions; the new count must be larger, not {}",
                        topic.count
                    )),
                )),
                Some(_) if request.validate_only => Ok(()),
                Some(_) => ctx
                    .state
                    .add_partitions(&name, topic.count)
                    .map_err(|e| (e.code, Some(e.message))),
            }
        };
        if let Err((error, message)) = outcome {
            result.error_code = error;
            result.error_message = message.map(str_bytes);
        }
        results.push(result);
    }
    Handled::Respond(ResponseKind::CreatePartitions(
        CreatePartitionsResponse::default().with_results(results),
    ))
}
