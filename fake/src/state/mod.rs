//! The cluster's state: brokers, topics with their partition logs and
//! producer states, producer ids, groups. Handlers get it by `&mut` under
//! one lock, so requests are applied one at a time, in arrival order.

pub(crate) mod groups;
pub(crate) mod log;
pub(crate) mod producers;

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::messages::ApiKey;
use uuid::Uuid;

use self::log::PartitionLog;
use self::producers::ProducerStates;

/// Kafka error codes used across handlers.
pub(crate) mod code {
    pub(crate) const NONE: i16 = 0;
    pub(crate) const OFFSET_OUT_OF_RANGE: i16 = 1;
    pub(crate) const CORRUPT_MESSAGE: i16 = 2;
    pub(crate) const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
    pub(crate) const NOT_LEADER_OR_FOLLOWER: i16 = 6;
    pub(crate) const MESSAGE_TOO_LARGE: i16 = 10;
    pub(crate) const COORDINATOR_NOT_AVAILABLE: i16 = 15;
    pub(crate) const NOT_COORDINATOR: i16 = 16;
    pub(crate) const INVALID_TOPIC_EXCEPTION: i16 = 17;
    pub(crate) const INVALID_REQUIRED_ACKS: i16 = 21;
    pub(crate) const ILLEGAL_GENERATION: i16 = 22;
    pub(crate) const INCONSISTENT_GROUP_PROTOCOL: i16 = 23;
    pub(crate) const INVALID_GROUP_ID: i16 = 24;
    pub(crate) const UNKNOWN_MEMBER_ID: i16 = 25;
    pub(crate) const INVALID_SESSION_TIMEOUT: i16 = 26;
    pub(crate) const REBALANCE_IN_PROGRESS: i16 = 27;
    pub(crate) const UNSUPPORTED_SASL_MECHANISM: i16 = 33;
    pub(crate) const ILLEGAL_SASL_STATE: i16 = 34;
    pub(crate) const UNSUPPORTED_VERSION: i16 = 35;
    pub(crate) const TOPIC_ALREADY_EXISTS: i16 = 36;
    pub(crate) const INVALID_PARTITIONS: i16 = 37;
    pub(crate) const INVALID_REPLICATION_FACTOR: i16 = 38;
    pub(crate) const INVALID_REPLICA_ASSIGNMENT: i16 = 39;
    pub(crate) const INVALID_CONFIG: i16 = 40;
    pub(crate) const INVALID_REQUEST: i16 = 42;
    pub(crate) const SASL_AUTHENTICATION_FAILED: i16 = 58;
    pub(crate) const INVALID_RECORD: i16 = 87;
    pub(crate) const MEMBER_ID_REQUIRED: i16 = 79;
    pub(crate) const UNKNOWN_TOPIC_ID: i16 = 100;
}

/// A broker of the fake cluster.
#[derive(Debug, Clone)]
pub(crate) struct BrokerInfo {
    pub(crate) id: i32,
    pub(crate) host: String,
    pub(crate) port: u16,
}

/// One partition: its leader, replicas, log and producer states.
#[derive(Debug)]
pub(crate) struct Partition {
    pub(crate) leader: i32,
    pub(crate) leader_epoch: i32,
    pub(crate) replicas: Vec<i32>,
    pub(crate) log: PartitionLog,
    pub(crate) producers: ProducerStates,
}

/// One topic.
#[derive(Debug)]
pub(crate) struct Topic {
    pub(crate) id: Uuid,
    pub(crate) partitions: Vec<Partition>,
    /// Configs set explicitly at creation; defaults come from [`TOPIC_DEFAULTS`].
    pub(crate) configs: BTreeMap<String, String>,
}

impl Topic {
    /// The effective value of a topic config.
    pub(crate) fn config(&self, name: &str) -> Option<&str> {
        self.configs.get(name).map(String::as_str).or_else(|| {
            TOPIC_DEFAULTS
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| *value)
        })
    }

    pub(crate) fn uses_log_append_time(&self) -> bool {
        self.config("message.timestamp.type") == Some("LogAppendTime")
    }

    pub(crate) fn max_message_bytes(&self) -> usize {
        self.config("max.message.bytes")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_048_588)
    }
}

/// Topic configs the fake knows, with Kafka's defaults. DescribeConfigs
/// lists these; CreateTopics accepts only these keys.
pub(crate) const TOPIC_DEFAULTS: &[(&str, &str)] = &[
    ("cleanup.policy", "delete"),
    ("compression.type", "producer"),
    ("max.message.bytes", "1048588"),
    ("message.timestamp.type", "CreateTime"),
    ("min.insync.replicas", "1"),
    ("retention.bytes", "-1"),
    ("retention.ms", "604800000"),
    ("segment.bytes", "1073741824"),
];

/// Checks one topic config given at creation.
pub(crate) fn validate_topic_config(name: &str, value: Option<&str>) -> Result<(), String> {
    if !TOPIC_DEFAULTS.iter().any(|(key, _)| *key == name) {
        return Err(format!(
            "unknown topic config {name:?}; the fake cluster knows {}",
            TOPIC_DEFAULTS
                .iter()
                .map(|(k, _)| *k)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let Some(value) = value else {
        return Err(format!("topic config {name} needs a value"));
    };
    let numeric = |v: &str| v.parse::<i64>().map(|_| ()).map_err(|e| e.to_string());
    let ok = match name {
        "message.timestamp.type" => matches!(value, "CreateTime" | "LogAppendTime"),
        "cleanup.policy" => value
            .split(',')
            .all(|p| matches!(p.trim(), "delete" | "compact")),
        "compression.type" => matches!(
            value,
            "producer" | "uncompressed" | "gzip" | "snappy" | "lz4" | "zstd"
        ),
        _ => numeric(value).is_ok(),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("invalid value {value:?} for topic config {name}"))
    }
}

/// Whether `name` is a legal Kafka topic name.
pub(crate) fn valid_topic_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 249
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Cluster-wide settings fixed at start.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) cluster_id: String,
    pub(crate) auto_create_topics: bool,
    pub(crate) default_partitions: i32,
    /// `(api, min, max)` advertised in ApiVersions and accepted.
    pub(crate) api_versions: Vec<(ApiKey, i16, i16)>,
    /// SASL PLAIN users; empty means no authentication required.
    pub(crate) plain_users: HashMap<String, String>,
    /// SASL SCRAM users (each with its hash).
    pub(crate) scram_users: HashMap<String, ferrokafka_auth::sasl::ScramStoredCredential>,
    /// A deliberate SCRAM protocol violation, to test clients.
    pub(crate) scram_fault: Option<crate::config::ScramFault>,
    /// OAUTHBEARER tokens accepted, with the principal each stands for.
    pub(crate) oauth_tokens: HashMap<String, String>,
    /// HS256 key and audience of accepted OAUTHBEARER JWTs.
    pub(crate) oauth_jwt: Option<(Vec<u8>, String)>,
    /// A user-supplied OAUTHBEARER token check.
    pub(crate) oauth_validator: Option<crate::config::OAuthValidator>,
    /// SASL session lifetime granted (KIP-368); connections used past it
    /// are closed.
    pub(crate) sasl_session_lifetime: Option<std::time::Duration>,
}

/// Everything the handlers read and change.
#[derive(Debug)]
pub(crate) struct ClusterState {
    pub(crate) settings: Settings,
    pub(crate) brokers: Vec<BrokerInfo>,
    pub(crate) topics: BTreeMap<String, Topic>,
    pub(crate) next_producer_id: i64,
    /// transactional.id → (producer id, epoch).
    pub(crate) transactional_ids: HashMap<String, (i64, i16)>,
    pub(crate) groups: groups::Groups,
    /// Round-robin cursor for leader placement.
    next_leader: usize,
}

/// Why a topic could not be created.
#[derive(Debug, Clone)]
pub(crate) struct CreateError {
    pub(crate) code: i16,
    pub(crate) message: String,
}

impl ClusterState {
    pub(crate) fn new(settings: Settings, brokers: Vec<BrokerInfo>) -> Self {
        ClusterState {
            settings,
            brokers,
            topics: BTreeMap::new(),
            next_producer_id: 1000,
            transactional_ids: HashMap::new(),
            groups: groups::Groups::default(),
            next_leader: 0,
        }
    }

    pub(crate) fn broker(&self, id: i32) -> Option<&BrokerInfo> {
        self.brokers.iter().find(|b| b.id == id)
    }

    pub(crate) fn version_range(&self, api: ApiKey) -> Option<(i16, i16)> {
        self.settings
            .api_versions
            .iter()
            .find(|(key, _, _)| *key == api)
            .map(|&(_, min, max)| (min, max))
    }

    /// Creates a topic after checking it as CreateTopics does.
    /// `assignments` (partition → replicas) overrides the placement.
    pub(crate) fn create_topic(
        &mut self,
        name: &str,
        partitions: i32,
        replication_factor: i16,
        assignments: &[Vec<i32>],
        configs: BTreeMap<String, String>,
        validate_only: bool,
    ) -> Result<(), CreateError> {
        let err = |code, message: String| Err(CreateError { code, message });
        if !valid_topic_name(name) {
            return err(
                code::INVALID_TOPIC_EXCEPTION,
                format!("{name:?} is not a legal topic name: use 1 to 249 characters from [a-zA-Z0-9._-], not \".\" or \"..\""),
            );
        }
        if self.topics.contains_key(name) {
            return err(
                code::TOPIC_ALREADY_EXISTS,
                format!("topic {name} already exists"),
            );
        }
        for (key, value) in &configs {
            if let Err(message) = validate_topic_config(key, Some(value)) {
                return err(code::INVALID_CONFIG, message);
            }
        }
        let broker_ids: Vec<i32> = self.brokers.iter().map(|b| b.id).collect();
        let replica_sets: Vec<Vec<i32>> = if assignments.is_empty() {
            let partitions = if partitions == -1 {
                self.settings.default_partitions
            } else {
                partitions
            };
            if partitions < 1 {
                return err(
                    code::INVALID_PARTITIONS,
                    format!("a topic needs at least one partition, not {partitions}"),
                );
            }
            let rf = if replication_factor == -1 {
                1
            } else {
                replication_factor
            };
            if rf < 1 || rf as usize > broker_ids.len() {
                return err(
                    code::INVALID_REPLICATION_FACTOR,
                    format!(
                        "replication factor {rf} is impossible with {} brokers",
                        broker_ids.len()
                    ),
                );
            }
            (0..partitions)
                .map(|_| self.place_replicas(rf as usize))
                .collect()
        } else {
            if partitions != -1 || replication_factor != -1 {
                return err(
                    code::INVALID_REQUEST,
                    "give either replica assignments or a partition count and replication factor, not both".to_owned(),
                );
            }
            for replicas in assignments {
                if replicas.is_empty() || replicas.iter().any(|id| !broker_ids.contains(id)) {
                    return err(
                        code::INVALID_REPLICA_ASSIGNMENT,
                        format!("replica assignment {replicas:?} names a broker that does not exist (brokers: {broker_ids:?})"),
                    );
                }
            }
            assignments.to_vec()
        };
        if validate_only {
            return Ok(());
        }
        let topic = Topic {
            id: Uuid::from_u128(fastrand::u128(1..)),
            partitions: replica_sets.into_iter().map(new_partition).collect(),
            configs,
        };
        self.topics.insert(name.to_owned(), topic);
        Ok(())
    }

    /// Adds partitions to a topic until it has `count`.
    pub(crate) fn add_partitions(&mut self, name: &str, count: i32) -> Result<(), CreateError> {
        let current = match self.topics.get(name) {
            Some(topic) => topic.partitions.len() as i32,
            None => {
                return Err(CreateError {
                    code: code::UNKNOWN_TOPIC_OR_PARTITION,
                    message: format!("topic {name} does not exist"),
                })
            }
        };
        if count <= current {
            return Err(CreateError {
                code: code::INVALID_PARTITIONS,
                message: format!(
                    "topic {name} has {current} partitions; the new count must be larger, not {count}"
                ),
            });
        }
        let rf = self.topics[name].partitions[0].replicas.len();
        let new: Vec<Partition> = (current..count)
            .map(|_| new_partition(self.place_replicas(rf)))
            .collect();
        if let Some(topic) = self.topics.get_mut(name) {
            topic.partitions.extend(new);
        }
        Ok(())
    }

    fn place_replicas(&mut self, rf: usize) -> Vec<i32> {
        let n = self.brokers.len();
        let first = self.next_leader % n;
        self.next_leader += 1;
        (0..rf).map(|i| self.brokers[(first + i) % n].id).collect()
    }

    /// Creates `name` with the default partition count if auto-creation is on.
    pub(crate) fn auto_create(&mut self, name: &str) -> bool {
        if !self.settings.auto_create_topics || !valid_topic_name(name) {
            return false;
        }
        let partitions = self.settings.default_partitions;
        self.create_topic(name, partitions, 1, &[], BTreeMap::new(), false)
            .is_ok()
    }

    pub(crate) fn partition(&self, topic: &str, partition: i32) -> Option<&Partition> {
        self.topics
            .get(topic)?
            .partitions
            .get(usize::try_from(partition).ok()?)
    }

    pub(crate) fn partition_mut(&mut self, topic: &str, partition: i32) -> Option<&mut Partition> {
        self.topics
            .get_mut(topic)?
            .partitions
            .get_mut(usize::try_from(partition).ok()?)
    }

    /// The partition if it exists and `broker` leads it, else the error
    /// code a partition-scoped request gets.
    pub(crate) fn led_partition_mut(
        &mut self,
        broker: i32,
        topic: &str,
        partition: i32,
    ) -> Result<&mut Partition, i16> {
        match self.partition_mut(topic, partition) {
            None => Err(code::UNKNOWN_TOPIC_OR_PARTITION),
            Some(p) if p.leader != broker => Err(code::NOT_LEADER_OR_FOLLOWER),
            Some(p) => Ok(p),
        }
    }

    pub(crate) fn allocate_producer_id(&mut self) -> i64 {
        let id = self.next_producer_id;
        self.next_producer_id += 1;
        id
    }

    /// The broker coordinating `key` (a group or transactional id): a hash
    /// of the key over the brokers, as Kafka hashes over its internal
    /// topic's partitions.
    pub(crate) fn coordinator_for(&self, key: &str) -> i32 {
        // FNV-1a: stable across runs, unlike the std hasher.
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in key.bytes() {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        self.brokers[(hash % self.brokers.len() as u64) as usize].id
    }
}

fn new_partition(replicas: Vec<i32>) -> Partition {
    Partition {
        leader: replicas[0],
        leader_epoch: 0,
        replicas,
        log: PartitionLog::default(),
        producers: ProducerStates::default(),
    }
}
