//! The Nisshi broker, started for one test: on a free loopback port, with
//! in-memory storage, or with SCRAM users and SASL authentication required.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::process::{free_port, loopback, KillOnDrop};
use crate::tempdir::TempDir;
use crate::wire;

/// The command that installs the broker the tests expect.
pub const NISSHI_INSTALL: &str = "cargo install nisshi@0.8.1 --locked --ignore-rust-version --no-default-features --features dynostore,libsql";

/// How long a broker may take to accept connections after it is started.
const STARTUP_DEADLINE: Duration = Duration::from_secs(60);

/// Lines of broker output kept for error messages.
const LOG_LINES: usize = 2000;

/// Where the broker binary is, or why it is not.
///
/// Looks at `$NISSHI_BIN`, then `nisshi` on the `PATH`, then
/// `~/.cargo/bin/nisshi`.
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

/// A SCRAM hash, as `nisshi user create --mechanism` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scram {
    /// SCRAM-SHA-256.
    Sha256,
    /// SCRAM-SHA-512.
    Sha512,
}

impl Scram {
    fn cli_name(self) -> &'static str {
        match self {
            Scram::Sha256 => "scram256",
            Scram::Sha512 => "scram512",
        }
    }
}

/// A running Nisshi broker, stopped (killed and reaped) on drop.
pub struct Nisshi {
    process: KillOnDrop,
    addr: SocketAddr,
    log: Arc<Mutex<Vec<String>>>,
    // The sqlite files of an authenticating broker. Declared after
    // `process`: fields drop in order, so the broker is killed before its
    // files are removed.
    _storage: Option<TempDir>,
}

impl std::fmt::Debug for Nisshi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nisshi").field("addr", &self.addr).finish()
    }
}

/// How to start a [`Nisshi`]: see [`Nisshi::builder`].
#[derive(Default)]
pub struct NisshiBuilder {
    port: Option<u16>,
    advertised: Option<String>,
    scram_users: Vec<(Scram, String, String)>,
}

impl std::fmt::Debug for NisshiBuilder {
    // The passwords stay out of test output.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let users: Vec<(&Scram, &String)> =
            self.scram_users.iter().map(|(m, u, _)| (m, u)).collect();
        f.debug_struct("NisshiBuilder")
            .field("port", &self.port)
            .field("advertised", &self.advertised)
            .field("scram_users", &users)
            .finish()
    }
}

impl NisshiBuilder {
    /// Listens on this loopback port (default: a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Tells clients to connect to `host_port` (a proxy in front of the
    /// broker, such as a TLS terminator) instead of the broker's own address.
    pub fn advertised(mut self, host_port: impl Into<String>) -> Self {
        self.advertised = Some(host_port.into());
        self
    }

    /// Creates this SCRAM user; a broker with users requires SASL
    /// authentication on its listener (and keeps its data in sqlite, in a
    /// temporary directory, since the users must outlive a restart).
    pub fn scram_user(mut self, mechanism: Scram, user: &str, password: &str) -> Self {
        self.scram_users
            .push((mechanism, user.to_owned(), password.to_owned()));
        self
    }

    /// Starts the broker and waits until it answers Kafka requests.
    pub fn start(self) -> Result<Nisshi, String> {
        let binary = nisshi_binary()?;
        if let Some(port) = self.port {
            return self.start_on(&binary, port);
        }
        // Bind port 0 to learn a free port, then hand it to the broker.
        // Another process could take it in between; a retry covers that
        // rare case.
        let mut last_error = String::new();
        for _ in 0..3 {
            match self.start_on(&binary, free_port()?) {
                Ok(broker) => return Ok(broker),
                Err(error) => last_error = error,
            }
        }
        Err(last_error)
    }

    fn start_on(&self, binary: &Path, port: u16) -> Result<Nisshi, String> {
        let own = loopback(port).to_string();
        let advertised = self.advertised.as_deref().unwrap_or(&own);
        if self.scram_users.is_empty() {
            let storage = Storage::Memory;
            return spawn(binary, port, advertised, &storage, false);
        }
        // Users are created through a running broker; authentication is
        // switched on by restarting it on the same sqlite file.
        let dir = TempDir::new("nisshi-scram");
        let storage = Storage::Sqlite(&dir);
        let setup = spawn(binary, port, &own, &storage, false)?;
        for (mechanism, user, password) in &self.scram_users {
            let output = Command::new(binary)
                .current_dir(dir.path())
                .args(["user", "create", "--broker", &format!("tcp://{own}")])
                .args(["--mechanism", mechanism.cli_name(), user, password])
                .stdin(Stdio::null())
                .output()
                .map_err(|e| format!("could not run {} user create: {e}", binary.display()))?;
            if !output.status.success() {
                return Err(format!(
                    "nisshi user create {user} failed with {}:\n{}",
                    output.status,
                    String::from_utf8_lossy(&output.stderr)
                ));
            }
        }
        drop(setup);
        let mut broker = spawn(binary, port, advertised, &storage, true)?;
        broker._storage = Some(dir);
        Ok(broker)
    }
}

/// Where a broker keeps its data.
enum Storage<'a> {
    Memory,
    /// `nisshi.db` in this directory.
    Sqlite(&'a TempDir),
}

fn spawn(
    binary: &Path,
    port: u16,
    advertised: &str,
    storage: &Storage<'_>,
    authentication: bool,
) -> Result<Nisshi, String> {
    let url = format!("tcp://{}", loopback(port));
    let mut command = Command::new(binary);
    command
        .arg("broker")
        .args(["--listener-url", &url])
        .args(["--advertised-listener-url", &format!("tcp://{advertised}")])
        .args(["--cluster-id", "ferrokafka-tests"])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match storage {
        Storage::Memory => command.args(["--storage-engine", "memory://nisshi/"]),
        // A relative sqlite URL: the file lands in the working directory.
        Storage::Sqlite(dir) => command
            .current_dir(dir.path())
            .args(["--storage-engine", "sqlite://nisshi.db"]),
    };
    if authentication {
        command.arg("--authentication");
    }
    let mut child = command
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", binary.display()))?;
    let log = Arc::new(Mutex::new(Vec::new()));
    let outputs = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
    ];
    for stream in outputs.into_iter().flatten() {
        let log = Arc::clone(&log);
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                if log.len() < LOG_LINES {
                    log.push(line);
                }
            }
        });
    }
    let addr = loopback(port);
    let mut broker = Nisshi {
        process: KillOnDrop(child),
        addr,
        log,
        _storage: None,
    };
    let deadline = Instant::now() + STARTUP_DEADLINE;
    loop {
        if let Ok(Some(status)) = broker.process.child().try_wait() {
            return Err(format!(
                "nisshi exited with {status} before accepting connections on {addr}:\n{}",
                broker.output()
            ));
        }
        if let Ok(stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            // The port is open; make sure it answers Kafka, not just TCP
            // (ApiVersions comes before authentication).
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

impl Nisshi {
    /// A builder: a free port, in-memory storage and no authentication
    /// unless told otherwise.
    pub fn builder() -> NisshiBuilder {
        NisshiBuilder::default()
    }

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
        Self::builder().start()
    }

    /// A broker listening on `port` that advertises `advertised` (a proxy
    /// in front of it) in its metadata, so clients keep going through the
    /// proxy after bootstrap.
    pub fn start_behind(port: u16, advertised: SocketAddr) -> Result<Nisshi, String> {
        Self::builder()
            .port(port)
            .advertised(advertised.to_string())
            .start()
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
