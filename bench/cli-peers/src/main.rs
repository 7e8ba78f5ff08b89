//! CLI benchmark: `ferrokafka write --format json` and `ferrokafka read
//! --output json` against the same work done by `kcat-rdkafka` (this
//! crate's kcat-equivalent on rust-rdkafka), alternately, against one
//! Nisshi broker (memory storage). See README.md.
//!
//! The driver generates the JSON lines once, then for every round and
//! client (the order rotating): creates a fresh 6-partition topic, runs the
//! client's write as a child process (stdin from the file, stdout to
//! /dev/null), checks that the topic's end offsets add up to the record
//! count, runs the client's read (stdout through a pipe the driver counts:
//! lines and bytes) and deletes the topic. Each child's CPU time (user +
//! system) and peak RSS come from `wait4`, its wall time from the clock.

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use clap::{Parser, ValueEnum};

/// Partitions of every benchmark topic.
const PARTITIONS: i32 = 6;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Client {
    /// `ferrokafka write --format json` / `ferrokafka read --output json`.
    Ferrokafka,
    /// `kcat-rdkafka produce` / `kcat-rdkafka consume` (rust-rdkafka 0.39).
    KcatRdkafka,
}

impl Client {
    fn name(self) -> &'static str {
        match self {
            Client::Ferrokafka => "ferrokafka",
            Client::KcatRdkafka => "kcat-rdkafka",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Write,
    Read,
}

impl Direction {
    fn name(self) -> &'static str {
        match self {
            Direction::Write => "write",
            Direction::Read => "read",
        }
    }
}

#[derive(Debug, Parser)]
#[command(about = "ferrokafka write/read vs a kcat-equivalent on rust-rdkafka, against Nisshi")]
struct Args {
    /// The `ferrokafka` binary (build it with `cargo build --release -p
    /// ferrokafka-cli` at the repository root).
    #[arg(long)]
    ferrokafka: PathBuf,
    /// The `kcat-rdkafka` binary (default: the one next to this binary).
    #[arg(long)]
    kcat_rdkafka: Option<PathBuf>,
    /// JSON lines per run.
    #[arg(long, default_value_t = 1_000_000)]
    records: u64,
    /// Rounds; each round runs every client once (write, then read), the
    /// order rotating.
    #[arg(long, default_value_t = 3)]
    rounds: usize,
    /// Clients to compare, in the order of the first round.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = [Client::Ferrokafka, Client::KcatRdkafka])]
    clients: Vec<Client>,
    /// Where to write the generated JSON lines (default: a file in the
    /// system's temporary directory, removed at the end).
    #[arg(long)]
    input: Option<PathBuf>,
}

/// What one child run measured.
#[derive(Debug, Clone, Copy)]
struct Run {
    client: Client,
    direction: Direction,
    records: u64,
    /// Bytes the run is measured per: the input file (write) or the printed
    /// output (read).
    bytes: u64,
    wall_s: f64,
    cpu_s: f64,
    max_rss_kib: u64,
    load1: f64,
}

impl Run {
    fn cpu_per_gb(&self) -> f64 {
        self.cpu_s / (self.bytes as f64 / 1e9)
    }
    fn records_per_s(&self) -> f64 {
        self.records as f64 / self.wall_s
    }
}

fn main() {
    let args = Args::parse();
    let kcat = args.kcat_rdkafka.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .expect("current exe")
            .with_file_name("kcat-rdkafka")
    });
    for binary in [&args.ferrokafka, &kcat] {
        if !binary.is_file() {
            eprintln!(
                "cli-peers: {} is not a file: build it first (see README.md)",
                binary.display()
            );
            std::process::exit(2);
        }
    }
    let input = args.input.clone().unwrap_or_else(|| {
        std::env::temp_dir().join(format!("cli-peers-{}.jsonl", std::process::id()))
    });
    let started = Instant::now();
    let input_bytes = generate_input(&input, args.records).expect("write the JSON lines");
    println!(
        "# cli-peers: {} records ({input_bytes} B of JSON lines, {:.1} s to generate), {} rounds, clients {:?}; load at start {}",
        args.records,
        started.elapsed().as_secs_f64(),
        args.rounds,
        args.clients.iter().map(|c| c.name()).collect::<Vec<_>>(),
        load_avg()
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let broker = ferrokafka_tests::Nisshi::start();
    let bootstrap = broker.bootstrap();
    println!("# broker {bootstrap}");
    let mut runs = Vec::new();
    let mut failures = 0;
    for round in 0..args.rounds {
        for i in 0..args.clients.len() {
            let client = args.clients[(i + round) % args.clients.len()];
            let topic = format!("cli-{}-r{round}", client.name());
            let new_topic = ferrokafka::admin::NewTopic::new(&topic, PARTITIONS, 1);
            rt.block_on(admin(&bootstrap, |a| async move {
                a.create_topic(new_topic).await
            }))
            .expect("create topic");
            let binary = match client {
                Client::Ferrokafka => &args.ferrokafka,
                Client::KcatRdkafka => &kcat,
            };
            match run_pair(
                &rt,
                client,
                binary,
                &bootstrap,
                &topic,
                &input,
                input_bytes,
                args.records,
            ) {
                Ok((write, read)) => {
                    for r in [write, read] {
                        println!(
                            "round {round} {:<13} {:<5} {:>7.2} s {:>9.0} rec/s cpu {:>6.2} s {:>6.2} CPU-s/GB rss {:>6.1} MiB load1 {:.2}",
                            client.name(),
                            r.direction.name(),
                            r.wall_s,
                            r.records_per_s(),
                            r.cpu_s,
                            r.cpu_per_gb(),
                            r.max_rss_kib as f64 / 1024.0,
                            r.load1
                        );
                        runs.push(r);
                    }
                }
                Err(e) => {
                    failures += 1;
                    println!("round {round} {:<13} FAILED: {e}", client.name());
                }
            }
            // Nisshi's memory storage keeps a topic's records until it is
            // deleted.
            let name = topic.as_str();
            let deleted = rt.block_on(admin(
                &bootstrap,
                |a| async move { a.delete_topic(name).await },
            ));
            if let Err(e) = deleted {
                println!("(could not delete a topic: {e})");
            }
        }
    }
    drop(broker);
    if args.input.is_none() {
        let _ = std::fs::remove_file(&input);
    }
    print_summary(&args.clients, &runs);
    if failures > 0 {
        eprintln!("cli-peers: {failures} runs failed");
        std::process::exit(1);
    }
}

/// Runs `f` with an admin client of the broker, then closes the client.
async fn admin<T, F, Fut>(bootstrap: &str, f: F) -> Result<T, ferrokafka::Error>
where
    F: FnOnce(ferrokafka::Admin) -> Fut,
    Fut: std::future::Future<Output = Result<T, ferrokafka::Error>>,
{
    let config = ferrokafka::ClientConfig::builder()
        .bootstrap_servers(bootstrap)
        .build()
        .expect("client config");
    let client = ferrokafka::Client::connect(config).await?;
    let outcome = f(client.admin()).await;
    client.close().await;
    outcome
}

/// The sum of the topic's end offsets (records written, as every
/// partition starts at 0).
fn end_offsets(
    rt: &tokio::runtime::Runtime,
    bootstrap: &str,
    topic: &str,
) -> Result<i64, ferrokafka::Error> {
    use ferrokafka::admin::OffsetSpec;
    use ferrokafka::{IsolationLevel, TopicPartition};
    let requests: Vec<_> = (0..PARTITIONS)
        .map(|p| (TopicPartition::new(topic, p), OffsetSpec::Latest))
        .collect();
    let listed = rt.block_on(admin(bootstrap, |a| async move {
        a.list_offsets(&requests, IsolationLevel::ReadUncommitted)
            .await
    }))?;
    let mut sum = 0;
    for (_, offset) in listed {
        sum += offset?.offset;
    }
    Ok(sum)
}

/// One client's write then read of a fresh topic, checked.
#[allow(clippy::too_many_arguments)]
fn run_pair(
    rt: &tokio::runtime::Runtime,
    client: Client,
    binary: &Path,
    bootstrap: &str,
    topic: &str,
    input: &Path,
    input_bytes: u64,
    records: u64,
) -> Result<(Run, Run), String> {
    let write_args: Vec<&str> = match client {
        Client::Ferrokafka => vec!["-b", bootstrap, "write", topic, "--format", "json"],
        Client::KcatRdkafka => vec!["-b", bootstrap, "produce", topic],
    };
    let read_args: Vec<&str> = match client {
        Client::Ferrokafka => vec!["-b", bootstrap, "read", topic, "--output", "json"],
        Client::KcatRdkafka => vec!["-b", bootstrap, "consume", topic],
    };

    let stdin = File::open(input).map_err(|e| format!("open {}: {e}", input.display()))?;
    let load1 = load1();
    let write = measure(binary, &write_args, Stdio::from(stdin), None)?;
    let written = end_offsets(rt, bootstrap, topic).map_err(|e| format!("end offsets: {e}"))?;
    if written != records as i64 {
        return Err(format!(
            "the write left {written} records in {topic}, not {records}"
        ));
    }
    let write = Run {
        client,
        direction: Direction::Write,
        records,
        bytes: input_bytes,
        wall_s: write.wall_s,
        cpu_s: write.cpu_s,
        max_rss_kib: write.max_rss_kib,
        load1,
    };

    let load1 = self::load1();
    let mut lines = 0u64;
    let mut bytes = 0u64;
    let mut first_line = Vec::new();
    let mut count = |stdout: &mut std::process::ChildStdout| -> std::io::Result<()> {
        // Counting through a pipe: the child's writes cost what writes to a
        // pipe cost, the same for every client.
        let mut buffer = vec![0u8; 1 << 20];
        loop {
            let n = stdout.read(&mut buffer)?;
            if n == 0 {
                return Ok(());
            }
            if lines == 0 && first_line.len() < 4096 {
                first_line.extend_from_slice(&buffer[..n.min(4096)]);
            }
            bytes += n as u64;
            lines += buffer[..n].iter().filter(|&&b| b == b'\n').count() as u64;
        }
    };
    let read = measure(binary, &read_args, Stdio::null(), Some(&mut count))?;
    if lines != records {
        return Err(format!("the read printed {lines} lines, not {records}"));
    }
    check_first_line(&first_line, topic)?;
    let read = Run {
        client,
        direction: Direction::Read,
        records,
        bytes,
        wall_s: read.wall_s,
        cpu_s: read.cpu_s,
        max_rss_kib: read.max_rss_kib,
        load1,
    };
    Ok((write, read))
}

/// The first printed line must be a JSON object with the fields `ferrokafka
/// read --output json` prints.
fn check_first_line(output: &[u8], topic: &str) -> Result<(), String> {
    let line = output.split(|&b| b == b'\n').next().unwrap_or_default();
    let value: serde_json::Value = serde_json::from_slice(line).map_err(|e| {
        format!(
            "the read's first line is not JSON ({e}): {}",
            String::from_utf8_lossy(line)
        )
    })?;
    let fields = [
        "topic",
        "partition",
        "offset",
        "timestamp",
        "timestampType",
        "key",
        "value",
        "headers",
    ];
    let missing: Vec<_> = fields.iter().filter(|f| value.get(**f).is_none()).collect();
    if !missing.is_empty() || value["topic"] != topic || !value["value"].is_string() {
        return Err(format!(
            "the read's first line lacks {missing:?} or names another topic: {value}"
        ));
    }
    Ok(())
}

/// A child's wall time, CPU time and peak RSS.
struct Measured {
    wall_s: f64,
    cpu_s: f64,
    max_rss_kib: u64,
}

/// Reads a child's stdout to its end.
type Drain<'a> = &'a mut dyn FnMut(&mut std::process::ChildStdout) -> std::io::Result<()>;

/// Runs `binary args` with this stdin, stdout piped to `drain` (to
/// /dev/null without one) and stderr kept in a temporary file for the
/// error message; waits for it with `wait4`.
fn measure(
    binary: &Path,
    args: &[&str],
    stdin: Stdio,
    drain: Option<Drain<'_>>,
) -> Result<Measured, String> {
    let stderr_path = std::env::temp_dir().join(format!("cli-peers-stderr-{}", std::process::id()));
    let stderr = File::create(&stderr_path).map_err(|e| format!("stderr file: {e}"))?;
    let started = Instant::now();
    let mut child = Command::new(binary)
        .args(args)
        .stdin(stdin)
        .stdout(if drain.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stderr(stderr)
        .spawn()
        .map_err(|e| format!("start {}: {e}", binary.display()))?;
    let drained = match (child.stdout.as_mut(), drain) {
        (Some(stdout), Some(drain)) => drain(stdout),
        _ => Ok(()),
    };
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: a zeroed rusage is a valid value for wait4 to fill in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, not yet waited for; status and usage
    // are valid for writes.
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall_s = started.elapsed().as_secs_f64();
    let stderr_text = std::fs::read_to_string(&stderr_path).unwrap_or_default();
    let _ = std::fs::remove_file(&stderr_path);
    if waited != pid {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    drained.map_err(|e| format!("reading the child's stdout: {e}"))?;
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if !ok {
        let tail: Vec<_> = stderr_text.lines().rev().take(10).collect();
        return Err(format!(
            "{} {} exited with status {status:#x}: {}",
            binary.display(),
            args.join(" "),
            tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
        ));
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Measured {
        wall_s,
        cpu_s: seconds(usage.ru_utime) + seconds(usage.ru_stime),
        max_rss_kib: usage.ru_maxrss as u64,
    })
}

// ---------------------------------------------------------------- input

/// Writes `records` JSON lines like `ferrokafka read --output json` prints
/// (key, value, headers): values of about 100 bytes of pseudo-text, a key on
/// 3 lines of 4, a header on 1 line of 8. Deterministic. Returns the bytes
/// written.
fn generate_input(path: &Path, records: u64) -> std::io::Result<u64> {
    const WORDS: [&str; 24] = [
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
        "consumer",
        "commit",
        "fetch",
        "segment",
        "index",
        "log",
        "stream",
        "json",
        "header",
        "value",
        "key",
        "epoch",
        "quorum",
        "cluster",
    ];
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        // xorshift64*: cheap, deterministic, good enough for pseudo-text.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_F491_4F6C_DD1D)
    };
    let mut value = String::with_capacity(128);
    let mut line = Vec::with_capacity(256);
    let mut total = 0u64;
    for i in 0..records {
        value.clear();
        while value.len() < 100 {
            let r = next();
            if !value.is_empty() {
                value.push(' ');
            }
            value.push_str(WORDS[(r % WORDS.len() as u64) as usize]);
            if r.is_multiple_of(5) {
                value.push_str(&format!(" {}", (r >> 20) % 100_000));
            }
        }
        line.clear();
        line.extend_from_slice(b"{\"key\":");
        if i % 4 == 3 {
            line.extend_from_slice(b"null");
        } else {
            serde_json::to_writer(&mut line, &format!("user-{}", next() % 50_000))?;
        }
        line.extend_from_slice(b",\"value\":");
        serde_json::to_writer(&mut line, &value)?;
        line.extend_from_slice(b",\"headers\":[");
        if i % 8 == 5 {
            line.extend_from_slice(b"{\"key\":\"trace-id\",\"value\":");
            serde_json::to_writer(&mut line, &format!("{:016x}", next()))?;
            line.push(b'}');
        }
        line.extend_from_slice(b"]}\n");
        out.write_all(&line)?;
        total += line.len() as u64;
    }
    out.flush()?;
    Ok(total)
}

// ---------------------------------------------------------------- summary

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

fn print_summary(clients: &[Client], runs: &[Run]) {
    println!();
    println!("| direction | client | runs | wall s | records/s | CPU-s | CPU-s/GB (min–max) | GB measured | peak RSS MiB | load1 |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    for direction in [Direction::Write, Direction::Read] {
        for &client in clients {
            let mine: Vec<&Run> = runs
                .iter()
                .filter(|r| r.client == client && r.direction == direction)
                .collect();
            if mine.is_empty() {
                continue;
            }
            let of = |f: &dyn Fn(&Run) -> f64| median(mine.iter().map(|r| f(r)).collect());
            let per_gb: Vec<f64> = mine.iter().map(|r| r.cpu_per_gb()).collect();
            let min = per_gb.iter().copied().fold(f64::INFINITY, f64::min);
            let max = per_gb.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let what = match direction {
                Direction::Write => "input",
                Direction::Read => "output",
            };
            println!(
                "| {} | {} | {} | {:.2} | {:.0} | {:.2} | {:.2} ({:.2}–{:.2}) | {:.3} ({what}) | {:.0} | {:.2} |",
                direction.name(),
                client.name(),
                mine.len(),
                of(&|r| r.wall_s),
                of(&|r| r.records_per_s()),
                of(&|r| r.cpu_s),
                median(per_gb),
                min,
                max,
                of(&|r| r.bytes as f64 / 1e9),
                of(&|r| r.max_rss_kib as f64 / 1024.0),
                of(&|r| r.load1),
            );
        }
    }
}
