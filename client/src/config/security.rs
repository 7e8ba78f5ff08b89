//! The security section: TLS (`ssl.*`) and SASL (`sasl.*`) settings under
//! the Java client's names, plus librdkafka's `ssl.ca.location`-style and
//! `sasl.username`/`sasl.password` names.
//!
//! Settings only: what they describe (TLS trust, the SASL exchange, a
//! token provider) is built when a client connects.
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

use std::sync::Arc;

use ferrokafka_auth::entra::LoginSettings;
use ferrokafka_auth::jaas::{JaasConfig, LoginModule};
use ferrokafka_auth::redact::redact_url;
use ferrokafka_auth::sasl::OAuthBearer;
use ferrokafka_auth::tls::{PemSource, StoreType, TlsSettings};
use ferrokafka_auth::token::{EntraClientCredentials, EntraConfigError, TokenProvider};
use ferrokafka_auth::{Credentials, Mechanism, Secret};

use super::error::ConfigError;
use super::kinds::{
    invalid, Choice, Fraction, Jaas, Kind, Millis, Named, NonEmpty, OptChoice, OptMillis, OptPath,
    OptText, Seconds, SecretText, TextOf, TextRule, Url, MAX_MS,
};
use super::ClientConfigBuilder;

/// `security.protocol`: how connections are secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SecurityProtocol {
    /// `PLAINTEXT`: plain TCP.
    #[default]
    Plaintext,
    /// `SSL`: TLS.
    Ssl,
    /// `SASL_PLAINTEXT`: SASL authentication over plain TCP.
    SaslPlaintext,
    /// `SASL_SSL`: SASL authentication over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// The Java name.
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }
    /// Whether connections start with a TLS handshake.
    pub fn uses_tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }
    /// Whether connections authenticate with SASL after ApiVersions.
    pub fn uses_sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

impl Named for SecurityProtocol {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("PLAINTEXT", SecurityProtocol::Plaintext),
        ("SSL", SecurityProtocol::Ssl),
        ("SASL_PLAINTEXT", SecurityProtocol::SaslPlaintext),
        ("SASL_SSL", SecurityProtocol::SaslSsl),
    ];
    const ANY_CASE: bool = true;
}

impl Named for Mechanism {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("PLAIN", Mechanism::Plain),
        ("SCRAM-SHA-256", Mechanism::ScramSha256),
        ("SCRAM-SHA-512", Mechanism::ScramSha512),
        ("OAUTHBEARER", Mechanism::OAuthBearer),
    ];
    const ANY_CASE: bool = true;
    const NOTE: &'static str = " (GSSAPI/Kerberos is not supported)";
}

impl Named for StoreType {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("PEM", StoreType::Pem),
        ("JKS", StoreType::Jks),
        ("PKCS12", StoreType::Pkcs12),
        ("P12", StoreType::Pkcs12),
    ];
    const ANY_CASE: bool = true;
}

/// `ssl.protocol`. rustls negotiates TLS 1.3 or 1.2 whatever is asked;
/// the names are accepted so Java settings work unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SslProtocol {
    /// `TLSv1.3`.
    #[default]
    Tls13,
    /// `TLSv1.2`.
    Tls12,
    /// `TLS`: any version rustls accepts.
    Tls,
    /// `SSL`: Java's old name for the same.
    Ssl,
}

impl Named for SslProtocol {
    const NAMES: &'static [(&'static str, Self)] = &[
        ("TLSv1.3", SslProtocol::Tls13),
        ("TLSv1.2", SslProtocol::Tls12),
        ("TLS", SslProtocol::Tls),
        ("SSL", SslProtocol::Ssl),
    ];
    const ANY_CASE: bool = true;
    const NOTE: &'static str = " (rustls negotiates TLS 1.3 or 1.2; older versions are refused)";
}

/// `ssl.endpoint.identification.algorithm`: `https` checks the broker's
/// host name against its certificate; the empty string does not.
pub(crate) struct EndpointIdentification;

impl Kind for EndpointIdentification {
    type Value = bool;
    type Input = bool;
    type Out<'a> = bool;
    fn accepts() -> String {
        "`https` (verify the broker's host name) or the empty string (do not)".to_owned()
    }
    fn unset() -> bool {
        true
    }
    fn parse(key: &'static str, raw: &str) -> Result<bool, ConfigError> {
        match raw.trim() {
            "" => Ok(false),
            v if v.eq_ignore_ascii_case("https") => Ok(true),
            _ => Err(invalid(key, raw, Self::accepts())),
        }
    }
    fn accept(_: &'static str, input: bool) -> Result<bool, ConfigError> {
        Ok(input)
    }
    fn out(value: &bool) -> bool {
        *value
    }
    fn show(value: &bool) -> Option<String> {
        Some(if *value { "https" } else { "" }.to_owned())
    }
}

/// A claim name of the token (non-empty): accepted for compatibility;
/// the broker, not the client, checks the token's claims.
pub(crate) struct ClaimName;

impl TextRule for ClaimName {
    const INERT: bool = true;
    fn accepts() -> String {
        "a claim name (it has no effect here: the broker checks the token's claims)".to_owned()
    }
    fn keep(raw: &str) -> Option<String> {
        NonEmpty::keep(raw)
    }
}

/// A claim name of the token.
pub(crate) type Claim = TextOf<ClaimName>;

settings! {
    /// The security section's values.
    values SecurityValues in Security, keys security_keys;
    getters on SecurityConfig, via security_values;
    setters on ClientConfigBuilder, via security_values_mut;

    /// `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT` or `SASL_SSL`.
    SECURITY_PROTOCOL "security.protocol" => security_protocol: Choice<SecurityProtocol> = "PLAINTEXT" pub(SecurityProtocol);
    /// `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` or `OAUTHBEARER`
    /// (librdkafka's `sasl.mechanisms` too).
    SASL_MECHANISM "sasl.mechanism" => sasl_mechanism_set: OptChoice<Mechanism> = "" inner;
    /// The Java login-module string (`PlainLoginModule`, `ScramLoginModule`,
    /// `OAuthBearerLoginModule`; any package prefix, `kafkashaded.` too).
    SASL_JAAS_CONFIG "sasl.jaas.config" => sasl_jaas_config: Jaas = "" pub(Option<&JaasConfig>, impl Into<String>);
    /// librdkafka's user name for PLAIN/SCRAM (instead of the JAAS string).
    SASL_USERNAME "sasl.username" => sasl_username: OptText = "" pub(Option<&str>, impl Into<String>);
    /// librdkafka's password for PLAIN/SCRAM.
    SASL_PASSWORD "sasl.password" => sasl_password: SecretText = "" pub(Option<&Secret>, Secret);
    /// OAUTHBEARER token endpoint (client-credentials grant).
    SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL "sasl.oauthbearer.token.endpoint.url" => sasl_oauthbearer_token_endpoint_url: Url = "" pub(Option<&str>, impl Into<String>);
    /// ferrokafka's own: CA certificates (PEM file) trusted for the token
    /// endpoint, when it is not signed by a public root or the Kafka CA.
    SASL_OAUTHBEARER_SSL_CA_LOCATION "sasl.oauthbearer.ssl.ca.location" => sasl_oauthbearer_ssl_ca_location: OptPath = "" pub(Option<&std::path::Path>, impl Into<std::path::PathBuf>);
    /// The Java login callback handler class
    /// (`…secured.OAuthBearerLoginCallbackHandler`: client credentials).
    SASL_LOGIN_CALLBACK_HANDLER_CLASS "sasl.login.callback.handler.class" => sasl_login_callback_handler_class: OptText = "" pub(Option<&str>, impl Into<String>);
    /// Refresh an OAUTHBEARER token after this fraction of its lifetime.
    SASL_LOGIN_REFRESH_WINDOW_FACTOR "sasl.login.refresh.window.factor" => sasl_login_refresh_window_factor: Fraction<500, 1000> = "0.8" inner;
    /// ...plus up to this fraction more, at random.
    SASL_LOGIN_REFRESH_WINDOW_JITTER "sasl.login.refresh.window.jitter" => sasl_login_refresh_window_jitter: Fraction<0, 250> = "0.05" inner;
    /// The least time between fetching a token and refreshing it.
    SASL_LOGIN_REFRESH_MIN_PERIOD_SECONDS "sasl.login.refresh.min.period.seconds" => sasl_login_refresh_min_period: Seconds<0, 900> = "60" inner;
    /// The least lifetime left on a token when it is refreshed.
    SASL_LOGIN_REFRESH_BUFFER_SECONDS "sasl.login.refresh.buffer.seconds" => sasl_login_refresh_buffer: Seconds<0, 3600> = "300" inner;
    /// Reaching the token endpoint (TCP + TLS); unset: 30 s.
    SASL_LOGIN_CONNECT_TIMEOUT_MS "sasl.login.connect.timeout.ms" => sasl_login_connect_timeout: OptMillis<1, MAX_MS> = "" inner;
    /// Sending the token request and reading the answer; unset: 30 s.
    SASL_LOGIN_READ_TIMEOUT_MS "sasl.login.read.timeout.ms" => sasl_login_read_timeout: OptMillis<1, MAX_MS> = "" inner;
    /// The first wait after a failed token fetch (Java's default is 100 ms).
    SASL_LOGIN_RETRY_BACKOFF_MS "sasl.login.retry.backoff.ms" => sasl_login_retry_backoff: Millis<0, 9223372036854775807> = "500" inner;
    /// The longest wait between token fetches (Java's default is 10 s).
    SASL_LOGIN_RETRY_BACKOFF_MAX_MS "sasl.login.retry.backoff.max.ms" => sasl_login_retry_backoff_max: Millis<0, 9223372036854775807> = "60000" inner;
    /// Accepted for compatibility; the broker checks the token's claims.
    SASL_OAUTHBEARER_SCOPE_CLAIM_NAME "sasl.oauthbearer.scope.claim.name" => sasl_oauthbearer_scope_claim_name: Claim = "" inner;
    /// Accepted for compatibility; the broker checks the token's claims.
    SASL_OAUTHBEARER_SUB_CLAIM_NAME "sasl.oauthbearer.sub.claim.name" => sasl_oauthbearer_sub_claim_name: Claim = "" inner;
    /// CA certificates: a PEM file (`ssl.truststore.type=PEM`) or a
    /// PKCS#12 store (librdkafka's `ssl.ca.location` too).
    SSL_TRUSTSTORE_LOCATION "ssl.truststore.location" => ssl_truststore_location: OptPath = "" pub(Option<&std::path::Path>, impl Into<std::path::PathBuf>);
    /// Trust store password (PKCS#12 only; ignored for PEM).
    SSL_TRUSTSTORE_PASSWORD "ssl.truststore.password" => ssl_truststore_password: SecretText = "" pub(Option<&Secret>, Secret);
    /// `PEM` (default here), `PKCS12`, or `JKS` (refused with the
    /// `keytool` command converting it to PKCS#12).
    SSL_TRUSTSTORE_TYPE "ssl.truststore.type" => ssl_truststore_type: Choice<StoreType> = "PEM" pub(StoreType);
    /// CA certificates as inline PEM text.
    SSL_TRUSTSTORE_CERTIFICATES "ssl.truststore.certificates" => ssl_truststore_certificates: SecretText = "" pub(Option<&Secret>, Secret);
    /// Client certificate chain (and key): a PEM file or PKCS#12 store,
    /// for mutual TLS (librdkafka's `ssl.certificate.location` too).
    SSL_KEYSTORE_LOCATION "ssl.keystore.location" => ssl_keystore_location: OptPath = "" pub(Option<&std::path::Path>, impl Into<std::path::PathBuf>);
    /// Key store password (the key's passphrase for PEM).
    SSL_KEYSTORE_PASSWORD "ssl.keystore.password" => ssl_keystore_password: SecretText = "" pub(Option<&Secret>, Secret);
    /// `PEM`, `JKS` or `PKCS12`.
    SSL_KEYSTORE_TYPE "ssl.keystore.type" => ssl_keystore_type: Choice<StoreType> = "PEM" pub(StoreType);
    /// Client private key as inline PEM text.
    SSL_KEYSTORE_KEY "ssl.keystore.key" => ssl_keystore_key: SecretText = "" pub(Option<&Secret>, Secret);
    /// Client certificate chain as inline PEM text.
    SSL_KEYSTORE_CERTIFICATE_CHAIN "ssl.keystore.certificate.chain" => ssl_keystore_certificate_chain: SecretText = "" pub(Option<&Secret>, Secret);
    /// The private key's passphrase.
    SSL_KEY_PASSWORD "ssl.key.password" => ssl_key_password: SecretText = "" pub(Option<&Secret>, Secret);
    /// `https` verifies the broker's host name; the empty string disables
    /// the check (warned about once per client). In code:
    /// `ClientConfigBuilder::dangerous_disable_hostname_verification`.
    SSL_ENDPOINT_IDENTIFICATION_ALGORITHM "ssl.endpoint.identification.algorithm" => verify_hostname: EndpointIdentification = "https" inner;
    /// librdkafka: the client key, a PEM file.
    SSL_KEY_LOCATION "ssl.key.location" => ssl_key_location: OptPath = "" pub(Option<&std::path::Path>, impl Into<std::path::PathBuf>);
    /// `TLSv1.2`, `TLSv1.3`, `TLS` or `SSL`: accepted; rustls always
    /// negotiates TLS 1.3 or 1.2.
    SSL_PROTOCOL "ssl.protocol" => ssl_protocol: OptChoice<SslProtocol> = "" pub(Option<SslProtocol>, SslProtocol);
}

/// Other names for keys of this section (librdkafka's), and the key each
/// means.
pub(crate) const ALIASES: &[(&str, &str)] = &[
    ("sasl.mechanisms", security_keys::SASL_MECHANISM),
    ("ssl.ca.location", security_keys::SSL_TRUSTSTORE_LOCATION),
    (
        "ssl.certificate.location",
        security_keys::SSL_KEYSTORE_LOCATION,
    ),
];

/// The keys whose setting only makes sense with TLS.
const TLS_KEYS: &[&str] = &[
    security_keys::SSL_TRUSTSTORE_LOCATION,
    security_keys::SSL_TRUSTSTORE_CERTIFICATES,
    security_keys::SSL_TRUSTSTORE_PASSWORD,
    security_keys::SSL_KEYSTORE_LOCATION,
    security_keys::SSL_KEYSTORE_CERTIFICATE_CHAIN,
    security_keys::SSL_KEYSTORE_KEY,
    security_keys::SSL_KEY_LOCATION,
];

/// A shared [`TokenProvider`], compared by identity.
#[derive(Clone, Debug)]
pub struct ProviderHandle(pub Arc<dyn TokenProvider>);

impl PartialEq for ProviderHandle {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// The security settings as given (validated by
/// [`ClientConfig::validate`](crate::ClientConfig::validate)). Secrets
/// print redacted.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SecurityConfig {
    pub(crate) values: SecurityValues,
    /// The OAUTHBEARER token source given in code.
    pub(crate) token_provider: Option<ProviderHandle>,
    /// The host of the first bootstrap server (the default Entra scope's).
    pub(crate) bootstrap_host: Option<String>,
}

impl SecurityConfig {
    /// Whether host-name verification is on
    /// (`ssl.endpoint.identification.algorithm`).
    pub fn verify_hostname(&self) -> bool {
        self.values.verify_hostname
    }

    /// The TLS settings these keys describe (files are read when a client
    /// connects).
    pub fn tls_settings(&self) -> TlsSettings {
        let v = &self.values;
        let file = |p: &Option<std::path::PathBuf>| p.clone().map(PemSource::File);
        let inline = |s: &Option<Secret>| s.clone().map(PemSource::Inline);
        TlsSettings {
            ca: file(&v.ssl_truststore_location).or_else(|| inline(&v.ssl_truststore_certificates)),
            ca_type: v.ssl_truststore_type,
            client_cert: file(&v.ssl_keystore_location)
                .or_else(|| inline(&v.ssl_keystore_certificate_chain)),
            client_key: inline(&v.ssl_keystore_key).or_else(|| file(&v.ssl_key_location)),
            keystore_type: v.ssl_keystore_type,
            key_password: v.ssl_key_password.clone(),
            truststore_password: v.ssl_truststore_password.clone(),
            keystore_password: v.ssl_keystore_password.clone(),
            verify_hostname: v.verify_hostname,
        }
    }

    /// `sasl.login.*`: how OAUTHBEARER tokens are refreshed and fetched.
    pub fn login(&self) -> LoginSettings {
        let v = &self.values;
        LoginSettings {
            refresh_window_factor: v.sasl_login_refresh_window_factor,
            refresh_window_jitter: v.sasl_login_refresh_window_jitter,
            refresh_min_period: v.sasl_login_refresh_min_period,
            refresh_buffer: v.sasl_login_refresh_buffer,
            connect_timeout: v.sasl_login_connect_timeout,
            read_timeout: v.sasl_login_read_timeout,
            retry_backoff: v.sasl_login_retry_backoff,
            retry_backoff_max: v.sasl_login_retry_backoff_max,
        }
    }

    /// The SASL mechanism: `sasl.mechanism`, or without it the one the
    /// `sasl.jaas.config` login module means (PLAIN, OAUTHBEARER).
    pub fn sasl_mechanism(&self) -> Option<Mechanism> {
        let jaas = self.values.sasl_jaas_config.as_ref();
        match (self.values.sasl_mechanism_set, jaas.map(JaasConfig::module)) {
            (Some(m), _) => Some(m),
            // Java defaults to GSSAPI; a login module tells what was meant.
            (None, Some(LoginModule::Plain)) => Some(Mechanism::Plain),
            (None, Some(LoginModule::OAuthBearer)) => Some(Mechanism::OAuthBearer),
            (None, _) => None,
        }
    }

    /// The OAUTHBEARER token provider given in code, if any.
    pub fn token_provider(&self) -> Option<&Arc<dyn TokenProvider>> {
        self.token_provider.as_ref().map(|p| &p.0)
    }

    /// Checks the section against itself and `security.protocol`.
    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        use security_keys::*;
        let v = &self.values;
        let protocol = v.security_protocol;
        if v.sasl_login_retry_backoff_max < v.sasl_login_retry_backoff {
            return Err(ConfigError::Conflict {
                key: SASL_LOGIN_RETRY_BACKOFF_MAX_MS,
                value: v.sasl_login_retry_backoff_max.as_millis().to_string(),
                other: SASL_LOGIN_RETRY_BACKOFF_MS,
                other_value: v.sasl_login_retry_backoff.as_millis().to_string(),
                hint: "the longest backoff cannot be shorter than the first",
            });
        }
        for (location, inline) in [
            (
                SSL_TRUSTSTORE_LOCATION,
                v.ssl_truststore_certificates.is_some(),
            ),
            (
                SSL_KEYSTORE_LOCATION,
                v.ssl_keystore_certificate_chain.is_some(),
            ),
        ] {
            let located = if location == SSL_TRUSTSTORE_LOCATION {
                v.ssl_truststore_location.is_some()
            } else {
                v.ssl_keystore_location.is_some()
            };
            if located && inline {
                return Err(ConfigError::Conflict {
                    key: location,
                    value: "(set)".to_owned(),
                    other: if location == SSL_TRUSTSTORE_LOCATION {
                        SSL_TRUSTSTORE_CERTIFICATES
                    } else {
                        SSL_KEYSTORE_CERTIFICATE_CHAIN
                    },
                    other_value: "(set)".to_owned(),
                    hint: "give the certificates either as a file or inline, not both",
                });
            }
        }
        if !protocol.uses_sasl() {
            let given = [
                (SASL_MECHANISM, v.sasl_mechanism_set.is_some()),
                (SASL_JAAS_CONFIG, v.sasl_jaas_config.is_some()),
                (SASL_USERNAME, v.sasl_username.is_some()),
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
            self.check_sasl()?;
        }
        if !protocol.uses_tls() {
            let mut shown = Vec::new();
            v.show(&mut shown);
            if let Some((key, _)) = shown.iter().find(|(k, _)| TLS_KEYS.contains(k)) {
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

    /// Checks that the SASL settings describe a complete exchange.
    fn check_sasl(&self) -> Result<(), ConfigError> {
        let mechanism = self.sasl_mechanism().ok_or(ConfigError::Missing {
            key: security_keys::SASL_MECHANISM,
            hint: "set it to PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER (Java's default GSSAPI/Kerberos is not supported)",
        })?;
        let expected_module = match mechanism {
            Mechanism::Plain => LoginModule::Plain,
            Mechanism::ScramSha256 | Mechanism::ScramSha512 => LoginModule::Scram,
            _ => LoginModule::OAuthBearer,
        };
        if let Some(jaas) = &self.values.sasl_jaas_config {
            if jaas.module() != expected_module {
                return Err(ConfigError::Conflict {
                    key: security_keys::SASL_JAAS_CONFIG,
                    value: jaas.class().to_owned(),
                    other: security_keys::SASL_MECHANISM,
                    other_value: mechanism.name().to_owned(),
                    hint: "the login module must match the mechanism: PlainLoginModule for PLAIN, ScramLoginModule for SCRAM-*, OAuthBearerLoginModule for OAUTHBEARER",
                });
            }
        }
        if mechanism != Mechanism::OAuthBearer {
            return self.credentials().map(drop);
        }
        self.oauthbearer_extensions()?;
        if self.token_provider.is_some() || self.entra_client_credentials()?.is_some() {
            return Ok(());
        }
        Err(ConfigError::Missing {
            key: security_keys::SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL,
            hint: "OAUTHBEARER needs a token source: a token provider (ClientConfigBuilder::oauthbearer_token_provider), or Entra ID client credentials (sasl.oauthbearer.token.endpoint.url, or tenantId=\"<tenant>\" in sasl.jaas.config, plus clientId/clientSecret in sasl.jaas.config)",
        })
    }

    /// The SASL extensions (KIP-342) of the JAAS options
    /// `extension_<name>="<value>"`, each checked.
    pub fn oauthbearer_extensions(&self) -> Result<Vec<(String, String)>, ConfigError> {
        let extensions: Vec<(String, String)> = self
            .values
            .sasl_jaas_config
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
                    key: security_keys::SASL_JAAS_CONFIG,
                    value: format!("extension_{key}"),
                    expected: e.to_string(),
                })?;
        }
        Ok(extensions)
    }

    /// The user name and password for PLAIN and SCRAM: from
    /// `sasl.jaas.config`, else `sasl.username` + `sasl.password`.
    pub fn credentials(&self) -> Result<Credentials, ConfigError> {
        let v = &self.values;
        let jaas = v.sasl_jaas_config.as_ref();
        if jaas
            .and_then(|j| j.option("tokenauth"))
            .is_some_and(|t| t.eq_ignore_ascii_case("true"))
        {
            return Err(ConfigError::Unsupported {
                key: security_keys::SASL_JAAS_CONFIG,
                value: "tokenauth=true".to_owned(),
                hint: "delegation-token SCRAM is not supported yet; use a SCRAM user's name and password",
            });
        }
        let from_jaas =
            jaas.and_then(|j| Some((j.option("username")?.to_owned(), j.secret("password")?)));
        match (from_jaas, &v.sasl_username, &v.sasl_password) {
            (Some((user, password)), _, _) => Ok(Credentials::new(user, password)),
            (None, Some(user), Some(password)) => Ok(Credentials::new(user.clone(), password.clone())),
            (None, Some(_), None) => Err(ConfigError::Missing {
                key: security_keys::SASL_PASSWORD,
                hint: "sasl.username is set; set sasl.password too",
            }),
            _ => Err(ConfigError::Missing {
                key: security_keys::SASL_JAAS_CONFIG,
                hint: "PLAIN and SCRAM need a user name and password: sasl.jaas.config with username=\"...\" password=\"...\", or sasl.username + sasl.password",
            }),
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
        use security_keys::*;
        let v = &self.values;
        let handler = v.sasl_login_callback_handler_class.as_deref();
        let handler_means_entra = handler.is_some_and(|c| {
            c.ends_with(".secured.OAuthBearerLoginCallbackHandler")
                || c == "OAuthBearerLoginCallbackHandler"
        });
        if let (Some(class), false) = (handler, handler_means_entra) {
            return Err(ConfigError::Unsupported {
                key: SASL_LOGIN_CALLBACK_HANDLER_CLASS,
                value: class.to_owned(),
                hint: "only the OAuthBearerLoginCallbackHandler (client credentials) is understood; other Java callback classes cannot run here",
            });
        }
        let jaas = v.sasl_jaas_config.as_ref();
        let tenant_given = jaas.is_some_and(|j| j.option("tenantId").is_some());
        let token_endpoint = v
            .sasl_oauthbearer_token_endpoint_url
            .as_ref()
            .map(|u| u.0.as_str());
        if !(handler_means_entra || tenant_given || token_endpoint.is_some()) {
            return Ok(None);
        }
        let Some(jaas) = jaas else {
            return Err(ConfigError::Missing {
                key: SASL_JAAS_CONFIG,
                hint: "Entra ID / OIDC client credentials need the OAuthBearerLoginModule with clientId=\"...\" and clientSecret=\"...\" (scope=\"...\" optional)",
            });
        };
        let host = self.bootstrap_host.as_deref().unwrap_or("localhost");
        EntraClientCredentials::resolve(jaas, token_endpoint, host)
            .map(Some)
            .map_err(|e| match e {
                EntraConfigError::NoTokenEndpoint => ConfigError::Missing {
                    key: SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL,
                    hint: "Entra ID client credentials need the token endpoint, e.g. https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token (or tenantId=\"<tenant>\" in sasl.jaas.config to use exactly that endpoint)",
                },
                EntraConfigError::Missing(what) => ConfigError::Missing {
                    key: SASL_JAAS_CONFIG,
                    hint: what,
                },
                EntraConfigError::BadTenant(tenant) => ConfigError::InvalidValue {
                    key: SASL_JAAS_CONFIG,
                    value: format!("tenantId=\"{tenant}\""),
                    expected: "a tenant id (GUID) or domain name: letters, digits, '.', '-'"
                        .to_owned(),
                },
                other => ConfigError::InvalidValue {
                    key: SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL,
                    value: redact_url(token_endpoint.unwrap_or_default()),
                    expected: other.to_string(),
                },
            })
    }
}

impl ClientConfigBuilder {
    /// `sasl.mechanism`: `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` or
    /// `OAUTHBEARER`.
    pub fn sasl_mechanism(mut self, mechanism: Mechanism) -> Self {
        self.config.security.values.sasl_mechanism_set = Some(mechanism);
        self
    }

    /// Stops checking that the broker's certificate names the host it was
    /// reached at (`ssl.endpoint.identification.algorithm` = ""). Anyone
    /// who can intercept the connection and holds any certificate from
    /// your CA can then pose as the broker; the client warns once. Use it
    /// only for brokers whose certificates cannot be fixed.
    pub fn dangerous_disable_hostname_verification(mut self) -> Self {
        self.config.security.values.verify_hostname = false;
        self
    }

    /// The OAUTHBEARER token source (with `sasl.mechanism=OAUTHBEARER`):
    /// a [`StaticToken`](ferrokafka_auth::token::StaticToken), a
    /// [`TokenCallback`](ferrokafka_auth::token::TokenCallback) or your own
    /// [`TokenProvider`]. Asked for a token on every new connection.
    pub fn oauthbearer_token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.config.security.token_provider = Some(ProviderHandle(provider));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_defaults_are_the_token_clients() {
        assert_eq!(SecurityConfig::default().login(), LoginSettings::default());
    }

    #[test]
    fn tls_settings_follow_the_keys() {
        let mut s = SecurityConfig::default();
        assert_eq!(s.tls_settings(), TlsSettings::default());
        s.values
            .set("ssl.truststore.location", " /ca.pem ")
            .unwrap();
        s.values.set("ssl.key.location", "/k.pem").unwrap();
        s.values
            .set("ssl.endpoint.identification.algorithm", "")
            .unwrap();
        let tls = s.tls_settings();
        assert_eq!(tls.ca, Some(PemSource::File("/ca.pem".into())));
        assert_eq!(tls.client_key, Some(PemSource::File("/k.pem".into())));
        assert!(!tls.verify_hostname);
    }
}
