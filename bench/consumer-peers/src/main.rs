//! Batch-read benchmark: the same offset ranges read to a null sink by
//! ferrokafka-streaming's batch source (rows, a `minPartitions` split, the
//! Arrow path) and by rust-rdkafka's consumer (bundled librdkafka), against
//! one Nisshi broker (memory storage).
//!
//! The parent starts the broker, produces the data once with ferrokafka's
//! producer, looks the offset ranges up once, then re-executes itself with
//! `--client X` for every run, so that the child's CPU time (getrusage
//! deltas around the read) and peak RSS (VmHWM) belong to that client
//! alone. See README.md.

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};
use futures::StreamExt;

/// Partitions of the benchmark topic.
const PARTITIONS: i32 = 6;
/// Distinct values cycled through by the producer.
const VALUE_POOL: usize = 1024;
/// The consumer group rdkafka needs for `assign` (no offsets are committed).
const RDKAFKA_GROUP: &str = "consumer-peers-rdkafka";

/// One way of reading the ranges. Each is run in its own child process.
///
/// Adding a client (the streaming query with a null handler of issue 14,
/// the CLI's `ferrokafka read` or a kcat-like reader of issue 15): a
/// variant here, its name, and an arm in [`read_ranges`] that reads
/// `job.ranges` and returns what it counted. A client that runs another
/// program is measured too: the child's CPU figures include its waited-for
/// children (`RUSAGE_CHILDREN`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, ValueEnum)]
enum Client {
    /// `BatchSource` with default options (one task per partition), rows.
    FerrokafkaRows,
    /// `BatchSource` with `minPartitions=12`, rows.
    FerrokafkaSplit12,
    /// `BatchSource`, unsplit, as Arrow record batches (`BinaryView`).
    FerrokafkaArrow,
    /// rust-rdkafka `BaseConsumer`: `assign` at the start offsets, `poll`.
    Rdkafka,
    /// rust-rdkafka `StreamConsumer`: `assign` at the start offsets, its stream.
    RdkafkaStream,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::FerrokafkaRows => "ferrokafka-rows",
            Client::FerrokafkaSplit12 => "ferrokafka-split12",
            Client::FerrokafkaArrow => "ferrokafka-arrow",
            Client::Rdkafka => "rdkafka",
            Client::RdkafkaStream => "rdkafka-stream",
        }
    }
}

/// How the data is stored: the codec the producer used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// Uncompressed batches (the shape).
    Plain,
    /// lz4-compressed batches.
    Lz4,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Plain => "plain",
            Scenario::Lz4 => "lz4",
        }
    }
    fn codec(self) -> &'static str {
        match self {
            Scenario::Plain => "none",
            Scenario::Lz4 => "lz4",
        }
    }
}

#[derive(Debug, Parser)]
#[command(about = "Batch-read benchmark against Nisshi: ferrokafka-streaming vs rust-rdkafka")]
struct Args {
    /// Scenarios to run (parent mode); each gets a fresh broker and data.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Scenario::Plain])]
    scenarios: Vec<Scenario>,
    /// Clients to compare, in the order of the first round (parent mode).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [
        Client::FerrokafkaRows, Client::FerrokafkaSplit12, Client::FerrokafkaArrow, Client::Rdkafka,
    ])]
    clients: Vec<Client>,
    /// Records per partition (parent mode).
    #[arg(long, default_value_t = 1_000_000)]
    records_per_partition: u64,
    /// Bytes per value (parent mode); keys are null.
    #[arg(long, default_value_t = 100)]
    value_size: usize,
    /// The producer's `batch.size` for the data (default: the producer's
    /// default, 16384, as most topics are written).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Rounds; each round runs every client once, the order rotating.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Child mode: read with this client once and print one RESULT line.
    #[arg(long, value_enum, requires_all = ["bootstrap", "topic", "ranges"])]
    client: Option<Client>,
    /// Child mode: the broker.
    #[arg(long)]
    bootstrap: Option<String>,
    /// Child mode: the topic.
    #[arg(long)]
    topic: Option<String>,
    /// Child mode: the ranges, `partition:start-end` separated by commas.
    #[arg(long)]
    ranges: Option<String>,
    /// Child mode: give up (exit 2) after this many seconds.
    #[arg(long, default_value_t = 600)]
    deadline_s: u64,
}

/// Offsets `[start, end)` of one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Range {
    partition: i32,
    start: i64,
    end: i64,
}

impl Range {
    fn len(&self) -> u64 {
        u64::try_from(self.end - self.start).unwrap_or(0)
    }
}

fn ranges_to_arg(ranges: &[Range]) -> String {
    ranges
        .iter()
        .map(|r| format!("{}:{}-{}", r.partition, r.start, r.end))
        .collect::<Vec<_>>()
        .join(",")
}

fn ranges_from_arg(arg: &str) -> Result<Vec<Range>, String> {
    arg.split(',')
        .map(|item| {
            let bad = || format!("bad range '{item}': expected partition:start-end");
            let (partition, offsets) = item.split_once(':').ok_or_else(bad)?;
            let (start, end) = offsets.split_once('-').ok_or_else(bad)?;
            let range = Range {
                partition: partition.parse().map_err(|_| bad())?,
                start: start.parse().map_err(|_| bad())?,
                end: end.parse().map_err(|_| bad())?,
            };
            if range.partition < 0 || range.start < 0 || range.end < range.start {
                return Err(format!(
                    "bad range '{item}': partition and offsets must be non-negative, start <= end"
                ));
            }
            Ok(range)
        })
        .collect()
}

/// What one child run read and what it cost.
#[derive(Debug, Clone, Default)]
struct RunResult {
    records: u64,
    /// Key plus value bytes.
    bytes: u64,
    wall_s: f64,
    cpu_user_s: f64,
    cpu_sys_s: f64,
    hwm_kb: u64,
    load1: f64,
    /// The broker's CPU seconds over the run (parent-side, from /proc).
    broker_cpu_s: f64,
    /// The child's stderr, shown when the run miscounts.
    stderr_tail: String,
}

impl RunResult {
    fn cpu_s(&self) -> f64 {
        self.cpu_user_s + self.cpu_sys_s
    }
    fn cpu_s_per_gb(&self) -> f64 {
        self.cpu_s() / (self.bytes as f64 / 1e9)
    }
    fn line(&self) -> String {
        format!(
            "RESULT records={} bytes={} wall_s={:.4} cpu_user_s={:.4} cpu_sys_s={:.4} hwm_kb={}",
            self.records, self.bytes, self.wall_s, self.cpu_user_s, self.cpu_sys_s, self.hwm_kb
        )
    }
    fn parse(line: &str) -> Option<RunResult> {
        let mut r = RunResult::default();
        for field in line.strip_prefix("RESULT ")?.split_whitespace() {
            let (k, v) = field.split_once('=')?;
            match k {
                "records" => r.records = v.parse().ok()?,
                "bytes" => r.bytes = v.parse().ok()?,
                "wall_s" => r.wall_s = v.parse().ok()?,
                "cpu_user_s" => r.cpu_user_s = v.parse().ok()?,
                "cpu_sys_s" => r.cpu_sys_s = v.parse().ok()?,
                "hwm_kb" => r.hwm_kb = v.parse().ok()?,
                _ => {}
            }
        }
        Some(r)
    }
}

fn main() {
    let args = Args::parse();
    if let Some(client) = args.client {
        let ranges = match ranges_from_arg(args.ranges.as_deref().expect("--ranges")) {
            Ok(ranges) => ranges,
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(2);
            }
        };
        let job = Job {
            bootstrap: args.bootstrap.clone().expect("--bootstrap"),
            topic: args.topic.clone().expect("--topic"),
            ranges,
        };
        let deadline = Duration::from_secs(args.deadline_s);
        std::thread::spawn(move || {
            std::thread::sleep(deadline);
            eprintln!("{} did not finish within {deadline:?}", client.name());
            std::process::exit(2);
        });
        match run_child(client, &job) {
            Ok(result) => println!("{}", result.line()),
            Err(e) => {
                eprintln!("{} failed: {e}", client.name());
                std::process::exit(1);
            }
        }
        return;
    }
    if !run_parent(&args) {
        std::process::exit(1);
    }
}

// ---------------------------------------------------------------- parent

fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn load1() -> f64 {
    load_avg()
        .split_whitespace()
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(f64::NAN)
}

/// The broker this process started: a child of ours named `nisshi`.
fn broker_pid() -> Option<u32> {
    let me = std::process::id();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (head, rest) = stat.rsplit_once(')')?;
            let comm = head.split_once('(')?.1;
            let parent: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (parent == me && comm.starts_with("nisshi")).then_some(pid)
        })
}

/// User plus system CPU seconds of a process, from `/proc/<pid>/stat`.
fn process_cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    // After the command: state is field 3 of stat(5), utime 14, stime 15.
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf reads a constant.
    let per_s = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / per_s)
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(|a, b| a.total_cmp(b));
    let n = xs.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Pseudo-text values (words from a small vocabulary, so codecs find
/// something to compress, but no two values of the pool alike).
fn values(size: usize) -> Vec<bytes::Bytes> {
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
    (0..VALUE_POOL)
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
            bytes::Bytes::from(v)
        })
        .collect()
}

/// Creates the topic, writes `records_per_partition` values to each
/// partition with ferrokafka's producer, and returns every partition's
/// `[earliest, latest)` range, looked up once.
async fn prepare_data(
    bootstrap: &str,
    topic: &str,
    scenario: Scenario,
    args: &Args,
) -> Result<Vec<Range>, String> {
    use ferrokafka::admin::{NewTopic, OffsetSpec};
    use ferrokafka::producer::{ProducerConfig, ProducerRecord};
    use ferrokafka::{IsolationLevel, TopicPartition};

    let config = ferrokafka::ClientConfig::builder()
        .bootstrap_servers(bootstrap)
        .build()
        .map_err(|e| format!("client config: {e}"))?;
    let client = ferrokafka::Client::connect(config)
        .await
        .map_err(|e| format!("connect to {bootstrap}: {e}"))?;
    client
        .admin()
        .create_topic(NewTopic::new(topic, PARTITIONS, 1))
        .await
        .map_err(|e| format!("create {topic}: {e}"))?;
    let mut producer_config = ProducerConfig::default()
        .with("compression.type", scenario.codec())
        .map_err(|e| e.to_string())?;
    if let Some(size) = args.batch_size {
        producer_config = producer_config
            .with("batch.size", &size.to_string())
            .map_err(|e| e.to_string())?;
    }
    let producer = ferrokafka::producer::Producer::new(client.clone(), producer_config)
        .await
        .map_err(|e| format!("producer: {e}"))?;
    let values = values(args.value_size);
    let topic_name: Arc<str> = Arc::from(topic);
    let total = args.records_per_partition * PARTITIONS as u64;
    let mut pending = std::collections::VecDeque::new();
    for i in 0..total {
        let record = ProducerRecord::new(Arc::clone(&topic_name))
            .partition((i % PARTITIONS as u64) as i32)
            .value(values[(i as usize) % values.len()].clone());
        let delivery = producer
            .send(record)
            .await
            .map_err(|e| format!("send: {e}"))?;
        pending.push_back(delivery);
        // Keep the queue of outcomes short: take the settled ones.
        while pending.len() > 100_000 {
            let delivery = pending.pop_front().expect("non-empty");
            delivery.await.map_err(|e| format!("delivery: {e}"))?;
        }
    }
    producer.flush().await;
    for delivery in pending {
        delivery.await.map_err(|e| format!("delivery: {e}"))?;
    }
    producer
        .close(Duration::from_secs(30))
        .await
        .map_err(|e| format!("close producer: {e}"))?;
    let partitions: Vec<TopicPartition> = (0..PARTITIONS)
        .map(|p| TopicPartition::new(Arc::clone(&topic_name), p))
        .collect();
    let mut limits = Vec::new();
    for spec in [OffsetSpec::Earliest, OffsetSpec::Latest] {
        let asks: Vec<_> = partitions.iter().map(|tp| (tp.clone(), spec)).collect();
        let found = client
            .admin()
            .list_offsets(&asks, IsolationLevel::ReadUncommitted)
            .await
            .map_err(|e| format!("list offsets: {e}"))?;
        let offsets = found
            .into_iter()
            .map(|(tp, r)| {
                r.map(|o| o.offset)
                    .map_err(|e| format!("list offsets of {tp:?}: {e}"))
            })
            .collect::<Result<Vec<i64>, String>>()?;
        limits.push(offsets);
    }
    client.close().await;
    Ok((0..PARTITIONS as usize)
        .map(|p| Range {
            partition: p as i32,
            start: limits[0][p],
            end: limits[1][p],
        })
        .collect())
}

/// Runs one client in a child process; `Err` says why the run does not
/// count.
fn run_one(
    exe: &std::path::Path,
    client: Client,
    bootstrap: &str,
    topic: &str,
    ranges: &[Range],
) -> Result<RunResult, String> {
    // CONSUMER_PEERS_WRAP="perf record -g -o FILE" runs each child under a
    // profiler (or any other wrapper command).
    let wrap = std::env::var("CONSUMER_PEERS_WRAP").unwrap_or_default();
    let mut wrap = wrap.split_whitespace();
    let mut command = match wrap.next() {
        Some(program) => {
            let mut c = Command::new(program);
            c.args(wrap).arg(exe);
            c
        }
        None => Command::new(exe),
    };
    let output = command
        .args(["--client", client.name()])
        .args(["--bootstrap", bootstrap])
        .args(["--topic", topic])
        .args(["--ranges", &ranges_to_arg(ranges)])
        .output()
        .map_err(|e| format!("could not run the child: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let tail = || {
        let lines: Vec<&str> = stderr.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    };
    if !output.status.success() {
        return Err(format!(
            "exit {}: {}\n{}",
            output.status,
            stdout.trim(),
            tail()
        ));
    }
    let mut result = stdout
        .lines()
        .find_map(RunResult::parse)
        .ok_or_else(|| format!("no RESULT line: {}\n{}", stdout.trim(), tail()))?;
    result.stderr_tail = tail();
    Ok(result)
}

fn run_parent(args: &Args) -> bool {
    let exe = std::env::current_exe().expect("current exe");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "# consumer-peers: {} rounds, clients {:?}, {} partitions x {} records of {} B; load at start {}",
        args.rounds,
        args.clients.iter().map(|c| c.name()).collect::<Vec<_>>(),
        PARTITIONS,
        args.records_per_partition,
        args.value_size,
        load_avg()
    );
    let mut all_ok = true;
    let mut summary = Vec::new();
    let mut targets = Vec::new();
    for &scenario in &args.scenarios {
        // A fresh broker per scenario: Nisshi's memory storage keeps it all.
        let broker = ferrokafka_tests::Nisshi::start();
        let bootstrap = broker.bootstrap();
        let broker_pid = broker_pid();
        let topic = format!("read-{}", scenario.name());
        let started = Instant::now();
        let ranges = match rt.block_on(prepare_data(&bootstrap, &topic, scenario, args)) {
            Ok(ranges) => ranges,
            Err(e) => {
                println!(
                    "## scenario {}: could not prepare the data: {e}",
                    scenario.name()
                );
                all_ok = false;
                continue;
            }
        };
        let expected_records: u64 = ranges.iter().map(Range::len).sum();
        let expected_bytes = expected_records * args.value_size as u64;
        println!(
            "## scenario {} (codec {}), broker {bootstrap}: produced in {:.1} s; ranges {}; expect {expected_records} records, {expected_bytes} B",
            scenario.name(),
            scenario.codec(),
            started.elapsed().as_secs_f64(),
            ranges_to_arg(&ranges),
        );
        if expected_records != args.records_per_partition * PARTITIONS as u64 {
            println!("   the topic holds other than the records produced: stopping");
            all_ok = false;
            continue;
        }
        let mut results: Vec<Vec<RunResult>> = vec![Vec::new(); args.clients.len()];
        for round in 0..args.rounds {
            for i in 0..args.clients.len() {
                let index = (i + round) % args.clients.len();
                let client = args.clients[index];
                let load = load1();
                let broker_before = broker_pid.and_then(process_cpu_s);
                let outcome = run_one(&exe, client, &bootstrap, &topic, &ranges);
                let broker_after = broker_pid.and_then(process_cpu_s);
                match outcome {
                    Ok(mut r) => {
                        r.load1 = load;
                        r.broker_cpu_s = match (broker_before, broker_after) {
                            (Some(before), Some(after)) => after - before,
                            _ => f64::NAN,
                        };
                        let counted = r.records == expected_records && r.bytes == expected_bytes;
                        println!(
                            "round {round} {:<19} {:>6.2} s {:>10.0} rec/s {:>7.1} MB/s cpu {:>6.2} s ({:>5.2} CPU-s/GB) broker cpu {:>6.2} s hwm {:>6.1} MiB load1 {load:.2}{}",
                            client.name(),
                            r.wall_s,
                            r.records as f64 / r.wall_s,
                            r.bytes as f64 / r.wall_s / 1e6,
                            r.cpu_s(),
                            r.cpu_s_per_gb(),
                            r.broker_cpu_s,
                            r.hwm_kb as f64 / 1024.0,
                            if counted {
                                String::new()
                            } else {
                                format!(
                                    "  WRONG COUNT: {} records, {} B\n{}",
                                    r.records, r.bytes, r.stderr_tail
                                )
                            }
                        );
                        if counted {
                            results[index].push(r);
                        } else {
                            all_ok = false;
                        }
                    }
                    Err(e) => {
                        println!("round {round} {:<19} FAILED {e}", client.name());
                        all_ok = false;
                    }
                }
            }
        }
        drop(broker);
        let mut cpu_per_gb = std::collections::HashMap::new();
        let mut rate = std::collections::HashMap::new();
        for (index, runs) in results.iter().enumerate() {
            if runs.is_empty() {
                continue;
            }
            let client = args.clients[index];
            let per_gb: Vec<f64> = runs.iter().map(RunResult::cpu_s_per_gb).collect();
            let records_per_s = median(runs.iter().map(|r| r.records as f64 / r.wall_s).collect());
            let per_gb_median = median(per_gb.clone());
            cpu_per_gb.insert(client, per_gb_median);
            rate.insert(client, records_per_s);
            summary.push(format!(
                "| {} | {} | {} | {:.2} | {:.0} | {:.1} | {:.2} | {:.2} ({:.2}–{:.2}) | {:.2} | {:.0} | {:.2} |",
                scenario.name(),
                client.name(),
                runs.len(),
                median(runs.iter().map(|r| r.wall_s).collect()),
                records_per_s,
                median(runs.iter().map(|r| r.bytes as f64 / r.wall_s / 1e6).collect()),
                median(runs.iter().map(RunResult::cpu_s).collect()),
                per_gb_median,
                per_gb.iter().copied().fold(f64::INFINITY, f64::min),
                per_gb.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                median(runs.iter().map(|r| r.broker_cpu_s).collect()),
                median(runs.iter().map(|r| r.hwm_kb as f64 / 1024.0).collect()),
                median(runs.iter().map(|r| r.load1).collect()),
            ));
        }
        let ratio = |a: Client, b: Client| Some(cpu_per_gb.get(&a)? / cpu_per_gb.get(&b)?);
        let rows = Client::FerrokafkaRows;
        if let Some(r) = ratio(rows, Client::Rdkafka) {
            targets.push(format!(
                "| {} | rows CPU-s/GB vs rdkafka | ≤ 0.50× | {r:.2}× |",
                scenario.name()
            ));
        }
        if let (Some(ours), Some(theirs)) = (rate.get(&rows), rate.get(&Client::Rdkafka)) {
            targets.push(format!(
                "| {} | rows records/s vs rdkafka | ≥ 1.00× | {:.2}× |",
                scenario.name(),
                ours / theirs
            ));
        }
        if let Some(r) = ratio(Client::FerrokafkaSplit12, rows) {
            targets.push(format!(
                "| {} | split12 CPU vs rows | ≤ 1.10× | {r:.2}× |",
                scenario.name()
            ));
        }
        if let Some(r) = ratio(Client::FerrokafkaArrow, rows) {
            targets.push(format!(
                "| {} | arrow CPU vs rows | ≤ 1.30× | {r:.2}× |",
                scenario.name()
            ));
        }
    }
    println!();
    println!("| scenario | client | runs | wall s | records/s | MB/s (key+value) | client CPU-s | CPU-s/GB (median, min–max) | broker CPU-s | peak RSS MiB | load1 at start |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|");
    for line in summary {
        println!("{line}");
    }
    if !targets.is_empty() {
        println!();
        println!("| scenario | ratio (medians) | target | measured |");
        println!("|---|---|---|---|");
        for line in targets {
            println!("{line}");
        }
    }
    if !all_ok {
        println!("\nSOME RUNS FAILED OR MISCOUNTED: see above");
    }
    all_ok
}

// ---------------------------------------------------------------- child

/// What a child reads.
struct Job {
    bootstrap: String,
    topic: String,
    ranges: Vec<Range>,
}

/// What a client counted: records, and key plus value bytes.
#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    records: u64,
    bytes: u64,
}

impl Tally {
    fn add(&mut self, key: Option<usize>, value: Option<usize>) {
        self.records += 1;
        self.bytes += (key.unwrap_or(0) + value.unwrap_or(0)) as u64;
    }
}

/// CPU seconds (user, system) of this process and its waited-for
/// children.
fn cpu_times() -> (f64, f64) {
    let mut user = 0.0;
    let mut sys = 0.0;
    for who in [libc::RUSAGE_SELF, libc::RUSAGE_CHILDREN] {
        // SAFETY: getrusage writes into the zeroed struct we own.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        unsafe { libc::getrusage(who, &mut usage) };
        let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        user += tv(usage.ru_utime);
        sys += tv(usage.ru_stime);
    }
    (user, sys)
}

fn vm_hwm_kb() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Runs the client on the job; the clock and the CPU counters cover
/// connecting (or creating the consumer), planning and reading every
/// record, not the teardown.
fn run_child(client: Client, job: &Job) -> Result<RunResult, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let (user0, sys0) = cpu_times();
    let start = Instant::now();
    let (tally, teardown) = runtime.block_on(read_ranges(client, job))?;
    let wall = start.elapsed();
    let (user1, sys1) = cpu_times();
    {
        // Clients may spawn tasks as they close.
        let _context = runtime.enter();
        drop(teardown);
    }
    drop(runtime);
    Ok(RunResult {
        records: tally.records,
        bytes: tally.bytes,
        wall_s: wall.as_secs_f64(),
        cpu_user_s: user1 - user0,
        cpu_sys_s: sys1 - sys0,
        hwm_kb: vm_hwm_kb(),
        load1: f64::NAN,
        broker_cpu_s: f64::NAN,
        stderr_tail: String::new(),
    })
}

/// What a client leaves to close after the measured section.
type Teardown = Box<dyn std::any::Any>;

/// Reads the job's ranges with `client` to a null sink, counting.
async fn read_ranges(client: Client, job: &Job) -> Result<(Tally, Teardown), String> {
    match client {
        Client::FerrokafkaRows => ferrokafka_rows(job, None).await,
        Client::FerrokafkaSplit12 => ferrokafka_rows(job, Some(12)).await,
        Client::FerrokafkaArrow => ferrokafka_arrow(job).await,
        Client::Rdkafka => rdkafka_base(job),
        Client::RdkafkaStream => rdkafka_stream(job).await,
    }
}

/// The batch source for the job's exact ranges: `assign` of the
/// partitions, specific starting and ending offsets.
async fn batch_source(
    job: &Job,
    min_partitions: Option<usize>,
) -> Result<ferrokafka_streaming::batch::BatchSource, String> {
    use ferrokafka_streaming::batch::BatchSource;
    use ferrokafka_streaming::options::SourceOptions;

    let offsets = |end: bool| {
        let per_partition: Vec<String> = job
            .ranges
            .iter()
            .map(|r| format!("\"{}\":{}", r.partition, if end { r.end } else { r.start }))
            .collect();
        format!("{{\"{}\":{{{}}}}}", job.topic, per_partition.join(","))
    };
    let partitions: Vec<String> = job.ranges.iter().map(|r| r.partition.to_string()).collect();
    let mut pairs = vec![
        ("kafka.bootstrap.servers".to_owned(), job.bootstrap.clone()),
        (
            "assign".to_owned(),
            format!("{{\"{}\":[{}]}}", job.topic, partitions.join(",")),
        ),
        ("startingOffsets".to_owned(), offsets(false)),
        ("endingOffsets".to_owned(), offsets(true)),
    ];
    if let Some(n) = min_partitions {
        pairs.push(("minPartitions".to_owned(), n.to_string()));
    }
    // Experiments only: CONSUMER_PEERS_SOURCE_OPTIONS="key=value,..." adds
    // source options (e.g. kafka.max.partition.fetch.bytes=6291456).
    for pair in std::env::var("CONSUMER_PEERS_SOURCE_OPTIONS")
        .unwrap_or_default()
        .split(',')
        .filter(|p| !p.is_empty())
    {
        let (key, value) = pair
            .split_once('=')
            .ok_or_else(|| format!("CONSUMER_PEERS_SOURCE_OPTIONS: '{pair}' is not key=value"))?;
        pairs.push((key.to_owned(), value.to_owned()));
    }
    let settings = SourceOptions::from_pairs(pairs)
        .batch()
        .map_err(|e| format!("options: {e}"))?;
    BatchSource::connect(settings)
        .await
        .map_err(|e| format!("connect: {e}"))
}

async fn ferrokafka_rows(
    job: &Job,
    min_partitions: Option<usize>,
) -> Result<(Tally, Teardown), String> {
    let source = batch_source(job, min_partitions).await?;
    let plan = source.plan().await.map_err(|e| format!("plan: {e}"))?;
    if let Some(n) = min_partitions {
        if plan.tasks.len() < n {
            return Err(format!("{} tasks planned, expected {n}", plan.tasks.len()));
        }
    }
    let mut rows = source.read(&plan);
    let mut tally = Tally::default();
    // Rows per partition, reported when a partition comes up short.
    let mut per_partition = vec![0u64; PARTITIONS as usize];
    while let Some(row) = rows.next().await {
        let row = row.map_err(|e| format!("read: {e}"))?;
        if let Some(count) = usize::try_from(row.partition())
            .ok()
            .and_then(|p| per_partition.get_mut(p))
        {
            *count += 1;
        }
        tally.add(row.key().map(|k| k.len()), row.value().map(|v| v.len()));
    }
    for r in &job.ranges {
        let got = usize::try_from(r.partition)
            .ok()
            .and_then(|p| per_partition.get(p))
            .copied()
            .unwrap_or(0);
        if got != r.len() {
            eprintln!(
                "partition {}: {got} rows of [{}, {}) ({} expected); read metrics {:?}; plan {:?}",
                r.partition,
                r.start,
                r.end,
                r.len(),
                rows.metrics(),
                plan.tasks
                    .iter()
                    .filter(|t| t.partition.partition == r.partition)
                    .map(|t| (t.from, t.until))
                    .collect::<Vec<_>>()
            );
        }
    }
    Ok((tally, Box::new(source)))
}

/// Key plus value bytes of a `BinaryView` column (nulls count 0).
fn view_bytes(column: &dyn ferrokafka_streaming::arrow::arrow_array::Array) -> Result<u64, String> {
    use ferrokafka_streaming::arrow::arrow_array::{Array, BinaryViewArray};
    let array = column
        .as_any()
        .downcast_ref::<BinaryViewArray>()
        .ok_or_else(|| format!("expected a BinaryView column, got {}", column.data_type()))?;
    Ok(match array.nulls() {
        None => array.lengths().map(u64::from).sum(),
        Some(nulls) => array
            .lengths()
            .zip(nulls.iter())
            .map(|(len, valid)| if valid { u64::from(len) } else { 0 })
            .sum(),
    })
}

async fn ferrokafka_arrow(job: &Job) -> Result<(Tally, Teardown), String> {
    use ferrokafka_streaming::arrow::{ArrowOptions, RecordBatches};

    let source = batch_source(job, None).await?;
    let plan = source.plan().await.map_err(|e| format!("plan: {e}"))?;
    let mut batches = RecordBatches::new(source.read(&plan), ArrowOptions::default());
    let mut tally = Tally::default();
    while let Some(batch) = batches.next().await {
        let batch = batch.map_err(|e| format!("read: {e}"))?;
        tally.records += batch.num_rows() as u64;
        tally.bytes +=
            view_bytes(batch.column(0).as_ref())? + view_bytes(batch.column(1).as_ref())?;
    }
    Ok((tally, Box::new(source)))
}

/// Where each partition's reading stands, for the rdkafka clients, which
/// read past nothing here (the ranges end at the high watermark) but must
/// know when every partition is done.
struct Progress {
    /// End offset by partition number (-1: not read), a vector so that the
    /// per-message cost of the harness stays negligible.
    ends: Vec<i64>,
    unfinished: usize,
    tally: Tally,
}

impl Progress {
    fn new(ranges: &[Range]) -> Self {
        Progress {
            ends: {
                let slots = ranges.iter().map(|r| r.partition + 1).max().unwrap_or(0);
                let mut ends = vec![-1; usize::try_from(slots).unwrap_or(0)];
                for r in ranges {
                    ends[r.partition as usize] = r.end;
                }
                ends
            },
            unfinished: ranges.iter().filter(|r| r.len() > 0).count(),
            tally: Tally::default(),
        }
    }

    /// Counts one message (if inside its range); true when every range is read.
    fn record(
        &mut self,
        partition: i32,
        offset: i64,
        key: Option<usize>,
        value: Option<usize>,
    ) -> bool {
        let Some(&end) = usize::try_from(partition)
            .ok()
            .and_then(|p| self.ends.get(p))
        else {
            return self.unfinished == 0;
        };
        if offset < end {
            self.tally.add(key, value);
            if offset + 1 == end {
                self.unfinished -= 1;
            }
        }
        self.unfinished == 0
    }
}

fn rdkafka_config(job: &Job) -> rdkafka::ClientConfig {
    let mut config = rdkafka::ClientConfig::new();
    config
        .set("bootstrap.servers", &job.bootstrap)
        .set("group.id", RDKAFKA_GROUP)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false");
    config
}

fn rdkafka_assignment(job: &Job) -> Result<rdkafka::TopicPartitionList, String> {
    let mut list = rdkafka::TopicPartitionList::new();
    for r in &job.ranges {
        list.add_partition_offset(&job.topic, r.partition, rdkafka::Offset::Offset(r.start))
            .map_err(|e| format!("assignment: {e}"))?;
    }
    Ok(list)
}

/// rdkafka gives up when no message came for this long.
const RDKAFKA_STALL: Duration = Duration::from_secs(60);

fn rdkafka_base(job: &Job) -> Result<(Tally, Teardown), String> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::Message;

    let consumer: BaseConsumer = rdkafka_config(job)
        .create()
        .map_err(|e| format!("consumer: {e}"))?;
    consumer
        .assign(&rdkafka_assignment(job)?)
        .map_err(|e| format!("assign: {e}"))?;
    let mut progress = Progress::new(&job.ranges);
    let mut done = progress.unfinished == 0;
    while !done {
        match consumer.poll(RDKAFKA_STALL) {
            Some(Ok(m)) => {
                done = progress.record(
                    m.partition(),
                    m.offset(),
                    m.key().map(<[u8]>::len),
                    m.payload().map(<[u8]>::len),
                );
            }
            Some(Err(e)) => return Err(format!("poll: {e}")),
            None => return Err(format!("no message for {RDKAFKA_STALL:?}")),
        }
    }
    Ok((progress.tally, Box::new(consumer)))
}

async fn rdkafka_stream(job: &Job) -> Result<(Tally, Teardown), String> {
    use rdkafka::consumer::{Consumer, StreamConsumer};
    use rdkafka::Message;

    let consumer: StreamConsumer = rdkafka_config(job)
        .create()
        .map_err(|e| format!("consumer: {e}"))?;
    consumer
        .assign(&rdkafka_assignment(job)?)
        .map_err(|e| format!("assign: {e}"))?;
    let mut progress = Progress::new(&job.ranges);
    let mut done = progress.unfinished == 0;
    {
        let mut stream = consumer.stream();
        while !done {
            match tokio::time::timeout(RDKAFKA_STALL, stream.next()).await {
                Ok(Some(Ok(m))) => {
                    done = progress.record(
                        m.partition(),
                        m.offset(),
                        m.key().map(<[u8]>::len),
                        m.payload().map(<[u8]>::len),
                    );
                }
                Ok(Some(Err(e))) => return Err(format!("stream: {e}")),
                Ok(None) => return Err("the stream ended".to_owned()),
                Err(_) => return Err(format!("no message for {RDKAFKA_STALL:?}")),
            }
        }
    }
    Ok((progress.tally, Box::new(consumer)))
}
