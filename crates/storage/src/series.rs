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
}
