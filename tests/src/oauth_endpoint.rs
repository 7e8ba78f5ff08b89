//! A local Entra-like HTTPS token endpoint for the OAUTHBEARER tests: it
//! serves its own test CA's certificate for `localhost`, answers token
//! requests from a script, and records what the client sent.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::tempdir::TempDir;

/// One answer of the endpoint.
#[derive(Clone, Debug)]
pub enum Reply {
    /// A token response with this access token and `expires_in` seconds.
    Token(&'static str, u64),
    /// A fresh HS256 JWT (subject `app-7`, audience `kafka`) signed with
    /// the key, `expires_in` = the lifetime in seconds.
    Jwt(&'static [u8], u64),
    /// This status, these extra headers and this body.
    Raw(u16, Vec<(&'static str, String)>, Vec<u8>),
    /// Reads the request and never answers (the connection stays open).
    Silent,
    /// Answers with this status and a JSON error whose description quotes
    /// the request body it received (as careless endpoints do), so the
    /// form-encoded client secret comes back.
    Echo(u16),
}

impl Reply {
    /// A JSON body with this status.
    pub fn json(status: u16, body: &str) -> Reply {
        Reply::Raw(status, Vec::new(), body.as_bytes().to_vec())
    }
}

/// An Entra-like token endpoint: answers POSTs from a script, then with
/// the fallback; records the request bodies.
pub struct TokenEndpoint {
    /// The loopback port it listens on.
    pub port: u16,
    script: Arc<Mutex<VecDeque<Reply>>>,
    fallback: Arc<Mutex<Reply>>,
    /// The request bodies received, in order.
    pub bodies: Arc<Mutex<Vec<String>>>,
    /// The PEM file of the CA that signed its certificate.
    pub ca: PathBuf,
    _dir: TempDir,
}

impl TokenEndpoint {
    /// Starts it (inside a tokio runtime): `script` answers the first
    /// requests in order, `fallback` every later one.
    pub async fn start(script: Vec<Reply>, fallback: Reply) -> TokenEndpoint {
        let dir = TempDir::new("oauth");
        let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "token endpoint test CA");
        ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
        let ca_key = rcgen::KeyPair::generate().unwrap();
        let ca_cert = ca_params.self_signed(&ca_key).unwrap();
        let issuer = rcgen::Issuer::new(ca_params, ca_key);
        let mut leaf = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        leaf.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = rcgen::KeyPair::generate().unwrap();
        let leaf_cert = leaf.signed_by(&leaf_key, &issuer).unwrap();
        let ca = dir.path().join("ca.pem");
        std::fs::write(&ca, ca_cert.pem()).unwrap();

        let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
            tokio_rustls::rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![leaf_cert.der().clone()],
            tokio_rustls::rustls::pki_types::PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into()),
        )
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let endpoint = TokenEndpoint {
            port,
            script: Arc::new(Mutex::new(script.into())),
            fallback: Arc::new(Mutex::new(fallback)),
            bodies: Arc::new(Mutex::new(Vec::new())),
            ca,
            _dir: dir,
        };
        let (script, fallback, bodies) = (
            Arc::clone(&endpoint.script),
            Arc::clone(&endpoint.fallback),
            Arc::clone(&endpoint.bodies),
        );
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                let acceptor = acceptor.clone();
                let (script, fallback, bodies) = (
                    Arc::clone(&script),
                    Arc::clone(&fallback),
                    Arc::clone(&bodies),
                );
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let mut request = Vec::new();
                    let mut chunk = [0u8; 4096];
                    let body_start = loop {
                        let Ok(n) = tls.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        request.extend_from_slice(&chunk[..n]);
                        if let Some(i) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                    };
                    let head = String::from_utf8_lossy(&request[..body_start]).to_lowercase();
                    let length: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while request.len() < body_start + length {
                        let Ok(n) = tls.read(&mut chunk).await else {
                            return;
                        };
                        if n == 0 {
                            return;
                        }
                        request.extend_from_slice(&chunk[..n]);
                    }
                    bodies
                        .lock()
                        .unwrap()
                        .push(String::from_utf8_lossy(&request[body_start..]).into_owned());
                    let reply = script
                        .lock()
                        .unwrap()
                        .pop_front()
                        .unwrap_or_else(|| fallback.lock().unwrap().clone());
                    let (status, headers, body) = match reply {
                        Reply::Token(token, expires_in) => (
                            200,
                            Vec::new(),
                            format!(
                                r#"{{"token_type":"Bearer","expires_in":{expires_in},"ext_expires_in":{expires_in},"access_token":"{token}"}}"#
                            )
                            .into_bytes(),
                        ),
                        Reply::Jwt(key, lifetime) => {
                            let now = std::time::SystemTime::now()
                                .duration_since(std::time::UNIX_EPOCH)
                                .unwrap()
                                .as_secs();
                            // exp rounds up, so the token lives at least
                            // `expires_in` seconds.
                            let jwt = ferrokafka_fake::jwt::sign_hs256(
                                &ferrokafka_fake::jwt::Claims {
                                    subject: "app-7".to_owned(),
                                    audience: "kafka".to_owned(),
                                    expires_at: now + lifetime + 1,
                                },
                                key,
                            );
                            (
                                200,
                                Vec::new(),
                                format!(
                                    r#"{{"token_type":"Bearer","expires_in":{lifetime},"access_token":"{jwt}"}}"#
                                )
                                .into_bytes(),
                            )
                        }
                        Reply::Raw(status, headers, body) => (status, headers, body),
                        Reply::Echo(status) => {
                            // A form body needs no JSON escaping.
                            let received = String::from_utf8_lossy(&request[body_start..]);
                            (
                                status,
                                Vec::new(),
                                format!(
                                    r#"{{"error":"invalid_request","error_description":"AADSTS900144: The request body must contain the following parameter: 'grant_type'. Received: {received}","error_codes":[900144]}}"#
                                )
                                .into_bytes(),
                            )
                        }
                        Reply::Silent => {
                            tokio::time::sleep(std::time::Duration::from_secs(600)).await;
                            return;
                        }
                    };
                    let mut answer = format!(
                        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
                        body.len()
                    );
                    for (k, v) in headers {
                        answer.push_str(&format!("{k}: {v}\r\n"));
                    }
                    answer.push_str("\r\n");
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.write_all(&body).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        endpoint
    }

    /// The token URL of `tenant`, as Entra ID spells it.
    pub fn url(&self, tenant: &str) -> String {
        format!("https://localhost:{}/{tenant}/oauth2/v2.0/token", self.port)
    }

    /// How many token requests arrived.
    pub fn requests(&self) -> usize {
        self.bodies.lock().unwrap().len()
    }
}

/// The forms in which a peer could echo `secret` back: as is, form- and
/// percent-encoded (upper- and lower-case hex, `+` or `%20` for spaces,
/// every byte or only the reserved ones), JSON-escaped, and base64
/// (standard and URL-safe, padded or not).
pub fn encodings(secret: &str) -> Vec<String> {
    let percent = |every_byte: bool, space: &str, lower: bool| {
        let mut out = String::new();
        for b in secret.bytes() {
            match b {
                b' ' if !every_byte => out.push_str(space),
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~'
                    if !every_byte =>
                {
                    out.push(b as char)
                }
                _ if lower => out.push_str(&format!("%{b:02x}")),
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
        out
    };
    let mut json = String::new();
    for c in secret.chars() {
        match c {
            '"' => json.push_str("\\\""),
            '\\' => json.push_str("\\\\"),
            '/' => json.push_str("\\/"),
            c if c.is_ascii() && !c.is_ascii_control() => json.push(c),
            c => {
                let mut units = [0u16; 2];
                for unit in c.encode_utf16(&mut units) {
                    json.push_str(&format!("\\u{unit:04x}"));
                }
            }
        }
    }
    let mut forms = vec![secret.to_owned(), json];
    for lower in [false, true] {
        forms.push(percent(false, "+", lower));
        forms.push(percent(false, "%20", lower));
        forms.push(percent(true, "", lower));
    }
    forms.extend(base64_forms(secret.as_bytes()));
    forms.sort();
    forms.dedup();
    forms
}

fn base64_forms(bytes: &[u8]) -> Vec<String> {
    let mut forms = Vec::new();
    for alphabet in [
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    ] {
        let mut out = String::new();
        for chunk in bytes.chunks(3) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
            for i in 0..=chunk.len() {
                out.push(alphabet[(n >> (18 - 6 * i) & 63) as usize] as char);
            }
        }
        forms.push(out.clone());
        while !out.len().is_multiple_of(4) {
            out.push('=');
        }
        forms.push(out);
    }
    forms
}
