//! Namespace families as kube-state-metrics writes them (`internal/store/namespace.go`):
//! creation time, phase and conditions.

use k8s_openapi::api::core::v1::Namespace;
use model::exposition::MetricType;

use crate::out::{Family, Out};
use crate::table::typed_conditions;

/// The families of these namespaces.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn families<'a>(namespaces: impl IntoIterator<Item = &'a Namespace>) -> Vec<Family> {
    let mut out = Out::default();
    out.declare(
        "kube_namespace_created",
        "[STABLE] Unix creation timestamp",
        MetricType::Gauge,
    );
    out.declare(
        "kube_namespace_status_phase",
        "[STABLE] kubernetes namespace status phase.",
        MetricType::Gauge,
    );
    out.declare(
        "kube_namespace_status_condition",
        "The condition of a namespace.",
        MetricType::Gauge,
    );
    for ns in namespaces {
        let name = ns.metadata.name.as_deref().unwrap_or("");
        if let Some(t) = &ns.metadata.creation_timestamp {
            out.add(
                "kube_namespace_created",
                &[("namespace", name)],
                t.0.as_second() as f64,
            );
        }
        if let Some(phase) = ns.status.as_ref().and_then(|s| s.phase.as_deref()) {
            for p in ["Active", "Terminating"] {
                let v = if p == phase { 1.0 } else { 0.0 };
                out.add(
                    "kube_namespace_status_phase",
                    &[("namespace", name), ("phase", p)],
                    v,
                );
            }
        }
        let cs = ns.status.as_ref().and_then(|s| s.conditions.as_deref());
        let items = cs.unwrap_or_default().iter();
        for (extra, v) in typed_conditions(items.map(|c| (c.type_.as_str(), c.status.as_str()))) {
            let mut labels = vec![("namespace", name)];
            labels.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
            out.add("kube_namespace_status_condition", &labels, v);
        }
    }
    out.finish()
}
