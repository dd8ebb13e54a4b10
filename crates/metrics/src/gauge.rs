//! Gauges: a value that goes up and down (client_golang's `gauge.go`), and their vectors.

use std::sync::Arc;

use model::exposition::FamilySample;

use crate::atomic::AtomicF64;
use crate::vec::{Child, MetricVec};

/// A gauge. Clones share the value; updates are lock-free.
#[derive(Debug, Clone, Default)]
pub struct Gauge {
    inner: Arc<AtomicF64>,
}

impl Gauge {
    /// A gauge at zero, not registered anywhere.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the value.
    pub fn set(&self, v: f64) {
        self.inner.set(v);
    }

    /// Adds one.
    pub fn inc(&self) {
        self.inner.add(1.0);
    }

    /// Subtracts one.
    pub fn dec(&self) {
        self.inner.add(-1.0);
    }

    /// Adds `v` (which may be negative).
    pub fn add(&self, v: f64) {
        self.inner.add(v);
    }

    /// Subtracts `v`.
    pub fn sub(&self, v: f64) {
        self.inner.add(-v);
    }

    /// Sets the value to the current Unix time in seconds.
    pub fn set_to_current_time(&self) {
        self.set(crate::unix_seconds_now());
    }

    /// The current value.
    #[must_use]
    pub fn get(&self) -> f64 {
        self.inner.get()
    }
}

impl Child for Gauge {
    fn write(&self, name: &str, labels: &[(&str, &str)], out: &mut Vec<FamilySample>) {
        out.push(crate::family::sample(name, labels, None, self.get()));
    }
}

/// Gauges partitioned by label values.
pub type GaugeVec = MetricVec<Gauge>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moves_both_ways() {
        let g = Gauge::new();
        g.set(10.0);
        g.inc();
        g.dec();
        g.dec();
        g.add(2.5);
        g.sub(0.5);
        assert!((g.get() - 11.0).abs() < f64::EPSILON);
        g.set_to_current_time();
        assert!(g.get() > 1.7e9);
    }
}
