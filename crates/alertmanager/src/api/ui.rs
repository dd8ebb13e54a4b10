//! The Alertmanager's web UI (mirrors Alertmanager's `ui/web.go`): `/` answers the page,
//! `/static/...` its ES modules and stylesheet, embedded from `crates/alertmanager/ui/` (no
//! build step). Pages route by the URL fragment, and every asset and API call is relative.

use axum::Router;
use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

/// The UI's modules and stylesheet.
#[derive(RustEmbed)]
#[folder = "ui/static/"]
struct Assets;

const INDEX_HTML: &str = include_str!("../../ui/index.html");

/// `/` and `/static/{path}`.
pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(|| async { Html(INDEX_HTML) }))
        .route("/static/{*path}", get(asset))
}

async fn asset(Path(path): Path<String>) -> Response {
    if path.split('/').any(|seg| seg.is_empty() || seg == "..") {
        return StatusCode::NOT_FOUND.into_response();
    }
    let Some(file) = Assets::get(&path) else {
        return (StatusCode::NOT_FOUND, "404 page not found\n").into_response();
    };
    let mime = if path.ends_with(".mjs") || path.ends_with(".js") {
        "text/javascript; charset=utf-8".to_owned()
    } else {
        file.metadata.mimetype().to_owned()
    };
    (
        [
            (header::CONTENT_TYPE, mime),
            (header::CACHE_CONTROL, "no-cache".to_owned()),
        ],
        file.data.into_owned(),
    )
        .into_response()
}
