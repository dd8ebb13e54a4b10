//! Errors of the notifier: configurations it cannot turn into Alertmanager clients.

/// Why a configuration could not be applied to the notifier.
#[derive(Debug, thiserror::Error)]
pub enum NotifierError {
    /// A credential, CA, certificate or key file could not be read.
    #[error("alertmanager set {set}: unable to read {what} file {path}: {source}")]
    ReadFile {
        /// The set (`config-<index>`).
        set: String,
        /// What the file holds (`CA`, `client certificate`...).
        what: &'static str,
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The HTTP client could not be built (bad certificate, bad proxy URL...).
    #[error("alertmanager set {set}: {message}")]
    Client {
        /// The set (`config-<index>`).
        set: String,
        /// What went wrong.
        message: String,
    },
    /// An API version other than v2 (Prometheus 3 refuses v1).
    #[error(
        "alertmanager set {set}: expected Alertmanager api version to be one of [v2] but got {version}"
    )]
    ApiVersion {
        /// The set (`config-<index>`).
        set: String,
        /// The configured version.
        version: String,
    },
}
