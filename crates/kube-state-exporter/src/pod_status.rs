//! The rest of kube-state-metrics' pod families (`internal/store/pod.go`): owner, creation
//! and start time, container info and state.

use k8s_openapi::api::core::v1::Pod;
use model::exposition::MetricType;

use crate::out::Out;
use crate::table::time;

/// `(name, help, type)` of the families written here.
pub const FAMILIES: [(&str, &str, MetricType); 9] = [
    (
        "kube_pod_owner",
        "[STABLE] Information about the Pod's owner.",
        MetricType::Gauge,
    ),
    (
        "kube_pod_created",
        "[STABLE] Unix creation timestamp",
        MetricType::Gauge,
    ),
    (
        "kube_pod_start_time",
        "[STABLE] Start time in unix timestamp for a pod.",
        MetricType::Gauge,
    ),
    (
        "kube_pod_container_info",
        "[STABLE] Information about a container in a pod.",
        MetricType::Gauge,
    ),
    (
        "kube_pod_container_status_ready",
        "[STABLE] Describes whether the containers readiness check succeeded.",
        MetricType::Gauge,
    ),
    (
        "kube_pod_container_status_running",
        "[STABLE] Describes whether the container is currently in running state.",
        MetricType::Gauge,
    ),
    (
        "kube_pod_container_status_terminated",
        "[STABLE] Describes whether the container is currently in terminated state.",
        MetricType::Gauge,
    ),
    (
        "kube_pod_container_status_waiting",
        "[STABLE] Describes whether the container is currently in waiting state.",
        MetricType::Gauge,
    ),
    (
        "kube_pod_container_status_waiting_reason",
        "[STABLE] Describes the reason the container is currently in waiting state.",
        MetricType::Gauge,
    ),
];

fn with<'a>(base: &[(&'a str, &'a str)], extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    [base, extra].concat()
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Adds these families' series of `pod`; `base` is its `namespace`, `pod`, `uid`.
pub fn add(out: &mut Out, pod: &Pod, base: &[(&str, &str)]) {
    let owners = pod.metadata.owner_references.as_deref().unwrap_or_default();
    if owners.is_empty() {
        let none = [
            ("owner_kind", ""),
            ("owner_name", ""),
            ("owner_is_controller", ""),
        ];
        out.add("kube_pod_owner", &with(base, &none), 1.0);
    }
    for o in owners {
        let controller = if o.controller == Some(true) {
            "true"
        } else {
            "false"
        };
        let l = [
            ("owner_kind", o.kind.as_str()),
            ("owner_name", o.name.as_str()),
            ("owner_is_controller", controller),
        ];
        out.add("kube_pod_owner", &with(base, &l), 1.0);
    }
    if let Some(t) = time(pod.metadata.creation_timestamp.as_ref()) {
        out.add("kube_pod_created", base, t);
    }
    let status = pod.status.as_ref();
    if let Some(t) = time(status.and_then(|s| s.start_time.as_ref())) {
        out.add("kube_pod_start_time", base, t);
    }
    let statuses = status
        .and_then(|s| s.container_statuses.as_deref())
        .unwrap_or_default();
    let containers = pod.spec.as_ref().map(|s| s.containers.as_slice());
    for c in containers.unwrap_or_default() {
        for cs in statuses.iter().filter(|cs| cs.name == c.name) {
            let l = [
                ("container", cs.name.as_str()),
                ("image_spec", c.image.as_deref().unwrap_or("")),
                ("image", cs.image.as_str()),
                ("image_id", cs.image_id.as_str()),
                ("container_id", cs.container_id.as_deref().unwrap_or("")),
            ];
            out.add("kube_pod_container_info", &with(base, &l), 1.0);
        }
    }
    for cs in statuses {
        let l = with(base, &[("container", cs.name.as_str())]);
        let state = cs.state.clone().unwrap_or_default();
        out.add("kube_pod_container_status_ready", &l, flag(cs.ready));
        for (family, on) in [
            ("kube_pod_container_status_running", state.running.is_some()),
            (
                "kube_pod_container_status_terminated",
                state.terminated.is_some(),
            ),
            ("kube_pod_container_status_waiting", state.waiting.is_some()),
        ] {
            out.add(family, &l, flag(on));
        }
        if let Some(w) = &state.waiting {
            let reason = w.reason.as_deref().unwrap_or("");
            let l = with(base, &[("container", cs.name.as_str()), ("reason", reason)]);
            out.add("kube_pod_container_status_waiting_reason", &l, 1.0);
        }
    }
}
