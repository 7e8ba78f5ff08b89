//! OAUTHBEARER token providers: where a connection gets its bearer token.
//!
//! [`StaticToken`] hands out one token; [`TokenCallback`] calls user code
//! (async) for every new connection. [`EntraClientCredentials`] holds the
//! Microsoft Entra ID client-credentials settings parsed from the Java
//! configuration (the client's `oauth` module fetches tokens with them).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use crate::jaas::{JaasConfig, LoginModule};
use crate::redact::redact_url;
use crate::Secret;

/// A bearer token and how long it stays valid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerToken {
    /// The token (a JWT for Entra ID).
    pub value: Secret,
    /// Remaining lifetime, when known.
    pub lifetime: Option<Duration>,
}

impl BearerToken {
    /// A token without a known lifetime.
    pub fn new(value: Secret) -> Self {
        BearerToken {
            value,
            lifetime: None,
        }
    }
}

/// Why no token could be had. Never carries the token or a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The provider (user callback, identity provider) failed.
    #[error("the OAUTHBEARER token provider failed: {0}")]
    Provider(String),
    /// The identity provider is unreachable or overloaded for now; a
    /// later try may succeed.
    #[error("the OAUTHBEARER token provider is unavailable for now: {0}")]
    Unavailable(String),
}

impl TokenError {
    /// Whether a later try may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, TokenError::Unavailable(_))
    }
}

/// The future a [`TokenProvider`] returns.
pub type TokenFuture<'a> =
    Pin<Box<dyn Future<Output = Result<BearerToken, TokenError>> + Send + 'a>>;

/// Supplies bearer tokens; asked once per new connection.
pub trait TokenProvider: Send + Sync + fmt::Debug + 'static {
    /// A valid token.
    fn token(&self) -> TokenFuture<'_>;
}

/// Always the same token.
#[derive(Debug, Clone)]
pub struct StaticToken(BearerToken);

impl StaticToken {
    /// Wraps a token.
    pub fn new(token: Secret) -> Self {
        StaticToken(BearerToken::new(token))
    }
}

impl TokenProvider for StaticToken {
    fn token(&self) -> TokenFuture<'_> {
        let token = self.0.clone();
        Box::pin(async move { Ok(token) })
    }
}

/// Calls an async user function for every token.
///
/// ```
/// use ferrokafka_auth::token::{BearerToken, TokenCallback, TokenProvider};
/// use ferrokafka_auth::Secret;
/// let provider = TokenCallback::new(|| async {
///     // Ask your identity provider here.
///     Ok(BearerToken::new(Secret::new("eyJhbGciOi...")))
/// });
/// # let _: &dyn TokenProvider = &provider;
/// ```
pub struct TokenCallback {
    callback: Arc<dyn Fn() -> TokenFuture<'static> + Send + Sync>,
}

impl fmt::Debug for TokenCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenCallback")
    }
}

impl TokenCallback {
    /// Wraps `callback`.
    pub fn new<F, Fut>(callback: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<BearerToken, TokenError>> + Send + 'static,
    {
        TokenCallback {
            callback: Arc::new(move || Box::pin(callback())),
        }
    }
}

impl TokenProvider for TokenCallback {
    fn token(&self) -> TokenFuture<'_> {
        (self.callback)()
    }
}

/// Why the Entra ID settings were refused. Never carries the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EntraConfigError {
    /// A required JAAS option or key is missing.
    #[error("Entra ID client credentials need {0}")]
    Missing(&'static str),
    /// Neither a token endpoint nor a tenant to derive it from.
    #[error("Entra ID client credentials need a token endpoint: set sasl.oauthbearer.token.endpoint.url (e.g. https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token), or tenantId=\"<tenant>\" in sasl.jaas.config to use that endpoint")]
    NoTokenEndpoint,
    /// The tenant is not a tenant id or domain name.
    #[error("tenantId {0:?} in sasl.jaas.config is not a tenant id (a GUID) or domain name (letters, digits, '.', '-')")]
    BadTenant(String),
    /// The token endpoint URL is unsafe or malformed.
    #[error("sasl.oauthbearer.token.endpoint.url {url:?}: {reason}")]
    BadUrl {
        /// The URL, [`redact_url`]ed (a password in it is not shown).
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Microsoft Entra ID client-credentials settings, as the Java client's
/// `OAuthBearerLoginModule` + `OAuthBearerLoginCallbackHandler` take them.
///
/// `Debug` shows neither the secret nor the token endpoint's query values
/// ([`redact_url`]).
#[derive(Clone, PartialEq, Eq)]
pub struct EntraClientCredentials {
    /// The tenant, from the token endpoint's path.
    pub tenant: Option<String>,
    /// The application (client) id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: Secret,
    /// The scope, e.g. `https://<namespace>.servicebus.windows.net/.default`.
    pub scope: Option<String>,
    /// The token endpoint.
    pub token_endpoint: String,
}

impl fmt::Debug for EntraClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EntraClientCredentials")
            .field("tenant", &self.tenant)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("scope", &self.scope)
            .field("token_endpoint", &redact_url(&self.token_endpoint))
            .finish()
    }
}

/// The Entra ID token endpoint of `tenant` (the v2.0 client-credentials
/// endpoint), used when `sasl.oauthbearer.token.endpoint.url` is not set.
pub fn entra_token_endpoint(tenant: &str) -> String {
    format!("https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token")
}

/// The scope asking for a token for the Kafka endpoint at `host`, as Event
/// Hubs wants it: `https://<namespace host>/.default`.
pub fn default_scope(host: &str) -> String {
    if host.contains(':') {
        format!("https://[{host}]/.default")
    } else {
        format!("https://{host}/.default")
    }
}

impl EntraClientCredentials {
    /// Reads the settings the way a client configuration gives them, with
    /// the Event Hubs defaults filled in:
    /// - the token endpoint is `token_endpoint` or, without one,
    ///   [`entra_token_endpoint`] of the JAAS option `tenantId`;
    /// - the scope is the JAAS option `scope` or, without one,
    ///   [`default_scope`] of `bootstrap_host` (the host of the first
    ///   bootstrap server: `https://<namespace>.servicebus.windows.net/.default`
    ///   for Event Hubs).
    ///
    /// ```
    /// use ferrokafka_auth::jaas::JaasConfig;
    /// use ferrokafka_auth::token::EntraClientCredentials;
    /// let jaas = JaasConfig::parse(
    ///     r#"org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="app" clientSecret="s" tenantId="contoso.onmicrosoft.com";"#,
    /// )?;
    /// let e = EntraClientCredentials::resolve(&jaas, None, "ns.servicebus.windows.net")?;
    /// assert_eq!(e.token_endpoint, "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token");
    /// assert_eq!(e.scope.as_deref(), Some("https://ns.servicebus.windows.net/.default"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn resolve(
        jaas: &JaasConfig,
        token_endpoint: Option<&str>,
        bootstrap_host: &str,
    ) -> Result<Self, EntraConfigError> {
        let tenant = jaas.option("tenantId").map(str::trim);
        if let Some(t) = tenant {
            let valid = !t.is_empty()
                && t.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if !valid {
                return Err(EntraConfigError::BadTenant(t.to_owned()));
            }
        }
        let endpoint = match (token_endpoint, tenant) {
            (Some(url), _) => url.to_owned(),
            (None, Some(t)) => entra_token_endpoint(t),
            (None, None) => {
                // Name the JAAS options first when they are missing too.
                Self::from_java(jaas, "https://login.microsoftonline.com/")?;
                return Err(EntraConfigError::NoTokenEndpoint);
            }
        };
        // The tenant comes from the endpoint's path, built from it or given.
        let mut credentials = Self::from_java(jaas, &endpoint)?;
        if credentials.scope.is_none() {
            credentials.scope = Some(default_scope(bootstrap_host));
        }
        Ok(credentials)
    }

    /// Reads the settings from the JAAS options (`clientId`,
    /// `clientSecret`, `scope`) and the token endpoint URL, with no
    /// defaults (see [`resolve`](Self::resolve) for those). The URL must be
    /// `https://` (never `file:` or plain `http:`).
    pub fn from_java(jaas: &JaasConfig, token_endpoint: &str) -> Result<Self, EntraConfigError> {
        if jaas.module() != LoginModule::OAuthBearer {
            return Err(EntraConfigError::Missing(
                "sasl.jaas.config with OAuthBearerLoginModule",
            ));
        }
        let client_id = jaas.option("clientId").ok_or(EntraConfigError::Missing(
            "clientId=\"...\" in sasl.jaas.config",
        ))?;
        let client_secret = jaas
            .secret("clientSecret")
            .ok_or(EntraConfigError::Missing(
                "clientSecret=\"...\" in sasl.jaas.config",
            ))?;
        let url = token_endpoint.trim();
        let bad = |reason| EntraConfigError::BadUrl {
            url: redact_url(url),
            reason,
        };
        let rest = url
            .strip_prefix("https://")
            .ok_or_else(|| bad("the token endpoint must be an https:// URL (file:, http: and other schemes are refused)"))?;
        let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
        if host.is_empty() || host.contains('@') {
            return Err(bad(
                "the URL needs a host and must not carry user information",
            ));
        }
        let tenant = path
            .split('/')
            .next()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        Ok(EntraClientCredentials {
            tenant,
            client_id: client_id.to_owned(),
            client_secret,
            scope: jaas.option("scope").map(str::to_owned),
            token_endpoint: url.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_event_hubs_configuration_parses() {
        let jaas = JaasConfig::parse(
            r#"kafkashaded.org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="app-1" clientSecret="sec-ret" scope="https://ns.servicebus.windows.net/.default" ssl.protocol="SSL";"#,
        )
        .unwrap();
        let e = EntraClientCredentials::from_java(
            &jaas,
            "https://login.microsoft.com/tenant-42/oauth2/v2.0/token",
        )
        .unwrap();
        assert_eq!(e.tenant.as_deref(), Some("tenant-42"));
        assert_eq!(e.client_id, "app-1");
        assert_eq!(e.client_secret.expose(), "sec-ret");
        assert_eq!(
            e.scope.as_deref(),
            Some("https://ns.servicebus.windows.net/.default")
        );
        assert!(!format!("{e:?}").contains("sec-ret"));
        for url in [
            "http://login/t/x",
            "file:///etc/passwd",
            "https://u:p@h/t",
            "ftp://x",
        ] {
            let err = EntraClientCredentials::from_java(&jaas, url).unwrap_err();
            assert!(
                matches!(err, EntraConfigError::BadUrl { .. }),
                "{url}: {err}"
            );
        }
        // A password in the URL is refused without being shown.
        let err = EntraClientCredentials::from_java(&jaas, "https://app:pw-canary@h/t/token")
            .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(
            text.contains("user information") && text.contains("@h/t/token"),
            "{text}"
        );
        assert!(!text.contains("pw-canary"), "{text}");
        // Query values are accepted, kept, and not shown.
        let e = EntraClientCredentials::from_java(
            &jaas,
            "https://h/t/token?client_secret=q-canary&api-version=2",
        )
        .unwrap();
        assert!(e
            .token_endpoint
            .ends_with("?client_secret=q-canary&api-version=2"));
        let text = format!("{e:?}");
        assert!(
            text.contains("https://h/t/token?client_secret=<redacted>")
                && !text.contains("q-canary"),
            "{text}"
        );
    }

    #[test]
    fn event_hubs_defaults_fill_in_the_endpoint_and_scope() {
        let module = "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required";
        let host = "mynamespace.servicebus.windows.net";
        // No scope: the namespace's.
        let jaas =
            JaasConfig::parse(&format!(r#"{module} clientId="a" clientSecret="s";"#)).unwrap();
        let e = EntraClientCredentials::resolve(
            &jaas,
            Some("https://login.microsoftonline.com/t-1/oauth2/v2.0/token"),
            host,
        )
        .unwrap();
        assert_eq!(
            e.scope.as_deref(),
            Some("https://mynamespace.servicebus.windows.net/.default")
        );
        assert_eq!(e.tenant.as_deref(), Some("t-1"));
        assert!(e
            .token_request_body()
            .ends_with("&scope=https%3A%2F%2Fmynamespace.servicebus.windows.net%2F.default"));
        // No endpoint and no tenant: the error names both ways to give one.
        let err = EntraClientCredentials::resolve(&jaas, None, host).unwrap_err();
        assert_eq!(err, EntraConfigError::NoTokenEndpoint);
        let text = err.to_string();
        assert!(
            text.contains("sasl.oauthbearer.token.endpoint.url") && text.contains("tenantId"),
            "{text}"
        );
        // A tenant: Entra's endpoint for it.
        let jaas = JaasConfig::parse(&format!(
            r#"{module} clientId="a" clientSecret="s" tenantId="72f988bf-86f1-41af-91ab-2d7cd011db47" scope="api://kafka/.default";"#
        ))
        .unwrap();
        let e = EntraClientCredentials::resolve(&jaas, None, host).unwrap();
        assert_eq!(
            e.token_endpoint,
            "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token"
        );
        assert_eq!(
            e.tenant.as_deref(),
            Some("72f988bf-86f1-41af-91ab-2d7cd011db47")
        );
        // A scope given is kept.
        assert_eq!(e.scope.as_deref(), Some("api://kafka/.default"));
        // A tenant that would change the URL is refused.
        let jaas = JaasConfig::parse(&format!(
            r#"{module} clientId="a" clientSecret="s" tenantId="evil.example/x?";"#
        ))
        .unwrap();
        assert!(matches!(
            EntraClientCredentials::resolve(&jaas, None, host),
            Err(EntraConfigError::BadTenant(_))
        ));
        // Missing JAAS options are named before the endpoint.
        let jaas = JaasConfig::parse(&format!(r#"{module} clientSecret="s";"#)).unwrap();
        assert!(matches!(
            EntraClientCredentials::resolve(&jaas, None, host),
            Err(EntraConfigError::Missing(m)) if m.contains("clientId")
        ));
    }

    #[test]
    fn static_and_callback_providers() {
        let waker = std::task::Waker::noop();
        let mut cx = std::task::Context::from_waker(waker);
        let s = StaticToken::new(Secret::new("abc"));
        let mut f = s.token();
        let std::task::Poll::Ready(Ok(t)) = f.as_mut().poll(&mut cx) else {
            panic!()
        };
        assert_eq!(t.value.expose(), "abc");
        let c = TokenCallback::new(|| async { Err(TokenError::Provider("down".into())) });
        let mut f = c.token();
        assert!(matches!(
            f.as_mut().poll(&mut cx),
            std::task::Poll::Ready(Err(_))
        ));
    }
}
