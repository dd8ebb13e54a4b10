//! `kubernetes_operator`: Firewatch's extension section of `prometheus.yml` that makes the
//! server read the Prometheus Operator's resources (ServiceMonitor, PodMonitor, Probe,
//! ScrapeConfig, PrometheusRule) itself. Its selectors are the selecting part of the Operator's
//! `Prometheus` resource's spec, with the same camelCase names and the same null-vs-empty
//! meaning (prometheus-operator's `pkg/apis/monitoring/v1/prometheus_types.go`); the API
//! server connection is written as in `kubernetes_sd_configs`. Also the Kubernetes label
//! selector type that the section and the operator's objects share.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::join_dir;
use crate::kubernetes::{KubernetesSdConfig, Role};
use crate::yaml::{At, Invalid};

/// A Kubernetes label selector (`matchLabels` and `matchExpressions`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabelSelector {
    /// Exact matches.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub match_labels: BTreeMap<String, String>,
    /// `In`, `NotIn`, `Exists`, `DoesNotExist`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub match_expressions: Vec<LabelSelectorRequirement>,
}

/// One set-based requirement of a label selector.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabelSelectorRequirement {
    /// The label.
    pub key: String,
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    pub operator: String,
    /// The values for `In` and `NotIn`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<String>,
}

impl LabelSelector {
    /// Whether `labels` satisfy every `matchLabels` entry and every `matchExpressions`
    /// requirement (Kubernetes semantics: `NotIn` and `DoesNotExist` hold for an absent label).
    /// An empty selector matches everything; an unknown operator matches nothing
    /// ([`LabelSelector::validate`] reports it).
    #[must_use]
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.match_labels
            .iter()
            .all(|(k, v)| labels.get(k) == Some(v))
            && self.match_expressions.iter().all(|e| {
                let value = labels.get(&e.key);
                match e.operator.as_str() {
                    "In" => value.is_some_and(|v| e.values.contains(v)),
                    "NotIn" => value.is_none_or(|v| !e.values.contains(v)),
                    "Exists" => value.is_some(),
                    "DoesNotExist" => value.is_none(),
                    _ => false,
                }
            })
    }

    /// Whether the selector is `{}` (selects everything).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.match_labels.is_empty() && self.match_expressions.is_empty()
    }

    /// Checks the selector as the API server would: a known operator, values for `In` and
    /// `NotIn` only.
    ///
    /// # Errors
    /// The first bad requirement, located at `matchExpressions[i]`.
    pub fn validate(&self) -> Result<(), Invalid> {
        for (i, e) in self.match_expressions.iter().enumerate() {
            let err = |message: String| Err(Invalid::new(message)).index(i).key("matchExpressions");
            match e.operator.as_str() {
                "In" | "NotIn" if e.values.is_empty() => {
                    return err(format!(
                        "values: must be specified when `operator` is '{}'",
                        e.operator
                    ));
                }
                "Exists" | "DoesNotExist" if !e.values.is_empty() => {
                    return err(format!(
                        "values: may not be specified when `operator` is '{}'",
                        e.operator
                    ));
                }
                "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
                other => {
                    return err(format!(
                        "operator: not a valid selector operator: {other:?}"
                    ));
                }
            }
        }
        Ok(())
    }
}

with_http_client! {
    http2_default = "crate::http::yes";
    /// The `kubernetes_operator` section: which Operator resources the server reads (the
    /// `Prometheus` resource's selectors) and how it reaches the API server (as
    /// `kubernetes_sd_configs`: `api_server` with an HTTP client configuration, a
    /// `kubeconfig_file`, or, with neither, the in-cluster service account). The generated
    /// scrape configurations' Kubernetes discovery uses the same connection.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct OperatorConfig {
        /// The API server (in-cluster configuration when absent).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub api_server: Option<crate::Url>,
        /// A kubeconfig file instead of `api_server`.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub kubeconfig_file: String,
    } {
        /// The namespace the server runs in (the `Prometheus` object's own namespace, which
        /// null namespace selectors select); in a cluster, the service account's namespace
        /// when empty.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub namespace: String,
        /// This server's shard and the number of shards (`shards` of the `Prometheus`
        /// resource): targets are kept by the hash of their address. Default 0 of 1.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub shard: Option<u32>,
        /// The number of shards (default 1).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub shards: Option<u32>,
        /// `serviceMonitorSelector` (null: none, `{}`: all).
        #[serde(default, rename = "serviceMonitorSelector", skip_serializing_if = "Option::is_none")]
        pub service_monitor_selector: Option<LabelSelector>,
        /// `serviceMonitorNamespaceSelector` (null: own namespace, `{}`: all).
        #[serde(default, rename = "serviceMonitorNamespaceSelector", skip_serializing_if = "Option::is_none")]
        pub service_monitor_namespace_selector: Option<LabelSelector>,
        /// `podMonitorSelector`.
        #[serde(default, rename = "podMonitorSelector", skip_serializing_if = "Option::is_none")]
        pub pod_monitor_selector: Option<LabelSelector>,
        /// `podMonitorNamespaceSelector`.
        #[serde(default, rename = "podMonitorNamespaceSelector", skip_serializing_if = "Option::is_none")]
        pub pod_monitor_namespace_selector: Option<LabelSelector>,
        /// `probeSelector`.
        #[serde(default, rename = "probeSelector", skip_serializing_if = "Option::is_none")]
        pub probe_selector: Option<LabelSelector>,
        /// `probeNamespaceSelector`.
        #[serde(default, rename = "probeNamespaceSelector", skip_serializing_if = "Option::is_none")]
        pub probe_namespace_selector: Option<LabelSelector>,
        /// `scrapeConfigSelector`.
        #[serde(default, rename = "scrapeConfigSelector", skip_serializing_if = "Option::is_none")]
        pub scrape_config_selector: Option<LabelSelector>,
        /// `scrapeConfigNamespaceSelector`.
        #[serde(default, rename = "scrapeConfigNamespaceSelector", skip_serializing_if = "Option::is_none")]
        pub scrape_config_namespace_selector: Option<LabelSelector>,
        /// `ruleSelector`.
        #[serde(default, rename = "ruleSelector", skip_serializing_if = "Option::is_none")]
        pub rule_selector: Option<LabelSelector>,
        /// `ruleNamespaceSelector`.
        #[serde(default, rename = "ruleNamespaceSelector", skip_serializing_if = "Option::is_none")]
        pub rule_namespace_selector: Option<LabelSelector>,
        /// `alertmanagerConfigSelector` (the `Alertmanager` resource's; read by
        /// `firewatch alertmanager`).
        #[serde(default, rename = "alertmanagerConfigSelector", skip_serializing_if = "Option::is_none")]
        pub alertmanager_config_selector: Option<LabelSelector>,
        /// `alertmanagerConfigNamespaceSelector`.
        #[serde(default, rename = "alertmanagerConfigNamespaceSelector", skip_serializing_if = "Option::is_none")]
        pub alertmanager_config_namespace_selector: Option<LabelSelector>,
        /// `serviceDiscoveryRole`: the Kubernetes discovery role of ServiceMonitors that do
        /// not set their own (`Endpoints` when unset).
        #[serde(default, rename = "serviceDiscoveryRole", skip_serializing_if = "Option::is_none")]
        pub service_discovery_role: Option<ServiceDiscoveryRole>,
        /// `scrapeClasses`: settings monitors pick by `scrapeClass` (or the `default: true`
        /// one), as written in the `Prometheus` resource (`name`, `default`, `tlsConfig`,
        /// `authorization`, `relabelings`, `metricRelabelings`, `attachMetadata`); the
        /// operator crate reads their fields.
        #[serde(default, rename = "scrapeClasses", skip_serializing_if = "Vec::is_empty")]
        pub scrape_classes: Vec<serde_json::Value>,
        /// `alertmanagerConfigMatcherStrategy` (the `Alertmanager` resource's): whether an
        /// AlertmanagerConfig's route and inhibit rules only match alerts of its namespace.
        #[serde(default, rename = "alertmanagerConfigMatcherStrategy", skip_serializing_if = "Option::is_none")]
        pub alertmanager_config_matcher_strategy: Option<MatcherStrategy>,
    }
}

/// `serviceDiscoveryRole` of the `Prometheus` resource and of a ServiceMonitor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServiceDiscoveryRole {
    /// Kubernetes discovery's `endpoints` role (the default).
    #[default]
    Endpoints,
    /// Kubernetes discovery's `endpointslice` role.
    EndpointSlice,
}

/// `alertmanagerConfigMatcherStrategy` of the `Alertmanager` resource.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatcherStrategy {
    /// The strategy (`OnNamespace` when unset).
    #[serde(default, rename = "type")]
    pub kind: MatcherStrategyType,
}

/// How AlertmanagerConfig objects' routes and inhibit rules are scoped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatcherStrategyType {
    /// A `namespace="<the object's namespace>"` matcher is added (the default).
    #[default]
    OnNamespace,
    /// As `OnNamespace`, except for objects in the Alertmanager's own `namespace`.
    OnNamespaceExceptForAlertmanagerNamespace,
    /// No matcher is added: the objects' routes see every alert.
    None,
}

impl Default for OperatorConfig {
    /// No selectors (nothing selected), in-cluster connection.
    fn default() -> Self {
        crate::yaml::defaults()
    }
}

impl OperatorConfig {
    /// The selectors with their field names, in the spec's order.
    #[must_use]
    pub fn selectors(&self) -> [(&'static str, Option<&LabelSelector>); 12] {
        [
            (
                "serviceMonitorSelector",
                self.service_monitor_selector.as_ref(),
            ),
            (
                "serviceMonitorNamespaceSelector",
                self.service_monitor_namespace_selector.as_ref(),
            ),
            ("podMonitorSelector", self.pod_monitor_selector.as_ref()),
            (
                "podMonitorNamespaceSelector",
                self.pod_monitor_namespace_selector.as_ref(),
            ),
            ("probeSelector", self.probe_selector.as_ref()),
            (
                "probeNamespaceSelector",
                self.probe_namespace_selector.as_ref(),
            ),
            ("scrapeConfigSelector", self.scrape_config_selector.as_ref()),
            (
                "scrapeConfigNamespaceSelector",
                self.scrape_config_namespace_selector.as_ref(),
            ),
            ("ruleSelector", self.rule_selector.as_ref()),
            (
                "ruleNamespaceSelector",
                self.rule_namespace_selector.as_ref(),
            ),
            (
                "alertmanagerConfigSelector",
                self.alertmanager_config_selector.as_ref(),
            ),
            (
                "alertmanagerConfigNamespaceSelector",
                self.alertmanager_config_namespace_selector.as_ref(),
            ),
        ]
    }

    /// Checks every selector (as the API server would) without touching the connection.
    ///
    /// # Errors
    /// The first invalid selector, located at its field.
    pub fn validate_selectors(&self) -> Result<(), Invalid> {
        for (field, sel) in self.selectors() {
            if let Some(sel) = sel {
                sel.validate().key(field)?;
            }
        }
        Ok(())
    }

    /// The whole section's checks: the selectors, the shard numbers, and the connection with
    /// `kubernetes_sd_configs`' rules and texts.
    ///
    /// # Errors
    /// The first problem found, located in the section.
    pub fn validate(&mut self) -> Result<(), Invalid> {
        self.validate_selectors()?;
        if self.shards == Some(0) {
            return Err(Invalid::new("shards must be at least 1")).key("shards");
        }
        if self.shard.unwrap_or(0) >= self.shards.unwrap_or(1) {
            return Err(Invalid::new(format!(
                "shard {} is not below shards {}",
                self.shard.unwrap_or(0),
                self.shards.unwrap_or(1)
            )))
            .key("shard");
        }
        self.validate_scrape_classes()?;
        self.validate_http_client()?;
        self.kubernetes_sd_config(Role::Endpoints).validate()
    }

    /// Each scrape class is an object with a unique non-empty `name`; at most one is the
    /// default (the Operator's `getScrapeClassConfig` checks).
    fn validate_scrape_classes(&self) -> Result<(), Invalid> {
        let mut names = std::collections::BTreeSet::new();
        let mut default = None;
        for (i, class) in self.scrape_classes.iter().enumerate() {
            let at = |e: Invalid| Err(e).index(i).key("scrapeClasses");
            let Some(name) = class.get("name").and_then(serde_json::Value::as_str) else {
                return at(Invalid::new("a scrape class needs a name"));
            };
            if name.is_empty() {
                return at(Invalid::new("a scrape class needs a name"));
            }
            if !names.insert(name) {
                return at(Invalid::new(format!(
                    "duplicate scrape class name {name:?}"
                )));
            }
            if class.get("default").and_then(serde_json::Value::as_bool) == Some(true) {
                if default.is_some() {
                    return at(Invalid::new("multiple default scrape classes defined"));
                }
                default = Some(name);
            }
        }
        Ok(())
    }

    /// A `kubernetes_sd_configs` entry for `role` reaching the API server as this section
    /// does (all namespaces, no selectors).
    #[must_use]
    pub fn kubernetes_sd_config(&self, role: Role) -> KubernetesSdConfig {
        let mut sd = KubernetesSdConfig::new(role);
        self.connect(&mut sd);
        sd
    }

    /// Gives `sd` this section's API server connection (`api_server`, `kubeconfig_file`, HTTP
    /// client settings), keeping its role, namespaces, selectors and attached metadata.
    pub fn connect(&self, sd: &mut KubernetesSdConfig) {
        sd.api_server.clone_from(&self.api_server);
        sd.kubeconfig_file.clone_from(&self.kubeconfig_file);
        sd.set_http_client(self.http_client());
    }

    pub(crate) fn set_directory(&mut self, dir: &Path) {
        self.set_http_directory(dir);
        self.kubeconfig_file = join_dir(dir, &self.kubeconfig_file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Config;

    #[test]
    fn section_parses_with_null_and_empty_selectors_and_a_connection() {
        let cfg = Config::from_yaml_str(
            "kubernetes_operator:\n  api_server: http://127.0.0.1:6443\n  namespace: monitoring\n  \
             serviceMonitorSelector: {}\n  serviceMonitorNamespaceSelector:\n    matchLabels: {team: web}\n  \
             ruleSelector:\n    matchExpressions: [{key: role, operator: In, values: [alerts]}]\n",
            "/etc/fw",
        )
        .unwrap();
        let op = cfg.kubernetes_operator.as_ref().unwrap();
        assert_eq!(op.namespace, "monitoring");
        assert_eq!(op.service_monitor_selector, Some(LabelSelector::default()));
        assert_eq!(op.pod_monitor_selector, None);
        let ns = op.service_monitor_namespace_selector.as_ref().unwrap();
        assert!(ns.matches(&BTreeMap::from([("team".into(), "web".into())])));
        assert!(!ns.matches(&BTreeMap::new()));
        let sd = op.kubernetes_sd_config(Role::Pod);
        assert_eq!(
            sd.api_server.as_ref().unwrap().as_str(),
            "http://127.0.0.1:6443"
        );
        assert!(cfg.to_yaml().contains("serviceMonitorSelector: {}"));
    }

    #[test]
    fn matcher_strategy_is_the_alertmanager_resources() {
        let parse = |yaml: &str| {
            Config::from_yaml_str(&format!("kubernetes_operator:\n{yaml}"), ".").map(|c| {
                c.kubernetes_operator
                    .unwrap()
                    .alertmanager_config_matcher_strategy
            })
        };
        assert_eq!(parse("  namespace: m\n").unwrap(), None);
        for (text, want) in [
            ("None", MatcherStrategyType::None),
            ("OnNamespace", MatcherStrategyType::OnNamespace),
            (
                "OnNamespaceExceptForAlertmanagerNamespace",
                MatcherStrategyType::OnNamespaceExceptForAlertmanagerNamespace,
            ),
        ] {
            let got = parse(&format!(
                "  alertmanagerConfigMatcherStrategy: {{type: {text}}}\n"
            ));
            assert_eq!(got.unwrap().unwrap().kind, want, "{text}");
        }
        let role = Config::from_yaml_str(
            "kubernetes_operator:\n  serviceDiscoveryRole: EndpointSlice\n",
            ".",
        )
        .unwrap();
        assert_eq!(
            role.kubernetes_operator.unwrap().service_discovery_role,
            Some(ServiceDiscoveryRole::EndpointSlice)
        );
        let default = parse("  alertmanagerConfigMatcherStrategy: {}\n").unwrap();
        assert_eq!(default.unwrap().kind, MatcherStrategyType::OnNamespace);
        let err = parse("  alertmanagerConfigMatcherStrategy: {type: Never}\n").unwrap_err();
        assert!(err.to_string().contains("Never"), "{err}");
    }

    #[test]
    fn invalid_sections_are_refused_with_their_place() {
        for (yaml, want) in [
            (
                "kubernetes_operator:\n  ruleSelector:\n    matchExpressions: [{key: a, operator: In}]\n",
                "values: must be specified when `operator` is 'In'",
            ),
            (
                "kubernetes_operator:\n  podMonitorSelector:\n    matchExpressions: [{key: a, operator: Near}]\n",
                "not a valid selector operator",
            ),
            (
                "kubernetes_operator:\n  api_server: http://a\n  kubeconfig_file: k\n",
                "cannot use 'kubeconfig_file' and 'api_server' simultaneously",
            ),
            (
                "kubernetes_operator:\n  bearer_token: x\n",
                "to use custom HTTP client configuration please provide the 'api_server' URL explicitly",
            ),
            (
                "kubernetes_operator:\n  serviceMonitorSelectr: {}\n",
                "serviceMonitorSelectr",
            ),
            (
                "kubernetes_operator:\n  shard: 2\n  shards: 2\n",
                "shard 2 is not below shards 2",
            ),
            (
                "kubernetes_operator:\n  scrapeClasses: [{name: a, default: true}, {name: b, default: true}]\n",
                "multiple default scrape classes defined",
            ),
            (
                "kubernetes_operator:\n  scrapeClasses: [{name: a}, {name: a}]\n",
                "duplicate scrape class name \"a\"",
            ),
            (
                "kubernetes_operator:\n  scrapeClasses: [{default: true}]\n",
                "a scrape class needs a name",
            ),
        ] {
            let err = Config::from_yaml_str(yaml, ".").unwrap_err().to_string();
            assert!(err.contains(want), "{yaml}: {err}");
        }
    }
}
