//! Produce (key 0, flexible from v9) and InitProducerId (key 22, flexible
//! from v2).

message!(PRODUCE = "ProduceResponse", flexible from 9, root PRODUCE_RESPONSE);

structs! {
    struct PRODUCE_RESPONSE = "ProduceResponse" {
        responses: [TOPIC_PRODUCE_RESPONSE],
        throttle_time_ms: i32,
    } tagged {
        0 => node_endpoints: [NODE_ENDPOINT] [10..],
    }

    struct TOPIC_PRODUCE_RESPONSE = "TopicProduceResponse" {
        name: string [..=12],
        topic_id: uuid [13..],
        partition_responses: [PARTITION_PRODUCE_RESPONSE],
    }

    struct PARTITION_PRODUCE_RESPONSE = "PartitionProduceResponse" {
        index: i32,
        error_code: i16,
        base_offset: i64,
        log_append_time_ms: i64,
        log_start_offset: i64 [5..],
        record_errors: [BATCH_INDEX_AND_ERROR_MESSAGE] [8..],
        error_message: string [8..],
    } tagged {
        0 => current_leader: LEADER_ID_AND_EPOCH [10..],
    }

    struct BATCH_INDEX_AND_ERROR_MESSAGE = "BatchIndexAndErrorMessage" {
        batch_index: i32 [8..],
        batch_index_error_message: string [8..],
    }

    struct LEADER_ID_AND_EPOCH = "LeaderIdAndEpoch" {
        leader_id: i32 [10..],
        leader_epoch: i32 [10..],
    }

    struct NODE_ENDPOINT = "NodeEndpoint" {
        node_id: i32 [10..],
        host: string [10..],
        port: i32 [10..],
        rack: string [10..],
    }
}

message!(INIT_PRODUCER_ID = "InitProducerIdResponse", flexible from 2, root INIT_PRODUCER_ID_RESPONSE);

structs! {
    struct INIT_PRODUCER_ID_RESPONSE = "InitProducerIdResponse" {
        throttle_time_ms: i32,
        error_code: i16,
        producer_id: i64,
        producer_epoch: i16,
        ongoing_txn_producer_id: i64 [6..],
        ongoing_txn_producer_epoch: i16 [6..],
    }
}
