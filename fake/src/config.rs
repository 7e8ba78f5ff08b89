//! [`FakeClusterBuilder`]: how many brokers, on which ports, with which
//! topics, users and limits.

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::messages::ApiKey;

use crate::cluster::FakeCluster;
use crate::error::FakeError;
use crate::tls::TlsSettings;

/// Builds a [`FakeCluster`]. Every setting has a default; see each method.
///
/// ```
/// use ferrokafka_fake::FakeCluster;
///
/// let cluster = FakeCluster::builder()
///     .brokers(3)
///     .topic("orders", 6)
///     .topic_with_configs("audit", 1, [("message.timestamp.type", "LogAppendTime")])
///     .build()?;
/// assert_eq!(cluster.broker_ids(), vec![0, 1, 2]);
/// # Ok::<(), ferrokafka_fake::FakeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct FakeClusterBuilder {
    pub(crate) brokers: usize,
    pub(crate) base_port: u16,
    pub(crate) topics: Vec<(String, i32, BTreeMap<String, String>)>,
    pub(crate) auto_create_topics: bool,
    pub(crate) default_partitions: i32,
    pub(crate) max_frame_size: usize,
    pub(crate) max_versions: HashMap<ApiKey, i16>,
    pub(crate) plain_users: HashMap<String, String>,
    pub(crate) scram_users: HashMap<String, ferrokafka_auth::sasl::ScramStoredCredential>,
    pub(crate) scram_fault: Option<ScramFault>,
    pub(crate) oauth_tokens: HashMap<String, String>,
    pub(crate) oauth_jwt: Option<(Vec<u8>, String)>,
    pub(crate) oauth_validator: Option<OAuthValidator>,
    pub(crate) sasl_session_lifetime: Option<std::time::Duration>,
    pub(crate) cluster_id: String,
    pub(crate) record_requests: bool,
    pub(crate) tls: Option<TlsSettings>,
}

impl Default for FakeClusterBuilder {
    fn default() -> Self {
        FakeClusterBuilder {
            brokers: 1,
            base_port: 0,
            topics: Vec::new(),
            auto_create_topics: true,
            default_partitions: 1,
            max_frame_size: 100 * 1024 * 1024,
            max_versions: HashMap::new(),
            plain_users: HashMap::new(),
            scram_users: HashMap::new(),
            scram_fault: None,
            oauth_tokens: HashMap::new(),
            oauth_jwt: None,
            oauth_validator: None,
            sasl_session_lifetime: None,
            cluster_id: "ferrokafka-fake".to_owned(),
            record_requests: true,
            tls: None,
        }
    }
}

impl FakeClusterBuilder {
    /// Number of brokers, with ids 0, 1, …; default 1.
    pub fn brokers(mut self, count: usize) -> Self {
        self.brokers = count;
        self
    }

    /// Port of broker 0; broker `i` listens on `port + i`. Default 0: every
    /// broker takes a free port (see [`FakeCluster::bootstrap`]). Brokers
    /// always listen on 127.0.0.1.
    pub fn port(mut self, port: u16) -> Self {
        self.base_port = port;
        self
    }

    /// A topic to create at start, with default configs.
    pub fn topic(self, name: impl Into<String>, partitions: i32) -> Self {
        self.topic_with_configs(name, partitions, Vec::<(String, String)>::new())
    }

    /// A topic to create at start, with topic configs (the keys
    /// DescribeConfigs lists: `message.timestamp.type`,
    /// `max.message.bytes`, `cleanup.policy`, …).
    pub fn topic_with_configs<K: Into<String>, V: Into<String>>(
        mut self,
        name: impl Into<String>,
        partitions: i32,
        configs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let configs = configs
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self.topics.push((name.into(), partitions, configs));
        self
    }

    /// Whether Metadata (and Produce) create unknown topics, as Kafka's
    /// `auto.create.topics.enable`; default true, like Kafka.
    pub fn auto_create_topics(mut self, enabled: bool) -> Self {
        self.auto_create_topics = enabled;
        self
    }

    /// Partitions of auto-created topics and of CreateTopics with -1, as
    /// Kafka's `num.partitions`; default 1.
    pub fn default_partitions(mut self, partitions: i32) -> Self {
        self.default_partitions = partitions;
        self
    }

    /// The largest request frame a broker reads; a client announcing a
    /// larger one is disconnected. Default 100 MiB, as Kafka's
    /// `socket.request.max.bytes`.
    pub fn max_frame_size(mut self, bytes: usize) -> Self {
        self.max_frame_size = bytes;
        self
    }

    /// Caps the versions of `api` the brokers advertise and accept, to
    /// impersonate an older Kafka. A cap below the fake's minimum removes
    /// the API altogether.
    pub fn max_version(mut self, api: ApiKey, version: i16) -> Self {
        self.max_versions.insert(api, version);
        self
    }

    /// Requires SASL PLAIN authentication and adds a user. Until a
    /// connection authenticates, every request but ApiVersions,
    /// SaslHandshake and SaslAuthenticate closes it, as Kafka does.
    pub fn sasl_plain_user(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.plain_users.insert(user.into(), password.into());
        self
    }

    /// Requires SASL authentication and adds a SCRAM user (4096 PBKDF2
    /// iterations) for `hash` (SCRAM-SHA-256 or SCRAM-SHA-512).
    pub fn sasl_scram_user(
        mut self,
        hash: ScramHash,
        user: impl Into<String>,
        password: &str,
    ) -> Self {
        let salt: [u8; 16] = std::array::from_fn(|_| fastrand::u8(..));
        self.scram_users.insert(
            user.into(),
            ferrokafka_auth::sasl::ScramStoredCredential::new(hash, password, &salt, 4096),
        );
        self
    }

    /// Requires SASL authentication and accepts this OAUTHBEARER bearer
    /// token as `principal` (RFC 7628 client message; extensions allowed).
    pub fn sasl_oauthbearer_token(
        mut self,
        token: impl Into<String>,
        principal: impl Into<String>,
    ) -> Self {
        self.oauth_tokens.insert(token.into(), principal.into());
        self
    }

    /// Requires SASL authentication and accepts OAUTHBEARER JWTs signed
    /// with HS256 under `key` for `audience` (signature, `exp` and `aud`
    /// checked; `sub` is the principal). The SASL session ends when the
    /// token expires (KIP-368), or earlier with
    /// [`sasl_session_lifetime`](Self::sasl_session_lifetime).
    pub fn sasl_oauthbearer_jwt(mut self, key: &[u8], audience: impl Into<String>) -> Self {
        self.oauth_jwt = Some((key.to_vec(), audience.into()));
        self
    }

    /// Requires SASL authentication and accepts the OAUTHBEARER tokens
    /// `validator` accepts: it gets the bearer token and returns the
    /// principal, or `None` to refuse the token (the client then sees
    /// SASL_AUTHENTICATION_FAILED with `{"status":"invalid_token"}`).
    /// Tokens listed with [`sasl_oauthbearer_token`](Self::sasl_oauthbearer_token)
    /// are checked first, then the validator, then
    /// [`sasl_oauthbearer_jwt`](Self::sasl_oauthbearer_jwt).
    ///
    /// ```
    /// # use ferrokafka_fake::FakeCluster;
    /// let cluster = FakeCluster::builder()
    ///     .sasl_oauthbearer_validator(|token| {
    ///         token.strip_prefix("issued-for-").map(str::to_owned)
    ///     })
    ///     .build()?;
    /// # Ok::<(), ferrokafka_fake::FakeError>(())
    /// ```
    pub fn sasl_oauthbearer_validator(
        mut self,
        validator: impl Fn(&str) -> Option<String> + Send + Sync + 'static,
    ) -> Self {
        self.oauth_validator = Some(OAuthValidator(std::sync::Arc::new(validator)));
        self
    }

    /// Grants SASL sessions this lifetime (`session_lifetime_ms` in
    /// SaslAuthenticate v1+) and closes a connection that sends a request
    /// after its session expired, as Kafka does with
    /// `connections.max.reauth.ms` (KIP-368).
    pub fn sasl_session_lifetime(mut self, lifetime: std::time::Duration) -> Self {
        self.sasl_session_lifetime = Some(lifetime);
        self
    }

    /// Makes the SCRAM server misbehave, to test what clients refuse.
    pub fn scram_fault(mut self, fault: ScramFault) -> Self {
        self.scram_fault = Some(fault);
        self
    }

    /// The cluster id Metadata reports; default `ferrokafka-fake`.
    pub fn cluster_id(mut self, id: impl Into<String>) -> Self {
        self.cluster_id = id.into();
        self
    }

    /// Whether to keep every request for [`FakeCluster::requests`]; default
    /// true. Turn it off for long runs: records keep their payloads.
    pub fn record_requests(mut self, enabled: bool) -> Self {
        self.record_requests = enabled;
        self
    }

    /// Serves TLS only: every broker listener completes a TLS handshake
    /// (rustls, ring provider, TLS 1.2 and 1.3) before reading a request,
    /// and closes connections that do not, so a plaintext client fails
    /// its first request. `cert_chain_pem` holds the server certificate
    /// first, then any intermediates; `key_pem` its private key (PKCS#8,
    /// PKCS#1 or SEC1). Brokers advertise `127.0.0.1`, so the certificate
    /// must name that IP address for clients that check host names.
    /// Combined with a `sasl_*` user, the listeners are `SASL_SSL`.
    /// Errors in the PEM surface from [`build`](Self::build) as
    /// [`FakeError::Config`]; the key never appears in Debug output or
    /// errors.
    ///
    /// ```no_run
    /// use ferrokafka_fake::FakeCluster;
    ///
    /// let cert = std::fs::read_to_string("server.pem")?;
    /// let key = std::fs::read_to_string("server.key")?;
    /// let ca = std::fs::read_to_string("ca.pem")?;
    /// let cluster = FakeCluster::builder()
    ///     .tls(cert, key)
    ///     // Optional: require client certificates signed by this CA (mTLS).
    ///     .tls_client_ca(ca)
    ///     .build()?;
    /// // Clients: security.protocol=SSL, ssl.ca.location=ca.pem, and for
    /// // mTLS ssl.certificate.location / ssl.key.location.
    /// println!("bootstrap.servers={}", cluster.bootstrap());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tls(mut self, cert_chain_pem: impl Into<String>, key_pem: impl Into<String>) -> Self {
        let client_ca = match self.tls.take() {
            Some(TlsSettings::Pem { client_ca, .. }) => client_ca,
            _ => None,
        };
        self.tls = Some(TlsSettings::Pem {
            cert_chain: cert_chain_pem.into(),
            key: key_pem.into(),
            client_ca,
        });
        self
    }

    /// With [`tls`](Self::tls): requires every client to present a
    /// certificate signed by a CA in `ca_pem` (one or more PEM
    /// certificates), as Kafka's `ssl.client.auth=required`. A client
    /// without one fails the TLS handshake. Without `tls` (and after
    /// [`tls_server_config`](Self::tls_server_config), which it replaces),
    /// [`build`](Self::build) fails with [`FakeError::Config`].
    pub fn tls_client_ca(mut self, ca_pem: impl Into<String>) -> Self {
        match &mut self.tls {
            Some(TlsSettings::Pem { client_ca, .. }) => *client_ca = Some(ca_pem.into()),
            _ => {
                self.tls = Some(TlsSettings::Pem {
                    cert_chain: String::new(),
                    key: String::new(),
                    client_ca: Some(ca_pem.into()),
                })
            }
        }
        self
    }

    /// Serves TLS only, with a rustls configuration of your own (client
    /// verification, versions, ALPN, key logging …), in place of
    /// [`tls`](Self::tls) and [`tls_client_ca`](Self::tls_client_ca).
    pub fn tls_server_config(mut self, config: std::sync::Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(TlsSettings::Config(config));
        self
    }

    /// Starts the cluster: binds every broker's port and serves requests on
    /// the cluster's own runtime threads, so it works from synchronous
    /// tests and from inside any async runtime alike.
    pub fn build(self) -> Result<FakeCluster, FakeError> {
        if self.brokers == 0 {
            return Err(FakeError::Config(
                "a cluster needs at least one broker".to_owned(),
            ));
        }
        if self.default_partitions < 1 {
            return Err(FakeError::Config(format!(
                "default_partitions must be at least 1, not {}",
                self.default_partitions
            )));
        }
        if self.base_port != 0 && usize::from(self.base_port) + self.brokers - 1 > 65535 {
            return Err(FakeError::Config(format!(
                "{} brokers from port {} run past port 65535",
                self.brokers, self.base_port
            )));
        }
        if let Some(TlsSettings::Pem { cert_chain, .. }) = &self.tls {
            if cert_chain.is_empty() {
                return Err(FakeError::Config(
                    "tls_client_ca needs a server identity too: call tls(cert_chain_pem, key_pem)"
                        .to_owned(),
                ));
            }
        }
        FakeCluster::start(self)
    }
}

pub use ferrokafka_auth::sasl::ScramHash;

/// A SCRAM server misbehaviour ([`FakeClusterBuilder::scram_fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ScramFault {
    /// The server-first message carries a nonce that does not extend the
    /// client's (a replay or a man in the middle).
    BadNonce,
    /// The server-final message carries a wrong signature (a server that
    /// does not know the password).
    BadServerSignature,
    /// The server-first message asks for this many PBKDF2 iterations.
    Iterations(u64),
}

/// A user-supplied OAUTHBEARER token check, set with
/// [`FakeClusterBuilder::sasl_oauthbearer_validator`].
#[derive(Clone)]
pub(crate) struct OAuthValidator(pub(crate) std::sync::Arc<ValidateToken>);

/// Bearer token in, principal out (`None` refuses the token).
type ValidateToken = dyn Fn(&str) -> Option<String> + Send + Sync;

impl std::fmt::Debug for OAuthValidator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OAuthValidator(..)")
    }
}
