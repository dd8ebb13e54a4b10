//! A map keyed by WAL series reference for the queue's per-sample lookups. References are
//! handed out in order and a scrape's samples come in that order, so most live in a dense
//! array indexed by `ref - base` (one sequential read per sample instead of a hash probe
//! into a large table); references far from the dense range, and old long-lived series
//! once the range has thinned out, live in a hash map.

use std::collections::{HashMap, VecDeque};

/// Slack beyond the live count that the dense range may span.
const SLACK: usize = 1024;

/// Values by series reference.
pub(crate) struct SeriesMap<V> {
    base: u64,
    dense: VecDeque<Option<V>>,
    dense_live: usize,
    sparse: HashMap<u64, V, foldhash::fast::RandomState>,
}

impl<V> Default for SeriesMap<V> {
    fn default() -> Self {
        Self {
            base: 0,
            dense: VecDeque::new(),
            dense_live: 0,
            sparse: HashMap::default(),
        }
    }
}

impl<V> SeriesMap<V> {
    /// Where `id` sits in the dense range, if it does.
    fn slot(&self, id: u64) -> Option<usize> {
        let i = usize::try_from(id.checked_sub(self.base)?).ok()?;
        (i < self.dense.len()).then_some(i)
    }

    /// The value of `id`.
    pub fn get(&self, id: u64) -> Option<&V> {
        if let Some(i) = self.slot(id)
            && let Some(v) = self.dense[i].as_ref()
        {
            return Some(v);
        }
        // A reference put aside before the dense range grew over it.
        if self.sparse.is_empty() {
            None
        } else {
            self.sparse.get(&id)
        }
    }

    /// Whether `id` has a value.
    pub fn contains(&self, id: u64) -> bool {
        self.get(id).is_some()
    }

    /// Sets the value of `id`.
    pub fn insert(&mut self, id: u64, v: V) {
        if let Some(i) = self.slot(id) {
            if !self.sparse.is_empty() {
                self.sparse.remove(&id);
            }
            if self.dense[i].is_none() {
                self.dense_live += 1;
            }
            self.dense[i] = Some(v);
            return;
        }
        if self.dense.is_empty() {
            self.base = id;
        }
        let limit = (self.dense_live * 2 + SLACK) as u64;
        let end = self.base + self.dense.len() as u64;
        if id >= end && id - self.base < limit.max(self.dense.len() as u64 + SLACK as u64) {
            // Past the end, close enough: the range grows (the common case).
            self.sparse.remove(&id);
            let i = usize::try_from(id - self.base).unwrap_or(usize::MAX);
            self.dense.resize_with(i + 1, || None);
            self.dense[i] = Some(v);
            self.dense_live += 1;
        } else {
            self.sparse.insert(id, v);
        }
    }

    /// Keeps the values for which `keep` is true.
    pub fn retain(&mut self, mut keep: impl FnMut(u64, &V) -> bool) {
        let base = self.base;
        for (i, slot) in self.dense.iter_mut().enumerate() {
            if slot.as_ref().is_some_and(|v| !keep(base + i as u64, v)) {
                *slot = None;
                self.dense_live -= 1;
            }
        }
        self.sparse.retain(|id, v| keep(*id, v));
        // A thinned-out front (old series among many gone) moves to the hash map, so the
        // dense range stays within twice the live count.
        while self.dense.len() > self.dense_live * 2 + SLACK
            || matches!(self.dense.front(), Some(None))
        {
            let Some(front) = self.dense.pop_front() else {
                break;
            };
            if let Some(v) = front {
                self.dense_live -= 1;
                self.sparse.insert(self.base, v);
            }
            self.base += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    #[test]
    fn dense_and_sparse_references_behave_as_one_map() {
        fn put(m: &mut SeriesMap<u64>, model: &mut BTreeMap<u64, u64>, id: u64) {
            m.insert(id, id * 10);
            model.insert(id, id * 10);
        }
        let mut m = SeriesMap::default();
        let mut model = BTreeMap::new();
        for id in 1..=5000 {
            put(&mut m, &mut model, id);
        }
        // Far away: the hash map; below the base: too.
        put(&mut m, &mut model, 1_000_000);
        // Beyond the dense range's reach now, inside it later.
        put(&mut m, &mut model, 12_000);
        for id in 5001..=6000 {
            put(&mut m, &mut model, id);
        }
        // Churn: the old series go except a few long-lived ones; new ones arrive.
        let keep = |id: u64, _: &u64| id.is_multiple_of(1000) || id > 4000;
        m.retain(keep);
        model.retain(|id, v| keep(*id, v));
        for id in (6001..=14_000).filter(|&id| id != 12_000) {
            put(&mut m, &mut model, id);
        }
        m.retain(|id, _| id != 7000);
        model.remove(&7000);
        for id in 0..=1_000_001 {
            if id > 15_000 && id != 1_000_000 {
                continue;
            }
            assert_eq!(m.get(id), model.get(&id), "{id}");
        }
        // The dense range stays near the live count.
        assert!(
            m.dense.len() <= m.dense_live * 2 + SLACK,
            "{}",
            m.dense.len()
        );
        assert_eq!(m.get(1000), Some(&10_000));
    }
}
