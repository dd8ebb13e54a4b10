//! Errors of the web layer's setup: the web configuration file and serving.

use std::path::{Path, PathBuf};

/// A web configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WebConfigError {
    /// The file cannot be read.
    #[error("reading web config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid YAML or has unknown fields.
    #[error("parsing web config file {}: yaml: {message}", path.display())]
    Yaml {
        /// The file (empty when parsed from text).
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A setting is invalid; the text is exporter-toolkit's.
    #[error("{0}")]
    Invalid(String),
    /// A setting of the named file is invalid.
    #[error("web config file {}: {message}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

impl WebConfigError {
    /// The same error, naming `path`.
    #[must_use]
    pub fn in_file(self, path: &Path) -> Self {
        match self {
            WebConfigError::Yaml { message, .. } => WebConfigError::Yaml {
                path: path.to_path_buf(),
                message,
            },
            WebConfigError::Invalid(message) => WebConfigError::InFile {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        }
    }
}
