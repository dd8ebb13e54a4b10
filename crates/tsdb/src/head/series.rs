//! Head series, found by reference in a dense table ([`super::ref_table`]) and by label hash
//! in striped maps.

use std::sync::Arc;
use std::sync::atomic::AtomicU32;

use foldhash::HashMap;

use model::Labels;
use parking_lot::{Mutex, RwLock};

use crate::chunks::HeadChunkFiles;
use crate::head::postings::worth_shrinking;
use crate::head::ref_table::RefTable;
use crate::start::HeadStarts;

use model::histogram::CounterResetHint;

use crate::chunkenc::CounterResetHeader;
use crate::head::chunk::{
    ChunkData, FullChunk, FullChunks, HeadValue, OpenChunk, SAMPLES_PER_CHUNK,
    compute_chunk_end_time, last_sample, range_for_timestamp,
};
use crate::head::ooo::OooState;

/// The mutable state of a series: its chunks (the newest sample is the open chunk's, or the
/// newest full chunk's) and what few series have besides.
#[derive(Debug)]
pub struct SeriesState {
    /// Full chunks, oldest first.
    pub full: FullChunks,
    /// The chunk being appended to.
    pub head: Option<OpenChunk>,
    /// When to cut the next chunk.
    pub next_at: i64,
    /// Metadata, out-of-order samples and start timestamps, when the series has any.
    extras: Option<Box<SeriesExtras>>,
}

/// What few series have, boxed together so that the others hold one empty pointer for it.
#[derive(Debug, Default)]
struct SeriesExtras {
    /// The series' metadata, when an appender recorded it.
    meta: Option<Box<storage::Metadata>>,
    /// Out-of-order samples, when the series has any.
    ooo: Option<Box<OooState>>,
    /// Start timestamps of the in-order samples, when any had one.
    starts: Option<Box<HeadStarts>>,
}

impl SeriesExtras {
    fn is_empty(&self) -> bool {
        self.meta.is_none() && self.ooo.is_none() && self.starts.is_none()
    }
}

impl Default for SeriesState {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a sample cannot be appended to a series.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppendCheck {
    /// Appendable.
    Ok,
    /// Same timestamp and same value as the newest sample: silently dropped.
    Duplicate,
    /// Older than the newest sample.
    OutOfOrder,
    /// Same timestamp as the newest sample, another value.
    DuplicateTimestamp,
}

impl SeriesState {
    /// A series without samples.
    #[must_use]
    pub fn new() -> Self {
        Self {
            full: FullChunks::default(),
            head: None,
            next_at: i64::MIN,
            extras: None,
        }
    }

    /// The newest timestamp (`i64::MIN` when there is none): the open chunk's (which holds
    /// a sample), else the newest full chunk's.
    #[must_use]
    pub fn max_t(&self) -> i64 {
        match &self.head {
            Some(h) => h.data.newest_t(),
            None => self.full.last().map_or(i64::MIN, |c| c.max_t),
        }
    }

    /// The newest value: the open chunk's, else decoded from the newest full chunk (read
    /// from `files` when it is there).
    #[must_use]
    pub fn last_value(&self, files: Option<&Mutex<HeadChunkFiles>>) -> Option<HeadValue> {
        if let Some(v) = self.head.as_ref().and_then(|h| h.data.last_value()) {
            return Some(v);
        }
        let c = self.full.last()?;
        last_sample(c.encoding(), &c.bytes(files).ok()?)
    }

    /// [`Self::check`] against the series' newest sample; its value is looked up only for a
    /// sample at the same timestamp.
    #[must_use]
    pub fn check_append(
        &self,
        t: i64,
        v: &HeadValue,
        files: Option<&Mutex<HeadChunkFiles>>,
    ) -> AppendCheck {
        let max_t = self.max_t();
        match Self::check(max_t, None, t, v) {
            AppendCheck::DuplicateTimestamp => {
                Self::check(max_t, self.last_value(files).as_ref(), t, v)
            }
            other => other,
        }
    }

    /// The series' metadata, if an appender recorded it.
    #[must_use]
    pub fn meta(&self) -> Option<&storage::Metadata> {
        self.extras.as_ref()?.meta.as_deref()
    }

    /// Records the series' metadata.
    pub fn set_meta(&mut self, m: storage::Metadata) {
        self.extras_mut().meta = Some(Box::new(m));
    }

    /// The series' out-of-order samples, if any.
    #[must_use]
    pub fn ooo(&self) -> Option<&OooState> {
        self.extras.as_ref()?.ooo.as_deref()
    }

    /// [`Self::ooo`], to change.
    pub fn ooo_mut(&mut self) -> Option<&mut OooState> {
        self.extras.as_mut()?.ooo.as_deref_mut()
    }

    /// The series' out-of-order samples, made empty if it had none.
    pub fn ooo_or_default(&mut self) -> &mut OooState {
        self.extras_mut().ooo.get_or_insert_with(Box::default)
    }

    /// Takes the series' out-of-order samples.
    pub fn take_ooo(&mut self) -> Option<OooState> {
        let o = self.extras.as_mut()?.ooo.take();
        self.drop_empty_extras();
        o.map(|o| *o)
    }

    /// Start timestamps of the in-order samples, if any had one.
    #[must_use]
    pub fn starts(&self) -> Option<&HeadStarts> {
        self.extras.as_ref()?.starts.as_deref()
    }

    /// Notes the start timestamp `start` (0: none) of the sample at `t`
    /// ([`HeadStarts::note`]).
    pub fn note_start(&mut self, t: i64, start: i64) {
        if start == 0 && self.starts().is_none() {
            return;
        }
        HeadStarts::note(&mut self.extras_mut().starts, t, start);
        self.drop_empty_extras();
    }

    fn extras_mut(&mut self) -> &mut SeriesExtras {
        self.extras.get_or_insert_with(Box::default)
    }

    fn drop_empty_extras(&mut self) {
        if self.extras.as_ref().is_some_and(|e| e.is_empty()) {
            self.extras = None;
        }
    }

    /// Whether `(t, v)` can follow the newest sample `(max_t, last)`.
    #[must_use]
    pub fn check(max_t: i64, last: Option<&HeadValue>, t: i64, v: &HeadValue) -> AppendCheck {
        if max_t == i64::MIN || t > max_t {
            AppendCheck::Ok
        } else if t < max_t {
            AppendCheck::OutOfOrder
        } else if last.is_some_and(|l| l.same(v)) {
            AppendCheck::Duplicate
        } else {
            AppendCheck::DuplicateTimestamp
        }
    }

    /// Completes the open chunk and opens one for `v`.
    fn cut(
        &mut self,
        id: u64,
        t: i64,
        (v, header): (&HeadValue, CounterResetHeader),
        chunk_range: i64,
        files: Option<&Mutex<HeadChunkFiles>>,
    ) {
        if let Some(old) = self.head.take()
            && old.data.num_samples() > 0
        {
            let max_t = old.data.newest_t();
            self.full.push(old.data.freeze(id, old.min_t, max_t, files));
        }
        let data = ChunkData::for_value(v, header);
        self.head = Some(OpenChunk::new(t, data));
        self.next_at = range_for_timestamp(t, chunk_range);
    }

    /// Appends a sample that passed [`SeriesState::check`], cutting a new chunk when due
    /// (time, size, a change between floats and histograms, or a histogram that does not fit
    /// the chunk). Returns whether the sample was taken. A completed chunk goes to `files`
    /// when given.
    pub fn append(
        &mut self,
        id: u64,
        t: i64,
        v: &HeadValue,
        chunk_range: i64,
        files: Option<&Mutex<HeadChunkFiles>>,
    ) -> bool {
        let max_t = self.max_t();
        if max_t != i64::MIN && t <= max_t {
            return false;
        }
        let mut cut = match &self.head {
            None => true,
            Some(c) => {
                let n = c.data.num_samples();
                if n == SAMPLES_PER_CHUNK / 4 {
                    self.next_at = compute_chunk_end_time(c.min_t, c.data.newest_t(), self.next_at);
                }
                t >= self.next_at || n >= SAMPLES_PER_CHUNK * 2 || !c.data.holds(v)
            }
        };
        let mut header = match v {
            HeadValue::Histogram(h) if h.counter_reset_hint == CounterResetHint::Gauge => {
                CounterResetHeader::Gauge
            }
            _ => CounterResetHeader::Unknown,
        };
        loop {
            if cut {
                self.cut(id, t, (v, header), chunk_range, files);
            }
            let head = self.head.as_mut().expect("head chunk exists");
            match head.data.append(t, v) {
                Ok(None) => return true,
                Ok(Some(h)) if !cut => {
                    header = h;
                    cut = true;
                }
                Ok(Some(_)) => {
                    tracing::warn!(
                        series = id,
                        t,
                        "histogram refused by a fresh chunk; dropped"
                    );
                    break;
                }
                Err(e) => {
                    tracing::warn!(series = id, t, error = %e, "sample dropped");
                    break;
                }
            }
        }
        // An open chunk always holds a sample: a fresh one that took none goes.
        if self
            .head
            .as_ref()
            .is_some_and(|h| h.data.num_samples() == 0)
        {
            self.head = None;
        }
        false
    }

    /// Drops full chunks that end before `mint`, and the open chunk too when it does.
    /// Returns whether the series has no samples left.
    pub fn truncate_before(&mut self, mint: i64) -> bool {
        if self.full.iter().any(|c| c.max_t < mint) {
            self.full.retain(|c| c.max_t >= mint);
        }
        if self.head.as_ref().is_some_and(|h| h.data.newest_t() < mint) {
            self.head = None;
        }
        if let Some(e) = self.extras.as_mut() {
            HeadStarts::truncate_before(&mut e.starts, mint);
            self.drop_empty_extras();
        }
        self.full.is_empty() && self.head.is_none()
    }

    /// The oldest timestamp held, if any.
    #[must_use]
    pub fn min_time(&self) -> Option<i64> {
        self.full
            .first()
            .map(|c| c.min_t)
            .or(self.head.as_ref().map(|h| h.min_t))
    }

    /// Bytes of sample data held in memory.
    #[must_use]
    pub fn byte_size(&self) -> usize {
        self.full.iter().map(FullChunk::byte_size).sum::<usize>()
            + self.head.as_ref().map_or(0, |h| h.data.byte_size())
    }
}

/// A series of the head.
#[derive(Debug)]
pub struct MemSeries {
    /// Its reference, unique in the head and increasing with creation.
    pub id: u64,
    /// Its labels.
    pub labels: Labels,
    /// Chunks and newest sample.
    pub state: Mutex<SeriesState>,
    /// One more than the position of this series' newest sample in the batch of the
    /// appender that last took a sample for it (0: none). An appender trusts it only when
    /// that position of its own batch holds this series, so a stale or foreign value is
    /// harmless. (It fills padding: the series is no larger for it.)
    pub batch_slot: AtomicU32,
}

impl MemSeries {
    /// A series without samples.
    #[must_use]
    pub fn new(id: u64, labels: Labels) -> Self {
        Self {
            id,
            labels,
            state: Mutex::new(SeriesState::new()),
            batch_slot: AtomicU32::new(0),
        }
    }
}

impl MemSeries {
    /// Asks the CPU to load the series' cache lines (its lock, state and open chunk), for a
    /// loop that will lock it a few iterations later: a locked instruction cannot overlap a
    /// cache miss, a prefetch can. A no-op on other architectures than `x86_64`.
    #[inline]
    pub fn prefetch(&self) {
        crate::head::ref_table::prefetch(std::ptr::from_ref(self));
    }
}

/// One stripe of the series by label hash. Nearly every hash belongs to one series, whose
/// reference is held in `unique` under the hash's upper 32 bits (the lower bits chose the
/// stripe): 8 bytes an entry, the series itself found in the table by reference. The series
/// of a key shared by several label sets (a collision), or with a reference past 32 bits,
/// are held in `conflicts`. (A list per hash would cost every series a heap allocation for
/// the rare collision; an `Arc` per entry, twice the bytes.)
#[derive(Debug, Default)]
struct HashStripe {
    unique: HashMap<u32, u32>,
    conflicts: HashMap<u32, Vec<Arc<MemSeries>>>,
}

/// The key of `hash` in its stripe.
fn stripe_key(hash: u64) -> u32 {
    (hash >> 32) as u32
}

impl HashStripe {
    fn get(
        &self,
        by_id: &RefTable<MemSeries>,
        hash: u64,
        labels: &Labels,
    ) -> Option<Arc<MemSeries>> {
        let key = stripe_key(hash);
        if let Some(&id) = self.unique.get(&key) {
            return by_id.get(u64::from(id)).filter(|s| s.labels == *labels);
        }
        self.conflicts
            .get(&key)
            .and_then(|v| v.iter().find(|s| s.labels == *labels))
            .cloned()
    }

    /// Adds `s` (already in `by_id`), which no series of the stripe has the labels of.
    fn insert(&mut self, by_id: &RefTable<MemSeries>, hash: u64, s: &Arc<MemSeries>) {
        let key = stripe_key(hash);
        if let Some(list) = self.conflicts.get_mut(&key) {
            list.push(s.clone());
        } else if let Some(first) = self.unique.remove(&key) {
            let mut list: Vec<Arc<MemSeries>> = by_id.get(u64::from(first)).into_iter().collect();
            list.push(s.clone());
            self.conflicts.insert(key, list);
        } else if let Ok(id) = u32::try_from(s.id) {
            self.unique.insert(key, id);
        } else {
            self.conflicts.insert(key, vec![s.clone()]);
        }
    }

    /// Removes the series `id`, on key `key`, if `gone` is true for it; returns whether it
    /// was removed. `gone` sees the counts [`Self::remove_if`]'s predicate sees.
    fn remove_one(
        &mut self,
        by_id: &RefTable<MemSeries>,
        key: u32,
        id: u64,
        gone: &mut impl FnMut(&Arc<MemSeries>) -> bool,
    ) -> bool {
        if u32::try_from(id).is_ok_and(|id| self.unique.get(&key) == Some(&id)) {
            let g = by_id.get(id).is_none_or(|s| gone(&s));
            if g {
                self.unique.remove(&key);
            }
            return g;
        }
        let Some(list) = self.conflicts.get_mut(&key) else {
            return false;
        };
        let Some(i) = list.iter().position(|s| s.id == id) else {
            return false;
        };
        if !gone(&list[i]) {
            return false;
        }
        list.remove(i);
        // A key left with one series goes back inline.
        if let [last] = list.as_slice()
            && let Ok(last) = u32::try_from(last.id)
        {
            self.conflicts.remove(&key);
            self.unique.insert(key, last);
        } else if list.is_empty() {
            self.conflicts.remove(&key);
        }
        true
    }

    /// Removes the series for which `gone` is true, pushing their references to `removed`.
    /// `gone` sees each series with one reference count besides the table's (as the map
    /// held an `Arc` to each).
    fn remove_if(
        &mut self,
        by_id: &RefTable<MemSeries>,
        gone: &mut impl FnMut(&Arc<MemSeries>) -> bool,
        removed: &mut Vec<u64>,
    ) {
        self.unique.retain(|_, id| {
            let id = u64::from(*id);
            // A reference the table lost (replaced during a replay) is dropped too.
            let g = by_id.get(id).is_none_or(|s| gone(&s));
            if g {
                removed.push(id);
            }
            !g
        });
        let mut single = Vec::new();
        self.conflicts.retain(|&key, list| {
            list.retain(|s| {
                let g = gone(s);
                if g {
                    removed.push(s.id);
                }
                !g
            });
            if list.len() == 1
                && let Ok(id) = u32::try_from(list[0].id)
            {
                single.push((key, id));
                list.clear();
            }
            !list.is_empty()
        });
        // A key left with one series goes back inline.
        self.unique.extend(single);
    }

    /// Gives back the room of the maps after `removed` of their series went at once (see
    /// `worth_shrinking`): a deploy that replaced every series doubled them for the time
    /// both generations were in the head.
    fn shrink_after_removing(&mut self, removed: usize) {
        if worth_shrinking(removed, self.unique.len() + self.conflicts.len()) {
            self.unique.shrink_to_fit();
            self.conflicts.shrink_to_fit();
        }
    }
}

/// Series by reference (a dense table, lock-free for readers) and by label hash (a map split
/// into 2^k locked stripes).
#[derive(Debug)]
pub struct StripeSeries {
    mask: u64,
    by_id: RefTable<MemSeries>,
    by_hash: Vec<RwLock<HashStripe>>,
}

impl StripeSeries {
    /// Maps with `stripes` stripes by label hash (rounded up to a power of two).
    #[must_use]
    pub fn new(stripes: usize) -> Self {
        let n = stripes.max(1).next_power_of_two();
        Self {
            mask: n as u64 - 1,
            by_id: RefTable::new(),
            by_hash: (0..n).map(|_| RwLock::new(HashStripe::default())).collect(),
        }
    }

    /// The series with reference `id`.
    #[must_use]
    pub fn get_by_id(&self, id: u64) -> Option<Arc<MemSeries>> {
        self.by_id.get(id)
    }

    /// [`Self::get_by_id`] for an appender, loading the series of reference `id + 2` into
    /// the cache meanwhile (a scrape appends one target's series in reference order).
    #[must_use]
    pub fn get_by_id_for_append(&self, id: u64) -> Option<Arc<MemSeries>> {
        self.by_id.get_prefetching(id, 2)
    }

    /// Whether a series has reference `id`.
    #[must_use]
    pub fn contains_id(&self, id: u64) -> bool {
        self.by_id.contains(id)
    }

    /// Segments of the by-reference table allocated now (8 KiB each).
    #[must_use]
    pub fn id_segments(&self) -> usize {
        self.by_id.segments()
    }

    /// The series with labels `labels` (whose hash is `hash`).
    #[must_use]
    pub fn get_by_labels(&self, hash: u64, labels: &Labels) -> Option<Arc<MemSeries>> {
        self.by_hash[(hash & self.mask) as usize]
            .read()
            .get(&self.by_id, hash, labels)
    }

    /// Asks the CPU to load the stripe of label hash `hash` (its lock and map header) into
    /// the cache, for a [`Self::get_or_create`] some series later: creating a batch of series
    /// (a chunk snapshot's), the stripe of each is a cache miss.
    pub fn prefetch_stripe(&self, hash: u64) {
        super::ref_table::prefetch(&raw const self.by_hash[(hash & self.mask) as usize]);
    }

    /// Returns the series with `labels`, creating it with `make_id()` if missing; the flag is
    /// true when it was created.
    pub fn get_or_create(
        &self,
        hash: u64,
        labels: &Labels,
        make_id: impl FnOnce() -> u64,
    ) -> (Arc<MemSeries>, bool) {
        let mut stripe = self.by_hash[(hash & self.mask) as usize].write();
        if let Some(s) = stripe.get(&self.by_id, hash, labels) {
            return (s, false);
        }
        let s = Arc::new(MemSeries::new(make_id(), labels.clone()));
        self.by_id.insert(s.id, s.clone());
        stripe.insert(&self.by_id, hash, &s);
        (s, true)
    }

    /// References to each series that [`Self::remove_if`]'s predicate sees besides those of
    /// appenders and readers (the table's, and the map by hash's or one taken for the call):
    /// a series with more is in use by an appender (samples waiting for commit) or a reader.
    pub const MAP_REFS: usize = 2;

    /// Removes series for which `gone` is true; returns their references.
    pub fn remove_if(&self, mut gone: impl FnMut(&Arc<MemSeries>) -> bool) -> Vec<u64> {
        let mut removed = Vec::new();
        for stripe in &self.by_hash {
            let mut stripe = stripe.write();
            let before = removed.len();
            stripe.remove_if(&self.by_id, &mut gone, &mut removed);
            stripe.shrink_after_removing(removed.len() - before);
        }
        self.by_id.remove(&removed);
        removed
    }

    /// Removes those of the series `ids` for which `gone` is true; returns their references.
    /// Each is found by its hash (`hash_of`, the hash it was created with), so the cost is
    /// that of the candidates, where [`Self::remove_if`] visits every series. `gone` sees the
    /// counts `remove_if`'s predicate sees.
    pub fn remove_ids(
        &self,
        ids: &[u64],
        hash_of: impl Fn(&MemSeries) -> u64,
        mut gone: impl FnMut(&Arc<MemSeries>) -> bool,
    ) -> Vec<u64> {
        let mut removed = Vec::new();
        // Series removed per stripe, to give back the room of the stripes that lost many.
        let mut per_stripe = vec![0u32; self.by_hash.len()];
        for &id in ids {
            // The handle is dropped before `gone` runs: it would count as a user.
            let Some(hash) = self.by_id.get(id).map(|s| hash_of(&s)) else {
                continue;
            };
            let i = (hash & self.mask) as usize;
            let mut stripe = self.by_hash[i].write();
            if stripe.remove_one(&self.by_id, stripe_key(hash), id, &mut gone) {
                removed.push(id);
                per_stripe[i] += 1;
            }
        }
        self.by_id.remove(&removed);
        // After a deploy that replaced every series the maps are sized for both generations:
        // the head's memory comes back to its steady state instead of staying at the peak.
        for (stripe, &n) in self.by_hash.iter().zip(&per_stripe) {
            if n > 0 {
                stripe.write().shrink_after_removing(n as usize);
            }
        }
        removed
    }

    /// Calls `f` on every series, in reference order; no lock is held while `f` runs.
    pub fn for_each(&self, f: impl FnMut(&Arc<MemSeries>)) {
        self.by_id.for_each(f);
    }

    /// Number of series.
    #[must_use]
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether there are no series.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_RANGE: i64 = 7_200_000;

    /// A hash in stripe 3 (of 4) with key `key`.
    fn h(key: u64) -> u64 {
        key << 32 | 3
    }

    #[test]
    fn the_newest_sample_is_the_open_chunks_or_the_newest_full_chunks() {
        let f = HeadValue::Float;
        let mut st = SeriesState::new();
        assert_eq!(st.max_t(), i64::MIN);
        assert_eq!(st.check_append(5, &f(1.0), None), AppendCheck::Ok);
        for t in 1..=3 {
            assert!(st.append(1, t, &f(t as f64), DEFAULT_RANGE, None));
        }
        assert_eq!(st.max_t(), 3);
        assert_eq!(st.check_append(3, &f(3.0), None), AppendCheck::Duplicate);
        assert_eq!(
            st.check_append(3, &f(4.0), None),
            AppendCheck::DuplicateTimestamp
        );
        assert_eq!(st.check_append(2, &f(2.0), None), AppendCheck::OutOfOrder);
        // Only full chunks, as after a replay of memory-mapped chunks: the newest value is
        // decoded from the newest one.
        let h = st.head.take().unwrap();
        let max_t = h.max_t();
        st.full.push(h.data.freeze(1, h.min_t, max_t, None));
        assert_eq!(st.max_t(), 3);
        assert_eq!(st.check_append(3, &f(3.0), None), AppendCheck::Duplicate);
        assert_eq!(
            st.check_append(3, &f(4.0), None),
            AppendCheck::DuplicateTimestamp
        );
        assert!(!st.append(1, 3, &f(3.0), DEFAULT_RANGE, None));
        assert!(st.append(1, 4, &f(4.0), DEFAULT_RANGE, None));
        assert_eq!((st.max_t(), st.full.len()), (4, 1));
        // Truncation drops what ends before `mint`, and the extras box once it is empty.
        st.note_start(4, 2);
        assert!(st.starts().is_some());
        assert!(st.append(1, 5, &f(5.0), DEFAULT_RANGE, None));
        st.note_start(5, 0);
        assert!(!st.truncate_before(4));
        assert_eq!((st.full.len(), st.min_time()), (0, Some(4)));
        assert!(st.extras.is_some());
        assert!(!st.truncate_before(5));
        assert!(st.extras.is_none());
        assert!(st.truncate_before(6));
    }

    #[test]
    fn colliding_hashes_keep_each_series_apart_and_removal_moves_the_last_back_inline() {
        let s = StripeSeries::new(4);
        let a = model::labels!("__name__" => "m", "i" => "a");
        let b = model::labels!("__name__" => "m", "i" => "b");
        let c = model::labels!("__name__" => "m", "i" => "c");
        // Three label sets forced onto one key, one on another.
        let (sa, new_a) = s.get_or_create(h(7), &a, || 1);
        let (sb, new_b) = s.get_or_create(h(7), &b, || 2);
        let (sc, _) = s.get_or_create(h(11), &c, || 3);
        assert!(new_a && new_b);
        let (again, created) = s.get_or_create(h(7), &a, || 99);
        assert!(!created && Arc::ptr_eq(&again, &sa));
        drop(again);
        assert_eq!(s.get_by_labels(h(7), &b).map(|x| x.id), Some(2));
        assert_eq!(s.get_by_labels(h(7), &c).map(|x| x.id), None);
        assert_eq!(s.get_by_labels(h(11), &c).map(|x| x.id), Some(sc.id));
        assert_eq!(s.len(), 3);
        {
            let stripe = s.by_hash[3].read();
            assert_eq!(stripe.conflicts.get(&7).map(Vec::len), Some(2));
            assert!(!stripe.unique.contains_key(&7));
        }
        // The predicate sees MAP_REFS counts of an idle series, inline or in a list (plus
        // the test's own handle).
        let mut counts = Vec::new();
        let removed = s.remove_if(|x| {
            counts.push(Arc::strong_count(x) - 1);
            x.id == 1
        });
        assert_eq!(removed, vec![1]);
        assert_eq!(counts, [StripeSeries::MAP_REFS; 3]);
        assert_eq!(s.get_by_labels(h(7), &a).map(|x| x.id), None);
        assert_eq!(s.get_by_labels(h(7), &b).map(|x| x.id), Some(sb.id));
        {
            let stripe = s.by_hash[3].read();
            assert!(stripe.conflicts.is_empty());
            assert_eq!(stripe.unique.get(&7), Some(&2));
        }
        // A third series on the key makes it a conflict again.
        let (sd, new_d) = s.get_or_create(h(7), &a, || 4);
        assert!(new_d);
        assert_eq!(s.get_by_labels(h(7), &a).map(|x| x.id), Some(sd.id));
        assert_eq!(s.get_by_labels(h(7), &b).map(|x| x.id), Some(2));
        assert_eq!(s.get_by_id(4).map(|x| x.id), Some(4));
        assert_eq!(s.get_by_id(1).map(|x| x.id), None);
        // A reference past 32 bits is kept in a list.
        let e = model::labels!("__name__" => "m", "i" => "e");
        let (se, _) = s.get_or_create(h(20), &e, || 1 << 33);
        assert_eq!(s.get_by_labels(h(20), &e).map(|x| x.id), Some(se.id));
        assert_eq!(
            s.by_hash[3].read().conflicts.get(&20).map(Vec::len),
            Some(1)
        );
    }

    #[test]
    fn removal_by_reference_finds_inline_and_colliding_series() {
        let s = StripeSeries::new(4);
        let sets: Vec<Labels> = ["a", "b", "c", "d"]
            .iter()
            .map(|v| model::labels!("__name__" => "m", "i" => *v))
            .collect();
        // a and b collide on key 7, c is inline on 11, d has a reference past 32 bits.
        let hashes = [h(7), h(7), h(11), h(20)];
        let ids = [1, 2, 3, 1 << 33];
        for ((l, hash), id) in sets.iter().zip(hashes).zip(ids) {
            s.get_or_create(hash, l, || id);
        }
        let hash_of = |x: &MemSeries| hashes[ids.iter().position(|&i| i == x.id).unwrap()];
        // The predicate sees MAP_REFS counts of an idle series, inline or in a list; one it
        // refuses stays, and a reference the table does not hold is skipped.
        let mut counts = Vec::new();
        let removed = s.remove_ids(&[1, 3, 1 << 33, 99], hash_of, |x| {
            counts.push(Arc::strong_count(x));
            x.id != 3
        });
        assert_eq!(removed, [1, 1 << 33]);
        assert_eq!(counts, [StripeSeries::MAP_REFS; 3]);
        assert_eq!(s.len(), 2);
        assert_eq!(s.get_by_labels(h(7), &sets[0]).map(|x| x.id), None);
        assert_eq!(s.get_by_labels(h(7), &sets[1]).map(|x| x.id), Some(2));
        assert_eq!(s.get_by_labels(h(11), &sets[2]).map(|x| x.id), Some(3));
        assert_eq!(s.get_by_labels(h(20), &sets[3]).map(|x| x.id), None);
        let stripe = s.by_hash[3].read();
        assert!(
            stripe.conflicts.is_empty(),
            "b went back inline, d's list is gone"
        );
        assert_eq!(stripe.unique.get(&7), Some(&2));
        drop(stripe);
        // The inline series goes too once the predicate agrees.
        assert_eq!(s.remove_ids(&[2, 3], hash_of, |_| true), [2, 3]);
        assert!(s.is_empty());
        assert!(s.by_hash[3].read().unique.is_empty());
    }
}
