//! What the security settings describe, built when a client connects: the
//! transport (TCP, or TLS with the configured trust and client
//! certificate) and the SASL exchange every connection runs (with the
//! OAUTHBEARER token provider, made once per client so its token cache is
//! shared by all its connections).
//!
//! [`EntraTokenProvider`] is public for programs that want tokens the way
//! a client configured for Entra ID client credentials gets them.

pub(crate) mod oauth;

use std::sync::Arc;

use ferrokafka_auth::sasl::{OAuthBearer, ScramHash};
use ferrokafka_auth::tls::PemSource;
use ferrokafka_auth::token::TokenError;
use ferrokafka_auth::{Credentials, Mechanism, SaslClient};

use crate::config::{keys, ClientConfig, ConfigError, ProviderHandle, SecurityConfig};

pub use oauth::{EntraTokenProvider, TokenEndpointTrust};

/// How connections authenticate, resolved from the settings.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SaslAuth {
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
    pub(crate) fn mechanism(&self) -> Mechanism {
        match self {
            SaslAuth::Plain(_) => Mechanism::Plain,
            SaslAuth::Scram(hash, _) => hash.mechanism(),
            SaslAuth::OAuthBearer { .. } => Mechanism::OAuthBearer,
        }
    }

    /// A fresh exchange for one connection (OAUTHBEARER asks its provider
    /// for a token first).
    pub(crate) async fn client(&self) -> Result<SaslClient, TokenError> {
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
    pub(crate) fn username(&self) -> &str {
        match self {
            SaslAuth::Plain(c) | SaslAuth::Scram(_, c) => &c.username,
            SaslAuth::OAuthBearer { .. } => "(token)",
        }
    }
}

/// The SASL exchange `config` describes, when `security.protocol` uses
/// SASL; builds the Entra ID token provider when the settings ask for one.
pub(crate) fn sasl_auth(config: &ClientConfig) -> Result<Option<SaslAuth>, ConfigError> {
    let security = config.security();
    if !config.security_protocol().uses_sasl() {
        return Ok(None);
    }
    let mechanism = security.sasl_mechanism().ok_or(ConfigError::Missing {
        key: keys::SASL_MECHANISM,
        hint: "set it to PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER",
    })?;
    Ok(Some(match mechanism {
        Mechanism::Plain => SaslAuth::Plain(security.credentials()?),
        Mechanism::ScramSha256 => SaslAuth::Scram(ScramHash::Sha256, security.credentials()?),
        Mechanism::ScramSha512 => SaslAuth::Scram(ScramHash::Sha512, security.credentials()?),
        _ => {
            let provider = match security.token_provider() {
                Some(given) => ProviderHandle(Arc::clone(given)),
                None => ProviderHandle(Arc::new(EntraTokenProvider::from_config(config)?.ok_or(
                    ConfigError::Missing {
                        key: keys::SASL_OAUTHBEARER_TOKEN_ENDPOINT_URL,
                        hint: "OAUTHBEARER needs a token source: a token provider (ClientConfigBuilder::oauthbearer_token_provider) or Entra ID client credentials",
                    },
                )?)),
            };
            SaslAuth::OAuthBearer {
                provider,
                extensions: security.oauthbearer_extensions()?,
            }
        }
    }))
}

/// Which CA certificates the token client trusts for the token endpoint:
/// `sasl.oauthbearer.ssl.ca.location` when set, else the Kafka trust store
/// (with its type and password) when one is set, else the public web PKI
/// roots.
pub(crate) fn token_endpoint_trust(security: &SecurityConfig) -> TokenEndpointTrust {
    let tls = security.tls_settings();
    match (security.sasl_oauthbearer_ssl_ca_location(), &tls.ca) {
        (Some(path), _) => TokenEndpointTrust::TokenEndpointCa(PemSource::File(path.to_owned())),
        (None, Some(_)) => TokenEndpointTrust::KafkaTrustStore(ferrokafka_auth::tls::TlsSettings {
            ca: tls.ca.clone(),
            ca_type: tls.ca_type,
            truststore_password: tls.truststore_password.clone(),
            ..ferrokafka_auth::tls::TlsSettings::default()
        }),
        (None, None) => TokenEndpointTrust::PublicRoots,
    }
}

impl EntraTokenProvider {
    /// The Entra ID client-credentials token provider `config` describes
    /// (`sasl.jaas.config` with `clientId`/`clientSecret`, the token
    /// endpoint or a `tenantId`, the `sasl.login.*` timing, and the CA the
    /// endpoint is trusted with); `None` when it describes none.
    pub fn from_config(config: &ClientConfig) -> Result<Option<Self>, ConfigError> {
        let security = config.security();
        let Some(entra) = security.entra_client_credentials()? else {
            return Ok(None);
        };
        Ok(Some(
            EntraTokenProvider::with_trust(entra, token_endpoint_trust(security))?
                .with_login_settings(security.login()),
        ))
    }
}

/// The transport `Client::connect` uses for `config`: TCP, or TLS over TCP.
pub(crate) fn connector_for(
    config: &ClientConfig,
) -> Result<Arc<dyn crate::transport::Connector>, ConfigError> {
    if !config.security_protocol().uses_tls() {
        return Ok(Arc::new(crate::transport::TcpConnector));
    }
    Ok(Arc::new(crate::transport::TlsConnector::new(
        &config.security().tls_settings(),
    )?))
}

#[cfg(test)]
mod tests;
