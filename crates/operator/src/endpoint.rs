//! What `ServiceMonitor` endpoints and `PodMonitor` endpoints share: the scrape options of
//! their CRDs, and the parts of the scrape configuration the Operator writes the same way for
//! both (`pkg/prometheus/promcfg.go`'s common endpoint handling).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::relabel::RelabelConfig;

/// The scrape options both endpoint kinds carry (flattened into each).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointOptions {
    /// `metrics_path`.
    #[serde(default)]
    pub path: String,
    /// `http` or `https`.
    pub scheme: Option<String>,
    /// URL parameters.
    pub params: Option<BTreeMap<String, Vec<String>>>,
    /// `scrape_interval`.
    #[serde(default)]
    pub interval: String,
    /// `scrape_timeout`.
    #[serde(default)]
    pub scrape_timeout: String,
    /// `honor_labels`.
    #[serde(default)]
    pub honor_labels: bool,
    /// `honor_timestamps`.
    pub honor_timestamps: Option<bool>,
    /// Drop pods that are not running (default true).
    pub filter_running: Option<bool>,
    /// Relabelings applied after the Operator's own (`relabelings`).
    #[serde(default)]
    pub relabelings: Vec<RelabelConfig>,
    /// `metric_relabel_configs` (`metricRelabelings`).
    #[serde(default)]
    pub metric_relabelings: Vec<RelabelConfig>,
}

/// The start of an endpoint's scrape configuration: job name, honor options, the Kubernetes SD
/// section for `role` in `namespaces` (none: all), interval, timeout, path, params and scheme.
pub(crate) fn config_head(
    job_name: &str,
    role: &str,
    namespaces: &[String],
    opts: &EndpointOptions,
) -> Map<String, Value> {
    let mut cfg = Map::new();
    cfg.insert("job_name".into(), json!(job_name));
    cfg.insert("honor_labels".into(), json!(opts.honor_labels));
    if let Some(h) = opts.honor_timestamps {
        cfg.insert("honor_timestamps".into(), json!(h));
    }
    let mut sd = Map::new();
    sd.insert("role".into(), json!(role));
    if !namespaces.is_empty() {
        sd.insert("namespaces".into(), json!({ "names": namespaces }));
    }
    cfg.insert("kubernetes_sd_configs".into(), json!([sd]));
    for (key, value) in [
        ("scrape_interval", &opts.interval),
        ("scrape_timeout", &opts.scrape_timeout),
        ("metrics_path", &opts.path),
    ] {
        if !value.is_empty() {
            cfg.insert(key.into(), json!(value));
        }
    }
    if let Some(p) = &opts.params {
        cfg.insert("params".into(), json!(p));
    }
    if let Some(s) = &opts.scheme {
        cfg.insert("scheme".into(), json!(s));
    }
    cfg
}

/// The end of an endpoint's scrape configuration: the limits that are set, then the metric
/// relabelings.
pub(crate) fn config_tail(
    cfg: &mut Map<String, Value>,
    limits: &[(&str, Option<u64>)],
    opts: &EndpointOptions,
) {
    for (key, limit) in limits {
        if let Some(n) = limit {
            cfg.insert((*key).into(), json!(n));
        }
    }
    if !opts.metric_relabelings.is_empty() {
        let m = opts.metric_relabelings.iter().map(RelabelConfig::to_value);
        cfg.insert("metric_relabel_configs".into(), Value::Array(m.collect()));
    }
}
