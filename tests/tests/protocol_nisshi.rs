//! The protocol layer against a real broker: negotiation, admin requests,
//! and record batches produced by our encoder and read back by our decoder,
//! every codec.

use ferrokafka_protocol::messages::*;
use ferrokafka_protocol::StrBytes;
use ferrokafka_tests::Nisshi;

fn topic_name(name: &str) -> TopicName {
    TopicName(StrBytes::from_string(name.to_owned()))
}

fn create_topic(client: &mut ferrokafka_tests::wire::WireClient, name: &str, partitions: i32) {
    let request = CreateTopicsRequest::default()
        .with_topics(vec![create_topics_request::CreatableTopic::default()
            .with_name(topic_name(name))
            .with_num_partitions(partitions)
            .with_replication_factor(1)])
        .with_timeout_ms(10_000);
    let response: CreateTopicsResponse = client.call(&request).expect("CreateTopics");
    assert_eq!(response.topics.len(), 1);
    assert_eq!(response.topics[0].error_code, 0, "{response:?}");
}

#[test]
fn negotiates_versions_with_nisshi() {
    let broker = Nisshi::start();
    let client = broker.connect();
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
    ] {
        let version = client.version(api);
        let (min, max) = ferrokafka_protocol::versions::implemented_versions(api).unwrap();
        assert!((min..=max).contains(&version), "{api:?} v{version}");
    }
    // Nisshi 0.8.1 does not implement CreatePartitions; the error names the API.
    let err = client
        .versions()
        .negotiate(ApiKey::CreatePartitions)
        .unwrap_err();
    assert!(err.to_string().contains("CreatePartitions"), "{err}");
}

#[test]
fn creates_describes_and_deletes_a_topic() {
    let broker = Nisshi::start();
    let mut client = broker.connect();
    create_topic(&mut client, "admin-topic", 3);

    let metadata: MetadataResponse = client
        .call(&MetadataRequest::default().with_topics(Some(vec![
            metadata_request::MetadataRequestTopic::default()
                .with_name(Some(topic_name("admin-topic"))),
        ])))
        .expect("Metadata");
    assert_eq!(metadata.brokers.len(), 1);
    assert_eq!(metadata.brokers[0].port, broker.addr().port() as i32);
    let topic = &metadata.topics[0];
    assert_eq!(topic.error_code, 0);
    assert_eq!(topic.partitions.len(), 3);

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
