//! Evaluation errors, with Prometheus's texts and `errorType` classes.

use thiserror::Error;

use crate::error::ParseError;

/// An error running a query.
#[derive(Debug, Error)]
pub enum EvalError {
    /// The query does not parse (`bad_data`).
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// Invalid query parameters (`bad_data`), e.g. a zero step.
    #[error("{0}")]
    BadData(String),
    /// An execution error with Prometheus's text, e.g. `vector cannot contain metrics with
    /// the same labelset` (`execution`).
    #[error("{0}")]
    Execution(String),
    /// The query ran longer than the timeout (`timeout`).
    #[error("query timed out in {0}")]
    Timeout(&'static str),
    /// The query was canceled (`canceled`).
    #[error("query was canceled in {0}")]
    Canceled(&'static str),
    /// The query would hold more samples than allowed (`execution`).
    #[error("query processing would load too many samples into memory in {0}")]
    TooManySamples(&'static str),
    /// The query would hold more bytes than its memory budget (`--query.max-memory-bytes`)
    /// allows (`execution`).
    #[error(
        "query processing would use more than {0} bytes of memory (--query.max-memory-bytes) in query execution"
    )]
    TooMuchMemory(usize),
    /// Reading from storage failed (`internal`... Prometheus reports `execution`).
    #[error("{0}")]
    Storage(#[from] storage::StorageError),
}

impl EvalError {
    /// Prometheus's API `errorType` for this error.
    #[must_use]
    pub fn error_type(&self) -> &'static str {
        match self {
            EvalError::Parse(_) | EvalError::BadData(_) => "bad_data",
            EvalError::Execution(_)
            | EvalError::TooManySamples(_)
            | EvalError::TooMuchMemory(_)
            | EvalError::Storage(_) => "execution",
            EvalError::Timeout(_) => "timeout",
            EvalError::Canceled(_) => "canceled",
        }
    }

    /// An execution error with `msg`.
    pub fn exec(msg: impl Into<String>) -> Self {
        EvalError::Execution(msg.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_and_types() {
        let e = EvalError::TooManySamples("query execution");
        assert_eq!(
            e.to_string(),
            "query processing would load too many samples into memory in query execution"
        );
        assert_eq!(e.error_type(), "execution");
        assert_eq!(
            EvalError::Timeout("expression evaluation").to_string(),
            "query timed out in expression evaluation"
        );
        assert_eq!(EvalError::Canceled("x").error_type(), "canceled");
    }
}
