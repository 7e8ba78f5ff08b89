//! Decode versus CRC-32C on 1 KiB records: the decode's share of this
//! machine's CRC-32C throughput.
//!
//! Runs the same decode as the criterion bench (`benches/record_batch.rs`:
//! verify the CRC, iterate every record, touch key, value and every
//! header) and CRC-32C alone over the same 8 batches × 1000 records, and
//! the decode without the CRC check (the walk). The three steps alternate
//! in many short rounds, timed in wall-clock time. On a shared machine a
//! round can only be slowed down by others, never sped up, so the fastest
//! round of each step is the estimate of its cost; the median is printed
//! too, to show how noisy the run was.
//!
//! Run: `cargo run -p ferrokafka-protocol --release --example decode_vs_crc
//! -- [rounds] [iterations per round]` (default 201 and 10: about 5 ms per
//! step and round).

use std::hint::black_box;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::compression::Compression;
use ferrokafka_protocol::record::{BatchBuilder, BatchDecoder};

const RECORDS_PER_BATCH: usize = 1000;
const BATCHES: usize = 8;

/// The bench's payloads: values that compress somewhat.
fn payload(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|i| b"abcdefghijklmnopqrstuvwxyz0123456789"[(i * 7 + seed * 13 + i / 5) % 36])
        .collect()
}

/// The bench's `1KiB` shape: 1 KiB values, 16-byte keys, two headers.
fn fetched() -> Bytes {
    let header_value = b"trace-0123456789".to_vec();
    let headers: Vec<(&str, Option<&[u8]>)> = vec![
        ("header-0", Some(&header_value[..])),
        ("header-1", Some(&header_value[..])),
    ];
    let mut out = BytesMut::new();
    for _ in 0..BATCHES {
        let mut builder = BatchBuilder::new(Compression::None);
        for i in 0..RECORDS_PER_BATCH {
            let key = payload(16, i + 1000);
            let value = payload(1024, i);
            builder.append(
                1_700_000_000_000 + i as i64,
                Some(&key),
                Some(&value),
                &headers,
            );
        }
        builder.finish(&mut out).expect("encode");
    }
    out.freeze()
}

/// The bench's `decode_ours`, with the CRC check optional.
fn decode(buf: &Bytes, verify_crc: bool) -> usize {
    let mut touched = 0usize;
    for batch in BatchDecoder::new(buf.clone()).verify_crc(verify_crc) {
        let batch = batch.expect("batch");
        let records = batch.records().expect("records");
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

/// Wall-clock ns per record of `iterations` runs of `f`.
fn per_record(iterations: usize, mut f: impl FnMut() -> usize) -> f64 {
    let start = Instant::now();
    for _ in 0..iterations {
        black_box(f());
    }
    start.elapsed().as_nanos() as f64 / (iterations * RECORDS_PER_BATCH * BATCHES) as f64
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(201, |a| a.parse().expect("rounds"));
    let iterations: usize = args.next().map_or(10, |a| a.parse().expect("iterations"));
    let buf = fetched();
    let (mut crc, mut dec, mut walk) = (vec![], vec![], vec![]);
    for _ in 0..rounds {
        crc.push(per_record(iterations, || {
            crc32c::crc32c(black_box(&buf)) as usize
        }));
        dec.push(per_record(iterations, || decode(&buf, true)));
        walk.push(per_record(iterations, || decode(&buf, false)));
    }
    for v in [&mut crc, &mut dec, &mut walk] {
        v.sort_by(f64::total_cmp);
    }
    let median = rounds / 2;
    println!(
        "ns per record (fastest / median of {rounds} rounds): crc32c {:.2} / {:.2}, \
         decode {:.2} / {:.2}, walk without CRC {:.2} / {:.2}",
        crc[0], crc[median], dec[0], dec[median], walk[0], walk[median]
    );
    println!(
        "decode / CRC-32C throughput: {:.3} (fastest rounds), {:.3} (medians)",
        crc[0] / dec[0],
        crc[median] / dec[median]
    );
}
