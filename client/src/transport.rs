//! How bytes reach a broker: the [`Connector`] seam.
//!
//! The client resolves `host:port` itself (so that every resolved address
//! is tried and reported) and asks a [`Connector`] for a byte stream to one
//! socket address. [`TcpConnector`] opens plain TCP with `TCP_NODELAY`. A
//! TLS connector wraps a TCP one and returns the encrypted stream; an
//! in-memory connector returns one end of a duplex pipe for tests. The
//! connection above it (ApiVersions, then SASL, then requests) does not
//! change with the transport.

use std::fmt;
use std::net::SocketAddr;

use futures::future::BoxFuture;
use tokio::io::{AsyncRead, AsyncWrite};

use crate::error::ConnectFailure;

/// A connected, ordered, reliable byte stream to one broker.
pub trait Transport: AsyncRead + AsyncWrite + Send + Unpin + 'static {}

impl<T: AsyncRead + AsyncWrite + Send + Unpin + 'static> Transport for T {}

/// A boxed [`Transport`].
pub type BoxTransport = Box<dyn Transport>;

/// Opens transports. Implementations must be cheap to share
/// (the client keeps one in an `Arc`).
pub trait Connector: Send + Sync + fmt::Debug + 'static {
    /// Opens a stream to `addr`; `host` is the name it was resolved from
    /// (for TLS server-name checks). The caller applies the connect
    /// timeout.
    fn connect<'a>(
        &'a self,
        addr: SocketAddr,
        host: &'a str,
    ) -> BoxFuture<'a, Result<BoxTransport, ConnectFailure>>;
}

/// Plain TCP with `TCP_NODELAY` set.
#[derive(Debug, Clone, Copy, Default)]
pub struct TcpConnector;

impl Connector for TcpConnector {
    fn connect<'a>(
        &'a self,
        addr: SocketAddr,
        _host: &'a str,
    ) -> BoxFuture<'a, Result<BoxTransport, ConnectFailure>> {
        Box::pin(async move {
            let stream = tokio::net::TcpStream::connect(addr)
                .await
                .map_err(|e| ConnectFailure::from_io(&e))?;
            stream
                .set_nodelay(true)
                .map_err(|e| ConnectFailure::Io(e.to_string()))?;
            Ok(Box::new(stream) as BoxTransport)
        })
    }
}

/// TLS (rustls with the ring provider) over [`TcpConnector`].
///
/// The certificate checks run during the TLS handshake, before any Kafka
/// request is sent; a refusal becomes [`ConnectFailure::Tls`] naming the
/// cause (unknown CA, expired, wrong host name, client certificate
/// required) and the setting to check.
#[derive(Clone)]
pub struct TlsConnector {
    config: std::sync::Arc<tokio_rustls::rustls::ClientConfig>,
    verify_hostname: bool,
}

impl fmt::Debug for TlsConnector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConnector")
            .field("verify_hostname", &self.verify_hostname)
            .finish_non_exhaustive()
    }
}

impl TlsConnector {
    /// Reads the certificates and keys named by `settings`.
    pub fn new(
        settings: &ferrokafka_auth::tls::TlsSettings,
    ) -> Result<Self, ferrokafka_auth::tls::TlsError> {
        Ok(TlsConnector {
            config: settings.client_config()?,
            verify_hostname: settings.verify_hostname,
        })
    }
}

impl Connector for TlsConnector {
    fn connect<'a>(
        &'a self,
        addr: SocketAddr,
        host: &'a str,
    ) -> BoxFuture<'a, Result<BoxTransport, ConnectFailure>> {
        Box::pin(async move {
            use tokio_rustls::rustls::pki_types::ServerName;
            let name = ServerName::try_from(host.to_owned()).map_err(|_| {
                ConnectFailure::Tls(format!(
                    "{host:?} is not a valid TLS server name (DNS name or IP address)"
                ))
            })?;
            if !self.verify_hostname {
                tracing::warn!(
                    %host, %addr,
                    "TLS host name verification is disabled (ssl.endpoint.identification.algorithm is empty): the broker's certificate is not checked against the host name"
                );
            }
            let tcp = TcpConnector.connect(addr, host).await?;
            let connector = tokio_rustls::TlsConnector::from(self.config.clone());
            match connector.connect(name, tcp).await {
                Ok(stream) => Ok(Box::new(stream) as BoxTransport),
                Err(e) => {
                    let rustls_error = e
                        .get_ref()
                        .and_then(|inner| inner.downcast_ref::<tokio_rustls::rustls::Error>());
                    Err(match rustls_error {
                        Some(r) => ConnectFailure::Tls(ferrokafka_auth::tls::explain(r)),
                        None if matches!(
                            e.kind(),
                            std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                        ) =>
                        {
                            ConnectFailure::Tls(format!(
                                "the peer closed the connection during the TLS handshake ({e}): not a TLS port, or it requires a client certificate (ssl.keystore.location)"
                            ))
                        }
                        None => ConnectFailure::Tls(e.to_string()),
                    })
                }
            }
        })
    }
}
