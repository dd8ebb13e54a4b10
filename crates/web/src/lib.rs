//! Firewatch's HTTP surface: the Prometheus API v1, lifecycle endpoints and the web UI.
//!
//! [`router`] builds the whole axum application from a [`WebState`]; the binary serves it.

pub mod api;
pub mod cert_reload;
pub mod client_auth;
pub mod cors;
pub mod error;
pub mod federate;
pub mod instrument;
pub mod lifecycle;
pub mod long_uri;
pub mod serve;
pub mod sources;
pub mod ui;
pub mod webconfig;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;

use promql::Engine;
use storage::QueryableRef;

pub use api::rules::{
    AlertmanagerRetriever, AlertmanagerRetrieverRef, RulesRetriever, RulesRetrieverRef,
};
pub use sources::{TargetRetriever, TargetRetrieverRef, TsdbAdminStats, TsdbAdminStatsRef};

/// What the server does when asked through the lifecycle endpoints.
pub trait LifecycleHooks: Send + Sync {
    /// Reloads the configuration; an error keeps the old one running.
    fn reload(&self) -> Pin<Box<dyn Future<Output = Result<(), String>> + Send + '_>>;
    /// Starts a graceful shutdown.
    fn quit(&self);
}

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
    /// `--web.cors.origin`: a regex (fully anchored) of the origins allowed to call the API
    /// from a browser; empty means `.*`.
    pub cors_origin: String,
    /// `--query.lookback-delta`, how far back `/federate` looks for a series' latest sample
    /// (zero: Prometheus's default, 5 minutes).
    pub lookback_delta: std::time::Duration,
    /// Agent mode (`--agent`): the query, rules and TSDB endpoints answer Prometheus's
    /// agent error (see [`api::agent`]).
    pub agent: bool,
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
    /// The scrape targets, for `/api/v1/targets` and the metadata endpoints (none when
    /// nothing is scraped).
    pub targets: Option<TargetRetrieverRef>,
    /// The configuration as loaded, secrets redacted, for `/api/v1/status/config`.
    pub config_yaml: Arc<parking_lot::RwLock<String>>,
    /// The registry of the server's own metrics, served at `/metrics`; the handlers'
    /// metrics (`prometheus_http_*`) are registered in it too (none: `/metrics` is empty
    /// and handlers are not counted).
    pub metrics: Option<metrics::Registry>,
    /// The TSDB, for `/api/v1/status/tsdb`, `/api/v1/status/walreplay` and the admin API
    /// (none: those answer without data or with an error).
    pub tsdb: Option<TsdbAdminStatsRef>,
    /// Where `/api/v1/query_exemplars` reads (none: it answers an empty list, as Prometheus
    /// with exemplar storage off).
    pub exemplars: Option<Arc<dyn storage::ExemplarQueryable>>,
    /// The rules manager, for `/api/v1/rules` and `/api/v1/alerts` (none: empty lists).
    pub rules: Option<RulesRetrieverRef>,
    /// The notifier, for `/api/v1/alertmanagers` (none: empty lists).
    pub alertmanagers: Option<AlertmanagerRetrieverRef>,
    /// `global.external_labels` of the loaded configuration, added by `/federate`.
    pub external_labels: Arc<parking_lot::RwLock<model::Labels>>,
    /// Where `/api/v1/write` appends (`--web.enable-remote-write-receiver`; none: it answers
    /// 404).
    pub remote_write: Option<storage::AppendableRef>,
}

impl WebState {
    /// A state with the given storage, engine and hooks, default options, not serving scrape
    /// targets, rules, notifier or TSDB status; set the public fields for more.
    pub fn new(
        queryable: QueryableRef,
        engine: Arc<Engine>,
        hooks: Arc<dyn LifecycleHooks>,
    ) -> Self {
        Self {
            queryable,
            engine,
            options: WebOptions::default(),
            ready: AtomicBool::new(true),
            hooks,
            targets: None,
            config_yaml: Arc::default(),
            metrics: None,
            tsdb: None,
            exemplars: None,
            rules: None,
            alertmanagers: None,
            external_labels: Arc::default(),
            remote_write: None,
        }
    }
}

/// The whole HTTP application: every route under `--web.route-prefix`, CORS on the API,
/// gzip-compressed answers for clients that accept them.
pub fn router(state: Arc<WebState>) -> Router {
    let prefix = state.options.route_prefix.trim_end_matches('/').to_owned();
    let cors = cors::CorsOrigin::new(&state.options.cors_origin).unwrap_or_else(|e| {
        tracing::warn!(error = %e, "invalid --web.cors.origin; allowing every origin");
        cors::CorsOrigin::new(".*").expect("the default pattern compiles")
    });
    let api = api::routes()
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            api::agent::guard,
        ))
        .layer(axum::middleware::from_fn(move |req, next| {
            cors.clone().layer(req, next)
        }));
    let http_metrics = state.metrics.as_ref().map(instrument::HttpMetrics::new);
    let app = Router::new()
        .merge(lifecycle::routes())
        .route("/metrics", axum::routing::get(own_metrics))
        .route("/federate", axum::routing::get(federate::federate))
        .nest("/api/v1", api)
        .merge(ui::routes());
    let app = match http_metrics {
        Some(m) => app.route_layer(axum::middleware::from_fn(move |req, next| {
            instrument::instrument(m.clone(), req, next)
        })),
        None => app,
    };
    let app = app.with_state(state);
    let app = if prefix.is_empty() {
        app
    } else {
        // As Prometheus: `/` outside the prefix leads to it (and `prefix/` to the same page).
        let to_prefix = {
            let target = prefix.clone();
            axum::routing::get(move || async move { axum::response::Redirect::to(&target) })
        };
        Router::new()
            .nest(&prefix, app)
            .route("/", to_prefix.clone())
            .route(&format!("{prefix}/"), to_prefix)
    };
    app.layer(tower_http::compression::CompressionLayer::new())
}

/// `/metrics`: the registry in the format the `Accept` header asks for (text 0.0.4 or
/// OpenMetrics, as client_golang's `promhttp` negotiates).
async fn own_metrics(
    axum::extract::State(state): axum::extract::State<Arc<WebState>>,
    headers: axum::http::HeaderMap,
) -> impl axum::response::IntoResponse {
    let accept = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    let (format, content_type) = model::exposition::negotiate(accept);
    let body = state
        .metrics
        .as_ref()
        .map(|r| {
            // client_golang's promhttp counts its own scrapes: in flight during this one,
            // and each served one afterwards.
            let in_flight = r.gauge(
                "promhttp_metric_handler_requests_in_flight",
                "Current number of scrapes being served.",
            );
            let served = r.counter_vec(
                "promhttp_metric_handler_requests_total",
                "Total number of scrapes by HTTP status code.",
                &["code"],
            );
            for code in ["500", "503"] {
                served.with_label_values(&[code]);
            }
            in_flight.inc();
            let body = r.encode(format);
            in_flight.dec();
            served.with_label_values(&["200"]).inc();
            body
        })
        .unwrap_or_default();
    ([(axum::http::header::CONTENT_TYPE, content_type)], body)
}
