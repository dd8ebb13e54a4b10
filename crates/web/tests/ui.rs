//! The web UI as the router serves it: every page path answers the app, the assets it references
//! exist with their content types and cache headers, unknown assets are 404, and the path prefix
//! the browser sees is written into the page. Also runs the UI's JavaScript unit tests with node.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt;
use tower::ServiceExt;

use firewatch_web::{self as web, LifecycleHooks, WebOptions, WebState};
use promql::{Engine, EngineOptions};
use storage::memory::MemoryStorage;

struct NoHooks;

impl LifecycleHooks for NoHooks {
    fn reload(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>> {
        Box::pin(async { Err("reload refused in test".to_owned()) })
    }
    fn quit(&self) {}
}

fn app(options: WebOptions) -> axum::Router {
    let mut state = WebState::new(
        Arc::new(MemoryStorage::new()),
        Arc::new(Engine::new(EngineOptions::default())),
        Arc::new(NoHooks),
    );
    state.options = options;
    web::router(Arc::new(state))
}

struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

async fn send(app: axum::Router, req: Request<Body>) -> Reply {
    let resp = app.oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.unwrap().to_bytes();
    Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

async fn get_with(options: WebOptions, uri: &str) -> Reply {
    send(app(options), Request::get(uri).body(Body::empty()).unwrap()).await
}

async fn get(uri: &str) -> Reply {
    get_with(WebOptions::default(), uri).await
}

fn content_type(r: &Reply) -> &str {
    r.headers
        .get(header::CONTENT_TYPE)
        .map_or("", |v| v.to_str().unwrap())
}

const PAGES: &[&str] = &[
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

#[tokio::test]
async fn every_page_answers_the_app() {
    assert_eq!(PAGES, web::ui::PAGES, "the test covers every page");
    for page in PAGES {
        let r = get(page).await;
        assert_eq!(r.status, StatusCode::OK, "{page}");
        assert_eq!(content_type(&r), "text/html; charset=utf-8", "{page}");
        assert!(r.body.starts_with("<!doctype html>"), "{page}");
        assert!(r.body.contains(r#"<base href="/">"#), "{page}: {}", r.body);
        assert!(
            r.body
                .contains(r#"<script type="module" src="static/js/app.js">"#),
            "{page}"
        );
        assert!(!r.body.contains("__FIREWATCH"), "{page}: placeholder left");
    }
}

#[tokio::test]
async fn root_redirects_to_the_query_page() {
    let r = get("/").await;
    assert_eq!(r.status, StatusCode::FOUND);
    assert_eq!(r.headers[header::LOCATION], "/query");
}

/// The `href`/`src` values starting with `static/` in a page.
fn static_refs(html: &str) -> Vec<String> {
    let mut refs = Vec::new();
    for attr in ["href=\"", "src=\""] {
        for part in html.split(attr).skip(1) {
            let value = part.split('"').next().unwrap();
            if value.starts_with("static/") {
                refs.push(value.to_owned());
            }
        }
    }
    refs
}

/// The relative module specifiers a JavaScript file imports (`from './x.js'`, `import('./y.js')`).
fn js_imports(js: &str) -> Vec<String> {
    let mut out = Vec::new();
    for sep in ["from '", "import('", "from \"", "import(\""] {
        for part in js.split(sep).skip(1) {
            let spec: String = part
                .chars()
                .take_while(|c| *c != '\'' && *c != '"')
                .collect();
            if spec.starts_with("./") || spec.starts_with("../") {
                out.push(spec);
            }
        }
    }
    out
}

/// Resolves a relative specifier against the URL path of the module that imports it.
fn resolve(base: &str, spec: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').collect();
    parts.pop();
    for seg in spec.split('/') {
        match seg {
            "." => {}
            ".." => {
                parts.pop();
            }
            s => parts.push(s),
        }
    }
    parts.join("/")
}

#[tokio::test]
async fn every_referenced_asset_and_module_is_served_with_its_type() {
    let page = get("/query").await;
    let refs = static_refs(&page.body);
    assert!(refs.len() >= 4, "{refs:?}");
    let mut queue: Vec<String> = refs.iter().map(|r| format!("/{r}")).collect();
    let mut seen = std::collections::BTreeSet::new();
    while let Some(path) = queue.pop() {
        if !seen.insert(path.clone()) {
            continue;
        }
        let r = get(&path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}");
        let expected = match path.rsplit_once('.').unwrap().1 {
            "js" => "text/javascript; charset=utf-8",
            "css" => "text/css; charset=utf-8",
            "svg" => "image/svg+xml",
            other => panic!("unexpected asset type {other} ({path})"),
        };
        assert_eq!(content_type(&r), expected, "{path}");
        assert_eq!(r.headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
        if path.ends_with(".js") {
            for spec in js_imports(&r.body) {
                queue.push(resolve(&path, &spec));
            }
        }
    }
    assert!(seen.len() > refs.len(), "modules import modules: {seen:?}");
    assert!(seen.contains("/static/js/lib/complete.js"), "{seen:?}");
}

#[tokio::test]
async fn vendored_uplot_is_served_with_its_license() {
    let js = get("/static/vendor/uplot/uPlot.iife.min.js").await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.body.starts_with("/*! https://github.com/leeoniya/uPlot"));
    assert_eq!(
        js.headers[header::CACHE_CONTROL],
        "public, max-age=86400, must-revalidate"
    );
    let css = get("/static/vendor/uplot/uPlot.min.css").await;
    assert_eq!(content_type(&css), "text/css; charset=utf-8");
    let license = get("/static/vendor/uplot/LICENSE").await;
    assert_eq!(license.status, StatusCode::OK);
    assert!(license.body.contains("MIT"), "{}", license.body);
    assert_eq!(content_type(&license), "text/plain; charset=utf-8");
}

#[tokio::test]
async fn assets_revalidate_with_etags() {
    let first = get("/static/js/app.js").await;
    assert_eq!(first.headers[header::CACHE_CONTROL], "no-cache");
    let etag = first.headers[header::ETAG].to_str().unwrap().to_owned();
    assert!(etag.starts_with("W/\"") && etag.len() > 10, "{etag}");
    let again = send(
        app(WebOptions::default()),
        Request::get("/static/js/app.js")
            .header(header::IF_NONE_MATCH, &etag)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    assert!(again.body.is_empty());
    assert_eq!(again.headers[header::ETAG], etag.as_str());
    // Weak comparison: the strong form of the same tag matches too.
    let strong = send(
        app(WebOptions::default()),
        Request::get("/static/js/app.js")
            .header(header::IF_NONE_MATCH, format!("\"x\", {}", &etag[2..]))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(strong.status, StatusCode::NOT_MODIFIED);
    let other = get("/static/css/app.css").await;
    assert_ne!(other.headers[header::ETAG], etag.as_str());
    let stale = send(
        app(WebOptions::default()),
        Request::get("/static/js/app.js")
            .header(header::IF_NONE_MATCH, "\"stale\"")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(stale.status, StatusCode::OK);
    assert_eq!(stale.body, first.body);
}

#[tokio::test]
async fn unknown_assets_and_pages_are_404() {
    for path in [
        "/static/nope.js",
        "/static/js/nope.js",
        "/static/index.html",
        "/static/static/js/app.js",
        "/static/test/time.test.mjs",
        "/static/js//app.js",
        "/static/../Cargo.toml",
        "/static/js/../../Cargo.toml",
        "/static/%2e%2e/Cargo.toml",
        "/no-such-page",
        "/query/extra",
    ] {
        let r = get(path).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test]
async fn route_prefix_serves_the_ui_under_it() {
    let options = WebOptions {
        route_prefix: "/prom".to_owned(),
        ..WebOptions::default()
    };
    let page = get_with(options.clone(), "/prom/targets").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(r#"<base href="/prom/">"#),
        "{}",
        page.body
    );
    let asset = get_with(options.clone(), "/prom/static/js/app.js").await;
    assert_eq!(asset.status, StatusCode::OK);
    assert_eq!(content_type(&asset), "text/javascript; charset=utf-8");
    let home = get_with(options.clone(), "/prom").await;
    assert_eq!(home.status, StatusCode::FOUND);
    assert_eq!(home.headers[header::LOCATION], "/prom/query");
    for outside in ["/targets", "/static/js/app.js", "/prom/static/nope.js"] {
        let r = get_with(options.clone(), outside).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{outside}");
    }
}

#[tokio::test]
async fn external_url_path_is_what_the_browser_sees() {
    // Behind a proxy that strips /proxy: routes at the root, links under /proxy/.
    let options = WebOptions {
        external_url: "http://example.com:8080/proxy/".to_owned(),
        ..WebOptions::default()
    };
    let page = get_with(options.clone(), "/alerts").await;
    assert!(
        page.body.contains(r#"<base href="/proxy/">"#),
        "{}",
        page.body
    );
    assert_eq!(
        get_with(options, "/").await.headers[header::LOCATION],
        "/proxy/query"
    );
    // An external URL without a path (derived from the listen address) leaves the route
    // prefix as what the browser sees.
    let derived = WebOptions {
        external_url: "http://host:9090/".to_owned(),
        route_prefix: "/prom".to_owned(),
        ..WebOptions::default()
    };
    let page = get_with(derived.clone(), "/prom/rules").await;
    assert!(
        page.body.contains(r#"<base href="/prom/">"#),
        "{}",
        page.body
    );
    assert_eq!(
        get_with(derived, "/prom").await.headers[header::LOCATION],
        "/prom/query"
    );
    let root = WebOptions {
        external_url: "http://host:9090/".to_owned(),
        ..WebOptions::default()
    };
    assert!(
        get_with(root, "/rules")
            .await
            .body
            .contains(r#"<base href="/">"#)
    );
}

#[tokio::test]
async fn the_prefix_is_escaped_in_the_page() {
    let options = WebOptions {
        route_prefix: "/x&y'z".to_owned(),
        ..WebOptions::default()
    };
    let page = get_with(options, "/x&y'z/config").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(r#"<base href="/x&amp;y&#39;z/">"#),
        "{}",
        page.body
    );
}

/// The editor completes the functions the engine's table lists, served as JSON: every one of
/// them (the hand-kept copy the UI had missed 14), with signatures and flags, and the UI's
/// descriptions name no function the engine lacks.
#[tokio::test]
async fn the_function_list_is_the_engines() {
    let r = get(web::ui::FUNCTIONS_PATH).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        content_type(&r).starts_with("application/json"),
        "{}",
        content_type(&r)
    );
    let served: Vec<serde_json::Value> = serde_json::from_str(&r.body).unwrap();
    let names: Vec<&str> = served.iter().filter_map(|f| f["name"].as_str()).collect();
    let table: Vec<&str> = promql::functions::FUNCTIONS
        .iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, table);
    for name in [
        "histogram_quantiles",
        "info",
        "ts_of_max_over_time",
        "min_of",
        "start_timestamp",
    ] {
        assert!(names.contains(&name), "{name} missing");
    }
    let round = served.iter().find(|f| f["name"] == "round").unwrap();
    assert_eq!(round["signature"], "(instant vector, [scalar])");
    assert_eq!(
        round["args"],
        serde_json::json!(["instant vector", "scalar"])
    );
    assert_eq!(round["returns"], "instant vector");
    assert_eq!(round["experimental"], false);
    let info = served.iter().find(|f| f["name"] == "info").unwrap();
    assert_eq!(info["experimental"], true);
    // Under a route prefix, where the page's <base> points.
    let options = WebOptions {
        route_prefix: "/fw".to_owned(),
        ..WebOptions::default()
    };
    let r = get_with(options, &format!("/fw{}", web::ui::FUNCTIONS_PATH)).await;
    assert_eq!(r.status, StatusCode::OK);

    let js = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/ui/static/js/lib/promql.js"
    ))
    .unwrap();
    let docs = js
        .split_once("export const FUNCTION_DOCS = {")
        .and_then(|(_, rest)| rest.split_once("};"))
        .map(|(body, _)| body)
        .expect("FUNCTION_DOCS in promql.js");
    let described: Vec<&str> = docs
        .split(['\n', ','])
        .filter_map(|entry| entry.split_once(':'))
        .map(|(key, _)| key.trim())
        .filter(|key| !key.is_empty() && !key.starts_with("//") && !key.contains(' '))
        .collect();
    assert!(described.len() > 60, "{described:?}");
    for name in described {
        assert!(
            table.contains(&name),
            "promql.js describes {name}, which the engine lacks"
        );
    }
}

/// The UI's pure JavaScript modules (completion, time parsing, URLs, steps) under node's test
/// runner. Without node the test is reported as skipped (and `.ci/run` fails).
#[test]
fn javascript_unit_tests_pass_under_node() {
    if !testkit::peers("web::ui::javascript_unit_tests_pass_under_node", &["node"]) {
        return;
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/ui");
    let out = std::process::Command::new("node")
        .args(["--test", "test/"])
        .current_dir(dir)
        .output()
        .expect("node (20 or later) must be installed to run the UI's JavaScript tests");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "node --test failed:\n{stdout}\n{stderr}"
    );
    let passed: usize = stdout
        .lines()
        .find_map(|l| l.strip_prefix("# pass "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0);
    assert!(
        passed >= 20,
        "too few JavaScript tests ran ({passed}):\n{stdout}"
    );
    assert!(stdout.contains("# fail 0"), "{stdout}");
}
