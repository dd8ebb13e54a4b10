//! Summaries (client_golang's `summary.go`): quantiles over a sliding window of `max_age`
//! kept in `age_buckets` rotating streams, plus the sum and count of all observations.
//! Without objectives a summary is only its sum and count, updated lock-free.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use model::exposition::{FamilySample, MetricFamily};
use parking_lot::Mutex;

use crate::atomic::AtomicF64;
use crate::histogram::{Observer, Timer};
use crate::quantile::Stream;
use crate::vec::{Child, MetricVec};

/// The objectives Prometheus gives most of its summaries: median ±5%, 90th ±1%, 99th ±0.1%.
pub const DEFAULT_OBJECTIVES: &[(f64, f64)] = &[(0.5, 0.05), (0.9, 0.01), (0.99, 0.001)];

/// How a summary's quantiles are computed.
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryOpts {
    /// `(quantile, allowed absolute error of the rank fraction)`; may be empty.
    pub objectives: Vec<(f64, f64)>,
    /// How long an observation counts for the quantiles (client_golang: 10 minutes).
    pub max_age: Duration,
    /// Streams the window is divided into (client_golang: 5).
    pub age_buckets: u32,
}

impl SummaryOpts {
    /// Client_golang's defaults with these objectives.
    #[must_use]
    pub fn new(objectives: &[(f64, f64)]) -> Self {
        let mut objectives = objectives.to_vec();
        objectives.sort_by(|a, b| a.0.total_cmp(&b.0));
        Self {
            objectives,
            max_age: Duration::from_secs(600),
            age_buckets: 5,
        }
    }

    pub(crate) fn check(&self, name: &str) {
        for &(q, e) in &self.objectives {
            assert!(
                (0.0..=1.0).contains(&q) && (0.0..=1.0).contains(&e),
                "summary {name}: objective ({q}, {e}) out of [0, 1]"
            );
        }
        assert!(
            self.age_buckets > 0,
            "summary {name}: age_buckets must be > 0"
        );
    }
}

/// A summary. Clones share the state.
#[derive(Debug, Clone)]
pub struct Summary {
    inner: Arc<SummaryValue>,
}

#[derive(Debug)]
struct SummaryValue {
    sum: AtomicF64,
    count: AtomicU64,
    /// `None` when there are no objectives.
    window: Option<Mutex<Window>>,
    quantiles: Vec<f64>,
}

/// The rotating streams.
#[derive(Debug)]
struct Window {
    streams: Vec<Stream>,
    /// The oldest stream, the one queried and the next one reset.
    head: usize,
    head_expires: Instant,
    stream_duration: Duration,
}

impl Window {
    fn rotate(&mut self, now: Instant) {
        while now >= self.head_expires {
            self.streams[self.head].reset();
            self.head = (self.head + 1) % self.streams.len();
            self.head_expires += self.stream_duration;
        }
    }
}

impl Summary {
    /// A summary with `opts`, not registered anywhere.
    #[must_use]
    pub fn new(opts: &SummaryOpts) -> Self {
        let window = (!opts.objectives.is_empty()).then(|| {
            let stream_duration = opts.max_age / opts.age_buckets;
            Mutex::new(Window {
                streams: (0..opts.age_buckets)
                    .map(|_| Stream::new(&opts.objectives))
                    .collect(),
                head: 0,
                head_expires: Instant::now() + stream_duration,
                stream_duration,
            })
        });
        Self {
            inner: Arc::new(SummaryValue {
                sum: AtomicF64::new(0.0),
                count: AtomicU64::new(0),
                window,
                quantiles: opts.objectives.iter().map(|o| o.0).collect(),
            }),
        }
    }

    /// Records one observation.
    pub fn observe(&self, v: f64) {
        if let Some(w) = &self.inner.window {
            let mut w = w.lock();
            w.rotate(Instant::now());
            for s in &mut w.streams {
                s.insert(v);
            }
        }
        self.inner.sum.add(v);
        self.inner.count.fetch_add(1, Ordering::Relaxed);
    }

    /// Records a duration in seconds.
    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    /// A timer that observes the seconds elapsed when stopped or dropped.
    pub fn start_timer(&self) -> Timer {
        Timer::new(Observer::Summary(self.clone()))
    }

    /// The number of observations.
    #[must_use]
    pub fn count(&self) -> u64 {
        self.inner.count.load(Ordering::Relaxed)
    }

    /// The sum of observations.
    #[must_use]
    pub fn sum(&self) -> f64 {
        self.inner.sum.get()
    }

    /// `(quantile, value)` per objective over the current window (NaN when empty).
    #[must_use]
    pub fn quantiles(&self) -> Vec<(f64, f64)> {
        let Some(w) = &self.inner.window else {
            return Vec::new();
        };
        let mut w = w.lock();
        w.rotate(Instant::now());
        let head = w.head;
        self.inner
            .quantiles
            .iter()
            .map(|&q| (q, w.streams[head].query(q)))
            .collect()
    }
}

impl Child for Summary {
    fn write(&self, name: &str, labels: &[(&str, &str)], out: &mut Vec<FamilySample>) {
        let quantiles = self.quantiles();
        let mut f = MetricFamily {
            name: name.to_owned(),
            ..MetricFamily::default()
        };
        crate::family::push_summary(&mut f, labels, &quantiles, self.sum(), self.count());
        out.append(&mut f.samples);
    }
}

/// Summaries partitioned by label values.
pub type SummaryVec = MetricVec<Summary>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_forget_observations_older_than_max_age() {
        let s = Summary::new(&SummaryOpts {
            objectives: vec![(0.5, 0.05), (0.99, 0.001)],
            max_age: Duration::from_millis(200),
            age_buckets: 2,
        });
        assert!(s.quantiles().iter().all(|(_, v)| v.is_nan()));
        for v in 1..=100 {
            s.observe(f64::from(v));
        }
        let q = s.quantiles();
        assert_eq!(q[0], (0.5, 50.0));
        assert_eq!(q[1], (0.99, 99.0));
        std::thread::sleep(Duration::from_millis(450));
        // The window moved past every observation; sum and count stay.
        assert!(s.quantiles().iter().all(|(_, v)| v.is_nan()));
        assert_eq!(s.count(), 100);
        assert!((s.sum() - 5050.0).abs() < f64::EPSILON);
    }

    #[test]
    fn without_objectives_only_sum_and_count() {
        let s = Summary::new(&SummaryOpts::new(&[]));
        s.observe(1.5);
        s.observe_duration(Duration::from_millis(500));
        assert!(s.quantiles().is_empty());
        assert_eq!(s.count(), 2);
        assert!((s.sum() - 2.0).abs() < f64::EPSILON);
    }
}
