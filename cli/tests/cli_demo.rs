//! `ferrokafka demo`: the main job in one command, on the in-process fake
//! cluster and on a real broker (Nisshi): every order reaches the priced
//! topic once, and the progress it prints (lines or Spark's JSON) is
//! right.

mod support;

use ferrokafka_tests::Nisshi;
use support::{failed, ferrokafka, json_lines, ok};

#[test]
fn the_demo_streams_every_order_once_on_the_fake_cluster() {
    let out = ok(&ferrokafka(
        &["demo", "--records", "5000", "--batch-size", "1000"],
        None,
    ));
    assert!(out.contains("fake Kafka cluster in this process"), "{out}");
    assert!(out.contains("wrote 5000 orders"), "{out}");
    assert!(
        out.contains("minPartitions=12, maxOffsetsPerTrigger=1000, trigger availableNow"),
        "{out}"
    );
    let batches: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with("batch "))
        .collect();
    // 5000 offsets at most 1000 a batch: at least five batches, the last
    // one caught up.
    assert!(batches.len() >= 5, "{out}");
    let rows: u64 = batches
        .iter()
        .map(|l| l.split_whitespace().nth(2).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(rows, 5000, "{out}");
    assert!(batches[0].contains("lag 4"), "{out}");
    assert!(batches.last().unwrap().contains("lag 0"), "{out}");
    assert!(out.contains("holds 5000 priced orders"), "{out}");
    assert!(out.contains("0 missing, 0 repeated"), "{out}");
    assert!(out.contains(r#""total_cents":"#), "{out}");
}

#[test]
fn the_demo_prints_spark_progress_json_and_refuses_nonsense() {
    let out = ok(&ferrokafka(
        &["demo", "--records", "3000", "--progress", "json"],
        None,
    ));
    let progress = json_lines(
        &out.lines()
            .filter(|l| l.starts_with('{'))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    assert!(progress.len() >= 5, "{out}");
    let rows: i64 = progress
        .iter()
        .map(|p| p["numInputRows"].as_i64().unwrap())
        .sum();
    assert_eq!(rows, 3000);
    assert_eq!(progress[0]["name"], "demo-pricing");
    assert!(progress[0]["sink"]["numOutputRows"].is_i64());
    let (code, err) = failed(&ferrokafka(&["demo", "--records", "0"], None));
    assert_eq!(code, 2, "{err}");
}

#[test]
fn the_demo_runs_on_a_real_broker_and_cleans_up() {
    let broker = Nisshi::start();
    let bootstrap = broker.bootstrap();
    let out = ok(&ferrokafka(
        &[
            "-b",
            &bootstrap,
            "demo",
            "--records",
            "2000",
            "--partitions",
            "3",
        ],
        None,
    ));
    assert!(
        out.contains(&format!("the Kafka cluster at {bootstrap}")),
        "{out}"
    );
    assert!(out.contains("holds 2000 priced orders"), "{out}");
    assert!(out.contains("0 missing, 0 repeated"), "{out}");
    // Its run-unique topics are gone again.
    let topics = ok(&ferrokafka(
        &["-b", &bootstrap, "topics", "list", "--output", "json"],
        None,
    ));
    assert!(!topics.contains("demo-orders"), "{topics}");
}
