//! Partition-level calls routed to each partition's leader: list offsets
//! and delete records.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use ferrokafka_protocol::messages::delete_records_request::{
    DeleteRecordsPartition, DeleteRecordsTopic,
};
use ferrokafka_protocol::messages::{ApiKey, DeleteRecordsRequest, TopicName};
use ferrokafka_protocol::requests::{list_offsets_request, ListOffsetsPosition};
use ferrokafka_protocol::StrBytes;
use futures::future::{join_all, BoxFuture};
use tokio::time::Instant;

use super::{request_timeout_ms, Admin, ItemResult};
use crate::backoff::backoff_with_jitter;
use crate::broker::BrokerConnection;
use crate::client::Client;
use crate::config::IsolationLevel;
use crate::error::{Error, ErrorKind, Result};
use crate::types::TopicPartition;

/// Which offset [`Admin::list_offsets`] looks up: earliest, latest, the
/// first at or after a timestamp (offset -1 when there is none), or the
/// one with the largest timestamp (ListOffsets v7+).
pub use ferrokafka_protocol::requests::OffsetTarget as OffsetSpec;

/// What [`Admin::list_offsets`] found for one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListedOffset {
    /// The offset; -1 for a timestamp after the last record.
    pub offset: i64,
    /// The timestamp of the record at `offset` (by-timestamp lookups), else -1.
    pub timestamp: i64,
    /// The leader epoch of that record, when the broker says.
    pub leader_epoch: Option<i32>,
}

type Outcomes<T> = Vec<(usize, ItemResult<T>)>;

/// Sends per-leader requests for `partitions`, retrying the partitions
/// whose error is retriable (after a metadata refresh) until
/// `default.api.timeout.ms`. `send` gets a leader connection and the
/// indices (into `partitions`) it leads, and returns one outcome per index.
async fn per_leader<T: Send + 'static>(
    client: &Client,
    partitions: &[TopicPartition],
    send: impl Fn(BrokerConnection, Vec<(usize, i32)>) -> BoxFuture<'static, Result<Outcomes<T>>>,
) -> Vec<ItemResult<T>> {
    let config = client.config();
    let deadline = Instant::now() + config.default_api_timeout();
    let mut results: Vec<Option<ItemResult<T>>> = partitions.iter().map(|_| None).collect();
    let mut pending: Vec<usize> = (0..partitions.len()).collect();
    let mut failures = 0;
    let mut unknown: HashMap<usize, u32> = HashMap::new();
    loop {
        let mut retry: Vec<(usize, Error)> = Vec::new();
        let mut deferred: Vec<usize> = Vec::new();
        let mut by_leader: BTreeMap<i32, Vec<(usize, i32)>> = BTreeMap::new();
        let mut in_round: std::collections::HashSet<&TopicPartition> =
            std::collections::HashSet::new();
        for &i in &pending {
            // A partition goes at most once into one request.
            if !in_round.insert(&partitions[i]) {
                deferred.push(i);
                continue;
            }
            match client.leader(&partitions[i]).await {
                Ok(p) => by_leader
                    .entry(p.leader)
                    .or_default()
                    .push((i, p.leader_epoch)),
                // Unknown after a refresh: it does not exist (asking again once
                // covers a topic created a moment ago).
                Err(e) if matches!(e.kind(), ErrorKind::UnknownTopicOrPartition) => {
                    let seen = unknown.entry(i).or_default();
                    *seen += 1;
                    if *seen > 2 {
                        results[i] = Some(Err(e.with_topic_partition(partitions[i].clone())));
                    } else {
                        retry.push((i, e));
                    }
                }
                Err(e) => retry.push((i, e)),
            }
        }
        let send = &send;
        let calls = by_leader.into_iter().map(|(leader, items)| {
            let indices: Vec<usize> = items.iter().map(|(i, _)| *i).collect();
            let call = async move {
                let conn = client.broker_connection(leader).await?;
                send(conn, items).await
            };
            async move { (indices, call.await) }
        });
        for (indices, outcome) in join_all(calls).await {
            match outcome {
                Ok(outcomes) => {
                    let mut answered = vec![false; partitions.len()];
                    for (i, r) in outcomes {
                        answered[i] = true;
                        match r {
                            Err(e) if e.is_retriable() => retry.push((i, e)),
                            r => results[i] = Some(r),
                        }
                    }
                    for i in indices.into_iter().filter(|&i| !answered[i]) {
                        results[i] = Some(Err(Error::new(ErrorKind::UnexpectedResponse(
                            "the leader's answer did not mention this partition".to_owned(),
                        ))
                        .with_topic_partition(partitions[i].clone())));
                    }
                }
                Err(e) => {
                    let retriable = e.is_retriable();
                    for i in indices {
                        let e = e.duplicate().with_topic_partition(partitions[i].clone());
                        if retriable {
                            retry.push((i, e));
                        } else {
                            results[i] = Some(Err(e));
                        }
                    }
                }
            }
        }
        pending = retry
            .iter()
            .map(|(i, _)| *i)
            .chain(deferred.iter().copied())
            .collect();
        if retry.is_empty() {
            if deferred.is_empty() {
                break;
            }
            continue;
        }
        failures += 1;
        if Instant::now() >= deadline || failures > 1000 {
            for (i, e) in retry {
                results[i] = Some(Err(e.with_topic_partition(partitions[i].clone())));
            }
            break;
        }
        for (i, e) in &retry {
            tracing::debug!(tp = %partitions[*i], error = %e, "retrying partition");
            client.invalidate_metadata(&partitions[*i].topic);
        }
        let wait =
            backoff_with_jitter(config.retry_backoff(), config.retry_backoff_max(), failures);
        tokio::time::sleep(wait.min(deadline.saturating_duration_since(Instant::now()))).await;
    }
    results
        .into_iter()
        .enumerate()
        .map(|(i, r)| {
            r.unwrap_or_else(|| {
                Err(Error::new(ErrorKind::UnexpectedResponse(
                    "the leader's answer did not mention this partition".to_owned(),
                ))
                .with_topic_partition(partitions[i].clone()))
            })
        })
        .collect()
}

/// Groups `(index, leader epoch)` items by topic for a request.
fn by_topic(
    partitions: &[TopicPartition],
    items: &[(usize, i32)],
) -> BTreeMap<Arc<str>, Vec<(usize, i32)>> {
    let mut topics: BTreeMap<Arc<str>, Vec<(usize, i32)>> = BTreeMap::new();
    for &(i, epoch) in items {
        topics
            .entry(Arc::clone(&partitions[i].topic))
            .or_default()
            .push((i, epoch));
    }
    topics
}

fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_owned()))
}

/// Finds the index of `(topic, partition)` among the items sent.
fn lookup(index: &HashMap<(String, i32), usize>, topic: &str, partition: i32) -> Option<usize> {
    index.get(&(topic.to_owned(), partition)).copied()
}

impl Admin {
    /// Looks up offsets per partition (earliest, latest, by timestamp), at
    /// the given isolation level. One outcome per request, in order.
    pub async fn list_offsets(
        &self,
        requests: &[(TopicPartition, OffsetSpec)],
        isolation: IsolationLevel,
    ) -> Result<Vec<(TopicPartition, ItemResult<ListedOffset>)>> {
        let partitions: Vec<TopicPartition> = requests.iter().map(|(tp, _)| tp.clone()).collect();
        let specs: Arc<Vec<OffsetSpec>> = Arc::new(requests.iter().map(|(_, s)| *s).collect());
        let parts = Arc::new(partitions.clone());
        let results = per_leader(&self.client, &partitions, |conn, items| {
            let specs = Arc::clone(&specs);
            let parts = Arc::clone(&parts);
            Box::pin(async move {
                let version = conn.version(ApiKey::ListOffsets)?;
                let mut index = HashMap::new();
                let positions: Vec<ListOffsetsPosition<'_>> = items
                    .iter()
                    .map(|&(i, epoch)| {
                        index.insert((parts[i].topic.to_string(), parts[i].partition), i);
                        ListOffsetsPosition {
                            topic: &parts[i].topic,
                            partition: parts[i].partition,
                            current_leader_epoch: (epoch >= 0).then_some(epoch),
                            target: specs[i],
                        }
                    })
                    .collect();
                let request = list_offsets_request(version, isolation, &positions)
                    .map_err(|e| Error::from(e).with_broker(conn.broker().clone()))?;
                let response = conn
                    .send_at(&request, version, conn.request_timeout())
                    .await?;
                let mut out = Vec::new();
                for t in &response.topics {
                    for p in &t.partitions {
                        let Some(i) = lookup(&index, &t.name.0, p.partition_index) else {
                            continue;
                        };
                        let result = match Error::from_code(p.error_code) {
                            Some(e) => Err(e
                                .with_topic_partition(parts[i].clone())
                                .with_api(ApiKey::ListOffsets)),
                            None => Ok(ListedOffset {
                                offset: p.offset,
                                timestamp: p.timestamp,
                                leader_epoch: (p.leader_epoch >= 0).then_some(p.leader_epoch),
                            }),
                        };
                        out.push((i, result));
                    }
                }
                Ok(out)
            })
        })
        .await;
        Ok(partitions.into_iter().zip(results).collect())
    }

    /// Deletes every record before `offset` in each partition (offset -1:
    /// up to the high watermark). Returns each partition's new log start
    /// offset (low watermark).
    pub async fn delete_records(
        &self,
        requests: &[(TopicPartition, i64)],
    ) -> Result<Vec<(TopicPartition, ItemResult<i64>)>> {
        let partitions: Vec<TopicPartition> = requests.iter().map(|(tp, _)| tp.clone()).collect();
        let offsets: Arc<Vec<i64>> = Arc::new(requests.iter().map(|(_, o)| *o).collect());
        let parts = Arc::new(partitions.clone());
        let timeout_ms = request_timeout_ms(&self.client);
        let results = per_leader(&self.client, &partitions, |conn, items| {
            let offsets = Arc::clone(&offsets);
            let parts = Arc::clone(&parts);
            Box::pin(async move {
                let mut index = HashMap::new();
                let topics = by_topic(&parts, &items)
                    .into_iter()
                    .map(|(topic, ps)| {
                        DeleteRecordsTopic::default()
                            .with_name(name(&topic))
                            .with_partitions(
                                ps.iter()
                                    .map(|&(i, _)| {
                                        index.insert((topic.to_string(), parts[i].partition), i);
                                        DeleteRecordsPartition::default()
                                            .with_partition_index(parts[i].partition)
                                            .with_offset(offsets[i])
                                    })
                                    .collect(),
                            )
                    })
                    .collect();
                let request = DeleteRecordsRequest::default()
                    .with_timeout_ms(timeout_ms)
                    .with_topics(topics);
                let response = conn.send(&request).await?;
                let mut out = Vec::new();
                for t in &response.topics {
                    for p in &t.partitions {
                        let Some(i) = lookup(&index, &t.name.0, p.partition_index) else {
                            continue;
                        };
                        let result = match Error::from_code(p.error_code) {
                            Some(e) => Err(e
                                .with_topic_partition(parts[i].clone())
                                .with_api(ApiKey::DeleteRecords)),
                            None => Ok(p.low_watermark),
                        };
                        out.push((i, result));
                    }
                }
                Ok(out)
            })
        })
        .await;
        Ok(partitions.into_iter().zip(results).collect())
    }
}
