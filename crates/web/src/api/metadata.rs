//! `/api/v1/targets/metadata` and `/api/v1/metadata`: the HELP, TYPE and UNIT of metric
//! families, from the scrape targets' metadata caches.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;

use model::Matcher;

use crate::WebState;
use crate::api::json::JsonLabels;
use crate::api::query::{FormPairs, Params, field};
use crate::api::{ApiError, ApiResult, Success};
use crate::sources::{MetricMetadata, TargetMetadata};

/// Routes of the metadata endpoints.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/targets/metadata", get(targets_metadata))
        .route("/metadata", get(metadata))
}

/// A signed limit as Prometheus reads it: absent is -1 (no limit).
fn number(form: &FormPairs, name: &str) -> Result<i64, ApiError> {
    match field(form, name) {
        None | Some("") => Ok(-1),
        Some(v) => v
            .parse::<i64>()
            .map_err(|_| ApiError::bad_data(format!("{name} must be a number"))),
    }
}

fn active(state: &WebState) -> Vec<TargetMetadata> {
    state
        .targets
        .as_ref()
        .map(|t| t.targets_metadata())
        .unwrap_or_default()
}

#[derive(Serialize)]
struct TargetEntry<'a> {
    target: JsonLabels<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    metric: Option<&'a str>,
    #[serde(rename = "type")]
    metric_type: &'a str,
    help: &'a str,
    unit: &'a str,
}

async fn targets_metadata(
    State(state): State<Arc<WebState>>,
    Params(form): Params,
) -> ApiResult<serde_json::Value> {
    let limit = number(&form, "limit")?;
    let matchers: Option<Vec<Matcher>> = match field(&form, "match_target") {
        None | Some("") => None,
        Some(s) => Some(
            promql::parser::parse_metric_selector(s)
                .map_err(|e| ApiError::bad_param("match_target", &e.to_string()))?,
        ),
    };
    let metric = field(&form, "metric").unwrap_or_default();
    let targets = active(&state);
    let out = collect_target_entries(&targets, limit, matchers.as_deref(), metric);
    Ok(Success::new(
        serde_json::to_value(&out).map_err(|e| ApiError::internal(e.to_string()))?,
    ))
}

fn collect_target_entries<'a>(
    targets: &'a [TargetMetadata],
    limit: i64,
    matchers: Option<&[Matcher]>,
    metric: &str,
) -> Vec<TargetEntry<'a>> {
    let mut out: Vec<TargetEntry<'a>> = Vec::new();
    for t in targets {
        if limit >= 0 && out.len() as i64 >= limit {
            break;
        }
        if let Some(ms) = matchers
            && !ms
                .iter()
                .all(|m| m.matches(t.labels.get(&m.name).unwrap_or_default()))
        {
            continue;
        }
        let entry = |m: &'a MetricMetadata, with_name: bool| TargetEntry {
            target: JsonLabels(&t.labels),
            metric: with_name.then_some(m.metric_family.as_str()),
            metric_type: m.metric_type,
            help: &m.help,
            unit: &m.unit,
        };
        if metric.is_empty() {
            out.extend(t.metadata.iter().map(|m| entry(m, true)));
        } else if let Some(m) = t.metadata.iter().find(|m| m.metric_family == metric) {
            out.push(entry(m, false));
        }
    }
    out
}

#[derive(Serialize, PartialEq)]
struct Entry {
    #[serde(rename = "type")]
    metric_type: &'static str,
    help: String,
    unit: String,
}

async fn metadata(
    State(state): State<Arc<WebState>>,
    Params(form): Params,
) -> ApiResult<BTreeMap<String, Vec<Entry>>> {
    let limit = number(&form, "limit")?;
    let per_metric = number(&form, "limit_per_metric")?;
    let metric = field(&form, "metric").unwrap_or_default();
    let mut all: BTreeMap<String, Vec<Entry>> = BTreeMap::new();
    for t in active(&state) {
        for m in t.metadata.iter() {
            if !metric.is_empty() && m.metric_family != metric {
                continue;
            }
            let list = all.entry(m.metric_family.clone()).or_default();
            if per_metric > 0 && list.len() as i64 >= per_metric {
                continue;
            }
            let e = Entry {
                metric_type: m.metric_type,
                help: m.help.clone(),
                unit: m.unit.clone(),
            };
            if !list.contains(&e) {
                list.push(e);
            }
        }
    }
    if limit >= 0 {
        let keep = usize::try_from(limit).unwrap_or(usize::MAX);
        all = all.into_iter().take(keep).collect();
    }
    Ok(Success::new(all))
}
