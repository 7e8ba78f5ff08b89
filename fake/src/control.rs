//! Fault injection: what to do to which request, and the record of every
//! request the cluster received.
//!
//! A [`Fault`] matches requests by API key and, optionally, broker,
//! topic-partition and position (the Nth matching request), and fires an
//! [`FaultAction`] a number of times. Faults are checked in the order they
//! were added; the first that fires decides the fate of the request.

use std::time::Duration;

use bytes::Bytes;
use ferrokafka_protocol::record::BatchDecoder;
use kafka_protocol::messages::{ApiKey, RequestKind};
use kafka_protocol::ResponseError;

/// What a fault does to the request it fires on.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultAction {
    /// Answer with this error code instead of applying the request. With a
    /// topic-partition filter, partition-scoped APIs (Produce, Fetch,
    /// ListOffsets, DeleteRecords) fail only that partition and apply the
    /// rest; every other API fails as a whole.
    Error(ResponseError),
    /// Apply the request, then wait this long before answering.
    Delay(Duration),
    /// Close the connection without applying the request or answering.
    CloseBeforeApply,
    /// Apply the request, then close the connection without answering: the
    /// client cannot know its write happened (the idempotent-retry case).
    CloseAfterApply,
    /// Neither apply nor answer, and keep the connection open but silent:
    /// this and every later request on it go unanswered and unapplied, so
    /// the client must time out.
    NeverAnswer,
    /// As [`NeverAnswer`](Self::NeverAnswer), but apply this request first.
    NeverAnswerAfterApply,
    /// Write these bytes to the connection, exactly as given (no framing
    /// added), instead of applying and answering the request. For hostile
    /// responses: bad lengths, truncated frames, garbage.
    RawBytes(Bytes),
}

/// Which requests a fault applies to, and what it does to them.
///
/// ```
/// use std::time::Duration;
/// use ferrokafka_fake::{Fault, FaultAction, ResponseError};
/// use ferrokafka_fake::messages::ApiKey;
///
/// // The third Produce for orders-0 fails with NOT_LEADER_OR_FOLLOWER, once.
/// let fault = Fault::on(ApiKey::Produce)
///     .partition("orders", 0)
///     .nth(3)
///     .action(FaultAction::Error(ResponseError::NotLeaderOrFollower));
/// // Every Fetch to broker 1 is answered two seconds late, until removed.
/// let slow = Fault::on(ApiKey::Fetch)
///     .broker(1)
///     .always()
///     .action(FaultAction::Delay(Duration::from_secs(2)));
/// # let _ = (fault, slow);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub(crate) api: Option<ApiKey>,
    pub(crate) broker: Option<i32>,
    pub(crate) partition: Option<(String, i32)>,
    pub(crate) nth: u64,
    pub(crate) times: Option<u64>,
    pub(crate) action: FaultAction,
}

impl Fault {
    /// A fault on requests of `api`; by default it fires once, on the first
    /// matching request, and closes the connection before applying it
    /// (choose the effect with [`action`](Self::action)).
    pub fn on(api: ApiKey) -> Fault {
        Fault {
            api: Some(api),
            broker: None,
            partition: None,
            nth: 1,
            times: Some(1),
            action: FaultAction::CloseBeforeApply,
        }
    }

    /// A fault on requests of any API (ApiVersions included).
    pub fn on_any() -> Fault {
        Fault {
            api: None,
            ..Fault::on(ApiKey::ApiVersions)
        }
    }

    /// Only requests received by broker `id`.
    pub fn broker(mut self, id: i32) -> Fault {
        self.broker = Some(id);
        self
    }

    /// Only requests that name this topic-partition (Produce, Fetch,
    /// ListOffsets, DeleteRecords, OffsetCommit, OffsetFetch; Metadata,
    /// CreateTopics, DeleteTopics and CreatePartitions match on the topic).
    pub fn partition(mut self, topic: impl Into<String>, partition: i32) -> Fault {
        self.partition = Some((topic.into(), partition));
        self
    }

    /// Fire first on the `n`th matching request (1-based) counted from when
    /// the fault is added; `nth(1)` is the default.
    ///
    /// # Panics
    /// If `n` is 0.
    pub fn nth(mut self, n: u64) -> Fault {
        assert!(n >= 1, "Fault::nth counts from 1");
        self.nth = n;
        self
    }

    /// Fire on `n` matching requests (from the `nth` on), then retire.
    pub fn times(mut self, n: u64) -> Fault {
        self.times = Some(n);
        self
    }

    /// Fire on every matching request (from the `nth` on) until removed.
    pub fn always(mut self) -> Fault {
        self.times = None;
        self
    }

    /// What to do to the request.
    pub fn action(mut self, action: FaultAction) -> Fault {
        self.action = action;
        self
    }
}

/// Identifies an injected fault, to remove it or count its hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FaultId(pub(crate) u64);

#[derive(Debug)]
struct ActiveFault {
    id: FaultId,
    fault: Fault,
    seen: u64,
    fired: u64,
}

/// The faults in force.
#[derive(Debug, Default)]
pub(crate) struct FaultTable {
    faults: Vec<ActiveFault>,
    retired: Vec<(FaultId, u64)>,
    next_id: u64,
}

/// A fault that fired on a request.
#[derive(Debug, Clone)]
pub(crate) struct Fired {
    pub(crate) action: FaultAction,
    pub(crate) partition: Option<(String, i32)>,
}

impl FaultTable {
    pub(crate) fn add(&mut self, fault: Fault) -> FaultId {
        let id = FaultId(self.next_id);
        self.next_id += 1;
        self.faults.push(ActiveFault {
            id,
            fault,
            seen: 0,
            fired: 0,
        });
        id
    }

    pub(crate) fn remove(&mut self, id: FaultId) -> bool {
        let before = self.faults.len();
        self.faults.retain(|f| f.id != id);
        before != self.faults.len()
    }

    pub(crate) fn clear(&mut self) {
        self.faults.clear();
    }

    pub(crate) fn hits(&self, id: FaultId) -> u64 {
        self.faults
            .iter()
            .find(|f| f.id == id)
            .map(|f| f.fired)
            .or_else(|| {
                self.retired
                    .iter()
                    .find(|(retired, _)| *retired == id)
                    .map(|(_, n)| *n)
            })
            .unwrap_or(0)
    }

    /// Counts `request` against every matching fault and returns the action
    /// of the first that fires.
    pub(crate) fn fire(&mut self, broker: i32, request: &RequestKind) -> Option<Fired> {
        let api = api_key_of(request)?;
        let mut fired = None;
        for active in &mut self.faults {
            let f = &active.fault;
            if f.api.is_some_and(|a| a != api)
                || f.broker.is_some_and(|b| b != broker)
                || f.partition
                    .as_ref()
                    .is_some_and(|(t, p)| !touches(request, t, *p))
            {
                continue;
            }
            active.seen += 1;
            if fired.is_none()
                && active.seen >= f.nth
                && f.times.is_none_or(|limit| active.fired < limit)
            {
                active.fired += 1;
                fired = Some(Fired {
                    action: f.action.clone(),
                    partition: f.partition.clone(),
                });
            }
        }
        let retired: Vec<(FaultId, u64)> = self
            .faults
            .iter()
            .filter(|f| f.fault.times.is_some_and(|limit| f.fired >= limit))
            .map(|f| (f.id, f.fired))
            .collect();
        if !retired.is_empty() {
            self.faults
                .retain(|f| f.fault.times.is_none_or(|limit| f.fired < limit));
            self.retired.extend(retired);
        }
        fired
    }
}

/// The API key of a decoded request, for the APIs the fake handles.
pub(crate) fn api_key_of(request: &RequestKind) -> Option<ApiKey> {
    Some(match request {
        RequestKind::Produce(_) => ApiKey::Produce,
        RequestKind::Fetch(_) => ApiKey::Fetch,
        RequestKind::ListOffsets(_) => ApiKey::ListOffsets,
        RequestKind::Metadata(_) => ApiKey::Metadata,
        RequestKind::OffsetCommit(_) => ApiKey::OffsetCommit,
        RequestKind::OffsetFetch(_) => ApiKey::OffsetFetch,
        RequestKind::FindCoordinator(_) => ApiKey::FindCoordinator,
        RequestKind::JoinGroup(_) => ApiKey::JoinGroup,
        RequestKind::Heartbeat(_) => ApiKey::Heartbeat,
        RequestKind::LeaveGroup(_) => ApiKey::LeaveGroup,
        RequestKind::SyncGroup(_) => ApiKey::SyncGroup,
        RequestKind::SaslHandshake(_) => ApiKey::SaslHandshake,
        RequestKind::ApiVersions(_) => ApiKey::ApiVersions,
        RequestKind::CreateTopics(_) => ApiKey::CreateTopics,
        RequestKind::DeleteTopics(_) => ApiKey::DeleteTopics,
        RequestKind::DeleteRecords(_) => ApiKey::DeleteRecords,
        RequestKind::InitProducerId(_) => ApiKey::InitProducerId,
        RequestKind::DescribeConfigs(_) => ApiKey::DescribeConfigs,
        RequestKind::SaslAuthenticate(_) => ApiKey::SaslAuthenticate,
        RequestKind::CreatePartitions(_) => ApiKey::CreatePartitions,
        _ => return None,
    })
}

/// Whether `request` names `topic` (and, for partition-scoped APIs, `partition`).
pub(crate) fn touches(request: &RequestKind, topic: &str, partition: i32) -> bool {
    match request {
        RequestKind::Produce(r) => r.topic_data.iter().any(|t| {
            t.name.0.as_str() == topic && t.partition_data.iter().any(|p| p.index == partition)
        }),
        RequestKind::Fetch(r) => r.topics.iter().any(|t| {
            t.topic.0.as_str() == topic && t.partitions.iter().any(|p| p.partition == partition)
        }),
        RequestKind::ListOffsets(r) => r.topics.iter().any(|t| {
            t.name.0.as_str() == topic
                && t.partitions.iter().any(|p| p.partition_index == partition)
        }),
        RequestKind::DeleteRecords(r) => r.topics.iter().any(|t| {
            t.name.0.as_str() == topic
                && t.partitions.iter().any(|p| p.partition_index == partition)
        }),
        RequestKind::OffsetCommit(r) => r.topics.iter().any(|t| {
            t.name.0.as_str() == topic
                && t.partitions.iter().any(|p| p.partition_index == partition)
        }),
        RequestKind::OffsetFetch(r) => r
            .topics
            .iter()
            .flatten()
            .any(|t| t.name.0.as_str() == topic && t.partition_indexes.contains(&partition)),
        RequestKind::Metadata(r) => r.topics.as_ref().is_none_or(|topics| {
            topics
                .iter()
                .any(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
        }),
        RequestKind::CreateTopics(r) => r.topics.iter().any(|t| t.name.0.as_str() == topic),
        RequestKind::DeleteTopics(r) => {
            r.topic_names.iter().any(|n| n.0.as_str() == topic)
                || r.topics
                    .iter()
                    .any(|t| t.name.as_ref().is_some_and(|n| n.0.as_str() == topic))
        }
        RequestKind::CreatePartitions(r) => r.topics.iter().any(|t| t.name.0.as_str() == topic),
        _ => false,
    }
}

/// One request the cluster received, as decoded, with the fault (if any)
/// that fired on it. Requests are recorded in arrival order, before they
/// are applied, whatever happens to them afterwards.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The broker that received it.
    pub broker: i32,
    /// The connection it came on (unique per cluster, counting from 0).
    pub connection: u64,
    /// Its API.
    pub api_key: ApiKey,
    /// The version it was sent at.
    pub api_version: i16,
    /// Its correlation id.
    pub correlation_id: i32,
    /// The `client.id` in its header.
    pub client_id: Option<String>,
    /// The decoded request.
    pub request: RequestKind,
    /// The action of the fault that fired on it.
    pub fault: Option<FaultAction>,
}

/// The header of one record batch a client produced, from a recorded
/// Produce request: what a test checks to see how a producer numbered its
/// retries.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProducedBatch {
    /// The broker it was sent to.
    pub broker: i32,
    /// The connection it came on.
    pub connection: u64,
    /// Topic.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// `producerId`, -1 without idempotence.
    pub producer_id: i64,
    /// `producerEpoch`.
    pub producer_epoch: i16,
    /// `baseSequence`.
    pub base_sequence: i32,
    /// Records in the batch.
    pub record_count: i32,
    /// Whether the batch is transactional.
    pub transactional: bool,
}

impl RecordedRequest {
    /// The batches of a Produce request (empty for other requests). Batches
    /// that do not parse are left out.
    pub fn produced_batches(&self) -> Vec<ProducedBatch> {
        let RequestKind::Produce(produce) = &self.request else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for topic in &produce.topic_data {
            for partition in &topic.partition_data {
                let records = partition.records.clone().unwrap_or_default();
                for batch in BatchDecoder::new(records).verify_crc(false).flatten() {
                    out.push(ProducedBatch {
                        broker: self.broker,
                        connection: self.connection,
                        topic: topic.name.0.to_string(),
                        partition: partition.index,
                        producer_id: batch.producer_id(),
                        producer_epoch: batch.producer_epoch(),
                        base_sequence: batch.base_sequence(),
                        record_count: batch.record_count(),
                        transactional: batch.is_transactional(),
                    });
                }
            }
        }
        out
    }
}
