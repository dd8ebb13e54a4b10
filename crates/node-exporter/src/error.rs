//! Errors of the node exporter: a collector's failure names the file it could not read or
//! parse (node_exporter's `collector failed` log line), and start-up errors name the flag.

use std::path::{Path, PathBuf};

/// Why one collector's update failed. The scrape goes on; the collector reports
/// `node_scrape_collector_success 0` and the error is logged.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// A file or directory could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// A file was read but its content is not what the kernel writes.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What was wrong, and where.
        message: String,
    },
    /// The source of the collector is absent on this machine (node_exporter's `ErrNoData`):
    /// logged at debug level, still counted as a failure.
    #[error("no data: {0}")]
    NoData(String),
    /// Anything else, with context.
    #[error("{0}")]
    Other(String),
}

impl CollectorError {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A parse error in `path`.
    pub fn parse(path: &Path, message: impl Into<String>) -> Self {
        Self::Parse {
            path: path.to_path_buf(),
            message: message.into(),
        }
    }

    /// Whether the I/O error is "not found" (a source the kernel does not provide).
    #[must_use]
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// Errors at start-up: bad flags or an address that cannot be bound.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A flag was unknown or its value invalid.
    #[error("{0}")]
    Flag(String),
    /// A collector could not be built from its options.
    #[error("collector {collector}: {message}")]
    Collector {
        /// The collector's name.
        collector: String,
        /// Why.
        message: String,
    },
    /// The listener or server failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
