//! Consumer groups: FindCoordinator (key 10, flexible from v3),
//! OffsetCommit (key 8, from v8), OffsetFetch (key 9, from v6), JoinGroup
//! (key 11, from v6), SyncGroup (key 14, from v4), Heartbeat (key 12, from
//! v4) and LeaveGroup (key 13, from v4).

message!(
    FIND_COORDINATOR = "FindCoordinatorResponse",
    flexible from 3,
    root FIND_COORDINATOR_RESPONSE
);

structs! {
    struct FIND_COORDINATOR_RESPONSE = "FindCoordinatorResponse" {
        throttle_time_ms: i32 [1..],
        error_code: i16 [..=3],
        error_message: string [1..=3],
        node_id: i32 [..=3],
        host: string [..=3],
        port: i32 [..=3],
        coordinators: [COORDINATOR] [4..],
    }

    struct COORDINATOR = "Coordinator" {
        key: string [4..],
        node_id: i32 [4..],
        host: string [4..],
        port: i32 [4..],
        error_code: i16 [4..],
        error_message: string [4..],
    }
}

message!(OFFSET_COMMIT = "OffsetCommitResponse", flexible from 8, root OFFSET_COMMIT_RESPONSE);

structs! {
    struct OFFSET_COMMIT_RESPONSE = "OffsetCommitResponse" {
        throttle_time_ms: i32 [3..],
        topics: [OFFSET_COMMIT_RESPONSE_TOPIC],
    }

    struct OFFSET_COMMIT_RESPONSE_TOPIC = "OffsetCommitResponseTopic" {
        name: string [..=9],
        topic_id: uuid [10..],
        partitions: [OFFSET_COMMIT_RESPONSE_PARTITION],
    }

    struct OFFSET_COMMIT_RESPONSE_PARTITION = "OffsetCommitResponsePartition" {
        partition_index: i32,
        error_code: i16,
    }
}

message!(OFFSET_FETCH = "OffsetFetchResponse", flexible from 6, root OFFSET_FETCH_RESPONSE);

structs! {
    struct OFFSET_FETCH_RESPONSE = "OffsetFetchResponse" {
        throttle_time_ms: i32 [3..],
        topics: [OFFSET_FETCH_RESPONSE_TOPIC] [..=7],
        error_code: i16 [2..=7],
        groups: [OFFSET_FETCH_RESPONSE_GROUP] [8..],
    }

    struct OFFSET_FETCH_RESPONSE_TOPIC = "OffsetFetchResponseTopic" {
        name: string [..=7],
        partitions: [OFFSET_FETCH_RESPONSE_PARTITION] [..=7],
    }

    struct OFFSET_FETCH_RESPONSE_PARTITION = "OffsetFetchResponsePartition" {
        partition_index: i32 [..=7],
        committed_offset: i64 [..=7],
        committed_leader_epoch: i32 [5..=7],
        metadata: string [..=7],
        error_code: i16 [..=7],
    }

    struct OFFSET_FETCH_RESPONSE_GROUP = "OffsetFetchResponseGroup" {
        group_id: string [8..],
        topics: [OFFSET_FETCH_RESPONSE_TOPICS] [8..],
        error_code: i16 [8..],
    }

    struct OFFSET_FETCH_RESPONSE_TOPICS = "OffsetFetchResponseTopics" {
        name: string [8..=9],
        topic_id: uuid [10..],
        partitions: [OFFSET_FETCH_RESPONSE_PARTITIONS] [8..],
    }

    struct OFFSET_FETCH_RESPONSE_PARTITIONS = "OffsetFetchResponsePartitions" {
        partition_index: i32 [8..],
        committed_offset: i64 [8..],
        committed_leader_epoch: i32 [8..],
        metadata: string [8..],
        error_code: i16 [8..],
    }
}

message!(JOIN_GROUP = "JoinGroupResponse", flexible from 6, root JOIN_GROUP_RESPONSE);

structs! {
    struct JOIN_GROUP_RESPONSE = "JoinGroupResponse" {
        throttle_time_ms: i32 [2..],
        error_code: i16,
        generation_id: i32,
        protocol_type: string [7..],
        protocol_name: string,
        leader: string,
        skip_assignment: bool [9..],
        member_id: string,
        members: [JOIN_GROUP_RESPONSE_MEMBER],
    }

    struct JOIN_GROUP_RESPONSE_MEMBER = "JoinGroupResponseMember" {
        member_id: string,
        group_instance_id: string [5..],
        metadata: bytes,
    }
}

message!(SYNC_GROUP = "SyncGroupResponse", flexible from 4, root SYNC_GROUP_RESPONSE);

structs! {
    struct SYNC_GROUP_RESPONSE = "SyncGroupResponse" {
        throttle_time_ms: i32 [1..],
        error_code: i16,
        protocol_type: string [5..],
        protocol_name: string [5..],
        assignment: bytes,
    }
}

message!(HEARTBEAT = "HeartbeatResponse", flexible from 4, root HEARTBEAT_RESPONSE);

structs! {
    struct HEARTBEAT_RESPONSE = "HeartbeatResponse" {
        throttle_time_ms: i32 [1..],
        error_code: i16,
    }
}

message!(LEAVE_GROUP = "LeaveGroupResponse", flexible from 4, root LEAVE_GROUP_RESPONSE);

structs! {
    struct LEAVE_GROUP_RESPONSE = "LeaveGroupResponse" {
        throttle_time_ms: i32 [1..],
        error_code: i16,
        members: [MEMBER_RESPONSE] [3..],
    }

    struct MEMBER_RESPONSE = "MemberResponse" {
        member_id: string [3..],
        group_instance_id: string [3..],
        error_code: i16 [3..],
    }
}
