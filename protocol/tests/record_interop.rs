//! Interop with `kafka-protocol` 0.18, for every codec: batches we encode
//! decode with its `RecordBatchDecoder`, and batches its
//! `RecordBatchEncoder` writes decode with ours. Its custom-compression
//! hooks are plugged with our `compress` / `decompress` (it is built without
//! codecs here), so this also checks that our codecs read what they write
//! inside real batches, and that both sides agree on the batch framing, CRC,
//! varints and header fields.

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::compression::{self, Compression};
use ferrokafka_protocol::record::{BatchDecoder, BatchEncoder, BatchOptions, TimestampType};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression as KpCompression, Record, RecordBatchDecoder, RecordBatchEncoder,
    RecordEncodeOptions, TimestampType as KpTimestampType,
};

const LIMIT: usize = 64 * 1024 * 1024;

fn ours(c: KpCompression) -> Compression {
    match c {
        KpCompression::None => Compression::None,
        KpCompression::Gzip => Compression::Gzip,
        KpCompression::Snappy => Compression::Snappy,
        KpCompression::Lz4 => Compression::Lz4,
        KpCompression::Zstd => Compression::Zstd,
    }
}

fn theirs(c: Compression) -> KpCompression {
    match c {
        Compression::None => KpCompression::None,
        Compression::Gzip => KpCompression::Gzip,
        Compression::Snappy => KpCompression::Snappy,
        Compression::Lz4 => KpCompression::Lz4,
        Compression::Zstd => KpCompression::Zstd,
    }
}

fn kp_decompress(buf: &mut Bytes, c: KpCompression) -> anyhow::Result<Bytes> {
    Ok(Bytes::from(compression::decompress(ours(c), buf, LIMIT)?))
}

fn kp_compress(records: &mut BytesMut, out: &mut BytesMut, c: KpCompression) -> anyhow::Result<()> {
    compression::compress(ours(c), None, records, out)?;
    Ok(())
}

/// (timestamp, key, value, headers) — header keys unique, since
/// kafka-protocol keeps headers in a map.
type Case = (
    i64,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Vec<(String, Option<Vec<u8>>)>,
);

fn cases() -> Vec<Case> {
    let big: Vec<u8> = (0..150_000u32).map(|i| (i * 7 % 256) as u8).collect();
    vec![
        (
            1_600_000_000_000,
            Some(b"a".to_vec()),
            Some(b"alpha".to_vec()),
            vec![],
        ),
        (1_600_000_000_002, None, Some(b"no key".to_vec()), vec![]),
        (1_599_999_999_999, Some(b"dead".to_vec()), None, vec![]),
        (1_600_000_000_003, Some(vec![]), Some(vec![]), vec![]),
        (
            1_600_000_000_004,
            Some(b"h".to_vec()),
            Some(b"with headers".to_vec()),
            vec![
                ("one".into(), Some(b"1".to_vec())),
                ("null".into(), None),
                ("empty".into(), Some(vec![])),
            ],
        ),
        (1_600_000_000_100, Some(b"big".to_vec()), Some(big), vec![]),
    ]
}

#[test]
fn kafka_protocol_reads_our_batches() {
    let cases = cases();
    let mut encoder = BatchEncoder::new();
    for codec in Compression::ALL {
        for transactional in [false, true] {
            let options = BatchOptions {
                base_offset: 40,
                partition_leader_epoch: 6,
                producer_id: 321,
                producer_epoch: 8,
                base_sequence: 1_000,
                transactional,
                compression: codec,
                ..BatchOptions::default()
            };
            let mut out = BytesMut::new();
            let mut w = encoder.begin(&mut out, &options).unwrap();
            for (ts, k, v, h) in &cases {
                let h: Vec<(&str, Option<&[u8]>)> =
                    h.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
                w.append(*ts, k.as_deref(), v.as_deref(), &h).unwrap();
            }
            w.finish().unwrap();

            let mut buf = out.freeze();
            let set =
                RecordBatchDecoder::decode_with_custom_compression(&mut buf, Some(kp_decompress))
                    .unwrap();
            assert!(buf.is_empty());
            assert_eq!(set.version, 2);
            assert_eq!(set.compression, theirs(codec));
            assert_eq!(set.records.len(), cases.len());
            for (i, (r, (ts, k, v, h))) in set.records.iter().zip(&cases).enumerate() {
                let ctx = format!("{codec} txn={transactional} record {i}");
                assert_eq!(r.offset, 40 + i as i64, "{ctx}");
                assert_eq!(r.sequence, 1_000 + i as i32, "{ctx}");
                assert_eq!(r.timestamp, *ts, "{ctx}");
                assert_eq!(r.timestamp_type, KpTimestampType::Creation, "{ctx}");
                assert_eq!(r.transactional, transactional, "{ctx}");
                assert!(!r.control, "{ctx}");
                assert_eq!(r.producer_id, 321, "{ctx}");
                assert_eq!(r.producer_epoch, 8, "{ctx}");
                assert_eq!(r.partition_leader_epoch, 6, "{ctx}");
                assert_eq!(r.key.as_deref(), k.as_deref(), "{ctx}");
                assert_eq!(r.value.as_deref(), v.as_deref(), "{ctx}");
                let got: Vec<(String, Option<Vec<u8>>)> = r
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.as_ref().map(|v| v.to_vec())))
                    .collect();
                assert_eq!(&got, h, "{ctx}");
            }
        }
    }
}

#[test]
fn we_read_kafka_protocol_batches() {
    let cases = cases();
    for codec in Compression::ALL {
        for transactional in [false, true] {
            let records: Vec<Record> = cases
                .iter()
                .enumerate()
                .map(|(i, (ts, k, v, h))| Record {
                    transactional,
                    control: false,
                    delete_horizon: false,
                    partition_leader_epoch: 11,
                    producer_id: 99,
                    producer_epoch: 5,
                    timestamp_type: KpTimestampType::Creation,
                    offset: 500 + i as i64,
                    sequence: 70 + i as i32,
                    timestamp: *ts,
                    key: k.clone().map(Bytes::from),
                    value: v.clone().map(Bytes::from),
                    headers: h
                        .iter()
                        .map(|(k, v)| {
                            (StrBytes::from_string(k.clone()), v.clone().map(Bytes::from))
                        })
                        .collect::<IndexMap<_, _>>(),
                })
                .collect();
            let mut buf = BytesMut::new();
            RecordBatchEncoder::encode_with_custom_compression(
                &mut buf,
                &records,
                &RecordEncodeOptions {
                    version: 2,
                    compression: theirs(codec),
                },
                Some(kp_compress),
            )
            .unwrap();

            let mut decoder = BatchDecoder::new(buf.freeze());
            let batch = decoder.next().unwrap().unwrap();
            assert!(decoder.next().is_none());
            assert!(decoder.partial_tail().is_none());
            let ctx = format!("{codec} txn={transactional}");
            assert_eq!(batch.compression().unwrap(), codec, "{ctx}");
            assert_eq!(batch.is_transactional(), transactional, "{ctx}");
            assert_eq!(batch.timestamp_type(), TimestampType::CreateTime, "{ctx}");
            assert_eq!(batch.base_offset(), 500, "{ctx}");
            assert_eq!(batch.last_offset(), 500 + cases.len() as i64 - 1, "{ctx}");
            assert_eq!(batch.producer_id(), 99, "{ctx}");
            assert_eq!(batch.producer_epoch(), 5, "{ctx}");
            assert_eq!(batch.base_sequence(), 70, "{ctx}");
            assert_eq!(batch.partition_leader_epoch(), 11, "{ctx}");
            let min_ts = cases.iter().map(|c| c.0).min().unwrap();
            let max_ts = cases.iter().map(|c| c.0).max().unwrap();
            assert_eq!(batch.base_timestamp(), min_ts, "{ctx}");
            assert_eq!(batch.max_timestamp(), max_ts, "{ctx}");
            let records = batch.records().unwrap();
            assert_eq!(records.len(), cases.len());
            let mut n = 0;
            for (i, (r, (ts, k, v, h))) in records.iter().zip(&cases).enumerate() {
                let r = r.unwrap();
                assert_eq!(r.offset(), 500 + i as i64, "{ctx}");
                assert_eq!(r.timestamp(), *ts, "{ctx}");
                assert_eq!(r.key(), k.as_deref(), "{ctx}");
                assert_eq!(r.value(), v.as_deref(), "{ctx}");
                let got: Vec<(String, Option<Vec<u8>>)> = r
                    .headers()
                    .iter()
                    .map(|h| {
                        let h = h.unwrap();
                        (
                            h.key_str().unwrap().to_owned(),
                            h.value().map(<[u8]>::to_vec),
                        )
                    })
                    .collect();
                assert_eq!(&got, h, "{ctx}");
                n += 1;
            }
            assert_eq!(n, cases.len());
        }
    }
}
