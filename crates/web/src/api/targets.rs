//! `/api/v1/targets`: active and dropped scrape targets, in Prometheus's JSON shape.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use crate::WebState;
use crate::api::json::JsonLabels;
use crate::api::query::{Params, field};
use crate::api::{ApiResult, Success};

/// Routes of the targets endpoint.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new().route("/targets", get(targets))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ActiveJson<'a> {
    discovered_labels: JsonLabels<'a>,
    labels: JsonLabels<'a>,
    scrape_pool: &'a str,
    scrape_url: &'a str,
    global_url: &'a str,
    last_error: &'a str,
    last_scrape: String,
    last_scrape_duration: f64,
    health: &'static str,
    scrape_interval: String,
    scrape_timeout: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DroppedJson<'a> {
    discovered_labels: JsonLabels<'a>,
    scrape_pool: &'a str,
}

/// A scrape interval or timeout as Prometheus prints a `model.Duration` (`15s`, `1m30s`).
fn go_duration(d: std::time::Duration) -> String {
    model::gofmt::model_duration(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

async fn targets(
    State(state): State<Arc<WebState>>,
    Params(form): Params,
) -> ApiResult<serde_json::Value> {
    let wanted = field(&form, "state").unwrap_or("any").to_ascii_lowercase();
    let pool = field(&form, "scrapePool").unwrap_or_default();
    let (active, dropped) = match &state.targets {
        Some(t) => (t.active_targets(), t.dropped_targets()),
        None => (Vec::new(), Vec::new()),
    };
    let show_active = wanted == "any" || wanted == "active";
    let show_dropped = wanted == "any" || wanted == "dropped";
    let active_json: Vec<ActiveJson<'_>> = active
        .iter()
        .filter(|t| show_active && (pool.is_empty() || t.scrape_pool == pool))
        .map(|t| ActiveJson {
            discovered_labels: JsonLabels(&t.discovered_labels),
            labels: JsonLabels(&t.labels),
            scrape_pool: &t.scrape_pool,
            scrape_url: &t.scrape_url,
            global_url: &t.scrape_url,
            last_error: &t.last_error,
            last_scrape: t.last_scrape.map_or_else(
                || "0001-01-01T00:00:00Z".to_owned(),
                |s| {
                    jiff::Timestamp::try_from(s)
                        .map(|t| t.to_string())
                        .unwrap_or_default()
                },
            ),
            last_scrape_duration: t.last_scrape_duration.as_secs_f64(),
            health: t.health,
            scrape_interval: go_duration(t.scrape_interval),
            scrape_timeout: go_duration(t.scrape_timeout),
        })
        .collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for t in &dropped {
        *counts.entry(t.scrape_pool.as_str()).or_default() += 1;
    }
    let dropped_json: Vec<DroppedJson<'_>> = dropped
        .iter()
        .filter(|t| show_dropped && (pool.is_empty() || t.scrape_pool == pool))
        .map(|t| DroppedJson {
            discovered_labels: JsonLabels(&t.discovered_labels),
            scrape_pool: &t.scrape_pool,
        })
        .collect();
    let body = serde_json::json!({
        "activeTargets": active_json,
        "droppedTargets": dropped_json,
        "droppedTargetCounts": counts,
    });
    Ok(Success::new(body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_prometheus_prints_them() {
        assert_eq!(go_duration(std::time::Duration::from_secs(15)), "15s");
        assert_eq!(go_duration(std::time::Duration::from_secs(90)), "1m30s");
        assert_eq!(
            go_duration(std::time::Duration::from_millis(1500)),
            "1s500ms"
        );
    }
}
