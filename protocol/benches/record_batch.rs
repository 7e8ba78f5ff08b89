//! Record batch v2 encode and decode, ferrokafka beside kafka-protocol's
//! `RecordBatchEncoder`/`RecordBatchDecoder` on the same batches, plus the
//! machine's raw CRC-32C speed over the same bytes as the ceiling.
//!
//! Scenarios (1000 records per batch, 8 batches per iteration):
//! - `100B`: 100-byte values, null keys, no headers;
//! - `1KiB`: 1 KiB values, 16-byte keys, two headers.
//!
//! Each with no codec and with gzip, snappy, lz4 and zstd.
//!
//! Decode = verify the CRC, iterate every record, touch key, value and every
//! header key and value. kafka-protocol is given our decompressors through
//! its custom-compression hook (its own lz4/zstd features link C), so the
//! codecs are the same on both sides and the comparison is of the batch code.
//!
//! Run: `cargo bench -p ferrokafka-protocol --bench record_batch`

use std::hint::black_box;

mod shapes;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use ferrokafka_protocol::compression::{self, Compression};
use ferrokafka_protocol::record::BatchBuilder;
use indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression as KpCompression, Record, RecordBatchDecoder, RecordBatchEncoder,
    RecordEncodeOptions, TimestampType,
};
use shapes::{
    decode_ours, encode_ours, fetched, input, Input, BATCHES, LIMIT, RECORDS_PER_BATCH, SHAPES,
};

fn kp_codec(codec: Compression) -> KpCompression {
    match codec {
        Compression::None => KpCompression::None,
        Compression::Gzip => KpCompression::Gzip,
        Compression::Snappy => KpCompression::Snappy,
        Compression::Lz4 => KpCompression::Lz4,
        Compression::Zstd => KpCompression::Zstd,
    }
}

fn our_codec(codec: KpCompression) -> Compression {
    match codec {
        KpCompression::None => Compression::None,
        KpCompression::Gzip => Compression::Gzip,
        KpCompression::Snappy => Compression::Snappy,
        KpCompression::Lz4 => Compression::Lz4,
        KpCompression::Zstd => Compression::Zstd,
    }
}

fn kp_records(input: &Input) -> Vec<Record> {
    (0..RECORDS_PER_BATCH)
        .map(|i| {
            let mut headers = IndexMap::new();
            for name in &input.header_names {
                headers.insert(
                    StrBytes::from_string(name.clone()),
                    Some(Bytes::from(input.header_value.clone())),
                );
            }
            Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: -1,
                timestamp: 1_700_000_000_000 + i as i64,
                key: input.keys[i].clone().map(Bytes::from),
                value: Some(Bytes::from(input.values[i].clone())),
                headers,
            }
        })
        .collect()
}

fn encode_kp(records: &[Record], codec: Compression, out: &mut BytesMut) {
    let options = RecordEncodeOptions {
        version: 2,
        compression: kp_codec(codec),
    };
    RecordBatchEncoder::encode_with_custom_compression(
        out,
        records,
        &options,
        Some(|raw: &mut BytesMut, out: &mut BytesMut, c: KpCompression| {
            compression::compress(our_codec(c), None, raw, out)
                .map_err(|e| anyhow::anyhow!(e.to_string()))
        }),
    )
    .expect("kafka-protocol encode");
}

fn decode_kp(buf: &Bytes) -> usize {
    let mut touched = 0usize;
    let mut buf = buf.clone();
    while !buf.is_empty() {
        let set = RecordBatchDecoder::decode_with_custom_compression(
            &mut buf,
            Some(|raw: &mut Bytes, c: KpCompression| {
                compression::decompress(our_codec(c), raw, LIMIT)
                    .map(Bytes::from)
                    .map_err(|e| anyhow::anyhow!(e.to_string()))
            }),
        )
        .expect("kafka-protocol decode");
        for record in &set.records {
            touched += black_box(record.key.as_deref()).map_or(0, <[u8]>::len);
            touched += black_box(record.value.as_deref()).map_or(0, <[u8]>::len);
            for (key, value) in &record.headers {
                touched += black_box(key.as_str()).len();
                touched += black_box(value.as_deref()).map_or(0, <[u8]>::len);
            }
        }
    }
    touched
}

fn decode(c: &mut Criterion) {
    for shape in SHAPES {
        let mut group = c.benchmark_group(format!("decode/{}", shape.name));
        group.throughput(Throughput::Elements((RECORDS_PER_BATCH * BATCHES) as u64));
        for codec in Compression::ALL {
            let buf = fetched(shape, codec);
            assert_eq!(
                decode_ours(&buf, true),
                decode_kp(&buf),
                "both decoders see the same bytes"
            );
            group.bench_with_input(
                BenchmarkId::new("ferrokafka", codec.name()),
                &buf,
                |b, buf| b.iter(|| decode_ours(buf, true)),
            );
            group.bench_with_input(
                BenchmarkId::new("kafka-protocol", codec.name()),
                &buf,
                |b, buf| b.iter(|| decode_kp(buf)),
            );
        }
        group.finish();
    }
}

/// The ceiling for an uncompressed decode: CRC-32C over the same bytes.
fn crc(c: &mut Criterion) {
    for shape in SHAPES {
        let buf = fetched(shape, Compression::None);
        let mut group = c.benchmark_group(format!("crc32c/{}", shape.name));
        group.throughput(Throughput::Elements((RECORDS_PER_BATCH * BATCHES) as u64));
        group.bench_function("crc32c-only", |b| {
            b.iter(|| crc32c::crc32c(black_box(&buf)))
        });
        group.finish();
    }
}

fn encode(c: &mut Criterion) {
    for shape in SHAPES {
        let input = input(shape);
        let records = kp_records(&input);
        let mut group = c.benchmark_group(format!("encode/{}", shape.name));
        group.throughput(Throughput::Elements(RECORDS_PER_BATCH as u64));
        for codec in Compression::ALL {
            let mut out = BytesMut::with_capacity(2 * RECORDS_PER_BATCH * (shape.value_len + 64));
            let mut builder = BatchBuilder::new(codec);
            group.bench_function(BenchmarkId::new("ferrokafka", codec.name()), |b| {
                b.iter(|| {
                    out.clear();
                    encode_ours(&mut builder, &input, &mut out);
                    out.len()
                })
            });
            group.bench_function(BenchmarkId::new("kafka-protocol", codec.name()), |b| {
                b.iter(|| {
                    out.clear();
                    encode_kp(&records, codec, &mut out);
                    out.len()
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, decode, crc, encode);
criterion_main!(benches);
