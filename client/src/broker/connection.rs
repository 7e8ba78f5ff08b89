//! A connection to one broker, driven by one tokio task.
//!
//! [`BrokerConnection`] is a cheap, clonable handle. Requests are encoded
//! by the caller, handed to the connection task, written in order by a
//! writer task, and matched to their answers by correlation id, so many
//! can be in flight at once (up to `max.in.flight.requests.per.connection`;
//! further callers wait). Each request has its own deadline.
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

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::bounded::{decode_response, BoundedResponse};
use ferrokafka_protocol::frame::FrameDecoder;
use ferrokafka_protocol::header::{
    decode_response_header, encode_request, peek_correlation_id, response_header_version,
    RequestHeader,
};
use ferrokafka_protocol::messages::{self, ApiKey};
use ferrokafka_protocol::versions::BrokerVersions;
use kafka_protocol::protocol::Request;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot, watch, OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;

use super::handshake::Established;
use crate::error::{BrokerRef, ConnectionFailure, Error, ErrorKind, Result};
use crate::transport::BoxTransport;

/// A response the client can decode: bounded decoding plus the throttle
/// time the broker asked for.
pub trait KafkaResponse: BoundedResponse {
    /// `throttle_time_ms`, or 0 for responses without one.
    fn throttle_time_ms(&self) -> i32;
}

macro_rules! throttled {
    ($($ty:ident),* $(,)?) => {$(
        impl KafkaResponse for messages::$ty {
            fn throttle_time_ms(&self) -> i32 {
                self.throttle_time_ms
            }
        }
    )*};
}

throttled!(
    ApiVersionsResponse,
    MetadataResponse,
    ProduceResponse,
    FetchResponse,
    ListOffsetsResponse,
    DeleteRecordsResponse,
    CreateTopicsResponse,
    DeleteTopicsResponse,
    CreatePartitionsResponse,
    DescribeConfigsResponse,
    InitProducerIdResponse,
    FindCoordinatorResponse,
    OffsetCommitResponse,
    OffsetFetchResponse,
    JoinGroupResponse,
    SyncGroupResponse,
    HeartbeatResponse,
    LeaveGroupResponse,
    OffsetForLeaderEpochResponse,
    DescribeClusterResponse,
);

impl KafkaResponse for messages::SaslHandshakeResponse {
    fn throttle_time_ms(&self) -> i32 {
        0
    }
}

impl KafkaResponse for messages::SaslAuthenticateResponse {
    fn throttle_time_ms(&self) -> i32 {
        0
    }
}

/// Settings of one connection.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionOptions {
    pub(crate) client_id: Arc<str>,
    pub(crate) request_timeout: Duration,
    pub(crate) max_in_flight: usize,
    pub(crate) max_idle: Duration,
    /// SASL authentication run on every new connection.
    pub(crate) sasl: Option<Arc<crate::security::SaslAuth>>,
}

enum Command {
    Request {
        frame: BytesMut,
        api: ApiKey,
        version: i16,
        timeout: Duration,
        reply: oneshot::Sender<Result<Bytes, ErrorKind>>,
        permit: OwnedSemaphorePermit,
    },
    Close,
}

struct Shared {
    /// When new requests should move to a new connection (SASL session
    /// lifetime).
    replace_after: Option<Instant>,
    broker: BrokerRef,
    versions: BrokerVersions,
    options: ConnectionOptions,
    in_flight: Arc<Semaphore>,
    throttled_until: Mutex<Option<Instant>>,
    failure: OnceLock<ConnectionFailure>,
    closed: AtomicBool,
    done: watch::Receiver<bool>,
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

impl BrokerConnection {
    /// Starts the connection task on an established transport.
    pub(crate) fn spawn(
        established: Established,
        broker: BrokerRef,
        options: ConnectionOptions,
    ) -> Self {
        let (commands, rx) = mpsc::unbounded_channel();
        let (done_tx, done) = watch::channel(false);
        // KIP-368: the broker closes a connection whose SASL session has
        // expired. New requests move to a fresh (re-authenticated)
        // connection at 80% of the lifetime, minus up to 5% jitter;
        // requests in flight on the old one finish there.
        let replace_after = established.session_lifetime.map(|lifetime| {
            let jitter = lifetime.mul_f64(0.05 * fastrand::f64());
            Instant::now() + lifetime.mul_f64(0.8).saturating_sub(jitter)
        });
        let shared = Arc::new(Shared {
            replace_after,
            broker,
            versions: established.versions,
            in_flight: Arc::new(Semaphore::new(options.max_in_flight.max(1))),
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
            reader: read,
            read_buf: established.read_buf,
            decoder: established.decoder,
            frames: frames_tx,
            pending: HashMap::new(),
            deadlines: BTreeSet::new(),
            next_correlation_id: 1,
            closing: false,
            last_activity: Instant::now(),
        };
        tokio::spawn(async move {
            driver.run(rx, write_err_rx).await;
            let _ = done_tx.send(true);
        });
        BrokerConnection { shared, commands }
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

    /// Whether the broker's SASL session on this connection is close to
    /// expiring, so that new requests should use a fresh connection.
    pub fn needs_replacement(&self) -> bool {
        self.shared
            .replace_after
            .is_some_and(|at| Instant::now() >= at)
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
        R::Response: KafkaResponse,
    {
        let api = <R::Response as BoundedResponse>::API_KEY;
        let version = self.version(api)?;
        self.send_at(request, version, self.shared.options.request_timeout)
            .await
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
        R::Response: KafkaResponse,
    {
        let api = <R::Response as BoundedResponse>::API_KEY;
        let context = |e: Error| e.with_api(api).with_broker(self.shared.broker.clone());
        let mut body = self
            .round_trip(api, version, timeout, |frame, header| {
                encode_request(frame, header, request)
            })
            .await
            .map_err(context)?;
        let response = decode_response::<R::Response>(&mut body, version)
            .map_err(|e| context(Error::from(ferrokafka_protocol::ProtocolError::from(e))))?;
        let throttle = response.throttle_time_ms();
        if throttle > 0 {
            self.throttle(Duration::from_millis(throttle as u64));
        }
        Ok(response)
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
        let until = *self
            .shared
            .throttled_until
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        until.filter(|t| *t > Instant::now())
    }

    async fn round_trip(
        &self,
        api: ApiKey,
        version: i16,
        timeout: Duration,
        encode: impl FnOnce(
            &mut BytesMut,
            &RequestHeader<'_>,
        ) -> Result<(), ferrokafka_protocol::ProtocolError>,
    ) -> Result<Bytes> {
        if let Some(until) = self.throttled_until() {
            tokio::time::sleep_until(until).await;
        }
        let permit = Arc::clone(&self.shared.in_flight)
            .acquire_owned()
            .await
            .map_err(|_| self.closed_error())?;
        let mut frame = BytesMut::new();
        let header = RequestHeader {
            api_key: api,
            api_version: version,
            correlation_id: 0, // the connection task assigns it
            client_id: Some(&self.shared.options.client_id),
        };
        // Our request, not the broker's bytes: a field the negotiated
        // version cannot carry is the caller's mistake, not a malformed response.
        encode(&mut frame, &header)
            .map_err(|e| Error::new(ErrorKind::InvalidArgument(e.to_string())))?;
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Request {
                frame,
                api,
                version,
                timeout,
                reply,
                permit,
            })
            .map_err(|_| self.closed_error())?;
        match answer.await {
            Ok(result) => result.map_err(Error::new),
            Err(_) => Err(self.closed_error()),
        }
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
    /// in flight get their answers (or time out), then the socket is shut
    /// down. Returns when the connection task has ended.
    pub async fn close(&self) {
        let _ = self.commands.send(Command::Close);
        let mut done = self.shared.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }
}

struct Pending {
    api: ApiKey,
    version: i16,
    deadline: Instant,
    timeout: Duration,
    reply: oneshot::Sender<Result<Bytes, ErrorKind>>,
    _permit: OwnedSemaphorePermit,
}

struct Driver {
    shared: Arc<Shared>,
    reader: ReadHalf<BoxTransport>,
    read_buf: BytesMut,
    decoder: FrameDecoder,
    frames: mpsc::UnboundedSender<Bytes>,
    pending: HashMap<i32, Pending>,
    deadlines: BTreeSet<(Instant, i32)>,
    next_correlation_id: i32,
    closing: bool,
    last_activity: Instant,
}

impl Driver {
    async fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut write_failed: oneshot::Receiver<std::io::Error>,
    ) {
        let failure = loop {
            if self.closing && self.pending.is_empty() {
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
                command = commands.recv(), if !self.closing => match command {
                    Some(command) => self.command(command),
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
        let _ = self.shared.failure.set(failure.clone());
        self.shared.closed.store(true, Ordering::Release);
        tracing::debug!(broker = %self.shared.broker, %failure, "connection closed");
        for (_, pending) in self.pending.drain() {
            let _ = pending
                .reply
                .send(Err(ErrorKind::Connection(failure.clone())));
        }
        // Fail what is still queued, with the same reason.
        commands.close();
        while let Ok(command) = commands.try_recv() {
            if let Command::Request { reply, .. } = command {
                let _ = reply.send(Err(ErrorKind::Connection(failure.clone())));
            }
        }
        // Dropping `frames` ends the writer, which shuts the socket down.
    }

    fn next_wake(&self) -> Instant {
        match self.deadlines.first() {
            Some((deadline, _)) => *deadline,
            None => self.last_activity + self.shared.options.max_idle,
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Close => self.closing = true,
            Command::Request {
                mut frame,
                api,
                version,
                timeout,
                reply,
                permit,
            } => {
                let id = self.next_correlation_id;
                self.next_correlation_id = self.next_correlation_id.wrapping_add(1).max(1);
                // The frame is length (4), api key (2), version (2), correlation id (4).
                frame[8..12].copy_from_slice(&id.to_be_bytes());
                let now = Instant::now();
                let deadline = now + timeout;
                self.last_activity = now;
                if self.frames.send(frame.freeze()).is_err() {
                    let _ = reply.send(Err(ErrorKind::Connection(ConnectionFailure::ClosedByPeer)));
                    return;
                }
                self.deadlines.insert((deadline, id));
                self.pending.insert(
                    id,
                    Pending {
                        api,
                        version,
                        deadline,
                        timeout,
                        reply,
                        _permit: permit,
                    },
                );
            }
        }
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
            match decode_response_header(frame, header_version) {
                Ok((_, body)) => {
                    let _ = pending.reply.send(Ok(body));
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
        if self.pending.is_empty() && now >= self.last_activity + self.shared.options.max_idle {
            return Some(ConnectionFailure::Idle);
        }
        None
    }
}

async fn write_loop(
    mut writer: WriteHalf<BoxTransport>,
    mut frames: mpsc::UnboundedReceiver<Bytes>,
    failed: oneshot::Sender<std::io::Error>,
) {
    while let Some(frame) = frames.recv().await {
        let mut result = writer.write_all(&frame).await;
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
