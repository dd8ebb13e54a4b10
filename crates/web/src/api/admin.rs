//! The admin API (`--web.enable-admin-api`): `/api/v1/admin/tsdb/{delete_series,
//! clean_tombstones,snapshot}` by POST or PUT, as Prometheus answers them (204 on success
//! without data; `unavailable` when the API is off).

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Serialize;

use crate::WebState;
use crate::api::params::{MAX_TIME, MIN_TIME};
use crate::api::query::{Params, field, time_param};
use crate::api::{ApiError, ApiResult, ErrorType, Success};
use crate::sources::TsdbAdminStatsRef;

/// Routes of the admin endpoints.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route(
            "/admin/tsdb/delete_series",
            post(delete_series).put(delete_series),
        )
        .route(
            "/admin/tsdb/clean_tombstones",
            post(clean_tombstones).put(clean_tombstones),
        )
        .route("/admin/tsdb/snapshot", post(snapshot).put(snapshot))
}

/// The database, if the admin API is on.
fn admin_db(state: &WebState) -> Result<TsdbAdminStatsRef, ApiError> {
    if !state.options.enable_admin_api {
        return Err(ApiError {
            kind: ErrorType::Unavailable,
            message: "admin APIs disabled".to_owned(),
        });
    }
    state
        .tsdb
        .clone()
        .ok_or_else(|| ApiError::internal("no TSDB to administer"))
}

/// Runs a blocking database operation.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
        .map_err(ApiError::internal)
}

async fn delete_series(
    State(state): State<Arc<WebState>>,
    Params(form): Params,
) -> Result<StatusCode, ApiError> {
    let db = admin_db(&state)?;
    {
        let selectors: Vec<&str> = form
            .iter()
            .filter(|(k, _)| k == "match[]")
            .map(|(_, v)| v.as_str())
            .collect();
        if selectors.is_empty() {
            return Err(ApiError::bad_data("no match[] parameter provided"));
        }
        let start = time_param(&form, "start", MIN_TIME)?;
        let end = time_param(&form, "end", MAX_TIME)?;
        for s in selectors {
            let matchers = promql::parser::parse_metric_selector(s)
                .map_err(|e| ApiError::bad_param("match[]", &e.to_string()))?;
            let db = db.clone();
            blocking(move || db.delete_series(start, end, &matchers)).await?;
        }
    }
    Ok(StatusCode::NO_CONTENT)
}

async fn clean_tombstones(State(state): State<Arc<WebState>>) -> Result<StatusCode, ApiError> {
    let db = admin_db(&state)?;
    blocking(move || db.clean_tombstones()).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
struct SnapshotName {
    name: String,
}

fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

async fn snapshot(
    State(state): State<Arc<WebState>>,
    Params(form): Params,
) -> ApiResult<SnapshotName> {
    let db = admin_db(&state)?;
    {
        let skip_head = match field(&form, "skip_head") {
            None | Some("") => false,
            Some(v) => parse_bool(v).ok_or_else(|| {
                ApiError::bad_param(
                    "skip_head",
                    &format!(
                        "unable to parse boolean: strconv.ParseBool: parsing {v:?}: invalid syntax"
                    ),
                )
            })?,
        };
        let now = jiff::Timestamp::now();
        let name = format!(
            "{}-{:016x}",
            now.strftime("%Y%m%dT%H%M%SZ"),
            random_u63(now.as_nanosecond())
        );
        let snapshot = name.clone();
        blocking(move || db.snapshot(&snapshot, !skip_head)).await?;
        Ok(Success::new(SnapshotName { name }))
    }
}

/// A pseudo-random positive 63-bit number (as Go's `rand.Int63`), from the clock and the
/// process id mixed with splitmix64.
fn random_u63(seed: i128) -> u64 {
    let mut x = (seed as u64) ^ (u64::from(std::process::id()) << 32);
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (x ^ (x >> 31)) >> 1
}
