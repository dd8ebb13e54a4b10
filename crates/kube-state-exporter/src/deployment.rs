//! Deployment families as kube-state-metrics writes them (`internal/store/deployment.go`,
//! `docs/metrics/workload/deployment-metrics.md`): owner, creation and deletion time, desired,
//! observed and terminating replicas, generations, conditions, pause and rolling-update
//! bounds.

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use model::exposition::MetricType;

use crate::out::{Family, Out};
use crate::table::{deleted, owners, typed_conditions};

/// The reasons kube-state-metrics keeps in `kube_deployment_status_condition` (others are
/// written `unknown`).
const REASONS: &[&str] = &[
    "ReplicaSetUpdated",
    "ReplicaSetCreateError",
    "NewReplicaSetCreated",
    "FoundNewReplicaSet",
    "NewReplicaSetAvailable",
    "ProgressDeadlineExceeded",
    "DeploymentPaused",
    "DeploymentResumed",
    "MinimumReplicasAvailable",
    "MinimumReplicasUnavailable",
    "",
];

const FAMILIES: [(&str, &str); 16] = [
    (
        "kube_deployment_owner",
        "Information about the Deployment's owner.",
    ),
    (
        "kube_deployment_created",
        "[STABLE] Unix creation timestamp",
    ),
    (
        "kube_deployment_status_replicas",
        "[STABLE] The number of replicas per deployment.",
    ),
    (
        "kube_deployment_status_replicas_ready",
        "[STABLE] The number of ready replicas per deployment.",
    ),
    (
        "kube_deployment_status_replicas_available",
        "[STABLE] The number of available replicas per deployment.",
    ),
    (
        "kube_deployment_status_replicas_unavailable",
        "[STABLE] The number of unavailable replicas per deployment.",
    ),
    (
        "kube_deployment_status_replicas_updated",
        "[STABLE] The number of updated replicas per deployment.",
    ),
    (
        "kube_deployment_status_terminating_replicas",
        "The number of terminating replicas per deployment.",
    ),
    (
        "kube_deployment_status_observed_generation",
        "[STABLE] The generation observed by the deployment controller.",
    ),
    (
        "kube_deployment_status_condition",
        "[STABLE] The current status conditions of a deployment.",
    ),
    (
        "kube_deployment_spec_replicas",
        "[STABLE] Number of desired pods for a deployment.",
    ),
    (
        "kube_deployment_spec_paused",
        "[STABLE] Whether the deployment is paused and will not be processed by the deployment controller.",
    ),
    (
        "kube_deployment_spec_strategy_rollingupdate_max_unavailable",
        "[STABLE] Maximum number of unavailable replicas during a rolling update of a deployment.",
    ),
    (
        "kube_deployment_spec_strategy_rollingupdate_max_surge",
        "[STABLE] Maximum number of replicas that can be scheduled above the desired number of replicas during a rolling update of a deployment.",
    ),
    (
        "kube_deployment_metadata_generation",
        "[STABLE] Sequence number representing a specific generation of the desired state.",
    ),
    (
        "kube_deployment_deletion_timestamp",
        "Unix deletion timestamp",
    ),
];

/// An int-or-percent of `total`, rounded up or down (apimachinery's
/// `GetScaledValueFromIntOrPercent`); `None` when the percentage does not parse.
#[must_use]
pub fn scaled(v: &IntOrString, total: i32, round_up: bool) -> Option<f64> {
    match v {
        IntOrString::Int(i) => Some(f64::from(*i)),
        IntOrString::String(s) => {
            let pct: i32 = s.strip_suffix('%')?.parse().ok()?;
            let exact = f64::from(pct) * f64::from(total) / 100.0;
            Some(if round_up {
                exact.ceil()
            } else {
                exact.floor()
            })
        }
    }
}

/// The families of these deployments.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn families<'a>(deployments: impl IntoIterator<Item = &'a Deployment>) -> Vec<Family> {
    let mut out = Out::default();
    for (name, help) in FAMILIES {
        out.declare(name, help, MetricType::Gauge);
    }
    for d in deployments {
        let base = [
            ("namespace", d.metadata.namespace.as_deref().unwrap_or("")),
            ("deployment", d.metadata.name.as_deref().unwrap_or("")),
        ];
        let mut add = |name: &'static str, extra: &[(&str, &str)], v: f64| {
            out.add(name, &[&base[..], extra].concat(), v);
        };
        for (extra, v) in owners(d, false) {
            let l: Vec<(&str, &str)> = extra.iter().map(|(k, v)| (*k, v.as_str())).collect();
            add("kube_deployment_owner", &l, v);
        }
        if let Some(t) = &d.metadata.creation_timestamp {
            add("kube_deployment_created", &[], t.0.as_second() as f64);
        }
        let spec = d.spec.clone().unwrap_or_default();
        let st = d.status.clone().unwrap_or_default();
        let int = |v: Option<i32>| f64::from(v.unwrap_or(0));
        add("kube_deployment_status_replicas", &[], int(st.replicas));
        add(
            "kube_deployment_status_replicas_ready",
            &[],
            int(st.ready_replicas),
        );
        add(
            "kube_deployment_status_replicas_available",
            &[],
            int(st.available_replicas),
        );
        add(
            "kube_deployment_status_replicas_unavailable",
            &[],
            int(st.unavailable_replicas),
        );
        add(
            "kube_deployment_status_replicas_updated",
            &[],
            int(st.updated_replicas),
        );
        if let Some(t) = st.terminating_replicas {
            add(
                "kube_deployment_status_terminating_replicas",
                &[],
                f64::from(t),
            );
        }
        add(
            "kube_deployment_status_observed_generation",
            &[],
            st.observed_generation.unwrap_or(0) as f64,
        );
        for c in st.conditions.as_deref().unwrap_or_default() {
            let reason = c.reason.as_deref().unwrap_or("");
            let reason = if REASONS.contains(&reason) {
                reason
            } else {
                "unknown"
            };
            for (extra, v) in typed_conditions([(c.type_.as_str(), c.status.as_str())]) {
                let mut l = vec![("reason", reason)];
                l.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
                add("kube_deployment_status_condition", &l, v);
            }
        }
        // No series without spec.replicas (the API server defaults it to 1; a stored
        // object always has it), nor the rolling-update maxima that scale with it.
        if let Some(replicas) = spec.replicas {
            add("kube_deployment_spec_replicas", &[], f64::from(replicas));
        }
        let paused = if spec.paused == Some(true) { 1.0 } else { 0.0 };
        add("kube_deployment_spec_paused", &[], paused);
        let rolling = spec
            .strategy
            .as_ref()
            .and_then(|s| s.rolling_update.as_ref());
        if let (Some(ru), Some(replicas)) = (rolling, spec.replicas) {
            if let Some(v) = ru
                .max_unavailable
                .as_ref()
                .and_then(|v| scaled(v, replicas, false))
            {
                add(
                    "kube_deployment_spec_strategy_rollingupdate_max_unavailable",
                    &[],
                    v,
                );
            }
            if let Some(v) = ru
                .max_surge
                .as_ref()
                .and_then(|v| scaled(v, replicas, true))
            {
                add(
                    "kube_deployment_spec_strategy_rollingupdate_max_surge",
                    &[],
                    v,
                );
            }
        }
        add(
            "kube_deployment_metadata_generation",
            &[],
            d.metadata.generation.unwrap_or(0) as f64,
        );
        if let Some(t) = deleted(d) {
            add("kube_deployment_deletion_timestamp", &[], t);
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn int_or_percent() {
        let s = |v: &str| IntOrString::String(v.to_owned());
        assert_eq!(scaled(&IntOrString::Int(2), 10, false), Some(2.0));
        assert_eq!(scaled(&s("25%"), 3, false), Some(0.0));
        assert_eq!(scaled(&s("25%"), 3, true), Some(1.0));
        assert_eq!(scaled(&s("50%"), 10, true), Some(5.0));
        assert_eq!(scaled(&s("abc"), 10, true), None);
    }
}
