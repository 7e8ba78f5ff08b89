//! Time as the query sees it: [`Clock`], the wall clock ([`SystemClock`])
//! and a clock that moves only when told ([`ManualClock`]), for tests.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use futures::FutureExt;
use tokio::sync::Notify;

/// The clock a query plans and waits by: trigger times, `maxTriggerDelay`,
/// progress timestamps and phase durations all come from it.
pub trait Clock: fmt::Debug + Send + Sync {
    /// Now, in milliseconds since the epoch.
    fn now_ms(&self) -> i64;

    /// Completes once [`now_ms`](Self::now_ms) has reached `deadline_ms`
    /// (at once if it has). Dropping it must be harmless: the query drops
    /// it when it is stopped while waiting.
    fn sleep_until(&self, deadline_ms: i64) -> BoxFuture<'static, ()>;
}

/// The system's wall clock, waited on with tokio's timers.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
    }

    fn sleep_until(&self, deadline_ms: i64) -> BoxFuture<'static, ()> {
        let wait = u64::try_from(deadline_ms.saturating_sub(self.now_ms())).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(wait)).boxed()
    }
}

/// A clock that moves only when told ([`advance`](Self::advance),
/// [`set`](Self::set)): a test drives a query trigger by trigger with it.
/// Clones share the same time.
///
/// [`next_sleep`](Self::next_sleep) waits until someone sleeps on the
/// clock — for a query, until its trigger is done and it waits for the
/// next one — and says until when.
///
/// ```
/// use std::time::Duration;
/// use ferrokafka_streaming::query::{Clock, ManualClock};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let clock = ManualClock::new(1_000);
/// let sleeper = tokio::spawn(clock.sleep_until(1_500));
/// assert_eq!(clock.next_sleep().await, 1_500);
/// clock.advance(Duration::from_millis(500));
/// sleeper.await.unwrap();
/// assert_eq!(clock.now_ms(), 1_500);
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct ManualClock {
    inner: Arc<ManualInner>,
}

#[derive(Debug)]
struct ManualInner {
    state: Mutex<ManualState>,
    changed: Notify,
}

#[derive(Debug)]
struct ManualState {
    now_ms: i64,
    next_sleeper: u64,
    /// Deadlines of the sleeps not yet completed, by sleeper.
    sleepers: BTreeMap<u64, i64>,
}

impl ManualClock {
    /// A clock showing `now_ms`.
    pub fn new(now_ms: i64) -> Self {
        ManualClock {
            inner: Arc::new(ManualInner {
                state: Mutex::new(ManualState {
                    now_ms,
                    next_sleeper: 0,
                    sleepers: BTreeMap::new(),
                }),
                changed: Notify::new(),
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, ManualState> {
        // Every change is a single assignment: a poisoned lock is fine.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let by = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        let mut state = self.lock();
        state.now_ms = state.now_ms.saturating_add(by);
        drop(state);
        self.inner.changed.notify_waiters();
    }

    /// Sets the clock to `now_ms` (never backwards: an earlier time is
    /// ignored).
    pub fn set(&self, now_ms: i64) {
        let mut state = self.lock();
        state.now_ms = state.now_ms.max(now_ms);
        drop(state);
        self.inner.changed.notify_waiters();
    }

    /// The earliest deadline of the sleeps still waiting (deadline after
    /// now), once there is one.
    pub async fn next_sleep(&self) -> i64 {
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let state = self.lock();
                let now = state.now_ms;
                if let Some(deadline) = state.sleepers.values().copied().filter(|d| *d > now).min()
                {
                    return deadline;
                }
            }
            notified.await;
        }
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.lock().now_ms
    }

    fn sleep_until(&self, deadline_ms: i64) -> BoxFuture<'static, ()> {
        let clock = self.clone();
        async move {
            let id = {
                let mut state = clock.lock();
                let id = state.next_sleeper;
                state.next_sleeper += 1;
                state.sleepers.insert(id, deadline_ms);
                id
            };
            let _registered = Sleeper { clock: &clock, id };
            clock.inner.changed.notify_waiters();
            loop {
                let notified = clock.inner.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if clock.lock().now_ms >= deadline_ms {
                    return;
                }
                notified.await;
            }
        }
        .boxed()
    }
}

/// Takes a sleep off the clock's list when it completes or is dropped.
struct Sleeper<'a> {
    clock: &'a ManualClock,
    id: u64,
}

impl Drop for Sleeper<'_> {
    fn drop(&mut self) {
        self.clock.lock().sleepers.remove(&self.id);
    }
}
