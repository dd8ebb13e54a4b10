//! The `pod` role: one target per container port, or per container without ports.

use k8s_openapi::api::core::v1::Pod;

use super::meta::{
    P, Stores, add_node_labels, all_containers, container_id, join_host_port, key, namespace,
    pod_labels, s, set,
};
use crate::targetgroup::{ADDRESS_LABEL, LabelSet, TargetGroup};

/// The pod role's group: one target per container port, or per container without ports.
#[must_use]
pub fn build_pod(pod: &Pod, stores: &Stores, attach_node: bool) -> TargetGroup {
    let mut tg = TargetGroup::empty(format!("pod/{}", key(&pod.metadata)));
    let st = pod.status.as_ref();
    let pod_ip = s(st.and_then(|s| s.pod_ip.as_ref()));
    // A pod that is starting or evicted has no IP yet: no targets.
    if pod_ip.is_empty() {
        return tg;
    }
    let node_name = pod.spec.as_ref().and_then(|s| s.node_name.as_deref());
    if attach_node && !node_name.is_some_and(|n| stores.nodes.contains_key(n)) {
        // Wait for the node so its metadata can be attached; the node's arrival rebuilds us.
        return tg;
    }
    tg.labels = pod_labels(pod);
    set(
        &mut tg.labels,
        format!("{P}namespace"),
        namespace(&pod.metadata),
    );
    if attach_node {
        add_node_labels(&mut tg.labels, stores, node_name);
    }
    for (c, is_init) in all_containers(pod) {
        let statuses = st.and_then(|s| {
            if is_init {
                s.init_container_statuses.as_ref()
            } else {
                s.container_statuses.as_ref()
            }
        });
        let mut base = LabelSet::new();
        set(&mut base, format!("{P}pod_container_name"), c.name.clone());
        set(
            &mut base,
            format!("{P}pod_container_id"),
            container_id(statuses, &c.name),
        );
        set(
            &mut base,
            format!("{P}pod_container_image"),
            s(c.image.as_ref()),
        );
        set(
            &mut base,
            format!("{P}pod_container_init"),
            is_init.to_string(),
        );
        let ports = c.ports.as_deref().unwrap_or_default();
        if ports.is_empty() {
            let mut t = base;
            set(&mut t, ADDRESS_LABEL, pod_ip.clone());
            tg.targets.push(t);
            continue;
        }
        for port in ports {
            let mut t = base.clone();
            let num = port.container_port.to_string();
            set(&mut t, ADDRESS_LABEL, join_host_port(&pod_ip, &num));
            set(&mut t, format!("{P}pod_container_port_number"), num);
            set(
                &mut t,
                format!("{P}pod_container_port_name"),
                s(port.name.as_ref()),
            );
            set(
                &mut t,
                format!("{P}pod_container_port_protocol"),
                s(port.protocol.as_ref()),
            );
            tg.targets.push(t);
        }
    }
    tg
}
