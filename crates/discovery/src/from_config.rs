//! Building SD configurations from the `config` crate's typed `prometheus.yml` sections.
//!
//! Jobs are keyed by `job_name`; Alertmanager sets by `config-<index>`, as Prometheus names
//! them. `static_configs` of a job become one static provider whose groups are sourced by index.

use std::collections::HashMap;

use config::HttpClientConfig;
use config::kubernetes as kcfg;
use config::{
    AlertingConfig, AlertmanagerConfig, DnsSdConfig, FileSdConfig, HttpSdConfig,
    KubernetesSdConfig, ScrapeConfig, StaticConfig,
};

use crate::discoverer::SdConfig;
use crate::dns::{DnsRecordType, DnsSdOptions};
use crate::error::DiscoveryError;
use crate::file::FileSdOptions;
use crate::http::{HttpClientOptions, HttpSdOptions};
use crate::kubernetes::{
    AttachMetadata, KubernetesSdOptions, NamespaceDiscovery, Role, SelectorConfig,
};
use crate::targetgroup::{LabelSet, TargetGroup};

fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_owned())
}

/// The client settings discovery honours from a `http_client_config`.
#[must_use]
pub fn http_client_options(c: &HttpClientConfig) -> HttpClientOptions {
    let mut o = HttpClientOptions {
        bearer_token: non_empty(c.bearer_token.expose()),
        bearer_token_file: non_empty(&c.bearer_token_file),
        basic_auth: None,
        insecure_skip_verify: c.tls_config.insecure_skip_verify,
    };
    if let Some(a) = &c.authorization {
        let bearer = a.kind.is_empty() || a.kind.eq_ignore_ascii_case("bearer");
        if bearer {
            o.bearer_token = non_empty(a.credentials.expose()).or(o.bearer_token);
            o.bearer_token_file = non_empty(&a.credentials_file).or(o.bearer_token_file);
        }
    }
    if let Some(b) = &c.basic_auth {
        let password = if b.password_file.is_empty() {
            b.password.expose().to_owned()
        } else {
            std::fs::read_to_string(&b.password_file)
                .map(|p| p.trim().to_owned())
                .unwrap_or_default()
        };
        o.basic_auth = Some((b.username.clone(), password));
    }
    o
}

/// Static groups (sources `"0"`, `"1"`...).
#[must_use]
pub fn static_config(groups: &[Option<StaticConfig>]) -> Option<SdConfig> {
    let groups: Vec<TargetGroup> = groups
        .iter()
        .enumerate()
        .filter_map(|(i, g)| {
            let g = g.as_ref()?;
            let labels: LabelSet = g.labels.clone().into_iter().collect();
            Some(TargetGroup::from_addresses(
                i.to_string(),
                g.targets.iter().cloned(),
                labels,
            ))
        })
        .collect();
    (!groups.is_empty()).then_some(SdConfig::Static(groups))
}

/// `file_sd_configs` entry.
#[must_use]
pub fn file_config(c: &FileSdConfig) -> SdConfig {
    SdConfig::File(FileSdOptions {
        files: c.files.clone(),
        refresh_interval: c.refresh_interval.to_std(),
    })
}

/// `http_sd_configs` entry.
#[must_use]
pub fn http_config(c: &HttpSdConfig) -> SdConfig {
    SdConfig::Http(HttpSdOptions {
        url: c.url.clone(),
        refresh_interval: c.refresh_interval.to_std(),
        client: Box::new(c.http_client()),
    })
}

/// `dns_sd_configs` entry.
///
/// # Errors
/// When the record type is not one DNS SD knows.
pub fn dns_config(c: &DnsSdConfig) -> Result<SdConfig, DiscoveryError> {
    Ok(SdConfig::Dns(DnsSdOptions {
        names: c.names.clone(),
        refresh_interval: c.refresh_interval.to_std(),
        record_type: DnsRecordType::parse(&c.kind)?,
        port: c.port,
        nameservers: Vec::new(),
    }))
}

fn role(r: kcfg::Role) -> Role {
    match r {
        kcfg::Role::Node => Role::Node,
        kcfg::Role::Pod => Role::Pod,
        kcfg::Role::Service => Role::Service,
        kcfg::Role::Endpoints => Role::Endpoints,
        kcfg::Role::EndpointSlice => Role::EndpointSlice,
        kcfg::Role::Ingress => Role::Ingress,
    }
}

/// `kubernetes_sd_configs` entry.
///
/// # Errors
/// When the role is missing.
pub fn kubernetes_config(c: &KubernetesSdConfig) -> Result<SdConfig, DiscoveryError> {
    let r = c.role.ok_or_else(|| DiscoveryError::Config {
        mechanism: "kubernetes",
        message: "role missing (one of: pod, service, endpoints, endpointslice, node, ingress)"
            .to_owned(),
    })?;
    let mut o = KubernetesSdOptions::new(role(r));
    o.api_server = c.api_server.as_ref().map(|u| u.as_str().to_owned());
    o.kubeconfig_file = non_empty(&c.kubeconfig_file);
    o.client = http_client_options(&c.http_client());
    o.http_client = Some(Box::new(c.http_client()));
    o.namespaces = NamespaceDiscovery {
        own_namespace: c.namespaces.own_namespace,
        names: c.namespaces.names.clone(),
    };
    o.selectors = c
        .selectors
        .iter()
        .map(|s| SelectorConfig {
            role: role(s.role),
            label: non_empty(&s.label),
            field: non_empty(&s.field),
        })
        .collect();
    o.attach_metadata = AttachMetadata {
        node: c.attach_metadata.node,
    };
    Ok(SdConfig::Kubernetes(o))
}

#[allow(clippy::too_many_arguments)]
fn collect(
    set: &str,
    statics: &[Option<StaticConfig>],
    files: &[Option<FileSdConfig>],
    https: &[Option<HttpSdConfig>],
    dns: &[Option<DnsSdConfig>],
    kube: &[Option<KubernetesSdConfig>],
) -> Vec<SdConfig> {
    let mut out: Vec<SdConfig> = static_config(statics).into_iter().collect();
    out.extend(files.iter().flatten().map(file_config));
    out.extend(https.iter().flatten().map(http_config));
    let fallible = dns
        .iter()
        .flatten()
        .map(dns_config)
        .chain(kube.iter().flatten().map(kubernetes_config));
    for r in fallible {
        match r {
            Ok(c) => out.push(c),
            Err(err) => tracing::error!(%err, config = set, "Cannot create service discovery"),
        }
    }
    out
}

/// The SD configurations of one scrape job.
#[must_use]
pub fn scrape_sd_configs(sc: &ScrapeConfig) -> Vec<SdConfig> {
    collect(
        &sc.job_name,
        &sc.static_configs,
        &sc.file_sd_configs,
        &sc.http_sd_configs,
        &sc.dns_sd_configs,
        &sc.kubernetes_sd_configs,
    )
}

/// `job_name -> SD configurations` for a scrape manager's `apply_config`.
#[must_use]
pub fn scrape_jobs<'a>(
    jobs: impl IntoIterator<Item = &'a ScrapeConfig>,
) -> HashMap<String, Vec<SdConfig>> {
    jobs.into_iter()
        .map(|sc| (sc.job_name.clone(), scrape_sd_configs(sc)))
        .collect()
}

/// The SD configurations of one Alertmanager set.
#[must_use]
pub fn alertmanager_sd_configs(am: &AlertmanagerConfig, set: &str) -> Vec<SdConfig> {
    collect(
        set,
        &am.static_configs,
        &am.file_sd_configs,
        &am.http_sd_configs,
        &am.dns_sd_configs,
        &am.kubernetes_sd_configs,
    )
}

/// `config-<index> -> SD configurations` for the notifier's discovery manager.
#[must_use]
pub fn alertmanager_sets(alerting: &AlertingConfig) -> HashMap<String, Vec<SdConfig>> {
    alerting
        .alertmanagers
        .iter()
        .enumerate()
        .filter_map(|(i, am)| {
            let set = format!("config-{i}");
            let cfgs = alertmanager_sd_configs(am.as_ref()?, &set);
            Some((set, cfgs))
        })
        .collect()
}
