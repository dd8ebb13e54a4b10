//! Pod families as kube-state-metrics writes them (`internal/store/pod.go`,
//! `docs/metrics/workload/pod.md`): info, phase, ready, container restarts, container
//! resource requests and limits.

use k8s_openapi::api::core::v1::{Pod, ResourceRequirements};
use model::exposition::MetricType;

use crate::out::Family;

use crate::out::Out;
use crate::quantity;

/// The phases kube-state-metrics writes one series for each.
const PHASES: [&str; 5] = ["Pending", "Succeeded", "Failed", "Unknown", "Running"];

const FAMILIES: [(&str, &str, MetricType); 6] = [
    (
        "kube_pod_info",
        "[STABLE] Information about pod.",
        MetricType::Gauge,
    ),
    (
        "kube_pod_status_phase",
        "[STABLE] The pods current phase.",
        MetricType::Gauge,
    ),
    (
        "kube_pod_status_ready",
        "[STABLE] Describes whether the pod is ready to serve requests.",
        MetricType::Gauge,
    ),
    (
        "kube_pod_container_status_restarts_total",
        "[STABLE] The number of container restarts per container.",
        MetricType::Counter,
    ),
    (
        "kube_pod_container_resource_requests",
        "[STABLE] The number of requested request resource by a container. It is recommended to use the kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.",
        MetricType::Gauge,
    ),
    (
        "kube_pod_container_resource_limits",
        "[STABLE] The number of requested limit resource by a container. It is recommended to use the kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.",
        MetricType::Gauge,
    ),
];

/// The families of these pods (families without series are still declared).
#[must_use]
pub fn families<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> Vec<Family> {
    let mut out = Out::declared(&FAMILIES);
    for &(name, help, t) in crate::pod_status::FAMILIES
        .iter()
        .chain(&crate::pod_extra::FAMILIES)
    {
        out.declare(name, help, t);
    }
    for pod in pods {
        one(&mut out, pod);
    }
    out.finish()
}

fn one(out: &mut Out, pod: &Pod) {
    let m = &pod.metadata;
    let ns = m.namespace.as_deref().unwrap_or("");
    let name = m.name.as_deref().unwrap_or("");
    let uid = m.uid.as_deref().unwrap_or("");
    let spec = pod.spec.as_ref();
    let status = pod.status.as_ref();
    let node = spec.and_then(|s| s.node_name.as_deref()).unwrap_or("");
    let owner = m.owner_references.as_ref().and_then(|o| {
        o.iter()
            .find(|r| r.controller == Some(true))
            .or_else(|| o.first())
    });
    let host_network = spec.and_then(|s| s.host_network).unwrap_or(false);
    let base = [("namespace", ns), ("pod", name), ("uid", uid)];
    let info = [
        (
            "host_ip",
            status.and_then(|s| s.host_ip.as_deref()).unwrap_or(""),
        ),
        (
            "pod_ip",
            status.and_then(|s| s.pod_ip.as_deref()).unwrap_or(""),
        ),
        ("node", node),
        ("created_by_kind", owner.map_or("", |o| o.kind.as_str())),
        ("created_by_name", owner.map_or("", |o| o.name.as_str())),
        (
            "priority_class",
            spec.and_then(|s| s.priority_class_name.as_deref())
                .unwrap_or(""),
        ),
        ("host_network", if host_network { "true" } else { "false" }),
    ];
    out.add("kube_pod_info", &[&base[..], &info[..]].concat(), 1.0);
    crate::pod_status::add(out, pod, &base);
    crate::pod_extra::add(out, pod, &base);
    if let Some(phase) = status.and_then(|s| s.phase.as_deref()) {
        for p in PHASES {
            let v = if p == phase { 1.0 } else { 0.0 };
            out.add(
                "kube_pod_status_phase",
                &[&base[..], &[("phase", p)]].concat(),
                v,
            );
        }
    }
    let conditions = status.and_then(|s| s.conditions.as_ref());
    for c in conditions
        .into_iter()
        .flatten()
        .filter(|c| c.type_ == "Ready")
    {
        for (label, want) in [("true", "True"), ("false", "False"), ("unknown", "Unknown")] {
            let v = if c.status == want { 1.0 } else { 0.0 };
            out.add(
                "kube_pod_status_ready",
                &[&base[..], &[("condition", label)]].concat(),
                v,
            );
        }
    }
    let statuses = status.and_then(|s| s.container_statuses.as_ref());
    for cs in statuses.into_iter().flatten() {
        let labels = [&base[..], &[("container", cs.name.as_str())]].concat();
        out.add(
            "kube_pod_container_status_restarts_total",
            &labels,
            f64::from(cs.restart_count),
        );
    }
    for c in spec.map(|s| s.containers.as_slice()).unwrap_or_default() {
        let Some(res) = &c.resources else { continue };
        let families = [
            "kube_pod_container_resource_requests",
            "kube_pod_container_resource_limits",
        ];
        resources(out, families, &base, &c.name, node, res);
    }
}

/// A container's requests and limits as `families` (`[requests, limits]`), one series per
/// resource.
pub(crate) fn resources(
    out: &mut Out,
    families: [&'static str; 2],
    base: &[(&str, &str)],
    container: &str,
    node: &str,
    res: &ResourceRequirements,
) {
    for (family, list) in [(families[0], &res.requests), (families[1], &res.limits)] {
        for (resource, q) in list.iter().flatten() {
            let Some(v) = quantity::parse(&q.0) else {
                tracing::debug!(
                    resource = resource.as_str(),
                    quantity = q.0.as_str(),
                    "not a quantity"
                );
                continue;
            };
            let (name, unit) = resource_unit(resource);
            let extra = [
                ("container", container),
                ("node", node),
                ("resource", name.as_str()),
                ("unit", unit),
            ];
            out.add(family, &[base, &extra[..]].concat(), v);
        }
    }
}

/// kube-state-metrics' `resource` and `unit` labels for a resource name (`cpu` in cores,
/// memory, storage and hugepages in bytes, the rest as integers; `.`, `/`, `-` become `_`).
#[must_use]
pub fn resource_unit(resource: &str) -> (String, &'static str) {
    let name = resource.replace(['-', '.', '/'], "_");
    let unit = match resource {
        "cpu" => "core",
        "memory" | "ephemeral-storage" | "storage" => "byte",
        r if r.starts_with("hugepages-") => "byte",
        _ => "integer",
    };
    (name, unit)
}
