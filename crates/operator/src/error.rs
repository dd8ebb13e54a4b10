//! The operator crate's errors.

/// What can go wrong reading the Operator's resources.
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
    /// A Secret or ConfigMap value a monitor references cannot be read.
    #[error("{kind} \"{object}\": key \"{key}\": {message}")]
    Asset {
        /// `secret` or `configmap`.
        kind: &'static str,
        /// `<namespace>/<name>`.
        object: String,
        /// The key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// An object the Operator would reject (`probe shop/web: ...`).
    #[error("{0}")]
    Invalid(String),
    /// No API client could be made from the section's connection settings.
    #[error("kubernetes_operator: {0}")]
    Client(#[source] discovery::DiscoveryError),
}
