//! `PodMonitor` (monitoring.coreos.com/v1) into scrape configurations, one per
//! `podMetricsEndpoints` entry, as the Operator's `generatePodMonitorConfig` writes them
//! (prometheus-operator's `pkg/prometheus/promcfg.go`): job `podMonitor/<namespace>/<name>/<i>`,
//! the pod role in the selected namespaces, the running filter, the selector and the port as
//! `keep` rules, namespace/container/pod labels, `podTargetLabels`, job `<namespace>/<name>`
//! overridden by `jobLabel`, the `endpoint` label, the scrape class's then the user's
//! relabelings, then sharding.

use serde::Deserialize;
use serde_json::{Value, json};

use crate::assets::Assets;
use crate::endpoint::{
    AttachMetadata, EndpointOptions, ScrapeLimits, attach_metadata, client_fields, config_head,
    config_tail,
};
use crate::error::OperatorError;
use crate::options::ScrapeOptions;
use crate::relabel::{RelabelConfig, sanitize_label_name, sharding};
use crate::scrapeclass::{self, class_for};
use crate::servicemonitor::{
    IntOrString, LabelSelector, NamespaceSelector, ObjectMeta, meta_label, namespaces,
    selector_rules,
};

/// A `PodMonitor` object (the fields the translation reads).
#[derive(Debug, Clone, Deserialize)]
pub struct PodMonitor {
    /// `metadata`.
    pub metadata: ObjectMeta,
    /// `spec`.
    pub spec: PodMonitorSpec,
}

/// `PodMonitor.spec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMonitorSpec {
    /// The pod label whose value becomes `job`.
    #[serde(default)]
    pub job_label: String,
    /// Pod labels copied onto the targets.
    #[serde(default)]
    pub pod_target_labels: Vec<String>,
    /// The endpoints to scrape, one scrape configuration each.
    #[serde(default)]
    pub pod_metrics_endpoints: Vec<PodMetricsEndpoint>,
    /// Which pods.
    #[serde(default)]
    pub selector: LabelSelector,
    /// In which namespaces.
    #[serde(default)]
    pub namespace_selector: NamespaceSelector,
    /// `sampleLimit`, `targetLimit`, the label limits and `keepDroppedTargets`.
    #[serde(flatten)]
    pub limits: ScrapeLimits,
    /// `attachMetadata`.
    pub attach_metadata: Option<AttachMetadata>,
    /// `scrapeClass`: the section's scrape class applied (its default one when unset).
    pub scrape_class: Option<String>,
}

/// One of `spec.podMetricsEndpoints`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetricsEndpoint {
    /// The container port's name.
    #[serde(default)]
    pub port: String,
    /// The container port's number (when `port` is empty).
    pub port_number: Option<u32>,
    /// Deprecated: the port by name or number (when neither of the above is set).
    pub target_port: Option<IntOrString>,
    /// The scrape options shared with `ServiceMonitor` endpoints.
    #[serde(flatten)]
    pub options: EndpointOptions,
}

/// The scrape configurations the Operator generates for `pm`, one per endpoint.
///
/// # Errors
/// A Secret or ConfigMap value an endpoint references cannot be read from `assets` (the
/// Operator rejects the monitor then).
pub fn pod_scrape_configs(
    pm: &PodMonitor,
    options: impl Into<ScrapeOptions>,
    assets: &Assets,
) -> Result<Vec<Value>, OperatorError> {
    let options = options.into();
    (0..pm.spec.pod_metrics_endpoints.len())
        .map(|i| endpoint_config(pm, i, &options, assets))
        .collect()
}

/// The port the endpoint names: its keep rule's source label and the `endpoint` label's value.
fn port(ep: &PodMetricsEndpoint) -> Option<(&'static str, String)> {
    const NAME: &str = "__meta_kubernetes_pod_container_port_name";
    const NUMBER: &str = "__meta_kubernetes_pod_container_port_number";
    if !ep.port.is_empty() {
        return Some((NAME, ep.port.clone()));
    }
    if let Some(n) = ep.port_number.filter(|n| *n != 0) {
        return Some((NUMBER, n.to_string()));
    }
    match ep.target_port.as_ref()? {
        IntOrString::String(s) if !s.is_empty() => Some((NAME, s.clone())),
        IntOrString::Int(n) if *n != 0 => Some((NUMBER, n.to_string())),
        _ => None,
    }
}

fn endpoint_config(
    pm: &PodMonitor,
    i: usize,
    options: &ScrapeOptions,
    assets: &Assets,
) -> Result<Value, OperatorError> {
    let ep = &pm.spec.pod_metrics_endpoints[i];
    let (ns, name) = (&pm.metadata.namespace, &pm.metadata.name);
    let class = class_for(&options.scrape_classes, pm.spec.scrape_class.as_deref())?;
    let opts = &scrapeclass::apply(&ep.options, class);
    let mut cfg = config_head(
        &format!("podMonitor/{ns}/{name}/{i}"),
        "pod",
        &namespaces(&pm.spec.namespace_selector, ns),
        opts,
    );
    client_fields(&mut cfg, opts, &pm.metadata.namespace, assets)?;
    attach_metadata(
        &mut cfg,
        pm.spec
            .attach_metadata
            .as_ref()
            .or(class.and_then(|c| c.attach_metadata.as_ref())),
    );

    let mut rules =
        vec![json!({"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"})];
    if opts.filter_running.unwrap_or(true) {
        rules.push(json!({"action": "drop", "source_labels": ["__meta_kubernetes_pod_phase"], "regex": "(Failed|Succeeded)"}));
    }
    rules.extend(selector_rules(&pm.spec.selector, "pod"));
    let port = port(ep);
    if let Some((meta, value)) = &port {
        rules.push(json!({"action": "keep", "source_labels": [meta], "regex": value}));
    }
    for (meta, label) in [
        ("__meta_kubernetes_namespace", "namespace"),
        ("__meta_kubernetes_pod_container_name", "container"),
        ("__meta_kubernetes_pod_name", "pod"),
    ] {
        rules.push(json!({"source_labels": [meta], "target_label": label}));
    }
    let copy = |l: &str, target: String| {
        json!({"source_labels": [meta_label("pod", l)], "target_label": target,
               "regex": "(.+)", "replacement": "${1}"})
    };
    for l in &pm.spec.pod_target_labels {
        rules.push(copy(l, sanitize_label_name(l)));
    }
    rules.push(json!({"target_label": "job", "replacement": format!("{ns}/{name}")}));
    if !pm.spec.job_label.is_empty() {
        rules.push(copy(&pm.spec.job_label, "job".into()));
    }
    if let Some((_, value)) = port {
        rules.push(json!({"target_label": "endpoint", "replacement": value}));
    }
    let class_relabelings = class.map(|c| c.relabelings.as_slice()).unwrap_or_default();
    rules.extend(
        class_relabelings
            .iter()
            .chain(&opts.relabelings)
            .map(RelabelConfig::to_value),
    );
    rules.extend(sharding("__address__", options.sharding));
    cfg.insert("relabel_configs".into(), Value::Array(rules));

    config_tail(&mut cfg, &pm.spec.limits.entries(), opts);
    Ok(Value::Object(cfg))
}
