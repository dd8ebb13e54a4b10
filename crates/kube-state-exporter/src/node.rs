//! Node families as kube-state-metrics writes them (`internal/store/node.go`,
//! `docs/metrics/cluster/node.md`): info, conditions, capacity and allocatable, creation and
//! deletion time, addresses, roles, pod CIDRs, taints and schedulability.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use model::exposition::MetricType;

use crate::out::Family;

use crate::out::Out;
use crate::quantity;
use crate::table::{deleted, time};

const FAMILIES: [(&str, &str, MetricType); 4] = [
    (
        "kube_node_info",
        "[STABLE] Information about a cluster node.",
        MetricType::Gauge,
    ),
    (
        "kube_node_status_condition",
        "[STABLE] The condition of a cluster node.",
        MetricType::Gauge,
    ),
    (
        "kube_node_status_capacity",
        "[STABLE] The capacity for different resources of a node.",
        MetricType::Gauge,
    ),
    (
        "kube_node_status_allocatable",
        "[STABLE] The allocatable for different resources of a node that are available for scheduling.",
        MetricType::Gauge,
    ),
];

/// Families beside the core four: creation and deletion time, addresses, roles, pod CIDRs,
/// taints and schedulability.
const MORE: [(&str, &str, MetricType); 7] = [
    (
        "kube_node_created",
        "[STABLE] Unix creation timestamp",
        MetricType::Gauge,
    ),
    (
        "kube_node_deletion_timestamp",
        "Unix deletion timestamp",
        MetricType::Gauge,
    ),
    (
        "kube_node_status_addresses",
        "Node address information.",
        MetricType::Gauge,
    ),
    (
        "kube_node_role",
        "The role of a cluster node.",
        MetricType::Gauge,
    ),
    (
        "kube_node_spec_pod_cidrs",
        "The pod CIDRs of a cluster node.",
        MetricType::Gauge,
    ),
    (
        "kube_node_spec_taint",
        "[STABLE] The taint of a cluster node.",
        MetricType::Gauge,
    ),
    (
        "kube_node_spec_unschedulable",
        "[STABLE] Whether a node can schedule new pods.",
        MetricType::Gauge,
    ),
];

/// The families of these nodes.
#[must_use]
pub fn families<'a>(nodes: impl IntoIterator<Item = &'a Node>) -> Vec<Family> {
    let mut out = Out::declared(&FAMILIES);
    for &(name, help, t) in &MORE {
        out.declare(name, help, t);
    }
    for node in nodes {
        one(&mut out, node);
        more(&mut out, node);
    }
    out.finish()
}

fn with<'a>(base: &[(&'a str, &'a str)], extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    [base, extra].concat()
}

fn more(out: &mut Out, node: &Node) {
    let name = node.metadata.name.as_deref().unwrap_or("");
    let base = [("node", name)];
    if let Some(t) = time(node.metadata.creation_timestamp.as_ref()) {
        out.add("kube_node_created", &base, t);
    }
    if let Some(t) = deleted(node) {
        out.add("kube_node_deletion_timestamp", &base, t);
    }
    let status = node.status.as_ref();
    for a in status
        .and_then(|s| s.addresses.as_deref())
        .unwrap_or_default()
    {
        let l = with(
            &base,
            &[("type", a.type_.as_str()), ("address", a.address.as_str())],
        );
        out.add("kube_node_status_addresses", &l, 1.0);
    }
    for key in node.metadata.labels.iter().flatten().map(|(k, _)| k) {
        if let Some(role) = key.strip_prefix("node-role.kubernetes.io/") {
            out.add("kube_node_role", &with(&base, &[("role", role)]), 1.0);
        }
    }
    let spec = node.spec.clone().unwrap_or_default();
    for cidr in spec.pod_cidrs.iter().flatten() {
        out.add(
            "kube_node_spec_pod_cidrs",
            &with(&base, &[("pod_cidr", cidr)]),
            1.0,
        );
    }
    for t in spec.taints.iter().flatten() {
        let l = with(
            &base,
            &[
                ("key", t.key.as_str()),
                ("value", t.value.as_deref().unwrap_or("")),
                ("effect", t.effect.as_str()),
            ],
        );
        out.add("kube_node_spec_taint", &l, 1.0);
    }
    let unschedulable = if spec.unschedulable == Some(true) {
        1.0
    } else {
        0.0
    };
    out.add("kube_node_spec_unschedulable", &base, unschedulable);
}

fn one(out: &mut Out, node: &Node) {
    let name = node.metadata.name.as_deref().unwrap_or("");
    let spec = node.spec.as_ref();
    let status = node.status.as_ref();
    let info = status.and_then(|s| s.node_info.as_ref());
    let field = |f: fn(&k8s_openapi::api::core::v1::NodeSystemInfo) -> &String| {
        info.map_or("", |i| f(i).as_str())
    };
    let internal_ip = status
        .and_then(|s| s.addresses.as_ref())
        .and_then(|a| a.iter().find(|a| a.type_ == "InternalIP"))
        .map_or("", |a| a.address.as_str());
    let labels = [
        ("node", name),
        ("kernel_version", field(|i| &i.kernel_version)),
        ("os_image", field(|i| &i.os_image)),
        (
            "container_runtime_version",
            field(|i| &i.container_runtime_version),
        ),
        ("kubelet_version", field(|i| &i.kubelet_version)),
        // kube-proxy's version is deprecated in the node status: kube-state-metrics writes
        // the word itself.
        ("kubeproxy_version", "deprecated"),
        (
            "provider_id",
            spec.and_then(|s| s.provider_id.as_deref()).unwrap_or(""),
        ),
        (
            "pod_cidr",
            spec.and_then(|s| s.pod_cidr.as_deref()).unwrap_or(""),
        ),
        ("system_uuid", field(|i| &i.system_uuid)),
        ("internal_ip", internal_ip),
    ];
    out.add("kube_node_info", &labels, 1.0);
    for c in status
        .and_then(|s| s.conditions.as_ref())
        .into_iter()
        .flatten()
    {
        for (label, want) in [("true", "True"), ("false", "False"), ("unknown", "Unknown")] {
            let v = if c.status == want { 1.0 } else { 0.0 };
            let l = [
                ("node", name),
                ("condition", c.type_.as_str()),
                ("status", label),
            ];
            out.add("kube_node_status_condition", &l, v);
        }
    }
    resources(
        out,
        "kube_node_status_capacity",
        name,
        status.and_then(|s| s.capacity.as_ref()),
    );
    resources(
        out,
        "kube_node_status_allocatable",
        name,
        status.and_then(|s| s.allocatable.as_ref()),
    );
}

fn resources(
    out: &mut Out,
    family: &'static str,
    node: &str,
    list: Option<&BTreeMap<String, Quantity>>,
) {
    for (resource, q) in list.into_iter().flatten() {
        let Some(v) = quantity::parse(&q.0) else {
            continue;
        };
        let (name, unit) = crate::pod::resource_unit(resource);
        out.add(
            family,
            &[("node", node), ("resource", name.as_str()), ("unit", unit)],
            v,
        );
    }
}
