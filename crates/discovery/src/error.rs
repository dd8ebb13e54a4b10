//! Errors of the discovery crate: each variant names the file, URL, name or object at fault.

use std::path::PathBuf;

use thiserror::Error;

/// An error while discovering targets or building a discoverer.
#[derive(Debug, Error)]
pub enum DiscoveryError {
    /// A target group file could not be read.
    #[error("error reading file {path:?}: {source}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A target group file (or HTTP SD body) does not hold a valid list of target groups.
    #[error("error parsing {origin}: {message}")]
    Parse {
        /// The file path or URL.
        origin: String,
        /// What is wrong.
        message: String,
    },
    /// A file name has an extension file SD does not read.
    #[error("path name {0:?} is not valid for file discovery")]
    InvalidFileName(String),
    /// A glob pattern is malformed.
    #[error("error expanding glob {pattern:?}: {message}")]
    Glob {
        /// The pattern.
        pattern: String,
        /// What is wrong.
        message: String,
    },
    /// An HTTP request failed.
    #[error("error fetching {url}: {message}")]
    Http {
        /// The URL.
        url: String,
        /// What happened (transport error, status, content type).
        message: String,
    },
    /// A DNS lookup failed.
    #[error("could not resolve {name:?}: {message}")]
    Dns {
        /// The name looked up.
        name: String,
        /// What the resolver said.
        message: String,
    },
    /// The configuration of a discoverer is invalid.
    #[error("invalid {mechanism} SD configuration: {message}")]
    Config {
        /// `file`, `http`, `dns`, `kubernetes`...
        mechanism: &'static str,
        /// What is wrong.
        message: String,
    },
    /// The Kubernetes client could not be set up.
    #[error("kubernetes client for {origin}: {message}")]
    Kubernetes {
        /// Where the configuration came from (in-cluster, kubeconfig path, API server URL).
        origin: String,
        /// What failed.
        message: String,
    },
    /// The in-cluster configuration of Kubernetes SD is unusable: not running in a pod, or a
    /// service-account file (token, namespace) unreadable. The text is client-go's or
    /// Prometheus's.
    #[error("{message}")]
    InCluster {
        /// The service-account file at fault, if a file is.
        path: Option<PathBuf>,
        /// What is wrong, with the path in Go's words (`open PATH: no such file or directory`).
        message: String,
    },
}

impl DiscoveryError {
    /// An invalid configuration of `mechanism`, with the `config` crate's (Prometheus's) text.
    pub(crate) fn config(mechanism: &'static str, message: impl std::fmt::Display) -> Self {
        Self::Config {
            mechanism,
            message: message.to_string(),
        }
    }
}
