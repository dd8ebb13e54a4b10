//! An in-memory storage: series kept in a map by labels, samples sorted by time. For tests and
//! the promqltest runner; not meant for production volumes.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use model::{Labels, Matcher, Sample, Timestamp};

use crate::{
    Appendable, Appender, LabelHints, ListSeries, Querier, Queryable, SelectHints, Series,
    SeriesRef, SeriesSet, StorageError, VecSeriesSet,
};

/// A series' samples as `(t, sample, start timestamp or 0)`, sorted by `t`.
type SeriesMap = BTreeMap<Labels, Arc<Vec<(Timestamp, Sample, Timestamp)>>>;

/// A storage holding every series in memory. Clones share the same data.
#[derive(Clone, Default)]
pub struct MemoryStorage {
    series: Arc<RwLock<SeriesMap>>,
}

impl MemoryStorage {
    /// An empty storage.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    fn read(&self) -> RwLockReadGuard<'_, SeriesMap> {
        self.series
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, SeriesMap> {
        self.series
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Drops every series.
    pub fn clear(&self) {
        self.write().clear();
    }

    /// Number of series held.
    #[must_use]
    pub fn num_series(&self) -> usize {
        self.read().len()
    }

    /// Adds or replaces one sample directly (no transaction). Samples may come in any order; a
    /// sample at an existing timestamp replaces the old one.
    pub fn add(&self, labels: &Labels, t: Timestamp, sample: Sample) {
        self.add_with_start(labels, 0, t, sample);
    }

    /// Like [`MemoryStorage::add`], with the sample's start timestamp `st` (0 = unknown).
    pub fn add_with_start(&self, labels: &Labels, st: Timestamp, t: Timestamp, sample: Sample) {
        let mut map = self.write();
        let entry = map.entry(labels.clone()).or_default();
        insert_sorted(Arc::make_mut(entry), (t, sample, st));
    }
}

fn insert_sorted(
    samples: &mut Vec<(Timestamp, Sample, Timestamp)>,
    s: (Timestamp, Sample, Timestamp),
) {
    if samples.last().is_none_or(|(lt, _, _)| *lt < s.0) {
        samples.push(s);
        return;
    }
    match samples.binary_search_by_key(&s.0, |(ts, _, _)| *ts) {
        Ok(i) => samples[i] = s,
        Err(i) => samples.insert(i, s),
    }
}

/// Appender of a [`MemoryStorage`]: buffers samples until commit.
struct MemoryAppender {
    storage: MemoryStorage,
    pending: Vec<(Labels, Timestamp, Sample, Timestamp)>,
}

impl Appender for MemoryAppender {
    fn append(
        &mut self,
        series_ref: SeriesRef,
        labels: &Labels,
        t: Timestamp,
        sample: Sample,
    ) -> Result<SeriesRef, StorageError> {
        self.append_with_start(series_ref, labels, 0, t, sample)
    }

    fn append_with_start(
        &mut self,
        _series_ref: SeriesRef,
        labels: &Labels,
        st: Timestamp,
        t: Timestamp,
        sample: Sample,
    ) -> Result<SeriesRef, StorageError> {
        if labels.is_empty() {
            return Err(StorageError::InvalidLabels {
                labels: labels.to_string(),
                reason: "empty label set".to_owned(),
            });
        }
        self.pending.push((labels.clone(), t, sample, st));
        Ok(0)
    }

    fn commit(&mut self) -> Result<(), StorageError> {
        let mut map = self.storage.write();
        for (labels, t, sample, st) in self.pending.drain(..) {
            let entry = map.entry(labels).or_default();
            insert_sorted(Arc::make_mut(entry), (t, sample, st));
        }
        Ok(())
    }

    fn rollback(&mut self) -> Result<(), StorageError> {
        self.pending.clear();
        Ok(())
    }
}

impl Appendable for MemoryStorage {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(MemoryAppender {
            storage: self.clone(),
            pending: Vec::new(),
        })
    }
}

impl Queryable for MemoryStorage {
    fn querier(&self, mint: Timestamp, maxt: Timestamp) -> Result<Box<dyn Querier>, StorageError> {
        Ok(Box::new(MemoryQuerier {
            series: self.read().clone(),
            mint,
            maxt,
        }))
    }
}

/// A querier over a snapshot of the series map.
struct MemoryQuerier {
    series: SeriesMap,
    mint: Timestamp,
    maxt: Timestamp,
}

fn matches_all(labels: &Labels, matchers: &[Matcher]) -> bool {
    matchers
        .iter()
        .all(|m| m.matches(labels.get(&m.name).unwrap_or("")))
}

impl MemoryQuerier {
    fn matching<'a>(&'a self, matchers: &'a [Matcher]) -> impl Iterator<Item = &'a Labels> + 'a {
        self.series.iter().filter_map(move |(l, samples)| {
            let any_in_range = samples
                .iter()
                .any(|(t, _, _)| *t >= self.mint && *t <= self.maxt);
            (any_in_range && matches_all(l, matchers)).then_some(l)
        })
    }
}

impl Querier for MemoryQuerier {
    fn select(
        &self,
        _sorted: bool,
        hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<Box<dyn SeriesSet>, StorageError> {
        let (mint, maxt) = hints.map_or((self.mint, self.maxt), |h| {
            (h.start.max(self.mint), h.end.min(self.maxt))
        });
        let limit = hints.map_or(0, |h| h.limit);
        let mut out: Vec<Box<dyn Series>> = Vec::new();
        for (labels, samples) in &self.series {
            if limit > 0 && out.len() == limit {
                break;
            }
            if !matches_all(labels, matchers) {
                continue;
            }
            let lo = samples.partition_point(|(t, _, _)| *t < mint);
            let hi = samples.partition_point(|(t, _, _)| *t <= maxt);
            if lo >= hi {
                continue;
            }
            let window = &samples[lo..hi];
            out.push(Box::new(ListSeries::with_start_timestamps(
                labels.clone(),
                window.iter().map(|(t, s, _)| (*t, s.clone())).collect(),
                window.iter().map(|(_, _, st)| *st).collect(),
            )));
        }
        Ok(Box::new(VecSeriesSet::new(out)))
    }

    fn label_values(
        &self,
        name: &str,
        hints: Option<&LabelHints>,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        let mut vals: Vec<String> = self
            .matching(matchers)
            .filter_map(|l| l.get(name).map(str::to_owned))
            .collect();
        vals.sort();
        vals.dedup();
        LabelHints::truncate(hints, &mut vals);
        Ok(vals)
    }

    fn label_names(
        &self,
        hints: Option<&LabelHints>,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        let mut names: Vec<String> = self
            .matching(matchers)
            .flat_map(|l| l.iter().map(|x| x.name.to_owned()).collect::<Vec<_>>())
            .collect();
        names.sort();
        names.dedup();
        LabelHints::truncate(hints, &mut names);
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ValueType;
    use model::MatchOp;

    fn lbl(pairs: &[(&str, &str)]) -> Labels {
        Labels::from_pairs(pairs.iter().copied())
    }

    #[test]
    fn start_timestamps_are_kept_per_sample() {
        let st = MemoryStorage::new();
        let mut app = st.appender();
        let a = lbl(&[("__name__", "c_total")]);
        app.append_with_start(0, &a, 5, 10, Sample::Float(1.0))
            .unwrap();
        app.append(0, &a, 20, Sample::Float(2.0)).unwrap();
        app.append_with_start(0, &a, 25, 30, Sample::Float(1.0))
            .unwrap();
        app.commit().unwrap();
        st.add_with_start(&a, 35, 40, Sample::Float(3.0));
        let q = st.querier(15, 100).unwrap();
        let set: Vec<_> = q
            .select(true, None, &[])
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut it = set[0].iter();
        let mut got = Vec::new();
        while it.next() == ValueType::Float {
            got.push((it.at_t(), it.at_st()));
        }
        assert_eq!(got, [(20, 0), (30, 25), (40, 35)]);
    }

    #[test]
    fn append_commit_select() {
        let st = MemoryStorage::new();
        let mut app = st.appender();
        let a = lbl(&[("__name__", "up"), ("job", "a")]);
        let b = lbl(&[("__name__", "up"), ("job", "b")]);
        for t in [30, 10, 20] {
            app.append(0, &a, t, Sample::Float(t as f64)).unwrap();
        }
        app.append(0, &b, 5, Sample::Float(1.0)).unwrap();
        let q = st.querier(0, 100).unwrap();
        assert_eq!(
            q.select(true, None, &[]).unwrap().count(),
            0,
            "nothing before commit"
        );
        app.commit().unwrap();
        let q = st.querier(0, 100).unwrap();
        let m = [Matcher::equal("job", "a")];
        let set: Vec<_> = q
            .select(true, None, &m)
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(set.len(), 1);
        let mut it = set[0].iter();
        let mut ts = Vec::new();
        while it.next() == ValueType::Float {
            ts.push(it.at().0);
        }
        assert_eq!(ts, vec![10, 20, 30]);
        assert_eq!(q.label_values("job", None, &[]).unwrap(), vec!["a", "b"]);
        let one = LabelHints::limited(1);
        assert_eq!(q.label_values("job", Some(&one), &[]).unwrap(), vec!["a"]);
        let re = Matcher::new(MatchOp::RegexMatch, "job", "b|c").unwrap();
        assert_eq!(q.label_names(None, &[re]).unwrap(), vec!["__name__", "job"]);
    }

    #[test]
    fn querier_time_range_and_rollback() {
        let st = MemoryStorage::new();
        let mut app = st.appender();
        let a = lbl(&[("__name__", "x")]);
        app.append(0, &a, 1000, Sample::Float(1.0)).unwrap();
        app.commit().unwrap();
        app.append(0, &a, 2000, Sample::Float(2.0)).unwrap();
        app.rollback().unwrap();
        app.commit().unwrap();
        assert_eq!(
            st.querier(0, 999)
                .unwrap()
                .select(false, None, &[])
                .unwrap()
                .count(),
            0
        );
        let set: Vec<_> = st
            .querier(0, 5000)
            .unwrap()
            .select(false, None, &[])
            .unwrap()
            .collect();
        assert_eq!(set.len(), 1);
        let mut it = set[0].as_ref().unwrap().iter();
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!(it.next(), ValueType::None, "rolled-back sample invisible");
        st.clear();
        assert_eq!(st.num_series(), 0);
    }
}
