//! TLS listeners ([`FakeClusterBuilder::tls`](crate::FakeClusterBuilder::tls)):
//! turns the builder's PEM settings into a rustls server configuration
//! (ring provider).

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::FakeError;

/// What the builder was told about TLS.
#[derive(Clone)]
pub(crate) enum TlsSettings {
    /// A certificate chain and key in PEM, and optionally a CA in PEM
    /// whose certificates clients must present (mTLS).
    Pem {
        cert_chain: String,
        key: String,
        client_ca: Option<String>,
    },
    /// A ready configuration, used as it is.
    Config(Arc<ServerConfig>),
}

impl std::fmt::Debug for TlsSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            // The private key stays out of Debug output.
            TlsSettings::Pem { client_ca, .. } => f
                .debug_struct("Pem")
                .field("key", &"<redacted>")
                .field("client_auth", &client_ca.is_some())
                .finish_non_exhaustive(),
            TlsSettings::Config(_) => f.write_str("Config(ServerConfig)"),
        }
    }
}

impl TlsSettings {
    /// The acceptor every broker listener uses.
    pub(crate) fn acceptor(&self) -> Result<tokio_rustls::TlsAcceptor, FakeError> {
        let config = match self {
            TlsSettings::Config(config) => Arc::clone(config),
            TlsSettings::Pem {
                cert_chain,
                key,
                client_ca,
            } => Arc::new(server_config(cert_chain, key, client_ca.as_deref())?),
        };
        Ok(tokio_rustls::TlsAcceptor::from(config))
    }
}

fn tls_error(message: String) -> FakeError {
    FakeError::Config(format!("TLS: {message}"))
}

fn certificates(pem: &str, what: &str) -> Result<Vec<CertificateDer<'static>>, FakeError> {
    let certs = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| tls_error(format!("the {what} is not valid PEM: {e}")))?;
    if certs.is_empty() {
        return Err(tls_error(format!(
            "the {what} holds no `-----BEGIN CERTIFICATE-----` block"
        )));
    }
    Ok(certs)
}

fn server_config(
    cert_chain: &str,
    key: &str,
    client_ca: Option<&str>,
) -> Result<ServerConfig, FakeError> {
    let chain = certificates(cert_chain, "certificate chain")?;
    // The parser's error never quotes the key.
    let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).map_err(|e| {
        tls_error(format!(
            "the private key is not a PEM PKCS#8, PKCS#1 or SEC1 key: {e}"
        ))
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(e.to_string()))?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in certificates(ca, "client CA")? {
                roots
                    .add(cert)
                    .map_err(|e| tls_error(format!("the client CA is unusable: {e}")))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| tls_error(format!("the client CA is unusable: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    builder.with_single_cert(chain, key).map_err(|e| {
        tls_error(format!(
            "the certificate chain and private key do not make a server identity: {e}"
        ))
    })
}
