//! The librdkafka peer of the interop tests: PyPI `confluent-kafka` in the
//! workspace's `.venv`, which `.ci/run` makes, running the scripts in
//! `tests/interop/`.

mod peer;

use std::path::{Path, PathBuf};
use std::process::Command;

pub use peer::{find_peer, venv_python, watched_paths, PEER_INSTALL};

/// The peer's interpreter, for a test about to use it.
///
/// # Panics
/// When the peer is missing, with what is missing and how to make it: an
/// interop test that cannot talk to librdkafka fails, it never passes.
pub fn librdkafka_python() -> PathBuf {
    find_peer(workspace_root()).unwrap_or_else(|why| panic!("{why}"))
}

/// The workspace's root directory (the parent of this crate's).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate lives inside the workspace")
}

/// Checks the peer is there before a test starts a broker for it.
///
/// # Panics
/// As [`librdkafka_python`].
pub fn require_peer() {
    librdkafka_python();
}

/// Runs `tests/interop/<script>` with `args` on the peer's interpreter
/// (off the async runtime's threads); returns what it printed.
///
/// # Panics
/// When the peer is missing (see [`librdkafka_python`]) or the script
/// fails (the message carries its standard error).
pub async fn run_script(script: &str, args: Vec<String>) -> String {
    let python = librdkafka_python();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("interop")
        .join(script);
    let output =
        tokio::task::spawn_blocking(move || Command::new(python).arg(path).args(args).output())
            .await
            .expect("the script's thread")
            .unwrap_or_else(|e| panic!("could not run {script}: {e}"));
    assert!(
        output.status.success(),
        "the librdkafka script {script} failed with {}:\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap_or_else(|e| panic!("{script} printed something other than UTF-8: {e}"))
}
