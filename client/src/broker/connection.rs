//! A connection to one broker, driven by one tokio task.
//!
//! [`BrokerConnection`] is a cheap, clonable handle. Requests are encoded
//! by the caller, queued to the connection task in the order they were
//! handed over ([`BrokerConnection::enqueue`] does that synchronously, so
//! a caller that needs an order on the wire gets it), written in that
//! order by a writer task, and matched to their answers by correlation id,
//! so many can be in flight at once (up to
//! `max.in.flight.requests.per.connection`; further requests wait in the
//! queue). Each request has its own deadline, counted from when it is
//! written.
//!
//! Invariants:
//! - A failure of the connection (socket error, close, malformed frame)
//!   fails every request in flight with the same [`ConnectionFailure`];
//!   the connection is then closed for good (the pool makes a new one).
//! - A request that times out fails with [`ErrorKind::Timeout`] and closes
//!   the connection: later answers could no longer be trusted to be in
//!   step, as in the Java client.
//! - A response's `throttle_time_ms` holds further requests on this
//!   connection until the throttle has passed (KIP-219).
//! - Reading and writing run in separate tasks, so a large request being
//!   written never stops the answers to earlier ones from being read.
//! - KIP-368: when the broker granted a SASL session lifetime, the
//!   connection re-authenticates in band before it runs out: at about 80%
//!   of the lifetime it stops writing new requests, waits for the answers
//!   in flight, runs SaslHandshake + SaslAuthenticate on the same socket,
//!   then resumes the queue. A failed re-authentication closes the
//!   connection (its queued requests fail with a retriable error, and the
//!   pool's next connection reports why authentication fails).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::bounded::{decode_response, BoundedResponse};
use ferrokafka_protocol::header::{encode_request, RequestHeader};
use ferrokafka_protocol::messages::ApiKey;
use ferrokafka_protocol::produce::SplitFrame;
use ferrokafka_protocol::versions::BrokerVersions;
use ferrokafka_protocol::ProtocolError;
use kafka_protocol::protocol::Request;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::handshake::Established;
use crate::error::{BrokerRef, ConnectFailure, ConnectionFailure, Error, ErrorKind, Result};
use crate::hooks::{HookSet, ResponseRead};
use crate::types::Api;

/// Settings of one connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionOptions {
    pub(crate) client_id: Arc<str>,
    pub(crate) request_timeout: Duration,
    pub(crate) max_in_flight: usize,
    pub(crate) max_idle: Duration,
    /// SASL authentication run on every new connection (and again in band
    /// before the session expires).
    pub(crate) sasl: Option<Arc<crate::security::SaslAuth>>,
    /// Told of every request, answer and the connection's end.
    pub(crate) hooks: HookSet,
}

/// Writes a request frame from the request header.
pub(crate) type EncodeFrame =
    Box<dyn FnOnce(&RequestHeader<'_>) -> std::result::Result<SplitFrame, ProtocolError> + Send>;

/// A request's bytes: encoded when queued, or when it is written.
pub(super) enum Frame {
    Ready(SplitFrame),
    /// Encoded by the connection task just before it is written, so that
    /// the caller can add to the request while it waits in the queue (the
    /// producer puts several partitions' batches in one Produce request).
    Late(EncodeFrame),
}

/// A request on its way to the connection task.
pub(super) struct Outgoing {
    pub(super) frame: Frame,
    pub(super) api: ApiKey,
    pub(super) version: i16,
    pub(super) timeout: Duration,
    /// `None` for a request the broker never answers (Produce with
    /// `acks=0`): it is done once handed to the writer.
    pub(super) reply: Reply,
    /// Part of an in-band re-authentication: written at once, ahead of
    /// the queue, and its bytes are zeroed once written.
    pub(super) auth: bool,
}

pub(super) enum Reply {
    Answer(oneshot::Sender<Result<Answer, ErrorKind>>),
    Written(oneshot::Sender<Result<(), ErrorKind>>),
}

impl Reply {
    pub(super) fn fail(self, kind: ErrorKind) {
        match self {
            Reply::Answer(tx) => {
                let _ = tx.send(Err(kind));
            }
            Reply::Written(tx) => {
                let _ = tx.send(Err(kind));
            }
        }
    }
}

/// An answer's body, with what the hooks report of it.
pub(super) struct Answer {
    pub(super) body: Bytes,
    /// The frame's size on the wire, length prefix included.
    pub(super) bytes: usize,
    /// From writing the request to reading the whole answer.
    pub(super) latency: Duration,
}

pub(super) enum Command {
    Request(Outgoing),
    /// The in-band re-authentication ended (with the new session
    /// lifetime, or why it failed).
    Reauthenticated(std::result::Result<Option<Duration>, ConnectFailure>),
    Close,
}

pub(super) struct Shared {
    pub(super) broker: BrokerRef,
    pub(super) versions: BrokerVersions,
    pub(super) options: ConnectionOptions,
    pub(super) throttled_until: Mutex<Option<Instant>>,
    pub(super) failure: OnceLock<ConnectionFailure>,
    pub(super) closed: AtomicBool,
    pub(super) done: watch::Receiver<bool>,
}

impl Shared {
    /// This connection's request header for `api` at `version`, with
    /// correlation id 0: the connection task writes the real one into
    /// every frame just before writing it.
    pub(super) fn request_header(&self, api: ApiKey, version: i16) -> RequestHeader<'_> {
        RequestHeader {
            api_key: api,
            api_version: version,
            correlation_id: 0,
            client_id: Some(&self.options.client_id),
        }
    }
}

/// A handle to a broker connection. Clones share the connection; it
/// closes when every handle is dropped, or on [`close`](Self::close).
#[derive(Clone)]
pub struct BrokerConnection {
    pub(super) shared: Arc<Shared>,
    pub(super) commands: mpsc::UnboundedSender<Command>,
}

impl std::fmt::Debug for BrokerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerConnection")
            .field("broker", &self.shared.broker)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl BrokerConnection {
    /// Starts the connection task on an established transport.
    pub(crate) fn spawn(
        established: Established,
        broker: BrokerRef,
        options: ConnectionOptions,
    ) -> Self {
        let (commands, rx) = mpsc::unbounded_channel();
        let (done_tx, done) = watch::channel(false);
        let shared = Arc::new(Shared {
            broker,
            versions: established.versions.clone(),
            options,
            throttled_until: Mutex::new(None),
            failure: OnceLock::new(),
            closed: AtomicBool::new(false),
            done,
        });
        super::driver::start(established, Arc::clone(&shared), &commands, rx, done_tx);
        BrokerConnection { shared, commands }
    }

    /// Whether `other` is a handle to this very connection.
    pub(crate) fn same_connection(&self, other: &BrokerConnection) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// The broker this connection goes to.
    pub fn broker(&self) -> &BrokerRef {
        &self.shared.broker
    }

    /// The API versions the broker announced.
    pub fn versions(&self) -> &BrokerVersions {
        &self.shared.versions
    }

    /// The highest version of `api` both sides support.
    pub fn version(&self, api: ApiKey) -> Result<i16> {
        self.shared.versions.negotiate(api).map_err(|e| {
            Error::from(e)
                .with_api(api)
                .with_broker(self.shared.broker.clone())
        })
    }

    /// The default timeout of requests on this connection (`request.timeout.ms`).
    pub fn request_timeout(&self) -> Duration {
        self.shared.options.request_timeout
    }

    /// Whether the connection has failed or been closed.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire) || self.commands.is_closed()
    }

    /// Why the connection failed, once it has.
    pub fn failure(&self) -> Option<ConnectionFailure> {
        self.shared.failure.get().cloned()
    }

    /// Sends `request` at the highest version both sides support and
    /// waits for the answer (within `request.timeout.ms`).
    pub async fn send<R>(&self, request: &R) -> Result<R::Response>
    where
        R: Request,
        R::Response: BoundedResponse,
    {
        self.enqueue(request)?.await
    }

    /// Queues `request` (at the highest version both sides support) now,
    /// before returning, and gives back the future of its answer.
    ///
    /// Requests queued one after the other on a connection are written in
    /// that order, whenever their futures are polled: the producer relies
    /// on it to keep a partition's batches in sequence order.
    pub fn enqueue<R>(
        &self,
        request: &R,
    ) -> Result<impl Future<Output = Result<R::Response>> + Send + 'static>
    where
        R: Request,
        R::Response: BoundedResponse,
    {
        let api = <R::Response as BoundedResponse>::API_KEY;
        let version = self.version(api)?;
        self.enqueue_at(request, version, self.shared.options.request_timeout, false)
    }

    /// Sends `request` at `version` with its own timeout.
    pub async fn send_at<R>(
        &self,
        request: &R,
        version: i16,
        timeout: Duration,
    ) -> Result<R::Response>
    where
        R: Request,
        R::Response: BoundedResponse,
    {
        self.enqueue_at(request, version, timeout, false)?.await
    }

    /// Queues a request the broker does not answer (Produce with
    /// `acks=0`) at the highest version both sides support. It is done
    /// once it is handed to the socket writer; nothing tells whether the
    /// broker applied it.
    pub async fn send_without_response<R>(&self, request: &R) -> Result<()>
    where
        R: Request,
        R::Response: BoundedResponse,
    {
        let api = <R::Response as BoundedResponse>::API_KEY;
        let version = self.version(api)?;
        let frame = self.encode(api, version, request)?;
        self.write_without_response(api, version, frame).await
    }

    /// Queues a request, encoded by `encode` from the request header, that
    /// the broker does not answer; done once handed to the socket writer.
    pub(crate) async fn send_encoded_without_response(
        &self,
        api: ApiKey,
        encode: impl FnOnce(&RequestHeader<'_>) -> std::result::Result<SplitFrame, ProtocolError>,
    ) -> Result<()> {
        let version = self.version(api)?;
        let frame = self.encode_with(api, version, encode)?;
        self.write_without_response(api, version, frame).await
    }

    async fn write_without_response(
        &self,
        api: ApiKey,
        version: i16,
        frame: SplitFrame,
    ) -> Result<()> {
        let (tx, rx) = oneshot::channel();
        self.push(Outgoing {
            frame: Frame::Ready(frame),
            api,
            version,
            timeout: self.shared.options.request_timeout,
            reply: Reply::Written(tx),
            auth: false,
        })?;
        match rx.await {
            Ok(result) => result.map_err(|kind| self.context(api, Error::new(kind))),
            Err(_) => Err(self.context(api, self.closed_error())),
        }
    }

    /// A request of the in-band re-authentication.
    pub(crate) async fn send_for_reauthentication<R>(
        &self,
        request: &R,
        version: i16,
    ) -> Result<R::Response>
    where
        R: Request,
        R::Response: BoundedResponse,
    {
        self.enqueue_at(request, version, self.shared.options.request_timeout, true)?
            .await
    }

    fn context(&self, api: ApiKey, error: Error) -> Error {
        error.with_api(api).with_broker(self.shared.broker.clone())
    }

    fn encode<R: Request>(&self, api: ApiKey, version: i16, request: &R) -> Result<SplitFrame> {
        self.encode_with(api, version, |header| {
            let mut frame = BytesMut::new();
            encode_request(&mut frame, header, request)?;
            Ok(SplitFrame::whole(frame))
        })
    }

    /// Runs `encode` with this connection's request header at `version`.
    fn encode_with(
        &self,
        api: ApiKey,
        version: i16,
        encode: impl FnOnce(&RequestHeader<'_>) -> std::result::Result<SplitFrame, ProtocolError>,
    ) -> Result<SplitFrame> {
        let header = self.shared.request_header(api, version);
        // Our request, not the broker's bytes: a field the negotiated
        // version cannot carry is the caller's mistake, not a malformed response.
        encode(&header)
            .map_err(|e| self.context(api, Error::new(ErrorKind::InvalidArgument(e.to_string()))))
    }

    fn push(&self, outgoing: Outgoing) -> Result<()> {
        let api = outgoing.api;
        self.commands
            .send(Command::Request(outgoing))
            .map_err(|_| self.context(api, self.closed_error()))
    }

    /// As [`enqueue`](Self::enqueue), for a request written by `encode`
    /// from the request header instead of a message struct (the producer
    /// writes Produce requests around its record batches, which are never
    /// copied). `encode` runs in the connection task right before the
    /// request is written, at the highest common version (known now):
    /// until then the caller may still change what it will write. An
    /// encoding error fails the request.
    pub(crate) fn enqueue_encoded_late<Resp>(
        &self,
        encode: EncodeFrame,
    ) -> Result<impl Future<Output = Result<Resp>> + Send + 'static>
    where
        Resp: BoundedResponse,
    {
        let api = <Resp as BoundedResponse>::API_KEY;
        let version = self.version(api)?;
        self.enqueue_frame::<Resp>(
            Frame::Late(encode),
            version,
            self.shared.options.request_timeout,
            false,
        )
    }

    fn enqueue_at<R>(
        &self,
        request: &R,
        version: i16,
        timeout: Duration,
        auth: bool,
    ) -> Result<impl Future<Output = Result<R::Response>> + Send + 'static>
    where
        R: Request,
        R::Response: BoundedResponse,
    {
        let api = <R::Response as BoundedResponse>::API_KEY;
        let frame = self.encode(api, version, request)?;
        self.enqueue_frame::<R::Response>(Frame::Ready(frame), version, timeout, auth)
    }

    fn enqueue_frame<Resp>(
        &self,
        frame: Frame,
        version: i16,
        timeout: Duration,
        auth: bool,
    ) -> Result<impl Future<Output = Result<Resp>> + Send + 'static>
    where
        Resp: BoundedResponse,
    {
        let api = <Resp as BoundedResponse>::API_KEY;
        let (tx, answer) = oneshot::channel();
        self.push(Outgoing {
            frame,
            api,
            version,
            timeout,
            reply: Reply::Answer(tx),
            auth,
        })?;
        let conn = self.clone();
        Ok(async move {
            let Answer {
                mut body,
                bytes,
                latency,
            } = match answer.await {
                Ok(result) => result.map_err(|kind| conn.context(api, Error::new(kind)))?,
                Err(_) => return Err(conn.context(api, conn.closed_error())),
            };
            let response = decode_response::<Resp>(&mut body, version).map_err(|e| {
                conn.context(
                    api,
                    Error::from(ferrokafka_protocol::ProtocolError::from(e)),
                )
            })?;
            let throttle = Duration::from_millis(response.throttle_time_ms().max(0) as u64);
            if !throttle.is_zero() {
                conn.throttle(throttle);
            }
            conn.shared.options.hooks.each(|h| {
                h.on_response_read(&ResponseRead {
                    broker: &conn.shared.broker,
                    api: Api::of(api),
                    version,
                    bytes,
                    latency,
                    throttle,
                })
            });
            Ok(response)
        })
    }

    /// Holds further requests until `duration` has passed.
    fn throttle(&self, duration: Duration) {
        let until = Instant::now() + duration;
        let mut slot = self
            .shared
            .throttled_until
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if slot.is_none_or(|t| t < until) {
            *slot = Some(until);
        }
    }

    /// Until when the broker asked us to hold requests, if it did.
    pub fn throttled_until(&self) -> Option<std::time::Instant> {
        self.shared.throttled_until().map(Instant::into_std)
    }

    fn closed_error(&self) -> Error {
        let failure = self
            .shared
            .failure
            .get()
            .cloned()
            .unwrap_or(ConnectionFailure::ClosedByClient);
        Error::new(ErrorKind::Connection(failure)).with_broker(self.shared.broker.clone())
    }

    /// Closes the connection cleanly: new requests are refused, requests
    /// already queued or in flight get their answers (or time out), then
    /// the socket is shut down. Returns when the connection task has ended.
    pub async fn close(&self) {
        let _ = self.commands.send(Command::Close);
        let mut done = self.shared.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }
}

impl Shared {
    pub(super) fn throttled_until(&self) -> Option<Instant> {
        let until = *self
            .throttled_until
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        until.filter(|t| *t > Instant::now())
    }
}
