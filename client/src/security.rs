//! The security section of the configuration: TLS (`ssl.*`) and SASL
//! (`sasl.*`) settings under the Java client's names, plus librdkafka's
//! `ssl.ca.location`-style and `sasl.username`/`sasl.password` aliases,
//! and the TLS [`Connector`](crate::transport::Connector) built from them.
//!
//! ```
//! use ferrokafka::ClientConfig;
//! let config = ClientConfig::builder()
//!     .bootstrap_servers("broker:9093")
//!     .property("security.protocol", "SASL_SSL")
//!     .property("sasl.mechanism", "SCRAM-SHA-512")
//!     .property(
//!         "sasl.jaas.config",
//!         r#"org.apache.kafka.common.security.scram.ScramLoginModule required username="app" password="s3cret";"#,
//!     )
//!     .property("ssl.truststore.location", "/etc/kafka/ca.pem")
//!     .property("ssl.truststore.type", "PEM")
//!     .build()?;
//! assert!(!format!("{config:?}").contains("s3cret"));
//! # Ok::<(), ferrokafka::ConfigError>(())
//! ```

use std::path::PathBuf;
use std::sync::Arc;

use std::time::Duration;

use ferrokafka_auth::entra::LoginSettings;
use ferrokafka_auth::jaas::{JaasConfig, LoginModule};
use ferrokafka_auth::redact::redact_url;
use ferrokafka_auth::sasl::OAuthBearer;
use ferrokafka_auth::sasl::ScramHash;
use ferrokafka_auth::tls::{PemSource, StoreType, TlsSettings};
use ferrokafka_auth::token::{EntraClientCredentials, EntraConfigError, TokenError, TokenProvider};
use ferrokafka_auth::{Credentials, Mechanism, SaslClient, Secret};

use crate::config::{ConfigError, SecurityProtocol};
use crate::oauth::TokenEndpointTrust;

/// The property names of the security section.
pub mod keys {
    /// `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` or `OAUTHBEARER`.
    pub const SASL_MECHANISM: &str = "sasl.mechanism";
    /// The Java login-module string (`PlainLoginModule`, `ScramLoginModule`,
    /// `OAuthBearerLoginModule`; any package prefix).
    pub const SASL_JAAS_CONFIG: &str = "sasl.jaas.config";
    /// librdkafka's user name for PLAIN/SCRAM (instead of the JAAS string).
    pub const SASL_USERNAME: &str = "sasl.username";
    /// librdkafka's password for PLAIN/SCRAM.
    pub const SASL_PASSWORD: &str = "sasl.password";
    /// OAUTHBEARER token endpoint (client-credentials grant).
    pub const SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL: &str = "sasl.oauthbearer.token.endpoint.url";
    /// ferrokafka's own: CA certificates (PEM file) trusted for the token
    /// endpoint, when it is not signed by a public root or the Kafka CA.
    pub const SASL_OAUTHBEARER_SSL_CA_LOCATION: &str = "sasl.oauthbearer.ssl.ca.location";
    /// The Java login callback handler class.
    pub const SASL_LOGIN_CALLBACK_HANDLER_CLASS: &str = "sasl.login.callback.handler.class";
    /// CA certificates: a PEM file (with `ssl.truststore.type=PEM`).
    pub const SSL_TRUSTSTORE_LOCATION: &str = "ssl.truststore.location";
    /// Trust store password (JKS/PKCS#12 only; ignored for PEM).
    pub const SSL_TRUSTSTORE_PASSWORD: &str = "ssl.truststore.password";
    /// `PEM` (default here), `PKCS12`, or `JKS` (refused with the
    /// `keytool` command converting it to PKCS#12).
    pub const SSL_TRUSTSTORE_TYPE: &str = "ssl.truststore.type";
    /// CA certificates as inline PEM text.
    pub const SSL_TRUSTSTORE_CERTIFICATES: &str = "ssl.truststore.certificates";
    /// Client certificate chain and key: a PEM file, for mutual TLS.
    pub const SSL_KEYSTORE_LOCATION: &str = "ssl.keystore.location";
    /// Key store password (the key's passphrase for PEM).
    pub const SSL_KEYSTORE_PASSWORD: &str = "ssl.keystore.password";
    /// `PEM`, `JKS` or `PKCS12`.
    pub const SSL_KEYSTORE_TYPE: &str = "ssl.keystore.type";
    /// Client private key as inline PEM text.
    pub const SSL_KEYSTORE_KEY: &str = "ssl.keystore.key";
    /// Client certificate chain as inline PEM text.
    pub const SSL_KEYSTORE_CERTIFICATE_CHAIN: &str = "ssl.keystore.certificate.chain";
    /// The private key's passphrase.
    pub const SSL_KEY_PASSWORD: &str = "ssl.key.password";
    /// `https` (default) verifies the broker's host name; the empty string
    /// disables the check (logged as a warning, once per client).
    pub const SSL_ENDPOINT_IDENTIFICATION_ALGORITHM: &str = "ssl.endpoint.identification.algorithm";
    /// librdkafka: CA PEM file.
    pub const SSL_CA_LOCATION: &str = "ssl.ca.location";
    /// librdkafka: client certificate PEM file.
    pub const SSL_CERTIFICATE_LOCATION: &str = "ssl.certificate.location";
    /// librdkafka: client key PEM file.
    pub const SSL_KEY_LOCATION: &str = "ssl.key.location";
    /// `TLSv1.2`, `TLSv1.3`, `TLS` or `SSL`: accepted; rustls always
    /// negotiates TLS 1.3 or 1.2.
    pub const SSL_PROTOCOL: &str = "ssl.protocol";

    /// `sasl.login.refresh.window.factor` (0.5 to 1.0, default 0.8): refresh
    /// an OAUTHBEARER token after this fraction of its lifetime.
    pub const SASL_LOGIN_REFRESH_WINDOW_FACTOR: &str = "sasl.login.refresh.window.factor";
    /// `sasl.login.refresh.window.jitter` (0 to 0.25, default 0.05): plus
    /// up to this fraction more, at random.
    pub const SASL_LOGIN_REFRESH_WINDOW_JITTER: &str = "sasl.login.refresh.window.jitter";
    /// `sasl.login.refresh.min.period.seconds` (0 to 900, default 60): the
    /// least time between fetching a token and refreshing it.
    pub const SASL_LOGIN_REFRESH_MIN_PERIOD_SECONDS: &str = "sasl.login.refresh.min.period.seconds";
    /// `sasl.login.refresh.buffer.seconds` (0 to 3600, default 300): the
    /// least lifetime left on a token when it is refreshed.
    pub const SASL_LOGIN_REFRESH_BUFFER_SECONDS: &str = "sasl.login.refresh.buffer.seconds";
    /// `sasl.login.connect.timeout.ms`: reaching the token endpoint (TCP +
    /// TLS); default 30 s.
    pub const SASL_LOGIN_CONNECT_TIMEOUT_MS: &str = "sasl.login.connect.timeout.ms";
    /// `sasl.login.read.timeout.ms`: sending the token request and reading
    /// the answer; default 30 s.
    pub const SASL_LOGIN_READ_TIMEOUT_MS: &str = "sasl.login.read.timeout.ms";
    /// `sasl.login.retry.backoff.ms`: the first wait after a failed token
    /// fetch (default 500 ms here; Java's is 100 ms), doubling up to...
    pub const SASL_LOGIN_RETRY_BACKOFF_MS: &str = "sasl.login.retry.backoff.ms";
    /// `sasl.login.retry.backoff.max.ms`: ...this (default 60 s here; Java's
    /// is 10 s).
    pub const SASL_LOGIN_RETRY_BACKOFF_MAX_MS: &str = "sasl.login.retry.backoff.max.ms";
    /// `sasl.oauthbearer.scope.claim.name`: accepted for compatibility and
    /// has no effect (the Java client uses it to check the fetched token's
    /// claims; here the broker checks the token).
    pub const SASL_OAUTHBEARER_SCOPE_CLAIM_NAME: &str = "sasl.oauthbearer.scope.claim.name";
    /// `sasl.oauthbearer.sub.claim.name`: accepted for compatibility and has
    /// no effect (as `sasl.oauthbearer.scope.claim.name`).
    pub const SASL_OAUTHBEARER_SUB_CLAIM_NAME: &str = "sasl.oauthbearer.sub.claim.name";

    /// Every key of the section.
    pub const ALL: [&str; 33] = [
        SASL_LOGIN_REFRESH_WINDOW_FACTOR,
        SASL_LOGIN_REFRESH_WINDOW_JITTER,
        SASL_LOGIN_REFRESH_MIN_PERIOD_SECONDS,
        SASL_LOGIN_REFRESH_BUFFER_SECONDS,
        SASL_LOGIN_CONNECT_TIMEOUT_MS,
        SASL_LOGIN_READ_TIMEOUT_MS,
        SASL_LOGIN_RETRY_BACKOFF_MS,
        SASL_LOGIN_RETRY_BACKOFF_MAX_MS,
        SASL_OAUTHBEARER_SCOPE_CLAIM_NAME,
        SASL_OAUTHBEARER_SUB_CLAIM_NAME,
        SASL_MECHANISM,
        SASL_OAUTHBEARER_SSL_CA_LOCATION,
        SASL_JAAS_CONFIG,
        SASL_USERNAME,
        SASL_PASSWORD,
        SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL,
        SASL_LOGIN_CALLBACK_HANDLER_CLASS,
        SSL_TRUSTSTORE_LOCATION,
        SSL_TRUSTSTORE_PASSWORD,
        SSL_TRUSTSTORE_TYPE,
        SSL_TRUSTSTORE_CERTIFICATES,
        SSL_KEYSTORE_LOCATION,
        SSL_KEYSTORE_PASSWORD,
        SSL_KEYSTORE_TYPE,
        SSL_KEYSTORE_KEY,
        SSL_KEYSTORE_CERTIFICATE_CHAIN,
        SSL_KEY_PASSWORD,
        SSL_ENDPOINT_IDENTIFICATION_ALGORITHM,
        SSL_CA_LOCATION,
        SSL_CERTIFICATE_LOCATION,
        SSL_KEY_LOCATION,
        SSL_PROTOCOL,
        // Kept last: librdkafka's spelling of the mechanism key.
        SASL_MECHANISMS,
    ];
    /// librdkafka's `sasl.mechanisms`.
    pub const SASL_MECHANISMS: &str = "sasl.mechanisms";
}

/// The `&'static` name of a key of this section.
fn key_name(key: &str) -> &'static str {
    keys::ALL
        .iter()
        .find(|k| **k == key)
        .copied()
        .unwrap_or("sasl.login")
}

/// The security settings as given (validated by
/// [`ClientConfig::validate`](crate::ClientConfig::validate)).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SecurityConfig {
    sasl_mechanism: Option<Mechanism>,
    jaas: Option<JaasConfig>,
    username: Option<String>,
    password: Option<Secret>,
    token_endpoint: Option<TokenEndpointUrl>,
    token_endpoint_ca: Option<PathBuf>,
    callback_handler: Option<String>,
    tls: TlsSettings,
    tls_keys_set: Vec<&'static str>,
    ssl_protocol: Option<String>,
    token_provider: Option<ProviderHandle>,
    /// `sasl.login.*`: token refresh, retry and timeouts.
    login: LoginSettings,
    /// The host of the first bootstrap server (the default Entra scope's).
    bootstrap_host: Option<String>,
    /// The Entra ID provider, made once and shared by every connection
    /// (so its token cache is too).
    entra_provider: Arc<std::sync::OnceLock<ProviderHandle>>,
}

/// `sasl.oauthbearer.token.endpoint.url`, shown (`Debug`) without
/// user information or query values.
#[derive(Clone, PartialEq, Eq)]
struct TokenEndpointUrl(String);

impl std::fmt::Debug for TokenEndpointUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", redact_url(&self.0))
    }
}

/// A shared [`TokenProvider`], compared by identity.
#[derive(Clone, Debug)]
pub struct ProviderHandle(pub Arc<dyn TokenProvider>);

impl PartialEq for ProviderHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ProviderHandle {}

/// How connections authenticate, resolved from the settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SaslAuth {
    /// PLAIN.
    Plain(Credentials),
    /// SCRAM-SHA-256 / SCRAM-SHA-512.
    Scram(ScramHash, Credentials),
    /// OAUTHBEARER with a token from `provider` and SASL extensions
    /// (JAAS options `extension_<name>="<value>"`).
    OAuthBearer {
        /// Where tokens come from.
        provider: ProviderHandle,
        /// SASL extensions (KIP-342).
        extensions: Vec<(String, String)>,
    },
}

impl SaslAuth {
    /// The mechanism sent in `SaslHandshake`.
    pub fn mechanism(&self) -> Mechanism {
        match self {
            SaslAuth::Plain(_) => Mechanism::Plain,
            SaslAuth::Scram(hash, _) => hash.mechanism(),
            SaslAuth::OAuthBearer { .. } => Mechanism::OAuthBearer,
        }
    }
    /// A fresh exchange for one connection (OAUTHBEARER asks its provider
    /// for a token first).
    pub async fn client(&self) -> Result<SaslClient, TokenError> {
        match self {
            SaslAuth::Plain(c) => Ok(SaslClient::plain(c)),
            SaslAuth::Scram(hash, c) => Ok(SaslClient::scram(*hash, c)),
            SaslAuth::OAuthBearer {
                provider,
                extensions,
            } => {
                let token = provider.0.token().await?;
                let invalid = |e: ferrokafka_auth::sasl::OAuthBearerError| {
                    TokenError::Provider(e.to_string())
                };
                let mut message = OAuthBearer::new(token.value).map_err(invalid)?;
                for (k, v) in extensions {
                    message = message.extension(k, v).map_err(invalid)?;
                }
                Ok(SaslClient::oauthbearer(message))
            }
        }
    }
    /// The user name (for errors and logs; `(token)` for OAUTHBEARER).
    pub fn username(&self) -> &str {
        match self {
            SaslAuth::Plain(c) | SaslAuth::Scram(_, c) => &c.username,
            SaslAuth::OAuthBearer { .. } => "(token)",
        }
    }
}

fn mark(set: &mut Vec<&'static str>, key: &'static str) {
    if !set.contains(&key) {
        set.push(key);
    }
}

fn store_type(key: &'static str, value: &str) -> Result<StoreType, ConfigError> {
    StoreType::parse(value).ok_or_else(|| ConfigError::InvalidValue {
        key,
        value: value.to_owned(),
        expected: "one of PEM, JKS, PKCS12".to_owned(),
    })
}

fn parse_fraction(key: &'static str, value: &str, min: f64, max: f64) -> Result<f64, ConfigError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| ConfigError::InvalidValue {
            key,
            value: value.to_owned(),
            expected: format!("a number from {min} to {max}"),
        })
}

fn parse_count(key: &'static str, value: &str, min: u64, max: u64) -> Result<u64, ConfigError> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|v| (min..=max).contains(v))
        .ok_or_else(|| ConfigError::InvalidValue {
            key,
            value: value.to_owned(),
            expected: format!("a whole number from {min} to {max}"),
        })
}

impl SecurityConfig {
    /// Sets one key; `Ok(false)` when the key is not in this section.
    pub(crate) fn set(&mut self, key: &str, value: &str) -> Result<bool, ConfigError> {
        use keys::*;
        let path = |v: &str| Some(PemSource::File(PathBuf::from(v.trim())));
        let inline = |v: &str| Some(PemSource::Inline(Secret::new(v)));
        match key {
            SASL_MECHANISM | SASL_MECHANISMS => {
                let m = Mechanism::parse(value).ok_or_else(|| ConfigError::InvalidValue {
                    key: SASL_MECHANISM,
                    value: value.to_owned(),
                    expected: "one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512, OAUTHBEARER (GSSAPI/Kerberos is not supported)".to_owned(),
                })?;
                self.sasl_mechanism = Some(m);
            }
            SASL_JAAS_CONFIG => self.jaas = Some(JaasConfig::parse(value)?),
            SASL_USERNAME => self.username = Some(value.to_owned()),
            SASL_PASSWORD => self.password = Some(Secret::new(value)),
            SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL => {
                self.token_endpoint = Some(TokenEndpointUrl(value.trim().to_owned()))
            }
            SASL_OAUTHBEARER_SSL_CA_LOCATION => {
                self.token_endpoint_ca = Some(PathBuf::from(value.trim()))
            }
            SASL_LOGIN_CALLBACK_HANDLER_CLASS => {
                self.callback_handler = Some(value.trim().to_owned())
            }
            // Java's ranges (SaslConfigs).
            SASL_LOGIN_REFRESH_WINDOW_FACTOR => {
                self.login.refresh_window_factor = parse_fraction(key_name(key), value, 0.5, 1.0)?
            }
            SASL_LOGIN_REFRESH_WINDOW_JITTER => {
                self.login.refresh_window_jitter = parse_fraction(key_name(key), value, 0.0, 0.25)?
            }
            SASL_LOGIN_REFRESH_MIN_PERIOD_SECONDS => {
                self.login.refresh_min_period =
                    Duration::from_secs(parse_count(key_name(key), value, 0, 900)?)
            }
            SASL_LOGIN_REFRESH_BUFFER_SECONDS => {
                self.login.refresh_buffer =
                    Duration::from_secs(parse_count(key_name(key), value, 0, 3600)?)
            }
            SASL_LOGIN_CONNECT_TIMEOUT_MS => {
                self.login.connect_timeout = Some(Duration::from_millis(parse_count(
                    key_name(key),
                    value,
                    1,
                    i32::MAX as u64,
                )?))
            }
            SASL_LOGIN_READ_TIMEOUT_MS => {
                self.login.read_timeout = Some(Duration::from_millis(parse_count(
                    key_name(key),
                    value,
                    1,
                    i32::MAX as u64,
                )?))
            }
            SASL_LOGIN_RETRY_BACKOFF_MS => {
                self.login.retry_backoff =
                    Duration::from_millis(parse_count(key_name(key), value, 0, i64::MAX as u64)?)
            }
            SASL_LOGIN_RETRY_BACKOFF_MAX_MS => {
                self.login.retry_backoff_max =
                    Duration::from_millis(parse_count(key_name(key), value, 0, i64::MAX as u64)?)
            }
            SASL_OAUTHBEARER_SCOPE_CLAIM_NAME | SASL_OAUTHBEARER_SUB_CLAIM_NAME => {
                if value.trim().is_empty() {
                    return Err(ConfigError::InvalidValue {
                        key: key_name(key),
                        value: value.to_owned(),
                        expected: "a claim name (it has no effect here: the broker checks the token's claims)".to_owned(),
                    });
                }
                tracing::debug!(
                    key,
                    "accepted for compatibility; the client does not check the token's claims"
                );
            }
            SSL_TRUSTSTORE_LOCATION | SSL_CA_LOCATION => {
                mark(&mut self.tls_keys_set, SSL_TRUSTSTORE_LOCATION);
                self.tls.ca = path(value);
            }
            SSL_TRUSTSTORE_CERTIFICATES => {
                mark(&mut self.tls_keys_set, SSL_TRUSTSTORE_CERTIFICATES);
                self.tls.ca = inline(value);
            }
            SSL_TRUSTSTORE_PASSWORD => {
                // PKCS#12 stores have one; PEM trust needs none.
                mark(&mut self.tls_keys_set, SSL_TRUSTSTORE_PASSWORD);
                self.tls.truststore_password = (!value.is_empty()).then(|| Secret::new(value));
            }
            SSL_TRUSTSTORE_TYPE => self.tls.ca_type = store_type(SSL_TRUSTSTORE_TYPE, value)?,
            SSL_KEYSTORE_LOCATION | SSL_CERTIFICATE_LOCATION => {
                mark(&mut self.tls_keys_set, SSL_KEYSTORE_LOCATION);
                self.tls.client_cert = path(value);
            }
            SSL_KEYSTORE_CERTIFICATE_CHAIN => {
                mark(&mut self.tls_keys_set, SSL_KEYSTORE_CERTIFICATE_CHAIN);
                self.tls.client_cert = inline(value);
            }
            SSL_KEYSTORE_KEY => {
                mark(&mut self.tls_keys_set, SSL_KEYSTORE_KEY);
                self.tls.client_key = inline(value);
            }
            SSL_KEY_LOCATION => {
                mark(&mut self.tls_keys_set, SSL_KEY_LOCATION);
                self.tls.client_key = path(value);
            }
            SSL_KEYSTORE_TYPE => self.tls.keystore_type = store_type(SSL_KEYSTORE_TYPE, value)?,
            SSL_KEYSTORE_PASSWORD => {
                self.tls.keystore_password = (!value.is_empty()).then(|| Secret::new(value));
            }
            SSL_KEY_PASSWORD => {
                self.tls.key_password = (!value.is_empty()).then(|| Secret::new(value));
            }
            SSL_ENDPOINT_IDENTIFICATION_ALGORITHM => {
                self.tls.verify_hostname = match value.trim() {
                    "" => false,
                    v if v.eq_ignore_ascii_case("https") => true,
                    _ => return Err(ConfigError::InvalidValue {
                        key: SSL_ENDPOINT_IDENTIFICATION_ALGORITHM,
                        value: value.to_owned(),
                        expected:
                            "`https` (verify the broker's host name) or the empty string (do not)"
                                .to_owned(),
                    }),
                }
            }
            SSL_PROTOCOL => {
                let ok = ["TLSv1.2", "TLSv1.3", "TLS", "SSL"];
                if !ok.iter().any(|p| p.eq_ignore_ascii_case(value.trim())) {
                    return Err(ConfigError::InvalidValue {
                        key: SSL_PROTOCOL,
                        value: value.to_owned(),
                        expected: "TLSv1.3, TLSv1.2, TLS or SSL (rustls negotiates TLS 1.3 or 1.2; older versions are refused)".to_owned(),
                    });
                }
                self.ssl_protocol = Some(value.trim().to_owned());
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The TLS settings.
    pub fn tls(&self) -> &TlsSettings {
        &self.tls
    }

    /// Whether host-name verification is on.
    pub fn verify_hostname(&self) -> bool {
        self.tls.verify_hostname
    }

    /// `sasl.login.*`: how OAUTHBEARER tokens are refreshed and fetched.
    pub fn login(&self) -> &LoginSettings {
        &self.login
    }

    /// Remembers the host of the first bootstrap server (the default
    /// Entra scope is `https://<that host>/.default`).
    pub(crate) fn set_bootstrap_host(&mut self, host: Option<String>) {
        self.bootstrap_host = host;
    }

    /// Checks the section against `security.protocol`.
    pub(crate) fn validate(&self, protocol: SecurityProtocol) -> Result<(), ConfigError> {
        use crate::config::keys::SECURITY_PROTOCOL;
        if self.login.retry_backoff_max < self.login.retry_backoff {
            return Err(ConfigError::Conflict {
                key: keys::SASL_LOGIN_RETRY_BACKOFF_MAX_MS,
                value: self.login.retry_backoff_max.as_millis().to_string(),
                other: keys::SASL_LOGIN_RETRY_BACKOFF_MS,
                other_value: self.login.retry_backoff.as_millis().to_string(),
                hint: "the longest backoff cannot be shorter than the first",
            });
        }
        if !protocol.uses_sasl() {
            let given = [
                (keys::SASL_MECHANISM, self.sasl_mechanism.is_some()),
                (keys::SASL_JAAS_CONFIG, self.jaas.is_some()),
                (keys::SASL_USERNAME, self.username.is_some()),
            ];
            if let Some((key, _)) = given.iter().find(|(_, set)| *set) {
                return Err(ConfigError::Conflict {
                    key,
                    value: "(set)".to_owned(),
                    other: SECURITY_PROTOCOL,
                    other_value: protocol.name().to_owned(),
                    hint: "SASL settings do nothing without SASL: set security.protocol to SASL_SSL or SASL_PLAINTEXT, or remove them",
                });
            }
        } else {
            self.sasl_auth()?;
        }
        if !protocol.uses_tls() {
            if let Some(key) = self.tls_keys_set.first() {
                return Err(ConfigError::Conflict {
                    key,
                    value: "(set)".to_owned(),
                    other: SECURITY_PROTOCOL,
                    other_value: protocol.name().to_owned(),
                    hint: "TLS settings do nothing without TLS: set security.protocol to SSL or SASL_SSL, or remove them",
                });
            }
        }
        Ok(())
    }

    /// The SASL mechanism: `sasl.mechanism`, or without it the one the
    /// `sasl.jaas.config` login module means (PLAIN, OAUTHBEARER).
    pub fn sasl_mechanism(&self) -> Option<Mechanism> {
        match (
            self.sasl_mechanism,
            self.jaas.as_ref().map(JaasConfig::module),
        ) {
            (Some(m), _) => Some(m),
            // Java defaults to GSSAPI; a login module tells what was meant.
            (None, Some(LoginModule::Plain)) => Some(Mechanism::Plain),
            (None, Some(LoginModule::OAuthBearer)) => Some(Mechanism::OAuthBearer),
            (None, _) => None,
        }
    }

    /// The SASL authentication connections run, when `security.protocol`
    /// uses SASL.
    pub fn sasl_auth(&self) -> Result<SaslAuth, ConfigError> {
        let mechanism = self.sasl_mechanism().ok_or(ConfigError::Missing {
            key: keys::SASL_MECHANISM,
            hint: "set it to PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER (Java's default GSSAPI/Kerberos is not supported)",
        })?;
        let expected_module = match mechanism {
            Mechanism::Plain => LoginModule::Plain,
            Mechanism::ScramSha256 | Mechanism::ScramSha512 => LoginModule::Scram,
            _ => LoginModule::OAuthBearer,
        };
        if let Some(jaas) = &self.jaas {
            if jaas.module() != expected_module {
                return Err(ConfigError::Conflict {
                    key: keys::SASL_JAAS_CONFIG,
                    value: jaas.class().to_owned(),
                    other: keys::SASL_MECHANISM,
                    other_value: mechanism.name().to_owned(),
                    hint: "the login module must match the mechanism: PlainLoginModule for PLAIN, ScramLoginModule for SCRAM-*, OAuthBearerLoginModule for OAUTHBEARER",
                });
            }
        }
        if mechanism == Mechanism::OAuthBearer {
            return self.oauthbearer();
        }
        let credentials = self.credentials()?;
        Ok(match mechanism {
            Mechanism::Plain => SaslAuth::Plain(credentials),
            Mechanism::ScramSha256 => SaslAuth::Scram(ScramHash::Sha256, credentials),
            _ => SaslAuth::Scram(ScramHash::Sha512, credentials),
        })
    }

    fn oauthbearer(&self) -> Result<SaslAuth, ConfigError> {
        let extensions: Vec<(String, String)> = self
            .jaas
            .iter()
            .flat_map(|j| {
                j.option_names()
                    .filter_map(|name| {
                        let key = name.strip_prefix("extension_")?;
                        Some((key.to_owned(), j.option(name)?.to_owned()))
                    })
                    .collect::<Vec<_>>()
            })
            .collect();
        for (key, value) in &extensions {
            OAuthBearer::new(Secret::new("t"))
                .and_then(|m| m.extension(key, value))
                .map_err(|e| ConfigError::InvalidValue {
                    key: keys::SASL_JAAS_CONFIG,
                    value: format!("extension_{key}"),
                    expected: e.to_string(),
                })?;
        }
        if let Some(provider) = &self.token_provider {
            return Ok(SaslAuth::OAuthBearer {
                provider: provider.clone(),
                extensions,
            });
        }
        if let Some(entra) = self.entra_client_credentials()? {
            let provider = match self.entra_provider.get() {
                Some(p) => p.clone(),
                None => {
                    let made = ProviderHandle(Arc::new(
                        crate::oauth::EntraTokenProvider::with_trust(
                            entra,
                            self.token_endpoint_trust(),
                        )?
                        .with_login_settings(self.login),
                    ));
                    self.entra_provider.get_or_init(|| made).clone()
                }
            };
            return Ok(SaslAuth::OAuthBearer {
                provider,
                extensions,
            });
        }
        Err(ConfigError::Missing {
            key: keys::SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL,
            hint: "OAUTHBEARER needs a token source: a token provider (ClientConfigBuilder::oauthbearer_token_provider), or Entra ID client credentials (sasl.oauthbearer.token.endpoint.url, or tenantId=\"<tenant>\" in sasl.jaas.config, plus clientId/clientSecret in sasl.jaas.config)",
        })
    }

    /// Which CA certificates the token client trusts for the token
    /// endpoint: `sasl.oauthbearer.ssl.ca.location` when set, else the
    /// Kafka trust store (with its type and password) when one is set,
    /// else the public web PKI roots.
    pub fn token_endpoint_trust(&self) -> TokenEndpointTrust {
        match (&self.token_endpoint_ca, &self.tls.ca) {
            (Some(path), _) => TokenEndpointTrust::TokenEndpointCa(PemSource::File(path.clone())),
            (None, Some(_)) => TokenEndpointTrust::KafkaTrustStore(TlsSettings {
                ca: self.tls.ca.clone(),
                ca_type: self.tls.ca_type,
                truststore_password: self.tls.truststore_password.clone(),
                ..TlsSettings::default()
            }),
            (None, None) => TokenEndpointTrust::PublicRoots,
        }
    }

    /// The Entra ID / OIDC client-credentials settings, when configured
    /// the Java way (token endpoint URL + `OAuthBearerLoginModule` with
    /// `clientId`/`clientSecret`, or the `OAuthBearerLoginCallbackHandler`
    /// class), or with the JAAS option `tenantId` instead of the URL.
    ///
    /// Event Hubs defaults fill in what is not given: the scope is
    /// `https://<host of the first bootstrap server>/.default`, and with a
    /// `tenantId` the token endpoint is
    /// `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`.
    pub fn entra_client_credentials(&self) -> Result<Option<EntraClientCredentials>, ConfigError> {
        let handler_means_entra = self.callback_handler.as_deref().is_some_and(|c| {
            c.ends_with(".secured.OAuthBearerLoginCallbackHandler")
                || c == "OAuthBearerLoginCallbackHandler"
        });
        if let Some(class) = &self.callback_handler {
            if !handler_means_entra {
                return Err(ConfigError::Unsupported {
                    key: keys::SASL_LOGIN_CALLBACK_HANDLER_CLASS,
                    value: class.clone(),
                    hint: "only the OAuthBearerLoginCallbackHandler (client credentials) is understood; other Java callback classes cannot run here",
                });
            }
        }
        let tenant_given = self
            .jaas
            .as_ref()
            .is_some_and(|j| j.option("tenantId").is_some());
        let token_endpoint = self.token_endpoint.as_ref().map(|u| u.0.as_str());
        if !(handler_means_entra || tenant_given || token_endpoint.is_some()) {
            return Ok(None);
        }
        let Some(jaas) = &self.jaas else {
            return Err(ConfigError::Missing {
                key: keys::SASL_JAAS_CONFIG,
                hint: "Entra ID / OIDC client credentials need the OAuthBearerLoginModule with clientId=\"...\" and clientSecret=\"...\" (scope=\"...\" optional)",
            });
        };
        let host = self.bootstrap_host.as_deref().unwrap_or("localhost");
        EntraClientCredentials::resolve(jaas, token_endpoint, host)
            .map(Some)
            .map_err(|e| match e {
                EntraConfigError::NoTokenEndpoint => ConfigError::Missing {
                    key: keys::SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL,
                    hint: "Entra ID client credentials need the token endpoint, e.g. https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token (or tenantId=\"<tenant>\" in sasl.jaas.config to use exactly that endpoint)",
                },
                EntraConfigError::Missing(what) => ConfigError::Missing {
                    key: keys::SASL_JAAS_CONFIG,
                    hint: what,
                },
                EntraConfigError::BadTenant(tenant) => ConfigError::InvalidValue {
                    key: keys::SASL_JAAS_CONFIG,
                    value: format!("tenantId=\"{tenant}\""),
                    expected: "a tenant id (GUID) or domain name: letters, digits, '.', '-'"
                        .to_owned(),
                },
                other => ConfigError::InvalidValue {
                    key: keys::SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL,
                    value: redact_url(token_endpoint.unwrap_or_default()),
                    expected: other.to_string(),
                },
            })
    }

    /// Sets the OAUTHBEARER token provider.
    pub(crate) fn set_token_provider(&mut self, provider: Arc<dyn TokenProvider>) {
        self.token_provider = Some(ProviderHandle(provider));
    }

    fn credentials(&self) -> Result<Credentials, ConfigError> {
        let from_jaas = self
            .jaas
            .as_ref()
            .and_then(|j| Some((j.option("username")?.to_owned(), j.secret("password")?)));
        if let Some(jaas) = &self.jaas {
            if jaas
                .option("tokenauth")
                .is_some_and(|v| v.eq_ignore_ascii_case("true"))
            {
                return Err(ConfigError::Unsupported {
                    key: keys::SASL_JAAS_CONFIG,
                    value: "tokenauth=true".to_owned(),
                    hint: "delegation-token SCRAM is not supported yet; use a SCRAM user's name and password",
                });
            }
        }
        match (from_jaas, &self.username, &self.password) {
            (Some((user, password)), _, _) => Ok(Credentials::new(user, password)),
            (None, Some(user), Some(password)) => Ok(Credentials::new(user.clone(), password.clone())),
            (None, Some(_), None) => Err(ConfigError::Missing {
                key: keys::SASL_PASSWORD,
                hint: "sasl.username is set; set sasl.password too",
            }),
            _ => Err(ConfigError::Missing {
                key: keys::SASL_JAAS_CONFIG,
                hint: "PLAIN and SCRAM need a user name and password: sasl.jaas.config with username=\"...\" password=\"...\", or sasl.username + sasl.password",
            }),
        }
    }

    /// The settings as (key, value) pairs for display; secrets redacted.
    pub(crate) fn to_properties(&self) -> Vec<(&'static str, String)> {
        use keys::*;
        let mut out = Vec::new();
        if let Some(m) = self.sasl_mechanism {
            out.push((SASL_MECHANISM, m.name().to_owned()));
        }
        if self.jaas.is_some() {
            out.push((SASL_JAAS_CONFIG, "<redacted>".to_owned()));
        }
        if let Some(u) = &self.username {
            out.push((SASL_USERNAME, u.clone()));
        }
        if self.password.is_some() {
            out.push((SASL_PASSWORD, "<redacted>".to_owned()));
        }
        if let Some(u) = &self.token_endpoint {
            out.push((SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL, redact_url(&u.0)));
        }
        if let Some(PemSource::File(p)) = &self.tls.ca {
            out.push((SSL_TRUSTSTORE_LOCATION, p.display().to_string()));
        }
        if let Some(PemSource::File(p)) = &self.tls.client_cert {
            out.push((SSL_KEYSTORE_LOCATION, p.display().to_string()));
        }
        if !self.tls.verify_hostname {
            out.push((SSL_ENDPOINT_IDENTIFICATION_ALGORITHM, String::new()));
        }
        out
    }
}

/// The transport `Client::connect` uses for `config`: TCP, or TLS over TCP.
pub fn connector_for(
    config: &crate::ClientConfig,
) -> Result<Arc<dyn crate::transport::Connector>, ConfigError> {
    if !config.security_protocol().uses_tls() {
        return Ok(Arc::new(crate::transport::TcpConnector));
    }
    let tls = config.security().tls();
    Ok(Arc::new(crate::transport::TlsConnector::new(tls)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ClientConfig;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> Result<ClientConfig, ConfigError> {
        let mut map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        map.insert("bootstrap.servers".into(), "h:1".into());
        ClientConfig::from_properties(&map)
    }

    #[test]
    fn plain_and_scram_from_jaas_or_username() {
        let c = config(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            ("sasl.mechanism", "PLAIN"),
            ("sasl.jaas.config", r#"org.apache.kafka.common.security.plain.PlainLoginModule required username="u" password="pw-canary";"#),
        ])
        .unwrap();
        assert_eq!(
            c.security().sasl_auth().unwrap(),
            SaslAuth::Plain(Credentials::new("u", Secret::new("pw-canary")))
        );
        assert!(!format!("{c:?}").contains("pw-canary"));
        assert!(!format!("{:?}", c.to_properties()).contains("pw-canary"));
        let c = config(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanisms", "scram-sha-512"),
            ("sasl.username", "u"),
            ("sasl.password", "pw"),
        ])
        .unwrap();
        assert_eq!(
            c.security().sasl_auth().unwrap().mechanism(),
            Mechanism::ScramSha512
        );
        // No mechanism, but a PLAIN login module: PLAIN.
        let c = config(&[
            ("security.protocol", "SASL_PLAINTEXT"),
            (
                "sasl.jaas.config",
                r#"x.PlainLoginModule required username="u" password="p";"#,
            ),
        ])
        .unwrap();
        assert_eq!(
            c.security().sasl_auth().unwrap().mechanism(),
            Mechanism::Plain
        );
    }

    #[test]
    fn sasl_login_keys_are_accepted_validated_and_kept() {
        let c = config(&[
            ("sasl.login.refresh.window.factor", "0.9"),
            ("sasl.login.refresh.window.jitter", "0.1"),
            ("sasl.login.refresh.min.period.seconds", "30"),
            ("sasl.login.refresh.buffer.seconds", "120"),
            ("sasl.login.connect.timeout.ms", "2500"),
            ("sasl.login.read.timeout.ms", "7000"),
            ("sasl.login.retry.backoff.ms", "100"),
            ("sasl.login.retry.backoff.max.ms", "10000"),
            ("sasl.oauthbearer.scope.claim.name", "scp"),
            ("sasl.oauthbearer.sub.claim.name", "oid"),
        ])
        .unwrap();
        let login = c.security().login();
        assert_eq!(login.refresh_window_factor, 0.9);
        assert_eq!(login.refresh_window_jitter, 0.1);
        assert_eq!(login.refresh_min_period, Duration::from_secs(30));
        assert_eq!(login.refresh_buffer, Duration::from_secs(120));
        assert_eq!(login.connect_timeout, Some(Duration::from_millis(2500)));
        assert_eq!(login.read_timeout, Some(Duration::from_millis(7000)));
        assert_eq!(login.retry_backoff, Duration::from_millis(100));
        assert_eq!(login.retry_backoff_max, Duration::from_secs(10));
        // Unset: Java's refresh defaults.
        assert_eq!(
            *config(&[]).unwrap().security().login(),
            LoginSettings::default()
        );
        // Java's ranges, each refusal naming the key and the range.
        for (key, value, range) in [
            ("sasl.login.refresh.window.factor", "0.4", "0.5 to 1"),
            ("sasl.login.refresh.window.factor", "1.01", "0.5 to 1"),
            ("sasl.login.refresh.window.factor", "NaN", "0.5 to 1"),
            ("sasl.login.refresh.window.jitter", "0.3", "0 to 0.25"),
            ("sasl.login.refresh.window.jitter", "-0.1", "0 to 0.25"),
            ("sasl.login.refresh.min.period.seconds", "901", "0 to 900"),
            ("sasl.login.refresh.buffer.seconds", "3601", "0 to 3600"),
            ("sasl.login.connect.timeout.ms", "0", "from 1"),
            ("sasl.login.read.timeout.ms", "soon", "from 1"),
            ("sasl.login.retry.backoff.ms", "-1", "from 0"),
            ("sasl.oauthbearer.sub.claim.name", " ", "claim name"),
        ] {
            let err = config(&[(key, value)]).unwrap_err().to_string();
            assert!(
                err.contains(key) && err.contains(range),
                "{key}={value}: {err}"
            );
        }
        let err = config(&[
            ("sasl.login.retry.backoff.ms", "5000"),
            ("sasl.login.retry.backoff.max.ms", "1000"),
        ])
        .unwrap_err()
        .to_string();
        assert!(err.contains("sasl.login.retry.backoff.max.ms"), "{err}");
    }

    #[test]
    fn event_hubs_defaults_for_entra_client_credentials() {
        let module = "kafkashaded.org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required";
        let handler = "kafkashaded.org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler";
        let with = |jaas: &str, extra: &[(&str, &str)]| {
            let mut map: HashMap<String, String> = [
                (
                    "bootstrap.servers",
                    "mynamespace.servicebus.windows.net:9093",
                ),
                ("security.protocol", "SASL_SSL"),
                ("sasl.mechanism", "OAUTHBEARER"),
                ("sasl.login.callback.handler.class", handler),
                ("sasl.jaas.config", jaas),
            ]
            .iter()
            .chain(extra)
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
            map.retain(|_, v| !v.is_empty());
            ClientConfig::from_properties(&map)
        };
        // No scope: the namespace's.
        let c = with(
            &format!(r#"{module} clientId="app" clientSecret="canary-s3";"#),
            &[(
                "sasl.oauthbearer.token.endpoint.url",
                "https://login.microsoftonline.com/t-9/oauth2/v2.0/token",
            )],
        )
        .unwrap();
        let e = c.security().entra_client_credentials().unwrap().unwrap();
        assert_eq!(
            e.scope.as_deref(),
            Some("https://mynamespace.servicebus.windows.net/.default")
        );
        // No endpoint, a tenant: Entra's endpoint for it.
        let c = with(
            &format!(r#"{module} clientId="app" clientSecret="canary-s3" tenantId="contoso.onmicrosoft.com";"#),
            &[],
        )
        .unwrap();
        let e = c.security().entra_client_credentials().unwrap().unwrap();
        assert_eq!(
            e.token_endpoint,
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        assert_eq!(e.tenant.as_deref(), Some("contoso.onmicrosoft.com"));
        // Neither: the error names the setting to add.
        let err = with(
            &format!(r#"{module} clientId="app" clientSecret="canary-s3";"#),
            &[],
        )
        .unwrap_err();
        assert!(
            matches!(err, ConfigError::Missing { key, .. } if key == keys::SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL),
            "{err}"
        );
        assert!(err.to_string().contains("tenantId"), "{err}");
        // No client id: named.
        let err = with(
            &format!(r#"{module} clientSecret="canary-s3" tenantId="t";"#),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("clientId") && !err.contains("canary-s3"),
            "{err}"
        );
        // The handler without any JAAS string names it.
        let err = with("", &[]).unwrap_err().to_string();
        assert!(err.contains("sasl.jaas.config"), "{err}");
    }

    #[test]
    fn the_token_endpoint_trusts_its_own_ca_else_the_kafka_trust_store() {
        let with = |pairs: &[(&str, &str)]| {
            let mut security = SecurityConfig::default();
            for (key, value) in pairs {
                assert!(security.set(key, value).unwrap(), "{key}");
            }
            security
        };
        assert_eq!(
            with(&[]).token_endpoint_trust(),
            TokenEndpointTrust::PublicRoots
        );
        // The Kafka trust store, with its type and password (a PKCS#12
        // store is not read as PEM).
        let kafka = with(&[
            ("ssl.truststore.location", "/etc/kafka/truststore.p12"),
            ("ssl.truststore.type", "PKCS12"),
            ("ssl.truststore.password", "store-pw"),
        ]);
        let TokenEndpointTrust::KafkaTrustStore(tls) = kafka.token_endpoint_trust() else {
            panic!("{:?}", kafka.token_endpoint_trust())
        };
        assert_eq!(
            tls.ca,
            Some(PemSource::File("/etc/kafka/truststore.p12".into()))
        );
        assert_eq!(tls.ca_type, StoreType::Pkcs12);
        assert_eq!(tls.truststore_password, Some(Secret::new("store-pw")));
        // Its own CA wins.
        let own = with(&[
            ("ssl.truststore.location", "/etc/kafka/ca.pem"),
            ("sasl.oauthbearer.ssl.ca.location", "/etc/idp-ca.pem"),
        ]);
        assert_eq!(
            own.token_endpoint_trust(),
            TokenEndpointTrust::TokenEndpointCa(PemSource::File("/etc/idp-ca.pem".into()))
        );
    }

    #[test]
    fn the_token_endpoint_url_is_shown_without_userinfo_or_query_values() {
        let module = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required";
        let c = config(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "OAUTHBEARER"),
            (
                "sasl.jaas.config",
                &format!(r#"{module} clientId="a" clientSecret="s";"#),
            ),
            (
                "sasl.oauthbearer.token.endpoint.url",
                "https://idp.example/t/token?client_secret=q-canary",
            ),
        ])
        .unwrap();
        let shown = format!("{c:?} {:?}", c.to_properties());
        assert!(
            shown.contains("https://idp.example/t/token?client_secret=<redacted>"),
            "{shown}"
        );
        assert!(!shown.contains("q-canary"), "{shown}");
        let err = config(&[
            ("security.protocol", "SASL_SSL"),
            ("sasl.mechanism", "OAUTHBEARER"),
            (
                "sasl.jaas.config",
                &format!(r#"{module} clientId="a" clientSecret="s";"#),
            ),
            (
                "sasl.oauthbearer.token.endpoint.url",
                "https://a:pw-canary@idp.example/t/token",
            ),
        ])
        .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains("<redacted>@idp.example"), "{text}");
        assert!(!text.contains("pw-canary"), "{text}");
    }

    #[test]
    fn mistakes_are_named() {
        for (pairs, needle) in [
            (
                vec![("security.protocol", "SASL_PLAINTEXT")],
                "sasl.mechanism",
            ),
            (
                vec![
                    ("security.protocol", "SASL_PLAINTEXT"),
                    ("sasl.mechanism", "GSSAPI"),
                ],
                "GSSAPI/Kerberos is not supported",
            ),
            (
                vec![
                    ("security.protocol", "SASL_PLAINTEXT"),
                    ("sasl.mechanism", "PLAIN"),
                ],
                "username",
            ),
            (
                vec![
                    ("security.protocol", "SASL_PLAINTEXT"),
                    ("sasl.mechanism", "PLAIN"),
                    ("sasl.username", "u"),
                ],
                "sasl.password",
            ),
            (
                vec![
                    ("security.protocol", "SASL_PLAINTEXT"),
                    ("sasl.mechanism", "SCRAM-SHA-256"),
                    (
                        "sasl.jaas.config",
                        r#"x.PlainLoginModule required username="u" password="secret-x";"#,
                    ),
                ],
                "login module must match",
            ),
            (
                vec![
                    ("security.protocol", "PLAINTEXT"),
                    ("sasl.mechanism", "PLAIN"),
                ],
                "SASL settings do nothing",
            ),
            (
                vec![
                    ("security.protocol", "SASL_PLAINTEXT"),
                    ("sasl.mechanism", "PLAIN"),
                    ("sasl.username", "u"),
                    ("sasl.password", "p"),
                    ("ssl.truststore.location", "/x"),
                ],
                "TLS settings do nothing",
            ),
            (
                vec![("ssl.endpoint.identification.algorithm", "none")],
                "empty string",
            ),
            (vec![("ssl.truststore.type", "BKS")], "PEM, JKS, PKCS12"),
            (
                vec![(
                    "sasl.jaas.config",
                    r#"x.PlainLoginModule required password="secret-x"#,
                )],
                "unterminated",
            ),
        ] {
            let err = config(&pairs).unwrap_err().to_string();
            assert!(err.contains(needle), "{pairs:?}: {err}");
            assert!(!err.contains("secret-x"), "{err}");
        }
    }
}
