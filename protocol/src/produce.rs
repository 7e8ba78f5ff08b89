//! Produce requests whose record batches are never copied.
//!
//! A Produce request is mostly record batches. [`encode_request`] would
//! copy every byte of them into the frame; [`encode_produce_request`]
//! writes only the small parts around them (length prefix, header, field
//! and array prefixes) and keeps each batch as the caller's own
//! [`Bytes`]. The result is a [`SplitFrame`]: a connection writes its
//! pieces one after the other, so the bytes on the wire are those
//! `encode_request` would have produced for the same request (the tests
//! check this for every version and shape).
//!
//! Only the versions this crate implements are written (3 to 11); their
//! request bodies have the same fields, and versions 9 and up use the
//! flexible (compact) encoding.
//!
//! [`encode_request`]: crate::header::encode_request
//!
//! ```
//! use bytes::Bytes;
//! use ferrokafka_protocol::header::RequestHeader;
//! use ferrokafka_protocol::messages::ApiKey;
//! use ferrokafka_protocol::produce::{encode_produce_request, ProducePartition, ProduceTopic};
//!
//! let batch = Bytes::from_static(b"a record batch");
//! let partitions = [ProducePartition { index: 0, records: batch.clone() }];
//! let header = RequestHeader {
//!     api_key: ApiKey::Produce,
//!     api_version: 9,
//!     correlation_id: 1,
//!     client_id: Some("me"),
//! };
//! let frame = encode_produce_request(
//!     &header,
//!     None,
//!     -1,
//!     30_000,
//!     &[ProduceTopic { name: "events", partitions: &partitions }],
//! )?;
//! // The batch is the caller's buffer, not a copy of it.
//! assert!(frame.tail.iter().any(|piece| piece.as_ptr() == batch.as_ptr()));
//! // The length prefix counts every piece.
//! assert_eq!(frame.head[..4], ((frame.len() - 4) as i32).to_be_bytes());
//! # Ok::<(), ferrokafka_protocol::ProtocolError>(())
//! ```

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;

use crate::frame::start_frame;
use crate::header::RequestHeader;
use crate::ProtocolError;

/// The first Produce version using the flexible encoding.
const FIRST_FLEXIBLE_VERSION: i16 = 9;

/// One partition's data in a Produce request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducePartition {
    /// The partition index.
    pub index: i32,
    /// The partition's encoded record batches.
    pub records: Bytes,
}

/// One topic's data in a Produce request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProduceTopic<'a> {
    /// The topic name.
    pub name: &'a str,
    /// Its partitions.
    pub partitions: &'a [ProducePartition],
}

/// A framed request in pieces: `head` starts with the 4-byte length
/// prefix and the request header (so a connection can still write the
/// correlation id into it), and `tail` follows it on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SplitFrame {
    /// Length prefix, request header and the first bytes of the body.
    pub head: BytesMut,
    /// The rest of the frame, in order.
    pub tail: Vec<Bytes>,
}

impl SplitFrame {
    /// A frame in one piece.
    pub fn whole(frame: BytesMut) -> Self {
        SplitFrame {
            head: frame,
            tail: Vec::new(),
        }
    }

    /// Bytes on the wire, length prefix included.
    pub fn len(&self) -> usize {
        self.head.len() + self.tail.iter().map(Bytes::len).sum::<usize>()
    }

    /// Whether the frame has no bytes at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The frame's bytes in one buffer (a copy; for tests and tools).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut all = Vec::with_capacity(self.len());
        all.extend_from_slice(&self.head);
        for piece in &self.tail {
            all.extend_from_slice(piece);
        }
        all
    }
}

/// Writes a framed Produce request without copying its record batches.
///
/// `header.api_key` must be Produce and `header.api_version` one this
/// crate implements; a name or batch too long for its length field is an
/// encoding error, as with [`encode_request`](crate::header::encode_request).
pub fn encode_produce_request(
    header: &RequestHeader<'_>,
    transactional_id: Option<&str>,
    acks: i16,
    timeout_ms: i32,
    topics: &[ProduceTopic<'_>],
) -> Result<SplitFrame, ProtocolError> {
    let version = header.api_version;
    let refuse = |reason: String| ProtocolError::Encode {
        api: ApiKey::Produce,
        version,
        reason,
    };
    if header.api_key != ApiKey::Produce {
        return Err(refuse(format!(
            "encode_produce_request got a {:?} header",
            header.api_key
        )));
    }
    let (min, max) = crate::versions::implemented_versions(ApiKey::Produce).unwrap_or((0, -1));
    if !(min..=max).contains(&version) {
        return Err(refuse(format!(
            "Produce v{version} is not implemented (v{min} to v{max} are)"
        )));
    }
    let flexible = version >= FIRST_FLEXIBLE_VERSION;
    let mut glue = BytesMut::with_capacity(64 + 32 * topics.len());
    let at = start_frame(&mut glue);
    header.encode(&mut glue);
    put_string(&mut glue, transactional_id, flexible).map_err(&refuse)?;
    glue.put_i16(acks);
    glue.put_i32(timeout_ms);
    put_count(&mut glue, topics.len(), flexible).map_err(&refuse)?;
    // The head is split off before the first batch; later glue pieces share
    // the same buffer's allocation.
    let mut head = None;
    let mut tail =
        Vec::with_capacity(1 + 2 * topics.iter().map(|t| t.partitions.len()).sum::<usize>());
    for topic in topics {
        put_string(&mut glue, Some(topic.name), flexible).map_err(&refuse)?;
        put_count(&mut glue, topic.partitions.len(), flexible).map_err(&refuse)?;
        for partition in topic.partitions {
            glue.put_i32(partition.index);
            put_length(
                &mut glue,
                partition.records.len(),
                flexible,
                i32::MAX as usize,
            )
            .map_err(|what| {
                refuse(format!(
                    "the records of partition {}: {what}",
                    partition.index
                ))
            })?;
            let piece = glue.split();
            match head {
                None => head = Some(piece),
                Some(_) => tail.push(piece.freeze()),
            }
            if !partition.records.is_empty() {
                tail.push(partition.records.clone());
            }
            if flexible {
                glue.put_u8(0); // the partition's tagged fields
            }
        }
        if flexible {
            glue.put_u8(0); // the topic's tagged fields
        }
    }
    if flexible {
        glue.put_u8(0); // the request's tagged fields
    }
    let mut head = match head {
        Some(head) => {
            if !glue.is_empty() {
                tail.push(glue.freeze());
            }
            head
        }
        None => glue,
    };
    let total = head.len() + tail.iter().map(Bytes::len).sum::<usize>();
    // The length prefix covers the tail too.
    let body = i32::try_from(total - at - 4).map_err(|_| {
        refuse(format!(
            "the request takes {total} bytes, more than a frame can"
        ))
    })?;
    head[at..at + 4].copy_from_slice(&body.to_be_bytes());
    Ok(SplitFrame { head, tail })
}

fn put_unsigned_varint(out: &mut BytesMut, mut value: u32) {
    while value >= 0x80 {
        out.put_u8((value as u8) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

/// A length prefix (`i32`, or compact `len + 1` when flexible).
fn put_length(out: &mut BytesMut, len: usize, flexible: bool, max: usize) -> Result<(), String> {
    if len > max {
        return Err(format!(
            "{len} bytes is more than the field can hold ({max})"
        ));
    }
    if flexible {
        put_unsigned_varint(out, len as u32 + 1);
    } else {
        out.put_i32(len as i32);
    }
    Ok(())
}

fn put_count(out: &mut BytesMut, count: usize, flexible: bool) -> Result<(), String> {
    put_length(out, count, flexible, i32::MAX as usize - 1)
        .map_err(|e| format!("an array of {count} entries: {e}"))
}

/// A nullable string (`i16` length, or compact when flexible).
fn put_string(out: &mut BytesMut, value: Option<&str>, flexible: bool) -> Result<(), String> {
    match (value, flexible) {
        (None, false) => out.put_i16(-1),
        (None, true) => out.put_u8(0),
        (Some(s), false) => {
            let len = i16::try_from(s.len())
                .map_err(|_| format!("a string of {} bytes is too long", s.len()))?;
            out.put_i16(len);
            out.put_slice(s.as_bytes());
        }
        (Some(s), true) => {
            if s.len() > i16::MAX as usize {
                return Err(format!("a string of {} bytes is too long", s.len()));
            }
            put_unsigned_varint(out, s.len() as u32 + 1);
            out.put_slice(s.as_bytes());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::encode_request;
    use crate::messages::produce_request::{PartitionProduceData, TopicProduceData};
    use crate::messages::{ProduceRequest, TopicName, TransactionalId};
    use crate::StrBytes;

    fn header(version: i16) -> RequestHeader<'static> {
        RequestHeader {
            api_key: ApiKey::Produce,
            api_version: version,
            correlation_id: 42,
            client_id: Some("ferrokafka-test"),
        }
    }

    /// What `kafka-protocol` writes for the same request, in one buffer.
    fn reference(
        version: i16,
        transactional_id: Option<&str>,
        topics: &[ProduceTopic<'_>],
    ) -> Vec<u8> {
        let request = ProduceRequest::default()
            .with_transactional_id(
                transactional_id.map(|t| TransactionalId(StrBytes::from_string(t.to_owned()))),
            )
            .with_acks(-1)
            .with_timeout_ms(30_000)
            .with_topic_data(
                topics
                    .iter()
                    .map(|t| {
                        TopicProduceData::default()
                            .with_name(TopicName(StrBytes::from_string(t.name.to_owned())))
                            .with_partition_data(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        PartitionProduceData::default()
                                            .with_index(p.index)
                                            .with_records(Some(p.records.clone()))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        let mut out = BytesMut::new();
        encode_request(&mut out, &header(version), &request).unwrap();
        out.to_vec()
    }

    fn batch(len: usize, seed: u8) -> Bytes {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect::<Vec<u8>>()
            .into()
    }

    #[test]
    fn matches_kafka_protocol_for_every_version_and_shape() {
        let one = [ProducePartition {
            index: 3,
            records: batch(70, 1),
        }];
        let several = [
            ProducePartition {
                index: 0,
                records: batch(200, 2),
            },
            ProducePartition {
                index: 5,
                records: Bytes::new(),
            },
            // A batch over 127 bytes takes a two-byte compact length.
            ProducePartition {
                index: 7,
                records: batch(300, 3),
            },
        ];
        let long_name = "t".repeat(200);
        let shapes: Vec<Vec<ProduceTopic<'_>>> = vec![
            vec![],
            vec![ProduceTopic {
                name: "events",
                partitions: &one,
            }],
            vec![ProduceTopic {
                name: "empty",
                partitions: &[],
            }],
            vec![
                ProduceTopic {
                    name: "a",
                    partitions: &several,
                },
                ProduceTopic {
                    name: &long_name,
                    partitions: &one,
                },
            ],
        ];
        let (min, max) = crate::versions::implemented_versions(ApiKey::Produce).unwrap();
        for version in min..=max {
            for transactional_id in [None, Some("tx-1")] {
                for topics in &shapes {
                    let frame = encode_produce_request(
                        &header(version),
                        transactional_id,
                        -1,
                        30_000,
                        topics,
                    )
                    .unwrap();
                    assert_eq!(
                        frame.to_vec(),
                        reference(version, transactional_id, topics),
                        "v{version} {transactional_id:?} {} topics",
                        topics.len()
                    );
                    assert_eq!(frame.len(), frame.to_vec().len());
                }
            }
        }
    }

    #[test]
    fn batches_are_not_copied() {
        let partitions = [
            ProducePartition {
                index: 0,
                records: batch(1000, 4),
            },
            ProducePartition {
                index: 1,
                records: batch(1000, 5),
            },
        ];
        for version in [3, 11] {
            let frame = encode_produce_request(
                &header(version),
                None,
                1,
                1000,
                &[ProduceTopic {
                    name: "t",
                    partitions: &partitions,
                }],
            )
            .unwrap();
            for p in &partitions {
                assert!(
                    frame
                        .tail
                        .iter()
                        .any(|piece| piece.as_ptr() == p.records.as_ptr()),
                    "v{version}: partition {}'s batch was copied",
                    p.index
                );
            }
            // Only the prefixes are in the head.
            assert!(frame.head.len() < 64, "{}", frame.head.len());
        }
    }

    #[test]
    fn refuses_what_it_cannot_write() {
        let one = [ProducePartition {
            index: 0,
            records: batch(10, 6),
        }];
        let topics = [ProduceTopic {
            name: "t",
            partitions: &one,
        }];
        for version in [2, 12] {
            let error =
                encode_produce_request(&header(version), None, 1, 1000, &topics).unwrap_err();
            assert!(error.to_string().contains("not implemented"), "{error}");
        }
        let mut wrong = header(9);
        wrong.api_key = ApiKey::Fetch;
        assert!(encode_produce_request(&wrong, None, 1, 1000, &topics).is_err());
        let long = "x".repeat(i16::MAX as usize + 1);
        for version in [3, 9] {
            let topics = [ProduceTopic {
                name: &long,
                partitions: &one,
            }];
            let error =
                encode_produce_request(&header(version), None, 1, 1000, &topics).unwrap_err();
            assert!(error.to_string().contains("too long"), "{error}");
        }
    }
}
