//! Counters: a value that only goes up (client_golang's `counter.go`), and their vectors.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use model::exposition::FamilySample;

use crate::atomic::AtomicF64;
use crate::vec::{Child, MetricVec};

/// A counter. Clones share the value; updates are lock-free.
#[derive(Debug, Clone, Default)]
pub struct Counter {
    inner: Arc<CounterValue>,
}

/// Whole increments in an integer, fractional ones in float bits (as client_golang).
#[derive(Debug, Default)]
struct CounterValue {
    int: AtomicU64,
    float: AtomicF64,
}

impl Counter {
    /// A counter at zero, not registered anywhere (tests, or a child made by a vector).
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one.
    pub fn inc(&self) {
        self.inner.int.fetch_add(1, Ordering::Relaxed);
    }

    /// Adds `v`. A counter never goes down: negative and NaN values are ignored (client_golang
    /// panics on them; a server should not).
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    pub fn inc_by(&self, v: f64) {
        if v.is_nan() || v < 0.0 {
            debug_assert!(false, "counter increased by {v}");
            return;
        }
        let whole = v as u64;
        if whole as f64 == v {
            self.inner.int.fetch_add(whole, Ordering::Relaxed);
        } else {
            self.inner.float.add(v);
        }
    }

    /// Adds a whole number.
    pub fn inc_by_u64(&self, v: u64) {
        self.inner.int.fetch_add(v, Ordering::Relaxed);
    }

    /// The current value.
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn get(&self) -> f64 {
        self.inner.int.load(Ordering::Relaxed) as f64 + self.inner.float.get()
    }
}

impl Child for Counter {
    fn write(&self, name: &str, labels: &[(&str, &str)], out: &mut Vec<FamilySample>) {
        out.push(crate::family::sample(name, labels, None, self.get()));
    }
}

/// Counters partitioned by label values.
pub type CounterVec = MetricVec<Counter>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_and_fractional_increments_add_up() {
        let c = Counter::new();
        c.inc();
        c.inc_by(2.0);
        c.inc_by(0.5);
        c.inc_by_u64(3);
        assert!((c.get() - 6.5).abs() < f64::EPSILON);
        let shared = c.clone();
        shared.inc();
        assert!((c.get() - 7.5).abs() < f64::EPSILON);
    }
}
