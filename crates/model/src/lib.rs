//! The vocabulary every Firewatch component speaks: label sets, matchers, samples, native
//! histograms and the exposition formats.
//!
//! Everything here is plain data with Prometheus's semantics; nothing does I/O.

pub mod error;
pub mod exposition;
pub mod gofmt;
pub mod histogram;
pub mod labels;
pub mod lint;
pub mod matcher;
pub mod regex;
pub mod relabel;
pub mod sample;

pub use error::ModelError;
pub use histogram::{FloatHistogram, Histogram, Span};
pub use labels::{Label, Labels, LabelsBuilder, METRIC_NAME};
pub use matcher::{MatchOp, Matcher};
pub use sample::{STALE_NAN, Sample, Timestamp, is_stale_nan};
