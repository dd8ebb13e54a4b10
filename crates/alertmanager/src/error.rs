//! Errors of the Alertmanager crate: configuration, silences, the notification log, storage.

use std::path::PathBuf;

/// Why an `alertmanager.yml` could not be loaded; `Display` gives Alertmanager's text
/// (what `amtool check-config` prints after `FAILED:`).
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("open {}: {}", file.display(), config::error::go_io_text(source))]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// Not YAML.
    #[error("yaml: line {line}: {message}")]
    Syntax {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// YAML of the wrong shape (unknown field, wrong type).
    #[error("yaml: unmarshal errors:\n  line {line}: {message}")]
    Unmarshal {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A value Alertmanager refuses, in its words.
    #[error("{0}")]
    Invalid(String),
}

impl ConfigError {
    /// Converts the shared YAML decoder's error into Alertmanager's wording.
    #[must_use]
    pub fn from_yaml(e: config::ConfigError) -> Self {
        match e {
            config::ConfigError::Syntax { line, message, .. } => Self::Syntax { line, message },
            config::ConfigError::Unmarshal { line, message, .. } => {
                Self::Unmarshal { line, message }
            }
            config::ConfigError::Io { file, source } => Self::Io { file, source },
            other => Self::Invalid(other.message()),
        }
    }
}

/// Errors of the silence store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SilenceError {
    /// No silence has this id.
    #[error("silence not found")]
    NotFound,
    /// The silence is not valid (`silence invalid: ...`).
    #[error("silence invalid: {0}")]
    Invalid(String),
    /// The silence to expire is already expired.
    #[error("silence {0} already expired")]
    AlreadyExpired(String),
}

/// Errors reading or writing the state under `--storage.path`.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The file could not be read or written.
    #[error("{}: {source}", file.display())]
    Io {
        /// The file.
        file: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The snapshot does not decode.
    #[error("{}: corrupt snapshot: {message}", file.display())]
    Corrupt {
        /// The file.
        file: PathBuf,
        /// The decoder's error.
        message: String,
    },
}
