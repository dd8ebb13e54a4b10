//! StatefulSet families as kube-state-metrics writes them (`internal/store/statefulset.go`,
//! `docs/metrics/workload/statefulset-metrics.md`).

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetStatus};

use crate::table::{Gauge, Kind, Series, deleted, int, int64, one};

fn status(s: &StatefulSet) -> StatefulSetStatus {
    s.status.clone().unwrap_or_default()
}

/// The `revision` series of a revision field (none when empty).
fn revision(r: Option<String>) -> Vec<crate::table::Sample> {
    r.filter(|r| !r.is_empty())
        .map(|r| one(&[("revision", r.as_str())], 1.0))
        .unwrap_or_default()
}

/// The StatefulSet families.
pub const KIND: Kind<StatefulSet> = Kind {
    label: "statefulset",
    created: "kube_statefulset_created",
    created_stable: true,
    owner: None,
    uid: false,
    gauges: &[
        Gauge {
            name: "kube_statefulset_deletion_timestamp",
            help: "[STABLE] Unix deletion timestamp",
            value: |o| deleted(o),
        },
        Gauge {
            name: "kube_statefulset_status_replicas",
            help: "[STABLE] The number of replicas per StatefulSet.",
            value: |s| int(Some(status(s).replicas)),
        },
        Gauge {
            name: "kube_statefulset_status_replicas_available",
            help: "[STABLE] The number of available replicas per StatefulSet.",
            value: |s| int(status(s).available_replicas),
        },
        Gauge {
            name: "kube_statefulset_status_replicas_current",
            help: "[STABLE] The number of current replicas per StatefulSet.",
            value: |s| int(status(s).current_replicas),
        },
        Gauge {
            name: "kube_statefulset_status_replicas_ready",
            help: "[STABLE] The number of ready replicas per StatefulSet.",
            value: |s| int(status(s).ready_replicas),
        },
        Gauge {
            name: "kube_statefulset_status_replicas_updated",
            help: "[STABLE] The number of updated replicas per StatefulSet.",
            value: |s| int(status(s).updated_replicas),
        },
        Gauge {
            name: "kube_statefulset_status_observed_generation",
            help: "[STABLE] The generation observed by the StatefulSet controller.",
            value: |s| int64(status(s).observed_generation),
        },
        Gauge {
            name: "kube_statefulset_replicas",
            help: "[STABLE] Number of desired pods for a StatefulSet.",
            value: |s| s.spec.as_ref().and_then(|s| s.replicas).map(f64::from),
        },
        Gauge {
            name: "kube_statefulset_ordinals_start",
            help: "[STABLE] Start ordinal of the StatefulSet.",
            value: |s| {
                s.spec
                    .as_ref()
                    .and_then(|s| s.ordinals.as_ref())
                    .map(|o| f64::from(o.start.unwrap_or(0)))
            },
        },
        Gauge {
            name: "kube_statefulset_metadata_generation",
            help: "[STABLE] Sequence number representing a specific generation of the desired state for the StatefulSet.",
            value: |s| int64(s.metadata.generation),
        },
    ],
    series: &[
        Series {
            name: "kube_statefulset_persistentvolumeclaim_retention_policy",
            help: "[STABLE] Count of retention policy for StatefulSet template PVCs",
            series: |s| {
                let Some(p) = s
                    .spec
                    .as_ref()
                    .and_then(|s| s.persistent_volume_claim_retention_policy.as_ref())
                else {
                    return Vec::new();
                };
                let deleted = p.when_deleted.as_deref().unwrap_or("");
                let scaled = p.when_scaled.as_deref().unwrap_or("");
                if deleted.is_empty() && scaled.is_empty() {
                    return Vec::new();
                }
                one(&[("when_deleted", deleted), ("when_scaled", scaled)], 1.0)
            },
        },
        Series {
            name: "kube_statefulset_status_current_revision",
            help: "[STABLE] Indicates the version of the StatefulSet used to generate Pods in the sequence [0,currentReplicas).",
            series: |s| revision(status(s).current_revision),
        },
        Series {
            name: "kube_statefulset_status_update_revision",
            help: "[STABLE] Indicates the version of the StatefulSet used to generate Pods in the sequence [replicas-updatedReplicas,replicas)",
            series: |s| revision(status(s).update_revision),
        },
    ],
};
