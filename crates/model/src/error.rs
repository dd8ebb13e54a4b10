//! Errors of the model crate.

use thiserror::Error;

/// An error building a model value from user input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ModelError {
    /// A regular expression in a matcher or relabel rule does not compile.
    #[error("invalid regular expression {regex:?}: {reason}")]
    InvalidRegex {
        /// The expression as the user wrote it.
        regex: String,
        /// Why it was refused.
        reason: String,
    },
    /// A label name is not valid.
    #[error("invalid label name {0:?}")]
    InvalidLabelName(String),
    /// A metric name is not valid.
    #[error("invalid metric name {0:?}")]
    InvalidMetricName(String),
}
