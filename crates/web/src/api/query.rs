//! `/api/v1/query` and `/api/v1/query_range` (GET and POST), and `/api/v1/format_query`.

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use promql::{EvalError, QueryResult};

use crate::WebState;
use crate::api::blocking::off_workers;
use crate::api::json::query_answer;
use crate::api::json_numbers::StepTimes;
use crate::api::params::{parse_duration, parse_time};
use crate::api::{ApiError, ApiResult, ErrorType, Success};

/// Form fields, from the query string (GET) or the body (POST).
pub type FormPairs = Vec<(String, String)>;

/// The request's parameters as Go's `Request.ParseForm` collects them: the fields of a
/// URL-encoded body (POST, PUT, PATCH) first, then those of the query string. A body without a
/// content type is read as a form too; other content types are ignored.
pub struct Params(pub FormPairs);

impl<S: Send + Sync> axum::extract::FromRequest<S> for Params {
    type Rejection = ApiError;

    async fn from_request(req: axum::extract::Request, _state: &S) -> Result<Self, ApiError> {
        let (parts, body) = req.into_parts();
        let query: FormPairs = url::form_urlencoded::parse(
            crate::long_uri::raw_query(&parts)
                .unwrap_or_default()
                .as_bytes(),
        )
        .into_owned()
        .collect();
        let req = axum::extract::Request::from_parts(parts, body);
        let has_body = matches!(
            *req.method(),
            axum::http::Method::POST | axum::http::Method::PUT | axum::http::Method::PATCH
        );
        let form_body = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|ct| {
                ct.split(';').next().is_some_and(|m| {
                    m.trim()
                        .eq_ignore_ascii_case("application/x-www-form-urlencoded")
                })
            });
        let mut pairs = FormPairs::new();
        if has_body && form_body {
            // Go's ParseForm reads at most 10 MB of a form body (`maxFormSize`); axum's default
            // body limit (2 MB) would refuse long queries Prometheus answers.
            let body = axum::body::to_bytes(req.into_body(), MAX_FORM_BYTES)
                .await
                .map_err(|e| ApiError::bad_data(format!("error parsing form values: {e}")))?;
            pairs.extend(url::form_urlencoded::parse(&body).into_owned());
        }
        pairs.extend(query);
        Ok(Params(pairs))
    }
}

/// Most points per series a range query may ask for (Prometheus's 11,000).
const MAX_STEPS: usize = 11_000;

/// The largest form body read (Go's `maxFormSize`, 10 MB).
pub const MAX_FORM_BYTES: usize = 10 << 20;

/// Routes of the query endpoints.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/query", get(query).post(query))
        .route("/query_range", get(query_range).post(query_range))
        .route("/format_query", get(format_query).post(format_query))
}

/// The first value of form field `name` (Go's `FormValue`).
pub fn field<'a>(form: &'a FormPairs, name: &str) -> Option<&'a str> {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Parses a defaulted time parameter, with Prometheus 3's error text.
pub fn time_param(form: &FormPairs, name: &str, default: i64) -> Result<i64, ApiError> {
    match field(form, name) {
        None | Some("") => Ok(default),
        Some(v) => parse_time(v).map_err(|e| {
            ApiError::bad_param(name, &format!("invalid time value for '{name}': {e}"))
        }),
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

async fn query(
    State(state): State<Arc<WebState>>,
    Params(form): Params,
) -> Result<Response, ApiError> {
    let ts = time_param(&form, "time", now_ms())?;
    let q = field(&form, "query").unwrap_or_default().to_owned();
    let expr = parse_query(&q)?;
    run(state, None, move |state, cancel| {
        state
            .engine
            .instant_query_expr(state.queryable.as_ref(), &expr, &q, ts, Some(cancel))
    })
    .await
}

async fn query_range(
    State(state): State<Arc<WebState>>,
    Params(form): Params,
) -> Result<Response, ApiError> {
    let parsed = (|| {
        let start = match field(&form, "start") {
            Some(v) => parse_time(v).map_err(|e| ApiError::bad_param("start", &e))?,
            None => {
                return Err(ApiError::bad_param(
                    "start",
                    "cannot parse \"\" to a valid timestamp",
                ));
            }
        };
        let end = match field(&form, "end") {
            Some(v) => parse_time(v).map_err(|e| ApiError::bad_param("end", &e))?,
            None => {
                return Err(ApiError::bad_param(
                    "end",
                    "cannot parse \"\" to a valid timestamp",
                ));
            }
        };
        if end < start {
            return Err(ApiError::bad_param(
                "end",
                "end timestamp must not be before start time",
            ));
        }
        let step = parse_duration(field(&form, "step").unwrap_or_default())
            .map_err(|e| ApiError::bad_param("step", &e))?;
        if step <= 0 {
            return Err(ApiError::bad_param(
                "step",
                "zero or negative query resolution step widths are not accepted. Try a positive integer",
            ));
        }
        if (end - start) / step > MAX_STEPS as i64 {
            return Err(ApiError::bad_data(
                "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)",
            ));
        }
        Ok((start, end, step))
    })();
    let (start, end, step) = parsed?;
    let q = field(&form, "query").unwrap_or_default().to_owned();
    let expr = parse_query(&q)?;
    run(state, Some((start, end, step)), move |state, cancel| {
        state.engine.range_query_expr(
            state.queryable.as_ref(),
            &expr,
            &q,
            start,
            end,
            step,
            Some(cancel),
        )
    })
    .await
}

async fn format_query(Params(form): Params) -> ApiResult<String> {
    let expr = parse_query(field(&form, "query").unwrap_or_default())?;
    Ok(Success::new(promql::printer::prettify(&expr)))
}

/// Parses the `query` parameter; a parse error is an invalid parameter, as Prometheus says.
fn parse_query(q: &str) -> Result<promql::ast::Expr, ApiError> {
    promql::parser::parse(q).map_err(|e| ApiError::bad_param("query", &e.to_string()))
}

/// Runs a query off the async workers (the engine enforces its own timeout) and answers with
/// its result, serialised there too; `range` is a range query's start, end and step.
async fn run<F>(
    state: Arc<WebState>,
    range: Option<(i64, i64, i64)>,
    f: F,
) -> Result<Response, ApiError>
where
    F: FnOnce(&WebState, &AtomicBool) -> Result<QueryResult, EvalError> + Send + 'static,
{
    let body = off_workers(&state, None, move |state, cancel| {
        let r = f(state, cancel).map_err(|e| eval_error(&e))?;
        // Step times are formatted once per answer, not once per point.
        let steps = match (&r.value, range) {
            (promql::Value::Matrix(_), Some((start, end, step))) => {
                Some(StepTimes::new(start, end, step, MAX_STEPS + 1))
            }
            _ => None,
        };
        Ok(query_answer(
            &r.value,
            &r.warnings(),
            &r.infos(),
            steps.as_ref(),
        ))
    })
    .await?;
    Ok((
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        body,
    )
        .into_response())
}

/// Maps an engine error to the API's error class.
pub fn eval_error(e: &EvalError) -> ApiError {
    let kind = match e.error_type() {
        "bad_data" => ErrorType::BadData,
        "timeout" => ErrorType::Timeout,
        "canceled" => ErrorType::Canceled,
        "internal" => ErrorType::Internal,
        _ => ErrorType::Execution,
    };
    ApiError {
        kind,
        message: e.to_string(),
    }
}
