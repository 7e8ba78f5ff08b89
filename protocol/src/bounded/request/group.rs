//! Consumer-group requests: FindCoordinator, OffsetCommit, OffsetFetch,
//! JoinGroup, SyncGroup, Heartbeat and LeaveGroup.

message!(
    FIND_COORDINATOR = "FindCoordinatorRequest",
    flexible from 3,
    root FIND_COORDINATOR_REQUEST
);

structs! {
    struct FIND_COORDINATOR_REQUEST = "FindCoordinatorRequest" {
        key: string [..=3],
        key_type: i8 [1..],
        coordinator_keys: [string] [4..],
    }
}

message!(OFFSET_COMMIT = "OffsetCommitRequest", flexible from 8, root OFFSET_COMMIT_REQUEST);

structs! {
    struct OFFSET_COMMIT_REQUEST = "OffsetCommitRequest" {
        group_id: string,
        generation_id_or_member_epoch: i32,
        member_id: string,
        group_instance_id: string [7..],
        retention_time_ms: i64 [2..=4],
        topics: [OFFSET_COMMIT_REQUEST_TOPIC],
    }

    struct OFFSET_COMMIT_REQUEST_TOPIC = "OffsetCommitRequestTopic" {
        name: string,
        partitions: [OFFSET_COMMIT_REQUEST_PARTITION],
    }

    struct OFFSET_COMMIT_REQUEST_PARTITION = "OffsetCommitRequestPartition" {
        partition_index: i32,
        committed_offset: i64,
        committed_leader_epoch: i32 [6..],
        committed_metadata: string,
    }
}

message!(OFFSET_FETCH = "OffsetFetchRequest", flexible from 6, root OFFSET_FETCH_REQUEST);

structs! {
    struct OFFSET_FETCH_REQUEST = "OffsetFetchRequest" {
        group_id: string [..=7],
        topics: [OFFSET_FETCH_REQUEST_TOPIC] [..=7],
        groups: [OFFSET_FETCH_REQUEST_GROUP] [8..],
        require_stable: bool [7..],
    }

    struct OFFSET_FETCH_REQUEST_TOPIC = "OffsetFetchRequestTopic" {
        name: string [..=7],
        partition_indexes: [i32] [..=7],
    }

    struct OFFSET_FETCH_REQUEST_GROUP = "OffsetFetchRequestGroup" {
        group_id: string [8..],
        member_id: string [9..],
        member_epoch: i32 [9..],
        topics: [OFFSET_FETCH_REQUEST_TOPICS] [8..],
    }

    struct OFFSET_FETCH_REQUEST_TOPICS = "OffsetFetchRequestTopics" {
        name: string [8..],
        partition_indexes: [i32] [8..],
    }
}

message!(JOIN_GROUP = "JoinGroupRequest", flexible from 6, root JOIN_GROUP_REQUEST);

structs! {
    struct JOIN_GROUP_REQUEST = "JoinGroupRequest" {
        group_id: string,
        session_timeout_ms: i32,
        rebalance_timeout_ms: i32 [1..],
        member_id: string,
        group_instance_id: string [5..],
        protocol_type: string,
        protocols: [JOIN_GROUP_REQUEST_PROTOCOL],
        reason: string [8..],
    }

    struct JOIN_GROUP_REQUEST_PROTOCOL = "JoinGroupRequestProtocol" {
        name: string,
        metadata: bytes,
    }
}

message!(SYNC_GROUP = "SyncGroupRequest", flexible from 4, root SYNC_GROUP_REQUEST);

structs! {
    struct SYNC_GROUP_REQUEST = "SyncGroupRequest" {
        group_id: string,
        generation_id: i32,
        member_id: string,
        group_instance_id: string [3..],
        protocol_type: string [5..],
        protocol_name: string [5..],
        assignments: [SYNC_GROUP_REQUEST_ASSIGNMENT],
    }

    struct SYNC_GROUP_REQUEST_ASSIGNMENT = "SyncGroupRequestAssignment" {
        member_id: string,
        assignment: bytes,
    }
}

message!(HEARTBEAT = "HeartbeatRequest", flexible from 4, root HEARTBEAT_REQUEST);

structs! {
    struct HEARTBEAT_REQUEST = "HeartbeatRequest" {
        group_id: string,
        generation_id: i32,
        member_id: string,
        group_instance_id: string [3..],
    }
}

message!(LEAVE_GROUP = "LeaveGroupRequest", flexible from 4, root LEAVE_GROUP_REQUEST);

structs! {
    struct LEAVE_GROUP_REQUEST = "LeaveGroupRequest" {
        group_id: string,
        member_id: string [..=2],
        members: [MEMBER_IDENTITY] [3..],
    }

    struct MEMBER_IDENTITY = "MemberIdentity" {
        member_id: string [3..],
        group_instance_id: string [3..],
        reason: string [5..],
    }
}
