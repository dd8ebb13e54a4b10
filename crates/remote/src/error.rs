//! Errors of the remote storage protocols.

use thiserror::Error;

/// Why a remote write or read request was refused.
#[derive(Debug, Error)]
pub enum RemoteError {
    /// The `Content-Type` or `Content-Encoding` names a format this server does not speak
    /// (HTTP 415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is not valid snappy (block format).
    #[error("snappy decode error: {0}")]
    Snappy(#[from] snap::Error),
    /// The decompressed body is not the protobuf message the content type announces.
    #[error("decoding {message}: {source}")]
    Protobuf {
        /// The message expected.
        message: &'static str,
        /// prost's reason.
        source: prost::DecodeError,
    },
    /// The message decoded but its content is invalid (series index, field, reason).
    #[error("{0}")]
    Invalid(String),
    /// The storage refused a sample of series `series`.
    #[error("series {series}: {source}")]
    Storage {
        /// The series' labels.
        series: String,
        /// The storage's reason.
        source: storage::StorageError,
    },
}
