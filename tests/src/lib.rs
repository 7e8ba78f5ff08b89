//! # ferrokafka-tests
//!
//! Integration-test support: a harness that starts the Nisshi broker on a
//! free loopback port with in-memory storage and stops it when dropped, and
//! a small blocking wire client built only on `ferrokafka-protocol`, so the
//! protocol layer can be checked against a real broker before the async
//! client exists.
//!
//! The broker binary is found through `$NISSHI_BIN`, then `nisshi` on the
//! `PATH`, then `~/.cargo/bin/nisshi`. When it is missing, [`Nisshi::start`]
//! fails with the command that installs it.
#![forbid(unsafe_code)]

pub mod backend;
pub mod wire;

use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The command that installs the broker the tests expect.
pub const NISSHI_INSTALL: &str = "cargo install nisshi@0.8.1 --locked --ignore-rust-version --no-default-features --features dynostore,libsql";

/// How long a broker may take to accept connections after it is started.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

/// A running Nisshi broker, stopped (killed and reaped) on drop.
pub struct Nisshi {
    child: Child,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
}

impl std::fmt::Debug for Nisshi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nisshi").field("addr", &self.addr).finish()
    }
}

/// Where the broker binary is, or why it is not.
pub fn nisshi_binary() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("NISSHI_BIN") {
        let path = PathBuf::from(path);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!(
                "NISSHI_BIN points to {}, which is not a file",
                path.display()
            ))
        };
    }
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join("nisshi"))
                .collect()
        })
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cargo/bin/nisshi"));
    }
    candidates.into_iter().find(|path| path.is_file()).ok_or_else(|| {
        format!(
            "the Nisshi broker is not installed; the integration tests need it. Install it with:\n  {NISSHI_INSTALL}\n(about 14 minutes on 2 cores; or set NISSHI_BIN to its path)"
        )
    })
}

impl Nisshi {
    /// Starts a broker on a free loopback port with in-memory storage and
    /// waits until it accepts connections.
    ///
    /// # Panics
    /// When the binary is missing (the message names the install command),
    /// or the broker does not come up within a minute (the message carries
    /// its output).
    pub fn start() -> Nisshi {
        match Self::try_start() {
            Ok(broker) => broker,
            Err(message) => panic!("{message}"),
        }
    }

    /// As [`start`](Self::start), returning the reason instead of panicking.
    pub fn try_start() -> Result<Nisshi, String> {
        let binary = nisshi_binary()?;
        // Bind port 0 to learn a free port, then hand it to the broker. Another
        // process could take it in between; a retry covers that rare case.
        let mut last_error = String::new();
        for _ in 0..3 {
            let port = free_port()?;
            match Self::spawn(&binary, port, None) {
                Ok(broker) => return Ok(broker),
                Err(error) => last_error = error,
            }
        }
        Err(last_error)
    }

    /// A broker listening on `port` that advertises `advertised` (a proxy
    /// in front of it) in its metadata, so clients keep going through the
    /// proxy after bootstrap.
    pub fn start_behind(port: u16, advertised: SocketAddr) -> Result<Nisshi, String> {
        Self::spawn(&nisshi_binary()?, port, Some(advertised))
    }

    fn spawn(
        binary: &PathBuf,
        port: u16,
        advertised: Option<SocketAddr>,
    ) -> Result<Nisshi, String> {
        let url = format!("tcp://127.0.0.1:{port}");
        let advertised_url = advertised.map_or_else(|| url.clone(), |a| format!("tcp://{a}"));
        let mut child = Command::new(binary)
            .arg("broker")
            .args(["--listener-url", &url])
            .args(["--advertised-listener-url", &advertised_url])
            .args(["--storage-engine", "memory://nisshi/"])
            .args(["--cluster-id", "ferrokafka-tests"])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", binary.display()))?;
        let log = Arc::new(Mutex::new(Vec::new()));
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let log = Arc::clone(&log);
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    if log.len() < 2000 {
                        log.push(line);
                    }
                }
            });
        }
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let mut broker = Nisshi { child, addr, log };
        let deadline = Instant::now() + STARTUP_DEADLINE;
        loop {
            if let Ok(Some(status)) = broker.child.try_wait() {
                return Err(format!(
                    "nisshi exited with {status} before accepting connections on {addr}:\n{}",
                    broker.output()
                ));
            }
            if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                // The port is open; make sure it answers Kafka, not just TCP.
                if wire::WireClient::from_stream(stream).is_ok() {
                    return Ok(broker);
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "nisshi did not answer on {addr} within {STARTUP_DEADLINE:?}:\n{}",
                    broker.output()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The broker's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `host:port`, as `bootstrap.servers` wants it.
    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    /// What the broker has printed so far.
    pub fn output(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    /// A fresh blocking wire client connected to the broker, after the
    /// ApiVersions exchange.
    pub fn connect(&self) -> wire::WireClient {
        let stream = TcpStream::connect(self.addr).expect("connect to nisshi");
        wire::WireClient::from_stream(stream).expect("ApiVersions exchange with nisshi")
    }
}

impl Drop for Nisshi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .map_err(|e| format!("cannot bind a loopback port: {e}"))?;
    listener
        .local_addr()
        .map(|addr| addr.port())
        .map_err(|e| format!("cannot read the bound port: {e}"))
}
