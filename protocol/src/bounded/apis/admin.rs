//! Topic and config administration: DeleteRecords (key 21, flexible from
//! v2), CreateTopics (key 19, from v5), DeleteTopics (key 20, from v4),
//! CreatePartitions (key 37, from v2) and DescribeConfigs (key 32, from v4).

message!(DELETE_RECORDS = "DeleteRecordsResponse", flexible from 2, root DELETE_RECORDS_RESPONSE);

structs! {
    struct DELETE_RECORDS_RESPONSE = "DeleteRecordsResponse" {
        throttle_time_ms: i32,
        topics: [DELETE_RECORDS_TOPIC_RESULT],
    }

    struct DELETE_RECORDS_TOPIC_RESULT = "DeleteRecordsTopicResult" {
        name: string,
        partitions: [DELETE_RECORDS_PARTITION_RESULT],
    }

    struct DELETE_RECORDS_PARTITION_RESULT = "DeleteRecordsPartitionResult" {
        partition_index: i32,
        low_watermark: i64,
        error_code: i16,
    }
}

message!(CREATE_TOPICS = "CreateTopicsResponse", flexible from 5, root CREATE_TOPICS_RESPONSE);

structs! {
    struct CREATE_TOPICS_RESPONSE = "CreateTopicsResponse" {
        throttle_time_ms: i32,
        topics: [CREATABLE_TOPIC_RESULT],
    }

    struct CREATABLE_TOPIC_RESULT = "CreatableTopicResult" {
        name: string,
        topic_id: uuid [7..],
        error_code: i16,
        error_message: string,
        num_partitions: i32 [5..],
        replication_factor: i16 [5..],
        configs: [CREATABLE_TOPIC_CONFIGS] [5..],
    } tagged {
        0 => topic_config_error_code: i16 [5..],
    }

    struct CREATABLE_TOPIC_CONFIGS = "CreatableTopicConfigs" {
        name: string [5..],
        value: string [5..],
        read_only: bool [5..],
        config_source: i8 [5..],
        is_sensitive: bool [5..],
    }
}

message!(DELETE_TOPICS = "DeleteTopicsResponse", flexible from 4, root DELETE_TOPICS_RESPONSE);

structs! {
    struct DELETE_TOPICS_RESPONSE = "DeleteTopicsResponse" {
        throttle_time_ms: i32,
        responses: [DELETABLE_TOPIC_RESULT],
    }

    struct DELETABLE_TOPIC_RESULT = "DeletableTopicResult" {
        name: string,
        topic_id: uuid [6..],
        error_code: i16,
        error_message: string [5..],
    }
}

message!(
    CREATE_PARTITIONS = "CreatePartitionsResponse",
    flexible from 2,
    root CREATE_PARTITIONS_RESPONSE
);

structs! {
    struct CREATE_PARTITIONS_RESPONSE = "CreatePartitionsResponse" {
        throttle_time_ms: i32,
        results: [CREATE_PARTITIONS_TOPIC_RESULT],
    }

    struct CREATE_PARTITIONS_TOPIC_RESULT = "CreatePartitionsTopicResult" {
        name: string,
        error_code: i16,
        error_message: string,
    }
}

message!(
    DESCRIBE_CONFIGS = "DescribeConfigsResponse",
    flexible from 4,
    root DESCRIBE_CONFIGS_RESPONSE
);

structs! {
    struct DESCRIBE_CONFIGS_RESPONSE = "DescribeConfigsResponse" {
        throttle_time_ms: i32,
        results: [DESCRIBE_CONFIGS_RESULT],
    }

    struct DESCRIBE_CONFIGS_RESULT = "DescribeConfigsResult" {
        error_code: i16,
        error_message: string,
        resource_type: i8,
        resource_name: string,
        configs: [DESCRIBE_CONFIGS_RESOURCE_RESULT],
    }

    struct DESCRIBE_CONFIGS_RESOURCE_RESULT = "DescribeConfigsResourceResult" {
        name: string,
        value: string,
        read_only: bool,
        config_source: i8,
        is_sensitive: bool,
        synonyms: [DESCRIBE_CONFIGS_SYNONYM],
        config_type: i8 [3..],
        documentation: string [3..],
    }

    struct DESCRIBE_CONFIGS_SYNONYM = "DescribeConfigsSynonym" {
        name: string,
        value: string,
        source: i8,
    }
}
