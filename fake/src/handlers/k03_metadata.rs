//! Metadata (key 3), versions 1–12.
//!
//! Behaviour, as a Kafka broker:
//! - Lists every broker of the cluster (stopped ones too: a stopped broker
//!   keeps its partitions, as librdkafka's mock does, so clients see
//!   connection failures rather than a leader change) and broker 0 as the
//!   controller.
//! - `topics` null lists all topics, an empty list none; named topics that do not exist are created when
//!   `allow_auto_topic_creation` (v4+; always for v1–3) and the cluster's
//!   auto-creation are on, else answered UNKNOWN_TOPIC_OR_PARTITION.
//!   Illegal names get INVALID_TOPIC_EXCEPTION.
//! - Each partition lists its leader, leader epoch (v7+), replicas and ISR
//!   (all replicas are in sync). Topic ids from v10.
//! - A forced error (fault injection) goes on every topic of the answer.
//!
//! Skipped: lookup by topic id, authorized operations, racks.

use kafka_protocol::messages::metadata_response::{
    MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::messages::{
    ApiKey, BrokerId, MetadataRequest, MetadataResponse, ResponseKind, TopicName,
};

use super::{str_bytes, ApiSpec, Ctx, Handled};
use crate::state::{code, valid_topic_name, Topic};

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::Metadata,
    min: 1,
    max: 12,
};

pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &MetadataRequest) -> Handled {
    let version = ctx.version;
    let forced = ctx.forced_code();
    let names: Vec<String> = match &request.topics {
        None => ctx.state.topics.keys().cloned().collect(),
        Some(topics) => topics
            .iter()
            .filter_map(|t| t.name.as_ref().map(|n| n.0.to_string()))
            .collect(),
    };
    let allow_create = version < 4 || request.allow_auto_topic_creation;
    let mut topics = Vec::with_capacity(names.len());
    for name in names {
        let topic_name = TopicName(str_bytes(name.clone()));
        if let Some(error) = forced {
            topics.push(
                MetadataResponseTopic::default()
                    .with_name(Some(topic_name))
                    .with_error_code(error),
            );
            continue;
        }
        if !valid_topic_name(&name) {
            topics.push(
                MetadataResponseTopic::default()
                    .with_name(Some(topic_name))
                    .with_error_code(code::INVALID_TOPIC_EXCEPTION),
            );
            continue;
        }
        if !ctx.state.topics.contains_key(&name) && allow_create {
            ctx.state.auto_create(&name);
        }
        let answer = match ctx.state.topics.get(&name) {
            Some(topic) => describe(topic, topic_name, version),
            None => MetadataResponseTopic::default()
                .with_name(Some(topic_name))
                .with_error_code(code::UNKNOWN_TOPIC_OR_PARTITION),
        };
        topics.push(answer);
    }
    let brokers = ctx
        .state
        .brokers
        .iter()
        .map(|b| {
            MetadataResponseBroker::default()
                .with_node_id(BrokerId(b.id))
                .with_host(str_bytes(b.host.clone()))
                .with_port(i32::from(b.port))
        })
        .collect();
    let mut response = MetadataResponse::default()
        .with_brokers(brokers)
        .with_controller_id(BrokerId(ctx.state.brokers[0].id))
        .with_topics(topics);
    if version >= 2 {
        response.cluster_id = Some(str_bytes(ctx.state.settings.cluster_id.clone()));
    }
    Handled::Respond(ResponseKind::Metadata(response))
}

fn describe(topic: &Topic, name: TopicName, version: i16) -> MetadataResponseTopic {
    let partitions = topic
        .partitions
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let replicas: Vec<BrokerId> = p.replicas.iter().map(|id| BrokerId(*id)).collect();
            let mut answer = MetadataResponsePartition::default()
                .with_partition_index(index as i32)
                .with_leader_id(BrokerId(p.leader))
                .with_replica_nodes(replicas.clone())
                .with_isr_nodes(replicas);
            if version >= 7 {
                answer.leader_epoch = p.leader_epoch;
            }
            answer
        })
        .collect();
    let mut answer = MetadataResponseTopic::default()
        .with_name(Some(name))
        .with_partitions(partitions);
    if version >= 10 {
        answer.topic_id = topic.id;
    }
    answer
}
