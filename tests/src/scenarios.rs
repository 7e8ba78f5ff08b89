//! Many scenarios on one broker: each an `async` body on its own topics,
//! run concurrently, the failed ones reported by name.
//!
//! ```no_run
//! use ferrokafka_tests::scenarios::{run_concurrently, Scenario};
//!
//! async fn writes_then_reads(bootstrap: String) { let _ = bootstrap; }
//!
//! let bootstrap = "127.0.0.1:9092".to_owned();
//! run_concurrently(vec![
//!     ("writes_then_reads", Box::pin(writes_then_reads(bootstrap.clone())) as Scenario),
//! ]);
//! ```

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// One scenario: a test body that panics when it fails.
pub type Scenario = Pin<Box<dyn Future<Output = ()> + Send>>;

/// How long one scenario may run before it counts as failed.
const SCENARIO_DEADLINE: Duration = Duration::from_secs(300);

/// Runs every scenario at once on a multi-threaded runtime and waits for
/// them all; panics naming each one that panicked or outran its deadline
/// (300 s). Their panic messages are printed as they happen.
pub fn run_concurrently(scenarios: Vec<(&'static str, Scenario)>) {
    let count = scenarios.len();
    let failed = crate::backend::block_on(async move {
        let running: Vec<_> = scenarios
            .into_iter()
            .map(|(name, scenario)| (name, tokio::spawn(scenario)))
            .collect();
        let mut failed = Vec::new();
        for (name, handle) in running {
            match tokio::time::timeout(SCENARIO_DEADLINE, handle).await {
                Ok(Ok(())) => eprintln!("scenario {name}: ok"),
                Ok(Err(e)) => failed.push(format!("{name}: {e}")),
                Err(_) => failed.push(format!(
                    "{name}: still running after {} s",
                    SCENARIO_DEADLINE.as_secs()
                )),
            }
        }
        failed
    });
    assert!(
        failed.is_empty(),
        "{} of {count} scenarios failed (their panics are printed above):\n{}",
        failed.len(),
        failed.join("\n")
    );
}
