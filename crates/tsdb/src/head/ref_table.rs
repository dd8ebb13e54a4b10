//! Values by series reference in a dense table: reference `r` lives in slot `r % 1024` of
//! segment `r / 1024`, segments are found through fixed pages of segment pointers, so a
//! lookup is three dependent loads and no hashing. References are handed out increasing, so
//! the series of one scrape sit side by side. Readers take no lock: they announce themselves
//! in a per-thread counter, and a writer that unlinks a value (or an emptied segment) waits
//! for the counters to drain before it drops what it unlinked. Writers (create, remove) take
//! one mutex. A segment whose references are all past and whose values are all gone is freed,
//! so churn does not grow the table forever. Plays the role of the by-reference half of
//! Prometheus's `stripeSeries` (`tsdb/head.go`), which is a striped hash map there.

use std::cell::Cell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};

use parking_lot::{Mutex, RwLock};

const SEG_BITS: u32 = 10;
/// References per segment.
pub const SEG_LEN: usize = 1 << SEG_BITS;
const PAGE_BITS: u32 = 10;
const PAGE_LEN: usize = 1 << PAGE_BITS;
const TOP_BITS: u32 = 12;
const TOP_LEN: usize = 1 << TOP_BITS;
/// References from here on (2^32) are kept in a locked map instead.
const DENSE_LIMIT: u64 = 1 << (SEG_BITS + PAGE_BITS + TOP_BITS);
/// Counters readers announce themselves in (each on its own cache line).
const READER_SHARDS: usize = 16;

/// The values of `SEG_LEN` consecutive references.
struct Segment<T> {
    slots: [AtomicPtr<T>; SEG_LEN],
    /// Values held (changed under the writer mutex only).
    live: AtomicU32,
}

type Page<T> = [AtomicPtr<Segment<T>>; PAGE_LEN];

#[repr(align(128))]
#[derive(Default)]
struct ReaderCount(AtomicUsize);

thread_local! {
    static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
}
static NEXT_SHARD: AtomicUsize = AtomicUsize::new(0);

/// The reader counter of the calling thread (handed out round robin on first use).
fn shard() -> usize {
    SHARD.with(|c| {
        let v = c.get();
        if v != usize::MAX {
            return v;
        }
        let v = NEXT_SHARD.fetch_add(1, Ordering::Relaxed) % READER_SHARDS;
        c.set(v);
        v
    })
}

/// Asks the CPU to load the cache lines of the value at `p` (a hint: it never faults, so
/// `p` may be null or stale). A no-op on other architectures than `x86_64`.
#[inline]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let p = p.cast::<i8>();
        for line in 0..size_of::<T>().div_ceil(64) {
            // SAFETY: SSE is part of every x86_64 CPU, and a prefetch only hints the cache:
            // it never faults, whatever the address, and changes no memory.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(line * 64)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// A reader inside the table: while it lives, nothing it can load is freed.
struct ReadGuard<'a>(&'a AtomicUsize);

impl Drop for ReadGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Release);
    }
}

/// What writers share, under the writer mutex.
#[derive(Default)]
struct WriterState {
    /// The highest reference inserted so far.
    max_ref: u64,
    /// One more than the highest page index allocated.
    pages: usize,
}

/// `Arc<T>` values by reference (see the module documentation).
pub struct RefTable<T> {
    top: Box<[AtomicPtr<Page<T>>]>,
    /// One more than the highest page index allocated (readers' bound for [`Self::for_each`]).
    pages: AtomicUsize,
    readers: Box<[ReaderCount]>,
    writer: Mutex<WriterState>,
    /// Values of references past [`DENSE_LIMIT`].
    overflow: RwLock<HashMap<u64, Arc<T>>>,
    len: AtomicUsize,
    segments: AtomicUsize,
    /// The table owns one strong count of each value it holds (as `Arc<T>` would).
    _owns: PhantomData<Arc<T>>,
}

impl<T> std::fmt::Debug for RefTable<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RefTable")
            .field("len", &self.len())
            .field("segments", &self.segments())
            .finish_non_exhaustive()
    }
}

impl<T> Default for RefTable<T> {
    fn default() -> Self {
        Self::new()
    }
}

fn null_array<U, const N: usize>() -> Box<[AtomicPtr<U>; N]> {
    Box::new(std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())))
}

fn split(id: u64) -> (usize, usize, usize) {
    let slot = (id as usize) & (SEG_LEN - 1);
    let seg = (id >> SEG_BITS) as usize & (PAGE_LEN - 1);
    let page = (id >> (SEG_BITS + PAGE_BITS)) as usize;
    (page, seg, slot)
}

impl<T> RefTable<T> {
    /// An empty table (32 KiB of page pointers; pages and segments come on demand).
    #[must_use]
    pub fn new() -> Self {
        Self {
            top: (0..TOP_LEN)
                .map(|_| AtomicPtr::new(ptr::null_mut()))
                .collect(),
            pages: AtomicUsize::new(0),
            readers: (0..READER_SHARDS).map(|_| ReaderCount::default()).collect(),
            writer: Mutex::new(WriterState::default()),
            overflow: RwLock::new(HashMap::new()),
            len: AtomicUsize::new(0),
            segments: AtomicUsize::new(0),
            _owns: PhantomData,
        }
    }

    fn read(&self) -> ReadGuard<'_> {
        let c = &self.readers[shard()].0;
        // SeqCst: ordered before the loads of the pointers it protects (see `wait_for_readers`).
        c.fetch_add(1, Ordering::SeqCst);
        ReadGuard(c)
    }

    /// Waits until every reader that could have loaded a pointer unlinked before this call
    /// has left: a reader that loaded it announced itself before (SeqCst), so this sees its
    /// count until it is done. Never called with a read guard held by the caller.
    fn wait_for_readers(&self) {
        for c in &*self.readers {
            let mut spins = 0u32;
            while c.0.load(Ordering::SeqCst) != 0 {
                if spins < 100 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
                spins = spins.saturating_add(1);
            }
        }
    }

    /// The segment holding `id`, if allocated; to be called under a read guard or the
    /// writer mutex, and used only while it is held.
    fn segment(&self, id: u64) -> Option<(&Segment<T>, usize)> {
        let (page, seg, slot) = split(id);
        let p = self.top[page].load(Ordering::Acquire);
        if p.is_null() {
            return None;
        }
        // SAFETY: pages are allocated once and freed only in `drop` (`&mut self`).
        let s = unsafe { &*p }[seg].load(Ordering::SeqCst);
        if s.is_null() {
            return None;
        }
        // SAFETY: a segment is freed only after it was unlinked (SeqCst) and every reader
        // that could have loaded it left (`wait_for_readers`); the caller holds a read guard
        // or the writer mutex, under which no segment is freed.
        Some((unsafe { &*s }, slot))
    }

    /// The value of reference `id`.
    #[must_use]
    pub fn get(&self, id: u64) -> Option<Arc<T>> {
        if id >= DENSE_LIMIT {
            return self.overflow.read().get(&id).cloned();
        }
        let _guard = self.read();
        self.load(id)
    }

    /// The value of dense reference `id`, to be called under a read guard.
    fn load(&self, id: u64) -> Option<Arc<T>> {
        let (seg, slot) = self.segment(id)?;
        let p = seg.slots[slot].load(Ordering::SeqCst);
        if p.is_null() {
            return None;
        }
        // SAFETY: `p` came from `Arc::into_raw` and the table still owns its count: it is
        // dropped only after being unlinked and after the caller's read guard is gone.
        unsafe {
            Arc::increment_strong_count(p);
            Some(Arc::from_raw(p))
        }
    }

    /// [`Self::get`], also asking the CPU to load the value of reference `id + ahead`: an
    /// appender fed by a scrape asks for the references of one target in creation order,
    /// and the value it asks for next is then in the cache, loaded while it parsed.
    #[must_use]
    pub fn get_prefetching(&self, id: u64, ahead: u64) -> Option<Arc<T>> {
        if id >= DENSE_LIMIT - ahead {
            return self.get(id);
        }
        let _guard = self.read();
        let next = id + ahead;
        if let Some((seg, slot)) = self.segment(next) {
            prefetch(seg.slots[slot].load(Ordering::Relaxed));
        }
        self.load(id)
    }

    /// Whether reference `id` has a value.
    #[must_use]
    pub fn contains(&self, id: u64) -> bool {
        if id >= DENSE_LIMIT {
            return self.overflow.read().contains_key(&id);
        }
        let _guard = self.read();
        self.segment(id)
            .is_some_and(|(seg, slot)| !seg.slots[slot].load(Ordering::SeqCst).is_null())
    }

    /// Sets the value of `id`; a value it had before is dropped.
    pub fn insert(&self, id: u64, value: Arc<T>) {
        if id >= DENSE_LIMIT {
            if self.overflow.write().insert(id, value).is_none() {
                self.len.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        let mut w = self.writer.lock();
        let (page, seg, slot) = split(id);
        let mut p = self.top[page].load(Ordering::Acquire);
        if p.is_null() {
            p = Box::into_raw(null_array::<Segment<T>, PAGE_LEN>());
            self.top[page].store(p, Ordering::Release);
            w.pages = w.pages.max(page + 1);
            self.pages.store(w.pages, Ordering::Release);
        }
        // SAFETY: pages live until `drop`.
        let entry = &unsafe { &*p }[seg];
        let mut s = entry.load(Ordering::Acquire);
        if s.is_null() {
            s = Box::into_raw(Box::new(Segment {
                slots: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
                live: AtomicU32::new(0),
            }));
            entry.store(s, Ordering::SeqCst);
            self.segments.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: segments are freed under the writer mutex only, which is held.
        let segment = unsafe { &*s };
        let old = segment.slots[slot].swap(Arc::into_raw(value).cast_mut(), Ordering::SeqCst);
        w.max_ref = w.max_ref.max(id);
        if old.is_null() {
            segment.live.fetch_add(1, Ordering::Relaxed);
            self.len.fetch_add(1, Ordering::Relaxed);
        } else {
            self.wait_for_readers();
            // SAFETY: `old` came from `Arc::into_raw`, is unlinked, and no reader has it.
            drop(unsafe { Arc::from_raw(old) });
        }
    }

    /// Removes the values of `ids` (references without one are skipped), freeing segments
    /// left empty whose references were all handed out.
    pub fn remove(&self, ids: &[u64]) {
        let mut unlinked = Vec::new();
        let mut segments = Vec::new();
        let mut over = 0usize;
        {
            let w = self.writer.lock();
            for &id in ids {
                if id >= DENSE_LIMIT {
                    over += usize::from(self.overflow.write().remove(&id).is_some());
                    continue;
                }
                let Some((seg, slot)) = self.segment(id) else {
                    continue;
                };
                let old = seg.slots[slot].swap(ptr::null_mut(), Ordering::SeqCst);
                if old.is_null() {
                    continue;
                }
                unlinked.push(old);
                let live = seg.live.fetch_sub(1, Ordering::Relaxed) - 1;
                let last_of_segment = id | (SEG_LEN as u64 - 1);
                if live == 0 && last_of_segment <= w.max_ref {
                    let (page, seg_idx, _) = split(id);
                    let p = self.top[page].load(Ordering::Acquire);
                    // SAFETY: pages live until `drop`.
                    let entry = &unsafe { &*p }[seg_idx];
                    segments.push(entry.swap(ptr::null_mut(), Ordering::SeqCst));
                }
            }
            // Under the mutex: an insert must not reach a segment about to be freed.
            if !unlinked.is_empty() {
                self.wait_for_readers();
            }
        }
        self.len.fetch_sub(unlinked.len() + over, Ordering::Relaxed);
        self.segments.fetch_sub(segments.len(), Ordering::Relaxed);
        for p in unlinked {
            // SAFETY: from `Arc::into_raw`, unlinked, and every reader that had it left.
            drop(unsafe { Arc::from_raw(p) });
        }
        for s in segments {
            // SAFETY: from `Box::into_raw`, unlinked with all its slots empty, and every
            // reader that had it left.
            drop(unsafe { Box::from_raw(s) });
        }
    }

    /// Calls `f` on every value, in reference order (values added or removed meanwhile may
    /// or may not be seen). No lock is held while `f` runs.
    pub fn for_each(&self, mut f: impl FnMut(&Arc<T>)) {
        let mut batch: Vec<Arc<T>> = Vec::with_capacity(SEG_LEN);
        let pages = self.pages.load(Ordering::Acquire);
        for page in 0..pages {
            for seg in 0..PAGE_LEN {
                let first = ((page << PAGE_BITS | seg) as u64) << SEG_BITS;
                {
                    let _guard = self.read();
                    let Some((s, _)) = self.segment(first) else {
                        continue;
                    };
                    for slot in &s.slots {
                        let p = slot.load(Ordering::SeqCst);
                        if !p.is_null() {
                            // SAFETY: as in `get`.
                            batch.push(unsafe {
                                Arc::increment_strong_count(p);
                                Arc::from_raw(p)
                            });
                        }
                    }
                }
                batch.drain(..).for_each(|v| f(&v));
            }
        }
        let mut over: Vec<(u64, Arc<T>)> = self
            .overflow
            .read()
            .iter()
            .map(|(k, v)| (*k, v.clone()))
            .collect();
        over.sort_unstable_by_key(|(k, _)| *k);
        over.iter().for_each(|(_, v)| f(v));
    }

    /// Number of values.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len.load(Ordering::Relaxed)
    }

    /// Whether the table holds no value.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Segments allocated now (each 8 KiB).
    #[must_use]
    pub fn segments(&self) -> usize {
        self.segments.load(Ordering::Relaxed)
    }
}

impl<T> Drop for RefTable<T> {
    fn drop(&mut self) {
        for entry in &*self.top {
            let p = entry.load(Ordering::Acquire);
            if p.is_null() {
                continue;
            }
            // SAFETY: from `Box::into_raw`; `&mut self`: no reader or writer is left.
            let page = unsafe { Box::from_raw(p) };
            for seg in page.iter() {
                let s = seg.load(Ordering::Acquire);
                if s.is_null() {
                    continue;
                }
                // SAFETY: from `Box::into_raw`, reachable only from here.
                let seg = unsafe { Box::from_raw(s) };
                for slot in &seg.slots {
                    let v = slot.load(Ordering::Acquire);
                    if !v.is_null() {
                        // SAFETY: from `Arc::into_raw`; the table's own count.
                        drop(unsafe { Arc::from_raw(v) });
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_found_replaced_and_removed_by_reference() {
        let t = RefTable::new();
        for id in [1u64, 2, 1023, 1024, 5_000_000, DENSE_LIMIT + 7] {
            t.insert(id, Arc::new(id * 10));
        }
        assert_eq!(t.len(), 6);
        assert_eq!(t.get(1023).as_deref(), Some(&10_230));
        assert_eq!(
            t.get(DENSE_LIMIT + 7).as_deref(),
            Some(&((DENSE_LIMIT + 7) * 10))
        );
        assert!(t.get(3).is_none() && t.get(6_000_000).is_none() && t.get(DENSE_LIMIT).is_none());
        // Prefetching past the end, into a missing segment or the overflow map is harmless.
        assert_eq!(t.get_prefetching(1023, 2).as_deref(), Some(&10_230));
        assert_eq!(
            t.get_prefetching(5_000_000, 5_000).as_deref(),
            Some(&50_000_000)
        );
        assert!(t.get_prefetching(3, 1).is_none());
        assert!(t.get_prefetching(DENSE_LIMIT + 7, 2).is_some());
        t.insert(2, Arc::new(7));
        assert_eq!((t.len(), t.get(2).as_deref()), (6, Some(&7)));
        let mut seen = Vec::new();
        t.for_each(|v| seen.push(**v));
        assert_eq!(
            seen,
            [10, 7, 10_230, 10_240, 50_000_000, (DENSE_LIMIT + 7) * 10]
        );
        t.remove(&[2, 3, DENSE_LIMIT + 7]);
        assert_eq!(t.len(), 4);
        assert!(!t.contains(2) && t.contains(1));
        // A value held by a reader outlives its removal.
        let held = t.get(1024).unwrap();
        t.remove(&[1024]);
        assert_eq!((*held, Arc::strong_count(&held)), (10_240, 1));
    }
}
