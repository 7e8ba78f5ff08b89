//! Produce requests shared by partitions (as the Java client's sender
//! drains every ready partition of a broker into one request).
//!
//! Each partition's sender hands its batch to the [`Combiner`] of the
//! leader's connection. The combiner keeps one request open: queued on the
//! connection but not yet written, because the connection's in-flight
//! window is full. Batches of other partitions join it until the
//! connection task writes it; only then is the request encoded. With room
//! in flight a request is written at once, with its one batch, so
//! combining costs no latency and happens exactly when requests would
//! otherwise pile up one partition at a time.
//!
//! A partition never has two batches in one request (brokers refuse that
//! for idempotent producers), so a partition's next batch opens a new
//! request behind the one holding its previous batch: a partition's
//! batches still reach the broker in sequence order.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use ferrokafka_protocol::messages::ProduceResponse;
use ferrokafka_protocol::produce::{encode_produce_request, ProducePartition, ProduceTopic};
use futures::future::{FutureExt, Shared};

use crate::broker::BrokerConnection;
use crate::error::Error;
use crate::types::TopicPartition;

type Answer =
    Shared<Pin<Box<dyn Future<Output = Result<Arc<ProduceResponse>, Arc<Error>>> + Send>>>;

/// What an open request holds until the connection task writes it.
#[derive(Default)]
struct Contents {
    batches: Vec<(TopicPartition, Bytes)>,
    bytes: usize,
    /// Encoded and written: nothing may join any more.
    written: bool,
}

struct Request {
    contents: Arc<Mutex<Contents>>,
    answer: Answer,
}

/// The open Produce request of one connection.
pub(crate) struct Combiner {
    conn: BrokerConnection,
    open: Mutex<Option<Request>>,
}

/// The settings every Produce request of the producer carries.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProduceSettings {
    pub(crate) acks: i16,
    pub(crate) timeout_ms: i32,
    /// `max.request.size`: a request is not grown past it.
    pub(crate) max_request_size: usize,
}

impl Combiner {
    fn new(conn: BrokerConnection) -> Self {
        Combiner {
            conn,
            open: Mutex::new(None),
        }
    }

    /// Adds `records` of `tp` to the open request, or queues a new one;
    /// returns the future of the request's answer. Fails when the request
    /// cannot be queued (the connection is closed, or has no common Produce
    /// version).
    pub(crate) fn submit(
        &self,
        tp: &TopicPartition,
        records: &Bytes,
        settings: ProduceSettings,
    ) -> Result<Answer, Error> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(request) = open.as_ref() {
            let mut contents = request.contents.lock().unwrap_or_else(|e| e.into_inner());
            let fits = contents.bytes + records.len() <= settings.max_request_size;
            let has_partition = contents.batches.iter().any(|(p, _)| p == tp);
            // A request that failed before it was written is never written.
            let failed = request.answer.peek().is_some();
            if !contents.written && !failed && fits && !has_partition {
                contents.bytes += records.len();
                contents.batches.push((tp.clone(), records.clone()));
                return Ok(request.answer.clone());
            }
        }
        let contents = Arc::new(Mutex::new(Contents {
            batches: vec![(tp.clone(), records.clone())],
            bytes: records.len(),
            written: false,
        }));
        let encode_from = Arc::clone(&contents);
        let answer =
            self.conn
                .enqueue_encoded_late::<ProduceResponse>(Box::new(move |header| {
                    let batches = {
                        let mut contents = encode_from.lock().unwrap_or_else(|e| e.into_inner());
                        contents.written = true;
                        std::mem::take(&mut contents.batches)
                    };
                    encode(header, &batches, settings)
                }))?;
        let answer: Answer = (Box::pin(async move { answer.await.map(Arc::new).map_err(Arc::new) })
            as Pin<Box<dyn Future<Output = _> + Send>>)
            .shared();
        *open = Some(Request {
            contents,
            answer: answer.clone(),
        });
        Ok(answer)
    }
}

/// The Produce request carrying `batches`, topics in the order their first
/// batch came, each topic's partitions in the order their batches came.
pub(crate) fn encode(
    header: &ferrokafka_protocol::header::RequestHeader<'_>,
    batches: &[(TopicPartition, Bytes)],
    settings: ProduceSettings,
) -> Result<ferrokafka_protocol::produce::SplitFrame, ferrokafka_protocol::ProtocolError> {
    let mut topics: Vec<(&str, Vec<ProducePartition>)> = Vec::new();
    for (tp, records) in batches {
        let partition = ProducePartition {
            index: tp.partition,
            records: records.clone(),
        };
        match topics.iter_mut().find(|(name, _)| *name == &*tp.topic) {
            Some((_, partitions)) => partitions.push(partition),
            None => topics.push((&tp.topic, vec![partition])),
        }
    }
    let topics: Vec<ProduceTopic<'_>> = topics
        .iter()
        .map(|(name, partitions)| ProduceTopic { name, partitions })
        .collect();
    encode_produce_request(header, None, settings.acks, settings.timeout_ms, &topics)
}

/// One combiner per broker, for the connection currently used to reach it.
#[derive(Default)]
pub(crate) struct Combiners {
    by_broker: Mutex<HashMap<String, Arc<Combiner>>>,
}

impl Combiners {
    /// The combiner of `conn` (a new one when the broker's connection
    /// changed since).
    pub(crate) fn of(&self, conn: &BrokerConnection) -> Arc<Combiner> {
        let mut by_broker = self.by_broker.lock().unwrap_or_else(|e| e.into_inner());
        let key = &conn.broker().address;
        match by_broker.get(key) {
            Some(combiner) if combiner.conn.same_connection(conn) => Arc::clone(combiner),
            _ => {
                let combiner = Arc::new(Combiner::new(conn.clone()));
                by_broker.insert(key.clone(), Arc::clone(&combiner));
                combiner
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::TopicPartition;
    use bytes::BytesMut;
    use ferrokafka_protocol::header::RequestHeader;
    use ferrokafka_protocol::messages::{ApiKey, ProduceRequest};
    use kafka_protocol::protocol::{decode_request_header_from_buffer, Decodable};

    #[test]
    fn batches_are_grouped_by_topic_in_arrival_order() {
        let batch = |n: u8| Bytes::from(vec![n; 10 + n as usize]);
        let batches = vec![
            (TopicPartition::new("a", 1), batch(1)),
            (TopicPartition::new("b", 0), batch(2)),
            (TopicPartition::new("a", 0), batch(3)),
        ];
        let header = RequestHeader {
            api_key: ApiKey::Produce,
            api_version: 9,
            correlation_id: 1,
            client_id: None,
        };
        let settings = ProduceSettings {
            acks: -1,
            timeout_ms: 5,
            max_request_size: 1 << 20,
        };
        let frame = encode(&header, &batches, settings).unwrap();
        let mut all = BytesMut::from(&frame.to_vec()[..]);
        let _ = bytes::Buf::get_i32(&mut all);
        let _ = decode_request_header_from_buffer(&mut all).unwrap();
        let request = ProduceRequest::decode(&mut all.freeze(), 9).unwrap();
        let shape: Vec<(String, Vec<(i32, usize)>)> = request
            .topic_data
            .iter()
            .map(|t| {
                (
                    t.name.0.to_string(),
                    t.partition_data
                        .iter()
                        .map(|p| (p.index, p.records.as_ref().map_or(0, Bytes::len)))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            shape,
            vec![
                ("a".to_owned(), vec![(1, 11), (0, 13)]),
                ("b".to_owned(), vec![(0, 12)]),
            ]
        );
    }
}
