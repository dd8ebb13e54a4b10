//! The `endpoints` role (core/v1 Endpoints): one target per address and port.

use std::collections::HashMap;

use k8s_openapi::api::core::v1::{Endpoints, Pod};

use super::meta::{
    P, Stores, add_container_port_labels, add_node_labels, add_object_meta, join_host_port, key,
    namespace, pod_labels, resolve_pod, s, service_labels, set, uncovered_pod_ports,
};
use crate::targetgroup::{ADDRESS_LABEL, LabelSet, TargetGroup};

/// The endpoints role's group: one target per address and port, enriched with the service's
/// and the backing pod's labels; pod container ports no endpoint covers become extra targets.
#[must_use]
pub fn build_endpoints(eps: &Endpoints, stores: &Stores, attach_node: bool) -> TargetGroup {
    let mut tg = TargetGroup::empty(format!("endpoints/{}", key(&eps.metadata)));
    set(
        &mut tg.labels,
        format!("{P}namespace"),
        namespace(&eps.metadata),
    );
    if let Some(svc) = stores.services.get(&key(&eps.metadata)) {
        tg.labels.extend(service_labels(svc));
    }
    add_object_meta(&mut tg.labels, &eps.metadata, "endpoints");
    let mut seen: HashMap<String, (&Pod, Vec<i32>)> = HashMap::new();
    for subset in eps.subsets.iter().flatten() {
        for port in subset.ports.iter().flatten() {
            let ready = subset.addresses.iter().flatten().map(|a| (a, "true"));
            let not_ready = subset
                .not_ready_addresses
                .iter()
                .flatten()
                .map(|a| (a, "false"));
            for (addr, ready) in ready.chain(not_ready) {
                let mut t = LabelSet::new();
                let protocol = s(port.protocol.as_ref());
                set(&mut t, ADDRESS_LABEL, join_host_port(&addr.ip, port.port));
                set(
                    &mut t,
                    format!("{P}endpoint_port_name"),
                    s(port.name.as_ref()),
                );
                set(
                    &mut t,
                    format!("{P}endpoint_port_protocol"),
                    protocol.clone(),
                );
                set(&mut t, format!("{P}endpoint_ready"), ready);
                if let Some(r) = &addr.target_ref {
                    set(
                        &mut t,
                        format!("{P}endpoint_address_target_kind"),
                        s(r.kind.as_ref()),
                    );
                    set(
                        &mut t,
                        format!("{P}endpoint_address_target_name"),
                        s(r.name.as_ref()),
                    );
                }
                if let Some(n) = &addr.node_name {
                    set(&mut t, format!("{P}endpoint_node_name"), n.clone());
                }
                if let Some(h) = addr.hostname.as_ref().filter(|h| !h.is_empty()) {
                    set(&mut t, format!("{P}endpoint_hostname"), h.clone());
                }
                if attach_node {
                    let node = addr.node_name.as_deref().or_else(|| {
                        addr.target_ref
                            .as_ref()
                            .filter(|r| r.kind.as_deref() == Some("Node"))
                            .and_then(|r| r.name.as_deref())
                    });
                    add_node_labels(&mut t, stores, node);
                }
                if let Some(pod) = resolve_pod(stores, addr.target_ref.as_ref()) {
                    seen.entry(key(&pod.metadata))
                        .or_insert_with(|| (pod, Vec::new()))
                        .1
                        .push(port.port);
                    t.extend(pod_labels(pod));
                    add_container_port_labels(&mut t, pod, port.port, &protocol);
                }
                tg.targets.push(t);
            }
        }
    }
    tg.targets.extend(uncovered_pod_ports(&seen));
    tg
}
