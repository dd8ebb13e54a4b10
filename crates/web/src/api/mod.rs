//! The Prometheus HTTP API v1.

pub mod envelope;
pub mod json;
pub mod meta;
pub mod params;
pub mod query;
pub mod status;
pub mod targets;

use std::sync::Arc;

use axum::Router;

use crate::WebState;

pub use envelope::{ApiError, ApiResult, ErrorType, Success};

/// Routes under `/api/v1`.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .merge(query::routes())
        .merge(meta::routes())
        .merge(status::routes())
        .merge(targets::routes())
}
