//! Metadata (key 3, flexible from v9) and DescribeCluster (key 60, always
//! flexible).

message!(METADATA = "MetadataResponse", flexible from 9, root METADATA_RESPONSE);

structs! {
    struct METADATA_RESPONSE = "MetadataResponse" {
        throttle_time_ms: i32 [3..],
        brokers: [METADATA_BROKER],
        cluster_id: string [2..],
        controller_id: i32 [1..],
        topics: [METADATA_TOPIC],
        cluster_authorized_operations: i32 [8..=10],
        error_code: i16 [13..],
    }

    struct METADATA_BROKER = "MetadataResponseBroker" {
        node_id: i32,
        host: string,
        port: i32,
        rack: string [1..],
    }

    struct METADATA_TOPIC = "MetadataResponseTopic" {
        error_code: i16,
        name: string,
        topic_id: uuid [10..],
        is_internal: bool [1..],
        partitions: [METADATA_PARTITION],
        topic_authorized_operations: i32 [8..],
    }

    struct METADATA_PARTITION = "MetadataResponsePartition" {
        error_code: i16,
        partition_index: i32,
        leader_id: i32,
        leader_epoch: i32 [7..],
        replica_nodes: [i32],
        isr_nodes: [i32],
        offline_replicas: [i32] [5..],
    }
}

message!(DESCRIBE_CLUSTER = "DescribeClusterResponse", flexible from 0, root DESCRIBE_CLUSTER_RESPONSE);

structs! {
    struct DESCRIBE_CLUSTER_RESPONSE = "DescribeClusterResponse" {
        throttle_time_ms: i32,
        error_code: i16,
        error_message: string,
        endpoint_type: i8 [1..],
        cluster_id: string,
        controller_id: i32,
        brokers: [DESCRIBE_CLUSTER_BROKER],
        cluster_authorized_operations: i32,
    }

    struct DESCRIBE_CLUSTER_BROKER = "DescribeClusterBroker" {
        broker_id: i32,
        host: string,
        port: i32,
        rack: string,
        is_fenced: bool [2..],
    }
}
