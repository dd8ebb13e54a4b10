//! Which monitors and rules a `Prometheus` resource selects (prometheus-operator's
//! `pkg/prometheus/resource_selector.go` and the `Prometheus` spec's documented selector
//! semantics): an object is selected when its labels match the kind's selector and its
//! namespace's labels match the kind's namespace selector. A null selector selects nothing,
//! `{}` selects everything; a null namespace selector means the server's own namespace only.
//! The selectors are the `kubernetes_operator` section of the configuration
//! ([`config::OperatorConfig`]).

use std::collections::BTreeMap;

use crate::alertmanagerconfig::AlertmanagerConfig;
use crate::podmonitor::PodMonitor;
use crate::probe::Probe;
use crate::prometheusrule::PrometheusRule;
use crate::scrapeconfig::ScrapeConfig;
use crate::servicemonitor::{LabelSelector, ObjectMeta, ServiceMonitor};

/// Labels of one object.
pub type Labels = BTreeMap<String, String>;

/// The selecting part of a `Prometheus` resource's spec: the configuration's
/// `kubernetes_operator` section.
pub type OperatorSelection = config::OperatorConfig;

/// The kinds a `Prometheus` resource selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `ServiceMonitor`.
    ServiceMonitor,
    /// `PodMonitor`.
    PodMonitor,
    /// `PrometheusRule`.
    PrometheusRule,
    /// `Probe`.
    Probe,
    /// `ScrapeConfig`.
    ScrapeConfig,
    /// `AlertmanagerConfig` (selected by an `Alertmanager` resource).
    AlertmanagerConfig,
}

/// An object with metadata (what selection reads).
pub trait Resource {
    /// The kind.
    const KIND: Kind;
    /// `metadata`.
    fn meta(&self) -> &ObjectMeta;
}

impl Resource for ServiceMonitor {
    const KIND: Kind = Kind::ServiceMonitor;
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}

impl Resource for PodMonitor {
    const KIND: Kind = Kind::PodMonitor;
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}

impl Resource for PrometheusRule {
    const KIND: Kind = Kind::PrometheusRule;
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}

impl Resource for AlertmanagerConfig {
    const KIND: Kind = Kind::AlertmanagerConfig;
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}

impl Resource for Probe {
    const KIND: Kind = Kind::Probe;
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}

impl Resource for ScrapeConfig {
    const KIND: Kind = Kind::ScrapeConfig;
    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }
}

/// Selection by the configuration's selectors.
pub trait Select {
    /// The selector and namespace selector for `kind`.
    fn selectors_of(&self, kind: Kind) -> (Option<&LabelSelector>, Option<&LabelSelector>);

    /// The server's own namespace.
    fn own_namespace(&self) -> &str;

    /// Whether an object of `kind` with `meta` is selected; `namespace_labels` holds the
    /// labels of the object's namespace (`None` when the namespace is unknown: only `{}` or
    /// the own-namespace rule then select it).
    fn selects(&self, kind: Kind, meta: &ObjectMeta, namespace_labels: Option<&Labels>) -> bool {
        let (selector, ns_selector) = self.selectors_of(kind);
        let Some(selector) = selector else {
            return false;
        };
        let in_namespace = match ns_selector {
            None => meta.namespace == self.own_namespace(),
            Some(s) => match namespace_labels {
                Some(labels) => s.matches(labels),
                None => s.is_empty(),
            },
        };
        in_namespace && selector.matches(&meta.labels)
    }

    /// The selected objects among `objects`, in their order; `namespaces` maps each namespace
    /// to its labels.
    fn select<'a, T: Resource>(
        &self,
        objects: impl IntoIterator<Item = &'a T>,
        namespaces: &BTreeMap<String, Labels>,
    ) -> Vec<&'a T> {
        objects
            .into_iter()
            .filter(|o| {
                let meta = o.meta();
                self.selects(T::KIND, meta, namespaces.get(&meta.namespace))
            })
            .collect()
    }
}

impl Select for OperatorSelection {
    fn selectors_of(&self, kind: Kind) -> (Option<&LabelSelector>, Option<&LabelSelector>) {
        let (s, ns) = match kind {
            Kind::ServiceMonitor => (
                &self.service_monitor_selector,
                &self.service_monitor_namespace_selector,
            ),
            Kind::PodMonitor => (
                &self.pod_monitor_selector,
                &self.pod_monitor_namespace_selector,
            ),
            Kind::PrometheusRule => (&self.rule_selector, &self.rule_namespace_selector),
            Kind::Probe => (&self.probe_selector, &self.probe_namespace_selector),
            Kind::ScrapeConfig => (
                &self.scrape_config_selector,
                &self.scrape_config_namespace_selector,
            ),
            Kind::AlertmanagerConfig => (
                &self.alertmanager_config_selector,
                &self.alertmanager_config_namespace_selector,
            ),
        };
        (s.as_ref(), ns.as_ref())
    }

    fn own_namespace(&self) -> &str {
        &self.namespace
    }
}
