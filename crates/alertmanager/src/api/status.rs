//! `/api/v2/status`, `/api/v2/receivers`, `/-/reload` and `/metrics`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use super::alerts::Receiver;
use super::{ApiState, api_time, json};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VersionInfo {
    branch: &'static str,
    build_date: &'static str,
    build_user: &'static str,
    go_version: &'static str,
    revision: &'static str,
    version: &'static str,
}

#[derive(Serialize)]
struct Cluster {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    peers: Vec<crate::cluster::PeerStatus>,
    status: &'static str,
}

#[derive(Serialize)]
struct Original {
    original: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct StatusOut {
    cluster: Cluster,
    config: Original,
    uptime: String,
    version_info: VersionInfo,
}

pub(super) async fn get_status(State(s): State<ApiState>) -> Response {
    let out = StatusOut {
        cluster: match &s.am.cluster {
            Some(c) => Cluster {
                name: Some(c.name().to_owned()),
                peers: c.members(),
                status: c.status(),
            },
            None => Cluster {
                name: None,
                peers: Vec::new(),
                status: "disabled",
            },
        },
        config: Original {
            original: s.am.config().to_yaml(),
        },
        uptime: api_time(s.am.started),
        version_info: VersionInfo {
            // The API version amtool compares with its own (it warns on a difference);
            // Firewatch's own version is in `revision`.
            branch: "firewatch",
            build_date: "",
            build_user: "",
            go_version: "",
            revision: concat!("firewatch-", env!("CARGO_PKG_VERSION")),
            version: super::API_VERSION,
        },
    };
    json(StatusCode::OK, &out)
}

pub(super) async fn get_receivers(State(s): State<ApiState>) -> Response {
    let out: Vec<Receiver> =
        s.am.config()
            .receivers
            .iter()
            .map(|r| Receiver {
                name: r.name.clone(),
            })
            .collect();
    json(StatusCode::OK, &out)
}

pub(super) async fn reload(State(s): State<ApiState>) -> Response {
    let am = s.am.clone();
    match tokio::task::spawn_blocking(move || am.reload()).await {
        Ok(Ok(())) => StatusCode::OK.into_response(),
        Ok(Err(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("failed to reload config: {e}"),
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

pub(super) async fn metrics(State(s): State<ApiState>) -> Response {
    s.am.update_gauges();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        s.registry.encode(metrics::Format::Text),
    )
        .into_response()
}
