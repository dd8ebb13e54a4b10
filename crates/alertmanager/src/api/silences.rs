//! `/api/v2/silences` (GET with filters, POST create and update) and `/api/v2/silence/{id}`
//! (GET, DELETE).

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{ApiState, api_time, error, filters, json, params};
use crate::alert::zero_time;
use crate::error::SilenceError;
use crate::labels::LabelSet;
use crate::silence::{Silence, SilenceMatcher, SilenceState};

#[derive(Serialize)]
struct SilenceStatus {
    state: &'static str,
}

#[derive(Serialize)]
struct MatcherOut<'a> {
    #[serde(rename = "isEqual")]
    is_equal: bool,
    #[serde(rename = "isRegex")]
    is_regex: bool,
    name: &'a str,
    value: &'a str,
}

/// `gettableSilence`, fields in go-swagger's order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableSilence<'a> {
    id: &'a str,
    status: SilenceStatus,
    updated_at: String,
    comment: &'a str,
    created_by: &'a str,
    ends_at: String,
    matchers: Vec<MatcherOut<'a>>,
    starts_at: String,
}

fn gettable(s: &Silence, now: Timestamp) -> GettableSilence<'_> {
    GettableSilence {
        id: &s.id,
        status: SilenceStatus {
            state: s.state(now).as_str(),
        },
        updated_at: api_time(s.updated_at),
        comment: &s.comment,
        created_by: &s.created_by,
        ends_at: api_time(s.ends_at),
        matchers: s
            .matchers
            .iter()
            .map(|m| MatcherOut {
                is_equal: m.is_equal,
                is_regex: m.is_regex,
                name: &m.name,
                value: &m.value,
            })
            .collect(),
        starts_at: api_time(s.starts_at),
    }
}

/// Whether the silence's matchers all appear among the filter's (as Alertmanager's
/// `CheckSilenceMatchesFilterLabels`: the filter is applied to the silence's equality matchers
/// taken as labels).
fn matches_filter(s: &Silence, f: &[crate::matcher::Matcher]) -> bool {
    let labels: LabelSet = s
        .matchers
        .iter()
        .filter(|m| !m.is_regex && m.is_equal)
        .map(|m| (m.name.clone(), m.value.clone()))
        .collect();
    f.iter().all(|m| {
        if m.is_regex() {
            // A regular-expression filter matches the silence's matcher of that name by its
            // text.
            s.matchers
                .iter()
                .any(|sm| sm.name == m.name && m.matches(&sm.value))
        } else {
            m.matches_set(&labels)
        }
    })
}

pub(super) async fn get_silences(State(s): State<ApiState>, RawQuery(q): RawQuery) -> Response {
    let f = match filters(&params(q.as_deref())) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let now = Timestamp::now();
    let mut list: Vec<Silence> =
        s.am.silences
            .list()
            .into_iter()
            .filter(|x| matches_filter(x, &f))
            .collect();
    list.sort_by(|a, b| {
        let (sa, sb) = (a.state(now), b.state(now));
        if sa != sb {
            return sa.cmp(&sb);
        }
        if sa == SilenceState::Expired {
            b.ends_at.cmp(&a.ends_at)
        } else {
            a.ends_at.cmp(&b.ends_at)
        }
    });
    let out: Vec<GettableSilence<'_>> = list.iter().map(|x| gettable(x, now)).collect();
    json(StatusCode::OK, &out)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableSilence {
    #[serde(default)]
    id: String,
    matchers: Vec<SilenceMatcher>,
    starts_at: Timestamp,
    ends_at: Timestamp,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
}

pub(super) async fn post_silence(State(s): State<ApiState>, body: axum::body::Bytes) -> Response {
    let p: PostableSilence = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("parsing silence body from \"\" failed, because {e}"),
            );
        }
    };
    if p.starts_at >= p.ends_at {
        return error(
            StatusCode::BAD_REQUEST,
            "Failed to create silence: start time must be before end time",
        );
    }
    if p.ends_at < Timestamp::now() {
        return error(
            StatusCode::BAD_REQUEST,
            "Failed to create silence: end time can't be in the past",
        );
    }
    let sil = Silence {
        id: p.id,
        matchers: p.matchers,
        starts_at: p.starts_at,
        ends_at: p.ends_at,
        updated_at: zero_time(),
        created_by: p.created_by,
        comment: p.comment,
    };
    match s.am.silences.set_durable(sil) {
        Ok((id, durable)) => match durable.wait().await {
            Ok(()) => json(StatusCode::OK, &serde_json::json!({ "silenceID": id })),
            Err(e) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot persist the silence: {e}"),
            ),
        },
        Err(SilenceError::NotFound) => error(StatusCode::NOT_FOUND, "silence not found"),
        Err(e) => error(StatusCode::BAD_REQUEST, &e.to_string()),
    }
}

pub(super) async fn get_silence(State(s): State<ApiState>, Path(id): Path<String>) -> Response {
    match s.am.silences.get(&id) {
        Some(x) => json(StatusCode::OK, &gettable(&x, Timestamp::now())),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

pub(super) async fn delete_silence(State(s): State<ApiState>, Path(id): Path<String>) -> Response {
    match s.am.silences.expire_durable(&id) {
        Ok(durable) => match durable.wait().await {
            Ok(()) => StatusCode::OK.into_response(),
            Err(e) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                &format!("cannot persist the silence: {e}"),
            ),
        },
        // Alertmanager 0.25 answers an unknown id with 500 and the store's text.
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}
