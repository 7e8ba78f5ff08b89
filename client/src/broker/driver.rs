//! The task behind each [`BrokerConnection`]: it writes queued requests in
//! order (holding them back for the in-flight cap, a throttle or a
//! re-authentication), matches answers to requests by correlation id,
//! expires deadlines, closes idle connections, and re-authenticates in
//! band (KIP-368). A second task writes frames to the socket, so a large
//! request being written never stops answers from being read.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use ferrokafka_protocol::frame::FrameDecoder;
use ferrokafka_protocol::header::{
    decode_response_header, peek_correlation_id, response_header_version,
    set_request_correlation_id,
};
use ferrokafka_protocol::messages::ApiKey;
use ferrokafka_protocol::produce::SplitFrame;
use tokio::io::{AsyncReadExt, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::Instant;

use super::connection::{Answer, BrokerConnection, Command, Frame, Outgoing, Reply, Shared};
use super::handshake::{authenticate, Established, SaslChannel};
use crate::error::{ConnectFailure, ConnectionFailure, ErrorKind};
use crate::hooks::{BrokerDisconnected, RequestWritten};
use crate::transport::BoxTransport;
use crate::types::Api;

/// Starts the connection task (and its writer) on `established`.
pub(super) fn start(
    established: Established,
    shared: Arc<Shared>,
    commands: &mpsc::UnboundedSender<Command>,
    rx: mpsc::UnboundedReceiver<Command>,
    done: watch::Sender<bool>,
) {
    let reauth_at = reauthenticate_at(established.session_lifetime);
    let max_in_flight = shared.options.max_in_flight.max(1);
    let (read, write) = tokio::io::split(established.transport);
    let (frames_tx, frames_rx) = mpsc::unbounded_channel();
    let (write_err_tx, write_err_rx) = oneshot::channel();
    tokio::spawn(write_loop(write, frames_rx, write_err_tx));
    let driver = Driver {
        shared,
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
        let _ = done.send(true);
    });
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
