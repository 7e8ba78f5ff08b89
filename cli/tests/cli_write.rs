//! `ferrokafka write` counts every acknowledged record and fails on a
//! failed one, however the acknowledgements and the input lines interleave.

mod support;

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

use ferrokafka_fake::messages::ApiKey;
use ferrokafka_fake::{FakeCluster, Fault, FaultAction, ResponseError};
use support::command;

/// JSON lines for `partition`, numbered from `first`.
fn lines(partition: i32, first: usize, n: usize) -> String {
    (first..first + n)
        .map(|i| format!("{{\"value\":\"v{i}\",\"partition\":{partition}}}\n"))
        .collect()
}

/// Runs `write --format json`, feeding stdin in `bursts` with a pause after
/// each but the last, so that the records of a burst are acknowledged (or
/// failed) while the next burst is being read.
fn write_in_bursts(bootstrap: &str, topic: &str, bursts: &[String]) -> Output {
    let mut child = command(&["-b", bootstrap, "write", topic, "--format", "json"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("run ferrokafka");
    let mut stdin = child.stdin.take().unwrap();
    for (i, burst) in bursts.iter().enumerate() {
        stdin.write_all(burst.as_bytes()).unwrap();
        stdin.flush().unwrap();
        if i + 1 < bursts.len() {
            std::thread::sleep(Duration::from_millis(1500));
        }
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

#[test]
fn records_acknowledged_while_lines_are_read_are_counted() {
    let cluster = FakeCluster::builder().build().unwrap();
    cluster.create_topic("t", 1).unwrap();
    let out = write_in_bursts(
        &cluster.bootstrap(),
        "t",
        &[lines(0, 0, 20), lines(0, 20, 20)],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("40 records written"), "{stderr}");
    let stored: usize = cluster
        .batches("t", 0)
        .unwrap()
        .iter()
        .map(|b| b.record_count() as usize)
        .sum();
    assert_eq!(stored, 40);
}

#[test]
fn a_record_that_fails_while_lines_are_read_fails_the_write() {
    let cluster = FakeCluster::builder().build().unwrap();
    cluster.create_topic("t", 2).unwrap();
    // Every Produce to t-1 is refused with an error no retry cures.
    cluster.inject(
        Fault::on(ApiKey::Produce)
            .partition("t", 1)
            .always()
            .action(FaultAction::Error(ResponseError::InvalidRecord)),
    );
    // One record for t-1 fails during the pause; the next line's record
    // (to t-0) succeeds.
    let out = write_in_bursts(&cluster.bootstrap(), "t", &[lines(1, 0, 1), lines(0, 1, 1)]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the write succeeded: {stderr}");
    assert_eq!(out.status.code(), Some(5), "{stderr}");
    assert!(stderr.contains("t-1"), "{stderr}");
}
