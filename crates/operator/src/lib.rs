//! The Prometheus Operator's `monitoring.coreos.com` resources read by Firewatch itself: each
//! object becomes the scrape configuration the Operator would generate for it (mirrors
//! prometheus-operator's `pkg/prometheus/promcfg.go`). The output is the `prometheus.yml`
//! shape (a JSON value), so the config crate parses and validates it like any user file.

mod error;
pub mod podmonitor;
pub mod prometheusrule;
pub mod relabel;
pub mod selection;
pub mod servicemonitor;
pub mod watch;

pub use error::OperatorError;
pub use podmonitor::{PodMetricsEndpoint, PodMonitor, pod_scrape_configs};
pub use prometheusrule::{PrometheusRule, RuleFiles, rule_files};
pub use relabel::{RelabelConfig, Sharding, sanitize_label_name};
pub use selection::{Kind, OperatorSelection, Resource};
pub use servicemonitor::{Endpoint, LabelSelector, ServiceMonitor, scrape_configs};
pub use watch::Generated;
