//! DaemonSet families as kube-state-metrics writes them (`internal/store/daemonset.go`,
//! `docs/metrics/workload/daemonset-metrics.md`).

use k8s_openapi::api::apps::v1::{DaemonSet, DaemonSetStatus};

use crate::table::{Gauge, Kind, deleted, int, int64};

fn status(d: &DaemonSet) -> DaemonSetStatus {
    d.status.clone().unwrap_or_default()
}

/// The DaemonSet families.
pub const KIND: Kind<DaemonSet> = Kind {
    label: "daemonset",
    created: "kube_daemonset_created",
    created_stable: true,
    owner: None,
    uid: false,
    series: &[],
    gauges: &[
        Gauge {
            name: "kube_daemonset_deletion_timestamp",
            help: "Unix deletion timestamp",
            value: |o| deleted(o),
        },
        Gauge {
            name: "kube_daemonset_status_current_number_scheduled",
            help: "[STABLE] The number of nodes running at least one daemon pod and are supposed to.",
            value: |d| int(Some(status(d).current_number_scheduled)),
        },
        Gauge {
            name: "kube_daemonset_status_desired_number_scheduled",
            help: "[STABLE] The number of nodes that should be running the daemon pod.",
            value: |d| int(Some(status(d).desired_number_scheduled)),
        },
        Gauge {
            name: "kube_daemonset_status_number_available",
            help: "[STABLE] The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available",
            value: |d| int(status(d).number_available),
        },
        Gauge {
            name: "kube_daemonset_status_number_misscheduled",
            help: "[STABLE] The number of nodes running a daemon pod but are not supposed to.",
            value: |d| int(Some(status(d).number_misscheduled)),
        },
        Gauge {
            name: "kube_daemonset_status_number_ready",
            help: "[STABLE] The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.",
            value: |d| int(Some(status(d).number_ready)),
        },
        Gauge {
            name: "kube_daemonset_status_number_unavailable",
            help: "[STABLE] The number of nodes that should be running the daemon pod and have none of the daemon pod running and available",
            value: |d| int(status(d).number_unavailable),
        },
        Gauge {
            name: "kube_daemonset_status_observed_generation",
            help: "[STABLE] The most recent generation observed by the daemon set controller.",
            value: |d| int64(status(d).observed_generation),
        },
        Gauge {
            name: "kube_daemonset_status_updated_number_scheduled",
            help: "[STABLE] The total number of nodes that are running updated daemon pod",
            value: |d| int(status(d).updated_number_scheduled),
        },
        Gauge {
            name: "kube_daemonset_metadata_generation",
            help: "[STABLE] Sequence number representing a specific generation of the desired state.",
            value: |d| int64(d.metadata.generation),
        },
    ],
};
