//! The bench's batches and its decode loop, shared with
//! `examples/decode_vs_crc.rs`, which must run exactly the same decode.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::compression::Compression;
use ferrokafka_protocol::record::{BatchBuilder, BatchDecoder};

pub(crate) const RECORDS_PER_BATCH: usize = 1000;
pub(crate) const BATCHES: usize = 8;
pub(crate) const LIMIT: usize = 64 * 1024 * 1024;

#[derive(Clone, Copy)]
pub(crate) struct Shape {
    pub(crate) name: &'static str,
    pub(crate) value_len: usize,
    pub(crate) key_len: Option<usize>,
    pub(crate) headers: usize,
}

pub(crate) const SHAPES: [Shape; 2] = [
    Shape {
        name: "100B",
        value_len: 100,
        key_len: None,
        headers: 0,
    },
    Shape {
        name: "1KiB",
        value_len: 1024,
        key_len: Some(16),
        headers: 2,
    },
];

/// Values that compress somewhat, as real payloads do (not all zeros).
pub(crate) fn payload(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[(i * 7 + seed * 13 + i / 5) % 36])
        .collect()
}

pub(crate) struct Input {
    pub(crate) keys: Vec<Option<Vec<u8>>>,
    pub(crate) values: Vec<Vec<u8>>,
    pub(crate) header_names: Vec<String>,
    pub(crate) header_value: Vec<u8>,
}

pub(crate) fn input(shape: Shape) -> Input {
    Input {
        keys: (0..RECORDS_PER_BATCH)
            .map(|i| shape.key_len.map(|len| payload(len, i + 1000)))
            .collect(),
        values: (0..RECORDS_PER_BATCH)
            .map(|i| payload(shape.value_len, i))
            .collect(),
        header_names: (0..shape.headers).map(|i| format!("header-{i}")).collect(),
        header_value: b"trace-0123456789".to_vec(),
    }
}

pub(crate) fn encode_ours(builder: &mut BatchBuilder, input: &Input, out: &mut BytesMut) {
    let headers: Vec<(&str, Option<&[u8]>)> = input
        .header_names
        .iter()
        .map(|name| (name.as_str(), Some(input.header_value.as_slice())))
        .collect();
    for (i, value) in input.values.iter().enumerate() {
        builder.append(
            1_700_000_000_000 + i as i64,
            input.keys[i].as_deref(),
            Some(value),
            &headers,
        );
    }
    builder.finish(out).expect("encode");
}

/// One fetched buffer holding `BATCHES` batches, as a fetch response carries them.
pub(crate) fn fetched(shape: Shape, codec: Compression) -> Bytes {
    let input = input(shape);
    let mut out = BytesMut::new();
    for _ in 0..BATCHES {
        let mut builder = BatchBuilder::new(codec);
        encode_ours(&mut builder, &input, &mut out);
    }
    out.freeze()
}

/// The decode both programs time: verify the CRC (unless `verify_crc` is
/// false: the walk alone), iterate every record, touch key, value and
/// every header key and value.
pub(crate) fn decode_ours(buf: &Bytes, verify_crc: bool) -> usize {
    let mut touched = 0usize;
    let batches = BatchDecoder::new(buf.clone())
        .verify_crc(verify_crc)
        .max_decompressed_bytes(LIMIT);
    for batch in batches {
        let batch = batch.expect("batch");
        let records = batch.records_with_limit(LIMIT).expect("records");
        for record in records.iter() {
            let record = record.expect("record");
            touched += black_box(record.key()).map_or(0, <[u8]>::len);
            touched += black_box(record.value()).map_or(0, <[u8]>::len);
            for header in record.headers().iter() {
                let header = header.expect("header");
                touched += black_box(header.key()).len();
                touched += black_box(header.value()).map_or(0, <[u8]>::len);
            }
        }
    }
    touched
}
