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
use std::sync::Arc;
use std::time::Duration;

use ferrokafka_auth::tls::CertificateRequestProbe;

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

/// Turns a host name into socket addresses. The client resolves every
/// `bootstrap.servers` entry and advertised broker through it, and tries
/// each address it returns. Implementations must be cheap to share.
pub trait Resolve: Send + Sync + fmt::Debug + 'static {
    /// The addresses of `host` (never an IP literal: those are not looked
    /// up) with `port`; an error says why, in words.
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, Result<Vec<SocketAddr>, String>>;
}

/// The operating system's resolver (`getaddrinfo`, through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> BoxFuture<'a, Result<Vec<SocketAddr>, String>> {
        Box::pin(async move {
            tokio::net::lookup_host((host, port))
                .await
                .map(|addrs| addrs.collect())
                .map_err(|e| e.to_string())
        })
    }
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
///
/// In TLS 1.3 the broker checks the client certificate only after the
/// client's `Finished`. When the broker asked for one (`CertificateRequest`),
/// the connector waits up to [`CLIENT_CERTIFICATE_VERDICT_WAIT`] for its
/// verdict before handing the stream over, so "a client certificate is
/// required" (or refused) is reported here, before any Kafka request is
/// written. Brokers that accept send their session tickets at once, which
/// ends the wait; a broker that asked optionally and sends nothing costs
/// that wait once per connection.
///
/// With host-name verification off (`ssl.endpoint.identification.algorithm=`)
/// the connector (so each client, and its clones) logs one warning, at its
/// first connection.
#[derive(Clone)]
pub struct TlsConnector {
    config: Arc<tokio_rustls::rustls::ClientConfig>,
    verify_hostname: bool,
    /// Set once the disabled host-name verification was warned about.
    hostname_warning_logged: Arc<std::sync::atomic::AtomicBool>,
}

/// How long a TLS 1.3 connection that was asked for a client certificate
/// waits for the broker's verdict on it before the first request.
pub const CLIENT_CERTIFICATE_VERDICT_WAIT: Duration = Duration::from_millis(300);

/// Reads what the broker sends right after a TLS 1.3 handshake in which it
/// asked for a client certificate: an alert is the refusal, reported with
/// its cause; session tickets (or anything else that decrypts) mean it
/// accepted; silence for `wait` is taken as acceptance (an optional request
/// from a broker that sends no tickets). Decrypted data stays buffered in
/// the connection for the reader.
async fn await_client_certificate_verdict(
    stream: &mut tokio_rustls::client::TlsStream<BoxTransport>,
    sent_certificate: bool,
    wait: Duration,
) -> Result<(), ConnectFailure> {
    use tokio::io::AsyncReadExt;
    let refused = |error: Option<&tokio_rustls::rustls::Error>| {
        ConnectFailure::Tls(ferrokafka_auth::tls::explain_client_certificate_refusal(
            error,
            sent_certificate,
        ))
    };
    let (io, connection) = stream.get_mut();
    let mut buffer = [0u8; 4096];
    // Reading is cancel-safe: a timeout loses no bytes.
    let n = match tokio::time::timeout(wait, io.read(&mut buffer)).await {
        Err(_) => return Ok(()),
        Ok(Ok(0)) => return Err(refused(None)),
        Ok(Ok(n)) => n,
        Ok(Err(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
            ) =>
        {
            return Err(refused(None))
        }
        Ok(Err(e)) => return Err(ConnectFailure::Io(e.to_string())),
    };
    let mut received = &buffer[..n];
    while !received.is_empty() {
        let read = connection
            .read_tls(&mut received)
            .map_err(|e| ConnectFailure::Io(e.to_string()))?;
        if let Err(e) = connection.process_new_packets() {
            return Err(match e {
                tokio_rustls::rustls::Error::AlertReceived(_) => refused(Some(&e)),
                other => ConnectFailure::Tls(ferrokafka_auth::tls::explain(&other)),
            });
        }
        if read == 0 {
            break;
        }
    }
    Ok(())
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
            hostname_warning_logged: Arc::default(),
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
            if !self.verify_hostname
                && !self
                    .hostname_warning_logged
                    .swap(true, std::sync::atomic::Ordering::Relaxed)
            {
                tracing::warn!(
                    %host, %addr,
                    "TLS host name verification is disabled (ssl.endpoint.identification.algorithm is empty): the brokers' certificates are not checked against their host names, on any connection of this client"
                );
            }
            let tcp = TcpConnector.connect(addr, host).await?;
            // A per-connection view of the shared configuration (sessions
            // are still shared) that records a CertificateRequest.
            let probe = Arc::new(CertificateRequestProbe::new(
                self.config.client_auth_cert_resolver.clone(),
            ));
            let mut config = (*self.config).clone();
            config.client_auth_cert_resolver = probe.clone();
            let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
            match connector.connect(name, tcp).await {
                Ok(mut stream) => {
                    let tls13 = stream.get_ref().1.protocol_version()
                        == Some(tokio_rustls::rustls::ProtocolVersion::TLSv1_3);
                    if probe.asked() && tls13 {
                        await_client_certificate_verdict(
                            &mut stream,
                            probe.has_certificate(),
                            CLIENT_CERTIFICATE_VERDICT_WAIT,
                        )
                        .await?;
                    }
                    Ok(Box::new(stream) as BoxTransport)
                }
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
