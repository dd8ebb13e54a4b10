//! Which monitors and rules a `Prometheus` resource selects (prometheus-operator's
//! `pkg/prometheus/resource_selector.go` and the `Prometheus` spec's documented selector
//! semantics): an object is selected when its labels match the kind's selector and its
//! namespace's labels match the kind's namespace selector. A null selector selects nothing,
//! `{}` selects everything; a null namespace selector means the server's own namespace only.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::error::OperatorError;
use crate::podmonitor::PodMonitor;
use crate::prometheusrule::PrometheusRule;
use crate::servicemonitor::{LabelSelector, ObjectMeta, ServiceMonitor};

/// Labels of one object.
pub type Labels = BTreeMap<String, String>;

impl LabelSelector {
    /// Whether `labels` satisfy every `matchLabels` entry and every `matchExpressions`
    /// requirement (Kubernetes semantics: `NotIn` and `DoesNotExist` hold for an absent label).
    /// An empty selector matches everything; an unknown operator matches nothing
    /// ([`LabelSelector::validate`] reports it).
    #[must_use]
    pub fn matches(&self, labels: &Labels) -> bool {
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

    /// Checks the selector as the API server would: a known operator, values for `In` and
    /// `NotIn` only.
    ///
    /// # Errors
    /// [`OperatorError::InvalidSelector`] naming `field` and the requirement.
    pub fn validate(&self, field: &str) -> Result<(), OperatorError> {
        for (i, e) in self.match_expressions.iter().enumerate() {
            let err = |message: String| OperatorError::InvalidSelector {
                field: format!("{field}.matchExpressions[{i}]"),
                message,
            };
            match e.operator.as_str() {
                "In" | "NotIn" if e.values.is_empty() => {
                    return Err(err(format!(
                        "values: must be specified when `operator` is '{}'",
                        e.operator
                    )));
                }
                "Exists" | "DoesNotExist" if !e.values.is_empty() => {
                    return Err(err(format!(
                        "values: may not be specified when `operator` is '{}'",
                        e.operator
                    )));
                }
                "In" | "NotIn" | "Exists" | "DoesNotExist" => {}
                other => {
                    return Err(err(format!(
                        "operator: not a valid selector operator: {other:?}"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The kinds a `Prometheus` resource selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `ServiceMonitor`.
    ServiceMonitor,
    /// `PodMonitor`.
    PodMonitor,
    /// `PrometheusRule`.
    PrometheusRule,
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

/// The operator section of Firewatch's configuration: the selecting part of a `Prometheus`
/// resource's spec (same camelCase field names), plus the namespace the server runs in
/// (the `Prometheus` object's own namespace, used by null namespace selectors).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OperatorSelection {
    /// The server's own namespace.
    #[serde(default)]
    pub namespace: String,
    /// `serviceMonitorSelector` (null: none).
    pub service_monitor_selector: Option<LabelSelector>,
    /// `serviceMonitorNamespaceSelector` (null: own namespace).
    pub service_monitor_namespace_selector: Option<LabelSelector>,
    /// `podMonitorSelector` (null: none).
    pub pod_monitor_selector: Option<LabelSelector>,
    /// `podMonitorNamespaceSelector` (null: own namespace).
    pub pod_monitor_namespace_selector: Option<LabelSelector>,
    /// `ruleSelector` (null: none).
    pub rule_selector: Option<LabelSelector>,
    /// `ruleNamespaceSelector` (null: own namespace).
    pub rule_namespace_selector: Option<LabelSelector>,
}

impl OperatorSelection {
    /// Checks every selector.
    ///
    /// # Errors
    /// The first invalid selector, named by its field.
    pub fn validate(&self) -> Result<(), OperatorError> {
        for (field, sel) in [
            ("serviceMonitorSelector", &self.service_monitor_selector),
            (
                "serviceMonitorNamespaceSelector",
                &self.service_monitor_namespace_selector,
            ),
            ("podMonitorSelector", &self.pod_monitor_selector),
            (
                "podMonitorNamespaceSelector",
                &self.pod_monitor_namespace_selector,
            ),
            ("ruleSelector", &self.rule_selector),
            ("ruleNamespaceSelector", &self.rule_namespace_selector),
        ] {
            if let Some(sel) = sel {
                sel.validate(field)?;
            }
        }
        Ok(())
    }

    fn selectors(&self, kind: Kind) -> (Option<&LabelSelector>, Option<&LabelSelector>) {
        match kind {
            Kind::ServiceMonitor => (
                self.service_monitor_selector.as_ref(),
                self.service_monitor_namespace_selector.as_ref(),
            ),
            Kind::PodMonitor => (
                self.pod_monitor_selector.as_ref(),
                self.pod_monitor_namespace_selector.as_ref(),
            ),
            Kind::PrometheusRule => (
                self.rule_selector.as_ref(),
                self.rule_namespace_selector.as_ref(),
            ),
        }
    }

    /// Whether an object of `kind` with `meta` is selected; `namespace_labels` holds the
    /// labels of the object's namespace (`None` when the namespace is unknown: only `{}` or
    /// the own-namespace rule then select it).
    #[must_use]
    pub fn selects(
        &self,
        kind: Kind,
        meta: &ObjectMeta,
        namespace_labels: Option<&Labels>,
    ) -> bool {
        let (selector, ns_selector) = self.selectors(kind);
        let Some(selector) = selector else {
            return false;
        };
        let in_namespace = match ns_selector {
            None => meta.namespace == self.namespace,
            Some(s) => match namespace_labels {
                Some(labels) => s.matches(labels),
                None => s.match_labels.is_empty() && s.match_expressions.is_empty(),
            },
        };
        in_namespace && selector.matches(&meta.labels)
    }

    /// The selected objects among `objects`, in their order; `namespaces` maps each namespace
    /// to its labels.
    pub fn select<'a, T: Resource>(
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
