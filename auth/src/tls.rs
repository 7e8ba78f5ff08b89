//! TLS client settings, turned into a rustls (ring) `ClientConfig`.
//!
//! Trust comes from PEM CA certificates (a file or inline text) or, when
//! none are given, the webpki root set. A client certificate chain and
//! key give mutual TLS. Host names are verified unless
//! `ssl.endpoint.identification.algorithm` is set to the empty string, in
//! which case the chain is still verified but the name is not, and the
//! client logs a warning (once).
//!
//! Only TLS 1.2 and 1.3 are offered; a peer that offers only TLS 1.0/1.1
//! is refused, and [`explain`] says so.
//!
//! PKCS#12 trust and key stores are read in pure Rust (with their
//! passwords), and so are encrypted PKCS#8 PEM keys
//! (`-----BEGIN ENCRYPTED PRIVATE KEY-----`, opened with `ssl.key.password`).
//! OpenSSL's legacy encrypted PEM keys (`Proc-Type: 4,ENCRYPTED`) are
//! refused with the `openssl pkcs8 -topk8` command converting them. Java key stores (JKS) are refused with an error that gives
//! the `keytool` command converting them to PKCS#12.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::Secret;

/// Where PEM text comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PemSource {
    /// A file path.
    File(PathBuf),
    /// PEM text given inline (`ssl.truststore.certificates`, …).
    Inline(Secret),
}

/// The format of a key or trust store (`ssl.*store.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreType {
    /// PEM files.
    Pem,
    /// Java KeyStore: not readable here (the error gives the `keytool`
    /// command converting it to PKCS#12).
    Jks,
    /// PKCS#12, read in pure Rust with the store's password.
    Pkcs12,
}

impl StoreType {
    /// Parses `PEM`, `JKS`, `PKCS12` (case-insensitive).
    pub fn parse(value: &str) -> Option<StoreType> {
        match value.trim().to_ascii_uppercase().as_str() {
            "PEM" => Some(StoreType::Pem),
            "JKS" => Some(StoreType::Jks),
            "PKCS12" | "P12" => Some(StoreType::Pkcs12),
            _ => None,
        }
    }
}

/// Why TLS settings could not be turned into a client configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {what} from {path}: {reason}")]
    Read {
        /// Which setting.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// The PEM contained nothing usable.
    #[error("{what}: {reason}")]
    Pem {
        /// Which setting.
        what: &'static str,
        /// What was wrong.
        reason: String,
    },
    /// A store format that cannot be read; the message says how to convert it.
    #[error("{what} has type {store:?}, which ferrokafka cannot read; convert it: {how}")]
    UnsupportedStore {
        /// Which setting.
        what: &'static str,
        /// The format.
        store: StoreType,
        /// The conversion command.
        how: &'static str,
    },
    /// A PKCS#12 store that cannot be opened (wrong password, corrupt
    /// file) or holds nothing usable.
    #[error("{what}: cannot read the PKCS#12 store: {reason}")]
    Pkcs12 {
        /// Which setting.
        what: &'static str,
        /// What went wrong (never the password).
        reason: String,
    },
    /// An encrypted PKCS#8 private key and no password to open it.
    #[error("the private key is encrypted (-----BEGIN ENCRYPTED PRIVATE KEY-----) and no password is set: set ssl.key.password to its passphrase")]
    KeyPasswordMissing,
    /// The encrypted PKCS#8 private key did not open with the password
    /// given (the password is never part of the message).
    #[error("the private key could not be decrypted with ssl.key.password: the password is wrong (or the key file is damaged)")]
    KeyPasswordWrong,
    /// The encrypted PKCS#8 private key uses a scheme not supported here.
    #[error("the private key is encrypted with a scheme ferrokafka cannot read ({0}); re-encrypt it with PBES2 and AES: `openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.pem -out key-pkcs8.pem`")]
    KeyEncryptionUnsupported(String),
    /// A private key in OpenSSL's legacy encrypted PEM format
    /// (`Proc-Type: 4,ENCRYPTED`), which is not a standard format.
    #[error("the private key is in OpenSSL's legacy encrypted format (Proc-Type: 4,ENCRYPTED), which ferrokafka does not read: convert it to encrypted PKCS#8 with `openssl pkcs8 -topk8 -v2 aes-256-cbc -in key.pem -out key-pkcs8.pem` (it asks for the old passphrase and a new one; put the new one in ssl.key.password)")]
    LegacyEncryptedKey,
    /// A client certificate without a key or the reverse.
    #[error("mutual TLS needs both a client certificate chain and its private key; only the {0} was given")]
    HalfClientIdentity(&'static str),
    /// rustls refused the material.
    #[error("rustls refused the TLS settings: {0}")]
    Rustls(String),
}

const JKS_HOW: &str = "`keytool -importkeystore -srckeystore store.jks -destkeystore store.p12 -deststoretype PKCS12`, then set ssl.*store.type=PKCS12 and point the location at store.p12 (or convert further to PEM with `openssl pkcs12 -in store.p12 -nodes -out store.pem`)";

/// TLS client settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// Trusted CA certificates; `None` uses the webpki roots.
    pub ca: Option<PemSource>,
    /// The trust store's format.
    pub ca_type: StoreType,
    /// Client certificate chain (PEM), for mutual TLS. May also hold the key.
    pub client_cert: Option<PemSource>,
    /// Client private key (PEM); when absent, looked for in `client_cert`.
    pub client_key: Option<PemSource>,
    /// The key store's format.
    pub keystore_type: StoreType,
    /// Passphrase of the private key (`ssl.key.password`).
    pub key_password: Option<Secret>,
    /// Password of a PKCS#12 trust store (`ssl.truststore.password`).
    pub truststore_password: Option<Secret>,
    /// Password of a PKCS#12 key store (`ssl.keystore.password`).
    pub keystore_password: Option<Secret>,
    /// Verify that the certificate names the host (default true).
    pub verify_hostname: bool,
}

impl Default for TlsSettings {
    fn default() -> Self {
        TlsSettings {
            ca: None,
            ca_type: StoreType::Pem,
            client_cert: None,
            client_key: None,
            keystore_type: StoreType::Pem,
            key_password: None,
            truststore_password: None,
            keystore_password: None,
            verify_hostname: true,
        }
    }
}

fn load(what: &'static str, source: &PemSource) -> Result<Secret, TlsError> {
    match source {
        PemSource::Inline(text) => Ok(text.clone()),
        PemSource::File(path) => read_file(what, path),
    }
}

fn read_file(what: &'static str, path: &Path) -> Result<Secret, TlsError> {
    let bytes = std::fs::read(path).map_err(|e| TlsError::Read {
        what,
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    String::from_utf8(bytes).map(Secret::new).map_err(|_| TlsError::Pem {
        what,
        reason: "not PEM text (binary data: a DER, JKS or PKCS#12 file? set the store type, or convert to PEM)".to_owned(),
    })
}

fn certificates(
    what: &'static str,
    pem: &Secret,
) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let certs = CertificateDer::pem_slice_iter(pem.expose().as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what,
            reason: format!("bad PEM: {e}"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            what,
            reason: "no `-----BEGIN CERTIFICATE-----` block found".to_owned(),
        });
    }
    Ok(certs)
}

fn load_pkcs12(
    what: &'static str,
    source: &PemSource,
    password: Option<&Secret>,
) -> Result<p12_keystore::KeyStore, TlsError> {
    let bytes = match source {
        PemSource::File(path) => std::fs::read(path).map_err(|e| TlsError::Read {
            what,
            path: path.clone(),
            reason: e.to_string(),
        })?,
        PemSource::Inline(_) => {
            return Err(TlsError::Pkcs12 {
                what,
                reason: "a PKCS#12 store must be given as a file (ssl.*store.location)".to_owned(),
            })
        }
    };
    let password = password.map(Secret::expose).unwrap_or("");
    p12_keystore::KeyStore::from_pkcs12(&bytes, password).map_err(|e| TlsError::Pkcs12 {
        what,
        reason: format!(
            "{e} (check the password in ssl.truststore.password / ssl.keystore.password)"
        )
        .replace(password, "<redacted>"),
    })
}

fn check_store(what: &'static str, store: StoreType) -> Result<(), TlsError> {
    match store {
        StoreType::Pem | StoreType::Pkcs12 => Ok(()),
        StoreType::Jks => Err(TlsError::UnsupportedStore {
            what,
            store,
            how: JKS_HOW,
        }),
    }
}

impl TlsSettings {
    /// Builds the rustls configuration (ring provider, TLS 1.2 and 1.3).
    pub fn client_config(&self) -> Result<Arc<rustls::ClientConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        match &self.ca {
            Some(source) if self.ca_type == StoreType::Pkcs12 => {
                let store = load_pkcs12(
                    "ssl.truststore.location",
                    source,
                    self.truststore_password.as_ref(),
                )?;
                for (_, entry) in store.entries() {
                    let certs: Vec<&p12_keystore::Certificate> = match entry {
                        p12_keystore::KeyStoreEntry::Certificate(c) => vec![c],
                        p12_keystore::KeyStoreEntry::PrivateKeyChain(k) => {
                            k.chain().iter().collect()
                        }
                        _ => Vec::new(),
                    };
                    for cert in certs {
                        roots
                            .add(CertificateDer::from(cert.as_der().to_vec()))
                            .map_err(|e| TlsError::Pkcs12 {
                                what: "ssl.truststore.location",
                                reason: format!("a certificate is not a usable trust anchor: {e}"),
                            })?;
                    }
                }
                if roots.is_empty() {
                    return Err(TlsError::Pkcs12 {
                        what: "ssl.truststore.location",
                        reason: "the store holds no trusted certificates (trust stores need Java's trusted-certificate attribute, which `keytool -importcert` writes and `openssl pkcs12 -nokeys` does not; for an openssl-made store use the CA as PEM: ssl.truststore.type=PEM)".to_owned(),
                    });
                }
            }
            Some(source) => {
                check_store("ssl.truststore", self.ca_type)?;
                let pem = load(
                    "the CA certificates (ssl.truststore.location / ssl.ca.location)",
                    source,
                )?;
                for cert in certificates("the CA certificates", &pem)? {
                    roots.add(cert).map_err(|e| TlsError::Pem {
                        what: "the CA certificates",
                        reason: format!("a certificate is not a usable trust anchor: {e}"),
                    })?;
                }
            }
            None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
            .build()
            .map_err(|e| TlsError::Rustls(e.to_string()))?;
        let builder = if self.verify_hostname {
            builder.with_webpki_verifier(verifier)
        } else {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(NoHostnameVerifier(verifier)))
        };
        let config = match (&self.client_cert, &self.client_key) {
            (None, None) => builder.with_no_client_auth(),
            (None, Some(_)) => return Err(TlsError::HalfClientIdentity("private key")),
            (Some(source), None) if self.keystore_type == StoreType::Pkcs12 => {
                let store = load_pkcs12(
                    "ssl.keystore.location",
                    source,
                    self.keystore_password
                        .as_ref()
                        .or(self.key_password.as_ref()),
                )?;
                let (_, chain) = store.private_key_chain().ok_or_else(|| TlsError::Pkcs12 {
                    what: "ssl.keystore.location",
                    reason: "the store holds no private key with a certificate chain".to_owned(),
                })?;
                let certs = chain
                    .chain()
                    .iter()
                    .map(|c| CertificateDer::from(c.as_der().to_vec()))
                    .collect();
                let key = PrivateKeyDer::Pkcs8(chain.key().to_vec().into());
                builder
                    .with_client_auth_cert(certs, key)
                    .map_err(|e| TlsError::Rustls(e.to_string()))?
            }
            (Some(cert_source), key_source) => {
                check_store("ssl.keystore", self.keystore_type)?;
                let cert_pem = load(
                    "the client certificate (ssl.keystore.location / ssl.certificate.location)",
                    cert_source,
                )?;
                let chain = certificates("the client certificate", &cert_pem)?;
                let key_pem = match key_source {
                    Some(source) => load(
                        "the client key (ssl.key.location / ssl.keystore.key)",
                        source,
                    )?,
                    None => cert_pem,
                };
                let password = self
                    .key_password
                    .as_ref()
                    .or(self.keystore_password.as_ref());
                let key = match decrypt_pkcs8_pem(key_pem.expose(), password)? {
                    Some(key) => key,
                    None => PrivateKeyDer::from_pem_slice(key_pem.expose().as_bytes()).map_err(
                        |_| {
                            if key_source.is_none() {
                                TlsError::HalfClientIdentity(
                                    "certificate chain (no private key in the key store file)",
                                )
                            } else {
                                TlsError::Pem {
                                    what: "the client key",
                                    reason: "no PKCS#8, PKCS#1 or SEC1 private key block found"
                                        .to_owned(),
                                }
                            }
                        },
                    )?,
                };
                builder
                    .with_client_auth_cert(chain, key)
                    .map_err(|e| TlsError::Rustls(e.to_string()))?
            }
        };
        Ok(Arc::new(config))
    }
}

const ENCRYPTED_PKCS8_BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
const ENCRYPTED_PKCS8_END: &str = "-----END ENCRYPTED PRIVATE KEY-----";

/// Opens the encrypted PKCS#8 key in `pem`, when there is one
/// (`Ok(None)`: the key is not encrypted). OpenSSL's legacy encrypted
/// PEM (`Proc-Type: 4,ENCRYPTED`) is refused with the command converting it.
fn decrypt_pkcs8_pem(
    pem: &str,
    password: Option<&Secret>,
) -> Result<Option<PrivateKeyDer<'static>>, TlsError> {
    if pem.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(TlsError::LegacyEncryptedKey);
    }
    let Some(start) = pem.find(ENCRYPTED_PKCS8_BEGIN) else {
        return Ok(None);
    };
    let block = pem[start..]
        .find(ENCRYPTED_PKCS8_END)
        .map(|end| &pem[start..start + end + ENCRYPTED_PKCS8_END.len()])
        .ok_or_else(|| TlsError::Pem {
            what: "the client key",
            reason: "an ENCRYPTED PRIVATE KEY block without its END line".to_owned(),
        })?;
    let password = password.ok_or(TlsError::KeyPasswordMissing)?;
    let (_, document) = pkcs8::Document::from_pem(block).map_err(|e| TlsError::Pem {
        what: "the client key",
        reason: format!("bad ENCRYPTED PRIVATE KEY block: {e}"),
    })?;
    let encrypted = pkcs8::EncryptedPrivateKeyInfo::try_from(document.as_bytes()).map_err(|e| {
        TlsError::Pem {
            what: "the client key",
            reason: format!("bad ENCRYPTED PRIVATE KEY block: {e}"),
        }
    })?;
    let plain = encrypted
        .decrypt(password.expose().as_bytes())
        .map_err(|e| match e {
            pkcs8::Error::EncryptedPrivateKey(
                pkcs8::pkcs5::Error::UnsupportedAlgorithm { oid }
                | pkcs8::pkcs5::Error::AlgorithmParametersInvalid { oid },
            ) => TlsError::KeyEncryptionUnsupported(format!("algorithm {oid}")),
            pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::NoPbes1CryptSupport) => {
                TlsError::KeyEncryptionUnsupported("PBES1".to_owned())
            }
            // A wrong password fails the padding check or, rarely, yields
            // bytes that are not DER.
            _ => TlsError::KeyPasswordWrong,
        })?;
    // The plaintext must be a PKCS#8 PrivateKeyInfo; garbage from a wrong
    // password that happened to pass the padding check is not.
    pkcs8::PrivateKeyInfo::try_from(plain.as_bytes()).map_err(|_| TlsError::KeyPasswordWrong)?;
    Ok(Some(PrivateKeyDer::Pkcs8(plain.as_bytes().to_vec().into())))
}

/// Records whether the server asked for a client certificate
/// (`CertificateRequest`), around the resolver that answers it.
///
/// TLS 1.3 servers check the client certificate after the client's
/// `Finished`, so a broker that requires one and gets none (or refuses the
/// one sent) reports it only after the client believes the handshake is
/// done. A connector that knows it was asked can wait for that verdict
/// before writing the first Kafka request. One probe per connection:
///
/// ```
/// use std::sync::Arc;
/// use ferrokafka_auth::tls::{CertificateRequestProbe, TlsSettings};
/// let shared = TlsSettings::default().client_config()?;
/// let probe = Arc::new(CertificateRequestProbe::new(shared.client_auth_cert_resolver.clone()));
/// let mut config = (*shared).clone();
/// config.client_auth_cert_resolver = probe.clone();
/// // ... handshake with `config` ...
/// assert!(!probe.asked() && !probe.has_certificate());
/// # Ok::<(), ferrokafka_auth::tls::TlsError>(())
/// ```
#[derive(Debug)]
pub struct CertificateRequestProbe {
    inner: Arc<dyn rustls::client::ResolvesClientCert>,
    asked: std::sync::atomic::AtomicBool,
}

impl CertificateRequestProbe {
    /// Wraps the configured resolver.
    pub fn new(inner: Arc<dyn rustls::client::ResolvesClientCert>) -> Self {
        CertificateRequestProbe {
            inner,
            asked: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Whether the server sent a `CertificateRequest`.
    pub fn asked(&self) -> bool {
        self.asked.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Whether a client certificate is configured (and was sent when asked).
    pub fn has_certificate(&self) -> bool {
        self.inner.has_certs()
    }
}

impl rustls::client::ResolvesClientCert for CertificateRequestProbe {
    fn resolve(
        &self,
        root_hint_subjects: &[&[u8]],
        sigschemes: &[SignatureScheme],
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        self.asked.store(true, std::sync::atomic::Ordering::Release);
        self.inner.resolve(root_hint_subjects, sigschemes)
    }

    fn only_raw_public_keys(&self) -> bool {
        self.inner.only_raw_public_keys()
    }

    fn has_certs(&self) -> bool {
        self.inner.has_certs()
    }
}

/// What a broker's refusal of the client certificate after a TLS 1.3
/// handshake means, in Kafka terms; `sent` tells whether a client
/// certificate was configured (and sent).
pub fn explain_client_certificate_refusal(error: Option<&rustls::Error>, sent: bool) -> String {
    let cause = match error {
        Some(e) => e.to_string(),
        None => "the connection was closed right after the TLS handshake".to_owned(),
    };
    if sent {
        format!("the broker refused the client certificate: check that ssl.keystore.location (or ssl.certificate.location) holds a certificate signed by a CA the broker trusts, valid now, with its private key ({cause})")
    } else {
        format!("the broker requires a client certificate: set ssl.keystore.location (a PEM or PKCS12 key store) or ssl.certificate.location + ssl.key.location ({cause})")
    }
}

/// Verifies the chain, dates and signatures but accepts any name
/// (`ssl.endpoint.identification.algorithm=`).
#[derive(Debug)]
struct NoHostnameVerifier(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for NoHostnameVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// Whether a handshake error means the peer offers only TLS versions
/// older than 1.2 (TLS 1.0/1.1, SSL 3), which rustls refuses: it answered
/// the ClientHello (TLS 1.2 and 1.3) with a `protocol_version` alert, or
/// with a ServerHello for an older version.
pub fn is_old_tls_version(error: &rustls::Error) -> bool {
    matches!(
        error,
        rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion)
            | rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13
            )
    )
}

/// Explains a rustls handshake error in Kafka terms (which setting to
/// check).
pub fn explain(error: &rustls::Error) -> String {
    use rustls::AlertDescription as A;
    match error {
        e if is_old_tls_version(e) => format!(
            "the broker offers only TLS 1.0/1.1 (or older), which ferrokafka (rustls) refuses as insecure: enable TLS 1.2 or 1.3 on the broker (Kafka: ssl.enabled.protocols=TLSv1.3,TLSv1.2; a TLS proxy in front of it: its minimum and maximum protocol versions) ({error})"
        ),
        rustls::Error::InvalidCertificate(cause) => {
            let why = match cause {
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                    "the broker's certificate does not name the host connected to (check bootstrap.servers / advertised listeners; ssl.endpoint.identification.algorithm= disables the check, insecurely)"
                }
                CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                    "the broker's certificate has expired"
                }
                CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                    "the broker's certificate is not valid yet (check the clocks)"
                }
                CertificateError::UnknownIssuer => {
                    "the broker's certificate is not signed by a trusted CA (set ssl.truststore.location / ssl.ca.location to the CA's PEM)"
                }
                CertificateError::Revoked => "the broker's certificate is revoked",
                CertificateError::BadSignature => "the broker's certificate has a bad signature",
                _ => "the broker's certificate was refused",
            };
            format!("{why} ({error})")
        }
        rustls::Error::AlertReceived(A::CertificateRequired | A::HandshakeFailure | A::BadCertificate | A::UnknownCA)
            => format!("the broker refused the client certificate or requires one (mutual TLS: set ssl.keystore.location or ssl.certificate.location + ssl.key.location) ({error})"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn old_tls_versions_are_explained() {
        for error in [
            rustls::Error::AlertReceived(rustls::AlertDescription::ProtocolVersion),
            rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::ServerDoesNotSupportTls12Or13,
            ),
        ] {
            assert!(is_old_tls_version(&error));
            let text = explain(&error);
            assert!(
                text.contains("TLS 1.0/1.1") && text.contains("TLS 1.2 or 1.3"),
                "{text}"
            );
        }
        let other = rustls::Error::AlertReceived(rustls::AlertDescription::DecryptError);
        assert!(!is_old_tls_version(&other));
        assert!(!explain(&other).contains("TLS 1.0/1.1"));
    }

    /// A self-signed client certificate and its unencrypted PKCS#8 key.
    fn identity() -> (String, rcgen::KeyPair) {
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["client".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        (cert.pem(), key)
    }

    /// `key` encrypted as OpenSSL 3's `openssl pkcs8 -topk8` does
    /// (PBES2, PBKDF2-HMAC-SHA256, AES-256-CBC).
    fn encrypt(key: &rcgen::KeyPair, password: &str) -> String {
        let der = key.serialize_der();
        let info = pkcs8::PrivateKeyInfo::try_from(der.as_slice()).unwrap();
        let salt: [u8; 16] = std::array::from_fn(|i| i as u8 * 7);
        let iv: [u8; 16] = std::array::from_fn(|i| i as u8 * 3);
        let params =
            pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &salt, &iv).unwrap();
        info.encrypt_with_params(params, password)
            .unwrap()
            .to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
            .unwrap()
            .to_string()
    }

    fn settings(cert: &str, key: &str, password: Option<&str>) -> TlsSettings {
        TlsSettings {
            client_cert: Some(PemSource::Inline(Secret::new(cert))),
            client_key: Some(PemSource::Inline(Secret::new(key))),
            key_password: password.map(Secret::new),
            ..TlsSettings::default()
        }
    }

    #[test]
    fn encrypted_pkcs8_keys_open_with_ssl_key_password() {
        let (cert, key) = identity();
        let encrypted = encrypt(&key, "key-pass-canary");
        assert!(encrypted.starts_with(ENCRYPTED_PKCS8_BEGIN));
        let config = settings(&cert, &encrypted, Some("key-pass-canary"))
            .client_config()
            .unwrap();
        assert!(config.client_auth_cert_resolver.has_certs());
        // A Java-style PEM key store (chain and encrypted key in one file)
        // with the passphrase in ssl.keystore.password works too.
        let store = TlsSettings {
            client_cert: Some(PemSource::Inline(Secret::new(format!("{cert}{encrypted}")))),
            keystore_password: Some(Secret::new("key-pass-canary")),
            ..TlsSettings::default()
        };
        assert!(store.client_config().is_ok());
    }

    #[test]
    fn encrypted_key_mistakes_are_typed_and_never_echo_the_password() {
        let (cert, key) = identity();
        let encrypted = encrypt(&key, "right-pass");
        let err = settings(&cert, &encrypted, Some("wrong-pass-canary"))
            .client_config()
            .unwrap_err();
        assert_eq!(err, TlsError::KeyPasswordWrong);
        let text = format!("{err} {err:?}");
        assert!(text.contains("ssl.key.password"), "{text}");
        assert!(!text.contains("wrong-pass-canary"), "{text}");

        let err = settings(&cert, &encrypted, None)
            .client_config()
            .unwrap_err();
        assert_eq!(err, TlsError::KeyPasswordMissing);
        assert!(err.to_string().contains("ssl.key.password"), "{err}");

        // OpenSSL's legacy format (`openssl genrsa -aes256`, `openssl rsa -aes256`).
        let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\nAAAA\n-----END RSA PRIVATE KEY-----\n";
        let err = settings(&cert, legacy, Some("p"))
            .client_config()
            .unwrap_err();
        assert_eq!(err, TlsError::LegacyEncryptedKey);
        assert!(err.to_string().contains("openssl pkcs8 -topk8"), "{err}");

        // An unencrypted key still loads, password or not.
        let plain = key.serialize_pem();
        assert!(settings(&cert, &plain, None).client_config().is_ok());
        assert!(settings(&cert, &plain, Some("unused"))
            .client_config()
            .is_ok());
    }
}
