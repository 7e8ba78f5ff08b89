//! The memory budget of readers.
//!
//! Fetched bytes wait in memory until a reader's consumer takes them. Two
//! things bound them: the client-wide `fetch.buffer.max.bytes` semaphore,
//! from which every fetch reserves its size before it is sent (given back
//! as the consumer takes the records), and [`Buffered`], which counts what
//! one reader holds (fetches in flight, fetched chunks not yet taken).
//!
//! A reader holding nothing may fetch even when the budget is spent: the
//! budget is then other readers' unread records, and waiting on them could
//! wait forever (their consumer may be waiting on us, as when streams are
//! drained one after the other). It then asks for what the budget has
//! left, and brokers always answer at least one record batch, so the
//! overdraft is at most one record batch per reader.

use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};

/// How much of one reader holds on to memory: fetches in flight and
/// fetched chunks its consumer has not taken yet.
#[derive(Debug, Default)]
pub(crate) struct Buffered {
    holds: AtomicUsize,
    /// Signalled when the count drops to zero.
    emptied: Notify,
}

impl Buffered {
    /// Counts one more thing held until the returned guard is dropped.
    pub(crate) fn hold(self: &Arc<Self>) -> Held {
        self.holds.fetch_add(1, SeqCst);
        Held(Arc::clone(self))
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.holds.load(SeqCst) == 0
    }
}

/// What [`reserve_for`] got.
pub(crate) struct Reserved {
    /// The bytes reserved (none on an overdraft with nothing left).
    pub(crate) permit: Option<OwnedSemaphorePermit>,
    /// The readers held until the fetch's answer is handled.
    pub(crate) held: Vec<Held>,
    /// On an overdraft, the one reader (index in `readers`) that may
    /// fetch: only its partitions should be asked for, so that the
    /// overdraft serves the reader holding nothing and no other.
    pub(crate) overdrawn: Option<usize>,
}

/// Reserves up to `want` bytes of the client-wide budget for a fetch for
/// `readers`, waiting for them only while every one of those readers holds
/// something (a fetch in flight, unread chunks). When one holds nothing,
/// the fetch goes at once on an overdraft, for that reader alone (its
/// consumer may be waiting on it), taking what is left of the budget
/// (perhaps nothing). The check and the hold are one atomic step, so two
/// fetches cannot both skip the wait. With a reservation every reader is
/// held, in `readers`' order. The fetch should ask for the bytes reserved
/// (the permit's size; with none, as little as the protocol allows).
pub(crate) async fn reserve_for(
    readers: &[Arc<Buffered>],
    budget: &Arc<Semaphore>,
    want: u32,
) -> Reserved {
    let all = |permit: Option<OwnedSemaphorePermit>| Reserved {
        permit,
        held: readers.iter().map(|r| r.hold()).collect(),
        overdrawn: None,
    };
    if readers.is_empty() {
        return all(Arc::clone(budget).acquire_many_owned(want).await.ok());
    }
    loop {
        let mut emptied: Vec<_> = readers
            .iter()
            .map(|r| Box::pin(r.emptied.notified()))
            .collect();
        for notified in &mut emptied {
            notified.as_mut().enable();
        }
        if let Ok(permit) = Arc::clone(budget).try_acquire_many_owned(want) {
            return all(Some(permit));
        }
        for (i, reader) in readers.iter().enumerate() {
            if reader.holds.compare_exchange(0, 1, SeqCst, SeqCst).is_ok() {
                let left = u32::try_from(budget.available_permits())
                    .unwrap_or(u32::MAX)
                    .min(want);
                let permit = match left {
                    0 => None,
                    left => Arc::clone(budget).try_acquire_many_owned(left).ok(),
                };
                // Counted by the compare_exchange.
                return Reserved {
                    permit,
                    held: vec![Held(Arc::clone(reader))],
                    overdrawn: Some(i),
                };
            }
        }
        tokio::select! {
            permit = Arc::clone(budget).acquire_many_owned(want) => return all(permit.ok()),
            _ = futures::future::select_all(emptied) => {}
        }
    }
}

/// One chunk or fetch counted in [`Buffered`]; dropping it uncounts it.
#[derive(Debug)]
pub(crate) struct Held(Arc<Buffered>);

impl Drop for Held {
    fn drop(&mut self) {
        if self.0.holds.fetch_sub(1, SeqCst) == 1 {
            self.0.emptied.notify_waiters();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Buffered {
        /// [`reserve_for`] a fetch for this reader alone.
        async fn reserve(
            self: &Arc<Self>,
            budget: &Arc<Semaphore>,
            want: u32,
        ) -> (Option<OwnedSemaphorePermit>, Held) {
            let Reserved {
                permit, mut held, ..
            } = reserve_for(std::slice::from_ref(self), budget, want).await;
            (permit, held.pop().expect("one reader, one hold"))
        }
    }

    #[tokio::test]
    async fn a_reader_with_nothing_unread_is_not_starved_by_a_spent_budget() {
        let budget = Arc::new(Semaphore::new(100));
        let mut others = Arc::clone(&budget).acquire_many_owned(100).await.unwrap();
        let buffered = Arc::new(Buffered::default());
        let (permit, fetching) = buffered.reserve(&budget, 50).await;
        assert!(
            permit.is_none(),
            "nothing of ours is unread: fetch without a reservation"
        );
        drop(fetching);
        // With 30 left, a reader holding nothing takes those 30 at once.
        drop(others.split(30).unwrap());
        let (permit, fetching) = buffered.reserve(&budget, 50).await;
        assert_eq!(permit.as_ref().map(|p| p.num_permits()), Some(30));
        // With a fetch or chunk of ours held, it waits, until the budget
        // frees up.
        let held = fetching;
        let waiting = {
            let (budget, buffered) = (Arc::clone(&budget), Arc::clone(&buffered));
            tokio::spawn(async move {
                buffered
                    .reserve(&budget, 50)
                    .await
                    .0
                    .map(|p| p.num_permits())
            })
        };
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished());
        drop(others);
        assert_eq!(waiting.await.unwrap(), Some(50));
        drop(permit);
        // Or until our consumer takes the chunk.
        let others = Arc::clone(&budget).acquire_many_owned(100).await.unwrap();
        let waiting = {
            let (budget, buffered) = (Arc::clone(&budget), Arc::clone(&buffered));
            tokio::spawn(async move { buffered.reserve(&budget, 50).await.0.is_none() })
        };
        tokio::task::yield_now().await;
        drop(held);
        assert!(waiting.await.unwrap());
        assert!(buffered.is_empty(), "the fetch's hold ended with its task");
        drop(others);
    }

    #[tokio::test]
    async fn a_shared_fetch_overdraws_for_the_reader_holding_nothing_alone() {
        let budget = Arc::new(Semaphore::new(100));
        let spent = Arc::clone(&budget).acquire_many_owned(100).await.unwrap();
        let (busy, idle) = (Arc::new(Buffered::default()), Arc::new(Buffered::default()));
        let busy_chunk = busy.hold();
        let readers = [Arc::clone(&busy), Arc::clone(&idle)];
        let reserved = reserve_for(&readers, &budget, 50).await;
        assert!(reserved.permit.is_none(), "nothing left to reserve");
        assert_eq!(reserved.overdrawn, Some(1), "the idle reader's fetch");
        assert_eq!(reserved.held.len(), 1, "only the idle reader is held");
        assert!(!idle.is_empty());
        drop(reserved);
        assert!(idle.is_empty());
        // With budget free, every reader of the fetch is held, none overdrawn.
        drop(spent);
        let reserved = reserve_for(&readers, &budget, 50).await;
        assert_eq!(reserved.permit.as_ref().map(|p| p.num_permits()), Some(50));
        assert_eq!(reserved.overdrawn, None);
        assert_eq!(reserved.held.len(), 2);
        drop(reserved);
        drop(busy_chunk);
        assert!(busy.is_empty() && idle.is_empty());
    }
}
