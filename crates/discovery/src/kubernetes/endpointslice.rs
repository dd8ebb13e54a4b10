//! The `endpointslice` role (discovery.k8s.io/v1): one target per endpoint address and port.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;

use super::meta::{
    P, Stores, add_container_port_labels, add_node_labels, add_object_meta, container_protocol,
    join_host_port, key, namespace, pod_labels, resolve_pod, s, service_labels, set,
    uncovered_pod_ports,
};
use crate::targetgroup::{ADDRESS_LABEL, LabelSet, TargetGroup, sanitize_label_name};

fn is_non_primary_family(svc: &Service, slice: &EndpointSlice) -> bool {
    let Some(spec) = svc.spec.as_ref() else {
        return false;
    };
    let dual = matches!(
        spec.ip_family_policy.as_deref(),
        Some("PreferDualStack" | "RequireDualStack")
    );
    match spec.ip_families.as_deref() {
        Some([first, ..]) if dual => slice.address_type != *first,
        _ => false,
    }
}

/// The endpointslice role's group, as [`build_endpoints`] for `discovery.k8s.io/v1` slices.
#[must_use]
pub fn build_endpointslice(
    slice: &EndpointSlice,
    stores: &Stores,
    attach_node: bool,
) -> TargetGroup {
    let meta = &slice.metadata;
    let mut tg = TargetGroup::empty(format!("endpointslice/{}", key(meta)));
    set(&mut tg.labels, format!("{P}namespace"), namespace(meta));
    set(
        &mut tg.labels,
        format!("{P}endpointslice_address_type"),
        slice.address_type.clone(),
    );
    add_object_meta(&mut tg.labels, meta, "endpointslice");
    let svc = meta
        .labels
        .as_ref()
        .and_then(|l| l.get("kubernetes.io/service-name"))
        .and_then(|n| stores.services.get(&format!("{}/{n}", namespace(meta))));
    if let Some(svc) = svc {
        tg.labels.extend(service_labels(svc));
        if is_non_primary_family(svc, slice) {
            return tg;
        }
    }
    let mut seen: HashMap<String, (&Pod, Vec<i32>)> = HashMap::new();
    for ep in &slice.endpoints {
        for port in slice.ports.iter().flatten() {
            for addr in &ep.addresses {
                let mut t = LabelSet::new();
                let a = match port.port {
                    Some(p) => join_host_port(addr, p),
                    None => addr.clone(),
                };
                set(&mut t, ADDRESS_LABEL, a);
                let opt = |t: &mut LabelSet, n: &str, v: Option<String>| {
                    if let Some(v) = v {
                        set(t, format!("{P}{n}"), v);
                    }
                };
                opt(&mut t, "endpointslice_port_name", port.name.clone());
                opt(&mut t, "endpointslice_port_protocol", port.protocol.clone());
                opt(
                    &mut t,
                    "endpointslice_port",
                    port.port.map(|p| p.to_string()),
                );
                opt(
                    &mut t,
                    "endpointslice_port_app_protocol",
                    port.app_protocol.clone(),
                );
                let cond = ep.conditions.as_ref();
                let b = |v: Option<bool>| v.map(|v| v.to_string());
                opt(
                    &mut t,
                    "endpointslice_endpoint_conditions_ready",
                    b(cond.and_then(|c| c.ready)),
                );
                opt(
                    &mut t,
                    "endpointslice_endpoint_conditions_serving",
                    b(cond.and_then(|c| c.serving)),
                );
                opt(
                    &mut t,
                    "endpointslice_endpoint_conditions_terminating",
                    b(cond.and_then(|c| c.terminating)),
                );
                opt(
                    &mut t,
                    "endpointslice_endpoint_hostname",
                    ep.hostname.clone(),
                );
                if let Some(r) = &ep.target_ref {
                    set(
                        &mut t,
                        format!("{P}endpointslice_address_target_kind"),
                        s(r.kind.as_ref()),
                    );
                    set(
                        &mut t,
                        format!("{P}endpointslice_address_target_name"),
                        s(r.name.as_ref()),
                    );
                }
                opt(
                    &mut t,
                    "endpointslice_endpoint_node_name",
                    ep.node_name.clone(),
                );
                opt(&mut t, "endpointslice_endpoint_zone", ep.zone.clone());
                for (k, v) in ep.deprecated_topology.iter().flatten() {
                    let ln = sanitize_label_name(k);
                    set(
                        &mut t,
                        format!("{P}endpointslice_endpoint_topology_{ln}"),
                        v.clone(),
                    );
                    set(
                        &mut t,
                        format!("{P}endpointslice_endpoint_topology_present_{ln}"),
                        "true",
                    );
                }
                if attach_node {
                    let node = match &ep.target_ref {
                        Some(r) if r.kind.as_deref() == Some("Node") => r.name.as_deref(),
                        _ => ep.node_name.as_deref(),
                    };
                    add_node_labels(&mut t, stores, node);
                }
                if let Some(pod) = resolve_pod(stores, ep.target_ref.as_ref()) {
                    let entry = seen
                        .entry(key(&pod.metadata))
                        .or_insert_with(|| (pod, Vec::new()));
                    if let Some(p) = port.port {
                        entry.1.push(p);
                    }
                    t.extend(pod_labels(pod));
                    if let Some(p) = port.port {
                        let proto = container_protocol(pod, p);
                        add_container_port_labels(&mut t, pod, p, &proto);
                    }
                }
                tg.targets.push(t);
            }
        }
    }
    tg.targets.extend(uncovered_pod_ports(&seen));
    tg
}
