//! Samples and timestamps.

use std::sync::Arc;

use crate::histogram::{FloatHistogram, Histogram};

/// Milliseconds since the Unix epoch, as Prometheus stores them.
pub type Timestamp = i64;

/// The bit pattern Prometheus writes to mark a series stale (a signalling NaN).
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// The staleness marker as a float value.
pub const STALE_NAN: f64 = f64::from_bits(STALE_NAN_BITS);

/// Whether `v` is the staleness marker (compared bit for bit: other NaNs are ordinary values).
#[must_use]
pub fn is_stale_nan(v: f64) -> bool {
    v.to_bits() == STALE_NAN_BITS
}

/// One sample value: a float or a native histogram (integer or float counts).
#[derive(Debug, Clone, PartialEq)]
pub enum Sample {
    /// A float sample.
    Float(f64),
    /// A native histogram with integer counts.
    Histogram(Arc<Histogram>),
    /// A native histogram with float counts.
    FloatHistogram(Arc<FloatHistogram>),
}

impl From<f64> for Sample {
    fn from(v: f64) -> Self {
        Sample::Float(v)
    }
}
