//! Whether the librdkafka peer is there. The build script includes this
//! file too (to decide whether the interop tests are compiled as ignored),
//! so it uses nothing but `std`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// How to make the peer, from the workspace root.
pub const PEER_INSTALL: &str = "run `bash .ci/run` (it makes the venv), or from the workspace root: python3 -m venv .venv && .venv/bin/pip install confluent-kafka==2.16.1";

/// The venv's interpreter, whether or not it exists.
pub fn venv_python(workspace_root: &Path) -> PathBuf {
    workspace_root.join(".venv/bin/python")
}

/// The interpreter that can import `confluent_kafka`, or what is missing
/// and how to make it.
pub fn find_peer(workspace_root: &Path) -> Result<PathBuf, String> {
    let python = venv_python(workspace_root);
    if !python.is_file() {
        return Err(format!(
            "the librdkafka interop peer is missing: there is no {}. To make it, {PEER_INSTALL}",
            python.display()
        ));
    }
    let imports = Command::new(&python)
        .args(["-c", "import confluent_kafka"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !imports {
        return Err(format!(
            "the librdkafka interop peer is missing: {} cannot import confluent_kafka. To install it, {PEER_INSTALL}",
            python.display()
        ));
    }
    Ok(python)
}

/// What the build script watches so that removing the venv, or installing
/// into it, re-runs the check: the interpreter and the `site-packages`
/// directories, those that exist. (A path that does not exist would make
/// cargo re-run the build script, and so rebuild every test of the crate,
/// on every build; hence a venv made later goes unnoticed, see build.rs.)
pub fn watched_paths(workspace_root: &Path) -> Vec<PathBuf> {
    let mut paths = vec![venv_python(workspace_root)];
    if let Ok(entries) = std::fs::read_dir(workspace_root.join(".venv/lib")) {
        paths.extend(entries.flatten().map(|e| e.path().join("site-packages")));
    }
    paths.retain(|path| path.exists());
    paths
}
