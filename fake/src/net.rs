//! Listeners and connections: read frames, decode requests, run faults and
//! handlers, write answers. One task per connection; requests on a
//! connection are handled one at a time, in order, as Kafka does.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::bounded::decode_request_kind;
use ferrokafka_protocol::frame::{finish_frame, start_frame, FrameDecoder};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, RequestHeader, RequestKind, ResponseHeader, ResponseKind,
};
use kafka_protocol::protocol::{Decodable, Encodable};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tokio::time::Instant;

use crate::control::{FaultAction, FaultTable, RecordedRequest};
use crate::handlers::{self, ConnState, Ctx, ForcedError, Handled};
use crate::state::{code, ClusterState};

/// What every broker task shares.
pub(crate) struct Shared {
    pub(crate) state: Mutex<ClusterState>,
    pub(crate) faults: Mutex<FaultTable>,
    pub(crate) recorded: Mutex<Vec<RecordedRequest>>,
    pub(crate) record_requests: bool,
    /// Woken after every applied request that may change what a waiting
    /// request (long-poll Fetch, JoinGroup, SyncGroup) would answer.
    pub(crate) changed: Notify,
    pub(crate) max_frame_size: usize,
    pub(crate) next_connection: AtomicU64,
    /// Per broker (by position): whether it serves requests.
    pub(crate) broker_up: Vec<AtomicBool>,
    pub(crate) sasl_required: bool,
    /// Answers the fake could not encode: bugs in the fake, kept so tests
    /// can assert there were none.
    pub(crate) internal_errors: Mutex<Vec<String>>,
    /// Set when the listeners serve TLS only.
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
}

/// How long a TLS client may take over its handshake before the broker
/// closes the connection.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Locks a mutex, ignoring poisoning: a panicking test thread must not
/// take the cluster down with it.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

pub(crate) fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Accepts connections for one broker until `shutdown` fires; acknowledges
/// on `stopped` once the listening socket is closed.
pub(crate) async fn run_listener(
    shared: Arc<Shared>,
    index: usize,
    broker_id: i32,
    listener: std::net::TcpListener,
    mut shutdown: watch::Receiver<bool>,
    stopped: std::sync::mpsc::Sender<()>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(broker_id, "fake broker cannot listen: {e}");
            let _ = stopped.send(());
            return;
        }
    };
    loop {
        tokio::select! {
            _ = shutdown.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let id = shared.next_connection.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(connection(Arc::clone(&shared), index, broker_id, id, stream, shutdown.clone()));
                }
                Err(e) => {
                    tracing::warn!(broker_id, "fake broker accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
    drop(listener);
    let _ = stopped.send(());
}

/// What to do after a request.
enum Step {
    Reply(Bytes),
    ReplyThenClose(Bytes),
    Nothing,
    Close,
    Silence,
}

/// Serves one accepted connection, after its TLS handshake when the
/// listeners serve TLS.
async fn connection(
    shared: Arc<Shared>,
    index: usize,
    broker_id: i32,
    connection: u64,
    stream: TcpStream,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = stream.set_nodelay(true);
    let Some(acceptor) = shared.tls.clone() else {
        let (reader, writer) = stream.into_split();
        return serve(
            shared, index, broker_id, connection, reader, writer, shutdown,
        )
        .await;
    };
    let handshake = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream));
    let stream = tokio::select! {
        _ = shutdown.changed() => return,
        done = handshake => match done {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                // Plaintext clients end here: their first frame is no TLS record.
                tracing::debug!(broker_id, connection, "closing: TLS handshake failed: {e}");
                return;
            }
            Err(_) => {
                tracing::debug!(broker_id, connection, "closing: TLS handshake timed out");
                return;
            }
        },
    };
    let (reader, writer) = tokio::io::split(stream);
    serve(
        shared, index, broker_id, connection, reader, writer, shutdown,
    )
    .await
}

async fn serve(
    shared: Arc<Shared>,
    index: usize,
    broker_id: i32,
    connection: u64,
    mut reader: impl AsyncRead + Unpin,
    mut writer: impl AsyncWrite + Unpin,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut decoder =
        FrameDecoder::with_max_frame_size(shared.max_frame_size).without_protocol_sniffing();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut conn = ConnState {
        authenticated: !shared.sasl_required,
        ..ConnState::default()
    };
    let mut silent = false;
    loop {
        let frame = match decoder.decode(&mut buf) {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                if buf.capacity() - buf.len() < 8 * 1024 {
                    buf.reserve(64 * 1024);
                }
                tokio::select! {
                    biased;
                    _ = shutdown.changed() => return,
                    read = reader.read_buf(&mut buf) => match read {
                        Ok(0) | Err(_) => return,
                        Ok(_) => continue,
                    },
                }
            }
            Err(e) => {
                tracing::debug!(broker_id, connection, "closing connection: {e}");
                return;
            }
        };
        if !shared.broker_up[index].load(Ordering::SeqCst) || *shutdown.borrow() {
            return;
        }
        if silent {
            continue;
        }
        let step = process(
            &shared,
            broker_id,
            connection,
            &mut conn,
            frame,
            &mut shutdown,
        )
        .await;
        match step {
            Step::Reply(bytes) => {
                if writer.write_all(&bytes).await.is_err() {
                    return;
                }
            }
            Step::ReplyThenClose(bytes) => {
                let _ = writer.write_all(&bytes).await;
                let _ = writer.shutdown().await;
                return;
            }
            Step::Nothing => {}
            Step::Close => return,
            Step::Silence => silent = true,
        }
    }
}

async fn process(
    shared: &Shared,
    broker_id: i32,
    connection: u64,
    conn: &mut ConnState,
    frame: Bytes,
    shutdown: &mut watch::Receiver<bool>,
) -> Step {
    if frame.len() < 8 {
        return Step::Close;
    }
    let api_raw = i16::from_be_bytes([frame[0], frame[1]]);
    let version = i16::from_be_bytes([frame[2], frame[3]]);
    let correlation_id = i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]);
    let Ok(api) = ApiKey::try_from(api_raw) else {
        tracing::debug!(broker_id, api_raw, "closing: unknown API key");
        return Step::Close;
    };
    let range = lock(&shared.state).version_range(api);
    match range {
        None => return Step::Close,
        Some((min, max)) if version < min || version > max => {
            if api != ApiKey::ApiVersions {
                tracing::debug!(broker_id, ?api, version, "closing: unsupported version");
                return Step::Close;
            }
            // Answer in the v0 layout, listing the ApiVersions versions we
            // serve, so the client can retry with one of them.
            let answer = ApiVersionsResponse::default()
                .with_error_code(code::UNSUPPORTED_VERSION)
                .with_api_keys(
                    handlers::k18_api_versions::answer(&[(ApiKey::ApiVersions, min, max)]).api_keys,
                );
            return match encode(api, 0, correlation_id, &ResponseKind::ApiVersions(answer)) {
                Ok(bytes) => Step::Reply(bytes),
                Err(_) => Step::Close,
            };
        }
        Some(_) => {}
    }
    let mut body = frame;
    // The header decoder sizes nothing from the wire (the client id is a
    // slice of the frame, tagged fields are read one at a time).
    let header = match RequestHeader::decode(&mut body, api.request_header_version(version)) {
        Ok(header) => header,
        Err(e) => {
            tracing::debug!(
                broker_id,
                connection,
                ?api,
                version,
                "closing: undecodable request header: {e}"
            );
            return Step::Close;
        }
    };
    // Request bodies come from untrusted clients: only the bounded decoder
    // may see them (kafka-protocol's own decoders pre-allocate from wire
    // counts). A body it refuses closes this connection only.
    let request = match decode_request_kind(api, version, &mut body) {
        Ok(request) => request,
        Err(e) => {
            tracing::debug!(
                broker_id,
                connection,
                ?api,
                version,
                "closing: undecodable request: {e}"
            );
            return Step::Close;
        }
    };
    if !conn.authenticated
        && !matches!(
            api,
            ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate
        )
    {
        tracing::debug!(
            broker_id,
            ?api,
            "closing: request before SASL authentication"
        );
        return Step::Close;
    }
    if conn
        .session_expires_at
        .is_some_and(|at| std::time::Instant::now() >= at)
    {
        tracing::debug!(broker_id, ?api, "closing: SASL session expired (KIP-368)");
        return Step::Close;
    }
    let fired = lock(&shared.faults).fire(broker_id, &request);
    let client_id = header.client_id.as_ref().map(|s| s.to_string());
    if shared.record_requests {
        lock(&shared.recorded).push(RecordedRequest {
            broker: broker_id,
            connection,
            api_key: api,
            api_version: version,
            correlation_id,
            client_id: client_id.clone(),
            request: request.clone(),
            fault: fired.as_ref().map(|f| f.action.clone()),
        });
    }
    let action = fired.as_ref().map(|f| f.action.clone());
    match &action {
        Some(FaultAction::CloseBeforeApply) => return Step::Close,
        Some(FaultAction::NeverAnswer) => return Step::Silence,
        Some(FaultAction::RawBytes(bytes)) => return Step::Reply(bytes.clone()),
        _ => {}
    }
    let forced = match fired {
        Some(fired) => match fired.action {
            FaultAction::Error(error) => Some(ForcedError {
                code: error.code(),
                partition: fired.partition,
            }),
            _ => None,
        },
        None => None,
    };
    let may_wait = !matches!(
        action,
        Some(FaultAction::CloseAfterApply | FaultAction::NeverAnswerAfterApply)
    );
    let call = Call {
        api,
        version,
        broker_id,
        client_id: client_id.unwrap_or_default(),
        request: &request,
        forced,
    };
    let Some(handled) = apply(shared, conn, call, may_wait, shutdown).await else {
        return Step::Close;
    };
    match action {
        Some(FaultAction::Delay(delay)) => {
            tokio::select! {
                _ = tokio::time::sleep(delay) => {}
                _ = shutdown.changed() => return Step::Close,
            }
        }
        Some(FaultAction::CloseAfterApply) => return Step::Close,
        Some(FaultAction::NeverAnswerAfterApply) => return Step::Silence,
        _ => {}
    }
    let respond = |response: &ResponseKind| match encode(api, version, correlation_id, response) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            let message = format!("the fake could not encode its {api:?} v{version} answer: {e}");
            tracing::error!("{message}");
            lock(&shared.internal_errors).push(message);
            None
        }
    };
    match handled {
        Handled::Respond(response) => respond(&response).map_or(Step::Close, Step::Reply),
        Handled::RespondThenClose(response) => {
            respond(&response).map_or(Step::Close, Step::ReplyThenClose)
        }
        Handled::NoResponse => Step::Nothing,
        Handled::Close(reason) => {
            tracing::debug!(broker_id, ?api, "closing: {reason}");
            Step::Close
        }
        Handled::Wait(_) => Step::Close,
    }
}

/// One request to apply.
struct Call<'a> {
    api: ApiKey,
    version: i16,
    broker_id: i32,
    client_id: String,
    request: &'a RequestKind,
    forced: Option<ForcedError>,
}

/// Runs the handler, waiting while it asks to (long polls, rebalances).
/// `None` when the broker stopped meanwhile.
async fn apply(
    shared: &Shared,
    conn: &mut ConnState,
    call: Call<'_>,
    may_wait: bool,
    shutdown: &mut watch::Receiver<bool>,
) -> Option<Handled> {
    let mut deadline: Option<Instant> = None;
    loop {
        let notified = shared.changed.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let first_run = deadline.is_none();
        let may_wait_now = may_wait && deadline.is_none_or(|d| Instant::now() < d);
        let handled = {
            let mut state = lock(&shared.state);
            let mut ctx = Ctx {
                state: &mut state,
                conn: &mut *conn,
                broker: call.broker_id,
                version: call.version,
                client_id: call.client_id.clone(),
                now_ms: now_ms(),
                forced: call.forced.clone(),
                may_wait: may_wait_now,
            };
            handlers::handle(&mut ctx, call.request)
        };
        let waiting = matches!(handled, Handled::Wait(_));
        // Fetch changes nothing; a request still waiting changed nothing
        // since its first run. Waking others only for real changes keeps
        // two waiting requests from waking each other forever.
        if call.api != ApiKey::Fetch && (first_run || !waiting) {
            shared.changed.notify_waiters();
        }
        match handled {
            Handled::Wait(wait) if may_wait_now => {
                let until = *deadline.get_or_insert_with(|| Instant::now() + wait);
                tokio::select! {
                    _ = &mut notified => {}
                    _ = tokio::time::sleep_until(until) => {}
                    _ = shutdown.changed() => return None,
                }
            }
            Handled::Wait(_) => {
                // The handler must answer once waiting is over; if it does
                // not, waiting again could never end.
                return Some(Handled::Close(
                    "the handler asked to wait past its deadline",
                ));
            }
            other => return Some(other),
        }
    }
}

/// Frames a response: length, response header, body.
pub(crate) fn encode(
    api: ApiKey,
    version: i16,
    correlation_id: i32,
    response: &ResponseKind,
) -> Result<Bytes, String> {
    let mut out = BytesMut::new();
    let at = start_frame(&mut out);
    let header_version = if api == ApiKey::ApiVersions {
        0
    } else {
        api.response_header_version(version)
    };
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(&mut out, header_version)
        .map_err(|e| e.to_string())?;
    response
        .encode(&mut out, version)
        .map_err(|e| e.to_string())?;
    finish_frame(&mut out, at);
    Ok(out.freeze())
}
