//! The head's exemplars: a fixed-size circular buffer shared by all series, as Prometheus's
//! `CircularExemplarStorage`. Each series' exemplars form a linked list through the buffer,
//! oldest to newest; when the buffer is full the oldest exemplar overall is overwritten.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use model::{Labels, Matcher};
use parking_lot::RwLock;
use storage::exemplar::EXEMPLAR_MAX_LABEL_SET_LENGTH;
use storage::{Exemplar, ExemplarSeries, StorageError};

/// No next exemplar in a series' list.
const NONE: usize = usize::MAX;

#[derive(Debug)]
struct Entry {
    exemplar: Exemplar,
    /// Slot of the next (newer) exemplar of the same series.
    next: usize,
    /// The series the exemplar belongs to.
    series: Labels,
}

#[derive(Debug, Clone, Copy)]
struct SeriesIndex {
    oldest: usize,
    newest: usize,
}

#[derive(Debug, Default)]
struct Ring {
    /// Grows up to `capacity`, then wraps.
    slots: Vec<Option<Entry>>,
    capacity: usize,
    next: usize,
    index: HashMap<Labels, SeriesIndex>,
    stored: usize,
}

/// What the exemplar storage did, for `/metrics`.
#[derive(Debug, Default)]
pub struct ExemplarStats {
    /// Exemplars stored since start (`prometheus_tsdb_exemplar_exemplars_appended_total`).
    pub appended: AtomicU64,
    /// Exemplars refused as out of order
    /// (`prometheus_tsdb_exemplar_out_of_order_exemplars_total`).
    pub out_of_order: AtomicU64,
}

/// The circular exemplar storage; a capacity of 0 keeps nothing.
#[derive(Debug, Default)]
pub struct ExemplarStorage {
    ring: RwLock<Ring>,
    /// Counters.
    pub stats: ExemplarStats,
}

fn label_set_length(labels: &Labels) -> usize {
    labels
        .iter()
        .map(|l| l.name.chars().count() + l.value.chars().count())
        .sum()
}

impl Ring {
    fn validate(&self, series: &Labels, e: &Exemplar) -> Result<(), StorageError> {
        if self.capacity == 0 {
            return Err(StorageError::ExemplarsDisabled);
        }
        if label_set_length(&e.labels) > EXEMPLAR_MAX_LABEL_SET_LENGTH {
            return Err(StorageError::ExemplarLabelLength);
        }
        let Some(idx) = self.index.get(series) else {
            return Ok(());
        };
        let newest = &self.slots[idx.newest]
            .as_ref()
            .expect("indexed slot holds an exemplar")
            .exemplar;
        if newest.same(e) {
            return Err(StorageError::DuplicateExemplar);
        }
        if e.ts <= newest.ts {
            return Err(StorageError::OutOfOrderExemplar);
        }
        Ok(())
    }

    /// Stores `e` (validated) as the newest exemplar of `series`, overwriting the oldest
    /// exemplar overall when full.
    fn push(&mut self, series: Labels, e: Exemplar) {
        let slot = self.next;
        if slot == self.slots.len() {
            self.slots.push(None);
        }
        // Evict the oldest exemplar overall when its slot is taken.
        if let Some(old) = self.slots[slot].take() {
            self.stored -= 1;
            if old.next == NONE {
                self.index.remove(&old.series);
            } else if let Some(idx) = self.index.get_mut(&old.series) {
                idx.oldest = old.next;
            }
        }
        match self.index.get_mut(&series) {
            Some(idx) => {
                let prev = std::mem::replace(&mut idx.newest, slot);
                if let Some(p) = self.slots[prev].as_mut() {
                    p.next = slot;
                }
            }
            None => {
                self.index.insert(
                    series.clone(),
                    SeriesIndex {
                        oldest: slot,
                        newest: slot,
                    },
                );
            }
        }
        self.slots[slot] = Some(Entry {
            exemplar: e,
            next: NONE,
            series,
        });
        self.stored += 1;
        self.next = (slot + 1) % self.capacity;
    }
}

impl ExemplarStorage {
    /// A storage holding at most `capacity` exemplars.
    #[must_use]
    pub fn new(capacity: usize) -> Self {
        Self {
            ring: RwLock::new(Ring {
                capacity,
                ..Ring::default()
            }),
            stats: ExemplarStats::default(),
        }
    }

    /// How many exemplars fit.
    #[must_use]
    pub fn capacity(&self) -> usize {
        self.ring.read().capacity
    }

    /// Whether exemplars are kept at all.
    #[must_use]
    pub fn enabled(&self) -> bool {
        self.capacity() > 0
    }

    /// Exemplars held now (`prometheus_tsdb_exemplar_exemplars_in_storage`).
    #[must_use]
    pub fn exemplars_in_storage(&self) -> usize {
        self.ring.read().stored
    }

    /// Series with at least one exemplar
    /// (`prometheus_tsdb_exemplar_series_with_exemplars_in_storage`).
    #[must_use]
    pub fn series_with_exemplars(&self) -> usize {
        self.ring.read().index.len()
    }

    /// Whether `e` could be added to `series` now.
    ///
    /// # Errors
    /// [`StorageError::ExemplarsDisabled`], [`StorageError::ExemplarLabelLength`],
    /// [`StorageError::DuplicateExemplar`] or [`StorageError::OutOfOrderExemplar`].
    pub fn validate(&self, series: &Labels, e: &Exemplar) -> Result<(), StorageError> {
        self.ring.read().validate(series, e)
    }

    /// Adds `e` to `series`, overwriting the oldest exemplar when full.
    ///
    /// # Errors
    /// As [`ExemplarStorage::validate`]; nothing is stored then.
    pub fn add(&self, series: &Labels, e: &Exemplar) -> Result<(), StorageError> {
        let mut ring = self.ring.write();
        if let Err(err) = ring.validate(series, e) {
            if matches!(err, StorageError::OutOfOrderExemplar) {
                self.stats.out_of_order.fetch_add(1, Ordering::Relaxed);
            }
            return Err(err);
        }
        ring.push(series.clone(), e.clone());
        self.stats.appended.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Calls `f` on every exemplar held with its series' labels, oldest first (the order
    /// they were written to the buffer, as Prometheus's `IterateExemplars`).
    pub fn for_each(&self, mut f: impl FnMut(&Labels, &Exemplar)) {
        let ring = self.ring.read();
        let n = ring.slots.len();
        // Once the buffer has wrapped, the oldest slot is the next one to be written.
        let first = if n == ring.capacity { ring.next } else { 0 };
        for i in 0..n {
            if let Some(e) = &ring.slots[(first + i) % n] {
                f(&e.series, &e.exemplar);
            }
        }
    }

    /// Changes the capacity keeping the newest exemplars that fit, as Prometheus's
    /// `Resize` on a configuration reload; 0 drops them all and turns exemplars off.
    pub fn resize(&self, capacity: usize) {
        let mut ring = self.ring.write();
        if capacity == ring.capacity {
            return;
        }
        let mut old = std::mem::take(&mut *ring);
        ring.capacity = capacity;
        let len = old.slots.len();
        // Oldest first: slot `next` once the buffer wrapped, slot 0 before (then
        // `next == len`).
        let oldest_first: Vec<Entry> = (0..len)
            .filter_map(|i| old.slots[(old.next + i) % len].take())
            .collect();
        let skip = oldest_first.len().saturating_sub(capacity);
        for entry in oldest_first.into_iter().skip(skip) {
            ring.push(entry.series, entry.exemplar);
        }
    }

    /// The exemplars with `start <= ts <= end` of the series matching at least one of
    /// `matcher_sets`, sorted by series labels.
    #[must_use]
    pub fn select(
        &self,
        start: i64,
        end: i64,
        matcher_sets: &[Vec<Matcher>],
    ) -> Vec<ExemplarSeries> {
        let ring = self.ring.read();
        let mut out = Vec::new();
        for (series, idx) in &ring.index {
            let entry = |i: usize| ring.slots[i].as_ref().expect("indexed slot");
            if entry(idx.oldest).exemplar.ts > end || entry(idx.newest).exemplar.ts < start {
                continue;
            }
            let matches = matcher_sets.iter().any(|set| {
                set.iter()
                    .all(|m| m.matches(series.get(&m.name).unwrap_or("")))
            });
            if !matches {
                continue;
            }
            let mut exemplars = Vec::new();
            let mut i = idx.oldest;
            while i != NONE {
                let e = entry(i);
                if e.exemplar.ts > end {
                    break;
                }
                if e.exemplar.ts >= start {
                    exemplars.push(e.exemplar.clone());
                }
                i = e.next;
            }
            if !exemplars.is_empty() {
                out.push(ExemplarSeries {
                    series_labels: series.clone(),
                    exemplars,
                });
            }
        }
        out.sort_by(|a, b| a.series_labels.cmp(&b.series_labels));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::labels;

    fn ex(trace: &str, v: f64, ts: i64) -> Exemplar {
        Exemplar {
            labels: labels!("trace_id" => trace),
            value: v,
            ts,
            has_ts: true,
        }
    }

    fn all() -> Vec<Vec<Matcher>> {
        vec![vec![
            Matcher::new(model::MatchOp::RegexMatch, "__name__", ".+").unwrap(),
        ]]
    }

    #[test]
    fn ring_evicts_oldest_overall_and_keeps_series_order() {
        let st = ExemplarStorage::new(3);
        let a = labels!("__name__" => "a");
        let b = labels!("__name__" => "b");
        st.add(&a, &ex("1", 1.0, 10)).unwrap();
        st.add(&b, &ex("2", 2.0, 11)).unwrap();
        st.add(&a, &ex("3", 3.0, 12)).unwrap();
        assert_eq!(
            (st.exemplars_in_storage(), st.series_with_exemplars()),
            (3, 2)
        );
        // Full: the next one overwrites a's first, then b's only exemplar.
        st.add(&a, &ex("4", 4.0, 13)).unwrap();
        st.add(&a, &ex("5", 5.0, 14)).unwrap();
        assert_eq!(
            (st.exemplars_in_storage(), st.series_with_exemplars()),
            (3, 1)
        );
        let got = st.select(0, 100, &all());
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].series_labels, a);
        let ts: Vec<i64> = got[0].exemplars.iter().map(|e| e.ts).collect();
        assert_eq!(ts, vec![12, 13, 14]);
        assert_eq!(st.stats.appended.load(Ordering::Relaxed), 5);
        // Time range and matchers filter.
        let got = st.select(13, 13, &[vec![Matcher::equal("__name__", "a")]]);
        assert_eq!(got[0].exemplars, vec![ex("4", 4.0, 13)]);
        assert!(
            st.select(0, 100, &[vec![Matcher::equal("__name__", "b")]])
                .is_empty()
        );
    }

    #[test]
    fn refuses_out_of_order_duplicates_long_labels_and_when_disabled() {
        let st = ExemplarStorage::new(10);
        let a = labels!("__name__" => "a");
        st.add(&a, &ex("1", 1.0, 10)).unwrap();
        assert!(matches!(
            st.add(&a, &ex("1", 1.0, 10)),
            Err(StorageError::DuplicateExemplar)
        ));
        assert!(matches!(
            st.add(&a, &ex("2", 1.0, 9)),
            Err(StorageError::OutOfOrderExemplar)
        ));
        let long = "x".repeat(121);
        let err = st.add(&a, &ex(&long, 1.0, 20)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "label length for exemplar exceeds maximum of 128 UTF-8 characters"
        );
        assert_eq!(st.exemplars_in_storage(), 1);
        assert!(matches!(
            ExemplarStorage::new(0).add(&a, &ex("1", 1.0, 1)),
            Err(StorageError::ExemplarsDisabled)
        ));
    }

    #[test]
    fn resize_keeps_the_newest_exemplars_in_order() {
        let st = ExemplarStorage::new(4);
        let a = labels!("__name__" => "a");
        let b = labels!("__name__" => "b");
        // Six exemplars into four slots: the buffer has wrapped, a@1 and b@2 are gone.
        for (i, s) in [&a, &b, &a, &b, &a, &b].into_iter().enumerate() {
            st.add(s, &ex(&i.to_string(), i as f64, i as i64 + 1))
                .unwrap();
        }
        let ts = |st: &ExemplarStorage| -> Vec<(String, Vec<i64>)> {
            st.select(0, 100, &all())
                .into_iter()
                .map(|s| {
                    (
                        s.series_labels.to_string(),
                        s.exemplars.iter().map(|e| e.ts).collect(),
                    )
                })
                .collect()
        };
        st.resize(3);
        assert_eq!(st.capacity(), 3);
        assert_eq!(
            ts(&st),
            vec![
                (r#"{__name__="a"}"#.to_owned(), vec![5]),
                (r#"{__name__="b"}"#.to_owned(), vec![4, 6]),
            ]
        );
        // Growing keeps everything; the ring then takes new exemplars up to the new size.
        st.resize(5);
        st.add(&a, &ex("x", 0.0, 7)).unwrap();
        st.add(&a, &ex("y", 0.0, 8)).unwrap();
        assert_eq!(st.exemplars_in_storage(), 5);
        st.add(&b, &ex("z", 0.0, 9)).unwrap();
        assert_eq!(
            ts(&st),
            vec![
                (r#"{__name__="a"}"#.to_owned(), vec![5, 7, 8]),
                (r#"{__name__="b"}"#.to_owned(), vec![6, 9]),
            ]
        );
        // Duplicates and order are still checked against the kept exemplars.
        assert!(matches!(
            st.add(&b, &ex("w", 0.0, 9)),
            Err(StorageError::OutOfOrderExemplar)
        ));
        st.resize(0);
        assert!(!st.enabled());
        assert_eq!(
            (st.exemplars_in_storage(), st.series_with_exemplars()),
            (0, 0)
        );
    }
}
