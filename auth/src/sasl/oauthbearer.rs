//! OAUTHBEARER (RFC 7628) client message, as Kafka sends it:
//! `n,[a=authzid],` `^A` `auth=Bearer <token>` `^A` (`key=value` `^A`)* `^A`.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::{Mechanism, SaslError, SaslStep};
use crate::Secret;

/// Why an OAUTHBEARER message cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthBearerError {
    /// Extension keys are letters only, and `auth` is reserved.
    #[error(
        "invalid SASL extension key {0:?}: keys are ASCII letters only and `auth` is reserved"
    )]
    BadExtensionKey(String),
    /// Extension values are printable ASCII, space, tab, CR or LF.
    #[error("invalid value for SASL extension `{0}`: only printable ASCII, space, tab, CR and LF are allowed")]
    BadExtensionValue(String),
    /// Tokens are RFC 6750 `b64token`s.
    #[error("the bearer token is empty or contains characters outside RFC 6750's b64token set")]
    BadToken,
}

/// The contents of one OAUTHBEARER client message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthBearer {
    token: Secret,
    authzid: Option<String>,
    extensions: BTreeMap<String, String>,
}

impl OAuthBearer {
    /// A message carrying `token`.
    pub fn new(token: Secret) -> Result<Self, OAuthBearerError> {
        let valid = |c: char| c.is_ascii_alphanumeric() || "-._~+/=".contains(c);
        if token.is_empty() || !token.expose().chars().all(valid) {
            return Err(OAuthBearerError::BadToken);
        }
        Ok(OAuthBearer {
            token,
            authzid: None,
            extensions: BTreeMap::new(),
        })
    }

    /// Adds a SASL extension (KIP-342), e.g. `logicalCluster`.
    pub fn extension(mut self, key: &str, value: &str) -> Result<Self, OAuthBearerError> {
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphabetic()) || key == "auth" {
            return Err(OAuthBearerError::BadExtensionKey(key.to_owned()));
        }
        let valid = |c: char| matches!(c, '\x21'..='\x7e' | ' ' | '\t' | '\r' | '\n');
        if !value.chars().all(valid) {
            return Err(OAuthBearerError::BadExtensionValue(key.to_owned()));
        }
        self.extensions.insert(key.to_owned(), value.to_owned());
        Ok(self)
    }

    /// Sets the authorization identity of the GS2 header.
    pub fn authzid(mut self, authzid: &str) -> Self {
        self.authzid = Some(authzid.replace('=', "=3D").replace(',', "=2C"));
        self
    }

    /// The wire bytes.
    pub fn encode(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::new());
        out.extend_from_slice(b"n,");
        if let Some(a) = &self.authzid {
            out.extend_from_slice(b"a=");
            out.extend_from_slice(a.as_bytes());
        }
        out.extend_from_slice(b",\x01auth=Bearer ");
        out.extend_from_slice(self.token.expose().as_bytes());
        out.push(1);
        for (k, v) in &self.extensions {
            out.extend_from_slice(k.as_bytes());
            out.push(b'=');
            out.extend_from_slice(v.as_bytes());
            out.push(1);
        }
        out.push(1);
        out
    }

    /// Parses a client message (the server side). Returns the token, the
    /// authzid and the extensions.
    #[cfg(feature = "server")]
    pub fn decode(bytes: &[u8]) -> Result<Self, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not UTF-8")?;
        let (gs2, rest) = text
            .split_once('\x01')
            .ok_or("no \\x01 after the GS2 header")?;
        let authzid = gs2
            .strip_prefix("n,")
            .and_then(|a| a.strip_suffix(','))
            .ok_or("the GS2 header must be `n,,` or `n,a=...,`")?;
        let body = rest
            .strip_suffix("\x01\x01")
            .ok_or("the message must end with \\x01\\x01")?;
        let mut token = None;
        let mut message = BTreeMap::new();
        for kv in body.split('\x01') {
            let (k, v) = kv.split_once('=').ok_or("key=value expected")?;
            if k == "auth" {
                token = Some(
                    v.strip_prefix("Bearer ")
                        .ok_or("auth= must start with `Bearer `")?,
                );
            } else {
                message.insert(k.to_owned(), v.to_owned());
            }
        }
        let mut out =
            OAuthBearer::new(Secret::new(token.ok_or("no auth=")?)).map_err(|e| e.to_string())?;
        if let Some(a) = authzid.strip_prefix("a=") {
            out.authzid = Some(a.to_owned());
        }
        for (k, v) in message {
            out = out.extension(&k, &v).map_err(|e| e.to_string())?;
        }
        Ok(out)
    }

    /// The token (server side).
    #[cfg(feature = "server")]
    pub fn token(&self) -> &Secret {
        &self.token
    }

    /// The extensions.
    pub fn extensions(&self) -> &BTreeMap<String, String> {
        &self.extensions
    }
}

#[derive(Debug)]
pub(super) struct OAuthBearerClient {
    message: OAuthBearer,
    sent: bool,
}

impl OAuthBearerClient {
    pub(super) fn new(message: OAuthBearer) -> Self {
        OAuthBearerClient {
            message,
            sent: false,
        }
    }

    pub(super) fn start(&mut self) -> Result<Zeroizing<Vec<u8>>, SaslError> {
        self.sent = true;
        Ok(self.message.encode())
    }

    pub(super) fn receive(&mut self, server: &[u8]) -> Result<SaslStep, SaslError> {
        if !self.sent {
            return Err(SaslError::UnexpectedMessage {
                mechanism: Mechanism::OAuthBearer,
                state: "before the first message",
            });
        }
        if server.is_empty() {
            return Ok(SaslStep::Done);
        }
        // RFC 7628 §3.2.2: a non-empty answer is a JSON error; Kafka
        // reports it in the error code too. Keep it short: it is untrusted.
        Err(SaslError::ServerError {
            mechanism: Mechanism::OAuthBearer,
            message: String::from_utf8_lossy(&server[..server.len().min(300)]).into_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_rfc7628_message_with_extensions() {
        let m = OAuthBearer::new(Secret::new("eyJ.abc-_"))
            .unwrap()
            .extension("logicalCluster", "lkc-1")
            .unwrap()
            .extension("identityPoolId", "pool 2")
            .unwrap();
        assert_eq!(
            &m.encode()[..],
            b"n,,\x01auth=Bearer eyJ.abc-_\x01identityPoolId=pool 2\x01logicalCluster=lkc-1\x01\x01"
        );
        let with_authz = OAuthBearer::new(Secret::new("t")).unwrap().authzid("u=1");
        assert_eq!(
            &with_authz.encode()[..],
            b"n,a=u=3D1,\x01auth=Bearer t\x01\x01"
        );
        assert!(!format!("{m:?}").contains("eyJ"));
    }

    #[test]
    fn refuses_bad_extensions_and_tokens() {
        let m = OAuthBearer::new(Secret::new("t")).unwrap();
        assert!(m.clone().extension("auth", "x").is_err());
        assert!(m.clone().extension("a1", "x").is_err());
        assert!(m.clone().extension("ok", "x\x01y").is_err());
        assert!(OAuthBearer::new(Secret::new("")).is_err());
        assert!(OAuthBearer::new(Secret::new("a b")).is_err());
        assert!(OAuthBearer::new(Secret::new("a\x01")).is_err());
    }

    #[test]
    fn server_error_json_is_reported() {
        let mut c = OAuthBearerClient::new(OAuthBearer::new(Secret::new("t")).unwrap());
        c.start().unwrap();
        let err = c.receive(br#"{"status":"invalid_token"}"#).unwrap_err();
        assert!(err.to_string().contains("invalid_token"), "{err}");
    }

    #[cfg(feature = "server")]
    #[test]
    fn decode_round_trips() {
        let m = OAuthBearer::new(Secret::new("abc"))
            .unwrap()
            .extension("x", "1")
            .unwrap();
        assert_eq!(OAuthBearer::decode(&m.encode()).unwrap(), m);
        assert!(OAuthBearer::decode(b"n,,\x01auth=Bearer abc\x01").is_err());
    }
}
