//! A global allocator that remembers, per thread, the largest single
//! allocation, the number of allocations and the peak of live heap bytes
//! made while a measured closure runs, so tests can prove that hostile
//! input never makes the decoder allocate what the input cannot justify.
//!
//! Include with `#[path = "support/counting_alloc.rs"] mod counting_alloc;`
//! and install with
//! `#[global_allocator] static ALLOC: counting_alloc::Counting = counting_alloc::Counting;`.
//! Only the measuring thread's allocations count: tests of one binary run
//! in parallel, and another thread's work (another test, or the harness
//! resolving a backtrace for a failed test) must not land in the figures.
#![allow(unsafe_code, dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

pub(crate) struct Counting;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LARGEST: Cell<usize> = const { Cell::new(0) };
    static COUNT: Cell<usize> = const { Cell::new(0) };
    /// Live bytes allocated minus freed on this thread while tracking.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// Notes an allocation of `size` bytes and a release of `freed` bytes.
/// Never allocates; `try_with` keeps it quiet while a thread's locals are
/// torn down.
fn note(size: usize, freed: usize) {
    let _ = TRACKING.try_with(|on| {
        if !on.get() {
            return;
        }
        if size > 0 {
            let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
            let _ = COUNT.try_with(|c| c.set(c.get() + 1));
        }
        let _ = LIVE.try_with(|live| {
            let now = live.get() + size as isize - freed as isize;
            live.set(now);
            let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
        });
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments
// unchanged; the bookkeeping only touches const-initialised thread locals
// and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size(), 0);
        // SAFETY: forwarded contract.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size(), 0);
        // SAFETY: forwarded contract.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        note(0, layout.size());
        // SAFETY: forwarded contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size, layout.size());
        // SAFETY: forwarded contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// What one measured closure allocated on its thread.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Measured {
    /// The largest single allocation, in bytes.
    pub(crate) largest: usize,
    /// The peak of live heap bytes above the level at the start.
    pub(crate) peak_above_start: usize,
    /// How many allocations were made.
    pub(crate) count: usize,
}

/// Runs `f` and reports the allocations it made on this thread.
pub(crate) fn measure<T>(f: impl FnOnce() -> T) -> (T, Measured) {
    LARGEST.with(|l| l.set(0));
    COUNT.with(|c| c.set(0));
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f();
    TRACKING.with(|t| t.set(false));
    let measured = Measured {
        largest: LARGEST.with(Cell::get),
        peak_above_start: PEAK.with(Cell::get).max(0) as usize,
        count: COUNT.with(Cell::get),
    };
    (out, measured)
}
