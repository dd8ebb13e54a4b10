//! Errors of a scrape.

use thiserror::Error;

/// Why a scrape failed; the text shows as the target's `lastError`.
#[derive(Debug, Error)]
pub enum ScrapeError {
    /// The HTTP request failed (connection refused, timeout, TLS...).
    #[error("{0}")]
    Http(String),
    /// The target answered with a status other than 200.
    #[error("server returned HTTP status {0}")]
    Status(String),
    /// The body exceeded `body_size_limit`.
    #[error("body size limit exceeded")]
    BodySizeLimit,
    /// The exposition does not parse.
    #[error("{0}")]
    Parse(#[from] model::exposition::ParseError),
    /// The protobuf exposition does not decode.
    #[error("{0}")]
    Protobuf(#[from] model::exposition::ProtobufError),
    /// More samples than `sample_limit` after metric relabeling.
    #[error("sample limit exceeded")]
    SampleLimit,
    /// A label set broke `label_limit` or the name/value length limits.
    #[error("{0}")]
    LabelLimit(String),
    /// Storage refused the batch.
    #[error("{0}")]
    Storage(#[from] storage::StorageError),
    /// The target's configuration is unusable (bad URL, unreadable credential file).
    #[error("{0}")]
    Config(String),
}
