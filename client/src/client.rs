//! The client: bootstrap, the metadata cache and its refreshes, leader
//! routing, and the connection pool. Admin operations and the reader are
//! built on it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrokafka_protocol::messages::{ApiKey, MetadataResponse};
use ferrokafka_protocol::requests::metadata_request;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::backoff::backoff_with_jitter;
use crate::broker::BrokerConnection;
use crate::config::{BrokerAddress, ClientConfig, SecurityProtocol};
use crate::error::{
    BootstrapAttempt, BootstrapError, ConnectFailure, ConnectionFailure, Error, ErrorKind, Result,
};
use crate::metadata::{Lookup, Metadata, PartitionInfo, TopicInfo};
use crate::pool::{connect_addr, connection_options, resolve, Pool};
use crate::transport::{Connector, Resolve, SystemResolver};
use crate::types::TopicPartition;
use ferrokafka_auth::Mechanism;

/// A Kafka client: cheap to clone, shared by admin calls and readers.
///
/// ```no_run
/// # async fn demo() -> Result<(), ferrokafka::Error> {
/// use ferrokafka::{Client, ClientConfig};
/// let config = ClientConfig::builder().bootstrap_servers("localhost:9092").build()?;
/// let client = Client::connect(config).await?;
/// let topics = client.admin().list_topics().await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("client_id", &self.inner.config.client_id())
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) config: ClientConfig,
    pool: Pool,
    metadata: Mutex<Metadata>,
    /// One refresh at a time; others wait for it and use its result.
    refresh: tokio::sync::Mutex<()>,
    /// Bytes fetched and not yet handed to readers' consumers, client-wide.
    pub(crate) fetch_budget: Arc<Semaphore>,
}

/// Warns (once per client) when `security.protocol=SASL_PLAINTEXT`
/// sends a secret in clear: PLAIN sends the password, OAUTHBEARER the
/// bearer token, to every broker. SCRAM sends only a proof.
fn warn_if_cleartext_sasl(config: &ClientConfig) {
    if config.security_protocol() != SecurityProtocol::SaslPlaintext {
        return;
    }
    let Some(mechanism) = config.security().sasl_mechanism() else {
        return;
    };
    let secret = match mechanism {
        Mechanism::Plain => "the password",
        Mechanism::OAuthBearer => "the bearer token",
        _ => return,
    };
    tracing::warn!(
        client_id = config.client_id(),
        mechanism = mechanism.name(),
        "security.protocol=SASL_PLAINTEXT with SASL {}: {secret} travels unencrypted to every broker, readable by anyone on the network path; use security.protocol=SASL_SSL",
        mechanism.name()
    );
}

impl Client {
    /// Connects to the cluster over TCP, or TLS when `security.protocol`
    /// is `SSL`/`SASL_SSL` (authenticating with SASL when it says so): tries every
    /// `bootstrap.servers` entry (and every address each resolves to)
    /// until one answers, for at most `bootstrap.timeout.ms`, then loads
    /// the broker list.
    ///
    /// Fails with [`ErrorKind::Bootstrap`] listing every address tried and
    /// why each failed.
    ///
    /// With `security.protocol=SASL_PLAINTEXT` and PLAIN or OAUTHBEARER,
    /// logs one warning: the password or token travels unencrypted.
    pub async fn connect(config: ClientConfig) -> Result<Client> {
        Self::connect_parts(config, None, None).await
    }

    /// As [`connect`](Self::connect), opening connections with `connector`
    /// (TCP or TLS per `security.protocol` when `None`) and resolving host
    /// names with `resolver` (the operating system's when `None`).
    pub(crate) async fn connect_parts(
        config: ClientConfig,
        connector: Option<Arc<dyn Connector>>,
        resolver: Option<Arc<dyn Resolve>>,
    ) -> Result<Client> {
        config.validate()?;
        let connector = match connector {
            Some(c) => c,
            None => crate::security::connector_for(&config)?,
        };
        let resolver = resolver.unwrap_or_else(|| Arc::new(SystemResolver));
        warn_if_cleartext_sasl(&config);
        let budget = config.fetch_buffer_max_bytes().min(Semaphore::MAX_PERMITS);
        let options = connection_options(&config)?;
        let inner = Arc::new(Inner {
            pool: Pool::new(&config, options, connector, resolver),
            metadata: Mutex::new(Metadata::default()),
            refresh: tokio::sync::Mutex::new(()),
            fetch_budget: Arc::new(Semaphore::new(budget)),
            config,
        });
        let client = Client { inner };
        client.bootstrap().await?;
        Ok(client)
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.inner.config
    }

    async fn bootstrap(&self) -> Result<()> {
        let config = &self.inner.config;
        let started = Instant::now();
        let deadline = started + config.bootstrap_timeout();
        let options = self.inner.pool.options();
        let mut attempts: Vec<(BootstrapAttempt, Repeats)> = Vec::new();
        // Failures of this round, and how many of them retrying may heal.
        // Plain counters passed in (no shared cells), so that the connect
        // future stays `Send`.
        #[derive(Default)]
        struct Round {
            failures: u32,
            transient: u32,
        }
        let mut this_round = Round::default();
        let mut record = |this_round: &mut Round,
                          server: &BrokerAddress,
                          resolved: Option<std::net::SocketAddr>,
                          failure: ConnectFailure| {
            tracing::debug!(%server, ?resolved, %failure, "bootstrap attempt failed");
            this_round.failures += 1;
            let settled = match attempts
                .iter_mut()
                .find(|(a, _)| &a.server == server && a.resolved == resolved)
            {
                Some((a, repeats)) => {
                    let settled = repeats.note(&failure);
                    if failure.telling() >= a.failure.telling() {
                        a.failure = failure.clone();
                    }
                    a.tries += 1;
                    settled
                }
                None => {
                    let mut repeats = Repeats::default();
                    let settled = repeats.note(&failure);
                    attempts.push((
                        BootstrapAttempt {
                            server: server.clone(),
                            resolved,
                            failure: failure.clone(),
                            tries: 1,
                        },
                        repeats,
                    ));
                    settled
                }
            };
            if !(failure.is_permanent() || settled) {
                this_round.transient += 1;
            }
        };
        let mut round = 0u32;
        let mut gave_up_early = false;
        loop {
            for server in config.bootstrap_servers() {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                let resolver = self.inner.pool.resolver();
                let resolved =
                    match tokio::time::timeout_at(deadline, resolve(resolver, server)).await {
                        Ok(Ok(addrs)) => addrs,
                        Ok(Err(failure)) => {
                            record(&mut this_round, server, None, failure);
                            continue;
                        }
                        Err(_) => {
                            record(
                                &mut this_round,
                                server,
                                None,
                                ConnectFailure::TimedOut(deadline - now, "the DNS lookup"),
                            );
                            continue;
                        }
                    };
                for addr in resolved {
                    let now = Instant::now();
                    if now >= deadline {
                        break;
                    }
                    let timeout = config.connection_setup_timeout().min(deadline - now);
                    match connect_addr(
                        self.inner.pool.connector(),
                        None,
                        server,
                        addr,
                        options,
                        timeout,
                    )
                    .await
                    {
                        Ok(conn) => match self.load_brokers(&conn).await {
                            Ok(()) => {
                                self.adopt_bootstrap(server, conn).await;
                                return Ok(());
                            }
                            Err(e) => {
                                let failure = match e.kind() {
                                    ErrorKind::Connection(
                                        ConnectionFailure::ClosedByPeer | ConnectionFailure::Io(_),
                                    ) => ConnectFailure::ClosedAfterApiVersions,
                                    ErrorKind::Protocol(_)
                                    | ErrorKind::Connection(_)
                                    | ErrorKind::UnexpectedResponse(_) => {
                                        ConnectFailure::Malformed(format!(
                                            "the Metadata answer: {e}"
                                        ))
                                    }
                                    _ => ConnectFailure::Refusal(e.to_string()),
                                };
                                record(&mut this_round, server, Some(addr), failure)
                            }
                        },
                        Err(failure) => record(&mut this_round, server, Some(addr), failure),
                    }
                }
            }
            round += 1;
            let now = Instant::now();
            if now >= deadline {
                break;
            }
            // Wrong credentials or an untrusted certificate do not heal
            // by retrying (and retried passwords can lock accounts), nor
            // does a peer that answered the same wrong way again and again.
            if this_round.failures > 0 && this_round.transient == 0 {
                gave_up_early = true;
                break;
            }
            this_round = Round::default();
            let wait = backoff_with_jitter(
                config.reconnect_backoff(),
                config.reconnect_backoff_max(),
                round,
            );
            tokio::time::sleep_until((now + wait).min(deadline)).await;
            if Instant::now() >= deadline {
                break;
            }
        }
        Err(Error::new(ErrorKind::Bootstrap(BootstrapError {
            waited: started.elapsed(),
            timeout: config.bootstrap_timeout(),
            gave_up_early,
            attempts: attempts.into_iter().map(|(a, _)| a).collect(),
        })))
    }

    /// Keeps the bootstrap connection if it goes to an advertised broker.
    async fn adopt_bootstrap(&self, server: &BrokerAddress, conn: BrokerConnection) {
        let id = {
            let metadata = self.metadata();
            metadata
                .brokers()
                .values()
                .find(|b| &b.address == server)
                .map(|b| b.id)
        };
        if let Some(id) = id {
            self.inner.pool.adopt(id, server.clone(), conn).await;
        }
    }

    async fn load_brokers(&self, conn: &BrokerConnection) -> Result<()> {
        let response = self.metadata_request(conn, Some(&[]), false).await?;
        if response.brokers.is_empty() {
            return Err(Error::new(ErrorKind::UnexpectedResponse(
                "the Metadata answer lists no brokers".to_owned(),
            )));
        }
        self.metadata_mut().apply(&response, Instant::now());
        Ok(())
    }

    async fn metadata_request(
        &self,
        conn: &BrokerConnection,
        topics: Option<&[Arc<str>]>,
        auto_create: bool,
    ) -> Result<MetadataResponse> {
        let version = conn.version(ApiKey::Metadata)?;
        let request = metadata_request(version, topics, auto_create)?;
        conn.send_at(&request, version, conn.request_timeout())
            .await
    }

    pub(crate) fn metadata(&self) -> std::sync::MutexGuard<'_, Metadata> {
        self.inner
            .metadata
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    fn metadata_mut(&self) -> std::sync::MutexGuard<'_, Metadata> {
        self.metadata()
    }

    /// A snapshot of the cached metadata (no refresh).
    pub fn cached_metadata(&self) -> Metadata {
        self.metadata().clone()
    }

    /// Refreshes the cached metadata of `topics` (all topics when `None`)
    /// from any reachable broker.
    pub async fn refresh_metadata(&self, topics: Option<&[Arc<str>]>) -> Result<()> {
        self.refresh_metadata_with(topics, false).await.map(drop)
    }

    /// As [`refresh_metadata`](Self::refresh_metadata); with `auto_create`
    /// the broker is asked to create topics that do not exist (as Java's
    /// producer does; the broker's `auto.create.topics.enable` decides).
    pub(crate) async fn refresh_metadata_with(
        &self,
        topics: Option<&[Arc<str>]>,
        auto_create: bool,
    ) -> Result<MetadataResponse> {
        let _one_at_a_time = self.inner.refresh.lock().await;
        let conn = self.any_connection().await?;
        let response = self.metadata_request(&conn, topics, auto_create).await?;
        self.metadata_mut().apply(&response, Instant::now());
        Ok(response)
    }

    /// Marks a topic's metadata stale (after a leadership error).
    pub fn invalidate_metadata(&self, topic: &str) {
        self.metadata_mut().invalidate(topic);
    }

    pub(crate) fn forget_topic(&self, topic: &str) {
        self.metadata_mut().remove(topic);
    }

    /// The topic's metadata, refreshed first when missing, stale or older
    /// than `metadata.max.age.ms`.
    pub async fn topic_metadata(&self, topic: &str) -> Result<TopicInfo> {
        let max_age = self.inner.config.metadata_max_age();
        let stale = match self.metadata().topic(topic, Instant::now(), max_age) {
            Lookup::Fresh(info) => return Ok(info.clone()),
            Lookup::Stale(info) => Some(info.clone()),
            Lookup::Missing => None,
        };
        match self.refresh_metadata(Some(&[Arc::from(topic)])).await {
            Ok(_) => {}
            // Fall back to what we had if the refresh failed.
            Err(e) => return stale.ok_or(e),
        }
        self.metadata()
            .topic_info(topic)
            .cloned()
            .ok_or_else(|| Error::new(ErrorKind::UnknownTopicOrPartition).with_topic(topic))
    }

    /// The leader of a partition (id and epoch) after the topic's metadata
    /// is fresh.
    pub async fn leader(&self, tp: &TopicPartition) -> Result<PartitionInfo> {
        let topic = self.topic_metadata(&tp.topic).await?;
        let partition = topic.partitions.get(&tp.partition).ok_or_else(|| {
            Error::new(ErrorKind::UnknownTopicOrPartition).with_topic_partition(tp.clone())
        })?;
        if partition.leader < 0 {
            return Err(Error::new(ErrorKind::LeaderNotAvailable).with_topic_partition(tp.clone()));
        }
        Ok(partition.clone())
    }

    /// A connection to broker `id` (from the pool, connecting if needed).
    pub async fn broker_connection(&self, id: i32) -> Result<BrokerConnection> {
        let mut address = self.metadata().broker(id).map(|b| b.address.clone());
        if address.is_none() {
            self.refresh_metadata(Some(&[])).await?;
            address = self.metadata().broker(id).map(|b| b.address.clone());
        }
        let address = address.ok_or_else(|| {
            Error::new(ErrorKind::UnexpectedResponse(format!(
                "broker {id} is not in the cluster's broker list"
            )))
        })?;
        self.inner.pool.get(id, &address).await
    }

    /// A connection to the leader of a partition.
    pub async fn leader_connection(&self, tp: &TopicPartition) -> Result<BrokerConnection> {
        let leader = self.leader(tp).await?;
        self.broker_connection(leader.leader)
            .await
            .map_err(|e| e.with_topic_partition(tp.clone()))
    }

    /// Any live connection, or a new one to some broker (falling back to
    /// the bootstrap servers when no known broker answers).
    pub async fn any_connection(&self) -> Result<BrokerConnection> {
        if let Some(conn) = self.inner.pool.any_live() {
            return Ok(conn);
        }
        let brokers: Vec<_> = self.metadata().brokers().values().cloned().collect();
        let start = if brokers.is_empty() {
            0
        } else {
            fastrand::usize(..brokers.len())
        };
        let mut last = None;
        for i in 0..brokers.len() {
            let b = &brokers[(start + i) % brokers.len()];
            match self.inner.pool.get(b.id, &b.address).await {
                Ok(conn) => return Ok(conn),
                Err(e) => last = Some(e),
            }
        }
        // Every known broker failed: go back to the bootstrap list.
        let options = self.inner.pool.options();
        for server in self.inner.config.bootstrap_servers() {
            let Ok(addrs) = resolve(self.inner.pool.resolver(), server).await else {
                continue;
            };
            for addr in addrs {
                if let Ok(conn) = connect_addr(
                    self.inner.pool.connector(),
                    None,
                    server,
                    addr,
                    options,
                    self.inner.config.connection_setup_timeout(),
                )
                .await
                {
                    return Ok(conn);
                }
            }
        }
        Err(last.unwrap_or_else(|| {
            Error::new(ErrorKind::UnexpectedResponse("no brokers known".to_owned()))
        }))
    }

    /// A connection to the controller (or any broker when it is unknown;
    /// brokers forward controller requests since Kafka 2.8).
    pub(crate) async fn controller_connection(&self) -> Result<BrokerConnection> {
        let max_age = self.inner.config.metadata_max_age();
        if self.metadata().brokers_stale(Instant::now(), max_age) {
            self.refresh_metadata(Some(&[])).await?;
        }
        let controller = self.metadata().controller();
        match controller {
            Some(id) => match self.broker_connection(id).await {
                Ok(conn) => Ok(conn),
                Err(_) => self.any_connection().await,
            },
            None => self.any_connection().await,
        }
    }

    /// Runs `attempt` until it succeeds, fails with an error that is not
    /// retriable, or `default.api.timeout.ms` has passed; refreshes the
    /// metadata of `topic` between tries when the error calls for it.
    pub(crate) async fn with_retries<T, F, Fut>(
        &self,
        topic: Option<&str>,
        mut attempt: F,
    ) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let config = &self.inner.config;
        let deadline = Instant::now() + config.default_api_timeout();
        let mut failures = 0;
        loop {
            match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retriable() && Instant::now() < deadline => {
                    failures += 1;
                    if e.needs_metadata_refresh() {
                        if let Some(topic) = topic {
                            self.invalidate_metadata(topic);
                        }
                        if let Some(tp) = e.topic_partition() {
                            self.invalidate_metadata(&tp.topic);
                        }
                    }
                    let wait = backoff_with_jitter(
                        config.retry_backoff(),
                        config.retry_backoff_max(),
                        failures,
                    );
                    tracing::debug!(error = %e, ?wait, "retrying");
                    tokio::time::sleep(
                        wait.min(deadline.saturating_duration_since(Instant::now())),
                    )
                    .await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Closes every connection cleanly (requests in flight finish first).
    pub async fn close(&self) {
        self.inner.pool.close_all().await;
    }

    /// The client-wide semaphore of buffered fetch bytes.
    pub(crate) fn fetch_budget(&self) -> &Arc<Semaphore> {
        &self.inner.fetch_budget
    }

    /// The request timeout plus `extra` (for fetches the broker may hold).
    pub(crate) fn request_timeout_plus(&self, extra: Duration) -> Duration {
        self.inner.config.request_timeout() + extra
    }
}

/// How one bootstrap address kept failing: a peer that answers the same
/// wrong way this many times in a row is not going to change.
#[derive(Debug, Default)]
struct Repeats {
    last: Option<ConnectFailure>,
    count: u32,
}

/// Identical misbehaviours in a row after which an address is given up.
const SETTLED_AFTER: u32 = 3;

impl Repeats {
    /// Notes `failure`; true once the address has misbehaved the same way
    /// [`SETTLED_AFTER`] times in a row.
    fn note(&mut self, failure: &ConnectFailure) -> bool {
        if self.last.as_ref() == Some(failure) {
            self.count += 1;
        } else {
            self.last = Some(failure.clone());
            self.count = 1;
        }
        failure.is_misbehaviour() && self.count >= SETTLED_AFTER
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send<T: Send>(_: &T) {}

    #[test]
    fn connecting_can_run_on_a_spawned_task() {
        // Compiles only while the futures are `Send` (tokio::spawn needs it).
        let connect = Client::connect(ClientConfig::default());
        assert_send(&connect);
    }

    #[test]
    fn the_same_misbehaviour_three_times_settles_an_address() {
        let mut r = Repeats::default();
        assert!(!r.note(&ConnectFailure::ClosedDuringHandshake));
        assert!(!r.note(&ConnectFailure::ClosedDuringHandshake));
        assert!(r.note(&ConnectFailure::ClosedDuringHandshake));
        // Something else in between starts over.
        let mut r = Repeats::default();
        r.note(&ConnectFailure::ClosedDuringHandshake);
        r.note(&ConnectFailure::ClosedDuringHandshake);
        assert!(!r.note(&ConnectFailure::TimedOut(Duration::from_millis(3), "x")));
        assert!(!r.note(&ConnectFailure::ClosedDuringHandshake));
        // Refused and timed out never settle: a broker may be starting.
        let mut r = Repeats::default();
        for _ in 0..10 {
            assert!(!r.note(&ConnectFailure::Refused));
        }
    }

    #[test]
    fn a_timeout_cut_by_the_deadline_tells_least() {
        let cut = ConnectFailure::TimedOut(Duration::from_millis(400), "the TCP connect");
        for more in [
            ConnectFailure::ClosedDuringHandshake,
            ConnectFailure::Malformed("x".into()),
            ConnectFailure::Refused,
            ConnectFailure::WrongProtocol("TLS"),
        ] {
            assert!(more.telling() > cut.telling(), "{more}");
        }
    }
}
