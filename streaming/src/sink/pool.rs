//! A keyed, reference-counted pool of shared values that are closed
//! after staying unused for a while (Spark's producer cache, §6.3),
//! independent of what it holds so that its timing is tested on virtual
//! time.
//!
//! Each value gets a watcher task on the runtime that made it: every
//! `evictor_interval` it closes the value once it has been unused (no
//! lease) for `timeout`, or once it was invalidated and is unused. When
//! that runtime shuts down, the watcher is dropped and the value is
//! marked dead: its tasks are gone with the runtime, so the next acquire
//! makes a new one.

use std::collections::HashMap;
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use tokio::sync::OnceCell;
use tokio::time::Instant;

/// A value the pool holds.
pub(crate) trait Pooled: Send + Sync + 'static {
    /// Closes it; called once, when it is evicted.
    fn close(&self) -> impl Future<Output = ()> + Send;
}

/// How long values stay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Expiry {
    pub(crate) timeout: Duration,
    pub(crate) evictor_interval: Duration,
}

pub(crate) struct Pool<K, V> {
    slots: Mutex<HashMap<K, Arc<Slot<V>>>>,
    expiry: Expiry,
}

struct Slot<V> {
    value: OnceCell<V>,
    uses: Mutex<Uses>,
    /// Handed out no more: invalidated, evicted, or its runtime is gone.
    retired: AtomicBool,
}

struct Uses {
    leases: usize,
    idle_since: Instant,
}

impl<V> Slot<V> {
    fn uses(&self) -> MutexGuard<'_, Uses> {
        self.uses.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A value in use: while it lives, the value is not evicted.
pub(crate) struct Lease<K: Eq + Hash, V> {
    pool: Arc<Pool<K, V>>,
    key: K,
    slot: Arc<Slot<V>>,
}

impl<K, V> Pool<K, V>
where
    K: Eq + Hash + Clone + Send + Sync + 'static,
    V: Pooled,
{
    pub(crate) fn new(expiry: Expiry) -> Arc<Self> {
        Arc::new(Pool {
            slots: Mutex::new(HashMap::new()),
            expiry,
        })
    }

    pub(crate) fn expiry(&self) -> Expiry {
        self.expiry
    }

    fn slots(&self) -> MutexGuard<'_, HashMap<K, Arc<Slot<V>>>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The value for `key`, shared with every other lease of the same key,
    /// made with `make` when there is none. Concurrent first acquires wait
    /// for one `make`; a failed `make` leaves nothing behind, so the next
    /// acquire tries again. Must run inside a tokio runtime.
    pub(crate) async fn acquire<E, F, Fut>(
        self: &Arc<Self>,
        key: &K,
        make: F,
    ) -> Result<Lease<K, V>, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, E>>,
    {
        let slot = {
            let mut slots = self.slots();
            let slot = match slots.get(key) {
                Some(slot) if !slot.retired.load(Ordering::Acquire) => Arc::clone(slot),
                _ => {
                    let slot = Arc::new(Slot {
                        value: OnceCell::new(),
                        uses: Mutex::new(Uses {
                            leases: 0,
                            idle_since: Instant::now(),
                        }),
                        retired: AtomicBool::new(false),
                    });
                    slots.insert(key.clone(), Arc::clone(&slot));
                    slot
                }
            };
            // Counted under the map's lock, which eviction holds too.
            slot.uses().leases += 1;
            slot
        };
        let lease = Lease {
            pool: Arc::clone(self),
            key: key.clone(),
            slot,
        };
        lease
            .slot
            .value
            .get_or_try_init(|| async {
                let value = make().await?;
                self.watch(key.clone(), Arc::clone(&lease.slot));
                Ok(value)
            })
            .await?;
        Ok(lease)
    }

    /// Starts the watcher of a new value (see the module documentation).
    fn watch(self: &Arc<Self>, key: K, slot: Arc<Slot<V>>) {
        let pool = Arc::downgrade(self);
        let expiry = self.expiry;
        // Moved into the task, so dropped with it even if it never ran.
        let guard = RetireOnDrop(Arc::clone(&slot));
        tokio::spawn(async move {
            let _guard = guard;
            loop {
                tokio::time::sleep(expiry.evictor_interval).await;
                if Self::evict_if_due(&pool, &key, &slot, expiry.timeout) {
                    if let Some(value) = slot.value.get() {
                        value.close().await;
                    }
                    return;
                }
            }
        });
    }

    /// Whether the slot is unused and expired or retired; if so it is
    /// retired and out of the map (both under the map's lock, which
    /// acquire holds while it counts a lease).
    fn evict_if_due(pool: &Weak<Self>, key: &K, slot: &Arc<Slot<V>>, timeout: Duration) -> bool {
        let pool = pool.upgrade();
        let mut slots = pool.as_ref().map(|pool| pool.slots());
        let uses = slot.uses();
        let due = uses.leases == 0
            && (pool.is_none()
                || slot.retired.load(Ordering::Acquire)
                || uses.idle_since.elapsed() >= timeout);
        drop(uses);
        if due {
            slot.retired.store(true, Ordering::Release);
            if let Some(slots) = slots.as_mut() {
                if slots.get(key).is_some_and(|s| Arc::ptr_eq(s, slot)) {
                    slots.remove(key);
                }
            }
        }
        due
    }

    /// Values made and not retired.
    pub(crate) fn len(&self) -> usize {
        self.slots()
            .values()
            .filter(|slot| slot.value.initialized() && !slot.retired.load(Ordering::Acquire))
            .count()
    }
}

/// Retires its slot when dropped: the watcher holds one, so a runtime
/// shutting down (dropping its tasks) retires the values it ran.
struct RetireOnDrop<V>(Arc<Slot<V>>);

impl<V> Drop for RetireOnDrop<V> {
    fn drop(&mut self) {
        self.0.retired.store(true, Ordering::Release);
    }
}

impl<K: Eq + Hash, V> Lease<K, V> {
    /// The shared value.
    pub(crate) fn value(&self) -> &V {
        self.slot
            .value
            .get()
            .expect("a lease is handed out once its value is made")
    }

    /// Hands the value out no more (say, after it failed): the next
    /// acquire makes a new one; this one is closed once unused.
    pub(crate) fn invalidate(&self) {
        let mut slots = self.pool.slots.lock().unwrap_or_else(|e| e.into_inner());
        self.slot.retired.store(true, Ordering::Release);
        if slots
            .get(&self.key)
            .is_some_and(|s| Arc::ptr_eq(s, &self.slot))
        {
            slots.remove(&self.key);
        }
    }
}

impl<K: Eq + Hash, V> Drop for Lease<K, V> {
    fn drop(&mut self) {
        let mut slots = self.pool.slots.lock().unwrap_or_else(|e| e.into_inner());
        let mut uses = self.slot.uses();
        uses.leases -= 1;
        uses.idle_since = Instant::now();
        // A value that was never made (its `make` failed) has no watcher:
        // forget the slot once nobody waits on it.
        if uses.leases == 0
            && !self.slot.value.initialized()
            && slots
                .get(&self.key)
                .is_some_and(|s| Arc::ptr_eq(s, &self.slot))
        {
            slots.remove(&self.key);
        }
    }
}
