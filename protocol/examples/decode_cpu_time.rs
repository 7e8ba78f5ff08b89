//! Decode versus CRC-32C on 1 KiB records, timed in thread CPU time.
//!
//! The criterion bench (`benches/record_batch.rs`) times in wall-clock
//! time, which on a shared machine counts the time the bench spends
//! descheduled. This program runs the same decode as the bench (verify
//! the CRC, iterate every record, touch key, value and every header) and
//! the same CRC over the same 8 batches × 1000 records, alternating them
//! round after round, and reads this thread's CPU time from
//! `/proc/thread-self/schedstat` (Linux only), so only time on a CPU
//! counts. It prints, per step, the median and fastest rounds in ns per
//! record, and the CRC/decode ratio (the decode's share of CRC-32C
//! throughput).
//!
//! Run: `cargo run -p ferrokafka-protocol --release --example
//! decode_cpu_time -- [rounds] [iterations per round]` (default 9 and 1000;
//! `schedstat` advances in scheduler ticks, 4 ms here, so keep a round
//! well above that).

use std::hint::black_box;

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

/// This thread's CPU time so far, in ns.
fn cpu_ns() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat")
        .expect("/proc/thread-self/schedstat (Linux only)");
    stat.split_whitespace()
        .next()
        .and_then(|ns| ns.parse().ok())
        .expect("schedstat run time")
}

/// CPU ns per record of `iterations` runs of `f`.
fn per_record(iterations: usize, mut f: impl FnMut() -> usize) -> f64 {
    let start = cpu_ns();
    for _ in 0..iterations {
        black_box(f());
    }
    (cpu_ns() - start) as f64 / (iterations * RECORDS_PER_BATCH * BATCHES) as f64
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args.next().map_or(9, |a| a.parse().expect("rounds"));
    let iterations: usize = args.next().map_or(1000, |a| a.parse().expect("iterations"));
    let buf = fetched();
    let (mut crc, mut dec, mut walk, mut ratio) = (vec![], vec![], vec![], vec![]);
    for _ in 0..rounds {
        let c = per_record(iterations, || crc32c::crc32c(black_box(&buf)) as usize);
        let d = per_record(iterations, || decode(&buf, true));
        let w = per_record(iterations, || decode(&buf, false));
        crc.push(c);
        dec.push(d);
        walk.push(w);
        ratio.push(c / d);
    }
    for v in [&mut crc, &mut dec, &mut walk, &mut ratio] {
        v.sort_by(f64::total_cmp);
    }
    let median = rounds / 2;
    println!(
        "ns per record (median / fastest of {rounds} rounds): crc32c {:.1} / {:.1}, \
         decode {:.1} / {:.1}, walk without CRC {:.1} / {:.1}",
        crc[median], crc[0], dec[median], dec[0], walk[median], walk[0]
    );
    println!(
        "decode / CRC-32C throughput: median round {:.3}, fastest rounds {:.3}",
        ratio[median],
        crc[0] / dec[0]
    );
}
