//! `/api/v1/status/tsdb` (head statistics and cardinality), `/api/v1/status/walreplay` and
//! `/api/v1/query_exemplars` (the TSDB's exemplars of the series the query selects; an empty
//! list without a TSDB, as Prometheus answers with exemplar storage off).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Serialize;

use crate::WebState;
use crate::api::blocking::off_workers;
use crate::api::params::{MAX_TIME, MIN_TIME};
use crate::api::query::{FormPairs, Params, field, time_param};
use crate::api::{ApiError, ApiResult, Success};

/// Routes of the TSDB status and exemplar endpoints.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/status/tsdb", get(tsdb_status))
        .route("/status/walreplay", get(wal_replay))
        .route(
            "/query_exemplars",
            get(query_exemplars).post(query_exemplars),
        )
}

/// The most rows a cardinality table may ask for.
const MAX_TSDB_LIMIT: usize = 10_000;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct HeadStats {
    num_series: u64,
    num_label_pairs: u64,
    chunk_count: u64,
    min_time: i64,
    max_time: i64,
}

#[derive(Serialize)]
struct Stat {
    name: String,
    value: u64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TsdbStatus {
    head_stats: HeadStats,
    series_count_by_metric_name: Vec<Stat>,
    label_value_count_by_label_name: Vec<Stat>,
    memory_in_bytes_by_label_name: Vec<Stat>,
    series_count_by_label_value_pair: Vec<Stat>,
}

fn table(v: Vec<(String, u64)>) -> Vec<Stat> {
    v.into_iter()
        .map(|(name, value)| Stat { name, value })
        .collect()
}

async fn tsdb_status(
    State(state): State<Arc<WebState>>,
    Params(form): Params,
) -> ApiResult<TsdbStatus> {
    let limit = match field(&form, "limit") {
        None | Some("") => 10,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 1 => usize::try_from(n).unwrap_or(usize::MAX),
            _ => return Err(ApiError::bad_data("limit must be a positive number")),
        },
    };
    if limit > MAX_TSDB_LIMIT {
        return Err(ApiError::bad_data(format!(
            "limit must not exceed {MAX_TSDB_LIMIT}"
        )));
    }
    let Some(db) = state.tsdb.clone() else {
        return Err(ApiError::internal("no TSDB to report on"));
    };
    let stats = tokio::task::spawn_blocking(move || db.stats(limit))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let summary = stats.head;
    // An empty head has no time range; Prometheus shows its extremes the same way.
    Ok(Success::new(TsdbStatus {
        head_stats: HeadStats {
            num_series: summary.num_series,
            num_label_pairs: summary.num_label_pairs,
            chunk_count: summary.chunk_count,
            min_time: summary.min_time,
            max_time: summary.max_time,
        },
        series_count_by_metric_name: table(stats.series_count_by_metric_name),
        label_value_count_by_label_name: table(stats.label_value_count_by_label_name),
        memory_in_bytes_by_label_name: table(stats.memory_in_bytes_by_label_name),
        series_count_by_label_value_pair: table(stats.series_count_by_label_value_pair),
    }))
}

#[derive(Serialize, Default)]
struct WalReplay {
    min: u64,
    max: u64,
    current: u64,
}

/// The WAL replay's progress (all zero without a TSDB).
async fn wal_replay(State(state): State<Arc<WebState>>) -> ApiResult<WalReplay> {
    let Some(db) = state.tsdb.clone() else {
        return Ok(Success::new(WalReplay::default()));
    };
    let status = tokio::task::spawn_blocking(move || db.wal_replay_status())
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Success::new(WalReplay {
        min: status.min,
        max: status.max,
        current: status.current,
    }))
}

async fn query_exemplars(
    State(state): State<Arc<WebState>>,
    Params(form): Params,
) -> Result<Response, ApiError> {
    let limit = Some(state.engine.options().timeout);
    let found = off_workers(&state, limit, move |state, _| {
        exemplars(state.exemplars.as_deref(), &form)
    })
    .await?;
    Ok(match found {
        None => StatusCode::NO_CONTENT.into_response(),
        Some(list) => Success::new(list).into_response(),
    })
}

/// An exemplar as the API shows it.
#[derive(Serialize)]
struct ExemplarJson {
    labels: std::collections::BTreeMap<String, String>,
    value: String,
    timestamp: f64,
}

/// The exemplars of one series as the API shows them.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ExemplarSeriesJson {
    series_labels: std::collections::BTreeMap<String, String>,
    exemplars: Vec<ExemplarJson>,
}

fn label_map(l: &model::Labels) -> std::collections::BTreeMap<String, String> {
    l.iter()
        .map(|l| (l.name.to_owned(), l.value.to_owned()))
        .collect()
}

/// `None` when the expression selects nothing (Prometheus answers 204 then).
fn exemplars(
    db: Option<&dyn storage::ExemplarQueryable>,
    form: &FormPairs,
) -> Result<Option<Vec<ExemplarSeriesJson>>, ApiError> {
    let start = time_param(form, "start", MIN_TIME)?;
    let end = time_param(form, "end", MAX_TIME)?;
    if end < start {
        return Err(ApiError::bad_data(
            "end timestamp must not be before start timestamp",
        ));
    }
    let q = field(form, "query").unwrap_or_default();
    let expr = promql::parser::parse(q).map_err(|e| ApiError::bad_data(e.to_string()))?;
    let selectors: Vec<Vec<model::Matcher>> =
        expr.selectors().into_iter().map(<[_]>::to_vec).collect();
    if selectors.is_empty() {
        return Ok(None);
    }
    let Some(db) = db else {
        return Ok(Some(Vec::new()));
    };
    let found = db
        .select_exemplars(start, end, &selectors)
        .map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Some(
        found
            .into_iter()
            .map(|s| ExemplarSeriesJson {
                series_labels: label_map(&s.series_labels),
                exemplars: s
                    .exemplars
                    .into_iter()
                    .map(|e| ExemplarJson {
                        labels: label_map(&e.labels),
                        value: promql::value::format_value(e.value),
                        timestamp: e.ts as f64 / 1000.0,
                    })
                    .collect(),
            })
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Sample, labels};

    fn form(q: &str, start: &str, end: &str) -> FormPairs {
        vec![
            ("query".into(), q.into()),
            ("start".into(), start.into()),
            ("end".into(), end.into()),
        ]
    }

    #[test]
    fn exemplars_of_selected_series_in_prometheus_shape() {
        let dir = tempfile::tempdir().unwrap();
        let db = tsdb::Db::open(
            dir.path(),
            tsdb::DbOptions {
                max_exemplars: 10,
                ..tsdb::DbOptions::default()
            },
        )
        .unwrap();
        let mut app = db.appender();
        for (name, ts) in [("a", 1_500), ("b", 2_250)] {
            let l = labels!("__name__" => name, "job" => "x");
            let r = app.append(0, &l, ts, Sample::Float(1.0)).unwrap();
            let e = storage::Exemplar {
                labels: labels!("trace_id" => "t1"),
                value: 0.25,
                ts,
                has_ts: true,
            };
            app.append_exemplar(r, &l, &e).unwrap();
        }
        app.commit().unwrap();
        let got = exemplars(Some(&db), &form("rate(b[1m]) + a", "0", "10")).unwrap();
        let json = serde_json::to_value(got).unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"seriesLabels": {"__name__": "a", "job": "x"},
                 "exemplars": [{"labels": {"trace_id": "t1"}, "value": "0.25", "timestamp": 1.5}]},
                {"seriesLabels": {"__name__": "b", "job": "x"},
                 "exemplars": [{"labels": {"trace_id": "t1"}, "value": "0.25", "timestamp": 2.25}]},
            ])
        );
        // The time range filters.
        let got = exemplars(Some(&db), &form("{job=\"x\"}", "2", "10")).unwrap();
        assert_eq!(got.unwrap().len(), 1);
        db.close().unwrap();
    }
}
