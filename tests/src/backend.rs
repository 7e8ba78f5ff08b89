//! One test body, two backends: the real broker (Nisshi) and our fake
//! cluster (`ferrokafka-fake`).
//!
//! A test takes `&Backend` and uses only what both offer (address,
//! connect); [`on_both_backends!`](crate::on_both_backends) turns a list of
//! such functions into `nisshi::NAME` and `fake::NAME` tests. The helpers
//! below (create a topic, produce a batch, fetch, list offsets) speak the
//! protocol through the blocking [`WireClient`], so the same bytes go to
//! both brokers.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokafka_fake::FakeCluster;
use ferrokafka_protocol::compression::Compression;
use ferrokafka_protocol::messages::*;
use ferrokafka_protocol::record::{BatchBuilder, BatchDecoder, BatchOptions};
use ferrokafka_protocol::StrBytes;

use crate::wire::{WireClient, WireError};
use crate::Nisshi;

/// A broker to run a test body against.
#[derive(Debug)]
pub enum Backend {
    /// The real broker.
    Nisshi(Nisshi),
    /// The fake cluster.
    Fake(FakeCluster),
}

/// Runs each listed `fn(&Backend)` against a fresh Nisshi (`nisshi::NAME`)
/// and a fresh one-broker fake cluster (`fake::NAME`).
#[macro_export]
macro_rules! on_both_backends {
    ($($test:ident),* $(,)?) => {
        mod nisshi {
            $(
                #[test]
                fn $test() {
                    super::$test(&$crate::backend::Backend::nisshi());
                }
            )*
        }
        mod fake {
            $(
                #[test]
                fn $test() {
                    super::$test(&$crate::backend::Backend::fake());
                }
            )*
        }
    };
}

/// Runs an async test body on a fresh two-worker tokio runtime (for
/// [`on_both_backends_async!`](crate::on_both_backends_async)).
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

/// As [`on_both_backends!`](crate::on_both_backends), for `async fn(&Backend)`
/// bodies: each test runs on its own multi-threaded tokio runtime.
#[macro_export]
macro_rules! on_both_backends_async {
    ($($test:ident),* $(,)?) => {
        mod nisshi {
            $(
                #[test]
                fn $test() {
                    $crate::backend::block_on(super::$test(&$crate::backend::Backend::nisshi()));
                }
            )*
        }
        mod fake {
            $(
                #[test]
                fn $test() {
                    $crate::backend::block_on(super::$test(&$crate::backend::Backend::fake()));
                }
            )*
        }
    };
}

/// A fresh fake cluster of `brokers` brokers with `topic` of `partitions`.
///
/// # Panics
/// When the cluster cannot start.
pub fn fake_with_topic(brokers: usize, topic: &str, partitions: i32) -> FakeCluster {
    FakeCluster::builder()
        .brokers(brokers)
        .topic(topic, partitions)
        .build()
        .expect("start the fake cluster")
}

impl Backend {
    /// A fresh Nisshi broker (panics with the install command if missing).
    pub fn nisshi() -> Backend {
        Backend::Nisshi(Nisshi::start())
    }

    /// A fresh one-broker fake cluster.
    pub fn fake() -> Backend {
        Backend::Fake(
            FakeCluster::builder()
                .build()
                .expect("start the fake cluster"),
        )
    }

    /// "nisshi" or "fake", for messages.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Nisshi(_) => "nisshi",
            Backend::Fake(_) => "fake",
        }
    }

    /// The fake cluster, for tests that also inspect its state.
    pub fn fake_cluster(&self) -> Option<&FakeCluster> {
        match self {
            Backend::Fake(cluster) => Some(cluster),
            Backend::Nisshi(_) => None,
        }
    }

    /// The (first) broker's address.
    pub fn addr(&self) -> SocketAddr {
        match self {
            Backend::Nisshi(broker) => broker.addr(),
            Backend::Fake(cluster) => cluster
                .broker_addr(cluster.broker_ids()[0])
                .expect("the fake has a broker"),
        }
    }

    /// `bootstrap.servers` for this backend.
    pub fn bootstrap(&self) -> String {
        match self {
            Backend::Nisshi(broker) => broker.bootstrap(),
            Backend::Fake(cluster) => cluster.bootstrap(),
        }
    }

    /// A fresh wire client, after the ApiVersions exchange.
    pub fn connect(&self) -> WireClient {
        connect(self.addr()).unwrap_or_else(|e| panic!("connect to {}: {e}", self.name()))
    }
}

/// A wire client on a new connection to `addr`.
pub fn connect(addr: SocketAddr) -> Result<WireClient, WireError> {
    WireClient::from_stream(TcpStream::connect(addr)?)
}

/// A wire client plus a handle on its socket, to change the read timeout
/// (the socket options are shared with the client's stream).
pub fn connect_with_socket(addr: SocketAddr) -> Result<(WireClient, TcpStream), WireError> {
    let stream = TcpStream::connect(addr)?;
    let handle = stream.try_clone()?;
    let client = WireClient::from_stream(stream)?;
    Ok((client, handle))
}

/// Sets the read timeout of a socket from [`connect_with_socket`].
pub fn set_read_timeout(socket: &TcpStream, timeout: Duration) {
    socket
        .set_read_timeout(Some(timeout))
        .expect("set the read timeout");
}

/// A topic name for requests.
pub fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

/// Creates a topic with one replica and asserts success.
pub fn create_topic(client: &mut WireClient, name: &str, partitions: i32) {
    let request = CreateTopicsRequest::default()
        .with_topics(vec![create_topics_request::CreatableTopic::default()
            .with_name(topic_name(name))
            .with_num_partitions(partitions)
            .with_replication_factor(1)])
        .with_timeout_ms(10_000);
    let response: CreateTopicsResponse = client.call(&request).expect("CreateTopics");
    assert_eq!(response.topics.len(), 1);
    assert_eq!(response.topics[0].error_code, 0, "{response:?}");
}

/// One record to produce.
#[derive(Debug, Clone)]
pub struct Rec {
    /// Create time.
    pub timestamp: i64,
    /// Key.
    pub key: Option<Vec<u8>>,
    /// Value.
    pub value: Option<Vec<u8>>,
}

impl Rec {
    /// A record with a value and no key.
    pub fn value(timestamp: i64, value: impl Into<Vec<u8>>) -> Rec {
        Rec {
            timestamp,
            key: None,
            value: Some(value.into()),
        }
    }
}

/// Encodes one batch with our encoder.
pub fn batch(options: BatchOptions, records: &[Rec]) -> Bytes {
    let mut builder = BatchBuilder::with_options(options).expect("batch options");
    for r in records {
        builder.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &[]);
    }
    let mut out = BytesMut::new();
    builder.finish(&mut out).expect("encode batch");
    out.freeze()
}

/// A plain (non-idempotent) batch in `compression`.
pub fn plain_batch(compression: Compression, records: &[Rec]) -> Bytes {
    batch(
        BatchOptions {
            compression,
            ..BatchOptions::default()
        },
        records,
    )
}

/// A Produce request for one partition.
pub fn produce_request(topic: &str, partition: i32, acks: i16, records: Bytes) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(10_000)
        .with_topic_data(vec![produce_request::TopicProduceData::default()
            .with_name(topic_name(topic))
            .with_partition_data(vec![
                produce_request::PartitionProduceData::default()
                    .with_index(partition)
                    .with_records(Some(records)),
            ])])
}

/// Produces one batch with acks=all; returns the partition's answer.
pub fn produce(
    client: &mut WireClient,
    topic: &str,
    partition: i32,
    records: Bytes,
) -> Result<produce_response::PartitionProduceResponse, WireError> {
    let response: ProduceResponse = client.call(&produce_request(topic, partition, -1, records))?;
    Ok(response.responses[0].partition_responses[0].clone())
}

/// A Fetch request for one partition. It waits up to 200 ms for data:
/// Nisshi answers a `max_wait_ms` of 0 with no partitions at all.
pub fn fetch_request(
    topic: &str,
    partition: i32,
    offset: i64,
    max_bytes: i32,
    isolation_level: i8,
) -> FetchRequest {
    FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(200)
        .with_min_bytes(1)
        .with_max_bytes(max_bytes)
        .with_isolation_level(isolation_level)
        .with_session_epoch(-1)
        .with_topics(vec![fetch_request::FetchTopic::default()
            .with_topic(topic_name(topic))
            .with_partitions(vec![fetch_request::FetchPartition::default()
                .with_partition(partition)
                .with_fetch_offset(offset)
                .with_current_leader_epoch(-1)
                .with_last_fetched_epoch(-1)
                .with_log_start_offset(-1)
                .with_partition_max_bytes(max_bytes)])])
}

/// One fetched record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// Offset.
    pub offset: i64,
    /// Timestamp (the batch's max timestamp for log-append time).
    pub timestamp: i64,
    /// Key.
    pub key: Option<Vec<u8>>,
    /// Value.
    pub value: Option<Vec<u8>>,
}

/// Fetches one partition from `offset` (read_uncommitted, no wait); returns
/// the partition's answer and its records at or after `offset`, decoded
/// with our decoder (control batches skipped).
pub fn fetch(
    client: &mut WireClient,
    topic: &str,
    partition: i32,
    offset: i64,
    max_bytes: i32,
) -> Result<(fetch_response::PartitionData, Vec<Fetched>), WireError> {
    let response: FetchResponse =
        client.call(&fetch_request(topic, partition, offset, max_bytes, 0))?;
    let data = response.responses[0].partitions[0].clone();
    let records = decode_records(data.records.clone().unwrap_or_default(), offset);
    Ok((data, records))
}

/// Decodes fetched record bytes: every record at or after `from`.
pub fn decode_records(bytes: Bytes, from: i64) -> Vec<Fetched> {
    let mut out = Vec::new();
    for batch in BatchDecoder::new(bytes) {
        let batch = batch.expect("a valid batch");
        if batch.is_control() {
            continue;
        }
        let log_append =
            batch.timestamp_type() == ferrokafka_protocol::record::TimestampType::LogAppendTime;
        let records = batch.records().expect("records");
        for record in records.iter() {
            let record = record.expect("record");
            if record.offset() < from {
                continue;
            }
            out.push(Fetched {
                offset: record.offset(),
                timestamp: if log_append {
                    batch.max_timestamp()
                } else {
                    record.timestamp()
                },
                key: record.key().map(<[u8]>::to_vec),
                value: record.value().map(<[u8]>::to_vec),
            });
        }
    }
    out
}

/// ListOffsets for one partition at `timestamp` (-1 latest, -2 earliest);
/// returns the partition's answer.
pub fn list_offset(
    client: &mut WireClient,
    topic: &str,
    partition: i32,
    timestamp: i64,
) -> list_offsets_response::ListOffsetsPartitionResponse {
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_topics(vec![list_offsets_request::ListOffsetsTopic::default()
            .with_name(topic_name(topic))
            .with_partitions(vec![
                list_offsets_request::ListOffsetsPartition::default()
                    .with_partition_index(partition)
                    .with_current_leader_epoch(-1)
                    .with_timestamp(timestamp),
            ])]);
    let response: ListOffsetsResponse = client.call(&request).expect("ListOffsets");
    response.topics[0].partitions[0].clone()
}

/// A new idempotent producer id and epoch.
pub fn init_producer_id(client: &mut WireClient) -> (i64, i16) {
    let response: InitProducerIdResponse = client
        .call(
            &InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(60_000),
        )
        .expect("InitProducerId");
    assert_eq!(response.error_code, 0, "{response:?}");
    (response.producer_id.0, response.producer_epoch)
}

/// An idempotent batch of `count` values `"{prefix}-{i}"`.
pub fn idempotent_batch(
    producer_id: i64,
    epoch: i16,
    base_sequence: i32,
    count: i32,
    prefix: &str,
) -> Bytes {
    let records: Vec<Rec> = (0..count)
        .map(|i| Rec::value(1_700_000_000_000 + i64::from(i), format!("{prefix}-{i}")))
        .collect();
    batch(
        BatchOptions {
            producer_id,
            producer_epoch: epoch,
            base_sequence,
            ..BatchOptions::default()
        },
        &records,
    )
}
