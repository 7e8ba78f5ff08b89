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

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::bounded::{decode_response, BoundedResponse};
use ferrokafka_protocol::frame::FrameDecoder;
use ferrokafka_protocol::header::{
    decode_response_header, encode_request, peek_correlation_id, response_header_version,
    set_request_correlation_id, RequestHeader,
};
use ferrokafka_protocol::messages::ApiKey;
use ferrokafka_protocol::produce::SplitFrame;
use ferrokafka_protocol::versions::BrokerVersions;
use ferrokafka_protocol::ProtocolError;
use kafka_protocol::protocol::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::handshake::{authenticate, Established, SaslChannel};
use crate::error::{BrokerRef, ConnectFailure, ConnectionFailure, Error, ErrorKind, Result};
use crate::hooks::{BrokerDisconnected, HookSet, RequestWritten, ResponseRead};
use crate::transport::BoxTransport;
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
enum Frame {
    Ready(SplitFrame),
    /// Encoded by the connection task just before it is written, so that
    /// the caller can add to the request while it waits in the queue (the
    /// producer puts several partitions' batches in one Produce request).
    Late(EncodeFrame),
}

/// A request on its way to the connection task.
struct Outgoing {
    frame: Frame,
    api: ApiKey,
    version: i16,
    timeout: Duration,
    /// `None` for a request the broker never answers (Produce with
    /// `acks=0`): it is done once handed to the writer.
    reply: Reply,
    /// Part of an in-band re-authentication: written at once, ahead of
    /// the queue, and its bytes are zeroed once written.
    auth: bool,
}

enum Reply {
    Answer(oneshot::Sender<Result<Answer, ErrorKind>>),
    Written(oneshot::Sender<Result<(), ErrorKind>>),
}

impl Reply {
    fn fail(self, kind: ErrorKind) {
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
struct Answer {
    body: Bytes,
    /// The frame's size on the wire, length prefix included.
    bytes: usize,
    /// From writing the request to reading the whole answer.
    latency: Duration,
}

enum Command {
    Request(Outgoing),
    /// The in-band re-authentication ended (with the new session
    /// lifetime, or why it failed).
    Reauthenticated(std::result::Result<Option<Duration>, ConnectFailure>),
    Close,
}

struct Shared {
    broker: BrokerRef,
    versions: BrokerVersions,
    options: ConnectionOptions,
    throttled_until: Mutex<Option<Instant>>,
    failure: OnceLock<ConnectionFailure>,
    closed: AtomicBool,
    done: watch::Receiver<bool>,
}

impl Shared {
    /// This connection's request header for `api` at `version`, with
    /// correlation id 0: the connection task writes the real one into
    /// every frame just before writing it.
    fn request_header(&self, api: ApiKey, version: i16) -> RequestHeader<'_> {
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
    shared: Arc<Shared>,
    commands: mpsc::UnboundedSender<Command>,
}

impl std::fmt::Debug for BrokerConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerConnection")
            .field("broker", &self.shared.broker)
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// When to re-authenticate a session of `lifetime`: at 80% of it, minus
/// up to 5% jitter so that many connections do not all pause at once, and
/// at least 2 s before it ends (the answers in flight must come in first)
/// but not before half of it has passed.
fn reauthenticate_at(lifetime: Option<Duration>) -> Option<Instant> {
    lifetime.map(|lifetime| Instant::now() + reauthentication_delay(lifetime, fastrand::f64()))
}

fn reauthentication_delay(lifetime: Duration, random: f64) -> Duration {
    let jitter = lifetime.mul_f64(0.05 * random);
    lifetime
        .mul_f64(0.8)
        .saturating_sub(jitter)
        .min(lifetime.saturating_sub(Duration::from_secs(2)))
        .max(lifetime / 2)
}

#[cfg(test)]
#[test]
fn reauthentication_leaves_room_before_the_session_ends() {
    let hour = Duration::from_secs(3600);
    assert_eq!(reauthentication_delay(hour, 0.0), hour.mul_f64(0.8));
    assert_eq!(reauthentication_delay(hour, 1.0), hour.mul_f64(0.75));
    // Short sessions: 2 s of room when there is time for it, else half.
    let five = Duration::from_secs(5);
    assert_eq!(reauthentication_delay(five, 0.0), Duration::from_secs(3));
    let one = Duration::from_secs(1);
    assert_eq!(reauthentication_delay(one, 0.5), Duration::from_millis(500));
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
        let reauth_at = reauthenticate_at(established.session_lifetime);
        let max_in_flight = options.max_in_flight.max(1);
        let shared = Arc::new(Shared {
            broker,
            versions: established.versions,
            options,
            throttled_until: Mutex::new(None),
            failure: OnceLock::new(),
            closed: AtomicBool::new(false),
            done,
        });
        let (read, write) = tokio::io::split(established.transport);
        let (frames_tx, frames_rx) = mpsc::unbounded_channel();
        let (write_err_tx, write_err_rx) = oneshot::channel();
        tokio::spawn(write_loop(write, frames_rx, write_err_tx));
        let driver = Driver {
            shared: Arc::clone(&shared),
            commands: commands.downgrade(),
            reader: read,
            read_buf: established.read_buf,
            decoder: established.decoder,
            frames: frames_tx,
            queue: VecDeque::new(),
            max_in_flight,
            pending: HashMap::new(),
            deadlines: BTreeSet::new(),
            next_correlation_id: 1,
            closing: false,
            last_activity: Instant::now(),
            reauth: Reauth::Scheduled(reauth_at),
            started: Instant::now(),
        };
        tokio::spawn(async move {
            driver.run(rx, write_err_rx).await;
            let _ = done_tx.send(true);
        });
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
    pub fn throttled_until(&self) -> Option<Instant> {
        self.shared.throttled_until()
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
    fn throttled_until(&self) -> Option<Instant> {
        let until = *self
            .throttled_until
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        until.filter(|t| *t > Instant::now())
    }
}

/// Runs the SASL exchange again on `conn` (KIP-368) and reports the
/// outcome to its connection task.
async fn reauthenticate(conn: BrokerConnection, sasl: Arc<crate::security::SaslAuth>) {
    let outcome = authenticate(&mut SaslChannel::InBand(&conn), &sasl).await;
    match &outcome {
        Ok(lifetime) => {
            tracing::debug!(broker = %conn.shared.broker, ?lifetime, "re-authenticated (KIP-368)");
        }
        Err(failure) => {
            tracing::warn!(broker = %conn.shared.broker, %failure, "re-authentication (KIP-368) failed; closing the connection");
        }
    }
    let _ = conn.commands.send(Command::Reauthenticated(outcome));
}

/// Where the connection stands with KIP-368 re-authentication.
enum Reauth {
    /// Due at this instant (never without a session lifetime).
    Scheduled(Option<Instant>),
    /// Due: no new request is written until the answers in flight are in.
    Draining,
    /// The SASL exchange is running; only its requests are written.
    Running,
}

struct Pending {
    api: ApiKey,
    version: i16,
    written_at: Instant,
    deadline: Instant,
    timeout: Duration,
    reply: oneshot::Sender<Result<Answer, ErrorKind>>,
}

struct Driver {
    shared: Arc<Shared>,
    /// To hand the re-authentication task a handle without keeping the
    /// connection alive on its own.
    commands: mpsc::WeakUnboundedSender<Command>,
    reader: ReadHalf<BoxTransport>,
    read_buf: BytesMut,
    decoder: FrameDecoder,
    frames: mpsc::UnboundedSender<(SplitFrame, bool)>,
    /// Requests waiting for room in flight, a throttle, or re-authentication.
    queue: VecDeque<Outgoing>,
    max_in_flight: usize,
    pending: HashMap<i32, Pending>,
    deadlines: BTreeSet<(Instant, i32)>,
    next_correlation_id: i32,
    closing: bool,
    last_activity: Instant,
    reauth: Reauth,
    /// When the connection task started (for the disconnect hook).
    started: Instant,
}

impl Driver {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut write_failed: oneshot::Receiver<std::io::Error>,
    ) {
        let mut failure = loop {
            if let Err(failure) = self.progress() {
                break failure;
            }
            if self.closing && self.pending.is_empty() && self.queue.is_empty() {
                break ConnectionFailure::ClosedByClient;
            }
            let wake = self.next_wake();
            // Once a frame's length is known, room for all of it at once:
            // one allocation per frame, no regrowth while it arrives.
            let want = self
                .decoder
                .needed()
                .saturating_sub(self.read_buf.len())
                .max(8 * 1024);
            self.read_buf.reserve(want);
            tokio::select! {
                command = commands.recv() => match command {
                    Some(command) => {
                        if let Err(failure) = self.command(command) {
                            break failure;
                        }
                    }
                    // Every handle is gone: nobody waits for anything.
                    None => break ConnectionFailure::ClosedByClient,
                },
                read = self.reader.read_buf(&mut self.read_buf) => match read {
                    Ok(0) => break ConnectionFailure::ClosedByPeer,
                    Ok(_) => {
                        if let Err(failure) = self.frames_in() {
                            break failure;
                        }
                    }
                    Err(e) => break ConnectionFailure::Io(Arc::new(e)),
                },
                _ = tokio::time::sleep_until(wake) => {
                    if let Some(failure) = self.expire() {
                        break failure;
                    }
                }
                error = &mut write_failed => match error {
                    Ok(e) => break ConnectionFailure::Io(Arc::new(e)),
                    // The writer ended without error: only after we dropped it.
                    Err(_) => break ConnectionFailure::ClosedByClient,
                },
            }
        };
        self.shared.closed.store(true, Ordering::Release);
        for (_, pending) in self.pending.drain() {
            let _ = pending
                .reply
                .send(Err(ErrorKind::Connection(failure.clone())));
        }
        if matches!(self.reauth, Reauth::Running) {
            // The broker closes the socket right after refusing a
            // re-authentication: its verdict says more than the socket.
            if let Some(Err(refused)) = self.reauthentication_verdict(&mut commands).await {
                failure = ConnectionFailure::Reauthentication(Arc::new(refused));
            }
        }
        let _ = self.shared.failure.set(failure.clone());
        tracing::debug!(broker = %self.shared.broker, %failure, "connection closed");
        self.shared.options.hooks.each(|h| {
            h.on_broker_disconnect(&BrokerDisconnected {
                broker: &self.shared.broker,
                reason: &failure,
                lifetime: self.started.elapsed(),
            })
        });
        // Fail what is still queued, with the same reason.
        for outgoing in self.queue.drain(..) {
            outgoing.reply.fail(ErrorKind::Connection(failure.clone()));
        }
        commands.close();
        while let Ok(command) = commands.try_recv() {
            if let Command::Request(outgoing) = command {
                outgoing.reply.fail(ErrorKind::Connection(failure.clone()));
            }
        }
        // Dropping `frames` ends the writer, which shuts the socket down.
    }

    /// Waits (briefly) for the running re-authentication to end; requests
    /// arriving meanwhile join the queue, to be failed with the rest.
    async fn reauthentication_verdict(
        &mut self,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> Option<std::result::Result<Option<Duration>, ConnectFailure>> {
        let wait = async {
            loop {
                match commands.recv().await? {
                    Command::Reauthenticated(outcome) => return Some(outcome),
                    Command::Request(outgoing) => self.queue.push_back(outgoing),
                    Command::Close => {}
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(1), wait)
            .await
            .ok()
            .flatten()
    }

    fn next_wake(&self) -> Instant {
        let mut wake = match self.deadlines.first() {
            Some((deadline, _)) => *deadline,
            None => self.last_activity + self.shared.options.max_idle,
        };
        if let Reauth::Scheduled(Some(at)) = self.reauth {
            wake = wake.min(at);
        }
        if !self.queue.is_empty() {
            if let Some(until) = self.shared.throttled_until() {
                wake = wake.min(until);
            }
        }
        wake
    }

    /// Moves re-authentication along and writes what the queue may write.
    fn progress(&mut self) -> Result<(), ConnectionFailure> {
        if self.closing && matches!(self.reauth, Reauth::Draining) {
            // Closing: the queue drains, the session need not outlive it.
            self.reauth = Reauth::Scheduled(None);
        }
        if let Reauth::Scheduled(Some(at)) = self.reauth {
            if !self.closing && Instant::now() >= at {
                self.reauth = Reauth::Draining;
            }
        }
        if matches!(self.reauth, Reauth::Draining) && self.pending.is_empty() {
            let sasl = self.shared.options.sasl.clone();
            let handle = self.commands.upgrade();
            match (sasl, handle) {
                (Some(sasl), Some(commands)) => {
                    self.reauth = Reauth::Running;
                    let conn = BrokerConnection {
                        shared: Arc::clone(&self.shared),
                        commands,
                    };
                    tokio::spawn(reauthenticate(conn, sasl));
                }
                // No SASL settings (cannot happen with a lifetime) or no
                // handle left: nothing to re-authenticate for.
                _ => self.reauth = Reauth::Scheduled(None),
            }
        }
        if !matches!(self.reauth, Reauth::Scheduled(_)) {
            return Ok(());
        }
        while self.pending.len() < self.max_in_flight && !self.queue.is_empty() {
            if self.shared.throttled_until().is_some() {
                break;
            }
            let Some(outgoing) = self.queue.pop_front() else {
                break;
            };
            self.write(outgoing)?;
        }
        Ok(())
    }

    fn command(&mut self, command: Command) -> Result<(), ConnectionFailure> {
        self.last_activity = Instant::now();
        match command {
            Command::Close => self.closing = true,
            Command::Request(outgoing) if outgoing.auth => self.write(outgoing)?,
            Command::Request(outgoing) if self.closing => {
                outgoing
                    .reply
                    .fail(ErrorKind::Connection(ConnectionFailure::ClosedByClient));
            }
            Command::Request(outgoing) => self.queue.push_back(outgoing),
            Command::Reauthenticated(Ok(lifetime)) => {
                self.reauth = Reauth::Scheduled(reauthenticate_at(lifetime));
            }
            Command::Reauthenticated(Err(failure)) => {
                return Err(ConnectionFailure::Reauthentication(Arc::new(failure)));
            }
        }
        Ok(())
    }

    /// Assigns a correlation id and hands the frame to the writer.
    fn write(&mut self, outgoing: Outgoing) -> Result<(), ConnectionFailure> {
        let Outgoing {
            frame,
            api,
            version,
            timeout,
            reply,
            auth,
        } = outgoing;
        let mut frame = match frame {
            Frame::Ready(frame) => frame,
            Frame::Late(encode) => {
                match encode(&self.shared.request_header(api, version)) {
                    Ok(frame) => frame,
                    Err(e) => {
                        // The caller's request, not the connection, is at fault.
                        reply.fail(ErrorKind::InvalidArgument(e.to_string()));
                        return Ok(());
                    }
                }
            }
        };
        let id = self.next_correlation_id;
        if let Err(e) = set_request_correlation_id(&mut frame.head, id) {
            // The caller's frame, not the connection, is at fault.
            reply.fail(ErrorKind::InvalidArgument(e.to_string()));
            return Ok(());
        }
        self.next_correlation_id = self.next_correlation_id.wrapping_add(1).max(1);
        let now = Instant::now();
        self.last_activity = now;
        let bytes = frame.len();
        if self.frames.send((frame, auth)).is_err() {
            // The writer is gone; its error (if any) arrives next.
            reply.fail(ErrorKind::Connection(ConnectionFailure::ClosedByPeer));
            return Ok(());
        }
        self.shared.options.hooks.each(|h| {
            h.on_request_written(&RequestWritten {
                broker: &self.shared.broker,
                api: Api::of(api),
                version,
                bytes,
            })
        });
        match reply {
            Reply::Written(tx) => {
                let _ = tx.send(Ok(()));
            }
            Reply::Answer(reply) => {
                let deadline = now + timeout;
                self.deadlines.insert((deadline, id));
                self.pending.insert(
                    id,
                    Pending {
                        api,
                        version,
                        written_at: now,
                        deadline,
                        timeout,
                        reply,
                    },
                );
            }
        }
        Ok(())
    }

    /// Hands every complete frame in the buffer to its request.
    fn frames_in(&mut self) -> Result<(), ConnectionFailure> {
        while let Some(frame) = self
            .decoder
            .decode(&mut self.read_buf)
            .map_err(ConnectionFailure::Frame)?
        {
            self.last_activity = Instant::now();
            let id = peek_correlation_id(&frame).ok_or_else(|| {
                ConnectionFailure::MalformedHeader(
                    format!(
                        "a response frame of {} bytes has no correlation id",
                        frame.len()
                    )
                    .into(),
                )
            })?;
            let pending = self
                .pending
                .remove(&id)
                .ok_or(ConnectionFailure::UnexpectedCorrelationId(id))?;
            self.deadlines.remove(&(pending.deadline, id));
            let header_version = response_header_version(pending.api, pending.version);
            let bytes = frame.len() + 4;
            match decode_response_header(frame, header_version) {
                Ok((_, body)) => {
                    let _ = pending.reply.send(Ok(Answer {
                        body,
                        bytes,
                        latency: pending.written_at.elapsed(),
                    }));
                }
                Err(e) => {
                    let failure = ConnectionFailure::MalformedHeader(e.to_string().into());
                    let _ = pending
                        .reply
                        .send(Err(ErrorKind::Connection(failure.clone())));
                    return Err(failure);
                }
            }
        }
        Ok(())
    }

    /// Fails timed-out requests; a timeout closes the connection.
    fn expire(&mut self) -> Option<ConnectionFailure> {
        let now = Instant::now();
        let mut expired = false;
        while let Some(&(deadline, id)) = self.deadlines.first() {
            if deadline > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(pending) = self.pending.remove(&id) {
                let _ = pending.reply.send(Err(ErrorKind::Timeout(pending.timeout)));
                expired = true;
            }
        }
        if expired {
            return Some(ConnectionFailure::ClosedAfterTimeout);
        }
        if self.pending.is_empty()
            && self.queue.is_empty()
            && now >= self.last_activity + self.shared.options.max_idle
        {
            return Some(ConnectionFailure::Idle);
        }
        None
    }
}

async fn write_loop(
    mut writer: WriteHalf<BoxTransport>,
    mut frames: mpsc::UnboundedReceiver<(SplitFrame, bool)>,
    failed: oneshot::Sender<std::io::Error>,
) {
    while let Some((mut frame, secret)) = frames.recv().await {
        let mut result = writer.write_all(&frame.head).await;
        // Record batches come as pieces of their own: written as they are,
        // never copied into one buffer.
        for piece in &frame.tail {
            if result.is_err() {
                break;
            }
            result = writer.write_all(piece).await;
        }
        if secret {
            // A SASL frame may carry a password (PLAIN) or a SCRAM proof;
            // it is written whole, in `head`.
            zeroize::Zeroize::zeroize(&mut frame.head[..]);
        }
        if result.is_ok() && frames.is_empty() {
            result = writer.flush().await;
        }
        if let Err(e) = result {
            let _ = failed.send(e);
            return;
        }
    }
    let _ = writer.shutdown().await;
}
