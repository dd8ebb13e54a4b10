//! Classic histograms (client_golang's `histogram.go`): observations counted in buckets by
//! upper bound, plus their sum and count; bucket layouts; a timer that observes on drop.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use model::exposition::{FamilySample, MetricFamily};

use crate::atomic::AtomicF64;
use crate::vec::{Child, MetricVec};

/// client_golang's `DefBuckets`: response times from 5 ms to 10 s.
pub const DEFAULT_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// `count` buckets, the first `start`, each `factor` times the previous.
///
/// # Panics
/// When `count < 1`, `start <= 0` or `factor <= 1` (as client_golang).
#[must_use]
pub fn exponential_buckets(start: f64, factor: f64, count: usize) -> Vec<f64> {
    assert!(count >= 1, "exponential_buckets needs a positive count");
    assert!(
        start > 0.0,
        "exponential_buckets needs a positive start value"
    );
    assert!(
        factor > 1.0,
        "exponential_buckets needs a factor greater than 1"
    );
    let mut v = Vec::with_capacity(count);
    let mut b = start;
    for _ in 0..count {
        v.push(b);
        b *= factor;
    }
    v
}

/// `count` buckets, the first `start`, each `width` above the previous.
///
/// # Panics
/// When `count < 1` (as client_golang).
#[must_use]
pub fn linear_buckets(start: f64, width: f64, count: usize) -> Vec<f64> {
    assert!(count >= 1, "linear_buckets needs a positive count");
    let mut v = Vec::with_capacity(count);
    let mut b = start;
    for _ in 0..count {
        v.push(b);
        b += width;
    }
    v
}

/// Checks bucket bounds and drops a trailing `+Inf` (always added at exposition).
pub(crate) fn checked_bounds(name: &str, buckets: &[f64]) -> Arc<[f64]> {
    let mut b: Vec<f64> = buckets.to_vec();
    if b.last() == Some(&f64::INFINITY) {
        b.pop();
    }
    for w in b.windows(2) {
        assert!(
            w[0] < w[1],
            "histogram {name}: buckets must be in increasing order, got {} then {}",
            w[0],
            w[1]
        );
    }
    b.into()
}

/// A histogram. Clones share the buckets; observations are lock-free.
#[derive(Debug, Clone)]
pub struct Histogram {
    inner: Arc<HistogramValue>,
}

#[derive(Debug)]
struct HistogramValue {
    bounds: Arc<[f64]>,
    /// Non-cumulative counts, one per bound and one for `+Inf`.
    counts: Box<[AtomicU64]>,
    sum: AtomicF64,
}

impl Histogram {
    /// A histogram with `buckets` (increasing upper bounds), not registered anywhere.
    ///
    /// # Panics
    /// When the bounds are not increasing.
    #[must_use]
    pub fn new(buckets: &[f64]) -> Self {
        Self::with_bounds(checked_bounds("(unregistered)", buckets))
    }

    pub(crate) fn with_bounds(bounds: Arc<[f64]>) -> Self {
        let counts = (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect();
        Self {
            inner: Arc::new(HistogramValue {
                bounds,
                counts,
                sum: AtomicF64::new(0.0),
            }),
        }
    }

    /// Records one observation.
    pub fn observe(&self, v: f64) {
        let h = &self.inner;
        // The first bucket whose bound is >= v; NaN goes to +Inf, as in Go.
        let i = if v.is_nan() {
            h.bounds.len()
        } else {
            h.bounds.partition_point(|&b| b < v)
        };
        h.counts[i].fetch_add(1, Ordering::Relaxed);
        h.sum.add(v);
    }

    /// Records a duration in seconds.
    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    /// A timer that observes the seconds elapsed when stopped or dropped.
    pub fn start_timer(&self) -> Timer {
        Timer::new(Observer::Histogram(self.clone()))
    }

    /// The number of observations.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.inner
            .counts
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// The sum of observations.
    #[must_use]
    pub fn sum(&self) -> f64 {
        self.inner.sum.get()
    }

    /// `(upper bound, cumulative count)` per bucket, `+Inf` last, and the total count.
    fn cumulative(&self) -> (Vec<(f64, u64)>, u64) {
        let h = &self.inner;
        let mut acc = 0;
        let mut out = Vec::with_capacity(h.counts.len());
        for (i, c) in h.counts.iter().enumerate() {
            acc += c.load(Ordering::Relaxed);
            out.push((h.bounds.get(i).copied().unwrap_or(f64::INFINITY), acc));
        }
        (out, acc)
    }
}

impl Child for Histogram {
    fn write(&self, name: &str, labels: &[(&str, &str)], out: &mut Vec<FamilySample>) {
        let (cumulative, count) = self.cumulative();
        let mut f = MetricFamily {
            name: name.to_owned(),
            ..MetricFamily::default()
        };
        crate::family::push_histogram(&mut f, labels, &cumulative, self.sum(), count);
        out.append(&mut f.samples);
    }
}

/// Histograms partitioned by label values.
pub type HistogramVec = MetricVec<Histogram>;

/// What a [`Timer`] observes into.
#[derive(Debug)]
pub(crate) enum Observer {
    Histogram(Histogram),
    Summary(crate::Summary),
}

/// Observes the seconds since it started into a histogram or summary, once: when
/// [`observe_duration`](Self::observe_duration) is called or when dropped.
#[derive(Debug)]
#[must_use = "a timer observes when stopped or dropped"]
pub struct Timer {
    target: Option<Observer>,
    start: Instant,
}

impl Timer {
    pub(crate) fn new(target: Observer) -> Self {
        Self {
            target: Some(target),
            start: Instant::now(),
        }
    }

    /// Observes the elapsed seconds now; returns them.
    pub fn observe_duration(mut self) -> f64 {
        self.observe()
    }

    /// Drops the timer without observing.
    pub fn stop_and_discard(mut self) {
        self.target = None;
    }

    fn observe(&mut self) -> f64 {
        let secs = self.start.elapsed().as_secs_f64();
        match self.target.take() {
            Some(Observer::Histogram(h)) => h.observe(secs),
            Some(Observer::Summary(s)) => s.observe(secs),
            None => {}
        }
        secs
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.observe();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn observations_land_in_the_first_bucket_at_or_above() {
        let h = Histogram::new(&[1.0, 2.0, 5.0]);
        for v in [0.5, 1.0, 1.5, 2.0, 7.0, f64::NAN] {
            h.observe(v);
        }
        let (cum, count) = h.cumulative();
        assert_eq!(cum, vec![(1.0, 2), (2.0, 4), (5.0, 4), (f64::INFINITY, 6)]);
        assert_eq!(count, 6);
        assert!(h.sum().is_nan());
    }

    #[test]
    fn bucket_layouts() {
        assert_eq!(exponential_buckets(1.0, 2.0, 4), vec![1.0, 2.0, 4.0, 8.0]);
        assert_eq!(linear_buckets(0.5, 0.5, 3), vec![0.5, 1.0, 1.5]);
        assert_eq!(&*checked_bounds("x", &[1.0, f64::INFINITY]), &[1.0]);
    }

    #[test]
    #[should_panic(expected = "increasing order")]
    fn unordered_buckets_panic() {
        let _ = Histogram::new(&[2.0, 1.0]);
    }

    #[test]
    fn timers_observe_once() {
        let h = Histogram::new(DEFAULT_BUCKETS);
        let t = h.start_timer();
        assert!(t.observe_duration() >= 0.0);
        drop(h.start_timer());
        h.start_timer().stop_and_discard();
        h.observe_duration(Duration::from_millis(20));
        assert_eq!(h.count(), 3);
    }
}
