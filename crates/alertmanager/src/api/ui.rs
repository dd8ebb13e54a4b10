//! The Alertmanager's web UI (mirrors Alertmanager's `ui/web.go`): `/` answers the page,
//! `/static/...` its ES modules and stylesheet, embedded from `crates/alertmanager/ui/` (no
//! build step). Pages route by the URL fragment, and every asset and API call is relative.
//! The page carries the server UI's strict Content-Security-Policy
//! ([`web::ui::CONTENT_SECURITY_POLICY`]: no inline script or style, nothing from another
//! site); the UI builds its DOM from text nodes, so it needs nothing more. A
//! `Content-Security-Policy` in the web config file replaces it.

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
        .route("/", get(index))
        .route("/static/{*path}", get(asset))
}

async fn index() -> Response {
    (
        [
            (
                header::CONTENT_SECURITY_POLICY,
                web::ui::CONTENT_SECURITY_POLICY,
            ),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Html(INDEX_HTML),
    )
        .into_response()
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
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        file.data.into_owned(),
    )
        .into_response()
}
