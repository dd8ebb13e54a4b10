//! Series, their sample iterators, and sets of series as queriers return them.

use std::sync::Arc;

use model::{FloatHistogram, Histogram, Labels, Sample, Timestamp};

use crate::StorageError;

/// What an iterator is positioned on after `next` or `seek`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueType {
    /// Exhausted (or failed: check [`SampleIterator::err`]).
    None,
    /// A float sample: read it with [`SampleIterator::at`].
    Float,
    /// An integer histogram: read it with [`SampleIterator::at_histogram`].
    Histogram,
    /// A float histogram: read it with [`SampleIterator::at_float_histogram`].
    FloatHistogram,
}

/// Iterates the samples of one series in timestamp order, as Prometheus's `chunkenc.Iterator`.
pub trait SampleIterator: Send {
    /// Advances to the next sample.
    fn next(&mut self) -> ValueType;

    /// Advances to the first sample with timestamp `>= t`. Does not move if already there; never
    /// moves backwards.
    fn seek(&mut self, t: Timestamp) -> ValueType {
        let mut vt = self.current();
        if vt == ValueType::None {
            vt = self.next();
        }
        while vt != ValueType::None && self.at_t() < t {
            vt = self.next();
        }
        vt
    }

    /// The type of the current sample (`None` before the first `next`).
    fn current(&self) -> ValueType;

    /// The current float sample.
    fn at(&self) -> (Timestamp, f64);

    /// The current integer histogram sample.
    fn at_histogram(&self) -> (Timestamp, Histogram) {
        unreachable!("iterator is not positioned on an integer histogram")
    }

    /// The current histogram sample as float counts (integer histograms are converted).
    fn at_float_histogram(&self) -> (Timestamp, FloatHistogram) {
        let (t, h) = self.at_histogram();
        (t, h.to_float())
    }

    /// The timestamp of the current sample.
    fn at_t(&self) -> Timestamp;

    /// The start timestamp of the current sample (when the cumulative count it belongs to
    /// began, Prometheus's `AtST`), or 0 when unknown; storages that keep none answer 0.
    fn at_st(&self) -> Timestamp {
        0
    }

    /// The error that ended iteration early, if any.
    fn err(&self) -> Option<&StorageError> {
        None
    }

    /// Reads float samples in bulk, as repeated [`next`](Self::next) calls would: appends each
    /// following float sample with timestamp `<= maxt` to `out` (with its start timestamp
    /// when it has one), and stops on the first sample that is not a float or is after
    /// `maxt` (positioned on it as after `next`, not appended, its type returned) or at the
    /// end (`None`). Iterators over encoded chunks override it to decode a run of samples in
    /// one call instead of several virtual calls per sample.
    fn read_floats(&mut self, maxt: Timestamp, out: &mut FloatBatch) -> ValueType {
        read_floats_one_by_one(self, maxt, out)
    }
}

/// Float samples read in bulk by [`SampleIterator::read_floats`].
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FloatBatch {
    /// The samples, in timestamp order.
    pub samples: Vec<(Timestamp, f64)>,
    /// `(t, start)` of the samples that have a start timestamp (see
    /// [`SampleIterator::at_st`]), in timestamp order.
    pub starts: Vec<(Timestamp, Timestamp)>,
}

impl FloatBatch {
    /// Empties the batch, keeping its buffers.
    pub fn clear(&mut self) {
        self.samples.clear();
        self.starts.clear();
    }

    /// Appends the float sample `it` is positioned on (and its start timestamp).
    pub fn push_current<I: SampleIterator + ?Sized>(&mut self, it: &I) {
        let (t, f) = it.at();
        self.samples.push((t, f));
        let st = it.at_st();
        if st != 0 {
            self.starts.push((t, st));
        }
    }
}

/// [`SampleIterator::read_floats`] through `next`, one sample at a time: the default, and
/// the fallback of iterators whose fast path does not apply.
pub fn read_floats_one_by_one<I: SampleIterator + ?Sized>(
    it: &mut I,
    maxt: Timestamp,
    out: &mut FloatBatch,
) -> ValueType {
    loop {
        let vt = it.next();
        if vt != ValueType::Float || it.at_t() > maxt {
            return vt;
        }
        out.push_current(it);
    }
}

/// One series: its labels and a way to iterate its samples.
pub trait Series: Send + Sync {
    /// The series' labels.
    fn labels(&self) -> &Labels;

    /// A fresh iterator over the series' samples.
    fn iter(&self) -> Box<dyn SampleIterator + '_>;
}

/// The series a querier selected, each an `Ok` or the error that ended the selection.
pub trait SeriesSet: Iterator<Item = Result<Box<dyn Series>, StorageError>> + Send {
    /// Warnings gathered while selecting (a remote that did not answer, say).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A series held in memory: for tests, remote read and merging.
#[derive(Debug, Clone)]
pub struct ListSeries {
    labels: Labels,
    samples: Arc<[(Timestamp, Sample)]>,
    /// The samples' start timestamps (0 = unknown), when any is known.
    starts: Option<Arc<[Timestamp]>>,
}

impl ListSeries {
    /// A series with `samples`, which must be sorted by timestamp.
    #[must_use]
    pub fn new(labels: Labels, samples: Vec<(Timestamp, Sample)>) -> Self {
        debug_assert!(
            samples.windows(2).all(|w| w[0].0 < w[1].0),
            "samples not sorted"
        );
        Self {
            labels,
            samples: samples.into(),
            starts: None,
        }
    }

    /// A series with `samples` (sorted by timestamp) and their start timestamps `starts`
    /// (one per sample, 0 = unknown).
    #[must_use]
    pub fn with_start_timestamps(
        labels: Labels,
        samples: Vec<(Timestamp, Sample)>,
        starts: Vec<Timestamp>,
    ) -> Self {
        debug_assert_eq!(samples.len(), starts.len());
        let known = starts.iter().any(|&st| st != 0);
        Self {
            starts: known.then(|| starts.into()),
            ..Self::new(labels, samples)
        }
    }

    /// The samples.
    #[must_use]
    pub fn samples(&self) -> &[(Timestamp, Sample)] {
        &self.samples
    }
}

impl Series for ListSeries {
    fn labels(&self) -> &Labels {
        &self.labels
    }

    fn iter(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(ListIterator {
            samples: &self.samples,
            starts: self.starts.as_deref(),
            pos: None,
        })
    }
}

struct ListIterator<'a> {
    samples: &'a [(Timestamp, Sample)],
    starts: Option<&'a [Timestamp]>,
    pos: Option<usize>,
}

impl ListIterator<'_> {
    fn value_type(&self) -> ValueType {
        match self.pos.and_then(|p| self.samples.get(p)) {
            None => ValueType::None,
            Some((_, Sample::Float(_))) => ValueType::Float,
            Some((_, Sample::Histogram(_))) => ValueType::Histogram,
            Some((_, Sample::FloatHistogram(_))) => ValueType::FloatHistogram,
        }
    }
}

impl SampleIterator for ListIterator<'_> {
    fn next(&mut self) -> ValueType {
        let next = self.pos.map_or(0, |p| (p + 1).min(self.samples.len()));
        self.pos = Some(next);
        self.value_type()
    }

    fn seek(&mut self, t: Timestamp) -> ValueType {
        let from = self.pos.unwrap_or(0);
        if from >= self.samples.len() {
            self.pos = Some(self.samples.len());
            return ValueType::None;
        }
        let idx = from + self.samples[from..].partition_point(|(ts, _)| *ts < t);
        self.pos = Some(idx);
        self.value_type()
    }

    fn current(&self) -> ValueType {
        self.value_type()
    }

    fn at(&self) -> (Timestamp, f64) {
        match &self.samples[self.pos.unwrap_or(0)] {
            (t, Sample::Float(v)) => (*t, *v),
            _ => unreachable!("iterator is not positioned on a float"),
        }
    }

    fn at_histogram(&self) -> (Timestamp, Histogram) {
        match &self.samples[self.pos.unwrap_or(0)] {
            (t, Sample::Histogram(h)) => (*t, (**h).clone()),
            _ => unreachable!("iterator is not positioned on an integer histogram"),
        }
    }

    fn at_float_histogram(&self) -> (Timestamp, FloatHistogram) {
        match &self.samples[self.pos.unwrap_or(0)] {
            (t, Sample::Histogram(h)) => (*t, h.to_float()),
            (t, Sample::FloatHistogram(h)) => (*t, (**h).clone()),
            _ => unreachable!("iterator is not positioned on a histogram"),
        }
    }

    fn at_t(&self) -> Timestamp {
        self.samples[self.pos.unwrap_or(0)].0
    }

    fn at_st(&self) -> Timestamp {
        self.starts
            .and_then(|s| s.get(self.pos.unwrap_or(0)).copied())
            .unwrap_or(0)
    }

    fn read_floats(&mut self, maxt: Timestamp, out: &mut FloatBatch) -> ValueType {
        if self.starts.is_some() {
            return read_floats_one_by_one(self, maxt, out);
        }
        let from = self.pos.map_or(0, |p| (p + 1).min(self.samples.len()));
        let mut end = from;
        for (t, s) in &self.samples[from..] {
            match s {
                Sample::Float(f) if *t <= maxt => out.samples.push((*t, *f)),
                _ => break,
            }
            end += 1;
        }
        self.pos = Some(end);
        self.value_type()
    }
}

/// A series set over series already in memory.
pub struct VecSeriesSet {
    inner: std::vec::IntoIter<Box<dyn Series>>,
}

impl VecSeriesSet {
    /// A set yielding `series` in the given order.
    #[must_use]
    pub fn new(series: Vec<Box<dyn Series>>) -> Self {
        Self {
            inner: series.into_iter(),
        }
    }
}

impl Iterator for VecSeriesSet {
    type Item = Result<Box<dyn Series>, StorageError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next().map(Ok)
    }
}

impl SeriesSet for VecSeriesSet {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_iterator_next_and_seek() {
        let s = ListSeries::new(
            Labels::empty(),
            (0..5).map(|i| (i * 10, Sample::Float(i as f64))).collect(),
        );
        let mut it = s.iter();
        assert_eq!(it.current(), ValueType::None);
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!(it.at(), (0, 0.0));
        assert_eq!(it.seek(25), ValueType::Float);
        assert_eq!(it.at(), (30, 3.0));
        assert_eq!(it.seek(5), ValueType::Float, "seek never goes back");
        assert_eq!(it.at_t(), 30);
        assert_eq!(it.next(), ValueType::Float);
        assert_eq!(it.next(), ValueType::None);
        assert_eq!(it.seek(0), ValueType::None);
    }

    /// Bulk reads stop where `next` would show a sample they may not take, and the default
    /// (one by one, start timestamps included) agrees with the list's own.
    #[test]
    fn read_floats_stops_on_what_it_does_not_take() {
        let samples: Vec<(i64, Sample)> = (0..10)
            .map(|i| {
                let s = if i == 6 {
                    Sample::Histogram(Arc::new(Histogram::default()))
                } else {
                    Sample::Float(i as f64)
                };
                (i * 10, s)
            })
            .collect();
        let starts: Vec<i64> = (0..10).map(|i| if i % 2 == 0 { 0 } else { 5 }).collect();
        let plain = ListSeries::new(Labels::empty(), samples.clone());
        let with_starts = ListSeries::with_start_timestamps(Labels::empty(), samples, starts);
        for s in [&plain, &with_starts] {
            let mut it = s.iter();
            let mut b = FloatBatch::default();
            assert_eq!(it.read_floats(25, &mut b), ValueType::Float);
            assert_eq!(b.samples, [(0, 0.0), (10, 1.0), (20, 2.0)]);
            assert_eq!(it.at_t(), 30, "positioned on the first sample after maxt");
            b.clear();
            assert_eq!(it.read_floats(100, &mut b), ValueType::Histogram);
            assert_eq!(b.samples, [(40, 4.0), (50, 5.0)]);
            assert_eq!(it.at_t(), 60);
            b.clear();
            assert_eq!(it.read_floats(100, &mut b), ValueType::None);
            assert_eq!(b.samples, [(70, 7.0), (80, 8.0), (90, 9.0)]);
            assert_eq!(it.read_floats(100, &mut b), ValueType::None);
        }
        let mut it = with_starts.iter();
        let mut b = FloatBatch::default();
        it.read_floats(35, &mut b);
        assert_eq!(b.starts, [(10, 5), (30, 5)]);
    }
}
