//! Crash safety of the streaming query: a query over a topic of several
//! partitions runs in a child process (this test binary run again, see
//! [`crash_child`]) whose handler appends each batch's rows to an output
//! file and fsyncs it. The child is killed with SIGKILL 20 times and
//! restarted each time: half the kills at a random instant (seeded), half
//! while it is paused at a named phase of the query's loop (planning,
//! writing `offsets/N`, in the handler, before writing `commits/N`). A
//! last run goes to the end. The output must then hold every offset of
//! every partition exactly once, counting a batch written again (its
//! handler finished, its commit did not happen) as a whole repeat of
//! identical rows; the repeats are counted and printed.
//!
//! `QUERY_CRASH_SEED` replays a run's kill instants and phases (the seed
//! is printed). It reads 1 000 000 records (about 30 s in a
//! debug build).

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use ferrokafka::admin::NewTopic;
use ferrokafka::{Client, ClientConfig, ProducerConfig, ProducerRecord};
use ferrokafka_streaming::options::SourceOptions;
use ferrokafka_streaming::query::{MicroBatch, QueryPhase, StreamingQuery};
use ferrokafka_streaming::trigger::Trigger;
use ferrokafka_tests::{Nisshi, TempDir};
use futures::TryStreamExt;

const TOPIC: &str = "crash";
const PARTITIONS: i32 = 4;
/// Batches a whole run takes: enough that most kills find work left.
const BATCHES: u64 = 100;
const KILLS: usize = 20;

/// Set in the child: the broker, the checkpoint and output paths, the
/// batch size, and where to pause (`<phase>:<occurrence>`), if anywhere.
const CHILD_ENV: &str = "QUERY_CRASH_CHILD";
const BOOTSTRAP_ENV: &str = "QUERY_CRASH_BOOTSTRAP";
const DIR_ENV: &str = "QUERY_CRASH_DIR";
const LIMIT_ENV: &str = "QUERY_CRASH_MAX_OFFSETS";
const PAUSE_ENV: &str = "QUERY_CRASH_PAUSE_AT";
/// The file a child writes when it pauses at its phase.
const PAUSED_FILE: &str = "paused";

/// The phases a child can be paused at, as `PAUSE_ENV` names them.
const PHASES: [&str; 4] = ["planning", "writing-offsets", "handling", "committing"];

#[test]
fn killed_twenty_times_over_a_million_records_every_offset_is_there_once() {
    crash_test(1_000_000);
}

/// Not a test of its own: the query process the crash tests start and
/// kill. Does nothing unless `QUERY_CRASH_CHILD` is set.
#[test]
fn crash_child() {
    if std::env::var_os(CHILD_ENV).is_none() {
        return;
    }
    let var = |name: &str| std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set"));
    let bootstrap = var(BOOTSTRAP_ENV);
    let dir = PathBuf::from(var(DIR_ENV));
    let limit = var(LIMIT_ENV);
    let pause = std::env::var(PAUSE_ENV).ok().map(|at| {
        let (phase, occurrence) = at.split_once(':').expect("<phase>:<occurrence>");
        (phase.to_owned(), occurrence.parse::<u64>().unwrap())
    });
    ferrokafka_tests::backend::block_on(run_child(&bootstrap, &dir, &limit, pause));
}

async fn run_child(bootstrap: &str, dir: &Path, limit: &str, pause: Option<(String, u64)>) {
    let output_path = dir.join("output");
    cut_torn_tail(&output_path);
    let settings = SourceOptions::from_pairs([
        ("kafka.bootstrap.servers", bootstrap),
        ("subscribe", TOPIC),
        ("startingOffsets", "earliest"),
        ("maxOffsetsPerTrigger", limit),
    ])
    .streaming()
    .unwrap();
    let seen = AtomicU64::new(0);
    let trace = std::env::var_os("QUERY_CRASH_TRACE").is_some();
    let paused_marker = dir.join(PAUSED_FILE);
    let query = StreamingQuery::builder(settings, dir.join("checkpoint"))
        .trigger(Trigger::AvailableNow)
        .on_phase(move |phase| {
            if trace {
                eprintln!("child {}: {phase:?}", std::process::id());
            }
            let Some((at, occurrence)) = &pause else {
                return;
            };
            if phase_name(phase) == Some(at.as_str())
                && seen.fetch_add(1, Ordering::SeqCst) + 1 == *occurrence
            {
                // Tell the parent (a file: simpler than the test
                // harness's stdout).
                std::fs::write(&paused_marker, format!("{phase:?}")).unwrap();
                // Hold the query here until the parent's SIGKILL.
                loop {
                    std::thread::sleep(Duration::from_secs(60));
                }
            }
        })
        .start(move |mut batch: MicroBatch| {
            let output_path = output_path.clone();
            async move {
                let mut block = String::new();
                let mut rows = 0u64;
                while let Some(row) = batch.rows().try_next().await? {
                    block.push_str(&format!("r {} {}\n", row.partition(), row.offset()));
                    rows += 1;
                }
                block.push_str(&format!("b {} {rows}\n", batch.batch_id()));
                let mut file = OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&output_path)?;
                file.write_all(block.as_bytes())?;
                file.sync_data()?;
                Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
            }
        })
        .await
        .unwrap();
    let outcome = query.await_termination().await.unwrap();
    println!("FINISHED {outcome:?}");
}

fn phase_name(phase: QueryPhase) -> Option<&'static str> {
    match phase {
        QueryPhase::Planning { .. } => Some(PHASES[0]),
        QueryPhase::WritingOffsets { .. } => Some(PHASES[1]),
        QueryPhase::Handling { .. } => Some(PHASES[2]),
        QueryPhase::Committing { .. } => Some(PHASES[3]),
        _ => None,
    }
}

/// Cuts a block the last run was killed in the middle of writing: its
/// handler never returned, so the batch was not committed and runs again.
fn cut_torn_tail(path: &Path) {
    let Ok(text) = std::fs::read(path) else {
        return;
    };
    let mut keep = 0;
    let mut line_start = 0;
    for (i, byte) in text.iter().enumerate() {
        if *byte == b'\n' {
            if text[line_start..].starts_with(b"b ") {
                keep = i + 1;
            }
            line_start = i + 1;
        }
    }
    if keep < text.len() {
        let file = OpenOptions::new().write(true).open(path).unwrap();
        file.set_len(keep as u64).unwrap();
        file.sync_all().unwrap();
    }
}

/// A small seeded generator (xorshift64*): the kill plan replays from the
/// seed.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

/// How a child run ended.
#[derive(Debug, Default)]
struct Tally {
    killed_at_random: usize,
    killed_at_phase: BTreeMap<&'static str, usize>,
    finished_before_the_kill: usize,
}

fn crash_test(records: u64) {
    let seed = std::env::var("QUERY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash test over {records} records, QUERY_CRASH_SEED={seed}");
    let mut random = Random(seed);
    let broker = Nisshi::start();
    let bootstrap = broker.bootstrap();
    let per_partition = records / PARTITIONS as u64;
    let started = Instant::now();
    ferrokafka_tests::backend::block_on(fill(&bootstrap, per_partition));
    eprintln!("produced in {:.1} s", started.elapsed().as_secs_f64());
    let dir = TempDir::new("query-crash");
    let limit = (records / BATCHES).to_string();

    let mut tally = Tally::default();
    let started = Instant::now();
    for kill in 0..KILLS {
        if kill % 2 == 0 {
            // Somewhere in the first 0.4 s: start-up, planning, reading,
            // the handler's writes, checkpoint writes.
            let delay = Duration::from_millis(random.below(400));
            let mut child = spawn_child(&bootstrap, dir.path(), &limit, None);
            std::thread::sleep(delay);
            if child.try_wait().unwrap().is_some() {
                tally.finished_before_the_kill += 1;
            } else {
                tally.killed_at_random += 1;
            }
            kill_and_reap(&mut child);
        } else {
            let phase = PHASES[(kill / 2) % PHASES.len()];
            let occurrence = 1 + random.below(2);
            let at = format!("{phase}:{occurrence}");
            let mut child = spawn_child(&bootstrap, dir.path(), &limit, Some(&at));
            if wait_for_pause(&mut child, dir.path()) {
                *tally.killed_at_phase.entry(phase).or_default() += 1;
            } else {
                tally.finished_before_the_kill += 1;
            }
            kill_and_reap(&mut child);
        }
    }
    let killing = started.elapsed();
    let started = Instant::now();
    let mut last = spawn_child(&bootstrap, dir.path(), &limit, None);
    let status = wait_with_deadline(&mut last, Duration::from_secs(1_800));
    assert!(status.success(), "the last run failed: {status}");
    eprintln!(
        "{KILLS} kills in {:.1} s ({tally:?}); the last run took {:.1} s",
        killing.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );

    let report = check_output(&dir.join("output"), per_partition);
    eprintln!(
        "output: {} batches, {} rows; {} batches written again ({} rows repeated)",
        report.batches, report.rows, report.repeated_batches, report.repeated_rows
    );
    drop(broker);
}

async fn fill(bootstrap: &str, per_partition: u64) {
    let client = Client::connect(
        ClientConfig::builder()
            .bootstrap_servers(bootstrap)
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    client
        .admin()
        .create_topic(NewTopic::new(TOPIC, PARTITIONS, 1))
        .await
        .unwrap();
    let producer = client.producer(ProducerConfig::default()).await.unwrap();
    let mut deliveries = Vec::new();
    for offset in 0..per_partition {
        for partition in 0..PARTITIONS {
            let record = ProducerRecord::new(TOPIC)
                .partition(partition)
                .value(format!("{partition}@{offset}"));
            deliveries.push(producer.send(record).await.unwrap());
        }
        if deliveries.len() >= 10_000 {
            for delivery in deliveries.drain(..) {
                delivery.await.unwrap();
            }
        }
    }
    for delivery in deliveries {
        delivery.await.unwrap();
    }
}

fn spawn_child(bootstrap: &str, dir: &Path, limit: &str, pause_at: Option<&str>) -> Child {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["crash_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, "1")
        .env(BOOTSTRAP_ENV, bootstrap)
        .env(DIR_ENV, dir)
        .env(LIMIT_ENV, limit)
        .env_remove(PAUSE_ENV)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(at) = pause_at {
        command.env(PAUSE_ENV, at);
    }
    command.spawn().unwrap()
}

/// Whether the child paused at its phase (`false`: it finished first).
fn wait_for_pause(child: &mut Child, dir: &Path) -> bool {
    let marker = dir.join(PAUSED_FILE);
    let started = Instant::now();
    let paused = loop {
        if marker.exists() {
            break true;
        }
        if child.try_wait().unwrap().is_some() {
            break false;
        }
        if started.elapsed() > Duration::from_secs(120) {
            kill_and_reap(child);
            panic!("the child neither paused nor ended within 120 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    kill_and_reap(child);
    let _ = std::fs::remove_file(&marker);
    paused
}

fn kill_and_reap(child: &mut Child) {
    // `Child::kill` is SIGKILL on Unix.
    let _ = child.kill();
    let _ = child.wait();
}

fn wait_with_deadline(child: &mut Child, deadline: Duration) -> std::process::ExitStatus {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if started.elapsed() > deadline {
            kill_and_reap(child);
            panic!("the last run did not end within {deadline:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct OutputReport {
    batches: usize,
    rows: u64,
    repeated_batches: usize,
    repeated_rows: u64,
}

/// Reads the output's blocks and checks them: a batch written more than
/// once wrote the same rows each time; the batches' rows together are
/// every offset `0..per_partition` of every partition, each once.
fn check_output(path: &Path, per_partition: u64) -> OutputReport {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut copies: BTreeMap<u64, Vec<Vec<(i32, i64)>>> = BTreeMap::new();
    let mut block = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.unwrap();
        let fields: Vec<&str> = line.split(' ').collect();
        match fields.as_slice() {
            ["r", partition, offset] => {
                block.push((partition.parse().unwrap(), offset.parse().unwrap()))
            }
            ["b", batch_id, rows] => {
                assert_eq!(
                    block.len(),
                    rows.parse::<usize>().unwrap(),
                    "batch {batch_id}"
                );
                let mut rows = std::mem::take(&mut block);
                rows.sort_unstable();
                copies
                    .entry(batch_id.parse().unwrap())
                    .or_default()
                    .push(rows);
            }
            _ => panic!("a line of no block: {line:?}"),
        }
    }
    assert!(block.is_empty(), "the output ends in a torn block");
    let mut report = OutputReport {
        batches: copies.len(),
        rows: 0,
        repeated_batches: 0,
        repeated_rows: 0,
    };
    let mut by_partition: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for (batch_id, runs) in &copies {
        for again in &runs[1..] {
            assert_eq!(
                again, &runs[0],
                "batch {batch_id} ran again over other rows"
            );
            report.repeated_batches += 1;
            report.repeated_rows += again.len() as u64;
        }
        for (partition, offset) in &runs[0] {
            by_partition.entry(*partition).or_default().push(*offset);
        }
        report.rows += runs[0].len() as u64;
    }
    let ids: Vec<u64> = copies.keys().copied().collect();
    assert_eq!(
        ids,
        (0..ids.len() as u64).collect::<Vec<_>>(),
        "batch ids with a gap"
    );
    let every_offset: Vec<i64> = (0..per_partition as i64).collect();
    assert_eq!(by_partition.len(), PARTITIONS as usize);
    for (partition, mut offsets) in by_partition {
        offsets.sort_unstable();
        assert!(
            offsets == every_offset,
            "partition {partition}: {} rows, not each of 0..{per_partition} once (first gap or \
             repeat near {:?})",
            offsets.len(),
            offsets
                .iter()
                .zip(&every_offset)
                .find(|(seen, expected)| seen != expected)
        );
    }
    report
}
