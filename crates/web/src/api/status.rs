//! `/api/v1/status/*`: build information, flags and runtime information.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use crate::WebState;
use crate::api::{ApiResult, Success};

/// Routes of the status endpoints.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/status/buildinfo", get(buildinfo))
        .route("/status/flags", get(flags))
        .route("/status/runtimeinfo", get(runtimeinfo))
        .route("/status/config", get(config))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BuildInfo {
    version: &'static str,
    revision: &'static str,
    branch: &'static str,
    build_user: &'static str,
    build_date: &'static str,
    go_version: &'static str,
}

async fn buildinfo() -> ApiResult<BuildInfo> {
    Ok(Success::new(BuildInfo {
        version: env!("CARGO_PKG_VERSION"),
        revision: option_env!("FIREWATCH_REVISION").unwrap_or("unknown"),
        branch: "main",
        build_user: "firewatch",
        build_date: "unknown",
        go_version: concat!("rust", env!("CARGO_PKG_RUST_VERSION")),
    }))
}

async fn flags(State(state): State<Arc<WebState>>) -> ApiResult<BTreeMap<String, String>> {
    Ok(Success::new(state.options.flags.clone()))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RuntimeInfo {
    start_time: String,
    #[serde(rename = "CWD")]
    cwd: String,
    reload_config_success: bool,
    last_config_time: String,
    corruption_count: u64,
    goroutine_count: usize,
    #[serde(rename = "GOMAXPROCS")]
    gomaxprocs: usize,
    #[serde(rename = "GOGC")]
    gogc: String,
    #[serde(rename = "GODEBUG")]
    godebug: String,
    storage_retention: String,
}

async fn runtimeinfo(State(state): State<Arc<WebState>>) -> ApiResult<RuntimeInfo> {
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    Ok(Success::new(RuntimeInfo {
        start_time: state.options.start_time.clone(),
        cwd: std::env::current_dir()
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        reload_config_success: true,
        last_config_time: state.options.start_time.clone(),
        corruption_count: 0,
        goroutine_count: 0,
        gomaxprocs: threads,
        gogc: String::new(),
        godebug: String::new(),
        storage_retention: state.options.storage_retention.clone(),
    }))
}

#[derive(Serialize)]
struct ConfigYaml {
    yaml: String,
}

async fn config(State(state): State<Arc<WebState>>) -> ApiResult<ConfigYaml> {
    Ok(Success::new(ConfigYaml {
        yaml: state.config_yaml.read().clone(),
    }))
}
