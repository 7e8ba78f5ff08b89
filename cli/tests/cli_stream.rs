//! `ferrokafka stream`: topic → topic, → JSON-lines files and → console
//! carry every record with its key, value and headers; progress JSON
//! lines are Spark's; a stream killed with SIGKILL ten times and restarted
//! leaves every record of its input in its output, repeats counted.

mod support;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use ferrokafka_fake::FakeCluster;
use serde_json::{json, Value};
use support::{command, failed, ferrokafka, json_lines, ok};

/// `n` records as JSON lines for `write --format json`: keys, values and
/// headers (duplicates and nulls) that a copy must keep.
fn records(n: usize) -> String {
    let mut lines = String::new();
    for i in 0..n {
        let key = if i % 10 == 0 {
            Value::Null
        } else {
            json!(format!("key-{}", i % 17))
        };
        let headers = if i % 3 == 0 {
            json!([{"key": "h", "value": "1"}, {"key": "h", "value": null}])
        } else {
            json!([])
        };
        let line = json!({"key": key, "value": format!("record-{i}"), "headers": headers});
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    lines
}

/// `ferrokafka -b BOOTSTRAP stream a ARGS…`.
fn stream(bootstrap: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["-b", bootstrap, "stream", "a"];
    all.extend_from_slice(args);
    ferrokafka(&all, None)
}

fn write_records(bootstrap: &str, topic: &str, n: usize) {
    let input = records(n);
    ok(&ferrokafka(
        &["-b", bootstrap, "write", topic, "--format", "json"],
        Some(input.as_bytes()),
    ));
}

/// What a copy keeps of each record: key, value and headers.
fn contents(rows: &[Value]) -> Vec<String> {
    let mut kept: Vec<String> = rows
        .iter()
        .map(|r| json!([r["key"], r["value"], r["headers"]]).to_string())
        .collect();
    kept.sort();
    kept
}

fn read_all(bootstrap: &str, topic: &str) -> Vec<Value> {
    json_lines(&ok(&ferrokafka(
        &["-b", bootstrap, "read", topic, "--output", "json"],
        None,
    )))
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cli-stream-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn a_stream_copies_a_topic_batch_by_batch_and_reports_spark_progress() {
    let cluster = FakeCluster::builder()
        .topic("a", 3)
        .topic("b", 2)
        .build()
        .unwrap();
    let bootstrap = cluster.bootstrap();
    write_records(&bootstrap, "a", 1000);
    let checkpoint = temp_dir("copy");
    let checkpoint_arg = checkpoint.to_str().unwrap();
    let output = stream(
        &bootstrap,
        &[
            "--to",
            "topic:b",
            "--checkpoint",
            checkpoint_arg,
            "--trigger",
            "availableNow",
            "-o",
            "startingOffsets=earliest",
            "-o",
            "maxOffsetsPerTrigger=300",
            "--progress",
            "json",
        ],
    );
    let progress = json_lines(&ok(&output));
    // 1000 offsets over 3 partitions at most 300 a batch: 4 batches.
    assert_eq!(progress.len(), 4, "{progress:?}");
    let mut rows = 0;
    for (i, p) in progress.iter().enumerate() {
        assert_eq!(p["batchId"], json!(i));
        assert!(p["id"].is_string() && p["runId"].is_string());
        let source = &p["sources"][0];
        assert!(source["description"]
            .as_str()
            .unwrap()
            .starts_with("KafkaV2[Subscribe[a]]"));
        rows += source["numInputRows"].as_i64().unwrap();
        assert_eq!(p["numInputRows"], source["numInputRows"]);
    }
    assert_eq!(rows, 1000);
    // The last batch caught up: nothing behind the latest offsets.
    assert_eq!(
        progress[3]["sources"][0]["metrics"]["maxOffsetsBehindLatest"],
        json!("0")
    );
    assert!(checkpoint.join("commits/3").exists());

    let read_a = read_all(&bootstrap, "a");
    let read_b = read_all(&bootstrap, "b");
    assert_eq!(read_b.len(), 1000);
    assert_eq!(contents(&read_a), contents(&read_b));
    // Keys chose b's partitions (b has 2; a's partition 2 does not exist there).
    assert!(read_b.iter().all(|r| r["partition"].as_i64().unwrap() < 2));

    // Run again: nothing new, no batch, the same output.
    let again = stream(
        &bootstrap,
        &[
            "--to",
            "topic:b",
            "--checkpoint",
            checkpoint_arg,
            "--trigger",
            "availableNow",
            "--progress",
            "json",
        ],
    );
    assert_eq!(ok(&again), "");
    assert_eq!(read_all(&bootstrap, "b").len(), 1000);

    // New records: the next run takes exactly those.
    write_records(&bootstrap, "a", 10);
    let more = json_lines(&ok(&stream(
        &bootstrap,
        &[
            "--to",
            "topic:b",
            "--checkpoint",
            checkpoint_arg,
            "--trigger",
            "once",
            "--progress",
            "json",
        ],
    )));
    assert_eq!(more.len(), 1);
    assert_eq!(more[0]["batchId"], json!(4));
    assert_eq!(more[0]["numInputRows"], json!(10));
    assert_eq!(read_all(&bootstrap, "b").len(), 1010);
    let _ = std::fs::remove_dir_all(&checkpoint);
}

#[test]
fn a_stream_to_a_directory_writes_one_file_per_batch_and_to_the_console_prints_rows() {
    let cluster = FakeCluster::builder().topic("a", 2).build().unwrap();
    let bootstrap = cluster.bootstrap();
    write_records(&bootstrap, "a", 500);
    let checkpoint = temp_dir("files-checkpoint");
    let out = temp_dir("files-out");
    let to = format!("dir:{}", out.display());
    ok(&stream(
        &bootstrap,
        &[
            "--to",
            &to,
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "--trigger",
            "availableNow",
            "-o",
            "startingOffsets=earliest",
            "-o",
            "maxOffsetsPerTrigger=200",
        ],
    ));
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "batch-0000000000.jsonl",
            "batch-0000000001.jsonl",
            "batch-0000000002.jsonl"
        ]
    );
    // The files hold exactly what `read` prints, row for row.
    let mut from_files: Vec<String> = Vec::new();
    for name in &names {
        let text = std::fs::read_to_string(out.join(name)).unwrap();
        from_files.extend(text.lines().map(str::to_owned));
    }
    let read = ok(&ferrokafka(
        &["-b", &bootstrap, "read", "a", "--output", "json"],
        None,
    ));
    let mut from_read: Vec<String> = read.lines().map(str::to_owned).collect();
    from_files.sort();
    from_read.sort();
    assert_eq!(from_files.len(), 500);
    assert_eq!(from_files, from_read);

    // The console: a one-batch stream prints the rows as `read` would.
    let console = ok(&stream(
        &bootstrap,
        &[
            "--trigger",
            "once",
            "-o",
            "startingOffsets=earliest",
            "--output",
            "json",
        ],
    ));
    let mut printed: Vec<String> = console.lines().map(str::to_owned).collect();
    printed.sort();
    assert_eq!(printed, from_read);
    let formatted = ok(&stream(
        &bootstrap,
        &[
            "--trigger",
            "once",
            "-o",
            "startingOffsets=earliest",
            "-f",
            "%p:%o %s\\n",
        ],
    ));
    assert_eq!(formatted.lines().count(), 500);
    assert!(formatted
        .lines()
        .any(|l| l == "0:0 record-0" || l == "1:0 record-0"));
    let _ = std::fs::remove_dir_all(&checkpoint);
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn a_stream_refuses_what_it_cannot_do_with_the_right_exit_code() {
    let cluster = FakeCluster::builder().topic("a", 1).build().unwrap();
    let bootstrap = cluster.bootstrap();
    // A topic sink without a checkpoint: usage.
    let (code, err) = failed(&stream(&bootstrap, &["--to", "topic:b"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--checkpoint"), "{err}");
    // Spark's trigger names only.
    let (code, err) = failed(&stream(&bootstrap, &["--trigger", "continuous"]));
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("not supported"), "{err}");
    // A refused sink property: Spark's message, exit code 3.
    let checkpoint = temp_dir("refused");
    let (code, err) = failed(&stream(
        &bootstrap,
        &[
            "--to",
            "topic:b",
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "-O",
            "kafka.value.serializer=x",
        ],
    ));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("value.serializer"), "{err}");
    // No subscription: the source's own message, exit code 3.
    let (code, err) = failed(&ferrokafka(&["-b", &bootstrap, "stream"], None));
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("subscribe"), "{err}");
    let _ = std::fs::remove_dir_all(&checkpoint);
}

/// A small deterministic generator for the kill instants (seed printed).
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

/// Batches committed so far: one past the newest `commits/N`.
fn commits(checkpoint: &Path) -> u64 {
    std::fs::read_dir(checkpoint.join("commits"))
        .map(|d| {
            d.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
                .max()
                .map_or(0, |n| n + 1)
        })
        .unwrap_or(0)
}

#[test]
fn a_stream_killed_ten_times_leaves_every_record_in_its_output() {
    const RECORDS: usize = 20_000;
    let cluster = FakeCluster::builder()
        .topic("a", 4)
        .topic("b", 4)
        .build()
        .unwrap();
    let bootstrap = cluster.bootstrap();
    write_records(&bootstrap, "a", RECORDS);
    let checkpoint = temp_dir("killed");
    let checkpoint_arg = checkpoint.to_str().unwrap().to_owned();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    println!("kill instants from seed {seed}");
    let mut random = Lcg(seed);
    let stream_args = |trigger: &'static str| {
        vec![
            "-b".to_owned(),
            bootstrap.clone(),
            "stream".to_owned(),
            "a".to_owned(),
            "--to".to_owned(),
            "topic:b".to_owned(),
            "--checkpoint".to_owned(),
            checkpoint_arg.clone(),
            "-o".to_owned(),
            "startingOffsets=earliest".to_owned(),
            "-o".to_owned(),
            "maxOffsetsPerTrigger=100".to_owned(),
            "--trigger".to_owned(),
            trigger.to_owned(),
        ]
    };
    for kill in 1..=10 {
        let args = stream_args("processingTime=0");
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut child = command(&args).spawn().unwrap();
        let after = Duration::from_millis(150 + random.below(600));
        std::thread::sleep(after);
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        assert!(!status.success());
        println!(
            "kill {kill} after {} ms: {} batches committed so far",
            after.as_millis(),
            commits(&checkpoint)
        );
    }
    // Restart once more and let it finish what is there.
    let args = stream_args("availableNow");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(&ferrokafka(&args, None));

    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for row in read_all(&bootstrap, "b") {
        *seen
            .entry(row["value"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let missing: Vec<usize> = (0..RECORDS)
        .filter(|i| !seen.contains_key(&format!("record-{i}")))
        .collect();
    assert!(
        missing.is_empty(),
        "{} records missing, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert_eq!(seen.len(), RECORDS, "records b should not have");
    let repeats: usize = seen.values().map(|n| n - 1).sum();
    println!(
        "every one of {RECORDS} records is in b; {repeats} repeats (re-run batches), {} batches",
        commits(&checkpoint)
    );
    // A re-run batch is re-sent whole: at most one batch (100 offsets) per kill.
    assert!(repeats <= 10 * 100, "{repeats} repeats");
    let _ = std::fs::remove_dir_all(&checkpoint);
}

/// The newest `offsets/N` of a checkpoint.
fn newest_offsets(checkpoint: &Path) -> Option<u64> {
    std::fs::read_dir(checkpoint.join("offsets"))
        .ok()?
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
        .max()
}

#[test]
fn ctrl_c_and_sigterm_stop_a_stream_after_its_running_batch() {
    let cluster = FakeCluster::builder().topic("a", 2).build().unwrap();
    let bootstrap = cluster.bootstrap();
    write_records(&bootstrap, "a", 3000);
    for signal in ["-INT", "-TERM"] {
        let checkpoint = temp_dir(&format!("signal{signal}"));
        let out = temp_dir(&format!("signal-out{signal}"));
        let to = format!("dir:{}", out.display());
        let child = command(&[
            "-b",
            &bootstrap,
            "stream",
            "a",
            "--to",
            &to,
            "--checkpoint",
            checkpoint.to_str().unwrap(),
            "-o",
            "startingOffsets=earliest",
            "-o",
            "maxOffsetsPerTrigger=10",
            "--progress",
            "human",
        ])
        .spawn()
        .unwrap();
        // Wait for the first committed batch, then signal.
        let mut waited = 0;
        while commits(&checkpoint) == 0 {
            std::thread::sleep(Duration::from_millis(20));
            waited += 1;
            assert!(waited < 1500, "no batch committed within 30 s");
        }
        let status = std::process::Command::new("kill")
            .args([signal, &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "{signal}: {stderr}");
        assert!(stderr.contains("batches committed"), "{stderr}");
        if signal == "-INT" {
            assert!(
                stderr.contains("stopping after the running batch"),
                "{stderr}"
            );
        }
        // The running batch was finished: the newest batch logged is committed.
        let newest = newest_offsets(&checkpoint).unwrap();
        assert_eq!(
            commits(&checkpoint),
            newest + 1,
            "{signal}: batch {newest} left uncommitted"
        );
        let files = std::fs::read_dir(&out).unwrap().count() as u64;
        assert_eq!(files, newest + 1, "one file per committed batch");
        let _ = std::fs::remove_dir_all(&checkpoint);
        let _ = std::fs::remove_dir_all(&out);
    }
}

#[test]
fn keep_partitions_writes_each_record_to_the_partition_it_came_from() {
    let cluster = FakeCluster::builder()
        .topic("a", 3)
        .topic("wide", 5)
        .topic("narrow", 2)
        .build()
        .unwrap();
    let bootstrap = cluster.bootstrap();
    write_records(&bootstrap, "a", 300);
    let copy = |to: &str, name: &str| {
        let checkpoint = temp_dir(name);
        let output = stream(
            &bootstrap,
            &[
                "--to",
                to,
                "--keep-partitions",
                "--checkpoint",
                checkpoint.to_str().unwrap(),
                "--trigger",
                "availableNow",
                "-o",
                "startingOffsets=earliest",
                "--progress",
                "none",
            ],
        );
        let _ = std::fs::remove_dir_all(&checkpoint);
        output
    };
    ok(&copy("topic:wide", "keep-wide"));
    // Where each record (by its value, unique) was and went.
    let partitions = |topic: &str| -> BTreeMap<String, i64> {
        read_all(&bootstrap, topic)
            .iter()
            .map(|r| {
                (
                    r["value"].as_str().unwrap().to_owned(),
                    r["partition"].as_i64().unwrap(),
                )
            })
            .collect()
    };
    let source = partitions("a");
    assert_eq!(source.len(), 300);
    assert_eq!(
        partitions("wide"),
        source,
        "every record kept its partition"
    );
    // Spread over a's three partitions, none beyond: not the partitioner's
    // choice over five.
    assert_eq!(
        source
            .values()
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        3
    );

    // A target with fewer partitions than the source cannot take them.
    let refused = copy("topic:narrow", "keep-narrow");
    let (code, stderr) = failed(&refused);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("narrow-2") && stderr.contains("the topic has 2 partitions"),
        "names the missing partition: {stderr}"
    );
}
