//! `ServiceMonitor` (monitoring.coreos.com/v1) into scrape configurations, one per endpoint, as
//! the Operator's `generateServiceMonitorConfig` writes them (prometheus-operator's
//! `pkg/prometheus/promcfg.go`): job `serviceMonitor/<namespace>/<name>/<index>`, the endpoints
//! role (or with `serviceDiscoveryRole: EndpointSlice` the endpointslice role and its meta
//! labels) in the selected namespaces, the selector and the port as `keep` rules, the Operator's
//! target labels, the scrape class's then the user's relabelings and the sharding rules last.

use std::collections::BTreeMap;

use config::operator::ServiceDiscoveryRole;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::assets::Assets;
use crate::endpoint::{
    AttachMetadata, EndpointOptions, attach_metadata, client_fields, config_head, config_tail,
};
use crate::error::OperatorError;
use crate::options::ScrapeOptions;
use crate::relabel::{RelabelConfig, sanitize_label_name, sharding};
use crate::scrapeclass::{self, class_for};

/// A `ServiceMonitor` object (the fields the translation reads).
#[derive(Debug, Clone, Deserialize)]
pub struct ServiceMonitor {
    /// `metadata`.
    pub metadata: ObjectMeta,
    /// `spec`.
    pub spec: ServiceMonitorSpec,
}

/// An object's name and namespace.
#[derive(Debug, Clone, Deserialize)]
pub struct ObjectMeta {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace`.
    #[serde(default)]
    pub namespace: String,
    /// `metadata.uid`.
    #[serde(default)]
    pub uid: String,
    /// `metadata.labels` (what a `Prometheus` resource's selectors match).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// `ServiceMonitor.spec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceMonitorSpec {
    /// The Service label whose value becomes `job`.
    #[serde(default)]
    pub job_label: String,
    /// Service labels copied onto the targets.
    #[serde(default)]
    pub target_labels: Vec<String>,
    /// Pod labels copied onto the targets.
    #[serde(default)]
    pub pod_target_labels: Vec<String>,
    /// The endpoints to scrape, one scrape configuration each.
    #[serde(default)]
    pub endpoints: Vec<Endpoint>,
    /// Which Services.
    #[serde(default)]
    pub selector: LabelSelector,
    /// In which namespaces.
    #[serde(default)]
    pub namespace_selector: NamespaceSelector,
    /// `sampleLimit`.
    pub sample_limit: Option<u64>,
    /// `targetLimit`.
    pub target_limit: Option<u64>,
    /// `labelLimit`.
    pub label_limit: Option<u64>,
    /// `labelNameLengthLimit`.
    pub label_name_length_limit: Option<u64>,
    /// `labelValueLengthLimit`.
    pub label_value_length_limit: Option<u64>,
    /// `attachMetadata`.
    pub attach_metadata: Option<AttachMetadata>,
    /// `scrapeClass`: the section's scrape class applied (its default one when unset).
    pub scrape_class: Option<String>,
    /// `serviceDiscoveryRole` (the section's, else `Endpoints`, when unset).
    pub service_discovery_role: Option<ServiceDiscoveryRole>,
}

pub use config::operator::{LabelSelector, LabelSelectorRequirement};

/// `namespaceSelector`: every namespace (`any`), the listed ones, or (neither) the monitor's.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceSelector {
    /// Every namespace.
    #[serde(default)]
    pub any: bool,
    /// These namespaces.
    #[serde(default)]
    pub match_names: Vec<String>,
}

/// A port given by name or number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum IntOrString {
    /// A number.
    Int(i64),
    /// A name.
    String(String),
}

impl IntOrString {
    pub(crate) fn text(&self) -> String {
        match self {
            IntOrString::Int(n) => n.to_string(),
            IntOrString::String(s) => s.clone(),
        }
    }
}

/// One of `spec.endpoints`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint {
    /// The Service port's name.
    #[serde(default)]
    pub port: String,
    /// The pod's port, by name or number (when `port` is empty).
    pub target_port: Option<IntOrString>,
    /// The scrape options shared with `PodMonitor` endpoints.
    #[serde(flatten)]
    pub options: EndpointOptions,
}

/// The scrape configurations the Operator generates for `sm`, one per endpoint.
///
/// # Errors
/// A Secret or ConfigMap value an endpoint references cannot be read from `assets` (the
/// Operator rejects the monitor then).
pub fn scrape_configs(
    sm: &ServiceMonitor,
    options: impl Into<ScrapeOptions>,
    assets: &Assets,
) -> Result<Vec<Value>, OperatorError> {
    let options = options.into();
    (0..sm.spec.endpoints.len())
        .map(|i| endpoint_config(sm, i, &options, assets))
        .collect()
}

/// The namespaces the endpoints role watches: none listed for `any`, else the listed ones,
/// else the monitor's own.
pub(crate) fn namespaces(sel: &NamespaceSelector, own: &str) -> Vec<String> {
    if sel.any {
        Vec::new()
    } else if sel.match_names.is_empty() {
        vec![own.to_owned()]
    } else {
        sel.match_names.clone()
    }
}

/// `__meta_kubernetes_<kind>_label_<name>`, the value of an object's label.
pub(crate) fn meta_label(kind: &str, k: &str) -> String {
    format!("__meta_kubernetes_{kind}_label_{}", sanitize_label_name(k))
}

fn service_label(k: &str) -> String {
    meta_label("service", k)
}

/// The `keep`/`drop` rules that select the monitor's objects of `kind` (`service` or `pod`)
/// by their labels.
pub(crate) fn selector_rules(sel: &LabelSelector, kind: &str) -> Vec<Value> {
    let label = |k: &str| meta_label(kind, k);
    let present = |k: &str| {
        format!(
            "__meta_kubernetes_{kind}_labelpresent_{}",
            sanitize_label_name(k)
        )
    };
    let mut out: Vec<Value> = sel
        .match_labels
        .iter()
        .map(|(k, v)| {
            json!({"action": "keep", "source_labels": [label(k), present(k)],
                   "regex": format!("({v});true")})
        })
        .collect();
    for exp in &sel.match_expressions {
        let values = format!("({});true", exp.values.join("|"));
        let both = json!([label(&exp.key), present(&exp.key)]);
        let only_present = json!([present(&exp.key)]);
        out.push(match exp.operator.as_str() {
            "In" => json!({"action": "keep", "source_labels": both, "regex": values}),
            "NotIn" => json!({"action": "drop", "source_labels": both, "regex": values}),
            "Exists" => json!({"action": "keep", "source_labels": only_present, "regex": "true"}),
            "DoesNotExist" => {
                json!({"action": "drop", "source_labels": only_present, "regex": "true"})
            }
            // The API server rejects other operators; the Operator writes nothing for them.
            _ => continue,
        });
    }
    out
}

fn endpoint_config(
    sm: &ServiceMonitor,
    i: usize,
    options: &ScrapeOptions,
    assets: &Assets,
) -> Result<Value, OperatorError> {
    let ep = &sm.spec.endpoints[i];
    let class = class_for(&options.scrape_classes, sm.spec.scrape_class.as_deref())?;
    let opts = &scrapeclass::apply(&ep.options, class);
    let (ns, name) = (&sm.metadata.namespace, &sm.metadata.name);
    let role = sm
        .spec
        .service_discovery_role
        .or(options.service_discovery_role)
        .unwrap_or_default();
    // The endpointslice role names its endpoint labels `endpointslice_...`.
    let (role_name, endpoint_meta) = match role {
        ServiceDiscoveryRole::Endpoints => ("endpoints", "__meta_kubernetes_endpoint"),
        ServiceDiscoveryRole::EndpointSlice => ("endpointslice", "__meta_kubernetes_endpointslice"),
    };
    let mut cfg = config_head(
        &format!("serviceMonitor/{ns}/{name}/{i}"),
        role_name,
        &namespaces(&sm.spec.namespace_selector, ns),
        opts,
    );
    client_fields(&mut cfg, opts, &sm.metadata.namespace, assets)?;
    attach_metadata(
        &mut cfg,
        sm.spec
            .attach_metadata
            .as_ref()
            .or(class.and_then(|c| c.attach_metadata.as_ref())),
    );

    let mut rules =
        vec![json!({"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"})];
    rules.extend(selector_rules(&sm.spec.selector, "service"));
    if !ep.port.is_empty() {
        rules.push(json!({"action": "keep", "source_labels": [format!("{endpoint_meta}_port_name")], "regex": ep.port}));
    } else if let Some(tp) = &ep.target_port {
        match tp {
            IntOrString::String(name) if !name.is_empty() => rules.push(
                json!({"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_name"], "regex": name}),
            ),
            IntOrString::Int(n) if *n != 0 => rules.push(
                json!({"action": "keep", "source_labels": ["__meta_kubernetes_pod_container_port_number"], "regex": n.to_string()}),
            ),
            _ => {}
        }
    }
    let kind_name = [
        format!("{endpoint_meta}_address_target_kind"),
        format!("{endpoint_meta}_address_target_name"),
    ];
    for (kind, label) in [("Node", "node"), ("Pod", "pod")] {
        rules.push(json!({"source_labels": kind_name, "separator": ";",
            "regex": format!("{kind};(.*)"), "replacement": "${1}", "target_label": label}));
    }
    for (meta, label) in [
        ("__meta_kubernetes_namespace", "namespace"),
        ("__meta_kubernetes_service_name", "service"),
        ("__meta_kubernetes_pod_name", "pod"),
        ("__meta_kubernetes_pod_container_name", "container"),
    ] {
        rules.push(json!({"source_labels": [meta], "target_label": label}));
    }
    if opts.filter_running.unwrap_or(true) {
        rules.push(json!({"action": "drop", "source_labels": ["__meta_kubernetes_pod_phase"], "regex": "(Failed|Succeeded)"}));
    }
    let copy = |meta: String, label: &str| {
        json!({"source_labels": [meta], "target_label": sanitize_label_name(label),
               "regex": "(.+)", "replacement": "${1}"})
    };
    for l in &sm.spec.target_labels {
        rules.push(copy(service_label(l), l));
    }
    for l in &sm.spec.pod_target_labels {
        rules.push(copy(
            format!("__meta_kubernetes_pod_label_{}", sanitize_label_name(l)),
            l,
        ));
    }
    rules.push(json!({"source_labels": ["__meta_kubernetes_service_name"], "target_label": "job", "replacement": "${1}"}));
    if !sm.spec.job_label.is_empty() {
        let mut job = copy(service_label(&sm.spec.job_label), "job");
        job["target_label"] = json!("job");
        rules.push(job);
    }
    let endpoint = if ep.port.is_empty() {
        ep.target_port.as_ref().map(IntOrString::text)
    } else {
        Some(ep.port.clone())
    };
    if let Some(e) = endpoint.filter(|e| !e.is_empty()) {
        rules.push(json!({"target_label": "endpoint", "replacement": e}));
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

    let spec = &sm.spec;
    let limits = [
        ("sample_limit", spec.sample_limit),
        ("target_limit", spec.target_limit),
        ("label_limit", spec.label_limit),
        ("label_name_length_limit", spec.label_name_length_limit),
        ("label_value_length_limit", spec.label_value_length_limit),
    ];
    config_tail(&mut cfg, &limits, opts);
    Ok(Value::Object(cfg))
}
