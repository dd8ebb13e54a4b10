//! `/api/v1/labels`, `/api/v1/label/<name>/values` and `/api/v1/series`.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;

use model::{Labels, Matcher};
use storage::{LabelHints, Querier};

use crate::WebState;
use crate::api::blocking::{Limited, check, off_workers};
use crate::api::json::JsonLabels;
use crate::api::params::{MAX_TIME, MIN_TIME};
use crate::api::query::{FormPairs, Params, field, time_param};
use crate::api::{ApiError, ApiResult, Success};

/// Routes of the metadata endpoints.
pub fn routes() -> Router<Arc<WebState>> {
    Router::new()
        .route("/labels", get(labels).post(labels))
        .route("/label/{name}/values", get(label_values))
        .route("/series", get(series).post(series))
}

/// The `match[]` selectors of a request, parsed; each must have a matcher that does not
/// match the empty string, as Prometheus requires.
pub(crate) fn match_sets(form: &FormPairs) -> Result<Vec<Vec<Matcher>>, ApiError> {
    form.iter()
        .filter(|(k, _)| k == "match[]")
        .map(|(_, v)| {
            let set = promql::parser::parse_metric_selector(v)
                .map_err(|e| ApiError::bad_param("match[]", &e.to_string()))?;
            if set.iter().all(Matcher::matches_empty) {
                return Err(ApiError::bad_data(
                    "match[] must contain at least one non-empty matcher",
                ));
            }
            Ok(set)
        })
        .collect()
}

/// The `limit` parameter (0 or absent: none), refused with Go's `strconv.Atoi` texts as
/// Prometheus's `parseLimitParam` does.
fn limit(form: &FormPairs) -> Result<usize, ApiError> {
    let v = match field(form, "limit") {
        None | Some("") => return Ok(0),
        Some(v) => v,
    };
    match v.parse::<i64>() {
        Ok(n) => usize::try_from(n)
            .map_err(|_| ApiError::bad_param("limit", "limit must be non-negative")),
        Err(e) => {
            let reason = match e.kind() {
                std::num::IntErrorKind::PosOverflow | std::num::IntErrorKind::NegOverflow => {
                    "value out of range"
                }
                _ => "invalid syntax",
            };
            Err(ApiError::bad_param(
                "limit",
                &format!("strconv.Atoi: parsing {}: {reason}", model::gofmt::quote(v)),
            ))
        }
    }
}

/// The request's time range (`start`, `end`; the widest when absent).
fn range(form: &FormPairs) -> Result<(i64, i64), ApiError> {
    Ok((
        time_param(form, "start", MIN_TIME)?,
        time_param(form, "end", MAX_TIME)?,
    ))
}

fn querier(state: &WebState, (start, end): (i64, i64)) -> Result<Box<dyn Querier>, ApiError> {
    state
        .queryable
        .querier(start, end)
        .map_err(|e| ApiError::internal(e.to_string()))
}

fn storage_error(e: &storage::StorageError) -> ApiError {
    ApiError::internal(e.to_string())
}

/// The time limit of metadata requests: the engine's query timeout.
fn time_limit(state: &WebState) -> Option<std::time::Duration> {
    Some(state.engine.options().timeout)
}

/// The storage hint for an API `limit` (0: none): one more than shown, so that a cut is
/// known and warned about (Prometheus's `toHintLimit`).
fn hint_limit(limit: usize) -> usize {
    if limit == 0 {
        0
    } else {
        limit.saturating_add(1)
    }
}

/// Label names or values over every `match[]` set (all series without one), merged and cut
/// to `limit` as they are read, off the async workers; the storage is asked for no more than
/// `limit + 1` of each (a hint: the TSDB then copies only those).
async fn listed<F>(state: &Arc<WebState>, form: &FormPairs, read: F) -> ApiResult<Vec<String>>
where
    F: Fn(&dyn Querier, &LabelHints, &[Matcher]) -> Result<Vec<String>, storage::StorageError>
        + Send
        + 'static,
{
    let sets = match_sets(form)?;
    let limit = limit(form)?;
    let range = range(form)?;
    let (values, warnings) = off_workers(state, time_limit(state), move |state, cancel| {
        let q = querier(state, range)?;
        let hints = LabelHints::limited(hint_limit(limit));
        let mut out = Limited::new(limit);
        if sets.is_empty() {
            out.extend_sorted(read(q.as_ref(), &hints, &[]).map_err(|e| storage_error(&e))?);
        }
        for set in &sets {
            check(cancel)?;
            out.extend_sorted(read(q.as_ref(), &hints, set).map_err(|e| storage_error(&e))?);
        }
        Ok(out.finish())
    })
    .await?;
    Ok(Success::new(values).with_annotations(warnings, Vec::new()))
}

async fn labels(
    State(state): State<Arc<WebState>>,
    Params(form): Params,
) -> ApiResult<Vec<String>> {
    listed(&state, &form, |q, hints, set| {
        q.label_names(Some(hints), set)
    })
    .await
}

async fn label_values(
    State(state): State<Arc<WebState>>,
    Path(name): Path<String>,
    Params(form): Params,
) -> ApiResult<Vec<String>> {
    let name = decode_label_name(&name)?;
    listed(&state, &form, move |q, hints, set| {
        q.label_values(&name, Some(hints), set)
    })
    .await
}

/// Label names in the path may be written `U__` + Prometheus's UTF-8 escaping
/// (`U__foo_2e_bar` for `foo.bar`).
fn decode_label_name(name: &str) -> Result<String, ApiError> {
    let Some(rest) = name.strip_prefix("U__") else {
        return Ok(name.to_owned());
    };
    let bad = || ApiError::bad_param("label", &format!("invalid label name: {name:?}"));
    let mut out = String::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '_' {
            out.push(c);
            continue;
        }
        if chars.peek() == Some(&'_') {
            chars.next();
            out.push('_');
            continue;
        }
        let hex: String = chars.by_ref().take_while(|&c| c != '_').collect();
        let code = u32::from_str_radix(&hex, 16).map_err(|_| bad())?;
        out.push(char::from_u32(code).ok_or_else(bad)?);
    }
    Ok(out)
}

async fn series(
    State(state): State<Arc<WebState>>,
    Params(form): Params,
) -> ApiResult<Vec<SeriesLabels>> {
    let sets = match_sets(&form)?;
    if sets.is_empty() {
        return Err(ApiError::bad_data("no match[] parameter provided"));
    }
    let limit = limit(&form)?;
    let range = range(&form)?;
    let (found, warnings) = off_workers(&state, time_limit(&state), move |state, cancel| {
        let q = querier(state, range)?;
        let hints = storage::SelectHints {
            start: range.0,
            end: range.1,
            func: Some("series".to_owned()),
            limit: hint_limit(limit),
            ..Default::default()
        };
        let mut out = Limited::new(limit);
        // Each set is read sorted and only as far as `limit + 1` series: the first `limit` of
        // the union are among them.
        let room = if limit == 0 { usize::MAX } else { limit + 1 };
        for set in &sets {
            let selected = q
                .select(true, Some(&hints), set)
                .map_err(|e| storage_error(&e))?;
            for (i, s) in selected.take(room).enumerate() {
                if i % 1024 == 0 {
                    check(cancel)?;
                }
                out.push(s.map_err(|e| storage_error(&e))?.labels().clone());
            }
        }
        Ok(out.finish())
    })
    .await?;
    let out = found.into_iter().map(SeriesLabels).collect();
    Ok(Success::new(out).with_annotations(warnings, Vec::new()))
}

/// A series' labels serialised as a JSON object.
pub struct SeriesLabels(Labels);

impl serde::Serialize for SeriesLabels {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        JsonLabels(&self.0).serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_escaped_names() {
        assert_eq!(decode_label_name("job").unwrap(), "job");
        assert_eq!(decode_label_name("U__foo_2e_bar").unwrap(), "foo.bar");
        assert_eq!(decode_label_name("U__a__b").unwrap(), "a_b");
        assert!(decode_label_name("U__x_zz_").is_err());
    }
}
