//! A counting global allocator for memory tests: it forwards every call to an inner allocator
//! and counts the bytes and allocations held, for the whole process (with the peak) and for
//! each thread, optionally in the size classes of the allocator the server runs with.
//!
//! A test binary installs one as its global allocator and measures a piece of work:
//!
//! ```
//! use firewatch_testkit::counting_alloc::CountingAlloc;
//!
//! #[global_allocator]
//! static GLOBAL: CountingAlloc = CountingAlloc::system();
//!
//! fn main() {
//!     let (v, held) = GLOBAL.measure_thread(|| vec![0u8; 1000]);
//!     assert_eq!((held.bytes, held.allocs), (1000, 1));
//!     drop(v);
//! }
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ops::{Add, Sub};
use std::sync::atomic::{AtomicIsize, Ordering};

/// What is held: bytes asked for, bytes of the size classes that serve them, and allocations.
/// Differences of two readings are what a piece of work left behind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Held {
    /// Bytes asked for (`Layout::size`).
    pub bytes: isize,
    /// Bytes of the size classes serving them (the same as `bytes` without a size class).
    pub class_bytes: isize,
    /// Allocations (a reallocation keeps the count).
    pub allocs: isize,
}

impl Add for Held {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            bytes: self.bytes + o.bytes,
            class_bytes: self.class_bytes + o.class_bytes,
            allocs: self.allocs + o.allocs,
        }
    }
}

impl Sub for Held {
    type Output = Self;
    fn sub(self, o: Self) -> Self {
        Self {
            bytes: self.bytes - o.bytes,
            class_bytes: self.class_bytes - o.class_bytes,
            allocs: self.allocs - o.allocs,
        }
    }
}

/// Bytes held at most while a piece of work ran, and left behind, beyond what was held before
/// (whole process).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Peak {
    /// The highest number of bytes asked for and held at once.
    pub peak: isize,
    /// Bytes asked for and still held at the end.
    pub net: isize,
}

thread_local! {
    /// The calling thread's counts, shared by every `CountingAlloc` of the process (there is
    /// one global allocator).
    static THREAD: Cell<Held> = const {
        Cell::new(Held { bytes: 0, class_bytes: 0, allocs: 0 })
    };
}

/// A global allocator that forwards to `A` and counts what is held, per process and per
/// thread. The per-thread counts are not disturbed by other test threads; the process counts
/// (and the peak) see every thread.
pub struct CountingAlloc<A = System> {
    inner: A,
    /// The bytes of the size class serving a request of so many bytes.
    size_class: fn(usize) -> usize,
    bytes: AtomicIsize,
    class_bytes: AtomicIsize,
    allocs: AtomicIsize,
    peak: AtomicIsize,
}

/// The size class of an allocator without classes: the size asked for.
fn exact(size: usize) -> usize {
    size
}

impl CountingAlloc<System> {
    /// Counts over the system allocator, without size classes.
    #[must_use]
    pub const fn system() -> Self {
        Self::new(System, exact)
    }
}

impl<A> CountingAlloc<A> {
    /// Counts over `inner`; `size_class` gives the bytes the allocator the server runs with
    /// serves a request from (for mimalloc, `mi_good_size`). It is called on every allocation:
    /// it must neither allocate nor panic.
    pub const fn new(inner: A, size_class: fn(usize) -> usize) -> Self {
        Self {
            inner,
            size_class,
            bytes: AtomicIsize::new(0),
            class_bytes: AtomicIsize::new(0),
            allocs: AtomicIsize::new(0),
            peak: AtomicIsize::new(0),
        }
    }

    /// What the whole process holds through this allocator.
    pub fn process(&self) -> Held {
        Held {
            bytes: self.bytes.load(Ordering::Relaxed),
            class_bytes: self.class_bytes.load(Ordering::Relaxed),
            allocs: self.allocs.load(Ordering::Relaxed),
        }
    }

    /// What the calling thread holds since it started (its frees of other threads' memory
    /// count against it; the thread's counts are shared by every `CountingAlloc`).
    pub fn thread(&self) -> Held {
        THREAD.with(Cell::get)
    }

    /// Runs `f` and returns its result with what the calling thread holds more after it.
    pub fn measure_thread<T>(&self, f: impl FnOnce() -> T) -> (T, Held) {
        let before = self.thread();
        let out = f();
        (out, self.thread() - before)
    }

    /// Runs `f` and returns its result with the bytes the process held at most while it ran
    /// and left behind, beyond what it held before. Not for concurrent use: the peak is reset
    /// when `f` starts.
    pub fn measure_peak<T>(&self, f: impl FnOnce() -> T) -> (T, Peak) {
        let before = self.bytes.load(Ordering::Relaxed);
        self.peak.store(before, Ordering::Relaxed);
        let out = f();
        let peak = self.peak.load(Ordering::Relaxed) - before;
        let net = self.bytes.load(Ordering::Relaxed) - before;
        (out, Peak { peak, net })
    }

    fn count(&self, d: Held) {
        let now = self.bytes.fetch_add(d.bytes, Ordering::Relaxed) + d.bytes;
        self.peak.fetch_max(now, Ordering::Relaxed);
        self.class_bytes.fetch_add(d.class_bytes, Ordering::Relaxed);
        self.allocs.fetch_add(d.allocs, Ordering::Relaxed);
        // `try_with`: the allocator runs during thread teardown too.
        let _ = THREAD.try_with(|t| t.set(t.get() + d));
    }

    fn held(&self, size: usize, allocs: isize) -> Held {
        Held {
            bytes: size as isize,
            class_bytes: (self.size_class)(size) as isize,
            allocs,
        }
    }
}

// SAFETY: every call forwards to the inner allocator unchanged; the counters are atomics and a
// thread-local cell with a constant initializer, none of which allocates.
unsafe impl<A: GlobalAlloc> GlobalAlloc for CountingAlloc<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.count(self.held(layout.size(), 1));
        // SAFETY: forwarded as received.
        unsafe { self.inner.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.count(self.held(layout.size(), 1));
        // SAFETY: forwarded as received.
        unsafe { self.inner.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.count(Held::default() - self.held(layout.size(), 1));
        // SAFETY: forwarded as received.
        unsafe { self.inner.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.count(self.held(new_size, 0) - self.held(layout.size(), 0));
        // SAFETY: forwarded as received.
        unsafe { self.inner.realloc(ptr, layout, new_size) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Size classes of 16 bytes.
    fn by_16(size: usize) -> usize {
        size.next_multiple_of(16)
    }

    /// Allocates `size` bytes through `a` (not the test's global allocator), hands the block
    /// to `f` and frees the block `f` returns.
    fn with_block<A: GlobalAlloc>(
        a: &A,
        size: usize,
        f: impl FnOnce(*mut u8, Layout) -> (*mut u8, Layout),
    ) {
        let layout = Layout::from_size_align(size, 8).unwrap();
        // SAFETY: a non-zero layout.
        let p = unsafe { a.alloc(layout) };
        assert!(!p.is_null());
        let (p, layout) = f(p, layout);
        // SAFETY: `f` returns a live block of `a` with its layout.
        unsafe { a.dealloc(p, layout) };
    }

    #[test]
    fn counts_bytes_classes_and_allocations_per_thread_and_process() {
        let a = CountingAlloc::new(System, by_16);
        let ((), left) = a.measure_thread(|| {
            with_block(&a, 20, |p, layout| {
                let held = a.thread();
                assert_eq!(a.process(), held);
                assert_eq!(
                    (held.bytes, held.class_bytes, held.allocs),
                    (20, 32, 1),
                    "one block of 20 bytes in a class of 32"
                );
                (p, layout)
            });
        });
        assert_eq!(left, Held::default(), "freed");
        assert_eq!(a.process(), Held::default());
    }

    #[test]
    fn a_reallocation_moves_the_bytes_and_keeps_the_count() {
        let a = CountingAlloc::new(System, by_16);
        with_block(&a, 8, |p, layout| {
            // SAFETY: `p` is a live block of `a` with `layout`; only the new one is used after.
            let q = unsafe { a.realloc(p, layout, 40) };
            let held = Held {
                bytes: 40,
                class_bytes: 48,
                allocs: 1,
            };
            assert_eq!(a.process(), held);
            (q, Layout::from_size_align(40, 8).unwrap())
        });
        assert_eq!(a.process(), Held::default());
    }

    #[test]
    fn the_peak_is_the_highest_held_while_the_work_ran() {
        let a = CountingAlloc::system();
        with_block(&a, 100, |p, outer| {
            let ((), peak) = a.measure_peak(|| {
                with_block(&a, 1000, |p, l| (p, l));
                with_block(&a, 300, |p, l| (p, l));
            });
            assert_eq!(peak, Peak { peak: 1000, net: 0 });
            (p, outer)
        });
    }

    #[test]
    fn other_threads_count_for_the_process_not_for_the_caller() {
        let a = CountingAlloc::system();
        let ((), mine) = a.measure_thread(|| {
            std::thread::scope(|s| {
                s.spawn(|| {
                    with_block(&a, 64, |p, l| {
                        assert_eq!(a.process().bytes, 64);
                        (p, l)
                    });
                });
            });
        });
        assert_eq!(mine, Held::default());
    }
}
