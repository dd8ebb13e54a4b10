//! The Prometheus HTTP API v1.

pub mod admin;
pub mod agent;
pub mod blocking;
pub mod envelope;
pub mod json;
pub mod json_numbers;
pub mod meta;
pub mod metadata;
pub mod params;
pub mod query;
pub mod remote;
pub mod rule_views;
pub mod rules;
pub mod status;
pub mod targets;
pub mod tsdb_status;

use std::sync::Arc;

use axum::Router;

use crate::WebState;

pub use envelope::{ApiError, ApiResult, ErrorType, Success};
pub use rules::{
    AlertState, AlertView, AlertmanagerRetriever, RuleCommon, RuleGroupView, RuleHealth, RuleView,
    RulesRetriever,
};

/// Routes under `/api/v1`.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .merge(query::routes())
        .merge(meta::routes())
        .merge(status::routes())
        .merge(targets::routes())
        .merge(metadata::routes())
        .merge(rules::routes())
        .merge(tsdb_status::routes())
        .merge(admin::routes())
        .merge(remote::routes())
}
