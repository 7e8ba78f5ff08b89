//! Decoding allocates per batch, never per record: counted with a counting
//! allocator over 8 batches of 1000 records, uncompressed and compressed.
//! (`docs/PERFORMANCE.md` quotes the counts this test prints.)

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

#[global_allocator]
static ALLOC: counting_alloc::Counting = counting_alloc::Counting;

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::compression::Compression;
use ferrokafka_protocol::record::{BatchBuilder, BatchDecoder};

const RECORDS: usize = 1000;
const BATCHES: usize = 8;

fn fetched(codec: Compression) -> Bytes {
    let mut out = BytesMut::new();
    let value = vec![b'v'; 1024];
    for _ in 0..BATCHES {
        let mut builder = BatchBuilder::new(codec);
        for i in 0..RECORDS {
            builder.append(
                i as i64,
                Some(b"key-0123456789ab"),
                Some(&value),
                &[("a", Some(b"1".as_slice())), ("a", None)],
            );
        }
        builder.finish(&mut out).unwrap();
    }
    out.freeze()
}

fn decode_touching_everything(buf: &Bytes) -> usize {
    let mut touched = 0;
    for batch in BatchDecoder::new(buf.clone()) {
        let batch = batch.unwrap();
        batch.verify_crc().unwrap();
        for record in batch.records().unwrap().iter() {
            let record = record.unwrap();
            touched += record.key().map_or(0, <[u8]>::len) + record.value().map_or(0, <[u8]>::len);
            for header in record.headers().iter() {
                let header = header.unwrap();
                touched += header.key().len() + header.value().map_or(0, <[u8]>::len);
            }
        }
    }
    touched
}

#[test]
fn decoding_allocates_per_batch_not_per_record() {
    for codec in Compression::ALL {
        let buf = fetched(codec);
        // A `Bytes` frozen from a `BytesMut` is "promotable": its first clone
        // allocates the shared header (once per buffer, in `bytes`). A
        // fetched buffer cut from a network frame is shared already; do the
        // promotion here so the count below is the decoder's alone.
        drop(buf.clone());
        let (touched, measured) = counting_alloc::measure(|| decode_touching_everything(&buf));
        assert_eq!(touched, BATCHES * RECORDS * (16 + 1024 + 1 + 1 + 1));
        let per_record = measured.count as f64 / (BATCHES * RECORDS) as f64;
        println!(
            "{:>6}: {} allocations for {} records ({per_record:.4} per record)",
            codec.name(),
            measured.count,
            BATCHES * RECORDS
        );
        // Uncompressed: nothing at all. Compressed: the decompressed buffer and
        // the codec's own state, a handful per batch.
        let per_batch_budget = if codec == Compression::None { 0 } else { 16 };
        assert!(
            measured.count <= BATCHES * per_batch_budget,
            "{}: {} allocations for {BATCHES} batches",
            codec.name(),
            measured.count
        );
    }
}
