//! Admin operations on both backends (Nisshi and the fake cluster):
//! topics, cluster, configs, offsets, delete records; CreatePartitions
//! where each backend stands (Nisshi lacks it, the fake serves it).

mod common;

use ferrokafka::admin::{ConfigResource, NewTopic, OffsetSpec};
use ferrokafka::Compression;
use ferrokafka::{ErrorKind, IsolationLevel, TopicPartition};
use ferrokafka_tests::backend::Backend;
use ferrokafka_tests::on_both_backends_async;

async fn create_describe_list_and_delete_topics(backend: &Backend) {
    let client = common::client_for(&backend.bootstrap()).await;
    let admin = client.admin();

    let outcomes = admin
        .create_topics(&[
            NewTopic::new("alpha", 3, 1).with_config("retention.ms", "123456"),
            NewTopic::new("beta", 1, 1),
            NewTopic::new("bad name!", 1, 1),
        ])
        .await
        .unwrap();
    assert_eq!(outcomes.len(), 3);
    assert!(outcomes[0].1.is_ok(), "{:?}", outcomes[0]);
    assert!(outcomes[1].1.is_ok(), "{:?}", outcomes[1]);
    let err = outcomes[2].1.as_ref().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::InvalidArgument(_)), "{err}");

    let topic = admin.describe_topic("alpha").await.unwrap();
    assert_eq!(topic.partitions.len(), 3);
    assert!(
        topic.partitions.values().all(|p| p.leader >= 0),
        "{topic:?}"
    );

    let listed = admin.list_topics().await.unwrap();
    let names: Vec<&str> = listed.iter().map(|t| t.name.as_str()).collect();
    assert!(
        names.contains(&"alpha") && names.contains(&"beta"),
        "{names:?}"
    );
    assert_eq!(
        listed
            .iter()
            .find(|t| t.name == "alpha")
            .unwrap()
            .partitions,
        3
    );

    let configs = admin
        .describe_configs(&ConfigResource::Topic("alpha".into()))
        .await
        .unwrap();
    let retention = configs.iter().find(|c| c.name == "retention.ms");
    assert_eq!(
        retention.and_then(|c| c.value.as_deref()),
        Some("123456"),
        "{configs:?}"
    );

    // Creating it again is a per-topic error that names the topic.
    let err = admin
        .create_topic(NewTopic::new("alpha", 1, 1))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(36), "{err}");
    assert!(err.to_string().contains("alpha"), "{err}");

    admin.delete_topic("alpha").await.unwrap();
    let names: Vec<String> = admin
        .list_topics()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.name)
        .collect();
    assert!(
        !names.contains(&"alpha".to_owned()) && names.contains(&"beta".to_owned()),
        "{names:?}"
    );
    let err = admin.delete_topic("alpha").await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::UnknownTopicOrPartition),
        "{err}"
    );
    client.close().await;
}

async fn describe_cluster_lists_the_broker(backend: &Backend) {
    let client = common::client_for(&backend.bootstrap()).await;
    let cluster = client.admin().describe_cluster().await.unwrap();
    assert_eq!(cluster.brokers.len(), 1, "{cluster:?}");
    assert_eq!(cluster.brokers[0].address.port, backend.addr().port());
    assert!(cluster.controller.is_some(), "{cluster:?}");
}

async fn list_offsets_earliest_latest_and_by_timestamp(backend: &Backend) {
    let client = common::client_for(&backend.bootstrap()).await;
    let admin = client.admin();
    admin
        .create_topic(NewTopic::new("offsets", 2, 1))
        .await
        .unwrap();
    let tp = TopicPartition::new("offsets", 0);
    // 30 records, timestamps 1_000_000 + offset, batches of 10.
    common::produce_values(&client, &tp, 30, 10, 1_000_000, Compression::None).await;
    let empty = TopicPartition::new("offsets", 1);

    let specs = [
        (tp.clone(), OffsetSpec::Earliest),
        (tp.clone(), OffsetSpec::Latest),
        (tp.clone(), OffsetSpec::Timestamp(1_000_015)),
        (tp.clone(), OffsetSpec::Timestamp(1_000_000)),
        (tp.clone(), OffsetSpec::Timestamp(9_000_000)),
        (empty.clone(), OffsetSpec::Latest),
        (TopicPartition::new("offsets", 7), OffsetSpec::Latest),
    ];
    let got = admin
        .list_offsets(&specs, IsolationLevel::ReadUncommitted)
        .await
        .unwrap();
    let offset = |i: usize| {
        got[i]
            .1
            .as_ref()
            .map(|o| o.offset)
            .map_err(|e| e.to_string())
    };
    assert_eq!(offset(0), Ok(0));
    assert_eq!(offset(1), Ok(30));
    assert_eq!(
        offset(2),
        Ok(15),
        "first record at or after the timestamp, mid-batch"
    );
    assert_eq!(offset(3), Ok(0));
    assert_eq!(offset(4), Ok(-1), "no record that late");
    assert_eq!(offset(5), Ok(0));
    let err = got[6].1.as_ref().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::UnknownTopicOrPartition),
        "{err}"
    );
    assert_eq!(
        err.topic_partition(),
        Some(&TopicPartition::new("offsets", 7))
    );
    assert_eq!(got[2].1.as_ref().unwrap().timestamp, 1_000_015);

    let committed = admin
        .list_offsets(
            &[(tp.clone(), OffsetSpec::Latest)],
            IsolationLevel::ReadCommitted,
        )
        .await
        .unwrap();
    assert_eq!(committed[0].1.as_ref().unwrap().offset, 30);
}

async fn delete_records_then_list_earliest(backend: &Backend) {
    let client = common::client_for(&backend.bootstrap()).await;
    let admin = client.admin();
    admin
        .create_topic(NewTopic::new("trim", 1, 1))
        .await
        .unwrap();
    let tp = TopicPartition::new("trim", 0);
    common::produce_values(&client, &tp, 20, 5, 0, Compression::None).await;

    let deleted = admin.delete_records(&[(tp.clone(), 7)]).await.unwrap();
    assert_eq!(deleted[0].1.as_ref().ok(), Some(&7));
    let earliest = admin
        .list_offsets(
            &[(tp.clone(), OffsetSpec::Earliest)],
            IsolationLevel::ReadUncommitted,
        )
        .await
        .unwrap();
    assert_eq!(earliest[0].1.as_ref().unwrap().offset, 7);

    // Beyond the high watermark: a per-partition error.
    let err = admin.delete_records(&[(tp.clone(), 1000)]).await.unwrap();
    let err = err[0].1.as_ref().unwrap_err();
    assert_eq!(err.code(), Some(1), "{err}");
}

#[tokio::test]
async fn create_partitions_unsupported_by_the_broker_is_a_typed_error() {
    // Nisshi 0.8.1 has no CreatePartitions: the error names the API.
    let broker = ferrokafka_tests::Nisshi::start();
    let client = common::client(&broker).await;
    let admin = client.admin();
    admin
        .create_topic(NewTopic::new("grow", 1, 1))
        .await
        .unwrap();
    let err = admin.create_partitions("grow", 3).await.unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Version(_)), "{err}");
    assert!(err.to_string().contains("CreatePartitions"), "{err}");
    assert_eq!(err.api().map(|a| a.name()), Some("CreatePartitions"));
}

/// CreatePartitions exists only on the fake: the topic grows, the client
/// sees the new partitions (its cached metadata is invalidated) and can
/// write and read them; shrinking is a typed error naming the topic.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_partitions_grows_the_topic_on_the_fake() {
    let backend = Backend::fake();
    let client = common::client_for(&backend.bootstrap()).await;
    let admin = client.admin();
    admin
        .create_topic(NewTopic::new("grow", 1, 1))
        .await
        .unwrap();
    assert_eq!(
        admin.describe_topic("grow").await.unwrap().partitions.len(),
        1
    );

    admin.create_partitions("grow", 3).await.unwrap();
    let topic = admin.describe_topic("grow").await.unwrap();
    assert_eq!(topic.partitions.len(), 3, "{topic:?}");
    assert!(
        topic.partitions.values().all(|p| p.leader >= 0),
        "{topic:?}"
    );
    let listed = admin.list_topics().await.unwrap();
    assert_eq!(
        listed
            .iter()
            .find(|t| t.name == "grow")
            .map(|t| t.partitions),
        Some(3)
    );
    let cluster = backend.fake_cluster().unwrap();
    assert_eq!(
        cluster.partition_state("grow", 2).unwrap().high_watermark,
        0
    );

    // The new partition takes records and the reader finds them.
    let tp = TopicPartition::new("grow", 2);
    common::produce_values(&client, &tp, 12, 4, 0, Compression::None).await;
    let mut stream = client.read(vec![ferrokafka::ReadRange::new("grow", 2, 0..12)]);
    let mut offsets = Vec::new();
    while let Some(r) = futures::StreamExt::next(&mut stream).await {
        offsets.push(r.unwrap().offset);
    }
    assert_eq!(offsets, (0..12).collect::<Vec<_>>());

    // Fewer partitions than now: a non-retriable, typed error naming the topic.
    let err = admin.create_partitions("grow", 2).await.unwrap_err();
    assert!(!err.is_retriable(), "{err}");
    assert_eq!(
        err.api().map(|a| a.name()),
        Some("CreatePartitions"),
        "{err}"
    );
    assert!(err.to_string().contains("grow"), "{err}");
    assert_eq!(
        admin.describe_topic("grow").await.unwrap().partitions.len(),
        3
    );
    // An unknown topic.
    let err = admin.create_partitions("nope", 2).await.unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::UnknownTopicOrPartition),
        "{err}"
    );
    assert!(err.to_string().contains("nope"), "{err}");
}

on_both_backends_async!(
    create_describe_list_and_delete_topics,
    describe_cluster_lists_the_broker,
    list_offsets_earliest_latest_and_by_timestamp,
    delete_records_then_list_earliest,
);
