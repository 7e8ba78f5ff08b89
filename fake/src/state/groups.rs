//! Classic consumer groups: membership, generations, the join/sync
//! rebalance protocol and committed offsets.
//!
//! A rebalance starts when a member joins or leaves. It completes when
//! every known member has sent JoinGroup again, or when the longest
//! rebalance timeout passes, at which point members that did not rejoin
//! are removed. The first member to join a rebalance leads it; the leader's
//! SyncGroup assignment is handed to every member.
//!
//! Skipped: session-timeout expiry of members that stop heartbeating (they
//! are removed only by a rebalance timing out), static membership
//! (`group.instance.id` is accepted and ignored), KIP-848 groups.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;

/// Where a group is in the rebalance protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Phase {
    /// No members.
    #[default]
    Empty,
    /// Waiting for members to (re)join.
    PreparingRebalance,
    /// Joined; waiting for the leader's assignment.
    CompletingRebalance,
    /// Assignment handed out.
    Stable,
}

/// One member.
#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub(crate) group_instance_id: Option<String>,
    pub(crate) protocols: Vec<(String, Bytes)>,
    pub(crate) rebalance_timeout_ms: i32,
    pub(crate) assignment: Bytes,
}

/// A committed offset.
#[derive(Debug, Clone)]
pub(crate) struct Committed {
    pub(crate) offset: i64,
    pub(crate) leader_epoch: i32,
    pub(crate) metadata: Option<String>,
}

/// One group.
#[derive(Debug, Default)]
pub(crate) struct Group {
    pub(crate) phase: Phase,
    pub(crate) generation: i32,
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol: Option<String>,
    pub(crate) leader: Option<String>,
    pub(crate) members: BTreeMap<String, Member>,
    /// Members that sent JoinGroup in the running rebalance.
    pub(crate) joined: BTreeSet<String>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, not yet joined.
    pub(crate) pending_ids: BTreeSet<String>,
    /// When the running rebalance started, for its timeout.
    pub(crate) rebalance_started_ms: i64,
    pub(crate) offsets: BTreeMap<(String, i32), Committed>,
}

impl Group {
    /// Starts a rebalance (if none is running).
    pub(crate) fn prepare_rebalance(&mut self, now_ms: i64) {
        if self.phase != Phase::PreparingRebalance {
            self.phase = Phase::PreparingRebalance;
            self.joined.clear();
            self.rebalance_started_ms = now_ms;
        }
    }

    /// The longest rebalance timeout of the members.
    pub(crate) fn rebalance_timeout_ms(&self) -> i64 {
        self.members
            .values()
            .map(|m| i64::from(m.rebalance_timeout_ms))
            .max()
            .unwrap_or(0)
    }

    /// Completes the running rebalance if every member rejoined, or if
    /// `force` (the timeout passed; absent members are removed). Returns
    /// whether the group is past the join phase.
    pub(crate) fn try_complete_join(&mut self, force: bool) -> bool {
        if self.phase != Phase::PreparingRebalance {
            return true;
        }
        let all_joined = self.members.keys().all(|id| self.joined.contains(id));
        if !all_joined && !force {
            return false;
        }
        let joined = std::mem::take(&mut self.joined);
        self.members.retain(|id, _| joined.contains(id));
        if self.members.is_empty() {
            self.phase = Phase::Empty;
            self.leader = None;
            self.protocol = None;
            return true;
        }
        self.generation += 1;
        if self
            .leader
            .as_ref()
            .is_none_or(|l| !self.members.contains_key(l))
        {
            self.leader = self.members.keys().next().cloned();
        }
        self.protocol = self.choose_protocol();
        for member in self.members.values_mut() {
            member.assignment = Bytes::new();
        }
        self.phase = Phase::CompletingRebalance;
        true
    }

    /// The first protocol of the leader that every member supports.
    fn choose_protocol(&self) -> Option<String> {
        let leader = self.members.get(self.leader.as_ref()?)?;
        leader
            .protocols
            .iter()
            .map(|(name, _)| name)
            .find(|name| {
                self.members
                    .values()
                    .all(|m| m.protocols.iter().any(|(n, _)| n == *name))
            })
            .cloned()
    }

    /// Removes a member and rebalances the rest.
    pub(crate) fn remove_member(&mut self, member_id: &str, now_ms: i64) -> bool {
        if self.members.remove(member_id).is_none() {
            return false;
        }
        self.joined.remove(member_id);
        if self.members.is_empty() {
            self.phase = Phase::Empty;
            self.leader = None;
            self.protocol = None;
            self.generation += 1;
        } else {
            self.prepare_rebalance(now_ms);
        }
        true
    }
}

/// All groups.
#[derive(Debug, Default)]
pub(crate) struct Groups {
    pub(crate) groups: HashMap<String, Group>,
    next_member: u64,
}

impl Groups {
    pub(crate) fn new_member_id(&mut self, client_id: &str) -> String {
        self.next_member += 1;
        format!("{client_id}-{:08x}-{}", fastrand::u32(..), self.next_member)
    }
}
