//! `/api/v1/write`: the remote write receiver's route (Prometheus's `web/api/v1` wiring of
//! `storage/remote/write_handler.go`); decoding and storing live in the `remote` crate.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::WebState;

/// Largest request body accepted (Prometheus's decode limit, 32 MiB).
const MAX_BODY: usize = 32 << 20;

/// The route; answers 404 unless `WebState::remote_write` is set
/// (`--web.enable-remote-write-receiver`).
pub fn routes() -> Router<Arc<WebState>> {
    Router::new().route("/write", post(write).layer(DefaultBodyLimit::max(MAX_BODY)))
}

async fn write(State(state): State<Arc<WebState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(storage) = state.remote_write.clone() else {
        return (
            StatusCode::NOT_FOUND,
            "remote write receiver needs to be enabled with --web.enable-remote-write-receiver\n",
        )
            .into_response();
    };
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let content_type = text(header::CONTENT_TYPE);
    let content_encoding = text(header::CONTENT_ENCODING);
    let answer = tokio::task::spawn_blocking(move || {
        remote::handle_write(
            storage.as_ref(),
            content_type.as_deref(),
            content_encoding.as_deref(),
            &body,
        )
    })
    .await;
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            return (StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")).into_response();
        }
    };
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, answer.body).into_response();
    for (name, value) in answer.headers {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(n, v);
        }
    }
    response
}
