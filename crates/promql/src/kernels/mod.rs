//! Numeric kernels of PromQL functions that work on plain sample slices, independent of the
//! engine: rates, regressions, `*_over_time` aggregations, quantiles and classic-histogram
//! quantiles, with Prometheus's numeric behaviour (Kahan summation, extrapolation rules).

pub mod kahan;
pub mod over_time;
pub mod quantile;
pub mod rate;
pub mod smoothing;
pub mod start_ts;

/// A float sample at a timestamp (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FPoint {
    /// Timestamp in milliseconds.
    pub t: i64,
    /// Value.
    pub f: f64,
}

impl FPoint {
    /// A point at `t` with value `f`.
    #[must_use]
    pub fn new(t: i64, f: f64) -> Self {
        Self { t, f }
    }
}
