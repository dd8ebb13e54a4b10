//! `ScrapeConfig` (monitoring.coreos.com/v1alpha1) into one scrape configuration, as the
//! Operator's `generateScrapeConfig` writes it (prometheus-operator's
//! `pkg/prometheus/promcfg.go`): job `scrapeConfig/<namespace>/<name>`, the object's own
//! service discovery (static, file, HTTP, Kubernetes, DNS), scrape options and credentials, and
//! its relabelings after the Operator's first rule, then sharding by address.

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
use crate::servicemonitor::ObjectMeta;

/// A `ScrapeConfig` object (the fields the translation reads).
#[derive(Debug, Clone, Deserialize)]
pub struct ScrapeConfig {
    /// `metadata`.
    pub metadata: ObjectMeta,
    /// `spec`.
    pub spec: ScrapeConfigSpec,
}

/// `ScrapeConfig.spec`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScrapeConfigSpec {
    /// Sets the `job` label (the job name stays `scrapeConfig/<namespace>/<name>`).
    pub job_name: Option<String>,
    /// `static_configs`.
    #[serde(default)]
    pub static_configs: Vec<StaticConfig>,
    /// `file_sd_configs`.
    #[serde(default, rename = "fileSDConfigs")]
    pub file_sd_configs: Vec<FileSdConfig>,
    /// `http_sd_configs` (without credentials).
    #[serde(default, rename = "httpSDConfigs")]
    pub http_sd_configs: Vec<HttpSdConfig>,
    /// `kubernetes_sd_configs` (through the server's own connection).
    #[serde(default, rename = "kubernetesSDConfigs")]
    pub kubernetes_sd_configs: Vec<KubernetesSdConfig>,
    /// `dns_sd_configs`.
    #[serde(default, rename = "dnsSDConfigs")]
    pub dns_sd_configs: Vec<DnsSdConfig>,
    /// `relabel_configs`.
    #[serde(default)]
    pub relabelings: Vec<RelabelConfig>,
    /// `metric_relabel_configs`.
    #[serde(default)]
    pub metric_relabelings: Vec<RelabelConfig>,
    /// `metrics_path`.
    pub metrics_path: Option<String>,
    /// `scrape_interval`.
    pub scrape_interval: Option<String>,
    /// `scrape_timeout`.
    pub scrape_timeout: Option<String>,
    /// `honor_timestamps`.
    pub honor_timestamps: Option<bool>,
    /// `honor_labels`.
    pub honor_labels: Option<bool>,
    /// `params`.
    pub params: Option<BTreeMap<String, Vec<String>>>,
    /// `scheme` (written lower-case).
    pub scheme: Option<String>,
    /// `basicAuth`.
    pub basic_auth: Option<BasicAuth>,
    /// `authorization`.
    pub authorization: Option<SafeAuthorization>,
    /// `oauth2`.
    pub oauth2: Option<OAuth2>,
    /// `tlsConfig`.
    pub tls_config: Option<TlsConfig>,
    /// `scrapeClass`: the section's scrape class applied (its default one when unset).
    pub scrape_class: Option<String>,
    /// `sampleLimit`, `targetLimit`, the label limits and `keepDroppedTargets`.
    #[serde(flatten)]
    pub limits: ScrapeLimits,
}

/// One of `staticConfigs`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct StaticConfig {
    /// `host:port` targets.
    #[serde(default)]
    pub targets: Vec<String>,
    /// Their labels.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
}

/// One of `fileSDConfigs`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FileSdConfig {
    /// File globs (in the server's container).
    #[serde(default)]
    pub files: Vec<String>,
    /// `refresh_interval`.
    pub refresh_interval: Option<String>,
}

/// One of `httpSDConfigs`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HttpSdConfig {
    /// The endpoint.
    #[serde(default)]
    pub url: String,
    /// `refresh_interval`.
    pub refresh_interval: Option<String>,
}

/// One of `kubernetesSDConfigs`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KubernetesSdConfig {
    /// `Pod`, `Service`, `Endpoints`, `EndpointSlice`, `Node`, `Ingress` (any case).
    #[serde(default)]
    pub role: String,
    /// `namespaces`.
    pub namespaces: Option<NamespaceDiscovery>,
    /// `selectors`.
    #[serde(default)]
    pub selectors: Vec<K8sSelector>,
}

/// `kubernetesSDConfigs[].namespaces`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamespaceDiscovery {
    /// `own_namespace`.
    pub own_namespace: Option<bool>,
    /// `names`.
    #[serde(default)]
    pub names: Vec<String>,
}

/// `kubernetesSDConfigs[].selectors[]`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct K8sSelector {
    /// The role the selector applies to.
    #[serde(default)]
    pub role: String,
    /// Label selector.
    pub label: Option<String>,
    /// Field selector.
    pub field: Option<String>,
}

/// One of `dnsSDConfigs`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DnsSdConfig {
    /// Names to resolve.
    #[serde(default)]
    pub names: Vec<String>,
    /// `SRV`, `A`, `AAAA`, `MX`, `NS`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The port for non-SRV records.
    pub port: Option<u32>,
    /// `refresh_interval`.
    pub refresh_interval: Option<String>,
}

fn put(cfg: &mut Map<String, Value>, key: &str, v: Option<Value>) {
    if let Some(v) = v {
        cfg.insert(key.into(), v);
    }
}

/// The scrape configuration the Operator generates for `sc`.
///
/// # Errors
/// A Secret or ConfigMap value that cannot be read.
pub fn scrape_config_job(
    sc: &ScrapeConfig,
    options: impl Into<ScrapeOptions>,
    assets: &Assets,
) -> Result<Value, OperatorError> {
    let options = options.into();
    let (ns, name) = (&sc.metadata.namespace, &sc.metadata.name);
    let spec = &sc.spec;
    let class = class_for(&options.scrape_classes, spec.scrape_class.as_deref())?;
    let mut cfg = Map::new();
    cfg.insert(
        "job_name".into(),
        json!(format!("scrapeConfig/{ns}/{name}")),
    );
    put(
        &mut cfg,
        "honor_timestamps",
        spec.honor_timestamps.map(Value::from),
    );
    put(&mut cfg, "honor_labels", spec.honor_labels.map(Value::from));
    put(
        &mut cfg,
        "metrics_path",
        spec.metrics_path.clone().map(Value::from),
    );
    put(
        &mut cfg,
        "scrape_interval",
        spec.scrape_interval.clone().map(Value::from),
    );
    put(
        &mut cfg,
        "scrape_timeout",
        spec.scrape_timeout.clone().map(Value::from),
    );
    put(&mut cfg, "params", spec.params.as_ref().map(|p| json!(p)));
    put(
        &mut cfg,
        "scheme",
        spec.scheme.as_ref().map(|s| json!(s.to_lowercase())),
    );
    spec.limits.write(&mut cfg);

    let mut rules =
        vec![json!({"source_labels": ["job"], "target_label": "__tmp_prometheus_job_name"})];
    // The class's relabelings come first here (generateScrapeConfig).
    let class_relabelings = class.map(|c| c.relabelings.as_slice()).unwrap_or_default();
    rules.extend(class_relabelings.iter().map(RelabelConfig::to_value));
    if let Some(job) = spec.job_name.as_ref().filter(|j| !j.is_empty()) {
        rules.push(json!({"target_label": "job", "replacement": job}));
    }
    rules.extend(spec.relabelings.iter().map(RelabelConfig::to_value));
    if !rules.iter().any(|r| r["action"] == "hashmod") {
        rules.extend(sharding("__address__", options.sharding));
    }
    cfg.insert("relabel_configs".into(), Value::Array(rules));

    let auth = EndpointOptions {
        basic_auth: spec.basic_auth.clone(),
        authorization: spec.authorization.clone(),
        bearer_token_secret: None::<KeySelector>,
        oauth2: spec.oauth2.clone(),
        tls_config: spec.tls_config.clone(),
        metric_relabelings: spec.metric_relabelings.clone(),
        ..EndpointOptions::default()
    };
    let auth = scrapeclass::apply(&auth, class);
    client_fields(&mut cfg, &auth, ns, assets)?;

    if !spec.static_configs.is_empty() {
        let v: Vec<Value> = spec
            .static_configs
            .iter()
            .map(|s| json!({"targets": s.targets, "labels": s.labels}))
            .collect();
        cfg.insert("static_configs".into(), Value::Array(v));
    }
    if !spec.file_sd_configs.is_empty() {
        let v: Vec<Value> = spec
            .file_sd_configs
            .iter()
            .map(|f| {
                let mut m = Map::new();
                m.insert("files".into(), json!(f.files));
                put(
                    &mut m,
                    "refresh_interval",
                    f.refresh_interval.clone().map(Value::from),
                );
                Value::Object(m)
            })
            .collect();
        cfg.insert("file_sd_configs".into(), Value::Array(v));
    }
    if !spec.http_sd_configs.is_empty() {
        let v: Vec<Value> = spec
            .http_sd_configs
            .iter()
            .map(|h| {
                let mut m = Map::new();
                m.insert("url".into(), json!(h.url));
                put(
                    &mut m,
                    "refresh_interval",
                    h.refresh_interval.clone().map(Value::from),
                );
                Value::Object(m)
            })
            .collect();
        cfg.insert("http_sd_configs".into(), Value::Array(v));
    }
    if !spec.kubernetes_sd_configs.is_empty() {
        let v: Vec<Value> = spec
            .kubernetes_sd_configs
            .iter()
            .map(|k| {
                let mut m = Map::new();
                m.insert("role".into(), json!(k.role.to_lowercase()));
                if let Some(n) = &k.namespaces {
                    let mut nm = Map::new();
                    put(&mut nm, "own_namespace", n.own_namespace.map(Value::from));
                    if !n.names.is_empty() {
                        nm.insert("names".into(), json!(n.names));
                    }
                    m.insert("namespaces".into(), Value::Object(nm));
                }
                if !k.selectors.is_empty() {
                    let sels: Vec<Value> = k
                        .selectors
                        .iter()
                        .map(|s| {
                            let mut sm = Map::new();
                            sm.insert("role".into(), json!(s.role.to_lowercase()));
                            put(&mut sm, "label", s.label.clone().map(Value::from));
                            put(&mut sm, "field", s.field.clone().map(Value::from));
                            Value::Object(sm)
                        })
                        .collect();
                    m.insert("selectors".into(), Value::Array(sels));
                }
                Value::Object(m)
            })
            .collect();
        cfg.insert("kubernetes_sd_configs".into(), Value::Array(v));
    }
    if !spec.dns_sd_configs.is_empty() {
        let v: Vec<Value> = spec
            .dns_sd_configs
            .iter()
            .map(|d| {
                let mut m = Map::new();
                m.insert("names".into(), json!(d.names));
                put(&mut m, "type", d.kind.clone().map(Value::from));
                put(&mut m, "port", d.port.map(Value::from));
                put(
                    &mut m,
                    "refresh_interval",
                    d.refresh_interval.clone().map(Value::from),
                );
                Value::Object(m)
            })
            .collect();
        cfg.insert("dns_sd_configs".into(), Value::Array(v));
    }
    if !auth.metric_relabelings.is_empty() {
        let m = auth.metric_relabelings.iter().map(RelabelConfig::to_value);
        cfg.insert("metric_relabel_configs".into(), Value::Array(m.collect()));
    }
    Ok(Value::Object(cfg))
}
