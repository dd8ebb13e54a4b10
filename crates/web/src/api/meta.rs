//! `/api/v1/labels`, `/api/v1/label/<name>/values` and `/api/v1/series`.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::routing::get;

use model::{Labels, Matcher};
use storage::Querier;

use crate::WebState;
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

fn limit(form: &FormPairs) -> Result<usize, ApiError> {
    match field(form, "limit") {
        None | Some("") => Ok(0),
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| ApiError::bad_param("limit", "cannot parse limit")),
    }
}

fn querier(state: &WebState, form: &FormPairs) -> Result<Box<dyn Querier>, ApiError> {
    let start = time_param(form, "start", MIN_TIME)?;
    let end = time_param(form, "end", MAX_TIME)?;
    state
        .queryable
        .querier(start, end)
        .map_err(|e| ApiError::internal(e.to_string()))
}

/// Takes the first `limit` entries (0: all), returning a warning when more existed.
fn truncate<T>(v: &mut Vec<T>, limit: usize) -> Vec<String> {
    if limit > 0 && v.len() > limit {
        v.truncate(limit);
        return vec!["results truncated due to limit".to_owned()];
    }
    Vec::new()
}

async fn labels(
    State(state): State<Arc<WebState>>,
    Params(form): Params,
) -> ApiResult<Vec<String>> {
    let sets = match_sets(&form)?;
    let limit = limit(&form)?;
    let q = querier(&state, &form)?;
    let mut names = if sets.is_empty() {
        q.label_names(&[])
            .map_err(|e| ApiError::internal(e.to_string()))?
    } else {
        let mut all = BTreeSet::new();
        for set in &sets {
            all.extend(
                q.label_names(set)
                    .map_err(|e| ApiError::internal(e.to_string()))?,
            );
        }
        all.into_iter().collect()
    };
    let warnings = truncate(&mut names, limit);
    Ok(Success::new(names).with_annotations(warnings, Vec::new()))
}

async fn label_values(
    State(state): State<Arc<WebState>>,
    Path(name): Path<String>,
    Params(form): Params,
) -> ApiResult<Vec<String>> {
    let name = decode_label_name(&name)?;
    let sets = match_sets(&form)?;
    let limit = limit(&form)?;
    let q = querier(&state, &form)?;
    let mut values = if sets.is_empty() {
        q.label_values(&name, &[])
            .map_err(|e| ApiError::internal(e.to_string()))?
    } else {
        let mut all = BTreeSet::new();
        for set in &sets {
            all.extend(
                q.label_values(&name, set)
                    .map_err(|e| ApiError::internal(e.to_string()))?,
            );
        }
        all.into_iter().collect()
    };
    let warnings = truncate(&mut values, limit);
    Ok(Success::new(values).with_annotations(warnings, Vec::new()))
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
    let q = querier(&state, &form)?;
    let mut found = BTreeSet::new();
    for set in &sets {
        let hints = storage::SelectHints {
            func: Some("series".to_owned()),
            ..Default::default()
        };
        for s in q
            .select(false, Some(&hints), set)
            .map_err(|e| ApiError::internal(e.to_string()))?
        {
            let s = s.map_err(|e| ApiError::internal(e.to_string()))?;
            found.insert(s.labels().clone());
        }
    }
    let mut out: Vec<SeriesLabels> = found.into_iter().map(SeriesLabels).collect();
    let warnings = truncate(&mut out, limit);
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
