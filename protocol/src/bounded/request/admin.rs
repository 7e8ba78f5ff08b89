//! Administration requests: CreateTopics, DeleteTopics, DeleteRecords,
//! CreatePartitions and DescribeConfigs.

message!(CREATE_TOPICS = "CreateTopicsRequest", flexible from 5, root CREATE_TOPICS_REQUEST);

structs! {
    struct CREATE_TOPICS_REQUEST = "CreateTopicsRequest" {
        topics: [CREATABLE_TOPIC],
        timeout_ms: i32,
        validate_only: bool [1..],
    }

    struct CREATABLE_TOPIC = "CreatableTopic" {
        name: string,
        num_partitions: i32,
        replication_factor: i16,
        assignments: [CREATABLE_REPLICA_ASSIGNMENT],
        configs: [CREATABLE_TOPIC_CONFIG],
    }

    struct CREATABLE_REPLICA_ASSIGNMENT = "CreatableReplicaAssignment" {
        partition_index: i32,
        broker_ids: [i32],
    }

    struct CREATABLE_TOPIC_CONFIG = "CreatableTopicConfig" {
        name: string,
        value: string,
    }
}

message!(DELETE_TOPICS = "DeleteTopicsRequest", flexible from 4, root DELETE_TOPICS_REQUEST);

structs! {
    struct DELETE_TOPICS_REQUEST = "DeleteTopicsRequest" {
        topics: [DELETE_TOPIC_STATE] [6..],
        topic_names: [string] [..=5],
        timeout_ms: i32,
    }

    struct DELETE_TOPIC_STATE = "DeleteTopicState" {
        name: string [6..],
        topic_id: uuid [6..],
    }
}

message!(DELETE_RECORDS = "DeleteRecordsRequest", flexible from 2, root DELETE_RECORDS_REQUEST);

structs! {
    struct DELETE_RECORDS_REQUEST = "DeleteRecordsRequest" {
        topics: [DELETE_RECORDS_TOPIC],
        timeout_ms: i32,
    }

    struct DELETE_RECORDS_TOPIC = "DeleteRecordsTopic" {
        name: string,
        partitions: [DELETE_RECORDS_PARTITION],
    }

    struct DELETE_RECORDS_PARTITION = "DeleteRecordsPartition" {
        partition_index: i32,
        offset: i64,
    }
}

message!(
    CREATE_PARTITIONS = "CreatePartitionsRequest",
    flexible from 2,
    root CREATE_PARTITIONS_REQUEST
);

structs! {
    struct CREATE_PARTITIONS_REQUEST = "CreatePartitionsRequest" {
        topics: [CREATE_PARTITIONS_TOPIC],
        timeout_ms: i32,
        validate_only: bool,
    }

    struct CREATE_PARTITIONS_TOPIC = "CreatePartitionsTopic" {
        name: string,
        count: i32,
        assignments: [CREATE_PARTITIONS_ASSIGNMENT],
    }

    struct CREATE_PARTITIONS_ASSIGNMENT = "CreatePartitionsAssignment" {
        broker_ids: [i32],
    }
}

message!(
    DESCRIBE_CONFIGS = "DescribeConfigsRequest",
    flexible from 4,
    root DESCRIBE_CONFIGS_REQUEST
);

structs! {
    struct DESCRIBE_CONFIGS_REQUEST = "DescribeConfigsRequest" {
        resources: [DESCRIBE_CONFIGS_RESOURCE],
        include_synonyms: bool,
        include_documentation: bool [3..],
    }

    struct DESCRIBE_CONFIGS_RESOURCE = "DescribeConfigsResource" {
        resource_type: i8,
        resource_name: string,
        configuration_keys: [string],
    }
}
