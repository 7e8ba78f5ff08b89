//! The metadata cache: brokers, topics, partitions and their leaders.
//!
//! Sans-IO: `Metadata::apply` takes a decoded Metadata response and the
//! current time; lookups say whether an entry is missing or stale, and the
//! client decides when to ask a broker. Leader epochs only move forward: a
//! response from a broker with older metadata than we already have does
//! not undo a newer leader.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use ferrokafka_protocol::messages::MetadataResponse;
use tokio::time::Instant;

use crate::config::BrokerAddress;

/// One broker as the cluster advertises it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrokerInfo {
    /// The broker id.
    pub id: i32,
    /// Where to reach it.
    pub address: BrokerAddress,
    /// Its rack, if configured.
    pub rack: Option<String>,
}

/// One partition as of the last metadata refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionInfo {
    /// The partition index.
    pub partition: i32,
    /// The leader's broker id, or -1 when there is none.
    pub leader: i32,
    /// The leader epoch, or -1 when the broker does not say.
    pub leader_epoch: i32,
    /// Replica broker ids.
    pub replicas: Vec<i32>,
    /// In-sync replica broker ids.
    pub isr: Vec<i32>,
    /// The partition's error code in the response (0 = none).
    pub error_code: i16,
}

/// One topic as of the last metadata refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TopicInfo {
    /// The topic name.
    pub name: Arc<str>,
    /// Whether it is an internal topic (`__consumer_offsets`, …).
    pub internal: bool,
    /// The topic's error code in the response (0 = none).
    pub error_code: i16,
    /// Its partitions, by index.
    pub partitions: BTreeMap<i32, PartitionInfo>,
}

#[derive(Debug, Clone)]
struct TopicEntry {
    info: TopicInfo,
    fetched_at: Instant,
    stale: bool,
}

/// The cached view of the cluster.
#[derive(Debug, Clone, Default)]
pub struct Metadata {
    cluster_id: Option<String>,
    controller: Option<i32>,
    brokers: BTreeMap<i32, BrokerInfo>,
    topics: HashMap<Arc<str>, TopicEntry>,
    brokers_fetched_at: Option<Instant>,
}

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Lookup<T> {
    /// Present and fresh.
    Fresh(T),
    /// Present but old or marked stale: refresh, and fall back to it.
    Stale(T),
    /// Not in the cache.
    Missing,
}

impl Metadata {
    /// Merges a Metadata response. Topics with a retriable error (leader
    /// election in progress) are kept but marked stale, so the next use
    /// refreshes them.
    pub(crate) fn apply(&mut self, response: &MetadataResponse, now: Instant) {
        let mut brokers = BTreeMap::new();
        for b in &response.brokers {
            let Ok(port) = u16::try_from(b.port) else {
                tracing::warn!(
                    id = b.node_id.0,
                    port = b.port,
                    "ignoring a broker with an invalid port"
                );
                continue;
            };
            if port == 0 || b.host.is_empty() {
                continue;
            }
            brokers.insert(
                b.node_id.0,
                BrokerInfo {
                    id: b.node_id.0,
                    address: BrokerAddress {
                        host: b.host.to_string(),
                        port,
                    },
                    rack: b.rack.as_ref().map(|r| r.to_string()),
                },
            );
        }
        if !brokers.is_empty() {
            self.brokers = brokers;
            self.brokers_fetched_at = Some(now);
        }
        if let Some(id) = &response.cluster_id {
            self.cluster_id = Some(id.to_string());
        }
        self.controller = (response.controller_id.0 >= 0).then_some(response.controller_id.0);
        for t in &response.topics {
            let Some(name) = &t.name else { continue };
            let name: Arc<str> = Arc::from(name.0.as_str());
            if t.error_code == 3 {
                // UNKNOWN_TOPIC_OR_PARTITION: the topic is gone (or never was).
                self.topics.remove(&name);
                continue;
            }
            let mut partitions = BTreeMap::new();
            let previous = self.topics.get(&name);
            for p in &t.partitions {
                let mut info = PartitionInfo {
                    partition: p.partition_index,
                    leader: p.leader_id.0,
                    leader_epoch: p.leader_epoch,
                    replicas: p.replica_nodes.iter().map(|b| b.0).collect(),
                    isr: p.isr_nodes.iter().map(|b| b.0).collect(),
                    error_code: p.error_code,
                };
                if let Some(old) = previous.and_then(|e| e.info.partitions.get(&p.partition_index))
                {
                    // A lagging broker's view must not undo a newer leader.
                    if old.leader_epoch >= 0
                        && info.leader_epoch >= 0
                        && info.leader_epoch < old.leader_epoch
                    {
                        info = old.clone();
                    }
                }
                partitions.insert(p.partition_index, info);
            }
            let retriable_error = t.error_code != 0
                || partitions
                    .values()
                    .any(|p| p.leader < 0 || p.error_code != 0);
            self.topics.insert(
                Arc::clone(&name),
                TopicEntry {
                    info: TopicInfo {
                        name,
                        internal: t.is_internal,
                        error_code: t.error_code,
                        partitions,
                    },
                    fetched_at: now,
                    stale: retriable_error,
                },
            );
        }
    }

    /// Marks a topic stale, so the next lookup asks for a refresh.
    pub fn invalidate(&mut self, topic: &str) {
        if let Some(entry) = self.topics.get_mut(topic) {
            entry.stale = true;
        }
    }

    /// Forgets a topic (after deleting it).
    pub fn remove(&mut self, topic: &str) {
        self.topics.remove(topic);
    }

    pub(crate) fn topic(&self, topic: &str, now: Instant, max_age: Duration) -> Lookup<&TopicInfo> {
        match self.topics.get(topic) {
            None => Lookup::Missing,
            Some(e) if e.stale || now.saturating_duration_since(e.fetched_at) >= max_age => {
                Lookup::Stale(&e.info)
            }
            Some(e) => Lookup::Fresh(&e.info),
        }
    }

    /// Whether the broker list is older than `max_age` (or was never fetched).
    pub(crate) fn brokers_stale(&self, now: Instant, max_age: Duration) -> bool {
        self.brokers_fetched_at
            .is_none_or(|t| now.saturating_duration_since(t) >= max_age)
    }

    /// The names of every cached topic.
    pub fn topic_names(&self) -> Vec<Arc<str>> {
        self.topics.keys().cloned().collect()
    }

    /// A cached topic, fresh or not.
    pub fn topic_info(&self, topic: &str) -> Option<&TopicInfo> {
        self.topics.get(topic).map(|e| &e.info)
    }

    /// The brokers, by id.
    pub fn brokers(&self) -> &BTreeMap<i32, BrokerInfo> {
        &self.brokers
    }

    /// One broker.
    pub fn broker(&self, id: i32) -> Option<&BrokerInfo> {
        self.brokers.get(&id)
    }

    /// The controller's id, if the cluster said.
    pub fn controller(&self) -> Option<i32> {
        self.controller
    }

    /// The cluster id, if the cluster said.
    pub fn cluster_id(&self) -> Option<&str> {
        self.cluster_id.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrokafka_protocol::messages::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };
    use ferrokafka_protocol::messages::{BrokerId, TopicName};
    use ferrokafka_protocol::StrBytes;

    fn response(leader: i32, epoch: i32) -> MetadataResponse {
        MetadataResponse::default()
            .with_brokers(vec![
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(1))
                    .with_host(StrBytes::from_static_str("h1"))
                    .with_port(9092),
                MetadataResponseBroker::default()
                    .with_node_id(BrokerId(2))
                    .with_host(StrBytes::from_static_str("h2"))
                    .with_port(70000), // hostile: ignored
            ])
            .with_controller_id(BrokerId(1))
            .with_topics(vec![MetadataResponseTopic::default()
                .with_name(Some(TopicName(StrBytes::from_static_str("t"))))
                .with_partitions(vec![MetadataResponsePartition::default()
                    .with_partition_index(0)
                    .with_leader_id(BrokerId(leader))
                    .with_leader_epoch(epoch)])])
    }

    #[test]
    fn applies_and_ages() {
        let mut m = Metadata::default();
        let t0 = Instant::now();
        m.apply(&response(1, 5), t0);
        assert_eq!(
            m.brokers().len(),
            1,
            "the broker with port 70000 is dropped"
        );
        assert_eq!(m.controller(), Some(1));
        let age = Duration::from_secs(10);
        let Lookup::Fresh(t) = m.topic("t", t0, age) else {
            panic!()
        };
        assert_eq!(t.partitions[&0].leader, 1);
        assert!(matches!(m.topic("t", t0 + age, age), Lookup::Stale(_)));
        assert_eq!(m.topic("u", t0, age), Lookup::Missing);
        m.invalidate("t");
        assert!(matches!(m.topic("t", t0, age), Lookup::Stale(_)));
    }

    #[test]
    fn older_leader_epochs_do_not_win() {
        let mut m = Metadata::default();
        let t0 = Instant::now();
        m.apply(&response(2, 7), t0);
        m.apply(&response(1, 6), t0);
        assert_eq!(m.topic_info("t").unwrap().partitions[&0].leader, 2);
        m.apply(&response(1, 8), t0);
        assert_eq!(m.topic_info("t").unwrap().partitions[&0].leader, 1);
    }

    #[test]
    fn leaderless_partitions_mark_the_topic_stale() {
        let mut m = Metadata::default();
        let t0 = Instant::now();
        m.apply(&response(-1, 0), t0);
        assert!(matches!(
            m.topic("t", t0, Duration::from_secs(60)),
            Lookup::Stale(_)
        ));
    }

    #[test]
    fn unknown_topic_is_forgotten() {
        let mut m = Metadata::default();
        let t0 = Instant::now();
        m.apply(&response(1, 0), t0);
        let gone = MetadataResponse::default().with_topics(vec![MetadataResponseTopic::default()
            .with_name(Some(TopicName(StrBytes::from_static_str("t"))))
            .with_error_code(3)]);
        m.apply(&gone, t0);
        assert!(m.topic_info("t").is_none());
        assert_eq!(
            m.brokers().len(),
            1,
            "an empty broker list keeps the old one"
        );
    }
}
