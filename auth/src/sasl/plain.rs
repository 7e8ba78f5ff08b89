//! PLAIN (RFC 4616): `authzid NUL authcid NUL passwd`, one round.

use zeroize::Zeroizing;

use super::{Credentials, Mechanism, SaslError, SaslStep};

#[derive(Debug)]
pub(super) struct PlainClient {
    credentials: Credentials,
    sent: bool,
}

impl PlainClient {
    pub(super) fn new(credentials: Credentials) -> Self {
        PlainClient {
            credentials,
            sent: false,
        }
    }

    pub(super) fn start(&mut self) -> Result<Zeroizing<Vec<u8>>, SaslError> {
        let invalid = |what, reason| SaslError::InvalidInput {
            mechanism: Mechanism::Plain,
            what,
            reason,
        };
        let user = self.credentials.username.as_bytes();
        let pass = self.credentials.password.expose().as_bytes();
        if user.is_empty() || user.contains(&0) {
            return Err(invalid("user name", "must be non-empty and contain no NUL"));
        }
        if pass.contains(&0) {
            return Err(invalid("password", "must contain no NUL"));
        }
        let mut out = Zeroizing::new(Vec::with_capacity(user.len() + pass.len() + 2));
        out.push(0);
        out.extend_from_slice(user);
        out.push(0);
        out.extend_from_slice(pass);
        self.sent = true;
        Ok(out)
    }

    pub(super) fn receive(&mut self, _server: &[u8]) -> Result<SaslStep, SaslError> {
        if !self.sent {
            return Err(SaslError::UnexpectedMessage {
                mechanism: Mechanism::Plain,
                state: "before the first message",
            });
        }
        // Success or failure travels in SaslAuthenticate's error code; the
        // bytes of a successful answer carry nothing for PLAIN.
        Ok(SaslStep::Done)
    }
}
