//! Firewatch's HTTP surface: the Prometheus API v1, lifecycle endpoints and the web UI.
//!
//! [`router`] builds the whole axum application from a [`WebState`]; the binary serves it.

pub mod api;
pub mod lifecycle;
pub mod ui;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;

use promql::Engine;
use storage::QueryableRef;

/// What the server does when asked through the lifecycle endpoints.
pub trait LifecycleHooks: Send + Sync {
    /// Reloads the configuration; an error keeps the old one running.
    fn reload(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
    /// Starts a graceful shutdown.
    fn quit(&self);
}

/// Writes the server's own metrics in the text exposition format, for `/metrics`.
pub type MetricsWriter = Arc<dyn Fn(&mut String) + Send + Sync>;

/// Static options of the web layer.
#[derive(Debug, Clone, Default)]
pub struct WebOptions {
    /// `--web.enable-lifecycle`.
    pub enable_lifecycle: bool,
    /// `--web.enable-admin-api`.
    pub enable_admin_api: bool,
    /// The flags as given, for `/api/v1/status/flags`.
    pub flags: BTreeMap<String, String>,
    /// The time the server started, for `/api/v1/status/runtimeinfo`.
    pub start_time: String,
    /// The retention as configured, for `/api/v1/status/runtimeinfo`.
    pub storage_retention: String,
    /// `--web.external-url`: the URL users reach Firewatch under (generator URLs, UI links).
    pub external_url: String,
    /// `--web.route-prefix` without a trailing slash: "" serves at the root, "/prometheus"
    /// serves every endpoint under `/prometheus/...`.
    pub route_prefix: String,
}

/// Everything the handlers need.
pub struct WebState {
    /// Where queries read.
    pub queryable: QueryableRef,
    /// The PromQL engine.
    pub engine: Arc<Engine>,
    /// Static options.
    pub options: WebOptions,
    /// Whether the server finished starting (WAL replay...).
    pub ready: AtomicBool,
    /// Reload and quit.
    pub hooks: Arc<dyn LifecycleHooks>,
    /// The scrape manager, for `/api/v1/targets` (none when nothing is scraped).
    pub scrape: Option<Arc<scrape::Manager>>,
    /// The configuration as loaded, secrets redacted, for `/api/v1/status/config`.
    pub config_yaml: Arc<parking_lot::RwLock<String>>,
    /// The server's own metrics.
    pub metrics: Option<MetricsWriter>,
}

/// The whole HTTP application.
pub fn router(state: Arc<WebState>) -> Router {
    Router::new()
        .merge(lifecycle::routes())
        .route("/metrics", axum::routing::get(own_metrics))
        .nest("/api/v1", api::routes())
        .merge(ui::routes())
        .with_state(state)
}

async fn own_metrics(
    axum::extract::State(state): axum::extract::State<Arc<WebState>>,
) -> impl axum::response::IntoResponse {
    let mut out = String::new();
    if let Some(write) = &state.metrics {
        write(&mut out);
    }
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
}
