//! Errors of the TSDB: decoding on-disk formats, I/O with the file involved, and corruption.

use std::path::PathBuf;

use storage::StorageError;
use thiserror::Error;

/// Why a byte sequence could not be decoded (no file context; see [`TsdbError::Corruption`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// Fewer bytes were left than the field needs.
    #[error("invalid size: need {need} bytes, {have} left")]
    InvalidSize {
        /// Bytes the field needs.
        need: usize,
        /// Bytes left in the buffer.
        have: usize,
    },
    /// A varint is longer than 10 bytes or overflows 64 bits.
    #[error("invalid varint")]
    InvalidVarint,
    /// A string field is not valid UTF-8.
    #[error("invalid UTF-8 string")]
    InvalidUtf8,
    /// A checksum did not match.
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum {
        /// The CRC32C found in the data.
        stored: u32,
        /// The CRC32C of the bytes it covers.
        computed: u32,
    },
    /// Anything else the format forbids.
    #[error("{0}")]
    Invalid(String),
}

/// An error of the TSDB's formats and files.
#[derive(Debug, Error)]
pub enum TsdbError {
    /// An I/O failure on a file.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`open`, `write`, `mmap`...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file's content does not follow its format.
    #[error("corruption in {file}: {reason}")]
    Corruption {
        /// The file (with the offset or series when known).
        file: String,
        /// What was found.
        reason: String,
    },
    /// A chunk could not be appended to or decoded.
    #[error("chunk: {0}")]
    Chunk(String),
    /// A reference (series, chunk) points nowhere.
    #[error("{kind} reference {reference} not found")]
    NotFound {
        /// `series`, `chunk`, `symbol`...
        kind: &'static str,
        /// The reference.
        reference: u64,
    },
    /// A named thing (a block) does not exist.
    #[error("{kind} {name} not found")]
    NotFoundName {
        /// `block`...
        kind: &'static str,
        /// Its name.
        name: String,
    },
    /// Writing out of order (series not sorted, symbols not sorted, ...).
    #[error("out of order: {0}")]
    OutOfOrder(String),
    /// A WAL segment is damaged at `offset` (where the broken record starts); everything
    /// before it is good. [`crate::wal::repair`] truncates the log there.
    #[error("WAL corruption in segment {segment:08} ({path}) at offset {offset}: {reason}")]
    WalCorruption {
        /// The segment file.
        path: PathBuf,
        /// Its index.
        segment: u32,
        /// Offset of the first byte of the broken record.
        offset: u64,
        /// What was found.
        reason: String,
    },
    /// A head chunk file is corrupt; it and the later files can be deleted.
    #[error("corruption in head chunk file {}/{seq:06}: {reason}", dir.display())]
    HeadChunkCorruption {
        /// The `chunks_head` directory.
        dir: PathBuf,
        /// Sequence number of the corrupt file.
        seq: u32,
        /// What was found.
        reason: String,
    },
    /// JSON (de)serialisation of `meta.json`.
    #[error("meta.json {path}: {source}")]
    Meta {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
}

impl TsdbError {
    /// An I/O error on `path` while doing `op`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            op,
            path: path.into(),
            source,
        }
    }

    /// A corruption of `file`.
    pub fn corruption(file: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Corruption {
            file: file.into(),
            reason: reason.into(),
        }
    }
}

impl From<TsdbError> for StorageError {
    fn from(e: TsdbError) -> Self {
        match e {
            TsdbError::Io { op, path, source } => {
                StorageError::io(format!("{op} {}", path.display()), source)
            }
            TsdbError::Corruption { file, reason } => StorageError::Corruption { file, reason },
            TsdbError::HeadChunkCorruption { dir, seq, reason } => StorageError::Corruption {
                file: format!("{}/{seq:06}", dir.display()),
                reason,
            },
            other => StorageError::Other(other.to_string()),
        }
    }
}

/// Result with [`TsdbError`].
pub type Result<T, E = TsdbError> = std::result::Result<T, E>;
