//! The web UI: the single-page app's HTML for every page path and its static assets.
//!
//! The assets live in `crates/web/ui/static/` (plain ES modules, CSS and the vendored uPlot: no
//! build step) and `crates/web/ui/index.html`; both are embedded in the binary. Every page path
//! answers the same `index.html`, into which the server writes the path prefix the browser sees
//! (`<base href>`), so that every asset, API call and link is relative to it and the UI works
//! under `--web.route-prefix` and behind a proxy that serves it under `--web.external-url`'s path.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rust_embed::RustEmbed;

use crate::WebState;

/// The UI's static files, embedded from `crates/web/ui/static/` and served under `/static/`.
#[derive(RustEmbed)]
#[folder = "ui/static/"]
struct Assets;

/// The app's page, with [`BASE_MARKER`] where the base path goes.
const INDEX_HTML: &str = include_str!("../ui/index.html");

/// The page paths the app answers; the app routes between them in the browser.
pub const PAGES: &[&str] = &[
    "/query",
    "/graph",
    "/targets",
    "/service-discovery",
    "/alerts",
    "/rules",
    "/config",
    "/flags",
    "/status",
    "/tsdb-status",
];

/// The page `/` redirects to.
pub const HOME: &str = "query";

/// Placeholder in `index.html` replaced by the base path (always ends with `/`).
const BASE_MARKER: &str = "__FIREWATCH_BASE__";

/// Where the UI reads the PromQL functions it completes (see [`functions`]).
pub const FUNCTIONS_PATH: &str = "/ui/functions.json";

/// Routes of the UI: `/`, the page paths, `/static/...` and [`FUNCTIONS_PATH`].
pub fn routes() -> Router<Arc<WebState>> {
    let mut router = Router::new()
        .route("/", get(home))
        .route("/static/{*path}", get(asset))
        .route(FUNCTIONS_PATH, get(functions));
    for page in PAGES {
        router = router.route(page, get(index));
    }
    router
}

/// The path under which the browser reaches the server, with a trailing slash: the external
/// URL's path when it has one (it differs from the route prefix only behind a proxy that strips
/// it), else the route prefix (an external URL derived from the listen address has none).
pub fn base_path(state: &WebState) -> String {
    let from_url = url::Url::parse(&state.options.external_url)
        .ok()
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .filter(|p| !p.is_empty());
    let path = from_url.unwrap_or_else(|| state.options.route_prefix.clone());
    let trimmed = path.trim_end_matches('/');
    if trimmed.starts_with('/') || trimmed.is_empty() {
        format!("{trimmed}/")
    } else {
        format!("/{trimmed}/")
    }
}

/// `/` answers 302 Found to the query page, as Prometheus redirects to its home page.
async fn home(State(state): State<Arc<WebState>>) -> Response {
    let location = format!("{}{HOME}", base_path(&state));
    match HeaderValue::from_str(&location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "bad external URL\n").into_response(),
    }
}

/// The page's Content-Security-Policy: scripts, styles, images and API calls only from this
/// server, no inline script or style, no plugins, no other site framing the page. The UI builds
/// the DOM from text nodes and sets styles through the CSSOM, so it needs nothing more; a
/// label value that smuggled markup in could not run even if it were parsed. A
/// `Content-Security-Policy` from the web config file replaces it.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'";

async fn index(State(state): State<Arc<WebState>>) -> Response {
    let body = INDEX_HTML.replace(BASE_MARKER, &escape_attr(&base_path(&state)));
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The PromQL functions the engine implements, from its table (`promql::functions`), for the
/// editor's completion: `[{"name", "signature", "args", "returns", "experimental"}]` sorted
/// by name, the types by their documented names (`instant vector`, `range vector`...).
async fn functions() -> Response {
    let list: Vec<serde_json::Value> = promql::functions::FUNCTIONS
        .iter()
        .map(|f| {
            serde_json::json!({
                "name": f.name,
                "signature": f.signature(),
                "args": f.arg_types.iter().map(|t| t.documented()).collect::<Vec<_>>(),
                "returns": f.return_type.documented(),
                "experimental": f.experimental,
            })
        })
        .collect();
    ([(header::CACHE_CONTROL, "no-cache")], axum::Json(list)).into_response()
}

async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    if path.split('/').any(|seg| seg.is_empty() || seg == "..") {
        return not_found();
    }
    let Some(file) = Assets::get(&path) else {
        return not_found();
    };
    // Weak: the compression layer may send the same content gzip-encoded.
    let etag = format!("W/\"{}\"", hex(&file.metadata.sha256_hash()[..12]));
    let cache = if path.starts_with("vendor/") {
        // Vendored libraries change only with a new Firewatch; a day is safe with revalidation.
        "public, max-age=86400, must-revalidate"
    } else {
        "no-cache"
    };
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|t| {
                let t = t.trim();
                t == "*" || t.trim_start_matches("W/") == etag.trim_start_matches("W/")
            })
        });
    let mut response = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let mut r = file.data.into_owned().into_response();
        if let Ok(v) = HeaderValue::from_str(content_type(&path, file.metadata.mimetype())) {
            r.headers_mut().insert(header::CONTENT_TYPE, v);
        }
        r
    };
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "404 page not found\n",
    )
        .into_response()
}

/// The content type of an asset: explicit for the types the UI uses, else the guessed one.
fn content_type<'a>(path: &str, guessed: &'a str) -> &'a str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("html") => "text/html; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("json") => "application/json",
        Some("txt") | None => "text/plain; charset=utf-8",
        _ => guessed,
    }
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Escapes a value for a double-quoted HTML attribute.
fn escape_attr(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            _ => out.push(c),
        }
    }
    out
}
