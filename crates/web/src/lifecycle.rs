//! Lifecycle endpoints: `/-/healthy`, `/-/ready`, `/-/reload`, `/-/quit`.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::any;

use crate::WebState;

/// Routes of the lifecycle endpoints.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/-/healthy", any(healthy))
        .route("/-/ready", any(ready))
        .route("/-/reload", any(reload))
        .route("/-/quit", any(quit))
}

async fn healthy() -> &'static str {
    "Firewatch Server is Healthy.\n"
}

async fn ready(State(state): State<Arc<WebState>>) -> (StatusCode, &'static str) {
    if state.ready.load(Ordering::Acquire) {
        (StatusCode::OK, "Firewatch Server is Ready.\n")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable")
    }
}

async fn reload(
    State(state): State<Arc<WebState>>,
    method: axum::http::Method,
) -> (StatusCode, String) {
    if !state.options.enable_lifecycle {
        return (
            StatusCode::FORBIDDEN,
            "Lifecycle API is not enabled.".to_owned(),
        );
    }
    if method != axum::http::Method::POST && method != axum::http::Method::PUT {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            "Only POST or PUT requests allowed".to_owned(),
        );
    }
    match state.hooks.reload().await {
        Ok(()) => (StatusCode::OK, String::new()),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}\n"),
        ),
    }
}

async fn quit(
    State(state): State<Arc<WebState>>,
    method: axum::http::Method,
) -> (StatusCode, String) {
    if !state.options.enable_lifecycle {
        return (
            StatusCode::FORBIDDEN,
            "Lifecycle API is not enabled.".to_owned(),
        );
    }
    if method != axum::http::Method::POST && method != axum::http::Method::PUT {
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            "Only POST or PUT requests allowed".to_owned(),
        );
    }
    state.hooks.quit();
    (
        StatusCode::OK,
        "Requesting termination... Goodbye!".to_owned(),
    )
}
