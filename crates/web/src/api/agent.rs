//! Agent mode's guard on the API (mirrors the `wrapAgent` wrapper of Prometheus's
//! web/api/v1/api.go): the endpoints that read or change local storage, rules or the
//! notifier answer `422 execution: unavailable with Prometheus Agent`; status, targets,
//! metadata, remote write and read keep working.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::WebState;
use crate::api::{ApiError, ErrorType};

/// The error message Prometheus's agent answers with.
pub const AGENT_ERROR: &str = "unavailable with Prometheus Agent";

/// Whether Prometheus 2.42's agent refuses `method path` (a path under `/api/v1`).
#[must_use]
pub fn refused_in_agent_mode(method: &Method, path: &str) -> bool {
    let path = path.trim_end_matches('/');
    match path {
        "/query" | "/query_range" | "/query_exemplars" | "/labels" | "/series" => true,
        "/alertmanagers" | "/status/tsdb" | "/alerts" | "/rules" => *method == Method::GET,
        "/admin/tsdb/delete_series" | "/admin/tsdb/clean_tombstones" | "/admin/tsdb/snapshot" => {
            true
        }
        _ => {
            // `/label/:name/values`
            *method == Method::GET
                && path
                    .strip_prefix("/label/")
                    .and_then(|rest| rest.strip_suffix("/values"))
                    .is_some_and(|name| !name.is_empty() && !name.contains('/'))
        }
    }
}

/// Middleware for the `/api/v1` router: refuses agent-only-unavailable endpoints when
/// [`crate::WebOptions::agent`] is set, passes everything else on.
pub async fn guard(State(state): State<Arc<WebState>>, req: Request, next: Next) -> Response {
    if state.options.agent && refused_in_agent_mode(req.method(), req.uri().path()) {
        return ApiError {
            kind: ErrorType::Execution,
            message: AGENT_ERROR.to_owned(),
        }
        .into_response();
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_endpoints_are_prometheus_agents() {
        let cases = [
            (Method::GET, "/query", true),
            (Method::POST, "/query_range", true),
            (Method::POST, "/query_exemplars", true),
            (Method::GET, "/labels", true),
            (Method::GET, "/label/job/values", true),
            (Method::DELETE, "/series", true),
            (Method::GET, "/rules", true),
            (Method::GET, "/alerts", true),
            (Method::GET, "/alertmanagers", true),
            (Method::GET, "/status/tsdb", true),
            (Method::PUT, "/admin/tsdb/snapshot", true),
            (Method::GET, "/targets", false),
            (Method::GET, "/targets/metadata", false),
            (Method::GET, "/metadata", false),
            (Method::GET, "/status/config", false),
            (Method::GET, "/status/flags", false),
            (Method::GET, "/status/buildinfo", false),
            (Method::GET, "/status/runtimeinfo", false),
            (Method::GET, "/status/walreplay", false),
            (Method::POST, "/write", false),
            (Method::GET, "/label//values", false),
        ];
        for (method, path, refused) in cases {
            assert_eq!(
                refused_in_agent_mode(&method, path),
                refused,
                "{method} {path}"
            );
        }
    }
}
