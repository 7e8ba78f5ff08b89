//! Fetch, ListOffsets and OffsetForLeaderEpoch requests.

message!(FETCH = "FetchRequest", flexible from 12, root FETCH_REQUEST);

structs! {
    struct FETCH_REQUEST = "FetchRequest" {
        replica_id: i32 [..=14],
        max_wait_ms: i32,
        min_bytes: i32,
        max_bytes: i32,
        isolation_level: i8,
        session_id: i32 [7..],
        session_epoch: i32 [7..],
        topics: [FETCH_TOPIC],
        forgotten_topics_data: [FORGOTTEN_TOPIC] [7..],
        rack_id: string [11..],
    } tagged {
        0 => cluster_id: string [12..],
        1 => replica_state: REPLICA_STATE [15..],
    }

    struct FETCH_TOPIC = "FetchTopic" {
        topic: string [..=12],
        topic_id: uuid [13..],
        partitions: [FETCH_PARTITION],
    }

    struct FETCH_PARTITION = "FetchPartition" {
        partition: i32,
        current_leader_epoch: i32 [9..],
        fetch_offset: i64,
        last_fetched_epoch: i32 [12..],
        log_start_offset: i64 [5..],
        partition_max_bytes: i32,
    } tagged {
        0 => replica_directory_id: uuid [17..],
        1 => high_watermark: i64 [18..],
    }

    struct FORGOTTEN_TOPIC = "ForgottenTopic" {
        topic: string [7..=12],
        topic_id: uuid [13..],
        partitions: [i32] [7..],
    }

    struct REPLICA_STATE = "ReplicaState" {
        replica_id: i32 [15..],
        replica_epoch: i64 [15..],
    }
}

message!(LIST_OFFSETS = "ListOffsetsRequest", flexible from 6, root LIST_OFFSETS_REQUEST);

structs! {
    struct LIST_OFFSETS_REQUEST = "ListOffsetsRequest" {
        replica_id: i32,
        isolation_level: i8 [2..],
        topics: [LIST_OFFSETS_TOPIC],
        timeout_ms: i32 [10..],
    }

    struct LIST_OFFSETS_TOPIC = "ListOffsetsTopic" {
        name: string,
        partitions: [LIST_OFFSETS_PARTITION],
    }

    struct LIST_OFFSETS_PARTITION = "ListOffsetsPartition" {
        partition_index: i32,
        current_leader_epoch: i32 [4..],
        timestamp: i64,
    }
}

message!(
    OFFSET_FOR_LEADER_EPOCH = "OffsetForLeaderEpochRequest",
    flexible from 4,
    root OFFSET_FOR_LEADER_EPOCH_REQUEST
);

structs! {
    struct OFFSET_FOR_LEADER_EPOCH_REQUEST = "OffsetForLeaderEpochRequest" {
        replica_id: i32 [3..],
        topics: [OFFSET_FOR_LEADER_TOPIC],
    }

    struct OFFSET_FOR_LEADER_TOPIC = "OffsetForLeaderTopic" {
        topic: string,
        partitions: [OFFSET_FOR_LEADER_PARTITION],
    }

    struct OFFSET_FOR_LEADER_PARTITION = "OffsetForLeaderPartition" {
        partition: i32,
        current_leader_epoch: i32,
        leader_epoch: i32,
    }
}
