//! The exposition formats: Prometheus text 0.0.4 and OpenMetrics 1.0 text — a streaming,
//! zero-copy pull parser, a collector into metric families, encoders and content negotiation —
//! and the delimited protobuf format ([`ProtobufParser`], same [`Entry`] stream plus native
//! histograms).
//!
//! ```
//! use firewatch_model::exposition::{Entry, Format, Parser};
//! let mut p = Parser::new(b"# TYPE up gauge\nup{job=\"node\"} 1\n", Format::Text);
//! let mut n = 0;
//! while let Some(e) = p.next_entry().unwrap() {
//!     if let Entry::Series(s) = e {
//!         assert_eq!((s.name, s.labels[0].value.as_ref(), s.value), ("up", "node", 1.0));
//!         n += 1;
//!     }
//! }
//! assert_eq!(n, 1);
//! ```

mod encode;
mod error;
mod family;
mod lex;
mod negotiate;
mod number;
mod parser;
pub mod proto;
mod protobuf;

pub use encode::{
    encode, encode_openmetrics, encode_text, write_escaped, write_family, write_name,
    write_series_pairs,
};
pub use error::{ParseError, ParseErrorKind, ProtobufError};
pub use family::{Exemplar, FamilySample, MetricFamily, parse_families};
pub use negotiate::{OPENMETRICS_0_0_1, negotiate};
pub use number::{NORMAL_NAN_BITS, parse_float, write_float};
pub use parser::{
    Entry, ExemplarRef, HistogramRef, LabelPair, LazyEntry, Parser, SampleRest, SeriesRef,
};
pub use protobuf::{
    PROTOBUF_CONTENT_TYPE, ProtobufOptions, ProtobufParser, format_openmetrics_float,
    is_protobuf_content_type, native_histogram,
};

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// The Prometheus text format, version 0.0.4.
    Text,
    /// OpenMetrics 1.0 text.
    OpenMetrics,
}

impl Format {
    /// The `Content-Type` client_golang writes for this format.
    #[must_use]
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Text => "text/plain; version=0.0.4; charset=utf-8",
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }

    /// The format a `Content-Type` header names; text when it names neither.
    #[must_use]
    pub fn from_content_type(ct: &str) -> Format {
        let media = ct.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case("application/openmetrics-text") {
            Format::OpenMetrics
        } else {
            Format::Text
        }
    }
}

/// The type of a metric family, as `# TYPE` declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MetricType {
    /// A monotonic counter.
    Counter,
    /// A gauge.
    Gauge,
    /// A classic histogram (`_bucket`, `_sum`, `_count`).
    Histogram,
    /// An OpenMetrics gauge histogram (`_bucket`, `_gsum`, `_gcount`).
    GaugeHistogram,
    /// A summary (quantiles, `_sum`, `_count`).
    Summary,
    /// An OpenMetrics info metric (`_info`).
    Info,
    /// An OpenMetrics state set.
    StateSet,
    /// `untyped` in the text format, `unknown` in OpenMetrics.
    #[default]
    Unknown,
}

impl MetricType {
    /// Parses a `# TYPE` word of `format`.
    #[must_use]
    pub fn parse(word: &str, format: Format) -> Option<MetricType> {
        Some(match (word, format) {
            ("counter", _) => MetricType::Counter,
            ("gauge", _) => MetricType::Gauge,
            ("histogram", _) => MetricType::Histogram,
            ("summary", _) => MetricType::Summary,
            ("untyped", Format::Text) | ("unknown", Format::OpenMetrics) => MetricType::Unknown,
            ("gaugehistogram", Format::OpenMetrics) => MetricType::GaugeHistogram,
            ("info", Format::OpenMetrics) => MetricType::Info,
            ("stateset", Format::OpenMetrics) => MetricType::StateSet,
            _ => return None,
        })
    }

    /// The `# TYPE` word in `format`. Types the text format lacks are written as `untyped`
    /// there, except gauge-like ones (`info`, `stateset`), written as `gauge`.
    #[must_use]
    pub fn as_str(self, format: Format) -> &'static str {
        match (self, format) {
            (MetricType::Counter, _) => "counter",
            (MetricType::Gauge, _) => "gauge",
            (MetricType::Histogram, _) => "histogram",
            (MetricType::Summary, _) => "summary",
            (MetricType::Unknown, Format::OpenMetrics) => "unknown",
            (MetricType::GaugeHistogram, Format::OpenMetrics) => "gaugehistogram",
            (MetricType::Info, Format::OpenMetrics) => "info",
            (MetricType::StateSet, Format::OpenMetrics) => "stateset",
            (MetricType::Info | MetricType::StateSet, Format::Text) => "gauge",
            (MetricType::Unknown | MetricType::GaugeHistogram, Format::Text) => "untyped",
        }
    }

    /// The sample-name suffixes a family of this type owns besides its bare name.
    #[must_use]
    pub fn suffixes(self) -> &'static [&'static str] {
        match self {
            MetricType::Counter => &["_total", "_created"],
            MetricType::Histogram => &["_bucket", "_count", "_sum", "_created"],
            MetricType::GaugeHistogram => &["_bucket", "_gcount", "_gsum"],
            MetricType::Summary => &["_count", "_sum", "_created"],
            MetricType::Info => &["_info"],
            _ => &[],
        }
    }
}
