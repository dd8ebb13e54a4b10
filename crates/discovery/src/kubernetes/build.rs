//! Turning Kubernetes objects into target groups with Prometheus's `__meta_kubernetes_*` labels.
//!
//! Pure functions of an object and the [`Stores`] of related objects; the watch loop calls them
//! on every change. Label names and address rules follow Prometheus's `discovery/kubernetes`.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::{
    Container, ContainerStatus, Endpoints, Node, ObjectReference, Pod, Service,
};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::targetgroup::{
    ADDRESS_LABEL, INSTANCE_LABEL, LabelSet, TargetGroup, sanitize_label_name,
};

const P: &str = "__meta_kubernetes_";

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

fn name(meta: &ObjectMeta) -> &str {
    meta.name.as_deref().unwrap_or("")
}

fn namespace(meta: &ObjectMeta) -> &str {
    meta.namespace.as_deref().unwrap_or("")
}

/// `namespace/name` of an object.
#[must_use]
pub fn key(meta: &ObjectMeta) -> String {
    format!("{}/{}", namespace(meta), name(meta))
}

fn set(ls: &mut LabelSet, name: impl Into<String>, value: impl Into<String>) {
    ls.insert(name.into(), value.into());
}

fn s(v: Option<&String>) -> String {
    v.cloned().unwrap_or_default()
}

fn join_host_port(host: &str, port: impl std::fmt::Display) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// `<prefix><kind>_label_<name>`, `_labelpresent_`, `_annotation_`, `_annotationpresent_`.
fn add_labels_and_annotations(ls: &mut LabelSet, meta: &ObjectMeta, kind: &str) {
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
fn add_object_meta(ls: &mut LabelSet, meta: &ObjectMeta, kind: &str) {
    set(ls, format!("{P}{kind}_name"), name(meta));
    add_labels_and_annotations(ls, meta, kind);
}

fn add_node_labels(ls: &mut LabelSet, stores: &Stores, node_name: Option<&str>) {
    if let Some(node) = node_name.and_then(|n| stores.nodes.get(n)) {
        add_object_meta(ls, &node.metadata, "node");
    }
}

fn pod_ready(pod: &Pod) -> String {
    pod.status
        .as_ref()
        .and_then(|st| st.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Ready"))
        .map_or_else(|| "unknown".to_owned(), |c| c.status.to_ascii_lowercase())
}

/// The labels every pod-derived target gets (pod role, and endpoints resolving to pods).
fn pod_labels(pod: &Pod) -> LabelSet {
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
fn all_containers(pod: &Pod) -> Vec<(&Container, bool)> {
    let Some(spec) = pod.spec.as_ref() else {
        return Vec::new();
    };
    spec.containers
        .iter()
        .map(|c| (c, false))
        .chain(spec.init_containers.iter().flatten().map(|c| (c, true)))
        .collect()
}

fn container_id(statuses: Option<&Vec<ContainerStatus>>, container: &str) -> String {
    statuses
        .and_then(|ss| ss.iter().find(|s| s.name == container))
        .and_then(|s| s.container_id.clone())
        .unwrap_or_default()
}

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

fn service_labels(svc: &Service) -> LabelSet {
    let mut ls = LabelSet::new();
    set(&mut ls, format!("{P}namespace"), namespace(&svc.metadata));
    add_object_meta(&mut ls, &svc.metadata, "service");
    ls
}

/// The service role's group: one target per service port at `<name>.<namespace>.svc:<port>`.
#[must_use]
pub fn build_service(svc: &Service) -> TargetGroup {
    let mut tg = TargetGroup::empty(format!("svc/{}", key(&svc.metadata)));
    tg.labels = service_labels(svc);
    let Some(spec) = svc.spec.as_ref() else {
        return tg;
    };
    let svc_type = s(spec.type_.as_ref());
    for port in spec.ports.iter().flatten() {
        let host = format!("{}.{}.svc", name(&svc.metadata), namespace(&svc.metadata));
        let mut t = LabelSet::new();
        set(&mut t, ADDRESS_LABEL, join_host_port(&host, port.port));
        set(
            &mut t,
            format!("{P}service_port_name"),
            s(port.name.as_ref()),
        );
        set(
            &mut t,
            format!("{P}service_port_number"),
            port.port.to_string(),
        );
        set(
            &mut t,
            format!("{P}service_port_protocol"),
            s(port.protocol.as_ref()),
        );
        set(&mut t, format!("{P}service_type"), svc_type.clone());
        if svc_type == "ExternalName" {
            set(
                &mut t,
                format!("{P}service_external_name"),
                s(spec.external_name.as_ref()),
            );
        } else {
            set(
                &mut t,
                format!("{P}service_cluster_ip"),
                s(spec.cluster_ip.as_ref()),
            );
        }
        if svc_type == "LoadBalancer" {
            let ips: Vec<String> = svc
                .status
                .as_ref()
                .and_then(|st| st.load_balancer.as_ref())
                .and_then(|lb| lb.ingress.as_ref())
                .into_iter()
                .flatten()
                .filter_map(|i| i.ip.clone().filter(|ip| !ip.is_empty()))
                .collect();
            let v = if ips.is_empty() {
                s(spec.load_balancer_ip.as_ref())
            } else {
                ips.join(",")
            };
            set(&mut t, format!("{P}service_loadbalancer_ip"), v);
        }
        tg.targets.push(t);
    }
    tg
}

fn resolve_pod<'a>(stores: &'a Stores, r: Option<&ObjectReference>) -> Option<&'a Pod> {
    let r = r?;
    if r.kind.as_deref() != Some("Pod") {
        return None;
    }
    let k = format!("{}/{}", s(r.namespace.as_ref()), s(r.name.as_ref()));
    stores.pods.get(&k)
}

fn add_container_port_labels(t: &mut LabelSet, pod: &Pod, port: i32, protocol: &str) {
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
fn uncovered_pod_ports(seen: &HashMap<String, (&Pod, Vec<i32>)>) -> Vec<LabelSet> {
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

/// The protocol of the container port `port` (endpoint slices label the container's own).
fn container_protocol(pod: &Pod, port: i32) -> String {
    all_containers(pod)
        .iter()
        .flat_map(|(c, _)| c.ports.iter().flatten())
        .find(|p| p.container_port == port)
        .and_then(|p| p.protocol.clone())
        .unwrap_or_default()
}

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

fn matches_host_pattern(pattern: &str, host: &str) -> bool {
    if pattern == host {
        return true;
    }
    let p: Vec<&str> = pattern.split('.').collect();
    let h: Vec<&str> = host.split('.').collect();
    p[0] == "*" && p.len() == h.len() && p[1..] == h[1..]
}

/// The ingress role's group: one target per rule host and path, `https` when a TLS entry covers
/// the host.
#[must_use]
pub fn build_ingress(ing: &Ingress) -> TargetGroup {
    let mut tg = TargetGroup::empty(format!("ingress/{}", key(&ing.metadata)));
    set(
        &mut tg.labels,
        format!("{P}namespace"),
        namespace(&ing.metadata),
    );
    let spec = ing.spec.as_ref();
    if let Some(cls) = spec.and_then(|s| s.ingress_class_name.as_ref()) {
        set(
            &mut tg.labels,
            format!("{P}ingress_class_name"),
            cls.clone(),
        );
    }
    add_object_meta(&mut tg.labels, &ing.metadata, "ingress");
    let tls_hosts: Vec<&String> = spec
        .and_then(|s| s.tls.as_ref())
        .into_iter()
        .flatten()
        .flat_map(|t| t.hosts.iter().flatten())
        .collect();
    for rule in spec.and_then(|s| s.rules.as_ref()).into_iter().flatten() {
        let host = s(rule.host.as_ref());
        let scheme = if tls_hosts.iter().any(|p| matches_host_pattern(p, &host)) {
            "https"
        } else {
            "http"
        };
        let paths: Vec<String> = match &rule.http {
            None => vec!["/".to_owned()],
            Some(h) => h
                .paths
                .iter()
                .map(|p| {
                    p.path
                        .clone()
                        .filter(|p| !p.is_empty())
                        .unwrap_or_else(|| "/".to_owned())
                })
                .collect(),
        };
        for path in paths {
            let mut t = LabelSet::new();
            set(&mut t, ADDRESS_LABEL, host.clone());
            set(&mut t, format!("{P}ingress_scheme"), scheme);
            set(&mut t, format!("{P}ingress_host"), host.clone());
            set(&mut t, format!("{P}ingress_path"), path);
            tg.targets.push(t);
        }
    }
    tg
}
