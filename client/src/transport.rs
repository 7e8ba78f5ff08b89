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
