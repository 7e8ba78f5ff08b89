//! The same test bodies against the real broker (Nisshi) and the fake
//! cluster: negotiation, topic admin, produce/fetch with our record batch
//! codec in every compression, offsets and timestamps, whole-batch fetch
//! limits, and idempotent-producer duplicates. Where the two must agree,
//! each body asserts Kafka's behaviour, so a difference fails on one side.

use ferrokafka_protocol::compression::Compression;
use ferrokafka_protocol::messages::*;
use ferrokafka_tests::backend::*;
use ferrokafka_tests::on_both_backends;

on_both_backends!(
    negotiates_versions,
    creates_describes_and_deletes_a_topic,
    produces_and_fetches_every_codec,
    lists_offsets_by_timestamp,
    fetch_returns_whole_batches_within_max_bytes,
    deduplicates_idempotent_retries,
);

fn negotiates_versions(backend: &Backend) {
    let client = backend.connect();
    for api in [
        ApiKey::Metadata,
        ApiKey::Produce,
        ApiKey::Fetch,
        ApiKey::ListOffsets,
        ApiKey::CreateTopics,
        ApiKey::DeleteTopics,
        ApiKey::DeleteRecords,
        ApiKey::DescribeConfigs,
        ApiKey::InitProducerId,
        ApiKey::FindCoordinator,
        ApiKey::OffsetCommit,
        ApiKey::OffsetFetch,
    ] {
        let version = client.version(api);
        let (min, max) = ferrokafka_protocol::versions::implemented_versions(api).unwrap();
        assert!(
            (min..=max).contains(&version),
            "{}: {api:?} v{version}",
            backend.name()
        );
    }
}

fn creates_describes_and_deletes_a_topic(backend: &Backend) {
    let mut client = backend.connect();
    create_topic(&mut client, "admin-topic", 3);

    // Creating it again is TOPIC_ALREADY_EXISTS on both.
    let again: CreateTopicsResponse = client
        .call(
            &CreateTopicsRequest::default()
                .with_topics(vec![create_topics_request::CreatableTopic::default()
                    .with_name(topic_name("admin-topic"))
                    .with_num_partitions(1)
                    .with_replication_factor(1)])
                .with_timeout_ms(10_000),
        )
        .expect("CreateTopics");
    assert_eq!(again.topics[0].error_code, 36, "{}", backend.name());

    let metadata: MetadataResponse = client
        .call(&MetadataRequest::default().with_topics(Some(vec![
            metadata_request::MetadataRequestTopic::default()
                .with_name(Some(topic_name("admin-topic"))),
        ])))
        .expect("Metadata");
    assert_eq!(metadata.brokers.len(), 1);
    assert_eq!(metadata.brokers[0].port, backend.addr().port() as i32);
    let topic = &metadata.topics[0];
    assert_eq!(topic.error_code, 0);
    assert_eq!(topic.partitions.len(), 3);
    for p in &topic.partitions {
        assert_eq!(p.leader_id, metadata.brokers[0].node_id);
    }

    let request = if client.version(ApiKey::DeleteTopics) >= 6 {
        DeleteTopicsRequest::default()
            .with_topics(vec![delete_topics_request::DeleteTopicState::default()
                .with_name(Some(topic_name("admin-topic")))])
    } else {
        DeleteTopicsRequest::default().with_topic_names(vec![topic_name("admin-topic")])
    };
    let deleted: DeleteTopicsResponse = client
        .call(&request.with_timeout_ms(10_000))
        .expect("DeleteTopics");
    assert_eq!(deleted.responses[0].error_code, 0, "{deleted:?}");
}

fn produces_and_fetches_every_codec(backend: &Backend) {
    let mut client = backend.connect();
    create_topic(&mut client, "codecs", 1);
    let mut next = 0;
    let mut expected = Vec::new();
    for (i, codec) in Compression::ALL.into_iter().enumerate() {
        let records: Vec<Rec> = (0..5)
            .map(|j| Rec {
                timestamp: 1_700_000_000_000 + (i * 10 + j) as i64,
                key: (j % 2 == 0).then(|| format!("key-{i}-{j}").into_bytes()),
                value: Some(
                    format!("{}-value-{j}", codec.name())
                        .repeat(20)
                        .into_bytes(),
                ),
            })
            .collect();
        let answer = produce(&mut client, "codecs", 0, plain_batch(codec, &records)).unwrap();
        assert_eq!(answer.error_code, 0, "{}: {codec:?}", backend.name());
        assert_eq!(answer.base_offset, next, "{}: {codec:?}", backend.name());
        assert_eq!(answer.log_append_time_ms, -1, "CreateTime topic");
        for (j, r) in records.iter().enumerate() {
            expected.push(Fetched {
                offset: next + j as i64,
                timestamp: r.timestamp,
                key: r.key.clone(),
                value: r.value.clone(),
            });
        }
        next += 5;
    }
    let (data, fetched) = fetch(&mut client, "codecs", 0, 0, 1 << 20).unwrap();
    assert_eq!(data.error_code, 0);
    assert_eq!(data.high_watermark, next);
    assert_eq!(fetched, expected, "{}", backend.name());
    // From the middle of a batch: the batch comes whole, records before
    // the fetch offset are skipped by the reader.
    let (_, fetched) = fetch(&mut client, "codecs", 0, 7, 1 << 20).unwrap();
    assert_eq!(fetched, expected[7..].to_vec(), "{}", backend.name());
    // At the end: nothing, no error.
    let (data, fetched) = fetch(&mut client, "codecs", 0, next, 1 << 20).unwrap();
    assert_eq!((data.error_code, fetched.len()), (0, 0));
    // Past the end Kafka answers OFFSET_OUT_OF_RANGE; Nisshi 0.8.1 answers
    // with no error and no records, so only the fake is held to Kafka here.
    let (data, fetched) = fetch(&mut client, "codecs", 0, next + 1, 1 << 20).unwrap();
    assert!(fetched.is_empty());
    if backend.fake_cluster().is_some() {
        assert_eq!(data.error_code, 1, "OFFSET_OUT_OF_RANGE");
    }
}

fn lists_offsets_by_timestamp(backend: &Backend) {
    let mut client = backend.connect();
    create_topic(&mut client, "times", 1);
    let t0 = 1_700_000_000_000;
    // Three batches: timestamps t0..t0+2, t0+100..t0+102, t0+200..t0+202.
    for b in 0..3 {
        let records: Vec<Rec> = (0..3)
            .map(|i| Rec::value(t0 + b * 100 + i, format!("b{b}-{i}")))
            .collect();
        let answer = produce(
            &mut client,
            "times",
            0,
            plain_batch(Compression::None, &records),
        );
        assert_eq!(answer.unwrap().error_code, 0);
    }
    let at = |client: &mut _, ts| {
        let p = list_offset(client, "times", 0, ts);
        assert_eq!(p.error_code, 0, "{}: ts {ts}", backend.name());
        (p.offset, p.timestamp)
    };
    assert_eq!(at(&mut client, -2).0, 0, "earliest");
    assert_eq!(at(&mut client, -1).0, 9, "latest");
    assert_eq!(at(&mut client, t0), (0, t0), "{}", backend.name());
    assert_eq!(at(&mut client, t0 + 1), (1, t0 + 1), "{}", backend.name());
    // Between batches: the first record at or after the timestamp.
    assert_eq!(
        at(&mut client, t0 + 50),
        (3, t0 + 100),
        "{}",
        backend.name()
    );
    assert_eq!(
        at(&mut client, t0 + 201),
        (7, t0 + 201),
        "{}",
        backend.name()
    );
    // After every record: no offset.
    assert_eq!(at(&mut client, t0 + 1_000).0, -1, "{}", backend.name());
}

fn fetch_returns_whole_batches_within_max_bytes(backend: &Backend) {
    let mut client = backend.connect();
    create_topic(&mut client, "limits", 1);
    let mut sizes = Vec::new();
    for b in 0..3 {
        let records: Vec<Rec> = (0..4)
            .map(|i| {
                Rec::value(
                    1_700_000_000_000,
                    format!("batch-{b}-record-{i}").repeat(10),
                )
            })
            .collect();
        let bytes = plain_batch(Compression::None, &records);
        sizes.push(bytes.len() as i32);
        assert_eq!(
            produce(&mut client, "limits", 0, bytes).unwrap().error_code,
            0
        );
    }
    // A limit smaller than the first batch still returns it whole (KIP-74).
    let (_, fetched) = fetch(&mut client, "limits", 0, 0, 10).unwrap();
    assert_eq!(fetched.len(), 4, "{}", backend.name());
    assert_eq!(fetched.last().unwrap().offset, 3);
    // One and a half batches' worth: Kafka stops at the limit, so exactly
    // one complete batch decodes (the fake sends no partial batch at all).
    // Nisshi 0.8.1 sends every whole batch it has past the limit, so it is
    // held only to "whole batches, the first one included".
    let (data, fetched) = fetch(&mut client, "limits", 0, 0, sizes[0] + sizes[1] / 2).unwrap();
    assert!(
        fetched.len() >= 4 && fetched.len() % 4 == 0,
        "{}",
        backend.name()
    );
    if backend.fake_cluster().is_some() {
        assert_eq!(fetched.len(), 4);
        assert_eq!(
            data.records.unwrap().len(),
            sizes[0] as usize,
            "no partial batch"
        );
    }
    // Enough for all.
    let (_, fetched) = fetch(&mut client, "limits", 0, 0, sizes.iter().sum()).unwrap();
    assert_eq!(fetched.len(), 12, "{}", backend.name());
}

fn deduplicates_idempotent_retries(backend: &Backend) {
    let mut client = backend.connect();
    create_topic(&mut client, "idempotent", 1);
    let (pid, epoch) = init_producer_id(&mut client);

    let first = idempotent_batch(pid, epoch, 0, 3, "a");
    let answer = produce(&mut client, "idempotent", 0, first.clone()).unwrap();
    assert_eq!((answer.error_code, answer.base_offset), (0, 0));
    let answer = produce(
        &mut client,
        "idempotent",
        0,
        idempotent_batch(pid, epoch, 3, 2, "b"),
    )
    .unwrap();
    assert_eq!((answer.error_code, answer.base_offset), (0, 3));

    // A retry of the first batch is acknowledged with its original offset
    // and not appended again.
    let retry = produce(&mut client, "idempotent", 0, first).unwrap();
    assert_eq!(
        (retry.error_code, retry.base_offset),
        (0, 0),
        "{}: {retry:?}",
        backend.name()
    );
    // A gap in the sequence is OUT_OF_ORDER_SEQUENCE_NUMBER.
    let gap = produce(
        &mut client,
        "idempotent",
        0,
        idempotent_batch(pid, epoch, 9, 1, "c"),
    )
    .unwrap();
    assert_eq!(gap.error_code, 45, "{}: {gap:?}", backend.name());
    // The next in-order batch is accepted right after the retained ones.
    let next = produce(
        &mut client,
        "idempotent",
        0,
        idempotent_batch(pid, epoch, 5, 1, "d"),
    )
    .unwrap();
    assert_eq!(
        (next.error_code, next.base_offset),
        (0, 5),
        "{}",
        backend.name()
    );

    let (data, fetched) = fetch(&mut client, "idempotent", 0, 0, 1 << 20).unwrap();
    assert_eq!(data.high_watermark, 6, "{}", backend.name());
    let values: Vec<String> = fetched
        .iter()
        .map(|r| String::from_utf8(r.value.clone().unwrap()).unwrap())
        .collect();
    assert_eq!(
        values,
        ["a-0", "a-1", "a-2", "b-0", "b-1", "d-0"],
        "{}",
        backend.name()
    );
}
