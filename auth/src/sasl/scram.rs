//! SCRAM-SHA-256 and SCRAM-SHA-512 (RFC 5802, RFC 7677), as Kafka uses
//! them: no channel binding (`n,,`), user names escaped with `=2C`/`=3D`,
//! passwords taken as UTF-8 bytes (Kafka does not SASLprep).
//!
//! The client checks what a hostile server could abuse: the server nonce
//! must extend the client's, the iteration count must lie in
//! [`MIN_SCRAM_ITERATIONS`]..=[`MAX_SCRAM_ITERATIONS`] (checked before any
//! PBKDF2 work), and the server's final signature must verify.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ring::{digest, hmac, pbkdf2, rand::SecureRandom};
use zeroize::Zeroizing;

use super::{Credentials, Mechanism, SaslError, SaslStep};

/// The fewest PBKDF2 iterations accepted (RFC 7677's minimum).
pub const MIN_SCRAM_ITERATIONS: u64 = 4096;
/// The most PBKDF2 iterations accepted: more lets a hostile server burn
/// the client's CPU.
pub const MAX_SCRAM_ITERATIONS: u64 = 1_000_000;

/// The SCRAM hash function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ScramHash {
    /// SHA-256.
    Sha256,
    /// SHA-512.
    Sha512,
}

impl ScramHash {
    /// The SASL mechanism for this hash.
    pub fn mechanism(self) -> Mechanism {
        match self {
            ScramHash::Sha256 => Mechanism::ScramSha256,
            ScramHash::Sha512 => Mechanism::ScramSha512,
        }
    }
    fn hmac(self) -> hmac::Algorithm {
        match self {
            ScramHash::Sha256 => hmac::HMAC_SHA256,
            ScramHash::Sha512 => hmac::HMAC_SHA512,
        }
    }
    fn digest(self) -> &'static digest::Algorithm {
        match self {
            ScramHash::Sha256 => &digest::SHA256,
            ScramHash::Sha512 => &digest::SHA512,
        }
    }
    fn pbkdf2(self) -> pbkdf2::Algorithm {
        match self {
            ScramHash::Sha256 => pbkdf2::PBKDF2_HMAC_SHA256,
            ScramHash::Sha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        }
    }
    fn len(self) -> usize {
        self.digest().output_len()
    }
    fn mac(self, key: &[u8], data: &[u8]) -> Zeroizing<Vec<u8>> {
        let key = hmac::Key::new(self.hmac(), key);
        Zeroizing::new(hmac::sign(&key, data).as_ref().to_vec())
    }
    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(vec![0u8; self.len()]);
        let iterations = std::num::NonZeroU32::new(iterations).unwrap_or(std::num::NonZeroU32::MIN);
        pbkdf2::derive(self.pbkdf2(), iterations, salt, password, &mut out);
        out
    }
}

/// Compares without an early exit, so timing does not leak the prefix.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `saslname` escaping: `,` → `=2C`, `=` → `=3D`.
fn escape_name(name: &str) -> String {
    name.replace('=', "=3D").replace(',', "=2C")
}

/// Splits `a=x,b=y` into attributes; values may contain `=`.
fn attributes(message: &str) -> Vec<(char, &str)> {
    message
        .split(',')
        .filter_map(|part| {
            let mut chars = part.chars();
            let key = chars.next()?;
            let rest = chars.as_str().strip_prefix('=')?;
            Some((key, rest))
        })
        .collect()
}

#[derive(Debug)]
enum State {
    Initial,
    SentFirst {
        client_first_bare: String,
    },
    SentFinal {
        server_signature: Zeroizing<Vec<u8>>,
    },
    Done,
}

#[derive(Debug)]
pub(super) struct ScramClient {
    hash: ScramHash,
    credentials: Credentials,
    nonce: String,
    state: State,
}

impl ScramClient {
    pub(super) fn new(hash: ScramHash, credentials: Credentials) -> Self {
        let mut raw = [0u8; 24];
        // SystemRandom fails only when the OS has no randomness at all;
        // then the nonce still differs per connection through the clock.
        if ring::rand::SystemRandom::new().fill(&mut raw).is_err() {
            let t = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_nanos())
                .unwrap_or_default();
            raw[..16].copy_from_slice(&t.to_le_bytes());
        }
        Self::with_nonce(hash, credentials, B64.encode(raw))
    }

    /// With a fixed nonce, for test vectors.
    fn with_nonce(hash: ScramHash, credentials: Credentials, nonce: String) -> Self {
        ScramClient {
            hash,
            credentials,
            nonce,
            state: State::Initial,
        }
    }

    pub(super) fn mechanism(&self) -> Mechanism {
        self.hash.mechanism()
    }

    fn malformed(&self, reason: impl Into<String>) -> SaslError {
        SaslError::Malformed {
            mechanism: self.mechanism(),
            reason: reason.into(),
        }
    }

    pub(super) fn start(&mut self) -> Result<Zeroizing<Vec<u8>>, SaslError> {
        if !matches!(self.state, State::Initial) {
            return Err(SaslError::UnexpectedMessage {
                mechanism: self.mechanism(),
                state: "already started",
            });
        }
        if self.credentials.username.is_empty() {
            return Err(SaslError::InvalidInput {
                mechanism: self.mechanism(),
                what: "user name",
                reason: "must not be empty",
            });
        }
        let client_first_bare = format!(
            "n={},r={}",
            escape_name(&self.credentials.username),
            self.nonce
        );
        let out = Zeroizing::new(format!("n,,{client_first_bare}").into_bytes());
        self.state = State::SentFirst { client_first_bare };
        Ok(out)
    }

    pub(super) fn receive(&mut self, server: &[u8]) -> Result<SaslStep, SaslError> {
        let mechanism = self.mechanism();
        let message = std::str::from_utf8(server).map_err(|_| self.malformed("not UTF-8"))?;
        if let Some(error) = message.strip_prefix("e=") {
            self.state = State::Done;
            return Err(SaslError::ServerError {
                mechanism,
                message: error.chars().take(200).collect(),
            });
        }
        match std::mem::replace(&mut self.state, State::Done) {
            State::SentFirst { client_first_bare } => {
                self.client_final(&client_first_bare, message)
            }
            State::SentFinal { server_signature } => {
                let attrs = attributes(message);
                let verifier = attrs
                    .iter()
                    .find(|(k, _)| *k == 'v')
                    .map(|(_, v)| *v)
                    .ok_or_else(|| self.malformed("server-final-message without v="))?;
                let verifier = B64
                    .decode(verifier)
                    .map_err(|_| self.malformed("v= is not base64"))?;
                if !constant_time_eq(&verifier, &server_signature) {
                    return Err(SaslError::BadServerSignature { mechanism });
                }
                Ok(SaslStep::Done)
            }
            State::Initial => Err(SaslError::UnexpectedMessage {
                mechanism,
                state: "before the first message",
            }),
            State::Done => Err(SaslError::UnexpectedMessage {
                mechanism,
                state: "after the exchange finished",
            }),
        }
    }

    fn client_final(
        &mut self,
        client_first_bare: &str,
        server_first: &str,
    ) -> Result<SaslStep, SaslError> {
        let mechanism = self.mechanism();
        let attrs = attributes(server_first);
        if attrs.first().map(|(k, _)| *k) == Some('m') {
            return Err(self.malformed("the server requires an unknown mandatory extension (m=)"));
        }
        let get = |key: char| attrs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
        let nonce = get('r').ok_or_else(|| self.malformed("server-first-message without r="))?;
        if !nonce.starts_with(&self.nonce) || nonce.len() <= self.nonce.len() {
            return Err(SaslError::NonceMismatch { mechanism });
        }
        let salt = get('s').ok_or_else(|| self.malformed("server-first-message without s="))?;
        let salt = B64
            .decode(salt)
            .map_err(|_| self.malformed("s= is not base64"))?;
        let iterations =
            get('i').ok_or_else(|| self.malformed("server-first-message without i="))?;
        let iterations: u64 = iterations
            .parse()
            .map_err(|_| self.malformed("i= is not a number"))?;
        if !(MIN_SCRAM_ITERATIONS..=MAX_SCRAM_ITERATIONS).contains(&iterations) {
            return Err(SaslError::BadIterations {
                mechanism,
                iterations,
            });
        }
        let hash = self.hash;
        let salted = hash.salted_password(
            self.credentials.password.expose().as_bytes(),
            &salt,
            iterations as u32,
        );
        let client_key = hash.mac(&salted, b"Client Key");
        let stored_key = digest::digest(hash.digest(), &client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let client_signature = hash.mac(stored_key.as_ref(), auth_message.as_bytes());
        let proof: Zeroizing<Vec<u8>> = Zeroizing::new(
            client_key
                .iter()
                .zip(client_signature.iter())
                .map(|(a, b)| a ^ b)
                .collect(),
        );
        let server_key = hash.mac(&salted, b"Server Key");
        let server_signature = hash.mac(&server_key, auth_message.as_bytes());
        self.state = State::SentFinal { server_signature };
        Ok(SaslStep::Send(Zeroizing::new(
            format!("{without_proof},p={}", B64.encode(&proof[..])).into_bytes(),
        )))
    }
}

/// What a server stores for one SCRAM user (never the password).
#[cfg(feature = "server")]
#[derive(Clone, PartialEq, Eq)]
pub struct ScramStoredCredential {
    /// The hash.
    pub hash: ScramHash,
    /// The salt.
    pub salt: Vec<u8>,
    /// PBKDF2 iterations.
    pub iterations: u32,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

#[cfg(feature = "server")]
impl std::fmt::Debug for ScramStoredCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScramStoredCredential")
            .field("hash", &self.hash)
            .field("iterations", &self.iterations)
            .finish_non_exhaustive()
    }
}

#[cfg(feature = "server")]
impl ScramStoredCredential {
    /// Derives the stored keys from a password.
    pub fn new(hash: ScramHash, password: &str, salt: &[u8], iterations: u32) -> Self {
        let salted = hash.salted_password(password.as_bytes(), salt, iterations);
        let client_key = hash.mac(&salted, b"Client Key");
        ScramStoredCredential {
            hash,
            salt: salt.to_vec(),
            iterations,
            stored_key: digest::digest(hash.digest(), &client_key).as_ref().to_vec(),
            server_key: hash.mac(&salted, b"Server Key").to_vec(),
        }
    }
}

/// The server half of one SCRAM exchange (for the fake cluster and tests).
#[cfg(feature = "server")]
#[derive(Debug)]
pub struct ScramServer {
    hash: ScramHash,
    lookup: std::collections::HashMap<String, ScramStoredCredential>,
    state: ServerState,
}

#[cfg(feature = "server")]
#[derive(Debug)]
enum ServerState {
    AwaitFirst,
    AwaitFinal {
        user: String,
        credential: ScramStoredCredential,
        client_first_bare: String,
        server_first: String,
        nonce: String,
    },
    Done,
}

#[cfg(feature = "server")]
impl ScramServer {
    /// A server that knows these users.
    pub fn new(
        hash: ScramHash,
        users: std::collections::HashMap<String, ScramStoredCredential>,
    ) -> Self {
        ScramServer {
            hash,
            lookup: users,
            state: ServerState::AwaitFirst,
        }
    }

    /// Handles one client message; returns the answer, or an error text
    /// for the broker's error message. `Ok((bytes, Some(user)))` means the
    /// user is authenticated.
    pub fn step(&mut self, client: &[u8]) -> Result<(Vec<u8>, Option<String>), String> {
        let text = std::str::from_utf8(client).map_err(|_| "not UTF-8".to_owned())?;
        match std::mem::replace(&mut self.state, ServerState::Done) {
            ServerState::AwaitFirst => {
                let bare = text
                    .strip_prefix("n,,")
                    .ok_or("client-first-message must start with n,, (no channel binding)")?;
                let attrs = attributes(bare);
                let get = |key: char| attrs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
                let user = get('n')
                    .ok_or("no n=")?
                    .replace("=2C", ",")
                    .replace("=3D", "=");
                let client_nonce = get('r').ok_or("no r=")?;
                let credential = self
                    .lookup
                    .get(&user)
                    .filter(|c| c.hash == self.hash)
                    .cloned()
                    .ok_or_else(|| "Authentication failed: invalid credentials".to_owned())?;
                let mut raw = [0u8; 18];
                ring::rand::SystemRandom::new()
                    .fill(&mut raw)
                    .map_err(|_| "no randomness")?;
                let nonce = format!("{client_nonce}{}", B64.encode(raw));
                let server_first = format!(
                    "r={nonce},s={},i={}",
                    B64.encode(&credential.salt),
                    credential.iterations
                );
                let out = server_first.clone().into_bytes();
                self.state = ServerState::AwaitFinal {
                    user,
                    credential,
                    client_first_bare: bare.to_owned(),
                    server_first,
                    nonce,
                };
                Ok((out, None))
            }
            ServerState::AwaitFinal {
                user,
                credential,
                client_first_bare,
                server_first,
                nonce,
            } => {
                let (without_proof, proof) = text.rsplit_once(",p=").ok_or("no p=")?;
                let attrs = attributes(without_proof);
                let get = |key: char| attrs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
                if get('r') != Some(nonce.as_str()) {
                    return Err("nonce mismatch".to_owned());
                }
                let proof = B64.decode(proof).map_err(|_| "p= is not base64")?;
                let hash = self.hash;
                let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
                let client_signature = hash.mac(&credential.stored_key, auth_message.as_bytes());
                if proof.len() != client_signature.len() {
                    return Err("Authentication failed: invalid credentials".to_owned());
                }
                let client_key: Vec<u8> = proof
                    .iter()
                    .zip(client_signature.iter())
                    .map(|(a, b)| a ^ b)
                    .collect();
                let stored = digest::digest(hash.digest(), &client_key);
                if !constant_time_eq(stored.as_ref(), &credential.stored_key) {
                    return Err("Authentication failed: invalid credentials".to_owned());
                }
                let server_signature = hash.mac(&credential.server_key, auth_message.as_bytes());
                Ok((
                    format!("v={}", B64.encode(&server_signature[..])).into_bytes(),
                    Some(user),
                ))
            }
            ServerState::Done => Err("exchange already finished".to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Secret;

    fn send(step: SaslStep) -> String {
        match step {
            SaslStep::Send(b) => String::from_utf8(b.to_vec()).unwrap(),
            SaslStep::Done => panic!("expected bytes"),
        }
    }

    /// RFC 7677 §3.
    #[test]
    fn rfc7677_sha256_vector() {
        let creds = Credentials::new("user", Secret::new("pencil"));
        let mut c =
            ScramClient::with_nonce(ScramHash::Sha256, creds, "rOprNGfwEbeRWgbNEkqO".into());
        let first = c.start().unwrap();
        assert_eq!(&first[..], b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let final_msg = send(c.receive(server_first.as_bytes()).unwrap());
        assert_eq!(
            final_msg,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert!(matches!(
            c.receive(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
                .unwrap(),
            SaslStep::Done
        ));
    }

    fn server_first(nonce: &str, iterations: u64) -> String {
        format!("r={nonce},s=W22ZaJ0SNY7soEsUEjb6gQ==,i={iterations}")
    }

    #[test]
    fn refuses_foreign_nonce_bad_iterations_and_bad_signature() {
        let creds = Credentials::new("user", Secret::new("pencil"));
        for hash in [ScramHash::Sha256, ScramHash::Sha512] {
            let m = hash.mechanism();
            let mut c = ScramClient::with_nonce(hash, creds.clone(), "abc".into());
            c.start().unwrap();
            assert_eq!(
                c.receive(server_first("xyzabc123", 4096).as_bytes())
                    .unwrap_err(),
                SaslError::NonceMismatch { mechanism: m }
            );
            // The nonce must be extended, not merely echoed.
            let mut c = ScramClient::with_nonce(hash, creds.clone(), "abc".into());
            c.start().unwrap();
            assert_eq!(
                c.receive(server_first("abc", 4096).as_bytes()).unwrap_err(),
                SaslError::NonceMismatch { mechanism: m }
            );
            for iterations in [10_000_000u64, 4095, 0, u64::MAX] {
                let mut c = ScramClient::with_nonce(hash, creds.clone(), "abc".into());
                c.start().unwrap();
                assert_eq!(
                    c.receive(server_first("abcdef", iterations).as_bytes())
                        .unwrap_err(),
                    SaslError::BadIterations {
                        mechanism: m,
                        iterations
                    }
                );
            }
            let mut c = ScramClient::with_nonce(hash, creds.clone(), "abc".into());
            c.start().unwrap();
            send(c.receive(server_first("abcdef", 4096).as_bytes()).unwrap());
            let err = c.receive(b"v=AAAA").unwrap_err();
            assert_eq!(err, SaslError::BadServerSignature { mechanism: m });
            // After the exchange, nothing more is accepted.
            assert!(matches!(
                c.receive(b"v=AAAA"),
                Err(SaslError::UnexpectedMessage { .. })
            ));
        }
    }

    #[test]
    fn server_error_and_malformed_messages_are_typed() {
        let creds = Credentials::new("user", Secret::new("pencil"));
        let mut c = ScramClient::with_nonce(ScramHash::Sha512, creds.clone(), "abc".into());
        c.start().unwrap();
        assert!(matches!(
            c.receive(b"e=unknown-user"),
            Err(SaslError::ServerError { ref message, .. }) if message == "unknown-user"
        ));
        for bad in [
            &b"garbage"[..],
            b"r=abcd,i=4096",
            b"r=abcd,s=!!!,i=4096",
            b"r=abcd,s=AAAA,i=x",
            b"\xff\xfe",
            b"m=ext,r=abcd",
        ] {
            let mut c = ScramClient::with_nonce(ScramHash::Sha256, creds.clone(), "abc".into());
            c.start().unwrap();
            assert!(
                matches!(c.receive(bad), Err(SaslError::Malformed { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn user_names_are_escaped() {
        let creds = Credentials::new("a,b=c", Secret::new("p"));
        let mut c = ScramClient::with_nonce(ScramHash::Sha256, creds, "n".into());
        assert_eq!(&c.start().unwrap()[..], b"n,,n=a=2Cb=3Dc,r=n");
    }

    #[cfg(feature = "server")]
    #[test]
    fn client_and_server_agree_for_both_hashes_and_refuse_a_wrong_password() {
        for hash in [ScramHash::Sha256, ScramHash::Sha512] {
            let stored = ScramStoredCredential::new(hash, "right", b"salt-1234", 4096);
            let users = std::collections::HashMap::from([("u,=1".to_owned(), stored)]);
            for (password, ok) in [("right", true), ("wrong", false)] {
                let mut server = ScramServer::new(hash, users.clone());
                let mut client = super::super::SaslClient::scram(
                    hash,
                    &Credentials::new("u,=1", Secret::new(password)),
                );
                let first = client.start().unwrap();
                let (server_first, _) = server.step(&first).unwrap();
                let SaslStep::Send(client_final) = client.receive(&server_first).unwrap() else {
                    panic!()
                };
                match server.step(&client_final) {
                    Ok((server_final, Some(user))) => {
                        assert!(ok);
                        assert_eq!(user, "u,=1");
                        assert!(matches!(
                            client.receive(&server_final).unwrap(),
                            SaslStep::Done
                        ));
                    }
                    Ok(_) => panic!("no user"),
                    Err(e) => {
                        assert!(!ok, "{e}");
                        assert!(e.contains("invalid credentials"));
                    }
                }
            }
        }
    }
}
