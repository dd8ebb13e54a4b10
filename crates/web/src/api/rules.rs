//! `/api/v1/rules`, `/api/v1/alerts` and `/api/v1/alertmanagers`.
//!
//! The web layer does not depend on the rules engine or the notifier: they reach it through
//! [`RulesRetriever`] and [`AlertmanagerRetriever`], returning the web-owned views of
//! [`crate::api::rule_views`], serialised here as Prometheus's JSON.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::SystemTime;

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};

use model::{Labels, Matcher};

use crate::WebState;
use crate::api::json::JsonLabels;
use crate::api::meta::match_sets;
use crate::api::query::FormPairs;
pub use crate::api::rule_views::{
    AlertState, AlertView, AlertmanagerRetriever, AlertmanagerRetrieverRef, RuleCommon,
    RuleGroupView, RuleHealth, RuleView, RulesRetriever, RulesRetrieverRef,
};
use crate::api::{ApiError, ApiResult, Success};
use crate::long_uri::FullQuery;

/// Routes of the rules, alerts and alertmanagers endpoints.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/rules", get(rules))
        .route("/alerts", get(alerts))
        .route("/alertmanagers", get(alertmanagers))
}

/// A time as Go's `time.Time` writes it in JSON (RFC 3339 with nanoseconds as needed; the zero
/// time when unset).
pub fn go_time(t: Option<SystemTime>) -> String {
    t.and_then(|t| jiff::Timestamp::try_from(t).ok())
        .map_or_else(|| "0001-01-01T00:00:00Z".to_owned(), |t| t.to_string())
}

struct JsonAlert<'a>(&'a AlertView);

impl Serialize for JsonAlert<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let a = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("labels", &JsonLabels(&a.labels))?;
        m.serialize_entry("annotations", &JsonLabels(&a.annotations))?;
        m.serialize_entry("state", a.state.as_str())?;
        m.serialize_entry("activeAt", &go_time(a.active_at))?;
        if let Some(t) = a.keep_firing_since {
            m.serialize_entry("keepFiringSince", &go_time(Some(t)))?;
        }
        m.serialize_entry("value", &model::gofmt::format_float(a.value, 'e', -1))?;
        m.end()
    }
}

/// A rule as Prometheus writes it; `with_alerts: false` writes `"alerts": null`
/// (`exclude_alerts=true`).
struct JsonRule<'a>(&'a RuleView, bool);

impl Serialize for JsonRule<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        let c = self.0.common();
        match self.0 {
            RuleView::Alerting {
                state,
                duration_seconds,
                keep_firing_for_seconds,
                annotations,
                alerts,
                ..
            } => {
                m.serialize_entry("state", state.as_str())?;
                m.serialize_entry("name", &c.name)?;
                m.serialize_entry("query", &c.query)?;
                m.serialize_entry("duration", duration_seconds)?;
                m.serialize_entry("keepFiringFor", keep_firing_for_seconds)?;
                m.serialize_entry("labels", &JsonLabels(&c.labels))?;
                m.serialize_entry("annotations", &JsonLabels(annotations))?;
                if self.1 {
                    let list: Vec<JsonAlert<'_>> = alerts.iter().map(JsonAlert).collect();
                    m.serialize_entry("alerts", &list)?;
                } else {
                    m.serialize_entry("alerts", &())?;
                }
            }
            RuleView::Recording(_) => {
                m.serialize_entry("name", &c.name)?;
                m.serialize_entry("query", &c.query)?;
                m.serialize_entry("labels", &JsonLabels(&c.labels))?;
            }
        }
        m.serialize_entry("health", c.health.as_str())?;
        if !c.last_error.is_empty() {
            m.serialize_entry("lastError", &c.last_error)?;
        }
        m.serialize_entry("evaluationTime", &c.evaluation_seconds)?;
        m.serialize_entry("lastEvaluation", &go_time(c.last_evaluation))?;
        let kind = match self.0 {
            RuleView::Alerting { .. } => "alerting",
            RuleView::Recording(_) => "recording",
        };
        m.serialize_entry("type", kind)?;
        m.end()
    }
}

struct JsonGroup<'a>(&'a RuleGroupView, Vec<JsonRule<'a>>);

impl Serialize for JsonGroup<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let g = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", &g.name)?;
        m.serialize_entry("file", &g.file)?;
        m.serialize_entry("rules", &self.1)?;
        m.serialize_entry("interval", &g.interval_seconds)?;
        m.serialize_entry("limit", &g.limit)?;
        m.serialize_entry("evaluationTime", &g.evaluation_seconds)?;
        m.serialize_entry("lastEvaluation", &go_time(g.last_evaluation))?;
        m.end()
    }
}

fn groups(state: &WebState) -> Vec<RuleGroupView> {
    state
        .rules
        .as_ref()
        .map(|r| r.rule_groups())
        .unwrap_or_default()
}

/// Parses Go's `strconv.ParseBool` spellings.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

fn form_of(raw: Option<&str>) -> FormPairs {
    url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn matches_sets(sets: &[Vec<Matcher>], labels: &Labels) -> bool {
    sets.is_empty()
        || sets.iter().any(|set| {
            set.iter()
                .all(|m| m.matches(labels.get(&m.name).unwrap_or_default()))
        })
}

async fn rules(
    State(state): State<Arc<WebState>>,
    FullQuery(raw): FullQuery,
) -> ApiResult<serde_json::Value> {
    let form = form_of(raw.as_deref());
    let values = |name: &str| -> HashSet<String> {
        form.iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    };
    let (names, group_names, files) = (
        values("rule_name[]"),
        values("rule_group[]"),
        values("file[]"),
    );
    let sets = match_sets(&form)?;
    let first = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_ascii_lowercase())
            .unwrap_or_default()
    };
    let kind = first("type");
    if !matches!(kind.as_str(), "" | "alert" | "record") {
        return Err(ApiError::bad_param(
            "type",
            &format!("not supported value {kind:?}"),
        ));
    }
    let exclude = first("exclude_alerts");
    let exclude_alerts = if exclude.is_empty() {
        false
    } else {
        parse_bool(&exclude).ok_or_else(|| {
            ApiError::bad_param(
                "exclude_alerts",
                &format!(
                    "error converting exclude_alerts: strconv.ParseBool: parsing {exclude:?}: invalid syntax"
                ),
            )
        })?
    };
    let all = groups(&state);
    let mut out = Vec::new();
    for g in &all {
        if (!group_names.is_empty() && !group_names.contains(&g.name))
            || (!files.is_empty() && !files.contains(&g.file))
        {
            continue;
        }
        let rules: Vec<JsonRule<'_>> = g
            .rules
            .iter()
            .filter(|r| matches_sets(&sets, &r.common().labels))
            .filter(|r| names.is_empty() || names.contains(&r.common().name))
            .filter(|r| match r {
                RuleView::Alerting { .. } => kind != "record",
                RuleView::Recording(_) => kind != "alert",
            })
            .map(|r| JsonRule(r, !exclude_alerts))
            .collect();
        if !rules.is_empty() {
            out.push(JsonGroup(g, rules));
        }
    }
    let body = serde_json::json!({ "groups": out });
    Ok(Success::new(body))
}

async fn alerts(State(state): State<Arc<WebState>>) -> ApiResult<serde_json::Value> {
    let all = groups(&state);
    let list: Vec<JsonAlert<'_>> = all
        .iter()
        .flat_map(|g| &g.rules)
        .filter_map(|r| match r {
            RuleView::Alerting { alerts, .. } => Some(alerts),
            RuleView::Recording(_) => None,
        })
        .flatten()
        .map(JsonAlert)
        .collect();
    Ok(Success::new(serde_json::json!({ "alerts": list })))
}

#[derive(Serialize)]
struct AlertmanagerTarget {
    url: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AlertmanagerDiscovery {
    active_alertmanagers: Vec<AlertmanagerTarget>,
    dropped_alertmanagers: Vec<AlertmanagerTarget>,
}

async fn alertmanagers(State(state): State<Arc<WebState>>) -> ApiResult<AlertmanagerDiscovery> {
    let (active, dropped) = state
        .alertmanagers
        .as_ref()
        .map(|a| (a.active_alertmanagers(), a.dropped_alertmanagers()))
        .unwrap_or_default();
    let wrap = |v: Vec<String>| {
        v.into_iter()
            .map(|url| AlertmanagerTarget { url })
            .collect()
    };
    Ok(Success::new(AlertmanagerDiscovery {
        active_alertmanagers: wrap(active),
        dropped_alertmanagers: wrap(dropped),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_times() {
        assert_eq!(go_time(None), "0001-01-01T00:00:00Z");
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_500);
        assert_eq!(go_time(Some(t)), "1970-01-01T00:00:01.5Z");
    }
}
