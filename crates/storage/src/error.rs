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
    /// The sample is older than the out-of-order window allows.
    #[error("too old sample")]
    TooOldSample,
    /// The exemplar is not newer than the newest exemplar of its series.
    #[error("out of order exemplar")]
    OutOfOrderExemplar,
    /// The exemplar repeats the newest exemplar of its series.
    #[error("duplicate exemplar")]
    DuplicateExemplar,
    /// The exemplar's labels hold too many characters.
    #[error(
        "label length for exemplar exceeds maximum of {} UTF-8 characters",
        crate::exemplar::EXEMPLAR_MAX_LABEL_SET_LENGTH
    )]
    ExemplarLabelLength,
    /// Exemplar storage is off.
    #[error("exemplar storage is disabled or max exemplars is less than or equal to 0")]
    ExemplarsDisabled,
    /// A reference that names no series of this storage.
    #[error("unknown series reference {0}")]
    UnknownSeriesRef(u64),
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
