//! `/federate`: the latest sample (within the lookback delta) of every series matching the
//! `match[]` selectors, in the exposition format the scraper asks for, as Prometheus's
//! federation handler answers.
//!
//! Every family is untyped; samples carry their own timestamps; the configured external labels
//! are added to each series that lacks them, and `instance=""` to each series without an
//! instance, so that a scraper with `honor_labels: true` keeps the series' own identity instead
//! of attaching the federating server's.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use model::exposition::{FamilySample, MetricFamily, MetricType, encode, negotiate};
use model::{Labels, Matcher, is_stale_nan};
use storage::{SelectHints, ValueType};

use crate::WebState;
use crate::api::blocking::off_workers;
use crate::long_uri::FullQuery;

/// Prometheus's default lookback delta.
const DEFAULT_LOOKBACK: Duration = Duration::from_secs(300);

/// The `/federate` handler.
pub async fn federate(
    State(state): State<Arc<WebState>>,
    headers: HeaderMap,
    FullQuery(raw): FullQuery,
) -> Response {
    let mut selectors: Vec<String> =
        url::form_urlencoded::parse(raw.unwrap_or_default().as_bytes())
            .filter(|(k, _)| k == "match[]")
            .map(|(_, v)| v.into_owned())
            .collect();
    selectors.dedup();
    let mut sets: Vec<Vec<Matcher>> = Vec::with_capacity(selectors.len());
    for s in &selectors {
        match promql::parser::parse_metric_selector(s) {
            Ok(set) => sets.push(set),
            Err(e) => return (StatusCode::BAD_REQUEST, format!("{e}\n")).into_response(),
        }
    }
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let lookback = if state.options.lookback_delta.is_zero() {
        DEFAULT_LOOKBACK
    } else {
        state.options.lookback_delta
    };
    let external = state.external_labels.read().clone();
    let now = jiff::Timestamp::now().as_millisecond();
    // Off the async workers, stopped when the scraper goes away; errors in plain text, as
    // Prometheus's federation handler writes them.
    let joined = off_workers(&state, None, move |state, cancel| {
        let samples = latest_samples(state, &sets, now, lookback, cancel)
            .map_err(crate::api::ApiError::internal)?;
        Ok(families(samples, &external))
    })
    .await;
    let families = match joined {
        Ok(f) => f,
        Err(e) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("{}\n", e.message),
            )
                .into_response();
        }
    };
    let (format, content_type) = negotiate(accept.as_deref());
    let body = if families.is_empty() && format == model::exposition::Format::Text {
        String::new()
    } else {
        encode(&families, format)
    };
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// The newest non-stale float sample in `[now - lookback, now]` of each series matching any
/// set, keyed (and so de-duplicated and sorted) by labels.
fn latest_samples(
    state: &WebState,
    sets: &[Vec<Matcher>],
    now: i64,
    lookback: Duration,
    cancel: &AtomicBool,
) -> Result<BTreeMap<Labels, (i64, f64)>, String> {
    let mint = now - i64::try_from(lookback.as_millis()).unwrap_or(i64::MAX / 2);
    let mut out = BTreeMap::new();
    if sets.is_empty() {
        return Ok(out);
    }
    let q = state
        .queryable
        .querier(mint, now)
        .map_err(|e| e.to_string())?;
    let hints = SelectHints {
        start: mint,
        end: now,
        ..SelectHints::default()
    };
    for set in sets {
        for series in q
            .select(false, Some(&hints), set)
            .map_err(|e| e.to_string())?
        {
            if cancel.load(Ordering::Acquire) {
                return Err("federation canceled".to_owned());
            }
            let series = series.map_err(|e| e.to_string())?;
            if out.contains_key(series.labels()) {
                continue;
            }
            let mut it = series.iter();
            let mut last: Option<(i64, f64)> = None;
            let mut vt = it.seek(mint);
            while vt != ValueType::None {
                if it.at_t() > now {
                    break;
                }
                // Native histograms are not federated in the text formats (as Prometheus).
                last = match vt {
                    ValueType::Float => Some(it.at()),
                    _ => None,
                };
                vt = it.next();
            }
            if let Some(e) = it.err() {
                return Err(e.to_string());
            }
            if let Some((t, v)) = last
                && !is_stale_nan(v)
            {
                out.insert(series.labels().clone(), (t, v));
            }
        }
    }
    Ok(out)
}

/// Untyped families by metric name, each series with the external labels it lacks and
/// `instance=""` when it has no instance.
fn families(samples: BTreeMap<Labels, (i64, f64)>, external: &Labels) -> Vec<MetricFamily> {
    let mut by_name: BTreeMap<String, Vec<FamilySample>> = BTreeMap::new();
    for (labels, (t, v)) in samples {
        let Some(name) = labels.metric_name().map(str::to_owned) else {
            continue;
        };
        let mut pairs: Vec<(String, String)> = labels
            .iter()
            .map(|l| (l.name.to_owned(), l.value.to_owned()))
            .collect();
        let has = |pairs: &[(String, String)], n: &str| pairs.iter().any(|(k, _)| k == n);
        for l in external {
            if !has(&pairs, l.name) {
                pairs.push((l.name.to_owned(), l.value.to_owned()));
            }
        }
        if !has(&pairs, "instance") {
            pairs.push(("instance".to_owned(), String::new()));
        }
        by_name.entry(name).or_default().push(FamilySample {
            labels: Labels::from_pairs(pairs),
            value: v,
            timestamp: Some(t),
            exemplar: None,
        });
    }
    by_name
        .into_iter()
        .map(|(name, samples)| MetricFamily {
            samples,
            ..MetricFamily::new(name, MetricType::Unknown)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn external_labels_and_empty_instance() {
        let mut samples = BTreeMap::new();
        samples.insert(
            model::labels!("__name__" => "up", "job" => "a", "instance" => "h:1"),
            (1000, 1.0),
        );
        samples.insert(
            model::labels!("__name__" => "job:rate", "job" => "a", "region" => "own"),
            (2000, 0.5),
        );
        let ext = model::labels!("region" => "eu", "replica" => "1");
        let text = encode(&families(samples, &ext), model::exposition::Format::Text);
        assert_eq!(
            text,
            "# TYPE job:rate untyped\n\
             job:rate{instance=\"\",job=\"a\",region=\"own\",replica=\"1\"} 0.5 2000\n\
             # TYPE up untyped\n\
             up{instance=\"h:1\",job=\"a\",region=\"eu\",replica=\"1\"} 1 1000\n"
        );
    }
}
