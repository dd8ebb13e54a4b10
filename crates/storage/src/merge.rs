//! A querier over several queriers (blocks and head, local and remote): their series sets are
//! merged by labels, and the samples of a series present in several are merged by timestamp,
//! identical timestamps deduplicated (the first querier's sample wins).

use std::cmp::Ordering;
use std::iter::Peekable;

use model::{FloatHistogram, Histogram, Labels, Matcher, Timestamp};

use crate::{
    FloatBatch, LabelHints, Querier, SampleIterator, SelectHints, Series, SeriesSet, StorageError,
    ValueType,
};

/// Merges the results of several queriers.
pub struct MergeQuerier {
    queriers: Vec<Box<dyn Querier>>,
}

impl MergeQuerier {
    /// A querier over `queriers`; on duplicate timestamps the earlier querier's sample wins.
    #[must_use]
    pub fn new(queriers: Vec<Box<dyn Querier>>) -> Self {
        Self { queriers }
    }
}

/// The sorted union of sorted lists, cut to the limit of `hints`.
fn union_sorted(lists: Vec<Vec<String>>, hints: Option<&LabelHints>) -> Vec<String> {
    let mut all: Vec<String> = lists.into_iter().flatten().collect();
    all.sort();
    all.dedup();
    LabelHints::truncate(hints, &mut all);
    all
}

impl Querier for MergeQuerier {
    fn select(
        &self,
        sorted: bool,
        hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<Box<dyn SeriesSet>, StorageError> {
        if self.queriers.len() == 1 {
            return self.queriers[0].select(sorted, hints, matchers);
        }
        let mut sets = Vec::with_capacity(self.queriers.len());
        for q in &self.queriers {
            // Merging needs every input sorted by labels.
            sets.push(q.select(true, hints, matchers)?.peekable());
        }
        Ok(Box::new(MergeSeriesSet {
            sets,
            warnings: Vec::new(),
            left: hints.map(|h| h.limit).filter(|&l| l > 0),
        }))
    }

    fn label_values(
        &self,
        name: &str,
        hints: Option<&LabelHints>,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        let mut lists = Vec::new();
        for q in &self.queriers {
            lists.push(q.label_values(name, hints, matchers)?);
        }
        Ok(union_sorted(lists, hints))
    }

    fn label_names(
        &self,
        hints: Option<&LabelHints>,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        let mut lists = Vec::new();
        for q in &self.queriers {
            lists.push(q.label_names(hints, matchers)?);
        }
        Ok(union_sorted(lists, hints))
    }
}

/// The k-way merge of sorted series sets.
pub struct MergeSeriesSet {
    sets: Vec<Peekable<Box<dyn SeriesSet>>>,
    warnings: Vec<String>,
    /// Series still to yield under a limit hint.
    left: Option<usize>,
}

impl MergeSeriesSet {
    /// Merges `sets`, each sorted by labels.
    #[must_use]
    pub fn new(sets: Vec<Box<dyn SeriesSet>>) -> Self {
        Self {
            sets: sets.into_iter().map(Iterator::peekable).collect(),
            warnings: Vec::new(),
            left: None,
        }
    }
}

impl Iterator for MergeSeriesSet {
    type Item = Result<Box<dyn Series>, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        // Under a limit hint the merged set stops after `limit` series (inputs not read on).
        if let Some(left) = &mut self.left {
            *left = left.checked_sub(1)?;
        }
        // Errors come first, as soon as any input reports one.
        let mut smallest: Option<Labels> = None;
        for set in &mut self.sets {
            match set.peek() {
                None => {}
                Some(Err(_)) => return set.next(),
                Some(Ok(s))
                    if smallest
                        .as_ref()
                        .is_none_or(|m| s.labels().cmp(m) == Ordering::Less) =>
                {
                    smallest = Some(s.labels().clone());
                }
                Some(Ok(_)) => {}
            }
        }
        let labels = smallest?;
        let mut parts: Vec<Box<dyn Series>> = Vec::new();
        for set in &mut self.sets {
            if matches!(set.peek(), Some(Ok(s)) if *s.labels() == labels)
                && let Some(Ok(s)) = set.next()
            {
                parts.push(s);
            }
        }
        if parts.len() == 1 {
            return parts.pop().map(Ok);
        }
        Some(Ok(Box::new(MergedSeries { labels, parts })))
    }
}

impl SeriesSet for MergeSeriesSet {
    fn warnings(&self) -> Vec<String> {
        self.warnings.clone()
    }
}

/// A series present in several inputs.
struct MergedSeries {
    labels: Labels,
    parts: Vec<Box<dyn Series>>,
}

impl Series for MergedSeries {
    fn labels(&self) -> &Labels {
        &self.labels
    }

    fn iter(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(MergeIterator::new(
            self.parts.iter().map(|p| p.iter()).collect(),
        ))
    }
}

/// Merges sample iterators by timestamp; on equal timestamps the earliest iterator wins and
/// the others skip theirs.
pub struct MergeIterator<'a> {
    its: Vec<Box<dyn SampleIterator + 'a>>,
    cur: Option<usize>,
    /// The smallest timestamp of the other iterators (`i64::MAX` when none has a sample):
    /// while the current one stays below it, `next` moves only the current one (blocks that
    /// do not overlap are read one after the other without looking at the others).
    others_min: Timestamp,
    started: bool,
}

impl<'a> MergeIterator<'a> {
    /// Merges `its` (each in timestamp order).
    #[must_use]
    pub fn new(its: Vec<Box<dyn SampleIterator + 'a>>) -> Self {
        Self {
            its,
            cur: None,
            others_min: Timestamp::MAX,
            started: false,
        }
    }

    fn pick(&mut self) -> ValueType {
        self.cur = None;
        let mut best: Option<(usize, Timestamp)> = None;
        let mut second = Timestamp::MAX;
        for (i, it) in self.its.iter().enumerate() {
            if it.current() == ValueType::None {
                continue;
            }
            let t = it.at_t();
            match best {
                Some((_, bt)) if t >= bt => second = second.min(t),
                _ => {
                    if let Some((_, bt)) = best {
                        second = second.min(bt);
                    }
                    best = Some((i, t));
                }
            }
        }
        self.cur = best.map(|(i, _)| i);
        self.others_min = second;
        self.current()
    }
}

impl SampleIterator for MergeIterator<'_> {
    fn next(&mut self) -> ValueType {
        if !self.started {
            self.started = true;
            for it in &mut self.its {
                it.next();
            }
            return self.pick();
        }
        let Some(c) = self.cur else {
            return ValueType::None;
        };
        let t = self.its[c].at_t();
        if t < self.others_min {
            // No other iterator holds `t`: only the current one moves, and it stays current
            // while it is below the others (ties go to `pick`, where the earliest wins).
            let vt = self.its[c].next();
            if vt == ValueType::None || self.its[c].at_t() >= self.others_min {
                return self.pick();
            }
            return vt;
        }
        for it in &mut self.its {
            if it.current() != ValueType::None && it.at_t() == t {
                it.next();
            }
        }
        self.pick()
    }

    fn seek(&mut self, t: Timestamp) -> ValueType {
        if self.started && self.cur.is_some() && self.at_t() >= t {
            return self.current();
        }
        if self.started && self.cur.is_none() {
            return ValueType::None;
        }
        self.started = true;
        for it in &mut self.its {
            it.seek(t);
        }
        self.pick()
    }

    fn current(&self) -> ValueType {
        self.cur.map_or(ValueType::None, |c| self.its[c].current())
    }

    fn at(&self) -> (Timestamp, f64) {
        self.its[self.cur.expect("positioned")].at()
    }

    fn at_histogram(&self) -> (Timestamp, Histogram) {
        self.its[self.cur.expect("positioned")].at_histogram()
    }

    fn at_float_histogram(&self) -> (Timestamp, FloatHistogram) {
        self.its[self.cur.expect("positioned")].at_float_histogram()
    }

    fn at_t(&self) -> Timestamp {
        self.its[self.cur.expect("positioned")].at_t()
    }

    fn at_st(&self) -> Timestamp {
        self.its[self.cur.expect("positioned")].at_st()
    }

    fn err(&self) -> Option<&StorageError> {
        self.its.iter().find_map(|it| it.err())
    }

    /// Inputs that do not overlap are concatenated: the current input reads in bulk up to
    /// the others' first timestamp, and only where inputs meet is the merge stepped sample
    /// by sample.
    fn read_floats(&mut self, maxt: Timestamp, out: &mut FloatBatch) -> ValueType {
        if !self.started {
            let vt = self.next();
            if vt != ValueType::Float || self.at_t() > maxt {
                return vt;
            }
            out.push_current(self);
        }
        // The current sample has been taken: read on from the one after it.
        loop {
            let Some(c) = self.cur else {
                return ValueType::None;
            };
            let vt = if self.its[c].at_t() < self.others_min {
                // Only the current input moves while it stays below the others.
                let vt = self.its[c].read_floats(maxt.min(self.others_min - 1), out);
                if vt != ValueType::None && self.its[c].at_t() < self.others_min {
                    // Stopped before the others: not a float, or after `maxt`.
                    return vt;
                }
                self.pick()
            } else {
                self.next()
            };
            if vt != ValueType::Float || self.at_t() > maxt {
                return vt;
            }
            out.push_current(self);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ListSeries, VecSeriesSet};
    use model::{Sample, labels};

    fn list(name: &str, samples: &[(i64, f64)]) -> Box<dyn Series> {
        Box::new(ListSeries::new(
            labels!("__name__" => name),
            samples
                .iter()
                .map(|&(t, v)| (t, Sample::Float(v)))
                .collect(),
        ))
    }

    fn collect(it: &mut dyn SampleIterator) -> Vec<(i64, f64)> {
        let mut out = Vec::new();
        while it.next() == ValueType::Float {
            out.push(it.at());
        }
        out
    }

    #[test]
    fn merges_sets_and_deduplicates_timestamps() {
        let a: Box<dyn SeriesSet> = Box::new(VecSeriesSet::new(vec![
            list("a", &[(1, 1.0), (3, 3.0)]),
            list("c", &[(1, 1.0)]),
        ]));
        let b: Box<dyn SeriesSet> = Box::new(VecSeriesSet::new(vec![
            list("a", &[(2, 2.0), (3, 30.0), (4, 4.0)]),
            list("b", &[(5, 5.0)]),
        ]));
        let set = MergeSeriesSet::new(vec![a, b]);
        let series: Vec<Box<dyn Series>> = set.map(Result::unwrap).collect();
        let names: Vec<&str> = series
            .iter()
            .map(|s| s.labels().metric_name().unwrap())
            .collect();
        assert_eq!(names, ["a", "b", "c"]);
        let mut it = series[0].iter();
        assert_eq!(
            collect(&mut *it),
            vec![(1, 1.0), (2, 2.0), (3, 3.0), (4, 4.0)]
        );
        let mut it = series[0].iter();
        assert_eq!(it.seek(3), ValueType::Float);
        assert_eq!(it.at(), (3, 3.0));
        assert_eq!(it.seek(1), ValueType::Float, "seek does not go back");
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!(it.at(), (4, 4.0));
        assert_eq!(it.next(), ValueType::None);
    }

    /// Against a plain merge (all samples by time, the earliest input winning a timestamp),
    /// over many input shapes: blocks one after the other (where `next` moves only the
    /// current input), overlaps, shared timestamps, empty inputs; reading with `next` only
    /// and with seeks in between.
    #[test]
    fn merges_like_a_plain_merge_over_many_shapes() {
        let mut x: u64 = 0x853C_49E6_748F_EA9B;
        let mut rnd = move |n: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % n
        };
        for case in 0..2000 {
            let inputs: Vec<Vec<(i64, f64)>> = (0..1 + rnd(4))
                .map(|k| {
                    let (mut t, mut v) = (rnd(40) as i64, Vec::new());
                    // Disjoint ranges in most cases, overlapping in the others.
                    if case % 3 != 0 {
                        t += k as i64 * 1000;
                    }
                    for _ in 0..rnd(30) {
                        v.push((t, (k * 1000) as f64 + t as f64));
                        t += 1 + rnd(if case % 2 == 0 { 3 } else { 50 }) as i64;
                    }
                    v
                })
                .collect();
            let mut want: Vec<(i64, f64)> = Vec::new();
            for input in &inputs {
                for &(t, v) in input {
                    if !want.iter().any(|&(wt, _)| wt == t) {
                        want.push((t, v));
                    }
                }
            }
            want.sort_by_key(|&(t, _)| t);
            let parts: Vec<Box<dyn Series>> = inputs.iter().map(|i| list("a", i)).collect();
            let merged = MergedSeries {
                labels: labels!("__name__" => "a"),
                parts,
            };
            assert_eq!(
                collect(&mut *merged.iter()),
                want,
                "case {case}: {inputs:?}"
            );
            // In bulk, up to a bound after each stop: the same samples, stops where `next`
            // would stop.
            let mut it = merged.iter();
            let mut batch = FloatBatch::default();
            let mut maxt = rnd(60) as i64;
            loop {
                let vt = it.read_floats(maxt, &mut batch);
                if vt == ValueType::None {
                    break;
                }
                assert!(it.at_t() > maxt, "case {case}: stopped early");
                batch.samples.push(it.at());
                maxt = it.at_t() + rnd(400) as i64;
            }
            assert_eq!(batch.samples, want, "case {case}: {inputs:?}");
            // Steps and seeks mixed: `next` reads the first sample after the current one,
            // `seek(to)` the first at or after `to` (staying when the current one is).
            let mut it = merged.iter();
            let mut at: Option<i64> = None;
            for _ in 0..80 {
                let (vt, first_allowed) = match at {
                    Some(cur) if rnd(3) == 0 => {
                        let to = cur - 5 + rnd(25) as i64;
                        (it.seek(to), to.max(cur))
                    }
                    Some(cur) => (it.next(), cur + 1),
                    None => (it.next(), i64::MIN),
                };
                let expected = want.iter().find(|&&(t, _)| t >= first_allowed);
                match expected {
                    Some(&w) => {
                        assert_eq!(vt, ValueType::Float, "case {case}: {inputs:?}");
                        assert_eq!(it.at(), w, "case {case}: {inputs:?}");
                        at = Some(w.0);
                    }
                    None => {
                        assert_eq!(vt, ValueType::None, "case {case}: {inputs:?}");
                        break;
                    }
                }
            }
        }
    }
}
