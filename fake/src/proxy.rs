//! [`ChaosProxy`]: a loopback TCP proxy that mistreats the traffic between
//! a client and a real broker, switchable while the traffic flows.
//!
//! - Latency and jitter: every chunk is held back `latency ± jitter`
//!   (order is kept: a chunk never overtakes the one before it).
//! - Bandwidth cap: bytes per second, per direction and connection.
//! - Mid-frame cuts: the next response frame from the broker is forwarded
//!   only up to half its body, then both sides of that connection are
//!   closed, so the client sees a frame end early.
//! - Blackhole: bytes are swallowed in both directions and nothing is
//!   closed (no FIN, no RST), as when a host vanishes; the client only
//!   learns of it by timing out. New connections are accepted and
//!   swallowed too. A connection that lost bytes stays blackholed after
//!   the blackhole is lifted (its stream is out of step); new ones pass.
//!
//! The proxy reads Kafka's 4-byte frame lengths on the broker-to-client
//! direction only to place its cuts; it forwards bytes untouched.
//!
//! ```no_run
//! use std::time::Duration;
//! use ferrokafka_fake::ChaosProxy;
//!
//! // The broker to put the proxy in front of, e.g. a local Nisshi.
//! let broker: std::net::SocketAddr = ([127, 0, 0, 1], 9092).into();
//! let proxy = ChaosProxy::start(broker)?;
//! // Point the client at proxy.addr() instead of the broker, then:
//! proxy.set_latency(Duration::from_millis(20), Duration::from_millis(5));
//! proxy.set_bandwidth(Some(64 * 1024));
//! proxy.cut_next_response_mid_frame();
//! proxy.set_blackhole(true);
//! # Ok::<(), ferrokafka_fake::FakeError>(())
//! ```

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::error::FakeError;
use crate::net::lock;

/// Chunks queued per direction before the reader waits for the writer.
const QUEUE: usize = 256;
/// How long the proxy tries to reach the upstream for a new connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, Default)]
struct Settings {
    latency: Duration,
    jitter: Duration,
    bytes_per_second: Option<u64>,
    blackhole: bool,
}

struct ProxyShared {
    upstream: SocketAddr,
    settings: Mutex<Settings>,
    /// Mid-frame cuts armed and not yet done.
    armed_cuts: AtomicU64,
    cuts_done: AtomicU64,
    accepted: AtomicU64,
    next_id: AtomicU64,
    /// Open connections: id → the switch that closes it.
    connections: Mutex<HashMap<u64, watch::Sender<bool>>>,
}

/// A chaos proxy in front of one upstream address. Stopped (every
/// connection closed) when dropped.
pub struct ChaosProxy {
    shared: Arc<ProxyShared>,
    addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    runtime: Option<Runtime>,
}

impl std::fmt::Debug for ChaosProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChaosProxy")
            .field("addr", &self.addr)
            .field("upstream", &self.shared.upstream)
            .finish_non_exhaustive()
    }
}

impl ChaosProxy {
    /// Starts a proxy on a free loopback port that forwards to `upstream`
    /// (which must be a loopback address), passing traffic untouched until
    /// told otherwise.
    pub fn start(upstream: SocketAddr) -> Result<ChaosProxy, FakeError> {
        if !upstream.ip().is_loopback() {
            return Err(FakeError::Config(format!(
                "the chaos proxy only forwards to loopback addresses, not {upstream}"
            )));
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ferrokafka-proxy")
            .enable_all()
            .build()
            .map_err(FakeError::Runtime)?;
        let wanted = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let bind_error = |source| FakeError::Bind {
            addr: wanted,
            source,
        };
        let listener = std::net::TcpListener::bind(wanted).map_err(bind_error)?;
        listener.set_nonblocking(true).map_err(bind_error)?;
        let addr = listener.local_addr().map_err(bind_error)?;
        let shared = Arc::new(ProxyShared {
            upstream,
            settings: Mutex::new(Settings::default()),
            armed_cuts: AtomicU64::new(0),
            cuts_done: AtomicU64::new(0),
            accepted: AtomicU64::new(0),
            next_id: AtomicU64::new(0),
            connections: Mutex::new(HashMap::new()),
        });
        let (shutdown, shutdown_rx) = watch::channel(false);
        runtime.spawn(accept_loop(Arc::clone(&shared), listener, shutdown_rx));
        Ok(ChaosProxy {
            shared,
            addr,
            shutdown,
            runtime: Some(runtime),
        })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address traffic is forwarded to.
    pub fn upstream(&self) -> SocketAddr {
        self.shared.upstream
    }

    /// Holds every chunk back `latency` plus a uniformly random amount in
    /// `[-jitter, +jitter]` (never below zero), without reordering.
    /// Zero and zero (the default) forward at once.
    pub fn set_latency(&self, latency: Duration, jitter: Duration) {
        let mut settings = lock(&self.shared.settings);
        settings.latency = latency;
        settings.jitter = jitter;
    }

    /// Caps each direction of each connection at this many bytes per
    /// second; `None` (the default) removes the cap.
    ///
    /// # Panics
    /// If the cap is `Some(0)`: that is a blackhole, use
    /// [`set_blackhole`](Self::set_blackhole).
    pub fn set_bandwidth(&self, bytes_per_second: Option<u64>) {
        assert!(
            bytes_per_second != Some(0),
            "a bandwidth of 0 bytes/s is a blackhole; use set_blackhole(true)"
        );
        lock(&self.shared.settings).bytes_per_second = bytes_per_second;
    }

    /// Swallows all traffic without closing anything (see the module docs).
    pub fn set_blackhole(&self, on: bool) {
        lock(&self.shared.settings).blackhole = on;
    }

    /// Arms one mid-frame cut: the next response frame that starts on any
    /// connection is forwarded up to half its body, then that connection
    /// is closed on both sides. Calls add up: three calls cut the next
    /// three frames (on whichever connections they arrive).
    pub fn cut_next_response_mid_frame(&self) {
        self.shared.armed_cuts.fetch_add(1, Ordering::SeqCst);
    }

    /// Cuts armed but not done yet.
    pub fn armed_cuts(&self) -> u64 {
        self.shared.armed_cuts.load(Ordering::SeqCst)
    }

    /// Mid-frame cuts done so far.
    pub fn cuts(&self) -> u64 {
        self.shared.cuts_done.load(Ordering::SeqCst)
    }

    /// Connections accepted so far.
    pub fn connections_accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections open now.
    pub fn open_connections(&self) -> usize {
        lock(&self.shared.connections).len()
    }

    /// Closes every open connection at once, on both sides, wherever its
    /// frames are; returns how many were open.
    pub fn cut_all(&self) -> usize {
        let connections = lock(&self.shared.connections);
        for cut in connections.values() {
            let _ = cut.send(true);
        }
        connections.len()
    }

    /// Back to pass-through: no latency, no cap, no blackhole, no armed
    /// cuts. Open connections are kept (blackholed ones stay silent).
    pub fn reset(&self) {
        *lock(&self.shared.settings) = Settings::default();
        self.shared.armed_cuts.store(0, Ordering::SeqCst);
    }
}

impl Drop for ChaosProxy {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        self.cut_all();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

async fn accept_loop(
    shared: Arc<ProxyShared>,
    listener: std::net::TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    let Ok(listener) = TcpListener::from_std(listener) else {
        tracing::error!("the chaos proxy cannot listen");
        return;
    };
    loop {
        tokio::select! {
            _ = shutdown.changed() => return,
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    shared.accepted.fetch_add(1, Ordering::SeqCst);
                    tokio::spawn(relay(Arc::clone(&shared), client));
                }
                Err(e) => {
                    tracing::warn!("chaos proxy accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
}

/// One proxied connection: four pumps until either side closes or the
/// connection is cut.
async fn relay(shared: Arc<ProxyShared>, client: TcpStream) {
    let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
    let (cut, mut cut_rx) = watch::channel(false);
    lock(&shared.connections).insert(id, cut.clone());
    let blackholed = Arc::new(AtomicBool::new(lock(&shared.settings).blackhole));
    let _ = client.set_nodelay(true);
    if blackholed.load(Ordering::SeqCst) {
        // Swallow everything; never connect upstream, never close.
        let (mut reader, _writer) = client.into_split();
        let mut sink = vec![0u8; 16 * 1024];
        tokio::select! {
            _ = async { while matches!(reader.read(&mut sink).await, Ok(n) if n > 0) {} } => {}
            _ = cut_rx.changed() => {}
        }
        lock(&shared.connections).remove(&id);
        return;
    }
    let upstream =
        match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(shared.upstream)).await {
            Ok(Ok(stream)) => stream,
            _ => {
                lock(&shared.connections).remove(&id);
                return;
            }
        };
    let _ = upstream.set_nodelay(true);
    let (client_r, client_w) = client.into_split();
    let (upstream_r, upstream_w) = upstream.into_split();
    let (up_tx, up_rx) = mpsc::channel(QUEUE);
    let (down_tx, down_rx) = mpsc::channel(QUEUE);
    let pumps = async {
        tokio::join!(
            read_pump(&shared, client_r, up_tx, &blackholed),
            write_pump(&shared, up_rx, upstream_w, &blackholed, None),
            read_pump(&shared, upstream_r, down_tx, &blackholed),
            write_pump(&shared, down_rx, client_w, &blackholed, Some(&cut)),
        )
    };
    tokio::select! {
        _ = pumps => {}
        _ = cut_rx.changed() => {}
    }
    lock(&shared.connections).remove(&id);
}

/// Reads chunks and stamps each with the time it may be delivered.
async fn read_pump(
    shared: &ProxyShared,
    mut reader: OwnedReadHalf,
    tx: mpsc::Sender<(Instant, Bytes)>,
    blackholed: &AtomicBool,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut last_delivery = Instant::now();
    loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let settings = *lock(&shared.settings);
        if settings.blackhole {
            blackholed.store(true, Ordering::SeqCst);
        }
        if blackholed.load(Ordering::SeqCst) {
            continue;
        }
        let delay = jittered(settings.latency, settings.jitter);
        last_delivery = last_delivery.max(Instant::now() + delay);
        if tx
            .send((last_delivery, Bytes::copy_from_slice(&buf[..n])))
            .await
            .is_err()
        {
            return;
        }
    }
}

fn jittered(latency: Duration, jitter: Duration) -> Duration {
    if jitter.is_zero() {
        return latency;
    }
    let jitter_us = jitter.as_micros() as i64;
    let offset = fastrand::i64(-jitter_us..=jitter_us);
    let total = latency.as_micros() as i64 + offset;
    Duration::from_micros(total.max(0) as u64)
}

/// Writes chunks when due, within the bandwidth cap. On the response
/// direction (`cut` given) it follows the frames to place armed cuts.
async fn write_pump(
    shared: &ProxyShared,
    mut rx: mpsc::Receiver<(Instant, Bytes)>,
    mut writer: OwnedWriteHalf,
    blackholed: &AtomicBool,
    cut: Option<&watch::Sender<bool>>,
) {
    let mut frames = FrameCursor::default();
    let mut next_free = Instant::now();
    while let Some((due, chunk)) = rx.recv().await {
        tokio::time::sleep_until(due).await;
        if blackholed.load(Ordering::SeqCst) {
            continue;
        }
        let (forward, cut_here) = match cut {
            Some(_) => frames.plan(&chunk, &shared.armed_cuts),
            None => (chunk.len(), false),
        };
        let mut rest = chunk.slice(..forward);
        while !rest.is_empty() {
            let cap = lock(&shared.settings).bytes_per_second;
            let slice = match cap {
                Some(bps) => {
                    // Write at most ~50 ms worth at a time so a cap change
                    // takes effect quickly.
                    let step = (bps / 20).max(1) as usize;
                    tokio::time::sleep_until(next_free).await;
                    rest.split_to(step.min(rest.len()))
                }
                None => rest.split_to(rest.len()),
            };
            if writer.write_all(&slice).await.is_err() {
                return;
            }
            if let Some(bps) = cap {
                let cost = Duration::from_secs_f64(slice.len() as f64 / bps as f64);
                next_free = next_free.max(Instant::now()) + cost;
            }
        }
        if cut_here {
            let _ = writer.flush().await;
            shared.cuts_done.fetch_add(1, Ordering::SeqCst);
            if let Some(cut) = cut {
                let _ = cut.send(true);
            }
            return;
        }
    }
    // The reader side closed: pass the FIN on.
    let _ = writer.shutdown().await;
}

/// Follows Kafka frames (4-byte big-endian length, then the body) across
/// chunks, to cut one half-way when a cut is armed as it starts.
#[derive(Debug, Default)]
struct FrameCursor {
    prefix: [u8; 4],
    prefix_len: usize,
    /// Bytes of the current frame (prefix included) forwarded so far.
    frame_pos: usize,
    /// Its total size, once the prefix is known.
    frame_total: Option<usize>,
    /// Where to cut the current frame.
    cut_point: Option<usize>,
}

impl FrameCursor {
    /// How many bytes of `chunk` to forward, and whether to cut after them.
    fn plan(&mut self, chunk: &[u8], armed: &AtomicU64) -> (usize, bool) {
        let mut i = 0;
        while i < chunk.len() {
            match self.frame_total {
                None => {
                    let take = (4 - self.prefix_len).min(chunk.len() - i);
                    self.prefix[self.prefix_len..self.prefix_len + take]
                        .copy_from_slice(&chunk[i..i + take]);
                    self.prefix_len += take;
                    self.frame_pos += take;
                    i += take;
                    if self.prefix_len == 4 {
                        let len = i32::from_be_bytes(self.prefix).max(0) as usize;
                        self.frame_total = Some(4 + len);
                        if len > 0
                            && armed
                                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                                    n.checked_sub(1)
                                })
                                .is_ok()
                        {
                            self.cut_point = Some(4 + len / 2);
                        }
                        if len == 0 {
                            self.next_frame();
                        }
                    }
                }
                Some(total) => {
                    let mut take = (total - self.frame_pos).min(chunk.len() - i);
                    if let Some(cut_point) = self.cut_point {
                        if self.frame_pos + take >= cut_point {
                            take = cut_point - self.frame_pos;
                            return (i + take, true);
                        }
                    }
                    self.frame_pos += take;
                    i += take;
                    if self.frame_pos == total {
                        self.next_frame();
                    }
                }
            }
        }
        // A cut armed on a frame whose prefix just completed, at the very
        // end of the chunk, happens in the next chunk.
        (chunk.len(), false)
    }

    fn next_frame(&mut self) {
        *self = FrameCursor::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(body_len: usize) -> Vec<u8> {
        let mut out = (body_len as i32).to_be_bytes().to_vec();
        out.extend(std::iter::repeat_n(7u8, body_len));
        out
    }

    #[test]
    fn cuts_the_next_frame_half_way_across_chunks() {
        let armed = AtomicU64::new(0);
        let mut cursor = FrameCursor::default();
        let mut wire = frame(10);
        wire.extend(frame(20));
        // The first frame passes whole before the cut is armed.
        assert_eq!(cursor.plan(&wire[..14], &armed), (14, false));
        armed.store(1, Ordering::SeqCst);
        // Feed the second frame two bytes at a time: the cut lands at
        // 4 + 20/2 = 14 bytes into it.
        let mut forwarded = 0;
        for chunk in wire[14..].chunks(2) {
            let (n, cut) = cursor.plan(chunk, &armed);
            forwarded += n;
            if cut {
                break;
            }
        }
        assert_eq!(forwarded, 14);
        assert_eq!(armed.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_cut_never_lands_on_a_frame_boundary() {
        for body in [1usize, 2, 3, 100] {
            let armed = AtomicU64::new(1);
            let mut cursor = FrameCursor::default();
            let wire = frame(body);
            let (n, cut) = cursor.plan(&wire, &armed);
            assert!(cut, "body {body}");
            assert!(
                n >= 4 && n < wire.len(),
                "body {body}: cut at {n} of {}",
                wire.len()
            );
        }
    }
}
