//! The producer cache's pool on virtual time: sharing, expiry after the
//! timeout once unused, invalidation, failed makes, runtimes that end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::sink::pool::{Expiry, Pool, Pooled};

/// A pooled value that counts how many were made and closed.
struct Probe {
    id: usize,
    closed: Arc<AtomicUsize>,
}

impl Pooled for Probe {
    async fn close(&self) {
        self.closed.fetch_add(1, Ordering::SeqCst);
    }
}

#[derive(Default, Clone)]
struct Counts {
    made: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
}

impl Counts {
    async fn make(&self) -> Result<Probe, String> {
        Ok(Probe {
            id: self.made.fetch_add(1, Ordering::SeqCst),
            closed: Arc::clone(&self.closed),
        })
    }
    fn made(&self) -> usize {
        self.made.load(Ordering::SeqCst)
    }
    fn closed(&self) -> usize {
        self.closed.load(Ordering::SeqCst)
    }
}

const MINUTE: Duration = Duration::from_secs(60);

/// Spark's defaults: 10 minutes unused, looked at every minute.
fn pool() -> Arc<Pool<&'static str, Probe>> {
    Pool::new(Expiry {
        timeout: 10 * MINUTE,
        evictor_interval: MINUTE,
    })
}

/// Lets virtual time pass (the paused clock jumps to each timer).
async fn pass(duration: Duration) {
    tokio::time::sleep(duration).await;
    // The watcher that woke at the same instant closes before we look.
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn one_value_per_key_is_shared() {
    let pool = pool();
    let counts = Counts::default();
    let a = pool.acquire(&"a", || counts.make()).await.unwrap();
    let again = pool.acquire(&"a", || counts.make()).await.unwrap();
    let b = pool.acquire(&"b", || counts.make()).await.unwrap();
    assert_eq!(a.value().id, again.value().id);
    assert_ne!(a.value().id, b.value().id);
    assert_eq!((counts.made(), pool.len()), (2, 2));
}

#[tokio::test(start_paused = true)]
async fn concurrent_first_acquires_make_one_value() {
    let pool = pool();
    let counts = Counts::default();
    let slow = || async {
        tokio::time::sleep(Duration::from_millis(10)).await;
        counts.make().await
    };
    let (first, second) = tokio::join!(pool.acquire(&"a", slow), pool.acquire(&"a", slow));
    assert_eq!(first.unwrap().value().id, second.unwrap().value().id);
    assert_eq!(counts.made(), 1);
}

#[tokio::test(start_paused = true)]
async fn an_unused_value_is_closed_after_the_timeout() {
    let pool = pool();
    let counts = Counts::default();
    drop(pool.acquire(&"a", || counts.make()).await.unwrap());
    pass(9 * MINUTE).await;
    assert_eq!(
        (pool.len(), counts.closed()),
        (1, 0),
        "unused for 9 of 10 minutes"
    );
    // Used again: the 10 minutes start over when it is given back.
    let lease = pool.acquire(&"a", || counts.make()).await.unwrap();
    assert_eq!((lease.value().id, counts.made()), (0, 1));
    drop(lease);
    pass(9 * MINUTE).await;
    assert_eq!((pool.len(), counts.closed()), (1, 0));
    pass(2 * MINUTE).await;
    assert_eq!(
        (pool.len(), counts.closed()),
        (0, 1),
        "closed by the evictor"
    );
    // The next acquire makes a new one.
    let lease = pool.acquire(&"a", || counts.make()).await.unwrap();
    assert_eq!((lease.value().id, counts.made()), (1, 2));
}

#[tokio::test(start_paused = true)]
async fn a_value_in_use_is_never_closed() {
    let pool = pool();
    let counts = Counts::default();
    let lease = pool.acquire(&"a", || counts.make()).await.unwrap();
    pass(120 * MINUTE).await;
    assert_eq!((pool.len(), counts.closed()), (1, 0));
    drop(lease);
    pass(11 * MINUTE).await;
    assert_eq!((pool.len(), counts.closed()), (0, 1));
}

#[tokio::test(start_paused = true)]
async fn an_invalidated_value_is_replaced_and_closed_once_unused() {
    let pool = pool();
    let counts = Counts::default();
    let failed = pool.acquire(&"a", || counts.make()).await.unwrap();
    failed.invalidate();
    let fresh = pool.acquire(&"a", || counts.make()).await.unwrap();
    assert_eq!((failed.value().id, fresh.value().id), (0, 1));
    pass(2 * MINUTE).await;
    assert_eq!(counts.closed(), 0, "still in use");
    drop(failed);
    pass(2 * MINUTE).await;
    assert_eq!(
        counts.closed(),
        1,
        "closed at the next look, not after the timeout"
    );
    assert_eq!(pool.len(), 1);
    drop(fresh);
}

#[tokio::test(start_paused = true)]
async fn a_failed_make_leaves_nothing_and_the_next_acquire_tries_again() {
    let pool = pool();
    let counts = Counts::default();
    let failed = pool
        .acquire(&"a", || async { Err::<Probe, _>("no cluster".to_owned()) })
        .await;
    assert_eq!(failed.err().as_deref(), Some("no cluster"));
    assert_eq!(pool.len(), 0);
    let lease = pool.acquire(&"a", || counts.make()).await.unwrap();
    assert_eq!((lease.value().id, pool.len()), (0, 1));
}

#[test]
fn a_value_whose_runtime_ended_is_replaced() {
    let pool = pool();
    let counts = Counts::default();
    let runtime = || {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap()
    };
    let first = runtime().block_on(async {
        let lease = pool.acquire(&"a", || counts.make()).await.unwrap();
        lease.value().id
    });
    // That runtime is gone, and the value's tasks with it.
    let second = runtime().block_on(async {
        let lease = pool.acquire(&"a", || counts.make()).await.unwrap();
        lease.value().id
    });
    assert_eq!((first, second, counts.made()), (0, 1, 2));
}
