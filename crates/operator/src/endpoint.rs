//! What `ServiceMonitor` endpoints and `PodMonitor` endpoints share: the scrape options of
//! their CRDs, and the parts of the scrape configuration the Operator writes the same way for
//! both (`pkg/prometheus/promcfg.go`'s common endpoint handling).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::assets::{Assets, KeySelector, SecretOrConfigMap};
use crate::error::OperatorError;
use crate::relabel::RelabelConfig;

/// The limits `PodMonitor`, `Probe` and `ScrapeConfig` specs carry (flattened into each).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ScrapeLimits {
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
    /// `keepDroppedTargets`.
    pub keep_dropped_targets: Option<u64>,
}

impl ScrapeLimits {
    /// Each limit under its scrape configuration key, in the order the Operator writes them.
    #[must_use]
    pub fn entries(&self) -> [(&'static str, Option<u64>); 6] {
        [
            ("sample_limit", self.sample_limit),
            ("target_limit", self.target_limit),
            ("label_limit", self.label_limit),
            ("label_name_length_limit", self.label_name_length_limit),
            ("label_value_length_limit", self.label_value_length_limit),
            ("keep_dropped_targets", self.keep_dropped_targets),
        ]
    }

    /// Writes the limits that are set into `cfg`.
    pub(crate) fn write(&self, cfg: &mut Map<String, Value>) {
        for (key, limit) in self.entries() {
            if let Some(n) = limit {
                cfg.insert(key.into(), json!(n));
            }
        }
    }
}

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
    /// `basicAuth`: user name and password from Secrets.
    pub basic_auth: Option<BasicAuth>,
    /// `authorization`: credentials from a Secret.
    pub authorization: Option<SafeAuthorization>,
    /// Deprecated `bearerTokenSecret`.
    pub bearer_token_secret: Option<KeySelector>,
    /// Deprecated `bearerTokenFile` (ServiceMonitors).
    pub bearer_token_file: Option<String>,
    /// `oauth2`: client id from a Secret or ConfigMap, client secret from a Secret.
    pub oauth2: Option<OAuth2>,
    /// `tlsConfig`: CA and certificate from Secrets or ConfigMaps, key from a Secret (or
    /// files in the server's container).
    pub tls_config: Option<TlsConfig>,
    /// `followRedirects`.
    pub follow_redirects: Option<bool>,
    /// `enableHttp2`.
    pub enable_http2: Option<bool>,
    /// `proxyUrl`.
    pub proxy_url: Option<String>,
}

/// `basicAuth`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BasicAuth {
    /// The user name's Secret key.
    pub username: Option<KeySelector>,
    /// The password's Secret key.
    pub password: Option<KeySelector>,
}

/// `authorization` (`SafeAuthorization`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct SafeAuthorization {
    /// The scheme (`Bearer` when unset).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// The credentials' Secret key.
    pub credentials: Option<KeySelector>,
    /// The credentials in a file of the server's container (a scrape class's
    /// `authorization`).
    #[serde(rename = "credentialsFile")]
    pub credentials_file: Option<String>,
}

/// `oauth2`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OAuth2 {
    /// The client id.
    #[serde(default)]
    pub client_id: SecretOrConfigMap,
    /// The client secret's Secret key.
    #[serde(default)]
    pub client_secret: KeySelector,
    /// The token endpoint.
    #[serde(default)]
    pub token_url: String,
    /// Scopes.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Extra token request parameters.
    #[serde(default)]
    pub endpoint_params: BTreeMap<String, String>,
}

/// `tlsConfig` (`SafeTLSConfig`, plus the file fields of a ServiceMonitor's).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TlsConfig {
    /// The CA.
    pub ca: Option<SecretOrConfigMap>,
    /// The client certificate.
    pub cert: Option<SecretOrConfigMap>,
    /// The client key's Secret key.
    pub key_secret: Option<KeySelector>,
    /// The CA in the server's container.
    pub ca_file: Option<String>,
    /// The certificate in the server's container.
    pub cert_file: Option<String>,
    /// The key in the server's container.
    pub key_file: Option<String>,
    /// The name the target's certificate is checked against.
    pub server_name: Option<String>,
    /// Skip certificate verification.
    pub insecure_skip_verify: Option<bool>,
    /// Minimum TLS version (`TLS12`...).
    pub min_version: Option<String>,
    /// Maximum TLS version.
    pub max_version: Option<String>,
}

/// The HTTP client part of an endpoint's scrape configuration as the Operator writes it, with
/// the referenced Secret and ConfigMap values read from `assets` in `namespace` and written
/// inline (`tls_config.ca`/`cert`/`key` rather than the Operator's mounted files).
///
/// # Errors
/// A referenced value that cannot be read (the Operator then rejects the monitor).
pub(crate) fn client_fields(
    cfg: &mut Map<String, Value>,
    opts: &EndpointOptions,
    namespace: &str,
    assets: &Assets,
) -> Result<(), OperatorError> {
    if let Some(t) = &opts.tls_config {
        let mut tls = Map::new();
        let mut put = |k: &str, v: Option<String>| {
            if let Some(v) = v.filter(|v| !v.is_empty()) {
                tls.insert(k.into(), json!(v));
            }
        };
        put(
            "ca",
            t.ca.as_ref()
                .map(|r| assets.either(namespace, r))
                .transpose()?
                .flatten(),
        );
        put(
            "cert",
            t.cert
                .as_ref()
                .map(|r| assets.either(namespace, r))
                .transpose()?
                .flatten(),
        );
        put(
            "key",
            t.key_secret
                .as_ref()
                .map(|s| assets.secret(namespace, s))
                .transpose()?
                .flatten(),
        );
        put("ca_file", t.ca_file.clone());
        put("cert_file", t.cert_file.clone());
        put("key_file", t.key_file.clone());
        put("server_name", t.server_name.clone());
        put("min_version", t.min_version.clone());
        put("max_version", t.max_version.clone());
        if let Some(b) = t.insecure_skip_verify {
            tls.insert("insecure_skip_verify".into(), json!(b));
        }
        cfg.insert("tls_config".into(), Value::Object(tls));
    }
    if let Some(f) = opts.bearer_token_file.as_ref().filter(|f| !f.is_empty()) {
        cfg.insert("bearer_token_file".into(), json!(f));
    }
    if let Some(s) = opts
        .bearer_token_secret
        .as_ref()
        .filter(|s| !s.name.is_empty())
        && let Some(token) = assets.secret(namespace, s)?
    {
        cfg.insert("bearer_token".into(), json!(token));
    }
    if let Some(b) = &opts.basic_auth {
        let get = |s: &Option<KeySelector>| -> Result<String, OperatorError> {
            Ok(match s {
                Some(s) => assets.secret(namespace, s)?.unwrap_or_default(),
                None => String::new(),
            })
        };
        cfg.insert(
            "basic_auth".into(),
            json!({"username": get(&b.username)?, "password": get(&b.password)?}),
        );
    }
    if let Some(a) = &opts.authorization {
        let mut m = Map::new();
        m.insert(
            "type".into(),
            json!(
                a.kind
                    .clone()
                    .filter(|k| !k.is_empty())
                    .unwrap_or_else(|| "Bearer".into())
            ),
        );
        if let Some(c) = &a.credentials
            && let Some(v) = assets.secret(namespace, c)?
        {
            m.insert("credentials".into(), json!(v));
        } else if let Some(f) = a.credentials_file.as_ref().filter(|f| !f.is_empty()) {
            m.insert("credentials_file".into(), json!(f));
        }
        cfg.insert("authorization".into(), Value::Object(m));
    }
    if let Some(o) = &opts.oauth2 {
        let id = assets.either(namespace, &o.client_id)?.unwrap_or_default();
        let secret = assets
            .secret(namespace, &o.client_secret)?
            .unwrap_or_default();
        let mut m = Map::new();
        m.insert("client_id".into(), json!(id));
        m.insert("client_secret".into(), json!(secret));
        m.insert("token_url".into(), json!(o.token_url));
        if !o.scopes.is_empty() {
            m.insert("scopes".into(), json!(o.scopes));
        }
        if !o.endpoint_params.is_empty() {
            m.insert("endpoint_params".into(), json!(o.endpoint_params));
        }
        cfg.insert("oauth2".into(), Value::Object(m));
    }
    for (k, v) in [
        ("follow_redirects", opts.follow_redirects),
        ("enable_http2", opts.enable_http2),
    ] {
        if let Some(v) = v {
            cfg.insert(k.into(), json!(v));
        }
    }
    if let Some(p) = opts.proxy_url.as_ref().filter(|p| !p.is_empty()) {
        cfg.insert("proxy_url".into(), json!(p));
    }
    Ok(())
}

/// `attachMetadata` of a monitor: `node: true` attaches the node's labels to targets.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AttachMetadata {
    /// Attach the node's metadata.
    pub node: Option<bool>,
}

/// Writes `attachMetadata` into the configuration's Kubernetes discovery section.
pub(crate) fn attach_metadata(cfg: &mut Map<String, Value>, attach: Option<&AttachMetadata>) {
    let Some(node) = attach.and_then(|a| a.node) else {
        return;
    };
    if let Some(sd) = cfg
        .get_mut("kubernetes_sd_configs")
        .and_then(|v| v.get_mut(0))
        .and_then(Value::as_object_mut)
    {
        sd.insert("attach_metadata".into(), json!({"node": node}));
    }
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
