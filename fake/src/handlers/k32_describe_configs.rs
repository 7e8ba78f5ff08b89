//! DescribeConfigs (key 32), versions 1–4.
//!
//! Behaviour, as a Kafka broker:
//! - Topic resources (type 2): every topic config the fake knows, with its
//!   effective value; source TOPIC_CONFIG (1) when set at creation, else
//!   DEFAULT_CONFIG (5). Unknown topics: UNKNOWN_TOPIC_OR_PARTITION.
//! - Broker resources (type 4, name = broker id): a few broker settings
//!   (`broker.id`, `auto.create.topics.enable`, `num.partitions`,
//!   `default.replication.factor`, `log.message.timestamp.type`,
//!   `message.max.bytes`). An unknown broker id: INVALID_REQUEST.
//! - `configuration_keys` narrows the list; other resource types get
//!   INVALID_REQUEST.
//!
//! Skipped: synonyms and documentation (always empty), config types.

use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResult,
};
use kafka_protocol::messages::{
    ApiKey, DescribeConfigsRequest, DescribeConfigsResponse, ResponseKind,
};

use super::k19_create_topics::{SOURCE_DEFAULT, SOURCE_TOPIC};
use super::{str_bytes, ApiSpec, Ctx, Handled};
use crate::state::{code, TOPIC_DEFAULTS};

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::DescribeConfigs,
    min: 1,
    max: 4,
};

const TOPIC: i8 = 2;
const BROKER: i8 = 4;
const SOURCE_STATIC_BROKER: i8 = 4;

/// Config entries as (name, value, source), or an error code and message.
type Entries = Result<Vec<(String, String, i8)>, (i16, String)>;

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &DescribeConfigsRequest) -> Handled {
    let mut results = Vec::with_capacity(request.resources.len());
    for resource in &request.resources {
        let name = resource.resource_name.to_string();
        let mut result = DescribeConfigsResult::default()
            .with_resource_type(resource.resource_type)
            .with_resource_name(resource.resource_name.clone());
        let entries: Entries = if let Some(error) = ctx.forced_code() {
            Err((error, String::new()))
        } else {
            match resource.resource_type {
                TOPIC => match ctx.state.topics.get(&name) {
                    Some(topic) => Ok(TOPIC_DEFAULTS
                        .iter()
                        .map(|(key, default)| match topic.configs.get(*key) {
                            Some(value) => (key.to_string(), value.clone(), SOURCE_TOPIC),
                            None => (key.to_string(), default.to_string(), SOURCE_DEFAULT),
                        })
                        .collect()),
                    None => Err((
                        code::UNKNOWN_TOPIC_OR_PARTITION,
                        format!("topic {name} does not exist"),
                    )),
                },
                BROKER => match name.parse::<i32>().ok().and_then(|id| ctx.state.broker(id)) {
                    Some(broker) => {
                        let settings = &ctx.state.settings;
                        Ok([
                            ("broker.id", broker.id.to_string()),
                            (
                                "auto.create.topics.enable",
                                settings.auto_create_topics.to_string(),
                            ),
                            ("num.partitions", settings.default_partitions.to_string()),
                            ("default.replication.factor", "1".to_owned()),
                            ("log.message.timestamp.type", "CreateTime".to_owned()),
                            ("message.max.bytes", "1048588".to_owned()),
                        ]
                        .into_iter()
                        .map(|(k, v)| (k.to_owned(), v, SOURCE_STATIC_BROKER))
                        .collect())
                    }
                    None => Err((
                        code::INVALID_REQUEST,
                        format!("there is no broker {name:?} in the fake cluster"),
                    )),
                },
                other => Err((
                    code::INVALID_REQUEST,
                    format!(
                        "the fake cluster describes topics (2) and brokers (4), not resource type {other}"
                    ),
                )),
            }
        };
        match entries {
            Ok(entries) => {
                result.configs = entries
                    .into_iter()
                    .filter(|(key, _, _)| {
                        resource
                            .configuration_keys
                            .as_ref()
                            .is_none_or(|keys| keys.iter().any(|k| k.as_str() == key))
                    })
                    .map(|(key, value, source)| {
                        DescribeConfigsResourceResult::default()
                            .with_name(str_bytes(key))
                            .with_value(Some(str_bytes(value)))
                            .with_config_source(source)
                    })
                    .collect();
            }
            Err((error, message)) => {
                result.error_code = error;
                if !message.is_empty() {
                    result.error_message = Some(str_bytes(message));
                }
            }
        }
        results.push(result);
    }
    Handled::Respond(ResponseKind::DescribeConfigs(
        DescribeConfigsResponse::default().with_results(results),
    ))
}
