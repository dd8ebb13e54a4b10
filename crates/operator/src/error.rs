//! The operator crate's errors.

/// What can be wrong in the operator section of the configuration.
#[derive(Debug, thiserror::Error)]
pub enum OperatorError {
    /// A label selector that Kubernetes would reject.
    #[error("{field}: {message}")]
    InvalidSelector {
        /// The selector's field, e.g. `serviceMonitorSelector.matchExpressions[0]`.
        field: String,
        /// What is wrong.
        message: String,
    },
}
