//! Labels and lookups shared by the Kubernetes roles: object metadata labels, pod labels,
//! the stores of watched objects.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{
    Container, ContainerStatus, Endpoints, Node, ObjectReference, Pod, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::targetgroup::{ADDRESS_LABEL, LabelSet, sanitize_label_name};

/// The prefix of every Kubernetes meta label.
pub(super) const P: &str = "__meta_kubernetes_";

/// Local copies of the watched objects, keyed by `namespace/name` (nodes by name).
#[derive(Clone, Debug, Default)]
pub struct Stores {
    /// Nodes by name.
    pub nodes: BTreeMap<String, Node>,
    /// Pods by `namespace/name`.
    pub pods: BTreeMap<String, Pod>,
    /// Services by `namespace/name`.
    pub services: BTreeMap<String, Service>,
    /// Endpoints by `namespace/name`.
    pub endpoints: BTreeMap<String, Endpoints>,
    /// Endpoint slices by `namespace/name`.
    pub endpointslices: BTreeMap<String, EndpointSlice>,
    /// Ingresses by `namespace/name`.
    pub ingresses: BTreeMap<String, Ingress>,
}

pub(super) fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("")
}

pub(super) fn namespace(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("")
}

/// `namespace/name` of an object.
#[must_use]
pub fn key(meta: &ObjectMeta) -> String {
    format!("{}/{}", namespace(meta), name(meta))
}

pub(super) fn set(ls: &mut LabelSet, name: impl Into<String>, value: impl Into<String>) {
    ls.insert(name.into(), value.into());
}

pub(super) fn s(v: Option<&String>) -> String {
    v.cloned().unwrap_or_default()
}

pub(super) fn join_host_port(host: &str, port: impl std::fmt::Display) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `<prefix><kind>_label_<name>`, `_labelpresent_`, `_annotation_`, `_annotationpresent_`.
pub(super) fn add_labels_and_annotations(ls: &mut LabelSet, meta: &ObjectMeta, kind: &str) {
    for (k, v) in meta.labels.iter().flatten() {
        let ln = sanitize_label_name(k);
        set(ls, format!("{P}{kind}_label_{ln}"), v.clone());
        set(ls, format!("{P}{kind}_labelpresent_{ln}"), "true");
    }
    for (k, v) in meta.annotations.iter().flatten() {
        let ln = sanitize_label_name(k);
        set(ls, format!("{P}{kind}_annotation_{ln}"), v.clone());
        set(ls, format!("{P}{kind}_annotationpresent_{ln}"), "true");
    }
}

/// `<prefix><kind>_name` plus labels and annotations.
pub(super) fn add_object_meta(ls: &mut LabelSet, meta: &ObjectMeta, kind: &str) {
    set(ls, format!("{P}{kind}_name"), name(meta));
    add_labels_and_annotations(ls, meta, kind);
}

pub(super) fn add_node_labels(ls: &mut LabelSet, stores: &Stores, node_name: Option<&str>) {
    if let Some(node) = node_name.and_then(|n| stores.nodes.get(n)) {
        add_object_meta(ls, &node.metadata, "node");
    }
}

pub(super) fn pod_ready(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|st| st.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .map_or_else(|| "unknown".to_owned(), |c| c.status.to_ascii_lowercase())
}

/// The labels every pod-derived target gets (pod role, and endpoints resolving to pods).
pub(super) fn pod_labels(pod: &Pod) -> LabelSet {
    let st = pod.status.as_ref();
    let spec = pod.spec.as_ref();
    let mut ls = LabelSet::new();
    set(
        &mut ls,
        format!("{P}pod_ip"),
        s(st.and_then(|s| s.pod_ip.as_ref())),
    );
    set(&mut ls, format!("{P}pod_ready"), pod_ready(pod));
    set(
        &mut ls,
        format!("{P}pod_phase"),
        s(st.and_then(|s| s.phase.as_ref())),
    );
    set(
        &mut ls,
        format!("{P}pod_node_name"),
        s(spec.and_then(|s| s.node_name.as_ref())),
    );
    set(
        &mut ls,
        format!("{P}pod_host_ip"),
        s(st.and_then(|s| s.host_ip.as_ref())),
    );
    set(&mut ls, format!("{P}pod_uid"), s(pod.metadata.uid.as_ref()));
    add_object_meta(&mut ls, &pod.metadata, "pod");
    let controller = pod
        .metadata
        .owner_references
        .iter()
        .flatten()
        .find(|r| r.controller == Some(true));
    if let Some(c) = controller {
        if !c.kind.is_empty() {
            set(&mut ls, format!("{P}pod_controller_kind"), c.kind.clone());
        }
        if !c.name.is_empty() {
            set(&mut ls, format!("{P}pod_controller_name"), c.name.clone());
        }
    }
    ls
}

/// Containers then init containers, each with whether it is an init container.
pub(super) fn all_containers(pod: &Pod) -> Vec<(&Container, bool)> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    spec.containers
        .iter()
        .map(|c| (c, false))
        .chain(spec.init_containers.iter().flatten().map(|c| (c, true)))
        .collect()
}

pub(super) fn container_id(statuses: Option<&Vec<ContainerStatus>>, container: &str) -> String {
    statuses
        .and_then(|ss| ss.iter().find(|s| s.name == container))
        .and_then(|s| s.container_id.clone())
        .unwrap_or_default()
}

pub(super) fn service_labels(svc: &Service) -> LabelSet {
    let mut ls = LabelSet::new();
    set(&mut ls, format!("{P}namespace"), namespace(&svc.metadata));
    add_object_meta(&mut ls, &svc.metadata, "service");
    ls
}

pub(super) fn resolve_pod<'a>(stores: &'a Stores, r: Option<&ObjectReference>) -> Option<&'a Pod> {
    let r = r?;
    if r.kind.as_deref() != Some("Pod") {
        return None;
    }
    let k = format!("{}/{}", s(r.namespace.as_ref()), s(r.name.as_ref()));
    stores.pods.get(&k)
}

pub(super) fn add_container_port_labels(t: &mut LabelSet, pod: &Pod, port: i32, protocol: &str) {
    for (c, is_init) in all_containers(pod) {
        if let Some(cport) = c.ports.iter().flatten().find(|p| p.container_port == port) {
            set(t, format!("{P}pod_container_name"), c.name.clone());
            set(t, format!("{P}pod_container_image"), s(c.image.as_ref()));
            set(
                t,
                format!("{P}pod_container_port_name"),
                s(cport.name.as_ref()),
            );
            set(t, format!("{P}pod_container_port_number"), port.to_string());
            set(t, format!("{P}pod_container_port_protocol"), protocol);
            set(t, format!("{P}pod_container_init"), is_init.to_string());
            return;
        }
    }
}

/// Targets for the container ports of pods behind an endpoint that no endpoint port covers.
pub(super) fn uncovered_pod_ports(seen: &HashMap<String, (&Pod, Vec<i32>)>) -> Vec<LabelSet> {
    let mut out = Vec::new();
    let mut keys: Vec<&String> = seen.keys().collect();
    keys.sort();
    for k in keys {
        let (pod, covered) = &seen[k];
        let pod_ip = s(pod.status.as_ref().and_then(|st| st.pod_ip.as_ref()));
        if pod_ip.is_empty() {
            continue;
        }
        for (c, is_init) in all_containers(pod) {
            for cport in c.ports.iter().flatten() {
                if covered.contains(&cport.container_port) {
                    continue;
                }
                let mut t = pod_labels(pod);
                let num = cport.container_port.to_string();
                set(&mut t, ADDRESS_LABEL, join_host_port(&pod_ip, &num));
                set(&mut t, format!("{P}pod_container_name"), c.name.clone());
                set(
                    &mut t,
                    format!("{P}pod_container_image"),
                    s(c.image.as_ref()),
                );
                set(
                    &mut t,
                    format!("{P}pod_container_port_name"),
                    s(cport.name.as_ref()),
                );
                set(&mut t, format!("{P}pod_container_port_number"), num);
                set(
                    &mut t,
                    format!("{P}pod_container_port_protocol"),
                    s(cport.protocol.as_ref()),
                );
                set(
                    &mut t,
                    format!("{P}pod_container_init"),
                    is_init.to_string(),
                );
                out.push(t);
            }
        }
    }
    out
}

/// The protocol of the container port `port` (endpoint slices label the container's own).
pub(super) fn container_protocol(pod: &Pod, port: i32) -> String {
    all_containers(pod)
        .iter()
        .flat_map(|(c, _)| c.ports.iter().flatten())
        .find(|p| p.container_port == port)
        .and_then(|p| p.protocol.clone())
        .unwrap_or_default()
}
