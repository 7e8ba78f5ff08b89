//! Metadata and DescribeCluster requests.

message!(METADATA = "MetadataRequest", flexible from 9, root METADATA_REQUEST);

structs! {
    struct METADATA_REQUEST = "MetadataRequest" {
        topics: [METADATA_REQUEST_TOPIC],
        allow_auto_topic_creation: bool [4..],
        include_cluster_authorized_operations: bool [8..=10],
        include_topic_authorized_operations: bool [8..],
    }

    struct METADATA_REQUEST_TOPIC = "MetadataRequestTopic" {
        topic_id: uuid [10..],
        name: string,
    }
}

message!(
    DESCRIBE_CLUSTER = "DescribeClusterRequest",
    flexible from 0,
    root DESCRIBE_CLUSTER_REQUEST
);

structs! {
    struct DESCRIBE_CLUSTER_REQUEST = "DescribeClusterRequest" {
        include_cluster_authorized_operations: bool,
        endpoint_type: i8 [1..],
        include_fenced_brokers: bool [2..],
    }
}
