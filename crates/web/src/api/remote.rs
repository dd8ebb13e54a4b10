//! `/api/v1/write` and `/api/v1/read`: the remote write receiver's and remote read's routes
//! (Prometheus's `web/api/v1` wiring of `storage/remote/write_handler.go` and
//! `read_handler.go`); decoding, storing and selecting live in the `remote` crate.

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

/// The routes; `/write` answers 404 unless `WebState::remote_write` is set
/// (`--web.enable-remote-write-receiver`).
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/write", post(write).layer(DefaultBodyLimit::max(MAX_BODY)))
        .route("/read", post(read).layer(DefaultBodyLimit::max(MAX_BODY)))
}

/// `POST /api/v1/read`: always on, as in Prometheus; reads the queryable, adds the
/// configuration's external labels.
async fn read(State(state): State<Arc<WebState>>, body: Bytes) -> Response {
    let storage = state.queryable.clone();
    let external = state.external_labels.read().clone();
    let answer = tokio::task::spawn_blocking(move || {
        remote::handle_read(storage.as_ref(), &external, &body)
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
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(answer.content_type),
    );
    if let Some(enc) = answer.content_encoding {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(enc));
    }
    response
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
