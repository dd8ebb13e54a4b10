//! Building SD configurations from the `config` crate's typed `prometheus.yml` sections.
//!
//! Jobs are keyed by `job_name`; Alertmanager sets by `config-<index>`, as Prometheus names
//! them. `static_configs` of a job become one static provider whose groups are sourced by index.

use std::collections::HashMap;

use config::{
    AlertingConfig, AlertmanagerConfig, DnsSdConfig, FileSdConfig, HttpSdConfig,
    KubernetesSdConfig, ScrapeConfig, StaticConfig,
};

use crate::discoverer::SdConfig;
use crate::targetgroup::{LabelSet, TargetGroup};

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

fn collect(
    statics: &[Option<StaticConfig>],
    files: &[Option<FileSdConfig>],
    https: &[Option<HttpSdConfig>],
    dns: &[Option<DnsSdConfig>],
    kube: &[Option<KubernetesSdConfig>],
) -> Vec<SdConfig> {
    let mut out: Vec<SdConfig> = static_config(statics).into_iter().collect();
    out.extend(files.iter().flatten().cloned().map(SdConfig::File));
    out.extend(https.iter().flatten().cloned().map(SdConfig::Http));
    out.extend(dns.iter().flatten().cloned().map(SdConfig::Dns));
    out.extend(kube.iter().flatten().cloned().map(SdConfig::Kubernetes));
    out
}

/// The SD configurations of one scrape job.
#[must_use]
pub fn scrape_sd_configs(sc: &ScrapeConfig) -> Vec<SdConfig> {
    collect(
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
pub fn alertmanager_sd_configs(am: &AlertmanagerConfig) -> Vec<SdConfig> {
    collect(
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
            let cfgs = alertmanager_sd_configs(am.as_ref()?);
            Some((set, cfgs))
        })
        .collect()
}
