//! The agent's series (Prometheus's `tsdb/agent/series.go`): labels, the newest committed
//! sample's timestamp and the last metadata, nothing else; found by reference through dense
//! per-stripe slot arrays (references are handed out in order, so a reference indexes its
//! slot with no hashing) and by labels through hash stripes.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};

use model::Labels;
use parking_lot::{Mutex, RwLock};
use storage::Metadata;

/// Stripes of both maps (a power of two): appenders of different targets rarely meet.
const STRIPES: u64 = 16;

/// One series of the agent.
#[derive(Debug)]
pub struct AgentSeries {
    /// Its reference in the WAL.
    pub id: u64,
    /// Its labels.
    pub labels: Labels,
    /// Timestamp of the newest committed sample (`i64::MIN`: none yet).
    pub last_ts: AtomicI64,
    /// Timestamp of the newest exemplar taken (`i64::MIN`: none yet).
    pub last_exemplar_ts: AtomicI64,
    /// The metadata last logged for it (shared with the other series of its family).
    pub meta: Mutex<Option<Arc<Metadata>>>,
}

impl AgentSeries {
    fn new(id: u64, labels: Labels) -> Self {
        Self {
            id,
            labels,
            last_ts: AtomicI64::new(i64::MIN),
            last_exemplar_ts: AtomicI64::new(i64::MIN),
            meta: Mutex::new(None),
        }
    }
}

/// The slots of one stripe: slot `i` holds reference `i * STRIPES + stripe`, from `base` on.
#[derive(Default)]
struct Slots {
    base: u64,
    slots: VecDeque<Option<Arc<AgentSeries>>>,
}

impl Slots {
    fn get(&self, idx: u64) -> Option<&Arc<AgentSeries>> {
        let i = usize::try_from(idx.checked_sub(self.base)?).ok()?;
        self.slots.get(i)?.as_ref()
    }

    fn put(&mut self, idx: u64, s: Option<Arc<AgentSeries>>) {
        if self.slots.is_empty() {
            self.base = idx;
        }
        while idx < self.base {
            self.slots.push_front(None);
            self.base -= 1;
        }
        let i = usize::try_from(idx - self.base).unwrap_or(usize::MAX);
        if i >= self.slots.len() {
            self.slots.resize(i + 1, None);
        }
        self.slots[i] = s;
        // Removed references at the front are not kept (references only grow).
        while matches!(self.slots.front(), Some(None)) {
            self.slots.pop_front();
            self.base += 1;
        }
    }
}

type HashStripe = HashMap<u64, Vec<Arc<AgentSeries>>, foldhash::fast::RandomState>;

/// The agent's series by reference and by labels.
pub struct SeriesTable {
    by_id: Vec<RwLock<Slots>>,
    by_hash: Vec<RwLock<HashStripe>>,
    last_id: AtomicU64,
    count: AtomicUsize,
}

impl std::fmt::Debug for SeriesTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeriesTable")
            .field("series", &self.len())
            .finish_non_exhaustive()
    }
}

impl Default for SeriesTable {
    fn default() -> Self {
        Self {
            by_id: (0..STRIPES).map(|_| RwLock::default()).collect(),
            by_hash: (0..STRIPES).map(|_| RwLock::default()).collect(),
            last_id: AtomicU64::new(0),
            count: AtomicUsize::new(0),
        }
    }
}

/// References the table itself holds to each series (by id and by hash).
pub(crate) const MAP_REFS: usize = 2;

impl SeriesTable {
    /// Number of series.
    #[must_use]
    pub fn len(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Whether there is no series.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The highest reference handed out so far.
    #[must_use]
    pub fn last_id(&self) -> u64 {
        self.last_id.load(Ordering::Relaxed)
    }

    /// The series with reference `id`.
    #[must_use]
    pub fn get(&self, id: u64) -> Option<Arc<AgentSeries>> {
        self.by_id[(id % STRIPES) as usize]
            .read()
            .get(id / STRIPES)
            .cloned()
    }

    /// Whether reference `id` names a series.
    #[must_use]
    pub fn contains(&self, id: u64) -> bool {
        self.by_id[(id % STRIPES) as usize]
            .read()
            .get(id / STRIPES)
            .is_some()
    }

    /// The series `labels`, if it exists.
    #[must_use]
    pub fn get_by_labels(&self, labels: &Labels) -> Option<Arc<AgentSeries>> {
        let hash = labels.hash64();
        find(
            &self.by_hash[(hash % STRIPES) as usize].read(),
            hash,
            labels,
        )
    }

    /// The series `labels`, created with the next reference if missing; true when created.
    pub fn get_or_create(&self, labels: &Labels) -> (Arc<AgentSeries>, bool) {
        let hash = labels.hash64();
        let stripe = &self.by_hash[(hash % STRIPES) as usize];
        if let Some(s) = find(&stripe.read(), hash, labels) {
            return (s, false);
        }
        let mut w = stripe.write();
        if let Some(s) = find(&w, hash, labels) {
            return (s, false);
        }
        let id = self.last_id.fetch_add(1, Ordering::AcqRel) + 1;
        let s = Arc::new(AgentSeries::new(id, labels.clone()));
        w.entry(hash).or_default().push(s.clone());
        self.by_id[(id % STRIPES) as usize]
            .write()
            .put(id / STRIPES, Some(s.clone()));
        self.count.fetch_add(1, Ordering::Relaxed);
        (s, true)
    }

    /// Adds the series `labels` with reference `id` (WAL replay); when the labels exist
    /// already, that series is returned instead.
    pub(crate) fn insert_replayed(&self, id: u64, labels: Labels) -> Arc<AgentSeries> {
        let hash = labels.hash64();
        let mut w = self.by_hash[(hash % STRIPES) as usize].write();
        if let Some(s) = find(&w, hash, &labels) {
            return s;
        }
        let s = Arc::new(AgentSeries::new(id, labels));
        w.entry(hash).or_default().push(s.clone());
        self.by_id[(id % STRIPES) as usize]
            .write()
            .put(id / STRIPES, Some(s.clone()));
        self.count.fetch_add(1, Ordering::Relaxed);
        self.last_id.fetch_max(id, Ordering::AcqRel);
        s
    }

    /// Removes the series for which `gone` is true; returns their references.
    pub(crate) fn remove_if(&self, mut gone: impl FnMut(&Arc<AgentSeries>) -> bool) -> Vec<u64> {
        let mut removed = Vec::new();
        for stripe in &self.by_hash {
            let mut w = stripe.write();
            w.retain(|_, list| {
                list.retain(|s| {
                    if gone(s) {
                        removed.push(s.id);
                        return false;
                    }
                    true
                });
                !list.is_empty()
            });
        }
        for &id in &removed {
            self.by_id[(id % STRIPES) as usize]
                .write()
                .put(id / STRIPES, None);
        }
        self.count.fetch_sub(removed.len(), Ordering::Relaxed);
        removed
    }
}

fn find(stripe: &HashStripe, hash: u64, labels: &Labels) -> Option<Arc<AgentSeries>> {
    stripe
        .get(&hash)?
        .iter()
        .find(|s| s.labels == *labels)
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(v: &str) -> Labels {
        Labels::from_pairs([("__name__", "m"), ("i", v)])
    }

    #[test]
    fn series_are_found_by_reference_and_labels_and_removed() {
        let t = SeriesTable::default();
        let ids: Vec<u64> = (0..100)
            .map(|i| t.get_or_create(&l(&i.to_string())).0.id)
            .collect();
        assert_eq!(ids, (1..=100).collect::<Vec<_>>());
        assert_eq!(t.get_or_create(&l("7")).0.id, 8);
        assert!(!t.get_or_create(&l("7")).1);
        assert_eq!(t.get(50).unwrap().labels, l("49"));
        assert!(t.get(0).is_none() && t.get(101).is_none());
        let removed = t.remove_if(|s| s.id <= 40 || s.id == 77);
        assert_eq!(removed.len(), 41);
        assert_eq!(t.len(), 59);
        assert!(t.get(40).is_none() && t.get(77).is_none());
        assert_eq!(t.get(41).unwrap().labels, l("40"));
        // A removed series' labels get a new reference.
        assert_eq!(t.get_or_create(&l("0")).0.id, 101);
        // Replayed references out of order land in their slots.
        let r = SeriesTable::default();
        for id in [500, 3, 250, 17] {
            r.insert_replayed(id, l(&id.to_string()));
        }
        assert_eq!(r.last_id(), 500);
        for id in [500, 3, 250, 17] {
            assert_eq!(r.get(id).unwrap().labels, l(&id.to_string()));
        }
        assert!(r.get(4).is_none());
        // Known labels under another reference: the known series.
        assert_eq!(r.insert_replayed(900, l("3")).id, 3);
    }
}
