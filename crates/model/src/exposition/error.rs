//! Errors of the exposition parsers: each names the line, the column and what was expected.

use thiserror::Error;

/// What went wrong while parsing an exposition.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseErrorKind {
    /// A token other than the one the grammar allows here.
    #[error("expected {expected}, got {got}")]
    Expected {
        /// What the grammar allows at this point, e.g. `label value`.
        expected: &'static str,
        /// The text found instead (quoted), or `end of line` / `end of input`.
        got: String,
    },
    /// A `# TYPE` line names a type the format does not know.
    #[error("invalid metric type {0:?}")]
    InvalidMetricType(String),
    /// A value or timestamp that is not a number the format allows.
    #[error("invalid {what} {text:?}")]
    InvalidNumber {
        /// `value`, `timestamp`, `exemplar value` or `exemplar timestamp`.
        what: &'static str,
        /// The token as written.
        text: String,
    },
    /// Bytes that are not UTF-8 where text is required.
    #[error("invalid UTF-8 in {0}")]
    InvalidUtf8(&'static str),
    /// A sample line without a metric name (`{a="b"} 1`).
    #[error("metric name not set")]
    MetricNameNotSet,
    /// Two quoted metric names inside one pair of braces.
    #[error("metric name already set")]
    MetricNameAlreadySet,
    /// An OpenMetrics `# UNIT` that is not a suffix of the metric name.
    #[error("unit {unit:?} not a suffix of metric {metric:?}")]
    UnitNotSuffix {
        /// The unit.
        unit: String,
        /// The metric family name.
        metric: String,
    },
    /// OpenMetrics input that ends without `# EOF`.
    #[error("data does not end with # EOF")]
    MissingEof,
    /// OpenMetrics input that goes on after `# EOF`.
    #[error("unexpected data after # EOF")]
    DataAfterEof,
    /// A second `# HELP` line for one metric family.
    #[error("second HELP line for metric name {0:?}")]
    DuplicateHelp(String),
    /// A second `# TYPE` line for one family, or one after its samples.
    #[error("second TYPE line for metric name {0:?}, or TYPE reported after samples")]
    DuplicateType(String),
    /// A second `# UNIT` line for one metric family.
    #[error("second UNIT line for metric name {0:?}")]
    DuplicateUnit(String),
    /// Two labels of the same name on one sample.
    #[error("duplicate label name {label:?} for metric {metric:?}")]
    DuplicateLabel {
        /// The metric name.
        metric: String,
        /// The repeated label name.
        label: String,
    },
}

/// A parse error with its position: `line 3, column 14: expected label value, got "}"`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("line {line}, column {column}: {kind}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What went wrong.
    pub kind: ParseErrorKind,
}

/// A protobuf exposition that does not decode: the byte offset of the family at fault and
/// what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("protobuf exposition, family at byte {offset}: {message}")]
pub struct ProtobufError {
    /// Offset of the length-delimited family in the body.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

impl ProtobufError {
    /// An error at `offset`.
    #[must_use]
    pub fn new(offset: usize, message: String) -> Self {
        Self { offset, message }
    }
}
