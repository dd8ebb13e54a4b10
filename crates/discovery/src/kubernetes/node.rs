//! The `node` role: one target per node, at its preferred address and kubelet port.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Node;

use super::meta::{P, add_object_meta, join_host_port, name, s, set};
use crate::targetgroup::{
    ADDRESS_LABEL, INSTANCE_LABEL, LabelSet, TargetGroup, sanitize_label_name,
};

/// The node role's group: one target at the node's preferred address and kubelet port, with
/// `instance` set to the node name. `None` when the node has no usable address.
#[must_use]
pub fn build_node(node: &Node) -> Option<TargetGroup> {
    let node_name = name(&node.metadata);
    let mut tg = TargetGroup::empty(format!("node/{node_name}"));
    set(
        &mut tg.labels,
        format!("{P}node_provider_id"),
        s(node.spec.as_ref().and_then(|s| s.provider_id.as_ref())),
    );
    let st = node.status.as_ref();
    for c in st.and_then(|s| s.conditions.as_ref()).into_iter().flatten() {
        let ln = sanitize_label_name(&c.type_.to_ascii_lowercase());
        set(
            &mut tg.labels,
            format!("{P}node_condition_{ln}"),
            c.status.to_ascii_lowercase(),
        );
    }
    add_object_meta(&mut tg.labels, &node.metadata, "node");

    let mut by_type: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for a in st.and_then(|s| s.addresses.as_ref()).into_iter().flatten() {
        by_type
            .entry(a.type_.as_str())
            .or_default()
            .push(a.address.as_str());
    }
    let preferred = [
        "InternalIP",
        "InternalDNS",
        "ExternalIP",
        "ExternalDNS",
        "LegacyHostIP",
        "Hostname",
    ];
    let Some(addr) = preferred.iter().find_map(|t| by_type.get(t).map(|a| a[0])) else {
        tracing::warn!(node = node_name, "No node address found");
        return None;
    };
    let port = st
        .and_then(|s| s.daemon_endpoints.as_ref())
        .and_then(|d| d.kubelet_endpoint.as_ref())
        .map_or(0, |k| k.port);
    let mut t = LabelSet::new();
    set(&mut t, ADDRESS_LABEL, join_host_port(addr, port));
    set(&mut t, INSTANCE_LABEL, node_name);
    for (ty, addrs) in &by_type {
        set(
            &mut t,
            sanitize_label_name(&format!("{P}node_address_{ty}")),
            addrs[0],
        );
    }
    tg.targets.push(t);
    Some(tg)
}
