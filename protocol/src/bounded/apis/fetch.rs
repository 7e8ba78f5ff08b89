//! Fetch (key 1, flexible from v12), ListOffsets (key 2, flexible from v6)
//! and OffsetForLeaderEpoch (key 23, flexible from v4).

message!(FETCH = "FetchResponse", flexible from 12, root FETCH_RESPONSE);

structs! {
    struct FETCH_RESPONSE = "FetchResponse" {
        throttle_time_ms: i32,
        error_code: i16 [7..],
        session_id: i32 [7..],
        responses: [FETCHABLE_TOPIC_RESPONSE],
    } tagged {
        0 => node_endpoints: [NODE_ENDPOINT] [16..],
    }

    struct FETCHABLE_TOPIC_RESPONSE = "FetchableTopicResponse" {
        topic: string [..=12],
        topic_id: uuid [13..],
        partitions: [PARTITION_DATA],
    }

    struct PARTITION_DATA = "PartitionData" {
        partition_index: i32,
        error_code: i16,
        high_watermark: i64,
        last_stable_offset: i64,
        log_start_offset: i64 [5..],
        aborted_transactions: [ABORTED_TRANSACTION],
        preferred_read_replica: i32 [11..],
        records: records,
    } tagged {
        0 => diverging_epoch: EPOCH_END_OFFSET [12..],
        1 => current_leader: LEADER_ID_AND_EPOCH [12..],
        2 => snapshot_id: SNAPSHOT_ID [12..],
    }

    struct ABORTED_TRANSACTION = "AbortedTransaction" {
        producer_id: i64,
        first_offset: i64,
    }

    struct EPOCH_END_OFFSET = "EpochEndOffset" {
        epoch: i32 [12..],
        end_offset: i64 [12..],
    }

    struct LEADER_ID_AND_EPOCH = "LeaderIdAndEpoch" {
        leader_id: i32 [12..],
        leader_epoch: i32 [12..],
    }

    struct SNAPSHOT_ID = "SnapshotId" {
        end_offset: i64,
        epoch: i32,
    }

    struct NODE_ENDPOINT = "NodeEndpoint" {
        node_id: i32 [16..],
        host: string [16..],
        port: i32 [16..],
        rack: string [16..],
    }
}

message!(LIST_OFFSETS = "ListOffsetsResponse", flexible from 6, root LIST_OFFSETS_RESPONSE);

structs! {
    struct LIST_OFFSETS_RESPONSE = "ListOffsetsResponse" {
        throttle_time_ms: i32 [2..],
        topics: [LIST_OFFSETS_TOPIC_RESPONSE],
    }

    struct LIST_OFFSETS_TOPIC_RESPONSE = "ListOffsetsTopicResponse" {
        name: string,
        partitions: [LIST_OFFSETS_PARTITION_RESPONSE],
    }

    struct LIST_OFFSETS_PARTITION_RESPONSE = "ListOffsetsPartitionResponse" {
        partition_index: i32,
        error_code: i16,
        timestamp: i64,
        offset: i64,
        leader_epoch: i32 [4..],
    }
}

message!(
    OFFSET_FOR_LEADER_EPOCH = "OffsetForLeaderEpochResponse",
    flexible from 4,
    root OFFSET_FOR_LEADER_EPOCH_RESPONSE
);

structs! {
    struct OFFSET_FOR_LEADER_EPOCH_RESPONSE = "OffsetForLeaderEpochResponse" {
        throttle_time_ms: i32,
        topics: [OFFSET_FOR_LEADER_TOPIC_RESULT],
    }

    struct OFFSET_FOR_LEADER_TOPIC_RESULT = "OffsetForLeaderTopicResult" {
        topic: string,
        partitions: [OFFSET_FOR_LEADER_EPOCH_END_OFFSET],
    }

    struct OFFSET_FOR_LEADER_EPOCH_END_OFFSET = "EpochEndOffset" {
        error_code: i16,
        partition: i32,
        leader_epoch: i32,
        end_offset: i64,
    }
}
