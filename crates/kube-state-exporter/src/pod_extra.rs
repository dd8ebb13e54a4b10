//! kube-state-metrics' alpha pod families (`internal/store/pod.go`) and the init container
//! families: deletion time, IPs, QoS class, reasons, condition times, tolerations, service
//! account, scheduler, runtime class, overhead; each container's last termination and
//! terminated reason and start time; each init container's info, state, restarts, reasons
//! and resources.

use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use model::exposition::MetricType::{self, Counter, Gauge};

use crate::out::Out;
use crate::quantity;
use crate::table::time;

/// The status reasons kube-state-metrics names (`podStatusReasons`); others are `Other`.
const STATUS_REASONS: &[&str] = &[
    "Evicted",
    "NodeAffinity",
    "NodeLost",
    "PreemptionByScheduler",
    "SchedulingGated",
    "Shutdown",
    "TerminationByKubelet",
    "UnexpectedAdmissionError",
];

/// The disruption reasons kube-state-metrics names; others are `Other`.
const DISRUPTION_REASONS: &[&str] = &[
    "PreemptionByScheduler",
    "DeletionByTaintManager",
    "EvictionByEvictionAPI",
    "DeletionByPodGC",
    "TerminationByKubelet",
];

/// `(name, help, type)` of the families written here.
pub const FAMILIES: [(&str, &str, MetricType); 42] = [
    (
        "kube_pod_deletion_timestamp",
        "Unix deletion timestamp",
        Gauge,
    ),
    ("kube_pod_ips", "Pod IP addresses", Gauge),
    (
        "kube_pod_status_qos_class",
        "The pods current qosClass.",
        Gauge,
    ),
    ("kube_pod_status_reason", "The pod status reasons", Gauge),
    (
        "kube_pod_status_disruption_reason",
        "The pod disruption condition reason",
        Gauge,
    ),
    (
        "kube_pod_status_initialized_time",
        "Initialized time in unix timestamp for a pod.",
        Gauge,
    ),
    (
        "kube_pod_status_container_ready_time",
        "Readiness achieved time in unix timestamp for a pod containers.",
        Gauge,
    ),
    (
        "kube_pod_status_ready_time",
        "Readiness achieved time in unix timestamp for a pod.",
        Gauge,
    ),
    (
        "kube_pod_status_unscheduled_time",
        "Unix timestamp when pod moved into unscheduled status",
        Gauge,
    ),
    (
        "kube_pod_tolerations",
        "Information about the pod tolerations",
        Gauge,
    ),
    (
        "kube_pod_service_account",
        "The service account for a pod.",
        Gauge,
    ),
    ("kube_pod_scheduler", "The scheduler for a pod.", Gauge),
    (
        "kube_pod_runtimeclass_name_info",
        "The runtimeclass associated with the pod.",
        Gauge,
    ),
    (
        "kube_pod_overhead_cpu_cores",
        "The pod overhead in regards to cpu cores associated with running a pod.",
        Gauge,
    ),
    (
        "kube_pod_overhead_memory_bytes",
        "The pod overhead in regards to memory associated with running a pod.",
        Gauge,
    ),
    (
        "kube_pod_container_state_started",
        "[STABLE] Start time in unix timestamp for a pod container.",
        Gauge,
    ),
    (
        "kube_pod_container_status_terminated_reason",
        "Describes the reason the container is currently in terminated state.",
        Gauge,
    ),
    (
        "kube_pod_container_status_last_terminated_reason",
        "Describes the last reason the container was in terminated state.",
        Gauge,
    ),
    (
        "kube_pod_container_status_last_terminated_exitcode",
        "Describes the exit code for the last container in terminated state.",
        Gauge,
    ),
    (
        "kube_pod_container_status_last_terminated_timestamp",
        "Last terminated time for a pod container in unix timestamp.",
        Gauge,
    ),
    (
        "kube_pod_init_container_info",
        "[STABLE] Information about an init container in a pod.",
        Gauge,
    ),
    (
        "kube_pod_init_container_status_ready",
        "[STABLE] Describes whether the init containers readiness check succeeded.",
        Gauge,
    ),
    (
        "kube_pod_init_container_status_restarts_total",
        "[STABLE] The number of restarts for the init container.",
        Counter,
    ),
    (
        "kube_pod_init_container_status_running",
        "[STABLE] Describes whether the init container is currently in running state.",
        Gauge,
    ),
    (
        "kube_pod_init_container_status_terminated",
        "[STABLE] Describes whether the init container is currently in terminated state.",
        Gauge,
    ),
    (
        "kube_pod_init_container_status_waiting",
        "[STABLE] Describes whether the init container is currently in waiting state.",
        Gauge,
    ),
    (
        "kube_pod_init_container_status_waiting_reason",
        "Describes the reason the init container is currently in waiting state.",
        Gauge,
    ),
    (
        "kube_pod_init_container_status_terminated_reason",
        "Describes the reason the init container is currently in terminated state.",
        Gauge,
    ),
    (
        "kube_pod_init_container_status_last_terminated_reason",
        "Describes the last reason the init container was in terminated state.",
        Gauge,
    ),
    (
        "kube_pod_init_container_status_last_terminated_exitcode",
        "Describes the exit code for the last init container in terminated state.",
        Gauge,
    ),
    (
        "kube_pod_init_container_status_last_terminated_timestamp",
        "Last terminated time for a pod init container in unix timestamp.",
        Gauge,
    ),
    (
        "kube_pod_init_container_state_started",
        "Start time in unix timestamp for a pod init container.",
        Gauge,
    ),
    (
        "kube_pod_init_container_resource_requests",
        "The number of requested request resource by an init container.",
        Gauge,
    ),
    (
        "kube_pod_init_container_resource_limits",
        "The number of requested limit resource by an init container.",
        Gauge,
    ),
    (
        "kube_pod_resourceclaim_info",
        "Information about a DRA ResourceClaim referenced by a pod, one series per pod.spec.resourceClaims entry; claim_name is the pod-local reference and resourceclaim_name is the resolved ResourceClaim object name.",
        Gauge,
    ),
    (
        "kube_pod_restart_policy",
        "[STABLE] Describes the restart policy in use by this pod.",
        Gauge,
    ),
    (
        "kube_pod_spec_volumes_persistentvolumeclaims_info",
        "[STABLE] Information about persistentvolumeclaim and ephemeral volumes in a pod.",
        Gauge,
    ),
    (
        "kube_pod_spec_volumes_persistentvolumeclaims_readonly",
        "[STABLE] Describes whether a persistentvolumeclaim is mounted read only. Ephemeral volumes always report 0 since the ephemeral volume source does not support a read-only flag.",
        Gauge,
    ),
    (
        "kube_pod_status_scheduled",
        "[STABLE] Describes the status of the scheduling process for the pod.",
        Gauge,
    ),
    (
        "kube_pod_status_scheduled_time",
        "[STABLE] Unix timestamp when pod moved into scheduled status",
        Gauge,
    ),
    (
        "kube_pod_status_unschedulable",
        "[STABLE] Describes the unschedulable status for the pod.",
        Gauge,
    ),
    (
        "kube_pod_completion_time",
        "[STABLE] Completion time in unix timestamp for a pod.",
        Gauge,
    ),
];

/// Go's `time.Time{}.Unix()`: what kube-state-metrics writes for a timestamp the object
/// leaves unset.
const GO_ZERO_TIME: f64 = -62_135_596_800.0;

/// A timestamp's Unix seconds, Go's zero time when unset.
fn at(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> f64 {
    time(t).unwrap_or(GO_ZERO_TIME)
}

fn with<'a>(base: &[(&'a str, &'a str)], extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    [base, extra].concat()
}

fn flag(b: bool) -> f64 {
    if b { 1.0 } else { 0.0 }
}

/// Whether `reason` shows in the pod's status, conditions or terminated containers
/// (kube-state-metrics' `hasPodStatusReason`).
fn has_reason(pod: &Pod, reason: &str) -> bool {
    let Some(st) = pod.status.as_ref() else {
        return false;
    };
    st.reason.as_deref() == Some(reason)
        || st
            .conditions
            .iter()
            .flatten()
            .any(|c| c.reason.as_deref() == Some(reason))
        || st.container_statuses.iter().flatten().any(|cs| {
            cs.state
                .as_ref()
                .and_then(|s| s.terminated.as_ref())
                .is_some_and(|t| t.reason.as_deref() == Some(reason))
        })
}

/// Adds these families' series of `pod`; `base` is its `namespace`, `pod`, `uid`.
#[allow(clippy::too_many_lines)]
pub fn add(out: &mut Out, pod: &Pod, base: &[(&str, &str)]) {
    let spec = pod.spec.clone().unwrap_or_default();
    let st = pod.status.clone().unwrap_or_default();
    if let Some(t) = time(pod.metadata.deletion_timestamp.as_ref()) {
        out.add("kube_pod_deletion_timestamp", base, t);
    }
    for ip in st.pod_ips.iter().flatten() {
        let family = match ip.ip.parse::<std::net::IpAddr>() {
            Ok(a) if a.to_canonical().is_ipv4() => "4",
            Ok(_) => "6",
            Err(_) => continue,
        };
        let l = with(base, &[("ip", ip.ip.as_str()), ("ip_family", family)]);
        out.add("kube_pod_ips", &l, 1.0);
    }
    if let Some(class) = st.qos_class.as_deref().filter(|c| !c.is_empty()) {
        for c in ["BestEffort", "Burstable", "Guaranteed"] {
            let l = with(base, &[("qos_class", c)]);
            out.add("kube_pod_status_qos_class", &l, flag(c == class));
        }
    }
    for reason in STATUS_REASONS {
        if has_reason(pod, reason) {
            out.add(
                "kube_pod_status_reason",
                &with(base, &[("reason", reason)]),
                1.0,
            );
        }
    }
    if st
        .reason
        .as_deref()
        .is_some_and(|r| !r.is_empty() && !STATUS_REASONS.contains(&r))
    {
        out.add(
            "kube_pod_status_reason",
            &with(base, &[("reason", "Other")]),
            1.0,
        );
    }
    for c in st
        .conditions
        .iter()
        .flatten()
        .filter(|c| c.type_ == "PodScheduled")
    {
        for (l, v) in crate::table::conditions(&c.status) {
            let extra: Vec<(&str, &str)> = l.iter().map(|(k, v)| (*k, v.as_str())).collect();
            out.add("kube_pod_status_scheduled", &with(base, &extra), v);
        }
    }
    for c in st.conditions.iter().flatten() {
        let when = at(c.last_transition_time.as_ref());
        let family = match (c.type_.as_str(), c.status.as_str()) {
            ("Initialized", "True") => "kube_pod_status_initialized_time",
            ("ContainersReady", "True") => "kube_pod_status_container_ready_time",
            ("Ready", "True") => "kube_pod_status_ready_time",
            ("PodScheduled", "False") => {
                out.add("kube_pod_status_unschedulable", base, 1.0);
                "kube_pod_status_unscheduled_time"
            }
            ("PodScheduled", "True") => "kube_pod_status_scheduled_time",
            ("DisruptionTarget", _) => {
                let reason = c.reason.as_deref().unwrap_or("");
                let reason = if DISRUPTION_REASONS.contains(&reason) {
                    reason
                } else {
                    "Other"
                };
                let l = with(base, &[("reason", reason)]);
                out.add("kube_pod_status_disruption_reason", &l, 1.0);
                continue;
            }
            _ => continue,
        };
        out.add(family, base, when);
    }
    let mut seen = Vec::new();
    for t in spec.tolerations.iter().flatten() {
        let seconds = t
            .toleration_seconds
            .map(|s| s.to_string())
            .unwrap_or_default();
        let row = [
            t.key.clone().unwrap_or_default(),
            t.operator.clone().unwrap_or_default(),
            t.value.clone().unwrap_or_default(),
            t.effect.clone().unwrap_or_default(),
            seconds,
        ];
        if seen.contains(&row) {
            continue;
        }
        let keys = ["key", "operator", "value", "effect", "toleration_seconds"];
        let extra: Vec<(&str, &str)> = keys
            .iter()
            .copied()
            .zip(row.iter().map(String::as_str))
            .collect();
        out.add("kube_pod_tolerations", &with(base, &extra), 1.0);
        seen.push(row);
    }
    volumes(out, pod, base);
    claims(out, pod, base);
    let policy = spec.restart_policy.as_deref().unwrap_or("");
    out.add(
        "kube_pod_restart_policy",
        &with(base, &[("type", policy)]),
        1.0,
    );
    let account = spec.service_account_name.as_deref().unwrap_or("");
    out.add(
        "kube_pod_service_account",
        &with(base, &[("service_account", account)]),
        1.0,
    );
    let scheduler = spec.scheduler_name.as_deref().unwrap_or("");
    out.add(
        "kube_pod_scheduler",
        &with(base, &[("name", scheduler)]),
        1.0,
    );
    if let Some(rc) = spec.runtime_class_name.as_deref() {
        let l = with(base, &[("runtimeclass_name", rc)]);
        out.add("kube_pod_runtimeclass_name_info", &l, 1.0);
    }
    for (resource, q) in spec.overhead.iter().flatten() {
        let family = match resource.as_str() {
            "cpu" => "kube_pod_overhead_cpu_cores",
            "memory" => "kube_pod_overhead_memory_bytes",
            _ => continue,
        };
        if let Some(v) = quantity::parse(&q.0) {
            out.add(family, base, v);
        }
    }
    let statuses = st.container_statuses.as_deref().unwrap_or_default();
    containers(out, base, statuses, "kube_pod_container");
    completion(out, base, statuses);
    let init = st.init_container_statuses.as_deref().unwrap_or_default();
    let node = spec.node_name.as_deref().unwrap_or("");
    for c in spec.init_containers.iter().flatten() {
        for cs in init.iter().filter(|cs| cs.name == c.name) {
            let l = [
                ("container", cs.name.as_str()),
                ("image_spec", c.image.as_deref().unwrap_or("")),
                ("image", cs.image.as_str()),
                ("image_id", cs.image_id.as_str()),
                ("container_id", cs.container_id.as_deref().unwrap_or("")),
                ("restart_policy", c.restart_policy.as_deref().unwrap_or("")),
            ];
            out.add("kube_pod_init_container_info", &with(base, &l), 1.0);
        }
        if let Some(res) = &c.resources {
            let families = [
                "kube_pod_init_container_resource_requests",
                "kube_pod_init_container_resource_limits",
            ];
            crate::pod::resources(out, families, base, &c.name, node, res);
        }
    }
    for cs in init {
        let l = with(base, &[("container", cs.name.as_str())]);
        let state = cs.state.clone().unwrap_or_default();
        out.add("kube_pod_init_container_status_ready", &l, flag(cs.ready));
        out.add(
            "kube_pod_init_container_status_restarts_total",
            &l,
            f64::from(cs.restart_count),
        );
        for (family, on) in [
            (
                "kube_pod_init_container_status_running",
                state.running.is_some(),
            ),
            (
                "kube_pod_init_container_status_terminated",
                state.terminated.is_some(),
            ),
            (
                "kube_pod_init_container_status_waiting",
                state.waiting.is_some(),
            ),
        ] {
            out.add(family, &l, flag(on));
        }
        if let Some(w) = &state.waiting {
            let reason = w.reason.as_deref().unwrap_or("");
            let l = with(base, &[("container", cs.name.as_str()), ("reason", reason)]);
            out.add("kube_pod_init_container_status_waiting_reason", &l, 1.0);
        }
    }
    containers(out, base, init, "kube_pod_init_container");
}

/// The pod's claim and ephemeral volumes (an ephemeral volume's claim is `<pod>-<volume>`).
fn volumes(out: &mut Out, pod: &Pod, base: &[(&str, &str)]) {
    let pod_name = pod.metadata.name.as_deref().unwrap_or("");
    for v in pod.spec.iter().flat_map(|s| s.volumes.iter().flatten()) {
        let (claim, ephemeral, read_only) = if let Some(c) = &v.persistent_volume_claim {
            (c.claim_name.clone(), "false", c.read_only == Some(true))
        } else if v.ephemeral.is_some() {
            (format!("{pod_name}-{}", v.name), "true", false)
        } else {
            continue;
        };
        let l = with(
            base,
            &[
                ("volume", v.name.as_str()),
                ("persistentvolumeclaim", claim.as_str()),
                ("ephemeral", ephemeral),
            ],
        );
        out.add("kube_pod_spec_volumes_persistentvolumeclaims_info", &l, 1.0);
        out.add(
            "kube_pod_spec_volumes_persistentvolumeclaims_readonly",
            &l,
            flag(read_only),
        );
    }
}

/// `kube_pod_resourceclaim_info`: each named or templated claim, with the claim object's
/// name from the status when templated.
fn claims(out: &mut Out, pod: &Pod, base: &[(&str, &str)]) {
    let statuses = pod
        .status
        .as_ref()
        .and_then(|s| s.resource_claim_statuses.as_deref())
        .unwrap_or_default();
    for rc in pod
        .spec
        .iter()
        .flat_map(|s| s.resource_claims.iter().flatten())
    {
        if rc.resource_claim_name.is_none() && rc.resource_claim_template_name.is_none() {
            continue;
        }
        let resolved = rc.resource_claim_name.clone().unwrap_or_else(|| {
            statuses
                .iter()
                .find(|s| s.name == rc.name)
                .and_then(|s| s.resource_claim_name.clone())
                .unwrap_or_default()
        });
        let template = rc.resource_claim_template_name.as_deref().unwrap_or("");
        let l = with(
            base,
            &[
                ("claim_name", rc.name.as_str()),
                ("resourceclaim_name", resolved.as_str()),
                ("resourceclaim_template_name", template),
            ],
        );
        out.add("kube_pod_resourceclaim_info", &l, 1.0);
    }
}

/// `kube_pod_completion_time`: the latest finish among the terminated containers (none
/// before one has finished).
fn completion(out: &mut Out, base: &[(&str, &str)], statuses: &[ContainerStatus]) {
    let latest = statuses
        .iter()
        .filter_map(|cs| cs.state.as_ref()?.terminated.as_ref())
        .map(|t| at(t.finished_at.as_ref()))
        .fold(0.0, f64::max);
    if latest > 0.0 {
        out.add("kube_pod_completion_time", base, latest);
    }
}

/// The per-container families shared by containers and init containers (`prefix`
/// `kube_pod_container` / `kube_pod_init_container`): start time, terminated reason and the
/// last termination's reason, exit code and time.
fn containers(out: &mut Out, base: &[(&str, &str)], statuses: &[ContainerStatus], prefix: &str) {
    let family = |suffix: &str| -> &'static str {
        FAMILIES
            .iter()
            .map(|f| f.0)
            .find(|n| n.strip_prefix(prefix) == Some(suffix))
            .expect("declared family")
    };
    for cs in statuses {
        let name = cs.name.as_str();
        let state = cs.state.clone().unwrap_or_default();
        let started = state
            .running
            .as_ref()
            .map(|r| r.started_at.as_ref())
            .or_else(|| state.terminated.as_ref().map(|t| t.started_at.as_ref()));
        if let Some(started) = started {
            let t = at(started);
            out.add(
                family("_state_started"),
                &with(base, &[("container", name)]),
                t,
            );
        }
        if let Some(t) = &state.terminated {
            let reason = t.reason.as_deref().unwrap_or("");
            let l = with(base, &[("container", name), ("reason", reason)]);
            out.add(family("_status_terminated_reason"), &l, 1.0);
        }
        if let Some(t) = cs.last_state.as_ref().and_then(|s| s.terminated.as_ref()) {
            let reason = t.reason.as_deref().unwrap_or("");
            let l = with(base, &[("container", name), ("reason", reason)]);
            out.add(family("_status_last_terminated_reason"), &l, 1.0);
            let l = with(base, &[("container", name)]);
            out.add(
                family("_status_last_terminated_exitcode"),
                &l,
                f64::from(t.exit_code),
            );
            let finished = at(t.finished_at.as_ref());
            out.add(family("_status_last_terminated_timestamp"), &l, finished);
        }
    }
}
