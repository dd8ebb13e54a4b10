//! The errors of the notifiers crate: template errors and notification errors (which say,
//! as Alertmanager's `notify.Retrier` does, whether sending again may help).

/// A template that does not parse or fails to execute.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A template text that does not parse.
    #[error("template: {name}: {message}")]
    Parse {
        /// File or template name.
        name: String,
        /// The parser's message.
        message: String,
    },
    /// An execution error (missing template, bad function argument...).
    #[error("{message}")]
    Exec {
        /// The executor's message.
        message: String,
    },
    /// A `templates:` glob that is not a valid pattern.
    #[error("invalid template glob {pattern:?}: {message}")]
    Glob {
        /// The pattern.
        pattern: String,
        /// Why.
        message: String,
    },
    /// A template file that cannot be read.
    #[error("open {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
}

/// A failed notification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NotifyError {
    /// Whether sending again may succeed (network errors, 5xx, 429).
    pub retry: bool,
    /// What happened, in Alertmanager's words where it has them.
    pub message: String,
}

impl NotifyError {
    /// An error that a retry may cure.
    #[must_use]
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            retry: true,
            message: message.into(),
        }
    }

    /// An error a retry cannot cure (bad request, bad template, bad configuration).
    #[must_use]
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            retry: false,
            message: message.into(),
        }
    }
}

impl From<TemplateError> for NotifyError {
    fn from(e: TemplateError) -> Self {
        Self::permanent(e.to_string())
    }
}

/// A configuration scalar that does not parse (URL, `host:port`, Go duration), with
/// Alertmanager's (Go's) texts, which the configuration conformance tests compare.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScalarError {
    /// Go's `url.Parse` failed.
    #[error("parse {url:?}: {message}")]
    Url {
        /// The URL as written.
        url: String,
        /// The parser's message.
        message: String,
    },
    /// A URL whose scheme is not http or https.
    #[error("unsupported scheme {scheme:?} for URL")]
    UnsupportedScheme {
        /// The scheme.
        scheme: String,
    },
    /// A URL without a host.
    #[error("missing host for URL")]
    MissingHost,
    /// A `host:port` that Go's `net.SplitHostPort` refuses (`missing port in address`...).
    #[error("address {address}: {reason}")]
    Address {
        /// The address as written.
        address: String,
        /// Go's reason.
        reason: &'static str,
    },
    /// A `host:` without a port.
    #[error("address {address:?}: port cannot be empty")]
    EmptyPort {
        /// The address as written.
        address: String,
    },
    /// Not a Go duration.
    #[error("time: invalid duration {text:?}")]
    InvalidDuration {
        /// The text.
        text: String,
    },
    /// A Go duration number without a unit.
    #[error("time: missing unit in duration {text:?}")]
    MissingUnit {
        /// The text.
        text: String,
    },
    /// A Go duration with an unknown unit.
    #[error("time: unknown unit {unit:?} in duration {text:?}")]
    UnknownUnit {
        /// The unit.
        unit: String,
        /// The text.
        text: String,
    },
}
