//! One file per API key, named by its number (`k00_produce.rs`, …).
//!
//! Each file opens with the versions it serves and how it behaves, exports
//! a [`ApiSpec`] with that version range and a `handle` function. The
//! ApiVersions answer is built from [`REGISTRY`], so what the fake
//! advertises is exactly what it has handlers for.

pub(crate) mod k00_produce;
pub(crate) mod k01_fetch;
pub(crate) mod k02_list_offsets;
pub(crate) mod k03_metadata;
pub(crate) mod k08_offset_commit;
pub(crate) mod k09_offset_fetch;
pub(crate) mod k10_find_coordinator;
pub(crate) mod k11_join_group;
pub(crate) mod k12_heartbeat;
pub(crate) mod k13_leave_group;
pub(crate) mod k14_sync_group;
pub(crate) mod k17_sasl_handshake;
pub(crate) mod k18_api_versions;
pub(crate) mod k19_create_topics;
pub(crate) mod k20_delete_topics;
pub(crate) mod k21_delete_records;
pub(crate) mod k22_init_producer_id;
pub(crate) mod k32_describe_configs;
pub(crate) mod k36_sasl_authenticate;
pub(crate) mod k37_create_partitions;

use std::time::Duration;

use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use kafka_protocol::protocol::StrBytes;

use crate::state::ClusterState;

/// The version range one handler serves.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ApiSpec {
    pub(crate) key: ApiKey,
    pub(crate) min: i16,
    pub(crate) max: i16,
}

/// Every API the fake serves.
pub(crate) const REGISTRY: &[ApiSpec] = &[
    k00_produce::SPEC,
    k01_fetch::SPEC,
    k02_list_offsets::SPEC,
    k03_metadata::SPEC,
    k08_offset_commit::SPEC,
    k09_offset_fetch::SPEC,
    k10_find_coordinator::SPEC,
    k11_join_group::SPEC,
    k12_heartbeat::SPEC,
    k13_leave_group::SPEC,
    k14_sync_group::SPEC,
    k17_sasl_handshake::SPEC,
    k18_api_versions::SPEC,
    k19_create_topics::SPEC,
    k20_delete_topics::SPEC,
    k21_delete_records::SPEC,
    k22_init_producer_id::SPEC,
    k32_describe_configs::SPEC,
    k36_sasl_authenticate::SPEC,
    k37_create_partitions::SPEC,
];

/// An error a fault forces on a request.
#[derive(Debug, Clone)]
pub(crate) struct ForcedError {
    pub(crate) code: i16,
    /// Only this topic-partition, for partition-scoped APIs.
    pub(crate) partition: Option<(String, i32)>,
}

impl ForcedError {
    /// The forced code for `topic`/`partition`, if it applies there.
    pub(crate) fn for_partition(&self, topic: &str, partition: i32) -> Option<i16> {
        match &self.partition {
            Some((t, p)) if t != topic || *p != partition => None,
            _ => Some(self.code),
        }
    }
}

/// Per-connection state handlers may change (SASL).
#[derive(Debug, Default)]
pub(crate) struct ConnState {
    /// Set once SASL authentication succeeded, or from the start when the
    /// cluster requires none.
    pub(crate) authenticated: bool,
    /// The mechanism chosen by SaslHandshake.
    pub(crate) mechanism: Option<String>,
    /// The authenticated user.
    pub(crate) principal: Option<String>,
    /// During a KIP-368 re-authentication: the user the connection was
    /// authenticated as, which the new exchange must authenticate again.
    pub(crate) reauthenticating_as: Option<String>,
    /// A SCRAM exchange in progress.
    pub(crate) scram: Option<ferrokafka_auth::sasl::ScramServer>,
    /// When the SASL session expires (KIP-368), if the cluster limits it.
    pub(crate) session_expires_at: Option<std::time::Instant>,
    /// When the OAUTHBEARER token used to authenticate expires.
    pub(crate) token_expires_at: Option<std::time::Instant>,
}

/// What a handler needs besides the request.
pub(crate) struct Ctx<'a> {
    pub(crate) state: &'a mut ClusterState,
    pub(crate) conn: &'a mut ConnState,
    /// The broker that received the request.
    pub(crate) broker: i32,
    /// The request's version.
    pub(crate) version: i16,
    /// The `client.id` of the request header (empty when null).
    pub(crate) client_id: String,
    /// Wall-clock milliseconds, for log-append times and the like.
    pub(crate) now_ms: i64,
    /// An error a fault forces on this request.
    pub(crate) forced: Option<ForcedError>,
    /// Whether the handler may ask to wait (Fetch long polls).
    pub(crate) may_wait: bool,
}

impl Ctx<'_> {
    /// The forced error for a whole (not partition-scoped) request.
    pub(crate) fn forced_code(&self) -> Option<i16> {
        self.forced.as_ref().map(|f| f.code)
    }

    /// The forced error for one partition of a partition-scoped request.
    pub(crate) fn forced_for(&self, topic: &str, partition: i32) -> Option<i16> {
        self.forced
            .as_ref()
            .and_then(|f| f.for_partition(topic, partition))
    }
}

/// What a handler decided.
#[derive(Debug)]
pub(crate) enum Handled {
    /// Send this answer.
    Respond(ResponseKind),
    /// Send nothing (Produce with acks=0).
    NoResponse,
    /// Send this answer, then close the connection (failed SASL).
    RespondThenClose(ResponseKind),
    /// Close the connection without answering (a protocol violation).
    Close(&'static str),
    /// Not enough data yet: call again when data arrives or at most after
    /// this long, with `may_wait` false at the deadline.
    Wait(Duration),
}

/// Applies one request.
pub(crate) fn handle(ctx: &mut Ctx<'_>, request: &RequestKind) -> Handled {
    match request {
        RequestKind::Produce(r) => k00_produce::handle(ctx, r),
        RequestKind::Fetch(r) => k01_fetch::handle(ctx, r),
        RequestKind::ListOffsets(r) => k02_list_offsets::handle(ctx, r),
        RequestKind::Metadata(r) => k03_metadata::handle(ctx, r),
        RequestKind::OffsetCommit(r) => k08_offset_commit::handle(ctx, r),
        RequestKind::OffsetFetch(r) => k09_offset_fetch::handle(ctx, r),
        RequestKind::FindCoordinator(r) => k10_find_coordinator::handle(ctx, r),
        RequestKind::JoinGroup(r) => k11_join_group::handle(ctx, r),
        RequestKind::Heartbeat(r) => k12_heartbeat::handle(ctx, r),
        RequestKind::LeaveGroup(r) => k13_leave_group::handle(ctx, r),
        RequestKind::SyncGroup(r) => k14_sync_group::handle(ctx, r),
        RequestKind::SaslHandshake(r) => k17_sasl_handshake::handle(ctx, r),
        RequestKind::ApiVersions(r) => k18_api_versions::handle(ctx, r),
        RequestKind::CreateTopics(r) => k19_create_topics::handle(ctx, r),
        RequestKind::DeleteTopics(r) => k20_delete_topics::handle(ctx, r),
        RequestKind::DeleteRecords(r) => k21_delete_records::handle(ctx, r),
        RequestKind::InitProducerId(r) => k22_init_producer_id::handle(ctx, r),
        RequestKind::DescribeConfigs(r) => k32_describe_configs::handle(ctx, r),
        RequestKind::SaslAuthenticate(r) => k36_sasl_authenticate::handle(ctx, r),
        RequestKind::CreatePartitions(r) => k37_create_partitions::handle(ctx, r),
        _ => Handled::Close("the fake cluster does not serve this API"),
    }
}

/// A `StrBytes` from any string.
pub(crate) fn str_bytes(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}

#[cfg(test)]
mod tests {
    use super::REGISTRY;

    /// Request bodies are decoded only by the bounded decoder, which knows
    /// the layouts of `SUPPORTED_VERSIONS`; a handler serving a version
    /// outside it would close every connection that uses that version.
    #[test]
    fn every_served_version_has_a_bounded_request_layout() {
        for spec in REGISTRY {
            let (min, max) = ferrokafka_protocol::bounded::supported_versions(spec.key)
                .unwrap_or_else(|| panic!("{:?} has no bounded request layout", spec.key));
            assert!(
                min <= spec.min && spec.max <= max,
                "{:?} serves v{}..=v{} but the bounded decoder covers v{min}..=v{max}",
                spec.key,
                spec.min,
                spec.max
            );
        }
    }
}
