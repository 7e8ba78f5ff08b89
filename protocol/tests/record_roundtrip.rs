//! Record batch v2: byte-exact golden batch, and encode → decode round trips
//! for every codec and every record/batch feature.

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::compression::Compression;
use ferrokafka_protocol::record::{
    write_control_batch, BatchBuilder, BatchDecoder, BatchEncoder, BatchOptions, ControlRecordType,
    EndTransactionMarker, RecordBatch, RecordError, TimestampType,
};

/// A record as the test writes it.
#[derive(Debug, Clone, PartialEq)]
struct Rec {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Rec {
    fn new(timestamp: i64, key: Option<&[u8]>, value: Option<&[u8]>) -> Self {
        Rec {
            timestamp,
            key: key.map(<[u8]>::to_vec),
            value: value.map(<[u8]>::to_vec),
            headers: Vec::new(),
        }
    }

    fn header(mut self, key: &str, value: Option<&[u8]>) -> Self {
        self.headers
            .push((key.to_owned(), value.map(<[u8]>::to_vec)));
        self
    }
}

fn write_batch(
    out: &mut BytesMut,
    encoder: &mut BatchEncoder,
    options: &BatchOptions,
    recs: &[Rec],
) {
    let mut writer = encoder.begin(out, options).unwrap();
    for r in recs {
        let headers: Vec<(&str, Option<&[u8]>)> = r
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_deref()))
            .collect();
        let size = writer
            .record_size(r.timestamp, r.key.as_deref(), r.value.as_deref(), &headers)
            .unwrap();
        let before = writer.estimated_size();
        writer
            .append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &headers)
            .unwrap();
        assert_eq!(writer.estimated_size(), before + size);
    }
    let summary = writer.finish().unwrap();
    assert_eq!(summary.record_count as usize, recs.len());
}

/// Decodes every record of every batch back into `Rec`s, with offsets.
fn read_all(buf: Bytes) -> Vec<(RecordBatch, Vec<(i64, Rec)>)> {
    let mut decoder = BatchDecoder::new(buf);
    let mut out = Vec::new();
    for batch in &mut decoder {
        let batch = batch.unwrap();
        let records = batch.records().unwrap();
        let mut recs = Vec::new();
        for r in &records {
            let r = r.unwrap();
            // The Bytes accessors share the buffer and agree with the slices.
            assert_eq!(r.key_bytes().as_deref(), r.key());
            assert_eq!(r.value_bytes().as_deref(), r.value());
            recs.push((
                r.offset(),
                Rec {
                    timestamp: r.timestamp(),
                    key: r.key().map(<[u8]>::to_vec),
                    value: r.value().map(<[u8]>::to_vec),
                    headers: r
                        .headers()
                        .iter()
                        .map(|h| {
                            let h = h.unwrap();
                            assert_eq!(&h.key_bytes()[..], h.key());
                            assert_eq!(h.value_bytes().as_deref(), h.value());
                            (
                                h.key_str().unwrap().to_owned(),
                                h.value().map(<[u8]>::to_vec),
                            )
                        })
                        .collect(),
                },
            ));
        }
        out.push((batch, recs));
    }
    assert!(decoder.partial_tail().is_none());
    out
}

/// The records every round trip writes: null and empty keys and values,
/// duplicate header keys with null values, timestamps going backwards, and
/// a value large enough to span several compression blocks.
fn sample_records() -> Vec<Rec> {
    let big: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    vec![
        Rec::new(1_700_000_000_000, Some(b"key-1"), Some(b"value-1")),
        Rec::new(1_700_000_000_010, None, Some(b"null key")),
        Rec::new(1_700_000_000_005, Some(b"tombstone"), None),
        Rec::new(1_699_999_999_000, None, None),
        Rec::new(1_700_000_000_000, Some(b""), Some(b"")),
        Rec::new(1_700_000_000_020, Some(b"hdrs"), Some(b"v"))
            .header("trace", Some(b"abc"))
            .header("dup", Some(b"1"))
            .header("null", None)
            .header("dup", Some(b"2"))
            .header("dup", None)
            .header("", Some(b"")),
        Rec::new(1_700_000_000_030, Some(b"big"), Some(&big)),
        Rec::new(i64::MIN / 2, Some(b"far past"), Some(b"x")),
    ]
}

#[test]
fn golden_uncompressed_batch_is_byte_exact() {
    let options = BatchOptions {
        base_offset: 5,
        partition_leader_epoch: 9,
        producer_id: 1000,
        producer_epoch: 2,
        base_sequence: 7,
        ..BatchOptions::default()
    };
    let mut out = BytesMut::new();
    let mut encoder = BatchEncoder::new();
    let mut w = encoder.begin(&mut out, &options).unwrap();
    w.append(1_700_000_000_000, Some(b"k"), Some(b"v1"), &[])
        .unwrap();
    w.append(
        1_700_000_000_005,
        None,
        Some(b"v2"),
        &[("h", Some(b"x")), ("h", None)],
    )
    .unwrap();
    let summary = w.finish().unwrap();

    #[rustfmt::skip]
    let expected: &[u8] = &[
        0, 0, 0, 0, 0, 0, 0, 5,             // baseOffset 5
        0, 0, 0, 75,                        // batchLength: 87 bytes - 12
        0, 0, 0, 9,                         // partitionLeaderEpoch 9
        2,                                  // magic 2
        0x9d, 0xa4, 0x03, 0xe9,             // crc: CRC-32C of bytes 21..87 (checked with a bitwise reference)
        0, 0,                               // attributes: no codec, CreateTime, not transactional, not control
        0, 0, 0, 1,                         // lastOffsetDelta 1
        0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x00, // baseTimestamp 1_700_000_000_000
        0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x05, // maxTimestamp 1_700_000_000_005
        0, 0, 0, 0, 0, 0, 0x03, 0xe8,       // producerId 1000
        0, 2,                               // producerEpoch 2
        0, 0, 0, 7,                         // baseSequence 7
        0, 0, 0, 2,                         // recordCount 2
        // record 0
        0x12,                               // length 9 (zigzag 18)
        0,                                  // attributes
        0x00,                               // timestampDelta 0
        0x00,                               // offsetDelta 0
        0x02, b'k',                         // keyLength 1, "k"
        0x04, b'v', b'1',                   // valueLength 2, "v1"
        0x00,                               // headerCount 0
        // record 1
        0x1e,                               // length 15 (zigzag 30)
        0,                                  // attributes
        0x0a,                               // timestampDelta 5 (zigzag 10)
        0x02,                               // offsetDelta 1
        0x01,                               // keyLength -1: null key
        0x04, b'v', b'2',                   // valueLength 2, "v2"
        0x04,                               // headerCount 2
        0x02, b'h', 0x02, b'x',             // header "h" = "x"
        0x02, b'h', 0x01,                   // header "h" = null
    ];
    assert_eq!(&out[..], expected);
    assert_eq!(summary.crc, 0x9da4_03e9);
    assert_eq!(summary.size_in_bytes, 87);
    assert_eq!(summary.last_offset_delta, 1);

    let batch = BatchDecoder::new(out.freeze()).next().unwrap().unwrap();
    assert_eq!(batch.crc(), 0x9da4_03e9);
    assert_eq!(batch.compute_crc(), 0x9da4_03e9);
    assert_eq!(batch.base_offset(), 5);
    assert_eq!(batch.last_offset(), 6);
    assert_eq!(batch.next_offset(), 7);
    assert_eq!(batch.batch_length(), 75);
    assert_eq!(batch.partition_leader_epoch(), 9);
    assert_eq!(batch.producer_id(), 1000);
    assert_eq!(batch.producer_epoch(), 2);
    assert_eq!(batch.base_sequence(), 7);
    assert_eq!(batch.record_count(), 2);
    let records = batch.records().unwrap();
    let r: Vec<_> = records.iter().map(Result::unwrap).collect();
    assert_eq!((r[0].offset(), r[0].timestamp()), (5, 1_700_000_000_000));
    assert_eq!((r[1].offset(), r[1].timestamp()), (6, 1_700_000_000_005));
    let h = r[1].headers();
    assert_eq!(h.len(), 2);
    let all: Vec<_> = h.get_all(b"h").map(|h| h.unwrap().value()).collect();
    assert_eq!(all, vec![Some(&b"x"[..]), None]);
    assert_eq!(h.first(b"h").unwrap().unwrap().value(), Some(&b"x"[..]));
    assert!(h.last(b"h").unwrap().unwrap().value().is_none());
    assert!(h.first(b"nope").unwrap().is_none());
}

#[test]
fn every_codec_round_trips_every_feature() {
    let recs = sample_records();
    let mut encoder = BatchEncoder::new();
    for codec in Compression::ALL {
        for timestamp_type in [TimestampType::CreateTime, TimestampType::LogAppendTime] {
            for transactional in [false, true] {
                let options = BatchOptions {
                    base_offset: 1_000,
                    partition_leader_epoch: 4,
                    producer_id: 77,
                    producer_epoch: 3,
                    base_sequence: 120,
                    transactional,
                    timestamp_type,
                    compression: codec,
                    ..BatchOptions::default()
                };
                let mut out = BytesMut::new();
                write_batch(&mut out, &mut encoder, &options, &recs);
                let decoded = read_all(out.freeze());
                assert_eq!(decoded.len(), 1);
                let (batch, got) = &decoded[0];
                let ctx = format!("{codec} {timestamp_type:?} txn={transactional}");
                assert_eq!(batch.compression().unwrap(), codec, "{ctx}");
                assert_eq!(batch.timestamp_type(), timestamp_type, "{ctx}");
                assert_eq!(batch.is_transactional(), transactional, "{ctx}");
                assert!(!batch.is_control(), "{ctx}");
                assert!(!batch.has_delete_horizon(), "{ctx}");
                assert_eq!(batch.control_type().unwrap(), None, "{ctx}");
                assert_eq!(batch.producer_id(), 77, "{ctx}");
                assert_eq!(batch.producer_epoch(), 3, "{ctx}");
                assert_eq!(batch.base_sequence(), 120, "{ctx}");
                assert_eq!(batch.partition_leader_epoch(), 4, "{ctx}");
                assert_eq!(batch.record_count() as usize, recs.len(), "{ctx}");
                assert_eq!(batch.base_offset(), 1_000, "{ctx}");
                assert_eq!(batch.last_offset(), 1_000 + recs.len() as i64 - 1, "{ctx}");
                assert_eq!(batch.base_timestamp(), recs[0].timestamp, "{ctx}");
                let max_ts = recs.iter().map(|r| r.timestamp).max().unwrap();
                assert_eq!(batch.max_timestamp(), max_ts, "{ctx}");
                for (i, ((offset, got), want)) in got.iter().zip(&recs).enumerate() {
                    assert_eq!(*offset, 1_000 + i as i64, "{ctx}");
                    let mut want = want.clone();
                    if timestamp_type == TimestampType::LogAppendTime {
                        want.timestamp = max_ts;
                    }
                    assert_eq!(got, &want, "{ctx} record {i}");
                }
            }
        }
    }
}

#[test]
fn batches_of_every_codec_share_one_buffer() {
    let recs = sample_records();
    let mut out = BytesMut::new();
    let mut encoder = BatchEncoder::new();
    let mut base = 0i64;
    for codec in Compression::ALL {
        let levels = match codec {
            Compression::Gzip => vec![None, Some(1)],
            Compression::Lz4 => vec![None, Some(9)],
            Compression::Zstd => vec![None, Some(19)],
            _ => vec![None],
        };
        for level in levels {
            let options = BatchOptions {
                base_offset: base,
                compression: codec,
                compression_level: level,
                ..BatchOptions::default()
            };
            write_batch(&mut out, &mut encoder, &options, &recs);
            base += recs.len() as i64;
        }
    }
    write_control_batch(
        &mut out,
        &BatchOptions {
            base_offset: base,
            producer_id: 5,
            producer_epoch: 1,
            ..BatchOptions::default()
        },
        42,
        EndTransactionMarker::commit(3),
    )
    .unwrap();
    let decoded = read_all(out.freeze());
    assert_eq!(decoded.len(), 9);
    let mut expected_offset = 0;
    for (batch, got) in &decoded[..8] {
        assert_eq!(batch.base_offset(), expected_offset);
        assert_eq!(got.len(), recs.len());
        for (i, (offset, rec)) in got.iter().enumerate() {
            assert_eq!(*offset, expected_offset + i as i64);
            assert_eq!(rec, &recs[i]);
        }
        expected_offset = batch.next_offset();
    }
    let (control, _) = &decoded[8];
    assert_eq!(control.base_offset(), base);
    assert_eq!(
        control.control_type().unwrap(),
        Some(ControlRecordType::Commit)
    );
}

#[test]
fn control_batches_carry_commit_and_abort_markers() {
    for (marker, kind) in [
        (EndTransactionMarker::commit(12), ControlRecordType::Commit),
        (EndTransactionMarker::abort(13), ControlRecordType::Abort),
    ] {
        let mut out = BytesMut::new();
        let options = BatchOptions {
            base_offset: 300,
            producer_id: 9_000,
            producer_epoch: 4,
            base_sequence: 55, // ignored: control batches have no sequence
            compression: Compression::Zstd, // ignored: control batches are not compressed
            ..BatchOptions::default()
        };
        let summary = write_control_batch(&mut out, &options, 1_234, marker).unwrap();
        assert_eq!(summary.record_count, 1);
        let batch = BatchDecoder::new(out.freeze()).next().unwrap().unwrap();
        assert!(batch.is_control());
        assert!(batch.is_transactional());
        assert_eq!(batch.compression().unwrap(), Compression::None);
        assert_eq!(batch.base_sequence(), -1);
        assert_eq!(batch.producer_id(), 9_000);
        assert_eq!(batch.producer_epoch(), 4);
        assert_eq!(batch.control_type().unwrap(), Some(kind));
        let records = batch.records().unwrap();
        let r = records.iter().next().unwrap().unwrap();
        assert_eq!(r.offset(), 300);
        assert_eq!(r.timestamp(), 1_234);
        assert_eq!(r.control_type().unwrap(), kind);
        let parsed =
            EndTransactionMarker::parse(r.key().unwrap(), r.value(), batch.base_offset()).unwrap();
        assert_eq!(parsed, marker);
    }
}

#[test]
fn truncated_final_batch_is_skipped_and_reported() {
    let recs = sample_records();
    let mut out = BytesMut::new();
    let mut encoder = BatchEncoder::new();
    write_batch(&mut out, &mut encoder, &BatchOptions::default(), &recs[..3]);
    let first_len = out.len();
    let second = BatchOptions {
        base_offset: 3,
        ..BatchOptions::default()
    };
    write_batch(&mut out, &mut encoder, &second, &recs[..3]);
    let full = out.freeze();
    for cut in first_len..full.len() {
        let mut decoder = BatchDecoder::new(full.slice(..cut));
        let batches: Vec<_> = (&mut decoder).map(Result::unwrap).collect();
        assert_eq!(batches.len(), 1, "cut at {cut}");
        assert_eq!(decoder.position(), first_len);
        let tail = decoder.partial_tail();
        if cut == first_len {
            assert!(tail.is_none());
        } else {
            let tail = tail.unwrap();
            assert_eq!(tail.bytes, cut - first_len);
            assert_eq!(tail.base_offset, (tail.bytes >= 8).then_some(3));
            let len = (full.len() - first_len - 12) as i32;
            assert_eq!(tail.batch_length, (tail.bytes >= 12).then_some(len));
        }
    }
}

#[test]
fn writer_rolls_back_unfinished_and_failed_batches() {
    let mut out = BytesMut::from(&b"prefix"[..]);
    let mut encoder = BatchEncoder::new();
    {
        let mut w = encoder.begin(&mut out, &BatchOptions::default()).unwrap();
        w.append(1, None, Some(b"dropped"), &[]).unwrap();
        // dropped without finish
    }
    assert_eq!(&out[..], b"prefix");
    let w = encoder.begin(&mut out, &BatchOptions::default()).unwrap();
    assert!(matches!(w.finish(), Err(RecordError::EmptyBatch)));
    assert_eq!(&out[..], b"prefix");

    // Invalid levels are refused when the batch begins.
    let bad = BatchOptions {
        compression: Compression::Gzip,
        compression_level: Some(42),
        ..BatchOptions::default()
    };
    assert!(matches!(
        encoder.begin(&mut out, &bad),
        Err(RecordError::Compression(_))
    ));
    assert_eq!(&out[..], b"prefix");

    // A timestamp whose delta overflows is refused and writes nothing.
    let mut w = encoder.begin(&mut out, &BatchOptions::default()).unwrap();
    w.append(i64::MIN, None, None, &[]).unwrap();
    assert!(matches!(
        w.append(i64::MAX, None, None, &[]),
        Err(RecordError::Overflow { .. })
    ));
    assert_eq!(w.record_count(), 1);
    w.finish().unwrap();
    let (_, recs) = read_all(out.split_off(6).freeze()).pop().unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].1.timestamp, i64::MIN);
}

#[test]
fn crc_verification_can_be_turned_off() {
    let mut out = BytesMut::new();
    write_batch(
        &mut out,
        &mut BatchEncoder::new(),
        &BatchOptions::default(),
        &sample_records()[..2],
    );
    let last = out.len() - 1;
    out[last] ^= 0x01; // damage the last record's header count
    let damaged = out.freeze();
    let err = BatchDecoder::new(damaged.clone())
        .next()
        .unwrap()
        .unwrap_err();
    assert!(
        matches!(err, RecordError::Corrupt { base_offset: 0, .. }),
        "{err}"
    );
    let batch = BatchDecoder::new(damaged)
        .verify_crc(false)
        .next()
        .unwrap()
        .unwrap();
    assert!(batch.verify_crc().is_err());
}

#[test]
fn builder_writes_the_same_bytes_as_the_writer() {
    let recs = sample_records();
    let mut builder = BatchBuilder::new(Compression::None);
    for codec in Compression::ALL {
        let options = BatchOptions {
            base_offset: 12,
            producer_id: 3,
            producer_epoch: 1,
            base_sequence: 0,
            compression: codec,
            ..BatchOptions::default()
        };
        let mut expected = BytesMut::new();
        write_batch(&mut expected, &mut BatchEncoder::new(), &options, &recs);

        builder.set_options(options).unwrap();
        for r in &recs {
            let headers: Vec<(&str, Option<&[u8]>)> = r
                .headers
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_deref()))
                .collect();
            builder.append(r.timestamp, r.key.as_deref(), r.value.as_deref(), &headers);
        }
        assert_eq!(builder.record_count() as usize, recs.len());
        let mut out = BytesMut::from(&b"before"[..]);
        let summary = builder.finish(&mut out).unwrap();
        assert_eq!(&out[..6], b"before");
        assert_eq!(&out[6..], &expected[..], "{codec}");
        assert_eq!(summary.size_in_bytes, expected.len());
        // The builder is reset and reusable.
        assert!(builder.is_empty());
    }
}

#[test]
fn builder_keeps_the_first_error_for_finish() {
    let mut builder = BatchBuilder::with_options(BatchOptions {
        compression: Compression::Snappy,
        ..BatchOptions::default()
    })
    .unwrap();
    builder
        .append(i64::MIN, None, Some(b"a"), &[])
        .append(i64::MAX, None, Some(b"overflowing delta"), &[])
        .append(0, None, Some(b"ignored after the error"), &[]);
    let mut out = BytesMut::from(&b"x"[..]);
    assert!(matches!(
        builder.finish(&mut out),
        Err(RecordError::Overflow { .. })
    ));
    assert_eq!(&out[..], b"x");
    assert!(matches!(
        builder.finish(&mut out),
        Err(RecordError::EmptyBatch)
    ));
    assert!(builder.try_append(5, None, Some(b"ok"), &[]).is_ok());
    builder.finish(&mut out).unwrap();
    let (_, recs) = read_all(out.split_off(1).freeze()).pop().unwrap();
    assert_eq!(recs[0].1.value.as_deref(), Some(&b"ok"[..]));
    assert!(BatchBuilder::with_options(BatchOptions {
        compression: Compression::Zstd,
        compression_level: Some(99),
        ..BatchOptions::default()
    })
    .is_err());
}
