//! Errors of the HTTP client: building one from its configuration, and preparing a request.

use thiserror::Error;

/// An error of the HTTP client.
#[derive(Debug, Error)]
pub enum HttpClientError {
    /// The client cannot be built from its configuration (TLS material, proxy, headers).
    #[error("{0}")]
    Config(String),
    /// A request could not be prepared: a credential file is unreadable, the OAuth 2.0 token
    /// endpoint failed, or a changed TLS file is invalid. Shown as Go shows `url.Error`.
    #[error("{method} {url:?}: {message}")]
    Request {
        /// Go's spelling of the method (`Get`, `Post`).
        method: String,
        /// The request URL.
        url: String,
        /// What failed.
        message: String,
    },
}
