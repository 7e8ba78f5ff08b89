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

use ferrokafka_protocol::compression::Compression;

// The bench's own batches and decode loop, so that both time the same work.
#[allow(dead_code)]
#[path = "../benches/shapes/mod.rs"]
mod shapes;

use shapes::{decode_ours as decode, fetched, BATCHES, RECORDS_PER_BATCH, SHAPES};

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
    let one_kib = SHAPES[1];
    assert_eq!(one_kib.name, "1KiB");
    let buf = fetched(one_kib, Compression::None);
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
