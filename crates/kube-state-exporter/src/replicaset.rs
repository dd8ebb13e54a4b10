//! ReplicaSet families as kube-state-metrics writes them (`internal/store/replicaset.go`,
//! `docs/metrics/workload/replicaset-metrics.md`).

use k8s_openapi::api::apps::v1::ReplicaSet;

use crate::table::{Gauge, Kind, int, int64};

fn status(r: &ReplicaSet) -> k8s_openapi::api::apps::v1::ReplicaSetStatus {
    r.status.clone().unwrap_or_default()
}

/// The ReplicaSet families.
pub const KIND: Kind<ReplicaSet> = Kind {
    label: "replicaset",
    created: "kube_replicaset_created",
    created_stable: true,
    owner: Some("kube_replicaset_owner"),
    uid: false,
    series: &[],
    gauges: &[
        Gauge {
            name: "kube_replicaset_status_terminating_replicas",
            help: "The number of terminating replicas per ReplicaSet.",
            value: |r| {
                r.status
                    .as_ref()
                    .and_then(|s| s.terminating_replicas)
                    .map(f64::from)
            },
        },
        Gauge {
            name: "kube_replicaset_status_replicas",
            help: "[STABLE] The number of replicas per ReplicaSet.",
            value: |r| int(Some(status(r).replicas)),
        },
        Gauge {
            name: "kube_replicaset_status_fully_labeled_replicas",
            help: "[STABLE] The number of fully labeled replicas per ReplicaSet.",
            value: |r| int(status(r).fully_labeled_replicas),
        },
        Gauge {
            name: "kube_replicaset_status_ready_replicas",
            help: "[STABLE] The number of ready replicas per ReplicaSet.",
            value: |r| int(status(r).ready_replicas),
        },
        Gauge {
            name: "kube_replicaset_status_observed_generation",
            help: "[STABLE] The generation observed by the ReplicaSet controller.",
            value: |r| int64(status(r).observed_generation),
        },
        Gauge {
            name: "kube_replicaset_spec_replicas",
            help: "[STABLE] Number of desired pods for a ReplicaSet.",
            value: |r| r.spec.as_ref().and_then(|s| s.replicas).map(f64::from),
        },
        Gauge {
            name: "kube_replicaset_metadata_generation",
            help: "[STABLE] Sequence number representing a specific generation of the desired state.",
            value: |r| int64(r.metadata.generation),
        },
    ],
};
