//! `Probe` (monitoring.coreos.com/v1) into one scrape configuration, as the Operator's
//! `generateProbeConfig` writes it (prometheus-operator's `pkg/prometheus/promcfg.go`): job
//! `probe/<namespace>/<name>`, the prober's path, scheme and URL, `module` as a parameter, and
//! either static targets (labelled with the probe's namespace) or the Ingresses a selector
//! picks, each target passed to the prober as `__param_target` and shown as `instance`; sharding
//! by the target.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::assets::{Assets, KeySelector};
use crate::endpoint::{
    BasicAuth, EndpointOptions, OAuth2, SafeAuthorization, ScrapeLimits, TlsConfig, client_fields,
};
use crate::error::OperatorError;
use crate::options::ScrapeOptions;
use crate::relabel::{RelabelConfig, sharding};
use crate::scrapeclass::{self, class_for};
use crate::servicemonitor::{
    LabelSelector, NamespaceSelector, ObjectMeta, namespaces, selector_rules,
};

/// A `Probe` object (the fields the translation reads).
#[derive(Debug, Clone, Deserialize)]
pub struct Probe {
    /// `metadata`.
    pub metadata: ObjectMeta,
    /// `spec`.
    pub spec: ProbeSpec,
}

/// `Probe.spec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeSpec {
    /// Sets the `job` label.
    #[serde(default)]
    pub job_name: String,
    /// The prober (e.g. a blackbox exporter).
    #[serde(default)]
    pub prober: ProberSpec,
    /// The prober's module (`params.module`).
    #[serde(default)]
    pub module: String,
    /// More URL parameters.
    #[serde(default)]
    pub params: Vec<ProbeParam>,
    /// What to probe.
    #[serde(default)]
    pub targets: ProbeTargets,
    /// `scrape_interval`.
    #[serde(default)]
    pub interval: String,
    /// `scrape_timeout`.
    #[serde(default)]
    pub scrape_timeout: String,
    /// `metricRelabelings`.
    #[serde(default)]
    pub metric_relabelings: Vec<RelabelConfig>,
    /// `basicAuth`.
    pub basic_auth: Option<BasicAuth>,
    /// `authorization`.
    pub authorization: Option<SafeAuthorization>,
    /// `bearerTokenSecret`.
    pub bearer_token_secret: Option<KeySelector>,
    /// `oauth2`.
    pub oauth2: Option<OAuth2>,
    /// `tlsConfig`.
    pub tls_config: Option<TlsConfig>,
    /// `sampleLimit`, `targetLimit`, the label limits and `keepDroppedTargets`.
    #[serde(flatten)]
    pub limits: ScrapeLimits,
    /// `scrapeClass`: the section's scrape class applied (its default one when unset).
    pub scrape_class: Option<String>,
}

/// `spec.prober`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProberSpec {
    /// The prober's `host:port`.
    #[serde(default)]
    pub url: String,
    /// `http` or `https`.
    pub scheme: Option<String>,
    /// The prober's path (`/probe` by default).
    #[serde(default)]
    pub path: String,
    /// `proxyUrl`.
    pub proxy_url: Option<String>,
}

/// One of `spec.params`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProbeParam {
    /// The parameter.
    pub name: String,
    /// Its values.
    #[serde(default)]
    pub values: Vec<String>,
}

/// `spec.targets`: static URLs, or Ingresses (static wins when both are set).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeTargets {
    /// `staticConfig`.
    pub static_config: Option<StaticTargets>,
    /// `ingress`.
    pub ingress: Option<IngressTargets>,
}

/// `targets.staticConfig`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StaticTargets {
    /// The URLs to probe.
    #[serde(default, rename = "static")]
    pub targets: Vec<String>,
    /// Labels of every target (`namespace` added unless set).
    pub labels: Option<BTreeMap<String, String>>,
    /// `relabelingConfigs`.
    #[serde(default)]
    pub relabeling_configs: Vec<RelabelConfig>,
}

/// `targets.ingress`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IngressTargets {
    /// Which Ingresses.
    #[serde(default)]
    pub selector: LabelSelector,
    /// In which namespaces.
    #[serde(default)]
    pub namespace_selector: NamespaceSelector,
    /// `relabelingConfigs`.
    #[serde(default)]
    pub relabeling_configs: Vec<RelabelConfig>,
}

/// The scrape configuration the Operator generates for `probe`.
///
/// # Errors
/// No prober URL, no targets (the Operator rejects such probes), or a Secret or ConfigMap
/// value that cannot be read.
pub fn probe_scrape_config(
    probe: &Probe,
    options: impl Into<ScrapeOptions>,
    assets: &Assets,
) -> Result<Value, OperatorError> {
    let options = options.into();
    let (ns, name) = (&probe.metadata.namespace, &probe.metadata.name);
    let spec = &probe.spec;
    let class = class_for(&options.scrape_classes, spec.scrape_class.as_deref())?;
    let class_relabelings = class.map(|c| c.relabelings.as_slice()).unwrap_or_default();
    let invalid = |m: &str| OperatorError::Invalid(format!("probe {ns}/{name}: {m}"));
    if spec.prober.url.is_empty() {
        return Err(invalid("spec.prober.url is empty"));
    }
    let mut cfg = Map::new();
    cfg.insert("job_name".into(), json!(format!("probe/{ns}/{name}")));
    cfg.insert("honor_timestamps".into(), json!(true));
    let path = if spec.prober.path.is_empty() {
        "/probe"
    } else {
        &spec.prober.path
    };
    cfg.insert("metrics_path".into(), json!(path));
    for (k, v) in [
        ("scrape_interval", &spec.interval),
        ("scrape_timeout", &spec.scrape_timeout),
    ] {
        if !v.is_empty() {
            cfg.insert(k.into(), json!(v));
        }
    }
    if let Some(s) = &spec.prober.scheme {
        cfg.insert("scheme".into(), json!(s));
    }
    let mut params = Map::new();
    if !spec.module.is_empty() {
        params.insert("module".into(), json!([spec.module]));
    }
    for p in &spec.params {
        if !spec.module.is_empty() && p.name == "module" {
            continue;
        }
        params.insert(p.name.clone(), json!(p.values));
    }
    if !params.is_empty() {
        cfg.insert("params".into(), Value::Object(params));
    }
    spec.limits.write(&mut cfg);
    if let Some(p) = spec.prober.proxy_url.as_ref().filter(|p| !p.is_empty()) {
        cfg.insert("proxy_url".into(), json!(p));
    }

    let mut rules =
        vec![json!({"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"})];
    if !spec.job_name.is_empty() {
        rules.push(json!({"target_label": "job", "replacement": spec.job_name}));
    }
    let prober = json!({"target_label": "__address__", "replacement": spec.prober.url});
    let instance = json!({"source_labels": ["__param_target"], "target_label": "instance"});
    match (&spec.targets.static_config, &spec.targets.ingress) {
        (Some(st), _) if !st.targets.is_empty() => {
            let mut labels = st.labels.clone().unwrap_or_default();
            labels
                .entry("namespace".into())
                .or_insert_with(|| ns.clone());
            cfg.insert(
                "static_configs".into(),
                json!([{"targets": st.targets, "labels": labels}]),
            );
            rules.push(json!({"source_labels": ["__address__"], "target_label": "__param_target"}));
            rules.push(instance);
            rules.push(prober);
            rules.extend(
                class_relabelings
                    .iter()
                    .chain(&st.relabeling_configs)
                    .map(RelabelConfig::to_value),
            );
        }
        (_, Some(ing)) => {
            rules.extend(selector_rules(&ing.selector, "ingress"));
            let mut sd = Map::new();
            sd.insert("role".into(), json!("ingress"));
            let names = namespaces(&ing.namespace_selector, ns);
            if !names.is_empty() {
                sd.insert("namespaces".into(), json!({"names": names}));
            }
            cfg.insert("kubernetes_sd_configs".into(), json!([sd]));
            rules.push(json!({
                "source_labels": ["__meta_kubernetes_ingress_scheme", "__address__", "__meta_kubernetes_ingress_path"],
                "separator": ";", "regex": "(.+);(.+);(.+)", "target_label": "__param_target",
                "replacement": "${1}://${2}${3}", "action": "replace"}));
            rules.push(json!({"source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace"}));
            rules.push(json!({"source_labels": ["__meta_kubernetes_ingress_name"], "target_label": "ingress"}));
            rules.push(
                json!({"source_labels": ["__address__"], "separator": ";", "regex": "(.*)",
                "target_label": "__tmp_ingress_address", "replacement": "$1", "action": "replace"}),
            );
            rules.push(instance);
            rules.push(prober);
            rules.extend(
                class_relabelings
                    .iter()
                    .chain(&ing.relabeling_configs)
                    .map(RelabelConfig::to_value),
            );
        }
        _ => {
            return Err(invalid(
                "no targets (spec.targets.staticConfig.static or spec.targets.ingress)",
            ));
        }
    }
    rules.extend(sharding("__param_target", options.sharding));
    cfg.insert("relabel_configs".into(), Value::Array(rules));

    let auth = EndpointOptions {
        basic_auth: spec.basic_auth.clone(),
        authorization: spec.authorization.clone(),
        bearer_token_secret: spec.bearer_token_secret.clone(),
        oauth2: spec.oauth2.clone(),
        tls_config: spec.tls_config.clone(),
        metric_relabelings: spec.metric_relabelings.clone(),
        ..EndpointOptions::default()
    };
    let auth = scrapeclass::apply(&auth, class);
    client_fields(&mut cfg, &auth, ns, assets)?;
    if !auth.metric_relabelings.is_empty() {
        let m = auth.metric_relabelings.iter().map(RelabelConfig::to_value);
        cfg.insert("metric_relabel_configs".into(), Value::Array(m.collect()));
    }
    Ok(Value::Object(cfg))
}
