//! [`FakeCluster`]: the running brokers, and the knobs a test turns while
//! clients talk to them.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrokafka_protocol::record::RecordBatch;
use tokio::runtime::Runtime;
use tokio::sync::{watch, Notify};

use crate::config::FakeClusterBuilder;
use crate::control::{Fault, FaultId, FaultTable, ProducedBatch, RecordedRequest};
use crate::error::FakeError;
use crate::handlers::REGISTRY;
use crate::net::{lock, now_ms, run_listener, Shared};
use crate::state::{BrokerInfo, ClusterState, Settings};

/// How long [`FakeCluster::stop_broker`] waits for a listener to close.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);

struct BrokerSlot {
    id: i32,
    addr: SocketAddr,
    running: Mutex<Option<Running>>,
}

struct Running {
    shutdown: watch::Sender<bool>,
    stopped: std::sync::mpsc::Receiver<()>,
}

/// A fake Kafka cluster: N brokers on loopback ports, in this process.
///
/// Started by [`FakeCluster::builder`]; stopped when dropped (every
/// connection is closed). All methods take `&self` and may be called from
/// any thread while clients are connected; none blocks on client traffic.
/// See the [crate documentation](crate) for an example.
pub struct FakeCluster {
    shared: Arc<Shared>,
    brokers: Vec<BrokerSlot>,
    runtime: Option<Runtime>,
}

impl std::fmt::Debug for FakeCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeCluster")
            .field("bootstrap", &self.bootstrap())
            .finish_non_exhaustive()
    }
}

/// Where a partition stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartitionState {
    /// The broker leading it.
    pub leader: i32,
    /// Its leader epoch, bumped by every leader move.
    pub leader_epoch: i32,
    /// The first offset still in the log.
    pub log_start_offset: i64,
    /// The offset the next record gets (every replica is in sync, so this
    /// is also the log end offset).
    pub high_watermark: i64,
    /// The first offset of the oldest open transaction, or the high watermark.
    pub last_stable_offset: i64,
}

impl FakeCluster {
    /// A builder with the defaults: one broker on a free port, topics
    /// auto-created with one partition.
    pub fn builder() -> FakeClusterBuilder {
        FakeClusterBuilder::default()
    }

    pub(crate) fn start(config: FakeClusterBuilder) -> Result<FakeCluster, FakeError> {
        let tls = config.tls.as_ref().map(|tls| tls.acceptor()).transpose()?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ferrokafka-fake")
            .enable_all()
            .build()
            .map_err(FakeError::Runtime)?;
        let mut listeners = Vec::with_capacity(config.brokers);
        for i in 0..config.brokers {
            let port = if config.base_port == 0 {
                0
            } else {
                config.base_port + i as u16
            };
            listeners.push(bind(port)?);
        }
        let brokers: Vec<BrokerInfo> = listeners
            .iter()
            .enumerate()
            .map(|(i, (_, addr))| BrokerInfo {
                id: i as i32,
                host: addr.ip().to_string(),
                port: addr.port(),
            })
            .collect();
        let api_versions = REGISTRY
            .iter()
            .filter_map(|spec| {
                let max = config
                    .max_versions
                    .get(&spec.key)
                    .map_or(spec.max, |cap| spec.max.min(*cap));
                (max >= spec.min).then_some((spec.key, spec.min, max))
            })
            .collect();
        let settings = Settings {
            cluster_id: config.cluster_id.clone(),
            auto_create_topics: config.auto_create_topics,
            default_partitions: config.default_partitions,
            api_versions,
            plain_users: config.plain_users.clone(),
            scram_users: config.scram_users.clone(),
            scram_fault: config.scram_fault,
            oauth_tokens: config.oauth_tokens.clone(),
            oauth_jwt: config.oauth_jwt.clone(),
            oauth_validator: config.oauth_validator.clone(),
            sasl_session_lifetime: config.sasl_session_lifetime,
        };
        let mut state = ClusterState::new(settings, brokers.clone());
        for (name, partitions, configs) in &config.topics {
            state
                .create_topic(name, *partitions, 1, &[], configs.clone(), false)
                .map_err(|e| FakeError::CreateTopic {
                    topic: name.clone(),
                    message: e.message,
                })?;
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(state),
            faults: Mutex::new(FaultTable::default()),
            recorded: Mutex::new(Vec::new()),
            record_requests: config.record_requests,
            changed: Notify::new(),
            max_frame_size: config.max_frame_size,
            next_connection: AtomicU64::new(0),
            broker_up: (0..config.brokers).map(|_| AtomicBool::new(true)).collect(),
            sasl_required: !config.plain_users.is_empty()
                || !config.scram_users.is_empty()
                || !config.oauth_tokens.is_empty()
                || config.oauth_jwt.is_some()
                || config.oauth_validator.is_some(),
            internal_errors: Mutex::new(Vec::new()),
            tls,
        });
        let mut slots = Vec::with_capacity(config.brokers);
        for (i, (listener, addr)) in listeners.into_iter().enumerate() {
            let running = spawn_broker(&runtime, &shared, i, i as i32, listener);
            slots.push(BrokerSlot {
                id: i as i32,
                addr,
                running: Mutex::new(Some(running)),
            });
        }
        Ok(FakeCluster {
            shared,
            brokers: slots,
            runtime: Some(runtime),
        })
    }

    /// `host:port` of every broker, comma-separated, as `bootstrap.servers`
    /// wants it.
    pub fn bootstrap(&self) -> String {
        self.brokers
            .iter()
            .map(|b| b.addr.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The broker ids, in order.
    pub fn broker_ids(&self) -> Vec<i32> {
        self.brokers.iter().map(|b| b.id).collect()
    }

    /// The address of broker `id`.
    pub fn broker_addr(&self, id: i32) -> Option<SocketAddr> {
        self.slot(id).ok().map(|b| b.addr)
    }

    fn slot(&self, id: i32) -> Result<&BrokerSlot, FakeError> {
        self.brokers
            .iter()
            .find(|b| b.id == id)
            .ok_or_else(|| FakeError::UnknownBroker {
                id,
                known: self.broker_ids(),
            })
    }

    fn index(&self, id: i32) -> Result<usize, FakeError> {
        self.brokers
            .iter()
            .position(|b| b.id == id)
            .ok_or_else(|| FakeError::UnknownBroker {
                id,
                known: self.broker_ids(),
            })
    }

    /// Creates a topic with default configs, leaders placed round-robin.
    pub fn create_topic(&self, name: &str, partitions: i32) -> Result<(), FakeError> {
        lock(&self.shared.state)
            .create_topic(name, partitions, 1, &[], BTreeMap::new(), false)
            .map_err(|e| FakeError::CreateTopic {
                topic: name.to_owned(),
                message: e.message,
            })
    }

    /// Where `topic`-`partition` stands, if it exists.
    pub fn partition_state(&self, topic: &str, partition: i32) -> Option<PartitionState> {
        let state = lock(&self.shared.state);
        let p = state.partition(topic, partition)?;
        Some(PartitionState {
            leader: p.leader,
            leader_epoch: p.leader_epoch,
            log_start_offset: p.log.log_start_offset(),
            high_watermark: p.log.high_watermark(),
            last_stable_offset: p.log.last_stable_offset(),
        })
    }

    /// The record batches stored in `topic`-`partition`, with the offsets
    /// (and log-append times) the broker assigned.
    pub fn batches(&self, topic: &str, partition: i32) -> Result<Vec<RecordBatch>, FakeError> {
        let state = lock(&self.shared.state);
        let p = state
            .partition(topic, partition)
            .ok_or_else(|| unknown_partition(topic, partition))?;
        Ok(p.log.batches().iter().map(|b| b.batch.clone()).collect())
    }

    /// Moves the leadership of `topic`-`partition` to broker `to` and bumps
    /// its leader epoch (even if `to` already leads it, as a leader
    /// election would). Returns the new epoch. The old leader answers
    /// NOT_LEADER_OR_FOLLOWER from now on; Metadata shows the new leader.
    pub fn move_leader(&self, topic: &str, partition: i32, to: i32) -> Result<i32, FakeError> {
        self.slot(to)?;
        let mut state = lock(&self.shared.state);
        let p = state
            .partition_mut(topic, partition)
            .ok_or_else(|| unknown_partition(topic, partition))?;
        p.leader = to;
        p.leader_epoch += 1;
        if !p.replicas.contains(&to) {
            p.replicas.insert(0, to);
        }
        let epoch = p.leader_epoch;
        drop(state);
        self.shared.changed.notify_waiters();
        Ok(epoch)
    }

    /// Stops broker `id`: closes its listening port (connections are
    /// refused) and every open connection to it; requests already read but
    /// not yet handled are dropped unapplied. Its partitions keep it as
    /// leader, as librdkafka's mock does: clients see a dead broker, not a
    /// leader change (combine with [`move_leader`](Self::move_leader) for
    /// that). Returns once the port is closed. Stopping a stopped broker
    /// does nothing.
    pub fn stop_broker(&self, id: i32) -> Result<(), FakeError> {
        let index = self.index(id)?;
        self.shared.broker_up[index].store(false, Ordering::SeqCst);
        let running = lock(&self.brokers[index].running).take();
        if let Some(running) = running {
            let _ = running.shutdown.send(true);
            let _ = running.stopped.recv_timeout(STOP_TIMEOUT);
        }
        Ok(())
    }

    /// Starts a stopped broker again on the same port, with its state
    /// intact. Restarting a running broker does nothing.
    pub fn restart_broker(&self, id: i32) -> Result<(), FakeError> {
        let index = self.index(id)?;
        let slot = &self.brokers[index];
        let mut running = lock(&slot.running);
        if running.is_some() {
            return Ok(());
        }
        let (listener, _) = bind(slot.addr.port())?;
        let runtime = self.runtime.as_ref().expect("the runtime lives until drop");
        self.shared.broker_up[index].store(true, Ordering::SeqCst);
        *running = Some(spawn_broker(runtime, &self.shared, index, id, listener));
        Ok(())
    }

    /// Whether broker `id` is running.
    pub fn is_running(&self, id: i32) -> bool {
        self.index(id)
            .map(|i| self.shared.broker_up[i].load(Ordering::SeqCst))
            .unwrap_or(false)
    }

    /// Adds a fault; it is checked against every request from now on.
    pub fn inject(&self, fault: Fault) -> FaultId {
        lock(&self.shared.faults).add(fault)
    }

    /// Removes a fault; false if it was already gone (removed or retired
    /// after its last firing).
    pub fn remove_fault(&self, id: FaultId) -> bool {
        lock(&self.shared.faults).remove(id)
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// How many times a fault fired.
    pub fn fault_hits(&self, id: FaultId) -> u64 {
        lock(&self.shared.faults).hits(id)
    }

    /// Every request received so far (unless recording is off), oldest
    /// first, whatever happened to it.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.recorded).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.recorded).clear();
    }

    /// The batch headers of every recorded Produce request, in arrival
    /// order: producer id, epoch and base sequence of each attempt,
    /// retries included.
    pub fn produced_batches(&self) -> Vec<ProducedBatch> {
        lock(&self.shared.recorded)
            .iter()
            .flat_map(RecordedRequest::produced_batches)
            .collect()
    }

    /// Answers the fake could not encode (bugs in the fake). Empty in a
    /// healthy run; tests may assert so.
    pub fn internal_errors(&self) -> Vec<String> {
        lock(&self.shared.internal_errors).clone()
    }

    /// Ends the open transaction of `producer_id` on every partition with a
    /// commit or abort marker, as the transaction coordinator would after
    /// EndTxn (which the fake does not serve yet). Returns how many
    /// partitions got a marker.
    pub fn end_transaction(&self, producer_id: i64, commit: bool) -> Result<usize, FakeError> {
        let mut state = lock(&self.shared.state);
        let ended = end_open_transactions(&mut state, producer_id, commit, now_ms());
        drop(state);
        self.shared.changed.notify_waiters();
        if ended == 0 {
            Err(FakeError::NoOpenTransaction { producer_id })
        } else {
            Ok(ended)
        }
    }

    /// Deletes the records of `topic`-`partition` before `offset`, as
    /// DeleteRecords does (offset -1: everything); returns the new log
    /// start offset.
    pub fn delete_records(
        &self,
        topic: &str,
        partition: i32,
        offset: i64,
    ) -> Result<i64, FakeError> {
        let mut state = lock(&self.shared.state);
        let p = state
            .partition_mut(topic, partition)
            .ok_or_else(|| unknown_partition(topic, partition))?;
        let target = if offset < 0 {
            p.log.high_watermark()
        } else {
            offset
        };
        p.log.delete_before(target);
        let start = p.log.log_start_offset();
        p.producers.remove_before(start);
        drop(state);
        self.shared.changed.notify_waiters();
        Ok(start)
    }
}

impl Drop for FakeCluster {
    fn drop(&mut self) {
        for slot in &self.brokers {
            if let Some(running) = lock(&slot.running).take() {
                let _ = running.shutdown.send(true);
            }
        }
        if let Some(runtime) = self.runtime.take() {
            // Not `drop`: that blocks, which panics inside an async context.
            runtime.shutdown_background();
        }
    }
}

fn unknown_partition(topic: &str, partition: i32) -> FakeError {
    FakeError::UnknownPartition {
        topic: topic.to_owned(),
        partition,
    }
}

fn bind(port: u16) -> Result<(std::net::TcpListener, SocketAddr), FakeError> {
    let wanted = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let bind_error = |source| FakeError::Bind {
        addr: wanted,
        source,
    };
    let listener = std::net::TcpListener::bind(wanted).map_err(bind_error)?;
    listener.set_nonblocking(true).map_err(bind_error)?;
    let addr = listener.local_addr().map_err(bind_error)?;
    Ok((listener, addr))
}

fn spawn_broker(
    runtime: &Runtime,
    shared: &Arc<Shared>,
    index: usize,
    id: i32,
    listener: std::net::TcpListener,
) -> Running {
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (stopped_tx, stopped) = std::sync::mpsc::channel();
    runtime.spawn(run_listener(
        Arc::clone(shared),
        index,
        id,
        listener,
        shutdown_rx,
        stopped_tx,
    ));
    Running { shutdown, stopped }
}

/// Writes commit or abort markers for `producer_id`'s open transactions;
/// returns how many partitions had one.
pub(crate) fn end_open_transactions(
    state: &mut ClusterState,
    producer_id: i64,
    commit: bool,
    now: i64,
) -> usize {
    let mut ended = 0;
    for topic in state.topics.values_mut() {
        for partition in &mut topic.partitions {
            let epoch = partition
                .log
                .open_transactions()
                .find(|(pid, _)| *pid == producer_id)
                .map(|(_, epoch)| epoch);
            if let Some(epoch) = epoch {
                let leader_epoch = partition.leader_epoch;
                if partition
                    .log
                    .end_transaction(producer_id, epoch, commit, leader_epoch, now)
                    .is_some()
                {
                    ended += 1;
                }
            }
        }
    }
    ended
}
