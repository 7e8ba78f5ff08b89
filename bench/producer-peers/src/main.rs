//! Producer peer benchmark: the same produce scenario run alternately by
//! ferrokafka, rust-rdkafka (bundled librdkafka) and Confluent's pure-Rust
//! `confluent-kafka` crate against a Nisshi broker (memory storage).
//!
//! The parent process starts one broker per scenario, creates a fresh topic
//! per run and re-executes itself with `--client X --scenario Y` for every
//! run, so that the child's CPU time (getrusage user+sys) and peak RSS
//! (VmHWM) belong to that client alone. See README.md.

use std::collections::VecDeque;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Parser, ValueEnum};

/// Partitions of every benchmark topic.
const PARTITIONS: i32 = 6;
/// `batch.size` for every client, in bytes (1 MB).
const BATCH_SIZE: usize = 1_000_000;
/// `linger.ms` for every client.
const LINGER_MS: u64 = 5;
/// Distinct values cycled through (pre-generated so no client pays for
/// making payloads).
const VALUE_POOL: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Client {
    /// ferrokafka with its default configuration.
    Ferrokafka,
    /// ferrokafka with max.in.flight.requests.per.connection=1.
    FerrokafkaIf1,
    /// ferrokafka with max.in.flight.requests.per.connection=5.
    FerrokafkaIf5,
    /// rust-rdkafka 0.39 (bundled librdkafka), BaseProducer with a delivery callback.
    Rdkafka,
    /// confluent-kafka 1.0 (pure Rust), KafkaProducer<Vec<u8>, Vec<u8>>.
    Confluent,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Ferrokafka => "ferrokafka",
            Client::FerrokafkaIf1 => "ferrokafka-if1",
            Client::FerrokafkaIf5 => "ferrokafka-if5",
            Client::Rdkafka => "rdkafka",
            Client::Confluent => "confluent",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Scenario {
    /// N x 100 B values, no codec (default N = 3M).
    Small,
    /// N x 1 KiB values, lz4 (default N = 2M).
    Lz4,
    /// N x 1 KiB values, zstd (default N = 2M).
    Zstd,
    /// N x 1 KiB values, gzip (default N = 2M; not among the defaults: the
    /// confluent-kafka build here has no gzip).
    Gzip,
    /// N x 1 KiB values, snappy (default N = 2M; not among the defaults: the
    /// confluent-kafka build here has no snappy).
    Snappy,
}

impl Scenario {
    fn name(self) -> &'static str {
        match self {
            Scenario::Small => "small",
            Scenario::Lz4 => "lz4",
            Scenario::Zstd => "zstd",
            Scenario::Gzip => "gzip",
            Scenario::Snappy => "snappy",
        }
    }
    fn value_size(self) -> usize {
        match self {
            Scenario::Small => 100,
            Scenario::Lz4 | Scenario::Zstd | Scenario::Gzip | Scenario::Snappy => 1024,
        }
    }
    fn default_records(self) -> u64 {
        match self {
            Scenario::Small => 3_000_000,
            Scenario::Lz4 | Scenario::Zstd | Scenario::Gzip | Scenario::Snappy => 2_000_000,
        }
    }
    /// The codec's name as all three clients spell it.
    fn codec(self) -> &'static str {
        match self {
            Scenario::Small => "none",
            Scenario::Lz4 => "lz4",
            Scenario::Zstd => "zstd",
            Scenario::Gzip => "gzip",
            Scenario::Snappy => "snappy",
        }
    }
}

#[derive(Debug, Parser)]
#[command(about = "Producer peer benchmark against Nisshi")]
struct Args {
    /// Scenarios to run (parent mode).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Scenario::Small, Scenario::Lz4, Scenario::Zstd])]
    scenarios: Vec<Scenario>,
    /// Clients to compare, in the order of the first round (parent mode).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Client::Ferrokafka, Client::Rdkafka, Client::Confluent])]
    clients: Vec<Client>,
    /// Records per run (default: 3M for small, 2M for lz4/zstd).
    #[arg(long)]
    records: Option<u64>,
    /// Rounds; each round runs every client once, the order rotating.
    #[arg(long, default_value_t = 5)]
    rounds: usize,
    /// Child mode: run this client once and print one RESULT line.
    #[arg(long, value_enum, requires_all = ["scenario", "bootstrap", "topic"])]
    client: Option<Client>,
    /// Child mode: the scenario.
    #[arg(long, value_enum)]
    scenario: Option<Scenario>,
    /// Child mode: the broker.
    #[arg(long)]
    bootstrap: Option<String>,
    /// Child mode: the topic (created by the parent).
    #[arg(long)]
    topic: Option<String>,
}

/// What one child run measured.
#[derive(Debug, Clone, Default)]
struct RunResult {
    records: u64,
    acked: u64,
    errors: u64,
    wall_s: f64,
    cpu_user_s: f64,
    cpu_sys_s: f64,
    hwm_kb: u64,
    load1: f64,
}

impl RunResult {
    fn cpu_s(&self) -> f64 {
        self.cpu_user_s + self.cpu_sys_s
    }
    fn line(&self) -> String {
        format!(
            "RESULT records={} acked={} errors={} wall_s={:.4} cpu_user_s={:.4} cpu_sys_s={:.4} hwm_kb={}",
            self.records,
            self.acked,
            self.errors,
            self.wall_s,
            self.cpu_user_s,
            self.cpu_sys_s,
            self.hwm_kb
        )
    }
    fn parse(line: &str) -> Option<RunResult> {
        let mut r = RunResult::default();
        for field in line.strip_prefix("RESULT ")?.split_whitespace() {
            let (k, v) = field.split_once('=')?;
            match k {
                "records" => r.records = v.parse().ok()?,
                "acked" => r.acked = v.parse().ok()?,
                "errors" => r.errors = v.parse().ok()?,
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
        let scenario = args.scenario.expect("--scenario");
        let records = args.records.unwrap_or(scenario.default_records());
        let result = run_child(
            client,
            scenario,
            args.bootstrap.as_deref().expect("--bootstrap"),
            args.topic.as_deref().expect("--topic"),
            records,
        );
        println!("{}", result.line());
        return;
    }
    run_parent(&args);
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

fn create_topic(rt: &tokio::runtime::Runtime, bootstrap: &str, topic: &str) {
    rt.block_on(async {
        let config = ferrokafka::ClientConfig::builder()
            .bootstrap_servers(bootstrap)
            .build()
            .expect("client config");
        let client = ferrokafka::Client::connect(config)
            .await
            .expect("connect to nisshi");
        client
            .admin()
            .create_topic(ferrokafka::admin::NewTopic::new(
                topic,
                // For experiments only: PRODUCER_PEERS_PARTITIONS=N.
                std::env::var("PRODUCER_PEERS_PARTITIONS")
                    .ok()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(PARTITIONS),
                1,
            ))
            .await
            .expect("create topic");
        client.close().await;
    });
}

/// Best effort: Nisshi's memory storage keeps what a topic holds until the
/// topic is deleted.
fn delete_topic(rt: &tokio::runtime::Runtime, bootstrap: &str, topic: &str) {
    rt.block_on(async {
        let Ok(config) = ferrokafka::ClientConfig::builder()
            .bootstrap_servers(bootstrap)
            .build()
        else {
            return;
        };
        if let Ok(client) = ferrokafka::Client::connect(config).await {
            if let Err(e) = client.admin().delete_topic(topic).await {
                println!("(could not delete {topic}: {e})");
            }
            client.close().await;
        }
    });
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

fn run_parent(args: &Args) {
    let exe = std::env::current_exe().expect("current exe");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "# producer-peers: {} rounds, clients {:?}; load at start {}",
        args.rounds,
        args.clients.iter().map(|c| c.name()).collect::<Vec<_>>(),
        load_avg()
    );
    let mut summary = Vec::new();
    for &scenario in &args.scenarios {
        let records = args.records.unwrap_or(scenario.default_records());
        // Nisshi's memory storage grows: a fresh broker per scenario.
        let broker = ferrokafka_tests::Nisshi::start();
        let bootstrap = broker.bootstrap();
        println!(
            "## scenario {} ({records} x {} B, codec {}), broker {bootstrap}",
            scenario.name(),
            scenario.value_size(),
            scenario.codec()
        );
        let mut results: Vec<Vec<RunResult>> = vec![Vec::new(); args.clients.len()];
        for round in 0..args.rounds {
            for i in 0..args.clients.len() {
                let index = (i + round) % args.clients.len();
                let client = args.clients[index];
                let topic = format!("bench-{}-{}-r{round}", scenario.name(), client.name());
                create_topic(&rt, &bootstrap, &topic);
                let load = load1();
                // PRODUCER_PEERS_WRAP="perf record -g -o FILE" runs each child
                // under a profiler (or any other wrapper command).
                let wrap = std::env::var("PRODUCER_PEERS_WRAP").unwrap_or_default();
                let mut wrap = wrap.split_whitespace();
                let mut command = match wrap.next() {
                    Some(program) => {
                        let mut c = Command::new(program);
                        c.args(wrap).arg(&exe);
                        c
                    }
                    None => Command::new(&exe),
                };
                let output = command
                    .args(["--client", client.name()])
                    .args(["--scenario", scenario.name()])
                    .args(["--bootstrap", &bootstrap])
                    .args(["--topic", &topic])
                    .args(["--records", &records.to_string()])
                    .output()
                    .expect("run child");
                delete_topic(&rt, &bootstrap, &topic);
                let stdout = String::from_utf8_lossy(&output.stdout);
                let parsed = stdout.lines().find_map(RunResult::parse);
                match parsed {
                    Some(mut r) if output.status.success() => {
                        r.load1 = load;
                        let bytes = r.records as f64 * scenario.value_size() as f64;
                        println!(
                            "round {round} {:<15} {:>10.0} rec/s {:>7.1} MB/s cpu {:>6.2} s ({:>5.2} CPU-s/GB) hwm {:>7.1} MB errors {} acked {} load1 {:.2}",
                            client.name(),
                            r.records as f64 / r.wall_s,
                            bytes / r.wall_s / 1e6,
                            r.cpu_s(),
                            r.cpu_s() / (bytes / 1e9),
                            r.hwm_kb as f64 / 1024.0,
                            r.errors,
                            r.acked,
                            load
                        );
                        if r.errors > 0 {
                            // Say what went wrong (the child prints its first errors).
                            for line in String::from_utf8_lossy(&output.stderr).lines().take(10) {
                                println!("    {line}");
                            }
                        }
                        results[index].push(r);
                    }
                    _ => {
                        println!(
                            "round {round} {:<15} FAILED ({}): {}\n{}",
                            client.name(),
                            output.status,
                            stdout.trim(),
                            String::from_utf8_lossy(&output.stderr)
                                .lines()
                                .rev()
                                .take(20)
                                .collect::<Vec<_>>()
                                .into_iter()
                                .rev()
                                .collect::<Vec<_>>()
                                .join("\n")
                        );
                    }
                }
            }
        }
        drop(broker);
        for (index, runs) in results.iter().enumerate() {
            if runs.is_empty() {
                continue;
            }
            let bytes = records as f64 * scenario.value_size() as f64;
            let rate = median(runs.iter().map(|r| r.records as f64 / r.wall_s).collect());
            let mbs = median(runs.iter().map(|r| bytes / r.wall_s / 1e6).collect());
            let cpu_gb = median(runs.iter().map(|r| r.cpu_s() / (bytes / 1e9)).collect());
            let cpu_min = runs
                .iter()
                .map(|r| r.cpu_s() / (bytes / 1e9))
                .fold(f64::INFINITY, f64::min);
            let cpu_max = runs
                .iter()
                .map(|r| r.cpu_s() / (bytes / 1e9))
                .fold(f64::NEG_INFINITY, f64::max);
            let hwm = median(runs.iter().map(|r| r.hwm_kb as f64 / 1024.0).collect());
            let errors: u64 = runs.iter().map(|r| r.errors).sum();
            let loads = median(runs.iter().map(|r| r.load1).collect());
            summary.push(format!(
                "| {} | {} | {} | {:.0} | {:.1} | {:.2} ({:.2}–{:.2}) | {:.0} | {} | {:.2} |",
                scenario.name(),
                args.clients[index].name(),
                runs.len(),
                rate,
                mbs,
                cpu_gb,
                cpu_min,
                cpu_max,
                hwm,
                errors,
                loads
            ));
        }
    }
    println!();
    println!("| scenario | client | runs | records/s (median) | MB/s (values) | client CPU-s/GB (median, min–max) | peak RSS MiB (median) | errors (all runs) | load1 at start (median) |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for line in summary {
        println!("{line}");
    }
}

// ---------------------------------------------------------------- child

/// Pseudo-text values (words from a small vocabulary, so codecs find
/// something to compress, but no two values alike).
fn values(size: usize) -> Vec<Vec<u8>> {
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
            v
        })
        .collect()
}

fn rusage_self() -> (f64, f64, u64) {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (
        tv(usage.ru_utime),
        tv(usage.ru_stime),
        usage.ru_maxrss as u64,
    )
}

/// Counts one delivery outcome, printing the first few errors.
fn tally_delivery<T, E: std::fmt::Display>(
    outcome: Result<T, E>,
    acked: &mut u64,
    errors: &mut u64,
) {
    match outcome {
        Ok(_) => *acked += 1,
        Err(e) => {
            if *errors < 5 {
                eprintln!("delivery error: {e}");
            }
            *errors += 1;
        }
    }
}

/// For experiments only (`PRODUCER_PEERS_KEYED=1`): every client sends
/// keyed records, the record number as key.
fn keyed() -> bool {
    std::env::var_os("PRODUCER_PEERS_KEYED").is_some()
}

fn vm_hwm_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

fn run_child(
    client: Client,
    scenario: Scenario,
    bootstrap: &str,
    topic: &str,
    records: u64,
) -> RunResult {
    let values = values(scenario.value_size());
    if std::env::var_os("PRODUCER_PEERS_RSS_TRACE").is_some() {
        // For experiments: the resident set every 50 ms, on stderr.
        std::thread::spawn(|| {
            let start = Instant::now();
            loop {
                let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
                let rss = status
                    .lines()
                    .find(|l| l.starts_with("VmRSS:"))
                    .unwrap_or("")
                    .to_owned();
                eprintln!("rss {:>6} ms {rss}", start.elapsed().as_millis());
                std::thread::sleep(Duration::from_millis(50));
            }
        });
    }
    let (acked, errors, wall) = match client {
        Client::Ferrokafka => ferrokafka_run(scenario, bootstrap, topic, records, &values, None),
        Client::FerrokafkaIf1 => {
            ferrokafka_run(scenario, bootstrap, topic, records, &values, Some(1))
        }
        Client::FerrokafkaIf5 => {
            ferrokafka_run(scenario, bootstrap, topic, records, &values, Some(5))
        }
        Client::Rdkafka => rdkafka_run(scenario, bootstrap, topic, records, &values),
        Client::Confluent => confluent_run(scenario, bootstrap, topic, records, &values),
    };
    let (user, sys, maxrss) = rusage_self();
    RunResult {
        records,
        acked,
        errors: errors + records.saturating_sub(acked + errors),
        wall_s: wall.as_secs_f64(),
        cpu_user_s: user,
        cpu_sys_s: sys,
        hwm_kb: vm_hwm_kb().unwrap_or(maxrss),
        load1: f64::NAN,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Returns (acknowledged, errors, time from the first send to the last
/// acknowledgement).
fn ferrokafka_run(
    scenario: Scenario,
    bootstrap: &str,
    topic: &str,
    records: u64,
    values: &[Vec<u8>],
    max_in_flight: Option<usize>,
) -> (u64, u64, Duration) {
    use ferrokafka::producer::{DeliveryFuture, Producer, ProducerConfig, ProducerRecord};
    use futures::FutureExt;

    let values: Vec<bytes::Bytes> = values.iter().cloned().map(bytes::Bytes::from).collect();
    runtime().block_on(async {
        let mut client_config = ferrokafka::ClientConfig::builder().bootstrap_servers(bootstrap);
        if let Some(n) = max_in_flight {
            client_config = client_config.max_in_flight(n);
        }
        let client = ferrokafka::Client::connect(client_config.build().expect("client config"))
            .await
            .expect("connect");
        let config = ProducerConfig::default()
            .with("acks", "all")
            .and_then(|c| c.with("enable.idempotence", "true"))
            .and_then(|c| c.with("linger.ms", &LINGER_MS.to_string()))
            .and_then(|c| c.with("batch.size", &BATCH_SIZE.to_string()))
            .and_then(|c| c.with("compression.type", scenario.codec()))
            // For experiments only: the published figures use the defaults.
            .and_then(|c| match std::env::var("FERROKAFKA_BUFFER_MEMORY") {
                Ok(bytes) => c.with("buffer.memory", &bytes),
                Err(_) => Ok(c),
            })
            .expect("producer config");
        let producer = Producer::new(client.clone(), config)
            .await
            .expect("producer");
        let topic: Arc<str> = Arc::from(topic);
        let mut pending: VecDeque<DeliveryFuture> = VecDeque::new();
        let (mut acked, mut errors) = (0u64, 0u64);
        let mut tally = |r: Result<_, _>| tally_delivery(r, &mut acked, &mut errors);
        let keyed = keyed();
        let start = Instant::now();
        for i in 0..records {
            let value = values[(i as usize) % values.len()].clone();
            match producer
                .send(match keyed {
                    true => ProducerRecord::new(Arc::clone(&topic))
                        .key(bytes::Bytes::from(i.to_string()))
                        .value(value),
                    false => ProducerRecord::new(Arc::clone(&topic)).value(value),
                })
                .await
            {
                Ok(delivery) => pending.push_back(delivery),
                Err(e) => tally(Err(e)),
            }
            // Take the outcomes that are already in, oldest first.
            while let Some(front) = pending.front_mut() {
                match front.now_or_never() {
                    Some(r) => {
                        pending.pop_front();
                        tally(r);
                    }
                    None => break,
                }
            }
        }
        producer.flush().await;
        for delivery in pending.drain(..) {
            tally(delivery.await);
        }
        let wall = start.elapsed();
        producer
            .close(Duration::from_secs(30))
            .await
            .expect("close");
        client.close().await;
        (acked, errors, wall)
    })
}

fn rdkafka_run(
    scenario: Scenario,
    bootstrap: &str,
    topic: &str,
    records: u64,
    values: &[Vec<u8>],
) -> (u64, u64, Duration) {
    use rdkafka::config::ClientConfig;
    use rdkafka::error::{KafkaError, RDKafkaErrorCode};
    use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
    use rdkafka::ClientContext;

    #[derive(Default)]
    struct Counting {
        acked: AtomicU64,
        errors: AtomicU64,
    }
    impl ClientContext for Counting {}
    impl ProducerContext for Counting {
        type DeliveryOpaque = ();
        fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
            match result {
                Ok(_) => self.acked.fetch_add(1, Ordering::Relaxed),
                Err((e, _)) => {
                    if self.errors.load(Ordering::Relaxed) < 5 {
                        eprintln!("delivery error: {e}");
                    }
                    self.errors.fetch_add(1, Ordering::Relaxed)
                }
            };
        }
    }

    let producer: BaseProducer<Counting> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("enable.idempotence", "true")
        .set("linger.ms", LINGER_MS.to_string())
        .set("batch.size", BATCH_SIZE.to_string())
        .set("compression.codec", scenario.codec())
        .create_with_context(Counting::default())
        .expect("rdkafka producer");
    let mut send_errors = 0u64;
    let keyed = keyed();
    let start = Instant::now();
    for i in 0..records {
        let value = &values[(i as usize) % values.len()];
        // No allocation unless keyed: the published runs are not.
        let key = if keyed { i.to_string() } else { String::new() };
        let mut record = BaseRecord::<[u8], [u8]>::to(topic).payload(value.as_slice());
        if keyed {
            record = record.key(key.as_bytes());
        }
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(1));
                }
                Err((e, _)) => {
                    eprintln!("send error: {e}");
                    send_errors += 1;
                    break;
                }
            }
        }
        if i % 1024 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    producer
        .flush(Duration::from_secs(120))
        .expect("rdkafka flush");
    producer.poll(Duration::ZERO);
    let wall = start.elapsed();
    let context = producer.context();
    (
        context.acked.load(Ordering::Relaxed),
        context.errors.load(Ordering::Relaxed) + send_errors,
        wall,
    )
}

fn confluent_run(
    scenario: Scenario,
    bootstrap: &str,
    topic: &str,
    records: u64,
    values: &[Vec<u8>],
) -> (u64, u64, Duration) {
    use confluent_kafka::common::serialization::ByteArraySerializer;
    use confluent_kafka::common::KafkaFuture;
    use confluent_kafka::producer::{
        KafkaProducer, Producer, ProducerConfig, ProducerRecord, RecordMetadata,
    };
    use std::collections::HashMap;

    runtime().block_on(async {
        let props: HashMap<String, String> = [
            ("bootstrap.servers", bootstrap.to_owned()),
            ("acks", "all".to_owned()),
            ("enable.idempotence", "true".to_owned()),
            ("linger.ms", LINGER_MS.to_string()),
            ("batch.size", BATCH_SIZE.to_string()),
            ("compression.type", scenario.codec().to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let config = ProducerConfig::new(&props).expect("confluent config");
        let producer = KafkaProducer::<Vec<u8>, Vec<u8>>::new(
            config,
            ByteArraySerializer::new(),
            ByteArraySerializer::new(),
        )
        .expect("confluent producer");
        let mut pending: VecDeque<KafkaFuture<RecordMetadata>> = VecDeque::new();
        let (mut acked, mut errors) = (0u64, 0u64);
        let keyed = keyed();
        let start = Instant::now();
        for i in 0..records {
            let value = values[(i as usize) % values.len()].as_slice();
            // No allocation unless keyed: the published runs are not.
            let key = if keyed { i.to_string() } else { String::new() };
            let record = if keyed {
                ProducerRecord::<&[u8], &[u8]>::with_partition_timestamp_key(
                    topic.to_owned(),
                    None,
                    None,
                    Some(key.as_bytes()),
                    Some(value),
                )
                .expect("keyed record")
            } else {
                ProducerRecord::<&[u8], &[u8]>::new(topic.to_owned(), Some(value))
            };
            match producer.send(record, None).await {
                Ok(future) => pending.push_back(future),
                Err(e) => {
                    if errors < 5 {
                        eprintln!("send error: {e}");
                    }
                    errors += 1;
                }
            }
            while pending.front().is_some_and(|f| f.is_done()) {
                let Some(future) = pending.pop_front() else {
                    break;
                };
                tally_delivery(future.get().await, &mut acked, &mut errors);
            }
        }
        Producer::flush(&producer).await.expect("confluent flush");
        for future in pending.drain(..) {
            tally_delivery(future.get().await, &mut acked, &mut errors);
        }
        let wall = start.elapsed();
        Producer::close_with_timeout(&producer, Duration::from_secs(30))
            .await
            .expect("confluent close");
        (acked, errors, wall)
    })
}
