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
        let slot = ring.next;
        if slot == ring.slots.len() {
            ring.slots.push(None);
        }
        // Evict the oldest exemplar overall when its slot is taken.
        if let Some(old) = ring.slots[slot].take() {
            ring.stored -= 1;
            if old.next == NONE {
                ring.index.remove(&old.series);
            } else if let Some(idx) = ring.index.get_mut(&old.series) {
                idx.oldest = old.next;
            }
        }
        let prev_newest = ring.index.get(series).map(|i| i.newest);
        match prev_newest {
            Some(newest) => {
                if let Some(p) = ring.slots[newest].as_mut() {
                    p.next = slot;
                }
                ring.index.get_mut(series).expect("present").newest = slot;
            }
            None => {
                ring.index.insert(
                    series.clone(),
                    SeriesIndex {
                        oldest: slot,
                        newest: slot,
                    },
                );
            }
        }
        ring.slots[slot] = Some(Entry {
            exemplar: e.clone(),
            next: NONE,
            series: series.clone(),
        });
        ring.stored += 1;
        ring.next = (slot + 1) % ring.capacity;
        self.stats.appended.fetch_add(1, Ordering::Relaxed);
        Ok(())
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
}
