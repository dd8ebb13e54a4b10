//! The Prometheus Operator's `monitoring.coreos.com` resources read by Firewatch itself: each
//! ServiceMonitor, PodMonitor, Probe and ScrapeConfig becomes the scrape configurations the
//! Operator would generate for it (mirrors prometheus-operator's `pkg/prometheus/promcfg.go`,
//! credentials read from Secrets and ConfigMaps, [`assets`]), each PrometheusRule its
//! rule file, selected as a `Prometheus` resource selects them ([`OperatorSelection`]) and
//! kept current by watching the API ([`watch::run`]). Scrape configurations are the
//! `prometheus.yml` shape (a JSON value), so the config crate parses and validates them like
//! any user file.

pub mod alertmanagerconfig;
pub mod assets;
pub mod assetwatch;
pub mod endpoint;
mod error;
pub mod options;
pub mod podmonitor;
pub mod probe;
pub mod prometheusrule;
mod receivers;
pub mod relabel;
pub mod scrapeclass;
pub mod scrapeconfig;
pub mod selection;
pub mod server;
pub mod servicemonitor;
pub mod watch;

pub use alertmanagerconfig::{
    AlertmanagerConfig, MergeOptions, Merged, merge_alertmanager_configs,
    merge_alertmanager_configs_with,
};
pub use assets::{AssetKind, Assets};
pub use endpoint::EndpointOptions;
pub use error::OperatorError;
pub use options::{ScrapeOptions, ServiceDiscoveryRole};
pub use podmonitor::{PodMetricsEndpoint, PodMonitor, pod_scrape_configs};
pub use probe::{Probe, probe_scrape_config};
pub use prometheusrule::{PrometheusRule, RuleFiles, rule_files};
pub use relabel::{RelabelConfig, Sharding, sanitize_label_name};
pub use scrapeconfig::{ScrapeConfig, scrape_config_job};
pub use selection::{Kind, OperatorSelection, Resource, Select};
pub use servicemonitor::{Endpoint, LabelSelector, ServiceMonitor, scrape_configs};
pub use watch::Generated;
