//! Produce and InitProducerId requests.

message!(PRODUCE = "ProduceRequest", flexible from 9, root PRODUCE_REQUEST);

structs! {
    struct PRODUCE_REQUEST = "ProduceRequest" {
        transactional_id: string,
        acks: i16,
        timeout_ms: i32,
        topic_data: [TOPIC_PRODUCE_DATA],
    }

    struct TOPIC_PRODUCE_DATA = "TopicProduceData" {
        name: string [..=12],
        topic_id: uuid [13..],
        partition_data: [PARTITION_PRODUCE_DATA],
    }

    struct PARTITION_PRODUCE_DATA = "PartitionProduceData" {
        index: i32,
        records: records,
    }
}

message!(
    INIT_PRODUCER_ID = "InitProducerIdRequest",
    flexible from 2,
    root INIT_PRODUCER_ID_REQUEST
);

structs! {
    struct INIT_PRODUCER_ID_REQUEST = "InitProducerIdRequest" {
        transactional_id: string,
        transaction_timeout_ms: i32,
        producer_id: i64 [3..],
        producer_epoch: i16 [3..],
    }
}
