//! zstd encoders side by side on Kafka record batches (issue 16).
//!
//! Every candidate compresses the *records region* of a batch (what the
//! producer hands its `Compressor`), built by our own `BatchBuilder`:
//! 1000 records, null keys, no headers, values of 100 B or 1 KiB that are
//! either the producer benchmark's pseudo-text or random bytes.
//!
//! CPU is thread CPU time (`CLOCK_THREAD_CPUTIME_ID`), so other work on the
//! machine only counts through caches and frequency. Candidates alternate
//! within each round (the order rotates), and each figure is the median of
//! the rounds with the range beside it. CPU-s/GB is nanoseconds per input
//! byte.
//!
//! Every output is checked: decoded byte-exact by the C library (the
//! reference) and by ferrokafka's own decoder.
//!
//! `--once CANDIDATE --level L --input NAME --iters N` compresses one input
//! N times and exits, for `valgrind --tool=callgrind` instruction counts.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::BytesMut;
use ferrokafka_protocol::compression::{self, Compression, Compressor};
use ferrokafka_protocol::record::{BatchBuilder, BATCH_HEADER_SIZE};

const RECORDS: usize = 1000;

/// The producer benchmark's value generator (bench/producer-peers): words
/// from a 16-word vocabulary and numbers, 1024 distinct values.
fn text_values(size: usize) -> Vec<Vec<u8>> {
    const WORDS: [&str; 16] = [
        "kafka",
        "partition",
        "offset",
        "record",
        "batch",
        "leader",
        "replica",
        "topic",
        "producer",
        "broker",
        "commit",
        "segment",
        "stream",
        "header",
        "value",
        "key",
    ];
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..1024)
        .map(|i| {
            let mut v = format!("{i:06} ").into_bytes();
            while v.len() < size {
                let r = next();
                v.extend_from_slice(WORDS[(r % 16) as usize].as_bytes());
                v.push(b' ');
                if r % 5 == 0 {
                    v.extend_from_slice(format!("{} ", r % 100_000).as_bytes());
                }
            }
            v.truncate(size);
            v
        })
        .collect()
}

fn random_values(size: usize) -> Vec<Vec<u8>> {
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    (0..RECORDS)
        .map(|_| {
            (0..size)
                .map(|_| {
                    state ^= state << 13;
                    state ^= state >> 7;
                    state ^= state << 17;
                    (state >> 24) as u8
                })
                .collect()
        })
        .collect()
}

/// The records region of one uncompressed batch of `values`.
fn records_region(values: &[Vec<u8>]) -> Vec<u8> {
    let mut builder = BatchBuilder::new(Compression::None);
    for (i, value) in values.iter().cycle().take(RECORDS).enumerate() {
        builder.append(1_700_000_000_000 + i as i64, None, Some(value), &[]);
    }
    let mut out = BytesMut::new();
    builder.finish(&mut out).expect("batch");
    out[BATCH_HEADER_SIZE..].to_vec()
}

struct Input {
    name: &'static str,
    bytes: Vec<u8>,
}

fn inputs() -> Vec<Input> {
    vec![
        Input {
            name: "text-100B",
            bytes: records_region(&text_values(100)),
        },
        Input {
            name: "text-1KiB",
            bytes: records_region(&text_values(1024)),
        },
        Input {
            name: "random-100B",
            bytes: records_region(&random_values(100)),
        },
        Input {
            name: "random-1KiB",
            bytes: records_region(&random_values(1024)),
        },
    ]
}

/// One encoder at one level, with whatever state it keeps between batches.
trait Encoder {
    fn compress(&mut self, input: &[u8], out: &mut Vec<u8>);
}

struct CRef(zstd::bulk::Compressor<'static>);
impl Encoder for CRef {
    fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.clear();
        out.reserve(zstd::zstd_safe::compress_bound(input.len()));
        self.0.compress_to_buffer(input, out).expect("C zstd");
    }
}

struct Ours(Compressor);
impl Encoder for Ours {
    fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.clear();
        self.0.compress(input, out).expect("ferrokafka zstd");
    }
}

struct Ruzstd;
impl Encoder for Ruzstd {
    fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.clear();
        ruzstd::encoding::compress(
            input,
            &mut *out,
            ruzstd::encoding::CompressionLevel::Fastest,
        );
    }
}

struct RustyZstd(i32);
impl Encoder for RustyZstd {
    fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) {
        *out = rusty_zstd::compress(input, self.0).expect("rusty_zstd");
    }
}

struct ZstdComplete(zstd_complete::encoding::CompressionLevel);
impl Encoder for ZstdComplete {
    fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.clear();
        zstd_complete::encoding::compress(input, &mut *out, self.0);
    }
}

struct Structured(i32);
impl Encoder for Structured {
    fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.clear();
        structured_zstd::encoding::compress(
            input,
            &mut *out,
            structured_zstd::encoding::CompressionLevel::from_level(self.0),
        );
    }
}

struct Oxiarc(i32);
impl Encoder for Oxiarc {
    fn compress(&mut self, input: &[u8], out: &mut Vec<u8>) {
        *out = oxiarc_zstd::compress_with_level(input, self.0).expect("oxiarc-zstd");
    }
}

/// `ferrokafka` is our `Compressor`: zrip-encode 0.9.4 (the zrip
/// project's encoder crate) without a content checksum, with or without
/// zrip-encode's `simd` feature as this binary was built.
const CANDIDATES: [&str; 7] = [
    "C-libzstd",
    "ferrokafka",
    "ruzstd",
    "rusty_zstd",
    "zstd-complete",
    "structured-zstd",
    "oxiarc-zstd",
];

/// The encoder `name` at `level`, or `None` when it has no such level.
fn encoder(name: &str, level: i32) -> Option<Box<dyn Encoder>> {
    Some(match name {
        "C-libzstd" => Box::new(CRef(zstd::bulk::Compressor::new(level).ok()?)),
        "ferrokafka" => Box::new(Ours(Compressor::new(Compression::Zstd, Some(level)).ok()?)),
        // ruzstd implements one compressing level, about zstd's 1.
        "ruzstd" => {
            if level != 1 {
                return None;
            }
            Box::new(Ruzstd)
        }
        "rusty_zstd" => Box::new(RustyZstd(level)),
        "zstd-complete" => Box::new(ZstdComplete(
            zstd_complete::encoding::CompressionLevel::new(u8::try_from(level).ok()?).ok()?,
        )),
        "structured-zstd" => Box::new(Structured(level)),
        "oxiarc-zstd" => Box::new(Oxiarc(level)),
        _ => return None,
    })
}

fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `ts` is.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// Nanoseconds of thread CPU per input byte over at least `budget`.
fn time_once(enc: &mut dyn Encoder, input: &[u8], out: &mut Vec<u8>, budget: Duration) -> f64 {
    let start = thread_cpu();
    let mut n = 0u64;
    loop {
        enc.compress(std::hint::black_box(input), out);
        n += 1;
        let spent = thread_cpu() - start;
        if spent >= budget {
            return spent.as_nanos() as f64 / (n as f64 * input.len() as f64);
        }
    }
}

/// Whether the C library and our decoder both give `input` back.
fn check(input: &[u8], frame: &[u8]) -> (bool, bool) {
    let c = zstd::bulk::decompress(frame, input.len()).is_ok_and(|back| back == input);
    // Room for the decoder's window copy besides the output (a frame's
    // window is as large as its content here).
    let ours =
        compression::decompress(Compression::Zstd, frame, 64 << 20).is_ok_and(|b| b == input);
    (c, ours)
}

struct Row {
    cpu: Vec<f64>,
    ratio: f64,
    c_reads: bool,
    we_read: bool,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let inputs = inputs();
    let levels: Vec<i32> = arg(&args, "--levels")
        .unwrap_or_else(|| "1,3".into())
        .split(',')
        .map(|l| l.parse().expect("level"))
        .collect();

    if let Some(name) = arg(&args, "--once") {
        let level: i32 = arg(&args, "--level").map_or(3, |l| l.parse().expect("level"));
        let input_name = arg(&args, "--input").unwrap_or_else(|| "text-1KiB".into());
        let iters: usize = arg(&args, "--iters").map_or(1, |n| n.parse().expect("iters"));
        let input = inputs
            .iter()
            .find(|i| i.name == input_name)
            .expect("unknown input");
        let mut enc = encoder(&name, level).expect("no such candidate or level");
        let mut out = Vec::new();
        for _ in 0..iters {
            enc.compress(std::hint::black_box(&input.bytes), &mut out);
        }
        println!(
            "{name} level {level} {input_name}: {} -> {} bytes",
            input.bytes.len(),
            out.len()
        );
        return;
    }

    let rounds: usize = arg(&args, "--rounds").map_or(7, |n| n.parse().expect("rounds"));
    let budget = Duration::from_millis(arg(&args, "--ms").map_or(120, |n| n.parse().expect("ms")));
    let only: Option<Vec<String>> =
        arg(&args, "--candidates").map(|c| c.split(',').map(str::to_owned).collect());
    let names: Vec<&str> = CANDIDATES
        .iter()
        .copied()
        .filter(|n| only.as_ref().is_none_or(|o| o.iter().any(|x| x == n)))
        .collect();

    println!(
        "zstd-peers: {rounds} rounds x {} ms per candidate, zrip-encode simd {}, load average at start {}",
        budget.as_millis(),
        if cfg!(feature = "simd") { "on" } else { "off" },
        load_average()
    );
    for input in &inputs {
        println!("input {}: {} bytes", input.name, input.bytes.len());
    }
    for &level in &levels {
        for input in &inputs {
            let mut rows: BTreeMap<&str, Row> = BTreeMap::new();
            let mut encoders: Vec<(&str, Box<dyn Encoder>)> = names
                .iter()
                .filter_map(|&n| encoder(n, level).map(|e| (n, e)))
                .collect();
            let mut out = Vec::new();
            for (name, enc) in &mut encoders {
                enc.compress(&input.bytes, &mut out);
                let (c_reads, we_read) = check(&input.bytes, &out);
                rows.insert(
                    name,
                    Row {
                        cpu: Vec::new(),
                        ratio: input.bytes.len() as f64 / out.len() as f64,
                        c_reads,
                        we_read,
                    },
                );
            }
            for round in 0..rounds {
                let k = encoders.len();
                for i in 0..k {
                    let (name, enc) = &mut encoders[(i + round) % k];
                    let ns = time_once(enc.as_mut(), &input.bytes, &mut out, budget);
                    rows.get_mut(name).unwrap().cpu.push(ns);
                }
            }
            println!(
                "\nlevel {level}, {} (load average now {})",
                input.name,
                load_average()
            );
            println!("| candidate | CPU-s/GB median (min–max) | ratio | C decodes | ferrokafka decodes |");
            println!("|---|---|---|---|---|");
            for name in &names {
                let Some(row) = rows.get_mut(name) else {
                    println!("| {name} | no level {level} | | | |");
                    continue;
                };
                let min = row.cpu.iter().cloned().fold(f64::MAX, f64::min);
                let max = row.cpu.iter().cloned().fold(0.0, f64::max);
                let med = median(&mut row.cpu);
                println!(
                    "| {name} | {med:.2} ({min:.2}–{max:.2}) | {:.2} | {} | {} |",
                    row.ratio,
                    if row.c_reads { "yes" } else { "**NO**" },
                    if row.we_read { "yes" } else { "**NO**" },
                );
            }
        }
    }
}
