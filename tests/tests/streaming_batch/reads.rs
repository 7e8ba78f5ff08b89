//! Reads against Nisshi: every start and end form, every topic selection,
//! task splitting, headers, late binding, data loss, empty ranges and one
//! client for all tasks.

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use ferrokafka::{ProducerConfig, ProducerRecord, TopicPartition};
use ferrokafka_streaming::planner::{EARLIEST, LATEST};
use ferrokafka_streaming::Row;
use futures::TryStreamExt;

use super::support::*;

pub(crate) async fn starts_and_ends_in_every_form(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "forms", 2).await;
    for partition in 0..2 {
        produce(&admin, "forms", partition, 20).await;
    }
    let ts = |offset: i64, partition: i32| (timestamp_of(partition, offset)).to_string();
    // (options, then the offsets read from forms-0 and forms-1)
    type Case<'a> = (Vec<(&'a str, String)>, [Range<i64>; 2]);
    let cases: Vec<Case<'_>> = vec![
        // Spark's batch defaults: earliest to latest.
        (vec![], [0..20, 0..20]),
        (
            vec![
                ("startingOffsets", "EARLIEST".into()),
                ("endingOffsets", "latest".into()),
            ],
            [0..20, 0..20],
        ),
        // Offset JSON with -2 (earliest) and -1 (latest).
        (
            vec![
                ("startingOffsets", r#"{"forms":{"0":-2,"1":5}}"#.into()),
                ("endingOffsets", r#"{"forms":{"0":7,"1":-1}}"#.into()),
            ],
            [0..7, 5..20],
        ),
        // Global timestamps: the first record at or after each.
        (
            vec![
                ("startingTimestamp", ts(5, 0)),
                ("endingTimestamp", ts(10, 0)),
            ],
            [5..10, 5..10],
        ),
        // Per-partition timestamps; an end past the last record is latest.
        (
            vec![
                (
                    "startingOffsetsByTimestamp",
                    format!(r#"{{"forms":{{"0":{},"1":{}}}}}"#, ts(3, 0), ts(13, 0)),
                ),
                (
                    "endingOffsetsByTimestamp",
                    format!(r#"{{"forms":{{"0":{},"1":{}}}}}"#, ts(9, 0), ts(99, 0)),
                ),
            ],
            [3..9, 13..20],
        ),
        // No record at or after the start in partition 0: strategy latest
        // starts it at its latest offset (so it reads nothing).
        (
            vec![
                ("startingTimestamp", ts(19, 1)),
                ("startingOffsetsByTimestampStrategy", "Latest".into()),
            ],
            [20..20, 19..20],
        ),
        // A later timestamp option wins over startingOffsets (precedence).
        (
            vec![
                ("startingOffsets", "earliest".into()),
                ("startingTimestamp", ts(18, 0)),
            ],
            [18..20, 18..20],
        ),
    ];
    for (pairs, [p0, p1]) in cases {
        let pairs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain([("subscribe", "forms")])
            .collect();
        let source = open_source(&bootstrap, &pairs).await;
        let (_, rows) = plan_and_read(&source).await;
        assert_eq!(
            offsets(&rows),
            expected(&[("forms-0", p0), ("forms-1", p1)]),
            "{pairs:?}"
        );
    }
    // Strategy error (the default): Spark's message.
    let late = ts(19, 1);
    let source = open_source(
        &bootstrap,
        &[("subscribe", "forms"), ("startingTimestamp", &late)],
    )
    .await;
    let err = source.plan().await.unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "No offset matched from request of topic-partition forms-0 and timestamp {late}."
        )),
        "{err}"
    );
}

pub(crate) async fn topic_selections(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "sel-a", 2).await;
    create(&admin, "sel-b", 1).await;
    create(&admin, "other", 1).await;
    for (topic, partition) in [("sel-a", 0), ("sel-a", 1), ("sel-b", 0), ("other", 0)] {
        produce(&admin, topic, partition, 5).await;
    }
    let all = |names: &[&str]| -> BTreeMap<String, Vec<i64>> {
        names
            .iter()
            .map(|n| ((*n).to_owned(), (0..5).collect()))
            .collect()
    };
    for (option, value, expected) in [
        // A listed partition that does not exist is silently absent.
        (
            "assign",
            r#"{"sel-a":[1,7],"sel-b":[0]}"#,
            all(&["sel-a-1", "sel-b-0"]),
        ),
        (
            "subscribe",
            "sel-a, sel-b,",
            all(&["sel-a-0", "sel-a-1", "sel-b-0"]),
        ),
        // A topic that does not exist contributes nothing.
        ("subscribe", "sel-b,missing", all(&["sel-b-0"])),
        // The pattern matches anywhere in the name (Spark's findFirstIn).
        (
            "subscribePattern",
            "el-",
            all(&["sel-a-0", "sel-a-1", "sel-b-0"]),
        ),
        ("subscribePattern", "^sel-[b-z]$", all(&["sel-b-0"])),
    ] {
        let source = open_source(&bootstrap, &[(option, value)]).await;
        let (_, rows) = plan_and_read(&source).await;
        assert_eq!(offsets(&rows), expected, "{option}={value}");
    }
    // A topic created after the source was made is picked up by the
    // pattern on the next plan.
    let source = open_source(&bootstrap, &[("subscribePattern", "^sel-")]).await;
    let before = source.plan().await.unwrap();
    assert_eq!(before.partitions.len(), 3);
    create(&admin, "sel-c", 2).await;
    produce(&admin, "sel-c", 1, 5).await;
    let (after, rows) = plan_and_read(&source).await;
    assert_eq!(after.partitions.len(), 5, "{after:?}");
    assert_eq!(
        offsets(&rows),
        all(&["sel-a-0", "sel-a-1", "sel-b-0", "sel-c-1"])
    );
}

pub(crate) async fn min_partitions_and_max_records_per_partition(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "split", 3).await;
    for (partition, count) in [(0, 30), (1, 12), (2, 3)] {
        produce(&admin, "split", partition, count).await;
    }
    let everything = expected(&[("split-0", 0..30), ("split-1", 0..12), ("split-2", 0..3)]);
    let concrete_end = r#"{"split":{"0":30,"1":12,"2":3}}"#;
    for (pairs, tasks) in [
        // No option: one task per partition, sentinels kept.
        (vec![], 3),
        // minPartitions 6 over 30/12/3 offsets (Spark ≥ 4.1): split-2's
        // share rounds to 0 so it stays whole; the other 42 offsets go to
        // 5 tasks: split-0 round(30/42·5) = 4, split-1 round(12/42·5) = 1.
        (vec![("minPartitions", "6")], 6),
        // minPartitions at or below the partition count: no split.
        (vec![("minPartitions", "3")], 3),
        // maxRecordsPerPartition alone never splits an earliest→latest
        // read: Spark compares the unresolved -2→-1 "size" of 1.
        (vec![("maxRecordsPerPartition", "5")], 3),
        // With a concrete end it does: ceil(30/5) + ceil(12/5) + 1.
        (
            vec![
                ("maxRecordsPerPartition", "5"),
                ("endingOffsets", concrete_end),
            ],
            10,
        ),
        // Both: the record cap first (10 pieces), then minPartitions 12,
        // a hint: every piece's share rounds to 1, nothing more is split.
        (
            vec![
                ("maxRecordsPerPartition", "5"),
                ("minPartitions", "12"),
                ("endingOffsets", concrete_end),
            ],
            10,
        ),
        // minPartitions with a concrete end: 45 offsets into 9 tasks:
        // round(30/45·9) = 6, round(12/45·9) = 2, round(3/45·9) = 1.
        (
            vec![("minPartitions", "9"), ("endingOffsets", concrete_end)],
            9,
        ),
    ] {
        let pairs: Vec<(&str, &str)> = pairs.into_iter().chain([("subscribe", "split")]).collect();
        let source = open_source(&bootstrap, &pairs).await;
        let (plan, rows) = plan_and_read(&source).await;
        assert_eq!(plan.tasks.len(), tasks, "{pairs:?}: {:?}", plan.tasks);
        assert_eq!(offsets(&rows), everything, "{pairs:?}");
        if tasks == 3 && !pairs.iter().any(|(k, _)| *k == "endingOffsets") {
            assert!(
                plan.tasks
                    .iter()
                    .all(|t| t.from == EARLIEST && t.until == LATEST),
                "unsplit tasks keep their sentinels: {:?}",
                plan.tasks
            );
        }
    }
}

pub(crate) async fn headers_included_or_not(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "headers", 1).await;
    let producer = admin.producer(ProducerConfig::default()).await.unwrap();
    let records = [
        ProducerRecord::new("headers")
            .value("two, one repeated")
            .header("h", Some("1"))
            .header("h", Some("2"))
            .header("null", None::<Bytes>),
        ProducerRecord::new("headers").value("none"),
        ProducerRecord::new("headers").key("only a key"),
    ];
    for record in records {
        producer
            .send(record.partition(0))
            .await
            .unwrap()
            .await
            .unwrap();
    }
    for include in ["true", "false"] {
        let source = open_source(
            &bootstrap,
            &[("subscribe", "headers"), ("includeHeaders", include)],
        )
        .await;
        let plan = source.plan().await.unwrap();
        let rows_stream = source.read(&plan);
        assert_eq!(rows_stream.includes_headers(), include == "true");
        let rows: Vec<Row> = rows_stream.try_collect().await.unwrap();
        assert_eq!(rows.len(), 3);
        type Headers = Option<Vec<(String, Option<Bytes>)>>;
        let headers: Vec<Headers> = rows
            .iter()
            .map(|row| {
                row.headers().map(|headers| {
                    headers
                        .iter()
                        .map(|h| (h.key_str().unwrap().to_owned(), h.value.clone()))
                        .collect()
                })
            })
            .collect();
        if include == "true" {
            let some = |v: &'static str| Some(Bytes::from_static(v.as_bytes()));
            assert_eq!(
                headers,
                [
                    Some(vec![
                        ("h".to_owned(), some("1")),
                        ("h".to_owned(), some("2")),
                        ("null".to_owned(), None)
                    ]),
                    None,
                    None
                ],
                "in order, duplicates kept; null (not empty) without headers"
            );
        } else {
            assert_eq!(headers, [None, None, None]);
        }
        assert_eq!(rows[2].value(), None, "a tombstone's value is null");
        assert_eq!(rows[1].key(), None);
    }
}

pub(crate) async fn late_binding(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "late", 1).await;
    produce(&admin, "late", 0, 10).await;
    let source = open_source(&bootstrap, &[("subscribe", "late")]).await;
    let plan = source.plan().await.unwrap();
    assert_eq!(plan.start.to_json(), r#"{"late":{"0":-2}}"#);
    assert_eq!(plan.end.to_json(), r#"{"late":{"0":-1}}"#);
    // Between planning and reading, records are appended and the head is
    // deleted: the task resolves earliest and latest when it reads, so it
    // reads what is there then, and the aged-out head is not data loss.
    produce_from(&admin, "late", 0, 10, 5).await;
    let deleted = admin
        .admin()
        .delete_records(&[(TopicPartition::new("late", 0), 4)])
        .await
        .unwrap();
    assert!(deleted[0].1.is_ok(), "{deleted:?}");
    let rows_stream = source.read(&plan);
    let rows: Vec<Row> = rows_stream.try_collect().await.unwrap();
    assert_eq!(offsets(&rows), expected(&[("late-0", 4..15)]));
}

pub(crate) async fn data_loss(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "loss", 1).await;
    produce(&admin, "loss", 0, 20).await;
    admin
        .admin()
        .delete_records(&[(TopicPartition::new("loss", 0), 8)])
        .await
        .unwrap();
    let start = ("startingOffsets", r#"{"loss":{"0":0}}"#);
    // failOnDataLoss=true (the default): Spark's executor error.
    let source_failing = open_source(&bootstrap, &[("subscribe", "loss"), start]).await;
    let plan = source_failing.plan().await.unwrap();
    let err = read(&source_failing, &plan).await.unwrap_err();
    let group = &source_failing.consumer_groups().executor_group_id;
    assert!(group.starts_with("spark-kafka-relation-"), "{group}");
    let text = err.to_string();
    assert!(
        text.starts_with("[KAFKA_DATA_LOSS.COULD_NOT_READ_OFFSET_RANGE]")
            && text.contains(&format!(
                "Could not read records in offset [0, 20) for topic partition loss-0 with \
                 consumer group {group}."
            ))
            && text.contains("failOnDataLoss"),
        "{text}"
    );
    // false: skipped and counted, the rest read.
    let source = open_source(
        &bootstrap,
        &[("subscribe", "loss"), start, ("failOnDataLoss", "false")],
    )
    .await;
    let plan = source.plan().await.unwrap();
    let mut rows_stream = source.read(&plan);
    let mut rows = Vec::new();
    while let Some(row) = rows_stream.try_next().await.unwrap() {
        rows.push(row);
    }
    assert_eq!(offsets(&rows), expected(&[("loss-0", 8..20)]));
    let metrics = rows_stream.metrics();
    assert_eq!(
        (
            metrics.data_loss,
            metrics.offsets_out_of_range,
            metrics.rows
        ),
        (1, 8, 12),
        "{metrics:?}"
    );

    // An end past the latest offset: nothing comes for
    // kafkaConsumer.pollTimeoutMs, and the missing offsets are data loss.
    let end = ("endingOffsets", r#"{"loss":{"0":50}}"#);
    let timeout = ("kafkaConsumer.pollTimeoutMs", "500");
    let source_failing = open_source(&bootstrap, &[("subscribe", "loss"), end, timeout]).await;
    let plan = source_failing.plan().await.unwrap();
    let err = read(&source_failing, &plan).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("Could not read records in offset [20, 50) for topic partition loss-0"),
        "{err}"
    );
    let source = open_source(
        &bootstrap,
        &[
            ("subscribe", "loss"),
            end,
            timeout,
            ("failOnDataLoss", "False"),
        ],
    )
    .await;
    let plan = source.plan().await.unwrap();
    let mut rows_stream = source.read(&plan);
    let mut count = 0;
    while rows_stream.try_next().await.unwrap().is_some() {
        count += 1;
    }
    assert_eq!(count, 12);
    let metrics = rows_stream.metrics();
    assert_eq!(
        (metrics.data_loss, metrics.offsets_out_of_range),
        (1, 30),
        "{metrics:?}"
    );
}

pub(crate) async fn empty_ranges_send_no_fetch(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "sparse", 3).await;
    produce(&admin, "sparse", 0, 5).await;
    produce(&admin, "sparse", 2, 3).await;
    // sparse-1 is empty: its earliest→latest task resolves to [0, 0).
    let (source, watch) = watched_source(&bootstrap, &[("subscribe", "sparse")]).await;
    let plan = source.plan().await.unwrap();
    assert_eq!(plan.tasks.len(), 3);
    let mut rows_stream = source.read(&plan);
    let mut rows = Vec::new();
    while let Some(row) = rows_stream.try_next().await.unwrap() {
        rows.push(row);
    }
    assert_eq!(
        offsets(&rows),
        expected(&[("sparse-0", 0..5), ("sparse-2", 0..3)])
    );
    let metrics = rows_stream.metrics();
    assert_eq!((metrics.tasks_fetched, metrics.tasks_empty), (2, 1));
    let fetches = watch.fetches.lock().unwrap().clone();
    assert!(fetches.contains_key(&TopicPartition::new("sparse", 0)));
    assert!(
        !fetches.contains_key(&TopicPartition::new("sparse", 1)),
        "the empty range was fetched: {fetches:?}"
    );
    // Concrete empty ranges too.
    let (source, watch) = watched_source(
        &bootstrap,
        &[
            ("subscribe", "sparse"),
            ("startingOffsets", r#"{"sparse":{"0":5,"1":0,"2":1}}"#),
            ("endingOffsets", r#"{"sparse":{"0":5,"1":0,"2":1}}"#),
        ],
    )
    .await;
    let (plan, rows) = plan_and_read(&source).await;
    assert_eq!(plan.tasks.len(), 3);
    assert!(rows.is_empty());
    assert!(watch.fetches.lock().unwrap().is_empty());
}

pub(crate) async fn twelve_tasks_share_one_client(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "shared", 6).await;
    for partition in 0..6 {
        produce(&admin, "shared", partition, 40).await;
    }
    let (source, watch) = watched_source(
        &bootstrap,
        &[("subscribe", "shared"), ("minPartitions", "12")],
    )
    .await;
    let connects_before = watch.connects.load(Ordering::SeqCst);
    let (plan, rows) = plan_and_read(&source).await;
    assert_eq!(plan.tasks.len(), 12);
    let everything: Vec<(String, std::ops::Range<i64>)> =
        (0..6).map(|p| (format!("shared-{p}"), 0..40)).collect();
    let everything: Vec<(&str, std::ops::Range<i64>)> = everything
        .iter()
        .map(|(name, range)| (name.as_str(), range.clone()))
        .collect();
    assert_eq!(offsets(&rows), expected(&everything));
    // One broker: the 12 tasks' fetches and look-ups went through the
    // client's one connection to it (plus, at most, the bootstrap one).
    let connects = watch.connects.load(Ordering::SeqCst);
    assert!(
        connects <= 2,
        "{connects} connections ({connects_before} before the read)"
    );
    // The same with at most 2 tasks at a time.
    let source = source.max_concurrent_tasks(NonZeroUsize::new(2).unwrap());
    let (_, rows) = plan_and_read(&source).await;
    assert_eq!(offsets(&rows), expected(&everything));
}
