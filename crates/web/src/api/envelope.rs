//! The JSON envelope of every API v1 answer, and the mapping of errors to Prometheus's
//! `errorType` values and HTTP status codes.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// Prometheus's error classes, as sent in `errorType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    /// The request was malformed (400).
    BadData,
    /// The query failed during evaluation (422).
    Execution,
    /// The query took too long (503).
    Timeout,
    /// The query was canceled (503).
    Canceled,
    /// Something broke on the server side (500).
    Internal,
    /// The resource does not exist (404).
    NotFound,
    /// The feature is disabled, e.g. the admin API (503).
    Unavailable,
}

impl ErrorType {
    /// The `errorType` string.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::BadData => "bad_data",
            ErrorType::Execution => "execution",
            ErrorType::Timeout => "timeout",
            ErrorType::Canceled => "canceled",
            ErrorType::Internal => "internal",
            ErrorType::NotFound => "not_found",
            ErrorType::Unavailable => "unavailable",
        }
    }

    /// The HTTP status Prometheus answers with.
    #[must_use]
    pub fn status(self) -> StatusCode {
        match self {
            ErrorType::BadData => StatusCode::BAD_REQUEST,
            ErrorType::Execution => StatusCode::UNPROCESSABLE_ENTITY,
            ErrorType::Timeout | ErrorType::Canceled | ErrorType::Unavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            ErrorType::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::NotFound => StatusCode::NOT_FOUND,
        }
    }
}

/// An API error: its class and message.
#[derive(Debug, Clone)]
pub struct ApiError {
    /// The class.
    pub kind: ErrorType,
    /// The message, as Prometheus words it.
    pub message: String,
}

impl ApiError {
    /// A `bad_data` error.
    pub fn bad_data(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorType::BadData,
            message: message.into(),
        }
    }

    /// An `invalid parameter "NAME": REASON` bad_data error.
    pub fn bad_param(name: &str, reason: &str) -> Self {
        Self::bad_data(format!("invalid parameter {name:?}: {reason}"))
    }

    /// An `internal` error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self {
            kind: ErrorType::Internal,
            message: message.into(),
        }
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    status: &'static str,
    #[serde(rename = "errorType")]
    error_type: &'static str,
    error: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            status: "error",
            error_type: self.kind.as_str(),
            error: &self.message,
        };
        (self.kind.status(), axum::Json(body)).into_response()
    }
}

/// A successful answer: `{"status":"success","data":...,"warnings":[...],"infos":[...]}`.
#[derive(Serialize)]
pub struct Success<T: Serialize> {
    status: &'static str,
    data: T,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    warnings: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    infos: Vec<String>,
}

impl<T: Serialize> Success<T> {
    /// Wraps `data`.
    pub fn new(data: T) -> Self {
        Self {
            status: "success",
            data,
            warnings: Vec::new(),
            infos: Vec::new(),
        }
    }

    /// Adds warnings and infos.
    #[must_use]
    pub fn with_annotations(mut self, warnings: Vec<String>, infos: Vec<String>) -> Self {
        self.warnings = warnings;
        self.infos = infos;
        self
    }
}

impl<T: Serialize> IntoResponse for Success<T> {
    fn into_response(self) -> Response {
        axum::Json(self).into_response()
    }
}

/// The result of an API handler.
pub type ApiResult<T> = Result<Success<T>, ApiError>;
