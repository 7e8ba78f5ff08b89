//! Compiles the librdkafka interop tests as ignored, with the reason, when
//! their Python peer is missing, unless `CI` is set: in CI they run and
//! fail, naming what is missing. Either way a missing peer never shows
//! as a passed test.
//!
//! Why a build script: libtest decides "ignored" at compile time, so the
//! check must run before the tests are compiled. A test that looked at run
//! time could only pass or fail. (A custom test harness could decide at
//! run time, at the price of a dependency and of `#[tokio::test]`.)
//!
//! The check re-runs when `CI` changes, and when the venv's interpreter or
//! `site-packages` change or go away. Cargo cannot watch for a path that
//! does not exist yet without re-running every build, so a venv made
//! after the tests were compiled is noticed only once this script re-runs:
//! the ignore reason says `touch tests/build.rs`. `.ci/run` makes the venv
//! before it builds.

#[allow(dead_code, unreachable_pub)]
#[path = "src/interop/peer.rs"]
mod interop;

use std::path::Path;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(interop_peer_missing)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-changed=src/interop/peer.rs");
    println!("cargo::rerun-if-env-changed=CI");
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest_dir)
        .parent()
        .expect("the tests crate lives inside the workspace");
    for path in interop::watched_paths(root) {
        println!("cargo::rerun-if-changed={}", path.display());
    }
    if !in_ci() && interop::find_peer(root).is_err() {
        println!("cargo::rustc-cfg=interop_peer_missing");
    }
}

/// CI systems set `CI` (GitHub Actions and GitLab to `true`).
fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|value| !matches!(value.as_str(), "" | "0" | "false"))
}
