//! Running the `ferrokafka` binary in tests.
#![allow(dead_code)]

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};

use serde_json::Value;

/// The binary, without a bootstrap server from the environment.
pub(crate) fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_ferrokafka"));
    command
        .args(args)
        .env_remove("FERROKAFKA_BOOTSTRAP_SERVERS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Runs the binary with `stdin`, waiting for it.
pub(crate) fn ferrokafka(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child: Child = command(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .spawn()
        .expect("run ferrokafka");
    if let Some(input) = stdin {
        child.stdin.take().unwrap().write_all(input).unwrap();
    }
    child.wait_with_output().unwrap()
}

/// Its stdout, after checking it succeeded.
pub(crate) fn ok(output: &Output) -> String {
    assert!(
        output.status.success(),
        "exit {:?}: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).unwrap()
}

/// Its exit code and stderr, after checking it failed.
pub(crate) fn failed(output: &Output) -> (i32, String) {
    assert!(!output.status.success(), "succeeded unexpectedly");
    (
        output.status.code().unwrap(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Each line as JSON.
pub(crate) fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect()
}
