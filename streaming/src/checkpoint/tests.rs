use std::num::NonZeroU64;
use std::path::PathBuf;

use super::*;

const QUERY_ID: &str = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";

fn offsets(json: &str) -> PartitionOffsets {
    PartitionOffsets::from_json(json).unwrap()
}

fn metadata(timestamp_ms: i64) -> BatchMetadata {
    BatchMetadata::new(timestamp_ms)
}

/// A checkpoint with the initial offsets and `batches` committed batches,
/// batch N ending at offset 10·(N+1).
fn with_batches(store: &MemoryCheckpoint, batches: u64) -> Checkpoint {
    let mut checkpoint = Checkpoint::open_for_query(store.clone(), QUERY_ID).unwrap();
    checkpoint
        .write_initial_offsets(&offsets(r#"{"t":{"0":0}}"#))
        .unwrap();
    for batch_id in 0..batches {
        let end = offsets(&format!(r#"{{"t":{{"0":{}}}}}"#, 10 * (batch_id + 1)));
        checkpoint
            .write_offsets(batch_id, &end, &metadata(1_000 + batch_id as i64))
            .unwrap();
        checkpoint.commit(batch_id, 0).unwrap();
    }
    checkpoint
}

fn text(store: &MemoryCheckpoint, path: &str) -> String {
    String::from_utf8(store.read(path).unwrap().unwrap()).unwrap()
}

#[test]
fn files_are_written_in_sparks_formats() {
    let store = MemoryCheckpoint::new();
    let mut checkpoint = Checkpoint::open_for_query(store.clone(), QUERY_ID).unwrap();
    assert!(checkpoint.created());
    assert_eq!(
        text(&store, "metadata"),
        format!(r#"{{"id":"{QUERY_ID}"}}"#)
    );

    checkpoint
        .write_initial_offsets(&offsets(r#"{"b":{"0":3},"a":{"1":7,"0":5}}"#))
        .unwrap();
    assert_eq!(
        store.read("sources/0/0").unwrap().unwrap(),
        b"\0v1\n{\"a\":{\"0\":5,\"1\":7},\"b\":{\"0\":3}}"
    );

    let mut batch = BatchMetadata::new(1_700_000_000_123);
    batch.conf = [("spark.sql.shuffle.partitions".to_owned(), "4".to_owned())].into();
    checkpoint
        .write_offsets(0, &offsets(r#"{"a":{"0":9,"1":7},"b":{"0":4}}"#), &batch)
        .unwrap();
    assert_eq!(
        text(&store, "offsets/0"),
        "v1\n\
         {\"batchWatermarkMs\":0,\"batchTimestampMs\":1700000000123,\"conf\":{\"spark.sql.shuffle.partitions\":\"4\"}}\n\
         {\"a\":{\"0\":9,\"1\":7},\"b\":{\"0\":4}}"
    );
    checkpoint.commit(0, 0).unwrap();
    assert_eq!(
        text(&store, "commits/0"),
        "v1\n{\"nextBatchWatermarkMs\":0}"
    );
    assert_eq!(
        store.paths(),
        ["commits/0", "metadata", "offsets/0", "sources/0/0"]
    );
}

#[test]
fn default_batch_metadata_records_spark_4_session_settings() {
    let json = BatchMetadata::new(5).to_json();
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["batchWatermarkMs"], 0);
    assert_eq!(parsed["batchTimestampMs"], 5);
    let conf = parsed["conf"].as_object().unwrap();
    assert_eq!(conf.len(), 11);
    assert_eq!(conf["spark.sql.streaming.multipleWatermarkPolicy"], "min");
    assert_eq!(
        conf["spark.sql.streaming.stateStore.compression.codec"],
        "lz4"
    );
}

#[test]
fn reopening_keeps_the_query_id() {
    let store = MemoryCheckpoint::new();
    let first = Checkpoint::open(store.clone()).unwrap();
    assert!(first.created());
    assert!(files::is_uuid(first.query_id()), "{}", first.query_id());
    let again = Checkpoint::open(store.clone()).unwrap();
    assert!(!again.created());
    assert_eq!(again.query_id(), first.query_id());
    let expected = Checkpoint::open_for_query(store, first.query_id()).unwrap();
    assert_eq!(expected.query_id(), first.query_id());
}

#[test]
fn a_new_query_records_its_initial_offsets_once() {
    let store = MemoryCheckpoint::new();
    let mut checkpoint = Checkpoint::open(store.clone()).unwrap();
    assert_eq!(checkpoint.resume().unwrap(), Resume::New { initial: None });
    let initial = offsets(r#"{"t":{"0":42}}"#);
    checkpoint.write_initial_offsets(&initial).unwrap();
    // A restart before batch 0 was logged keeps them (options are ignored).
    let reopened = Checkpoint::open(store).unwrap();
    assert_eq!(
        reopened.resume().unwrap(),
        Resume::New {
            initial: Some(initial.clone())
        }
    );
    let mut reopened = reopened;
    assert!(matches!(
        reopened.write_initial_offsets(&initial),
        Err(CheckpointError::ConcurrentUpdate { file }) if file == "memory:/sources/0/0"
    ));
}

#[test]
fn an_uncommitted_batch_is_rerun_with_exactly_its_range() {
    let store = MemoryCheckpoint::new();
    let mut checkpoint = with_batches(&store, 2);
    checkpoint
        .write_offsets(2, &offsets(r#"{"t":{"0":95}}"#), &metadata(77))
        .unwrap();
    drop(checkpoint);

    let mut reopened = Checkpoint::open(store.clone()).unwrap();
    let Resume::Rerun(batch) = reopened.resume().unwrap() else {
        panic!("expected a re-run");
    };
    assert_eq!(batch.batch_id, 2);
    assert_eq!(batch.start, offsets(r#"{"t":{"0":20}}"#));
    assert_eq!(batch.end, offsets(r#"{"t":{"0":95}}"#));
    assert_eq!(batch.metadata.batch_timestamp_ms, 77);
    // The re-run is not logged again; it is committed, then the next batch follows.
    assert!(matches!(
        reopened.write_offsets(3, &offsets(r#"{"t":{"0":99}}"#), &metadata(78)),
        Err(CheckpointError::OutOfOrder { .. })
    ));
    reopened.commit(2, 0).unwrap();
    assert_eq!(
        reopened.resume().unwrap(),
        Resume::Next {
            batch_id: 3,
            start: offsets(r#"{"t":{"0":95}}"#),
            watermark_ms: 0
        }
    );
}

#[test]
fn batch_zero_is_rerun_from_the_initial_offsets() {
    let store = MemoryCheckpoint::new();
    let mut checkpoint = with_batches(&store, 0);
    checkpoint
        .write_offsets(0, &offsets(r#"{"t":{"0":5}}"#), &metadata(1))
        .unwrap();
    let Resume::Rerun(batch) = Checkpoint::open(store).unwrap().resume().unwrap() else {
        panic!("expected a re-run");
    };
    assert_eq!(
        (batch.batch_id, batch.start, batch.end),
        (0, offsets(r#"{"t":{"0":0}}"#), offsets(r#"{"t":{"0":5}}"#))
    );
}

#[test]
fn commits_lagging_behind_rerun_the_last_logged_batch() {
    // Spark warns and re-runs the last batch when commits trail by more than one.
    let store = MemoryCheckpoint::new();
    with_batches(&store, 1);
    store.put("offsets/1", "v1\n{}\n{\"t\":{\"0\":15}}");
    store.put("offsets/2", "v1\n{}\n{\"t\":{\"0\":25}}");
    let Resume::Rerun(batch) = Checkpoint::open(store).unwrap().resume().unwrap() else {
        panic!("expected a re-run");
    };
    assert_eq!(batch.batch_id, 2);
    assert_eq!(batch.start, offsets(r#"{"t":{"0":15}}"#));
    assert_eq!(batch.metadata.batch_timestamp_ms, 0);
    assert!(batch.metadata.conf.is_empty());
}

#[test]
fn a_torn_temporary_file_is_ignored_and_removed() {
    let store = MemoryCheckpoint::new();
    with_batches(&store, 2);
    // A crash mid-write leaves the temporary file, never the target.
    store.put(
        "offsets/.2.7f3a9c1e-0d2b-4c8e-9a6f-1b2c3d4e5f60.tmp",
        "v1\n{\"batchWat",
    );
    store.put(".metadata.aa.tmp", "{");
    let reopened = Checkpoint::open(store.clone()).unwrap();
    assert!(matches!(
        reopened.resume().unwrap(),
        Resume::Next { batch_id: 2, .. }
    ));
    assert!(
        !store.paths().iter().any(|path| path.ends_with(".tmp")),
        "{:?}",
        store.paths()
    );
}

#[test]
fn a_commit_without_its_offsets_is_corrupt() {
    let store = MemoryCheckpoint::new();
    with_batches(&store, 1);
    store.put("commits/1", "v1\n{\"nextBatchWatermarkMs\":0}");
    let err = Checkpoint::open(store.clone()).unwrap_err();
    assert!(
        matches!(err, CheckpointError::Corrupt { ref file, .. } if file == "memory:/commits/1")
    );
    let message = err.to_string();
    assert!(
        message.starts_with("checkpoint file memory:/commits/1 is corrupt: it commits batch 1"),
        "{message}"
    );
    assert!(message.contains("new checkpoint location"), "{message}");

    let only_commit = MemoryCheckpoint::new();
    only_commit.put("metadata", format!(r#"{{"id":"{QUERY_ID}"}}"#));
    only_commit.put("commits/0", "v1\n{}");
    assert!(matches!(
        Checkpoint::open(only_commit),
        Err(CheckpointError::Corrupt { file, .. }) if file == "memory:/commits/0"
    ));
}

#[test]
fn newer_versions_are_refused_with_sparks_message() {
    let store = MemoryCheckpoint::new();
    with_batches(&store, 1);
    store.put("offsets/1", "v3\n{}\n{\"t\":{\"0\":15}}");
    let err = Checkpoint::open(store).unwrap_err();
    assert!(
        matches!(err, CheckpointError::NewerVersion { ref file, found: 3, max: 2 } if file == "memory:/offsets/1"),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains(
            "UnsupportedLogVersion: maximum supported log version is v2, but encountered v3."
        ),
        "{message}"
    );
    assert!(message.contains("written by a newer version"), "{message}");

    let store = MemoryCheckpoint::new();
    store.put("metadata", format!(r#"{{"id":"{QUERY_ID}"}}"#));
    store.put("sources/0/0", b"\0v2\n{\"t\":{\"0\":1}}".to_vec());
    assert!(matches!(
        Checkpoint::open(store),
        Err(CheckpointError::NewerVersion {
            found: 2,
            max: 1,
            ..
        })
    ));

    let store = MemoryCheckpoint::new();
    with_batches(&store, 1);
    store.put("commits/0", "v9\n{}");
    assert!(matches!(
        Checkpoint::open(store),
        Err(CheckpointError::NewerVersion { found: 9, max: 2, ref file }) if file == "memory:/commits/0"
    ));
}

#[test]
fn sparks_other_forms_are_read() {
    // Spark 2.1.0's initial offsets: a leading byte, then only the JSON.
    let store = MemoryCheckpoint::new();
    store.put("metadata", format!(r#"{{"id":"{QUERY_ID}"}}"#));
    store.put("sources/0/0", b"\0{\"t\":{\"1\":4,\"0\":2}}".to_vec());
    let checkpoint = Checkpoint::open(store.clone()).unwrap();
    assert_eq!(
        checkpoint.initial_offsets().unwrap(),
        Some(offsets(r#"{"t":{"0":2,"1":4}}"#))
    );
    // Spark 4's v2 logs: `<sourceId>:<offset>` lines, state store ids in commits.
    store.put(
        "offsets/0",
        "v2\n{\"batchWatermarkMs\":7,\"batchTimestampMs\":8,\"conf\":{\"k\":\"v\"},\"later\":1}\n0:{\"t\":{\"0\":3,\"1\":5}}",
    );
    store.put(
        "commits/0",
        "v2\n{\"nextBatchWatermarkMs\":7,\"stateUniqueIds\":{}}",
    );
    let resume = Checkpoint::open(store.clone()).unwrap().resume().unwrap();
    assert_eq!(
        resume,
        Resume::Next {
            batch_id: 1,
            start: offsets(r#"{"t":{"0":3,"1":5}}"#),
            watermark_ms: 7
        }
    );
    let (_, logged) = Checkpoint::open(store).unwrap().logged_offsets(0).unwrap();
    assert_eq!(logged.batch_watermark_ms, 7);
    assert_eq!(logged.conf["k"], "v");
}

#[test]
fn corrupt_files_are_named() {
    let cases: [(&str, &[u8], &str); 9] = [
        ("metadata", b"{\"id\":", "not valid JSON"),
        ("metadata", b"{\"id\":\"not-a-uuid\"}", "is not a UUID"),
        ("metadata", b"[]", "not a JSON object"),
        ("offsets/1", b"", "it is empty"),
        (
            "offsets/1",
            b"x1\n{}\n{}",
            "failed to read correct log version from \"x1\"",
        ),
        ("offsets/1", b"v1", "no metadata line"),
        ("offsets/1", b"v1\n{}\n{\"t\":[1]}", "Expected e.g."),
        ("offsets/1", b"v1\n{}\n-", "no offset for the Kafka source"),
        (
            "sources/0/0",
            b"\0v1",
            "failed to detect the log file version line",
        ),
    ];
    for (path, contents, problem) in cases {
        let store = MemoryCheckpoint::new();
        // The initial offsets are read only while no batch was logged.
        with_batches(&store, u64::from(path != "sources/0/0"));
        if path == "offsets/1" {
            store.put("commits/1", "v1\n{}");
        }
        store.put(path, contents.to_vec());
        let err = Checkpoint::open(store).unwrap_err();
        let message = err.to_string();
        assert!(
            matches!(&err, CheckpointError::Corrupt { file, .. } if *file == format!("memory:/{path}")),
            "{path}: {err:?}"
        );
        assert!(message.contains(problem), "{path}: {message}");
    }
    for (path, contents, problem) in [
        (
            "commits/0",
            "v1\n{\"nextBatchWatermarkMs\":\"x\"}",
            "not a whole number",
        ),
        ("offsets/0", "v1\n{\"conf\":{\"k\":1}}\n{}", "not a string"),
    ] {
        let store = MemoryCheckpoint::new();
        with_batches(&store, 1);
        store.put(path, contents);
        let err = Checkpoint::open(store).unwrap_err();
        assert!(err.to_string().contains(problem), "{path}: {err}");
    }
}

#[test]
fn missing_files_the_log_depends_on_are_corrupt() {
    let store = MemoryCheckpoint::new();
    with_batches(&store, 2);
    store.delete("metadata").unwrap();
    let err = Checkpoint::open(store).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("checkpoint file memory:/metadata is corrupt: it is missing"),
        "{err}"
    );

    // A re-run needs the previous batch's end.
    let store = MemoryCheckpoint::new();
    with_batches(&store, 2);
    store.put("offsets/2", "v1\n{}\n{\"t\":{\"0\":30}}");
    store.delete("offsets/1").unwrap();
    assert!(matches!(
        Checkpoint::open(store),
        Err(CheckpointError::Corrupt { file, .. }) if file == "memory:/offsets/1"
    ));

    let store = MemoryCheckpoint::new();
    with_batches(&store, 0);
    store.put("offsets/0", "v1\n{}\n{\"t\":{\"0\":30}}");
    store.delete("sources/0/0").unwrap();
    assert!(matches!(
        Checkpoint::open(store),
        Err(CheckpointError::Corrupt { file, .. }) if file == "memory:/sources/0/0"
    ));
}

#[test]
fn another_querys_checkpoint_is_refused() {
    let store = MemoryCheckpoint::new();
    with_batches(&store, 1);
    let other = "11111111-2222-4333-8444-555555555555";
    let err = Checkpoint::open_for_query(store.clone(), other).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "checkpoint file memory:/metadata belongs to query {QUERY_ID}, not to query {other}. \
             Give each query its own checkpoint location, or resume query {QUERY_ID} with its id"
        )
    );
    // A checkpoint of a query with two sources.
    store.put("offsets/0", "v1\n{}\n{\"t\":{\"0\":1}}\n{\"u\":{\"0\":1}}");
    assert!(matches!(
        Checkpoint::open(store),
        Err(CheckpointError::OtherSources { sources: 2, file }) if file == "memory:/offsets/0"
    ));
    assert!(matches!(
        Checkpoint::open_for_query(MemoryCheckpoint::new(), "query-1"),
        Err(CheckpointError::InvalidQueryId { .. })
    ));
}

#[test]
fn writes_out_of_order_are_refused() {
    let store = MemoryCheckpoint::new();
    let mut checkpoint = Checkpoint::open(store).unwrap();
    let end = offsets(r#"{"t":{"0":1}}"#);
    let err = checkpoint.write_offsets(0, &end, &metadata(1)).unwrap_err();
    assert!(err
        .to_string()
        .contains("initial offsets (sources/0/0) must be written first"));
    checkpoint.write_initial_offsets(&end).unwrap();
    let err = checkpoint.write_offsets(1, &end, &metadata(1)).unwrap_err();
    assert!(
        err.to_string().ends_with("the next batch to log is 0"),
        "{err}"
    );
    assert!(checkpoint.commit(0, 0).is_err());
    checkpoint.write_offsets(0, &end, &metadata(1)).unwrap();
    let err = checkpoint.write_offsets(1, &end, &metadata(1)).unwrap_err();
    assert!(
        err.to_string().ends_with("batch 0 is not committed yet"),
        "{err}"
    );
    checkpoint.commit(0, 0).unwrap();
    let err = checkpoint.commit(0, 0).unwrap_err();
    assert!(err.to_string().contains("already committed"), "{err}");
}

#[test]
fn a_second_writer_is_noticed() {
    let store = MemoryCheckpoint::new();
    let mut first = with_batches(&store, 1);
    let mut second = Checkpoint::open(store).unwrap();
    let end = offsets(r#"{"t":{"0":50}}"#);
    first.write_offsets(1, &end, &metadata(2)).unwrap();
    let err = second.write_offsets(1, &end, &metadata(2)).unwrap_err();
    assert!(
        matches!(err, CheckpointError::ConcurrentUpdate { ref file } if file == "memory:/offsets/1"),
        "{err:?}"
    );
    assert!(err
        .to_string()
        .contains("another query, or another run of this one"));
}

#[test]
fn old_batches_are_purged_as_spark_does() {
    let store = MemoryCheckpoint::new();
    let mut checkpoint =
        with_batches(&store, 0).with_min_batches_to_retain(NonZeroU64::new(3).unwrap());
    let listed = |dir: &str| {
        let mut ids: Vec<u64> = store
            .list(dir)
            .unwrap()
            .iter()
            .filter_map(|name| name.parse().ok())
            .collect();
        ids.sort_unstable();
        ids
    };
    for batch_id in 0..10u64 {
        let end = offsets(&format!(r#"{{"t":{{"0":{}}}}}"#, batch_id + 1));
        checkpoint
            .write_offsets(batch_id, &end, &metadata(0))
            .unwrap();
        // Purged right after logging batch N: everything below N − 3.
        let kept_from = batch_id.saturating_sub(3);
        assert_eq!(
            listed("offsets"),
            (kept_from..=batch_id).collect::<Vec<_>>()
        );
        assert_eq!(listed("commits"), (kept_from..batch_id).collect::<Vec<_>>());
        checkpoint.commit(batch_id, 0).unwrap();
    }
    // A new run purges by listing: leftovers below the threshold go too.
    store.put("offsets/1", "v1\n{}\n{\"t\":{\"0\":2}}");
    let mut reopened = Checkpoint::open(store.clone())
        .unwrap()
        .with_min_batches_to_retain(NonZeroU64::new(3).unwrap());
    reopened
        .write_offsets(10, &offsets(r#"{"t":{"0":11}}"#), &metadata(0))
        .unwrap();
    assert_eq!(listed("offsets"), [7, 8, 9, 10]);
    assert_eq!(listed("commits"), [7, 8, 9]);
    assert!(matches!(
        reopened.resume().unwrap(),
        Resume::Rerun(LoggedBatch { batch_id: 10, .. })
    ));
}

#[test]
fn sparks_default_retention_is_100_batches() {
    let store = MemoryCheckpoint::new();
    let checkpoint = with_batches(&store, 102);
    drop(checkpoint);
    let offsets_kept = store.list("offsets").unwrap().len();
    let commits_kept = store.list("commits").unwrap().len();
    // Logging batch 101 purged batch 0; the commit of 101 followed.
    assert_eq!((offsets_kept, commits_kept), (101, 101));
    assert!(store.read("offsets/0").unwrap().is_none());
    assert!(store.read("offsets/1").unwrap().is_some());
}

/// A directory under the system's temporary directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("ferrokafka-checkpoint-{}", random_uuid()));
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn local_checkpoint_round_trip() {
    let dir = TempDir::new();
    let root = dir.0.join("nested").join("query");
    let mut checkpoint =
        Checkpoint::open_for_query(LocalCheckpoint::new(&root).unwrap(), QUERY_ID).unwrap();
    let initial = offsets(r#"{"t":{"0":0}}"#);
    checkpoint.write_initial_offsets(&initial).unwrap();
    let end = offsets(r#"{"t":{"0":10}}"#);
    checkpoint.write_offsets(0, &end, &metadata(3)).unwrap();
    drop(checkpoint);

    assert_eq!(
        std::fs::read(root.join("sources").join("0").join("0")).unwrap(),
        b"\0v1\n{\"t\":{\"0\":0}}"
    );
    assert_eq!(
        std::fs::read_to_string(root.join("metadata")).unwrap(),
        format!(r#"{{"id":"{QUERY_ID}"}}"#)
    );
    // A torn temporary file from a crash is ignored, then removed.
    let torn = root
        .join("offsets")
        .join(".1.0a1b2c3d-0000-4000-8000-000000000000.tmp");
    std::fs::write(&torn, "v1\n{\"ba").unwrap();

    let store = LocalCheckpoint::new(&root).unwrap();
    let mut reopened = Checkpoint::open(store.clone()).unwrap();
    assert!(!torn.exists());
    let Resume::Rerun(batch) = reopened.resume().unwrap() else {
        panic!("expected a re-run");
    };
    assert_eq!((batch.start, batch.end), (initial, end.clone()));
    reopened.commit(0, 0).unwrap();
    let mut names = store.list("offsets").unwrap();
    names.extend(store.list("commits").unwrap());
    assert_eq!(names, ["0", "0"], "no temporary file is left behind");

    // A file that must be new is never replaced.
    let err = store
        .write_atomically("offsets/0", b"v1", false)
        .unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert!(std::fs::read_to_string(root.join("offsets").join("0"))
        .unwrap()
        .starts_with("v1\n{\"batchWatermarkMs\":0,\"batchTimestampMs\":3,"));
    store.write_atomically("extra", b"one", true).unwrap();
    store.write_atomically("extra", b"two", true).unwrap();
    assert_eq!(store.read("extra").unwrap().unwrap(), b"two");
    store.delete("extra").unwrap();
    store.delete("extra").unwrap();
    assert_eq!(store.read("extra").unwrap(), None);
    assert!(store.location("offsets/0").ends_with("offsets/0"));
}

#[test]
fn local_checkpoint_refuses_paths_outside_its_directory() {
    let dir = TempDir::new();
    let store = LocalCheckpoint::new(&dir.0).unwrap();
    for bad in ["../x", "/etc/passwd", "a//b", "a/./b", "a\\b"] {
        let err = store.write_atomically(bad, b"x", true).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput, "{bad}");
        assert!(store.read(bad).is_err(), "{bad}");
    }
    assert_eq!(store.list("missing").unwrap(), Vec::<String>::new());
}
