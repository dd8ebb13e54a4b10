//! Query results: scalars, instant vectors, range vectors (matrices) and strings, with
//! accessors shaped for Prometheus's JSON API.

use std::fmt;
use std::sync::Arc;

use model::{FloatHistogram, Labels};

pub use crate::kernels::FPoint;

/// A histogram sample at a timestamp.
#[derive(Debug, Clone, PartialEq)]
pub struct HPoint {
    /// Timestamp in milliseconds.
    pub t: i64,
    /// The histogram.
    pub h: Arc<FloatHistogram>,
}

/// One element of an instant vector.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The series labels.
    pub labels: Labels,
    /// Evaluation timestamp in milliseconds.
    pub t: i64,
    /// The float value (meaningless when `h` is set).
    pub f: f64,
    /// The histogram value, if this is a histogram sample.
    pub h: Option<Arc<FloatHistogram>>,
    /// The metric name is to be dropped at the end of evaluation (delayed name removal).
    pub drop_name: bool,
}

impl Sample {
    /// A float sample.
    #[must_use]
    pub fn float(labels: Labels, t: i64, f: f64) -> Self {
        Self {
            labels,
            t,
            f,
            h: None,
            drop_name: false,
        }
    }
}

/// One series of a range vector.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Series {
    /// The series labels.
    pub labels: Labels,
    /// Float points in time order.
    pub floats: Vec<FPoint>,
    /// Histogram points in time order.
    pub histograms: Vec<HPoint>,
    /// The metric name is to be dropped at the end of evaluation.
    pub drop_name: bool,
}

/// The value of a query.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A scalar at a timestamp.
    Scalar {
        /// Timestamp in milliseconds.
        t: i64,
        /// The value.
        v: f64,
    },
    /// An instant vector.
    Vector(Vec<Sample>),
    /// A range vector; range queries always return one, sorted by labels.
    Matrix(Vec<Series>),
    /// A string at a timestamp.
    String {
        /// Timestamp in milliseconds.
        t: i64,
        /// The string.
        v: String,
    },
}

impl Value {
    /// The API's `resultType`: `scalar`, `vector`, `matrix` or `string`.
    #[must_use]
    pub fn result_type(&self) -> &'static str {
        match self {
            Value::Scalar { .. } => "scalar",
            Value::Vector(_) => "vector",
            Value::Matrix(_) => "matrix",
            Value::String { .. } => "string",
        }
    }
}

/// Formats a timestamp in milliseconds as the API does: seconds with up to three decimals
/// (`1435781451.781`, `10`).
#[must_use]
pub fn format_timestamp(t: i64) -> String {
    if t < 0 {
        return format!("-{}", format_timestamp(t.unsigned_abs() as i64));
    }
    let secs = t / 1000;
    let ms = t % 1000;
    if ms == 0 {
        return secs.to_string();
    }
    let frac = format!("{ms:03}");
    format!("{secs}.{}", frac.trim_end_matches('0'))
}

/// Formats a sample value as Prometheus does in texts and label values (Go's
/// `strconv.FormatFloat(f, 'f', -1, 64)`, with `NaN`, `+Inf`, `-Inf`).
#[must_use]
pub fn format_value(f: f64) -> String {
    let mut out = String::with_capacity(24);
    model::gofmt::append_shortest_f(&mut out, f);
    out
}

/// One bucket of a native histogram as the HTTP API lists it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApiBucket {
    /// Which bounds are inclusive: 0 upper only (positive and custom buckets), 1 lower only
    /// (negative buckets), 2 neither, 3 both (the zero bucket).
    pub boundary: u8,
    /// Lower bound.
    pub lower: f64,
    /// Upper bound.
    pub upper: f64,
    /// Observations in the bucket.
    pub count: f64,
}

/// The populated buckets of a histogram in ascending order, as Prometheus's JSON shows them
/// (`[boundary, "lower", "upper", "count"]`, strings formatted with [`format_value`]).
#[must_use]
pub fn api_buckets(h: &FloatHistogram) -> Vec<ApiBucket> {
    let custom = h.schema == -53;
    crate::engine::hist_quantile::all_buckets(h)
        .into_iter()
        .filter(|b| b.count != 0.0)
        .map(|b| {
            let boundary = if custom {
                0
            } else if b.lower < 0.0 && b.upper > 0.0 {
                3
            } else if b.upper <= 0.0 {
                1
            } else {
                0
            };
            ApiBucket {
                boundary,
                lower: b.lower,
                upper: b.upper,
                count: b.count,
            }
        })
        .collect()
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Scalar { t, v } => write!(f, "scalar: {} @[{t}]", format_value(*v)),
            Value::String { t, v } => write!(f, "string: {v} @[{t}]"),
            Value::Vector(samples) => {
                for s in samples {
                    match &s.h {
                        Some(h) => writeln!(f, "{} => {h:?} @[{}]", s.labels, s.t)?,
                        None => writeln!(f, "{} => {} @[{}]", s.labels, format_value(s.f), s.t)?,
                    }
                }
                Ok(())
            }
            Value::Matrix(series) => {
                for s in series {
                    write!(f, "{} =>", s.labels)?;
                    for p in &s.floats {
                        write!(f, " {} @[{}]", format_value(p.f), p.t)?;
                    }
                    for p in &s.histograms {
                        write!(f, " {:?} @[{}]", p.h, p.t)?;
                    }
                    writeln!(f)?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_buckets_carry_boundary_rules() {
        let h = FloatHistogram {
            count: 5.0,
            zero_threshold: 0.001,
            zero_count: 1.0,
            positive_spans: vec![model::Span {
                offset: 1,
                length: 1,
            }],
            positive_buckets: vec![3.0],
            negative_spans: vec![model::Span {
                offset: 1,
                length: 1,
            }],
            negative_buckets: vec![1.0],
            ..FloatHistogram::default()
        };
        let b = api_buckets(&h);
        assert_eq!(
            b.iter().map(|b| b.boundary).collect::<Vec<_>>(),
            vec![1, 3, 0]
        );
        assert_eq!((b[0].lower, b[0].upper), (-2.0, -1.0));
        assert_eq!((b[2].lower, b[2].upper, b[2].count), (1.0, 2.0, 3.0));
    }

    #[test]
    fn formats_like_prometheus() {
        assert_eq!(format_value(1.5), "1.5");
        assert_eq!(format_value(1e21), "1000000000000000000000");
        assert_eq!(format_value(f64::NEG_INFINITY), "-Inf");
        assert_eq!(format_value(f64::NAN), "NaN");
        // An exact tie between two shortest forms: Go takes the even digit, Rust's `{}` the
        // upper one (`...853.3`).
        assert_eq!(
            format_value(667_082_108_456_853.0 + 0.25),
            "667082108456853.2"
        );
        assert_eq!(format_timestamp(1_435_781_451_781), "1435781451.781");
        assert_eq!(format_timestamp(10_000), "10");
        assert_eq!(format_timestamp(1_500), "1.5");
        assert_eq!(format_timestamp(-1_500), "-1.5");
    }
}
