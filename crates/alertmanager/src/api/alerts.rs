//! `/api/v2/alerts` (GET with filters, POST) and `/api/v2/alerts/groups`.

use std::cmp::Ordering;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use super::{ApiState, api_time, error, filters, flag, json_list, params};
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

/// `gettableAlert`, written with go-swagger's field order; holds the stored alert (its labels,
/// annotations and URL are not copied) and formats the times and the fingerprint as it is
/// written, so a GET of every alert keeps no text per alert before it is sent.
struct GettableAlert {
    alert: Arc<Alert>,
    fingerprint: u64,
    receivers: Vec<Receiver>,
    status: Status,
}

impl Serialize for GettableAlert {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let a = &*self.alert;
        let url = !a.generator_url.is_empty();
        let mut st = s.serialize_struct("gettableAlert", 8 + usize::from(url))?;
        st.serialize_field("annotations", &a.annotations)?;
        st.serialize_field("endsAt", &api_time(a.ends_at))?;
        st.serialize_field("fingerprint", &fingerprint_string(self.fingerprint))?;
        st.serialize_field("receivers", &self.receivers)?;
        st.serialize_field("startsAt", &api_time(a.starts_at))?;
        st.serialize_field("status", &self.status)?;
        st.serialize_field("updatedAt", &api_time(a.updated_at))?;
        if url {
            st.serialize_field("generatorURL", &a.generator_url)?;
        }
        st.serialize_field("labels", &a.labels)?;
        st.end()
    }
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
fn gettable(
    am: &Alertmanager,
    a: &Arc<Alert>,
    f: &Filter,
    now: Timestamp,
) -> Option<GettableAlert> {
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
        alert: a.clone(),
        fingerprint: a.fingerprint(),
        receivers: receivers
            .into_iter()
            .map(|name| Receiver { name })
            .collect(),
        status: Status {
            inhibited_by: st.inhibited_by,
            silenced_by: st.silenced_by,
            state: st.state.as_str(),
        },
    })
}

pub(super) async fn get_alerts(State(s): State<ApiState>, RawQuery(q): RawQuery) -> Response {
    let f = match parse_filter(q.as_deref()) {
        Ok(f) => f,
        Err(e) => return error(StatusCode::BAD_REQUEST, &e),
    };
    let now = Timestamp::now();
    let mut out: Vec<GettableAlert> =
        s.am.alerts
            .list()
            .iter()
            .filter_map(|a| gettable(&s.am, a, &f, now))
            .collect();
    // By the fingerprint's text: 16 zero-padded hex digits sort as the number does.
    out.sort_by_key(|a| a.fingerprint);
    json_list(out)
}

#[derive(Serialize)]
struct AlertGroup {
    alerts: Vec<GettableAlert>,
    labels: LabelSet,
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
    let mut out: Vec<AlertGroup> = Vec::new();
    for g in s.am.dispatcher().groups() {
        if f.receiver
            .as_ref()
            .is_some_and(|re| !re.is_match(&g.route.opts.receiver))
        {
            continue;
        }
        let alerts: Vec<GettableAlert> = g
            .alerts()
            .iter()
            .filter_map(|a| gettable(&s.am, a, &per_alert, now))
            .collect();
        if alerts.is_empty() {
            continue;
        }
        out.push(AlertGroup {
            alerts,
            labels: g.labels.clone(),
            receiver: Receiver {
                name: g.route.opts.receiver.clone(),
            },
        });
    }
    out.sort_by(|a, b| match label_set_cmp(&a.labels, &b.labels) {
        Ordering::Equal => a.receiver.name.cmp(&b.receiver.name),
        o => o,
    });
    json_list(out)
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
