//! The ranged reader on both backends (Nisshi and the fake cluster): exact
//! ranges (mid-batch start and end), every codec, several partitions, out-of-range partitions that do
//! not stop the others, and a range that waits for records to arrive.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use ferrokafka::admin::NewTopic;
use ferrokafka::Compression;
use ferrokafka::TimestampType;
use ferrokafka::{Client, ErrorKind, ReadRange, Record, TopicPartition};
use ferrokafka_tests::backend::Backend;
use ferrokafka_tests::on_both_backends_async;
use futures::StreamExt;

async fn collect(client: &Client, ranges: Vec<ReadRange>) -> (Vec<Record>, Vec<ferrokafka::Error>) {
    let mut stream = client.read(ranges);
    let mut records = Vec::new();
    let mut errors = Vec::new();
    while let Some(item) = tokio::time::timeout(Duration::from_secs(60), stream.next())
        .await
        .expect("the reader stalled")
    {
        match item {
            Ok(r) => records.push(r),
            Err(e) => errors.push(e),
        }
    }
    (records, errors)
}

fn offsets(records: &[Record]) -> Vec<i64> {
    records.iter().map(|r| r.offset).collect()
}

async fn reads_exact_ranges_starting_and_ending_mid_batch(backend: &Backend) {
    let client = common::client_with_topic(&backend.bootstrap(), "ranges", 1).await;
    let tp = TopicPartition::new("ranges", 0);
    // Batches of 10: [0,10) [10,20) ... [40,50).
    common::produce_values(&client, &tp, 50, 10, 1_700_000_000_000, Compression::None).await;

    for (start, end) in [
        (3, 17),
        (0, 50),
        (10, 20),
        (15, 16),
        (49, 50),
        (0, 1),
        (22, 38),
    ] {
        let (records, errors) =
            collect(&client, vec![ReadRange::new("ranges", 0, start..end)]).await;
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(
            offsets(&records),
            (start..end).collect::<Vec<_>>(),
            "[{start}, {end})"
        );
        for r in &records {
            assert_eq!(
                r.value.as_deref(),
                Some(format!("v{}", r.offset).as_bytes())
            );
            assert_eq!(r.key.as_deref(), Some(format!("k{}", r.offset).as_bytes()));
            assert_eq!(r.timestamp, 1_700_000_000_000 + r.offset);
            assert_eq!(r.timestamp_type, TimestampType::CreateTime);
            assert_eq!(r.headers.len(), 1);
            assert_eq!(&r.headers[0].key[..], b"h");
            assert_eq!(r.topic.as_ref(), "ranges");
        }
    }
    // An empty range yields nothing and ends.
    let (records, errors) = collect(&client, vec![ReadRange::new("ranges", 0, 5..5)]).await;
    assert!(records.is_empty() && errors.is_empty());
}

async fn reads_every_codec_and_several_partitions_in_order(backend: &Backend) {
    let client = common::client_with_topic(&backend.bootstrap(), "codecs", 5).await;
    for (p, codec) in Compression::ALL.into_iter().enumerate() {
        let tp = TopicPartition::new("codecs", p as i32);
        common::produce_values(&client, &tp, 300, 70, 5_000, codec).await;
    }
    let ranges = (0..5)
        .map(|p| ReadRange::new("codecs", p, 65..213))
        .collect();
    let (records, errors) = collect(&client, ranges).await;
    assert!(errors.is_empty(), "{errors:?}");
    let mut by_partition: HashMap<i32, Vec<i64>> = HashMap::new();
    for r in &records {
        assert_eq!(
            r.value.as_deref(),
            Some(format!("v{}", r.offset).as_bytes())
        );
        by_partition.entry(r.partition).or_default().push(r.offset);
    }
    for p in 0..5 {
        assert_eq!(
            by_partition[&p],
            (65..213).collect::<Vec<_>>(),
            "partition {p} ({})",
            Compression::ALL[p as usize]
        );
    }
}

async fn out_of_range_partition_is_reported_and_others_continue(backend: &Backend) {
    let client = common::client_for(&backend.bootstrap()).await;
    let admin = client.admin();
    admin
        .create_topic(NewTopic::new("oor", 2, 1))
        .await
        .unwrap();
    let (a, b) = (TopicPartition::new("oor", 0), TopicPartition::new("oor", 1));
    common::produce_values(&client, &a, 20, 5, 0, Compression::None).await;
    common::produce_values(&client, &b, 20, 5, 0, Compression::None).await;
    admin.delete_records(&[(a.clone(), 8)]).await.unwrap()[0]
        .1
        .as_ref()
        .unwrap();

    let (records, errors) = collect(
        &client,
        vec![
            ReadRange::new("oor", 0, 2..12),
            ReadRange::new("oor", 1, 0..20),
        ],
    )
    .await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    let e = &errors[0];
    assert_eq!(e.topic_partition(), Some(&a));
    match e.kind() {
        ErrorKind::OffsetOutOfRange {
            requested,
            log_start_offset,
            high_watermark,
        } => {
            assert_eq!(
                (*requested, *log_start_offset, *high_watermark),
                (2, 8, 20),
                "{e}"
            );
        }
        other => panic!("{other}"),
    }
    let b_offsets: Vec<i64> = records
        .iter()
        .filter(|r| r.partition == 1)
        .map(|r| r.offset)
        .collect();
    assert_eq!(b_offsets, (0..20).collect::<Vec<_>>());
    assert!(records.iter().all(|r| r.partition == 1));

    // Invalid ranges are errors for their partition.
    let (_, errors) = collect(
        &client,
        vec![ReadRange {
            tp: b.clone(),
            start: 5,
            end: 2,
        }],
    )
    .await;
    assert!(
        matches!(errors[0].kind(), ErrorKind::InvalidArgument(_)),
        "{errors:?}"
    );
    // An unknown topic ends with a typed error instead of waiting forever.
    let (_, errors) = collect(&client, vec![ReadRange::new("nope", 0, 0..1)]).await;
    assert!(
        matches!(errors[0].kind(), ErrorKind::UnknownTopicOrPartition),
        "{errors:?}"
    );
    assert_eq!(
        errors[0].topic_partition(),
        Some(&TopicPartition::new("nope", 0)),
        "the error names the partition that ended"
    );
}

async fn a_range_past_the_end_waits_for_new_records(backend: &Backend) {
    let client = common::client_with_topic(&backend.bootstrap(), "tail", 1).await;
    let tp = TopicPartition::new("tail", 0);
    common::produce_values(&client, &tp, 10, 10, 0, Compression::None).await;
    let reader = {
        let client = client.clone();
        tokio::spawn(async move { collect(&client, vec![ReadRange::new("tail", 0, 5..15)]).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        !reader.is_finished(),
        "the reader must wait for offsets 10..15"
    );
    // The next 10 records land at 10..20 (produce_values numbers from 0,
    // so produce the batch by hand).
    let mut builder = ferrokafka_protocol::record::BatchBuilder::new(Compression::Lz4);
    for o in 10..20 {
        builder.append(o, None, Some(format!("v{o}").as_bytes()), &[]);
    }
    let mut out = bytes::BytesMut::new();
    builder.finish(&mut out).unwrap();
    assert_eq!(common::produce(&client, &tp, out.freeze()).await, 10);
    let (records, errors) = reader.await.unwrap();
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(offsets(&records), (5..15).collect::<Vec<_>>());
}

async fn the_stream_reports_each_partitions_watermarks(backend: &Backend) {
    let client = common::client_for(&backend.bootstrap()).await;
    let admin = client.admin();
    admin
        .create_topic(NewTopic::new("marks", 2, 1))
        .await
        .unwrap();
    let (a, b) = (
        TopicPartition::new("marks", 0),
        TopicPartition::new("marks", 1),
    );
    common::produce_values(&client, &a, 50, 10, 0, Compression::None).await;
    common::produce_values(&client, &b, 7, 7, 0, Compression::None).await;
    admin.delete_records(&[(a.clone(), 8)]).await.unwrap()[0]
        .1
        .as_ref()
        .unwrap();
    let mut stream = client.read(vec![
        ReadRange::new("marks", 0, 10..20),
        ReadRange::new("marks", 1, 0..3),
    ]);
    assert_eq!(stream.watermarks(&a), None, "nothing fetched yet");
    let mut read = 0;
    while let Some(item) = tokio::time::timeout(Duration::from_secs(60), stream.next())
        .await
        .expect("the reader stalled")
    {
        item.unwrap();
        read += 1;
    }
    assert_eq!(read, 13);
    let marks = stream.watermarks(&a).expect("partition 0 was fetched");
    assert_eq!(marks.high_watermark, 50, "{marks:?}");
    // Brokers may leave these out (-1); when they say, it must be right.
    assert!(
        matches!(marks.log_start_offset, None | Some(8)),
        "{marks:?}"
    );
    assert!(
        matches!(marks.last_stable_offset, None | Some(50)),
        "{marks:?}"
    );
    assert_eq!(
        marks.offsets_behind(20, ferrokafka::IsolationLevel::ReadUncommitted),
        30
    );
    if backend.fake_cluster().is_some() {
        assert_eq!(marks.log_start_offset, Some(8), "the fake always says");
        assert_eq!(marks.last_stable_offset, Some(50));
    }
    let all = stream.all_watermarks();
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].0, b);
    assert_eq!(all[1].1.high_watermark, 7);
}

/// The largest fetch answer a reader applied, per partition.
#[derive(Default)]
struct LargestFetch(std::sync::Mutex<usize>);

impl ferrokafka::hooks::Hooks for LargestFetch {
    fn on_fetch_applied(&self, event: &ferrokafka::hooks::FetchApplied<'_>) {
        let mut largest = self.0.lock().unwrap();
        *largest = (*largest).max(event.bytes);
    }
}

async fn a_fetch_asks_for_no_more_than_its_partitions_may_bring(backend: &Backend) {
    let client = common::client_with_topic(&backend.bootstrap(), "sized", 1).await;
    let tp = TopicPartition::new("sized", 0);
    // 20 batches of 10 records of 4 KiB: 800 KiB.
    let value = vec![7u8; 4096];
    for batch in 0..20i64 {
        let mut builder = ferrokafka_protocol::record::BatchBuilder::new(Compression::None);
        for i in 0..10 {
            builder.append(batch * 10 + i, None, Some(&value), &[]);
        }
        let mut out = bytes::BytesMut::new();
        builder.finish(&mut out).unwrap();
        common::produce(&client, &tp, out.freeze()).await;
    }
    const PARTITION_MAX: usize = 64 * 1024;
    let largest = std::sync::Arc::new(LargestFetch::default());
    let reader = Client::connect(
        ferrokafka::ClientConfig::builder()
            .bootstrap_servers(backend.bootstrap())
            .property("max.partition.fetch.bytes", &PARTITION_MAX.to_string())
            .hook(largest.clone())
            .build()
            .unwrap(),
    )
    .await
    .unwrap();
    let (records, errors) = collect(&reader, vec![ReadRange::new("sized", 0, 0..200)]).await;
    assert!(errors.is_empty(), "{errors:?}");
    assert_eq!(offsets(&records), (0..200).collect::<Vec<_>>());
    // A broker may add one batch past the limit, never more: the request
    // itself asks for no more than the partition's limit, whether or not
    // the broker applies per-partition limits.
    let largest = *largest.0.lock().unwrap();
    let one_batch = 10 * (4096 + 64);
    assert!(
        largest <= PARTITION_MAX + one_batch,
        "a fetch answer of {largest} bytes for one partition limited to {PARTITION_MAX}"
    );
}

on_both_backends_async!(
    a_fetch_asks_for_no_more_than_its_partitions_may_bring,
    the_stream_reports_each_partitions_watermarks,
    reads_exact_ranges_starting_and_ending_mid_batch,
    reads_every_codec_and_several_partitions_in_order,
    out_of_range_partition_is_reported_and_others_continue,
    a_range_past_the_end_waits_for_new_records,
);
