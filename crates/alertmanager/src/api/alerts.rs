//! `/api/v2/alerts` (GET with filters, POST) and `/api/v2/alerts/groups`.

use std::cmp::Ordering;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{ApiState, api_time, error, filters, flag, json, params};
use crate::alert::{Alert, is_zero, label_set_cmp, zero_time};
use crate::labels::{LabelSet, fingerprint_string, is_valid_label_name};
use crate::matcher::Matcher;
use crate::server::Alertmanager;

#[derive(Serialize)]
pub(super) struct Receiver {
    pub(super) name: String,
}

#[derive(Serialize)]
struct Status {
    #[serde(rename = "inhibitedBy")]
    inhibited_by: Vec<String>,
    #[serde(rename = "silencedBy")]
    silenced_by: Vec<String>,
    state: &'static str,
}

fn str_is_empty(s: &&str) -> bool {
    s.is_empty()
}

/// `gettableAlert`, fields in go-swagger's order; borrows the stored alert's labels,
/// annotations and URL (a GET of every alert copies none of them).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct GettableAlert<'a> {
    annotations: &'a LabelSet,
    ends_at: String,
    fingerprint: String,
    receivers: Vec<Receiver>,
    starts_at: String,
    status: Status,
    updated_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "str_is_empty")]
    generator_url: &'a str,
    labels: &'a LabelSet,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PostableAlert {
    #[serde(default)]
    labels: Option<LabelSet>,
    #[serde(default)]
    annotations: LabelSet,
    #[serde(default)]
    starts_at: Option<Timestamp>,
    #[serde(default)]
    ends_at: Option<Timestamp>,
    #[serde(default, rename = "generatorURL")]
    generator_url: String,
}

struct Filter {
    matchers: Vec<Matcher>,
    receiver: Option<regex::Regex>,
    silenced: bool,
    inhibited: bool,
    active: bool,
    unprocessed: bool,
}

fn parse_filter(q: Option<&str>) -> Result<Filter, String> {
    let ps = params(q);
    let receiver = match ps.iter().rev().find(|(k, _)| k == "receiver") {
        Some((_, r)) if !r.is_empty() => Some(crate::matcher::compile(r)?),
        _ => None,
    };
    Ok(Filter {
        matchers: filters(&ps)?,
        receiver,
        silenced: flag(&ps, "silenced", true)?,
        inhibited: flag(&ps, "inhibited", true)?,
        active: flag(&ps, "active", true)?,
        unprocessed: flag(&ps, "unprocessed", true)?,
    })
}

/// The alert as the API shows it, when the filter keeps it.
fn gettable<'a>(
    am: &Alertmanager,
    a: &'a Alert,
    f: &Filter,
    now: Timestamp,
) -> Option<GettableAlert<'a>> {
    if !is_zero(a.ends_at) && a.ends_at < now {
        return None;
    }
    let receivers: Vec<String> = am
        .dispatcher()
        .route()
        .matches(&a.labels)
        .iter()
        .map(|r| r.opts.receiver.clone())
        .collect();
    if let Some(re) = &f.receiver
        && !receivers.iter().any(|r| re.is_match(r))
    {
        return None;
    }
    // The status as of now: inhibition and silences looked up again.
    am.inhibitor().mutes(&a.labels);
    crate::notify::mute::Muter::mutes(
        &crate::notify::mute::Silencer {
            silences: am.silences.clone(),
            marker: am.marker.clone(),
        },
        &a.labels,
    );
    let st = am.marker.status(a.fingerprint());
    use crate::marker::AlertState as S;
    if (!f.active && st.state == S::Active)
        || (!f.unprocessed && st.state == S::Unprocessed)
        || (!f.silenced && !st.silenced_by.is_empty())
        || (!f.inhibited && !st.inhibited_by.is_empty())
    {
        return None;
    }
    if !f.matchers.iter().all(|m| m.matches_set(&a.labels)) {
        return None;
    }
    Some(GettableAlert {
        annotations: &a.annotations,
        ends_at: api_time(a.ends_at),
        fingerprint: fingerprint_string(a.fingerprint()),
        receivers: receivers
            .into_iter()
            .map(|name| Receiver { name })
            .collect(),
        starts_at: api_time(a.starts_at),
        status: Status {
            inhibited_by: st.inhibited_by,
            silenced_by: st.silenced_by,
            state: st.state.as_str(),
        },
        updated_at: api_time(a.updated_at),
        generator_url: &a.generator_url,
        labels: &a.labels,
    })
}

pub(super) async fn get_alerts(State(s): State<ApiState>, RawQuery(q): RawQuery) -> Response {
    let f = match parse_filter(q.as_deref()) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let now = Timestamp::now();
    let list = s.am.alerts.list();
    let mut out: Vec<GettableAlert<'_>> = list
        .iter()
        .filter_map(|a| gettable(&s.am, a, &f, now))
        .collect();
    out.sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));
    json(StatusCode::OK, &out)
}

#[derive(Serialize)]
struct AlertGroup<'a> {
    alerts: Vec<GettableAlert<'a>>,
    labels: &'a LabelSet,
    receiver: Receiver,
}

pub(super) async fn get_groups(State(s): State<ApiState>, RawQuery(q): RawQuery) -> Response {
    let f = match parse_filter(q.as_deref()) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let now = Timestamp::now();
    let per_alert = Filter {
        receiver: None,
        ..clone_filter(&f)
    };
    // The groups with their alerts first (held here), then the views borrowing them.
    let held: Vec<_> =
        s.am.dispatcher()
            .groups()
            .into_iter()
            .filter(|g| {
                f.receiver
                    .as_ref()
                    .is_none_or(|re| re.is_match(&g.route.opts.receiver))
            })
            .map(|g| {
                let alerts = g.alerts();
                (g, alerts)
            })
            .collect();
    let mut out: Vec<AlertGroup<'_>> = Vec::new();
    for (g, alerts) in &held {
        let alerts: Vec<GettableAlert<'_>> = alerts
            .iter()
            .filter_map(|a| gettable(&s.am, a, &per_alert, now))
            .collect();
        if alerts.is_empty() {
            continue;
        }
        out.push(AlertGroup {
            alerts,
            labels: &g.labels,
            receiver: Receiver {
                name: g.route.opts.receiver.clone(),
            },
        });
    }
    out.sort_by(|a, b| match label_set_cmp(a.labels, b.labels) {
        Ordering::Equal => a.receiver.name.cmp(&b.receiver.name),
        o => o,
    });
    json(StatusCode::OK, &out)
}

fn clone_filter(f: &Filter) -> Filter {
    Filter {
        matchers: f.matchers.clone(),
        receiver: f.receiver.clone(),
        silenced: f.silenced,
        inhibited: f.inhibited,
        active: f.active,
        unprocessed: f.unprocessed,
    }
}

fn validate(a: &Alert) -> Result<(), String> {
    if is_zero(a.starts_at) {
        return Err("start time missing".to_owned());
    }
    if !is_zero(a.ends_at) && a.ends_at < a.starts_at {
        return Err("start time must be before end time".to_owned());
    }
    for n in a.labels.keys() {
        if !is_valid_label_name(n) {
            return Err(format!("invalid label set: invalid name {n:?}"));
        }
    }
    if a.labels.is_empty() {
        return Err("at least one label pair required".to_owned());
    }
    for n in a.annotations.keys() {
        if !is_valid_label_name(n) {
            return Err(format!("invalid annotations: invalid name {n:?}"));
        }
    }
    Ok(())
}

pub(super) async fn post_alerts(State(s): State<ApiState>, body: axum::body::Bytes) -> Response {
    let posted: Vec<PostableAlert> = match serde_json::from_slice(&body) {
        Ok(p) => p,
        Err(e) => {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("parsing alerts body from \"\" failed, because {e}"),
            );
        }
    };
    let now = Timestamp::now();
    let resolve = SignedDuration::try_from(s.am.config().global().resolve_timeout.to_std())
        .unwrap_or(SignedDuration::MAX);
    let mut valid = Vec::with_capacity(posted.len());
    let mut errors = Vec::new();
    // Counted here, added to the metrics once per POST (not a label lookup per alert).
    let (mut firing, mut resolved, mut invalid) = (0u64, 0u64, 0u64);
    for p in posted {
        let Some(mut labels) = p.labels else {
            errors.push("labels in body is required".to_owned());
            continue;
        };
        labels.retain(|_, v| !v.is_empty());
        let mut annotations = p.annotations;
        annotations.retain(|_, v| !v.is_empty());
        let mut a = Alert {
            labels,
            annotations,
            starts_at: p.starts_at.unwrap_or_else(zero_time),
            ends_at: p.ends_at.unwrap_or_else(zero_time),
            generator_url: p.generator_url,
            updated_at: now,
            timeout: false,
        };
        if is_zero(a.starts_at) {
            a.starts_at = if is_zero(a.ends_at) { now } else { a.ends_at };
        }
        if is_zero(a.ends_at) {
            a.timeout = true;
            a.ends_at = now.checked_add(resolve).unwrap_or(now);
        }
        if a.ends_at > now {
            firing += 1;
        } else {
            resolved += 1;
        }
        match validate(&a) {
            Ok(()) => valid.push(a),
            Err(e) => {
                invalid += 1;
                errors.push(e);
            }
        }
    }
    let m = &s.am.metrics;
    for (status, n) in [("firing", firing), ("resolved", resolved)] {
        if n > 0 {
            m.alerts_received
                .with_label_values(&[status, "v2"])
                .inc_by_u64(n);
        }
    }
    if invalid > 0 {
        m.alerts_invalid
            .with_label_values(&["v2"])
            .inc_by_u64(invalid);
    }
    // Acknowledged only once on disk: an alert answered 200 survives a crash.
    if let Err(e) = s.am.alerts.put(valid).wait().await {
        tracing::error!(err = %e, "persisting alerts");
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot persist the alerts: {e}"),
        );
    }
    if !errors.is_empty() {
        return error(StatusCode::BAD_REQUEST, &errors.join("; "));
    }
    StatusCode::OK.into_response()
}
