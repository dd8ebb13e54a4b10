//! Errors crossing the storage boundary.

use thiserror::Error;

use model::Timestamp;

/// An error appending to or reading from storage.
#[derive(Debug, Error)]
pub enum StorageError {
    /// The sample is older than the newest one of its series (and outside any out-of-order
    /// window).
    #[error("out of order sample")]
    OutOfOrderSample,
    /// The sample is older than what the head still accepts.
    #[error("out of bounds")]
    OutOfBounds,
    /// Same timestamp as the newest sample of the series, with another value.
    #[error("duplicate sample for timestamp")]
    DuplicateSampleForTimestamp,
    /// Labels are empty, unsorted or contain duplicate names.
    #[error("invalid labels {labels}: {reason}")]
    InvalidLabels {
        /// The labels as given.
        labels: String,
        /// What is wrong with them.
        reason: String,
    },
    /// A sample timestamp outside what a querier or appender can serve.
    #[error("timestamp {0} out of range")]
    TimestampOutOfRange(Timestamp),
    /// Data on disk is not what the format says it must be.
    #[error("corruption in {file}: {reason}")]
    Corruption {
        /// The file (or block) that is corrupt.
        file: String,
        /// What was found.
        reason: String,
    },
    /// An I/O failure, with what was being done.
    #[error("{context}: {source}")]
    Io {
        /// What was being done (`writing WAL segment 00000012`).
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The storage has been closed.
    #[error("storage closed")]
    Closed,
    /// Anything else, with its message.
    #[error("{0}")]
    Other(String),
}

impl StorageError {
    /// Wraps an I/O error with what was being done.
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io {
            context: context.into(),
            source,
        }
    }
}
