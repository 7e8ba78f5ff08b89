//! A global allocator that remembers the largest single allocation and the
//! peak of live heap bytes, so tests can prove that hostile input never makes
//! the decoder allocate what the input cannot justify.
//!
//! Include with `#[path = "support/counting_alloc.rs"] mod counting_alloc;`
//! and install with
//! `#[global_allocator] static ALLOC: counting_alloc::Counting = counting_alloc::Counting;`.
//! Tests in one binary run in parallel by default; measurements are
//! process-wide, so a test binary that measures serialises its tests with
//! [`measure`], which holds a lock.
#![allow(unsafe_code, dead_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;

pub(crate) struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);
static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static COUNT: AtomicUsize = AtomicUsize::new(0);
static LOCK: Mutex<()> = Mutex::new(());

fn note_alloc(size: usize) {
    LARGEST.fetch_max(size, Relaxed);
    COUNT.fetch_add(1, Relaxed);
    let live = LIVE.fetch_add(size, Relaxed) + size;
    PEAK.fetch_max(live, Relaxed);
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_alloc(new_size);
        LIVE.fetch_sub(layout.size(), Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

/// What one measured closure allocated.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Measured {
    /// The largest single allocation, in bytes.
    pub(crate) largest: usize,
    /// The peak of live heap bytes above the level at the start.
    pub(crate) peak_above_start: usize,
    /// How many allocations were made.
    pub(crate) count: usize,
}

/// Runs `f` alone (other measuring tests wait) and reports its allocations.
pub(crate) fn measure<T>(f: impl FnOnce() -> T) -> (T, Measured) {
    let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let start_live = LIVE.load(Relaxed);
    LARGEST.store(0, Relaxed);
    PEAK.store(start_live, Relaxed);
    COUNT.store(0, Relaxed);
    let out = f();
    let measured = Measured {
        largest: LARGEST.load(Relaxed),
        peak_above_start: PEAK.load(Relaxed).saturating_sub(start_live),
        count: COUNT.load(Relaxed),
    };
    (out, measured)
}
