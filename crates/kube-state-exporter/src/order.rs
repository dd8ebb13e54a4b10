//! Each store's family order as kube-state-metrics writes them: its `<kind>MetricFamilies`
//! generator lists in `internal/store/*.go` (v2.20), which the exposition follows store by
//! store (`pkg/metrics_store/metrics_writer.go`), instead of family names' order.

use crate::out::Family;

/// `internal/store/configmap.go`.
pub const CONFIGMAP: &[&str] = &[
    "kube_configmap_annotations",
    "kube_configmap_labels",
    "kube_configmap_info",
    "kube_configmap_created",
    "kube_configmap_metadata_resource_version",
];

/// `internal/store/cronjob.go`.
pub const CRONJOB: &[&str] = &[
    "kube_cronjob_annotations",
    "kube_cronjob_labels",
    "kube_cronjob_info",
    "kube_cronjob_created",
    "kube_cronjob_status_active",
    "kube_cronjob_status_last_schedule_time",
    "kube_cronjob_status_last_successful_time",
    "kube_cronjob_spec_suspend",
    "kube_cronjob_spec_starting_deadline_seconds",
    "kube_cronjob_next_schedule_time",
    "kube_cronjob_schedule_invalid",
    "kube_cronjob_metadata_resource_version",
    "kube_cronjob_spec_successful_job_history_limit",
    "kube_cronjob_spec_failed_job_history_limit",
];

/// `internal/store/daemonset.go`.
pub const DAEMONSET: &[&str] = &[
    "kube_daemonset_created",
    "kube_daemonset_status_current_number_scheduled",
    "kube_daemonset_status_desired_number_scheduled",
    "kube_daemonset_status_number_available",
    "kube_daemonset_status_number_misscheduled",
    "kube_daemonset_status_number_ready",
    "kube_daemonset_status_number_unavailable",
    "kube_daemonset_status_observed_generation",
    "kube_daemonset_status_updated_number_scheduled",
    "kube_daemonset_metadata_generation",
    "kube_daemonset_deletion_timestamp",
    "kube_daemonset_annotations",
    "kube_daemonset_labels",
];

/// `internal/store/deployment.go`.
pub const DEPLOYMENT: &[&str] = &[
    "kube_deployment_owner",
    "kube_deployment_created",
    "kube_deployment_status_replicas",
    "kube_deployment_status_replicas_ready",
    "kube_deployment_status_replicas_available",
    "kube_deployment_status_replicas_unavailable",
    "kube_deployment_status_replicas_updated",
    "kube_deployment_status_terminating_replicas",
    "kube_deployment_status_observed_generation",
    "kube_deployment_status_condition",
    "kube_deployment_spec_replicas",
    "kube_deployment_spec_paused",
    "kube_deployment_spec_strategy_rollingupdate_max_unavailable",
    "kube_deployment_spec_strategy_rollingupdate_max_surge",
    "kube_deployment_metadata_generation",
    "kube_deployment_deletion_timestamp",
    "kube_deployment_annotations",
    "kube_deployment_labels",
];

/// `internal/store/endpoint.go`.
pub const ENDPOINT: &[&str] = &[
    "kube_endpoint_info",
    "kube_endpoint_created",
    "kube_endpoint_annotations",
    "kube_endpoint_labels",
    "kube_endpoint_address",
    "kube_endpoint_ports",
];

/// `internal/store/horizontalpodautoscaler.go`.
pub const HPA: &[&str] = &[
    "kube_horizontalpodautoscaler_info",
    "kube_horizontalpodautoscaler_metadata_generation",
    "kube_horizontalpodautoscaler_spec_max_replicas",
    "kube_horizontalpodautoscaler_spec_min_replicas",
    "kube_horizontalpodautoscaler_spec_target_metric",
    "kube_horizontalpodautoscaler_spec_behavior_scale_down_tolerance",
    "kube_horizontalpodautoscaler_spec_behavior_scale_up_tolerance",
    "kube_horizontalpodautoscaler_status_target_metric",
    "kube_horizontalpodautoscaler_status_current_replicas",
    "kube_horizontalpodautoscaler_status_desired_replicas",
    "kube_horizontalpodautoscaler_annotations",
    "kube_horizontalpodautoscaler_labels",
    "kube_horizontalpodautoscaler_status_condition",
    "kube_horizontalpodautoscaler_created",
    "kube_horizontalpodautoscaler_deletion_timestamp",
];

/// `internal/store/job.go`.
pub const JOB: &[&str] = &[
    "kube_job_annotations",
    "kube_job_labels",
    "kube_job_info",
    "kube_job_created",
    "kube_job_spec_parallelism",
    "kube_job_spec_completions",
    "kube_job_spec_active_deadline_seconds",
    "kube_job_status_succeeded",
    "kube_job_status_failed",
    "kube_job_status_active",
    "kube_job_status_ready",
    "kube_job_complete",
    "kube_job_failed",
    "kube_job_status_start_time",
    "kube_job_status_completion_time",
    "kube_job_status_suspended",
    "kube_job_owner",
];

/// `internal/store/namespace.go`.
pub const NAMESPACE: &[&str] = &[
    "kube_namespace_created",
    "kube_namespace_annotations",
    "kube_namespace_labels",
    "kube_namespace_status_phase",
    "kube_namespace_status_condition",
];

/// `internal/store/node.go`.
pub const NODE: &[&str] = &[
    "kube_node_annotations",
    "kube_node_created",
    "kube_node_deletion_timestamp",
    "kube_node_info",
    "kube_node_labels",
    "kube_node_role",
    "kube_node_spec_pod_cidrs",
    "kube_node_spec_taint",
    "kube_node_spec_unschedulable",
    "kube_node_status_allocatable",
    "kube_node_status_capacity",
    "kube_node_status_condition",
    "kube_node_status_addresses",
];

/// `internal/store/persistentvolumeclaim.go`.
pub const PVC: &[&str] = &[
    "kube_persistentvolumeclaim_labels",
    "kube_persistentvolumeclaim_annotations",
    "kube_persistentvolumeclaim_info",
    "kube_persistentvolumeclaim_status_phase",
    "kube_persistentvolumeclaim_resource_requests_storage_bytes",
    "kube_persistentvolumeclaim_access_mode",
    "kube_persistentvolumeclaim_status_condition",
    "kube_persistentvolumeclaim_created",
    "kube_persistentvolumeclaim_deletion_timestamp",
];

/// `internal/store/persistentvolume.go`.
pub const PV: &[&str] = &[
    "kube_persistentvolume_claim_ref",
    "kube_persistentvolume_annotations",
    "kube_persistentvolume_labels",
    "kube_persistentvolume_status_phase",
    "kube_persistentvolume_info",
    "kube_persistentvolume_capacity_bytes",
    "kube_persistentvolume_created",
    "kube_persistentvolume_deletion_timestamp",
    "kube_persistentvolume_csi_attributes",
    "kube_persistentvolume_volume_mode",
    "kube_persistentvolume_access_mode",
];

/// `internal/store/pod.go`.
pub const POD: &[&str] = &[
    "kube_pod_completion_time",
    "kube_pod_container_info",
    "kube_pod_container_resource_limits",
    "kube_pod_container_resource_requests",
    "kube_pod_container_state_started",
    "kube_pod_container_status_last_terminated_reason",
    "kube_pod_container_status_last_terminated_exitcode",
    "kube_pod_container_status_last_terminated_timestamp",
    "kube_pod_container_status_ready",
    "kube_pod_container_status_restarts_total",
    "kube_pod_container_status_running",
    "kube_pod_container_status_terminated",
    "kube_pod_container_status_terminated_reason",
    "kube_pod_container_status_waiting",
    "kube_pod_container_status_waiting_reason",
    "kube_pod_created",
    "kube_pod_deletion_timestamp",
    "kube_pod_info",
    "kube_pod_ips",
    "kube_pod_init_container_info",
    "kube_pod_init_container_resource_limits",
    "kube_pod_init_container_resource_requests",
    "kube_pod_init_container_state_started",
    "kube_pod_init_container_status_last_terminated_reason",
    "kube_pod_init_container_status_last_terminated_exitcode",
    "kube_pod_init_container_status_last_terminated_timestamp",
    "kube_pod_init_container_status_ready",
    "kube_pod_init_container_status_restarts_total",
    "kube_pod_init_container_status_running",
    "kube_pod_init_container_status_terminated",
    "kube_pod_init_container_status_terminated_reason",
    "kube_pod_init_container_status_waiting",
    "kube_pod_init_container_status_waiting_reason",
    "kube_pod_annotations",
    "kube_pod_labels",
    "kube_pod_overhead_cpu_cores",
    "kube_pod_overhead_memory_bytes",
    "kube_pod_owner",
    "kube_pod_resourceclaim_info",
    "kube_pod_restart_policy",
    "kube_pod_runtimeclass_name_info",
    "kube_pod_spec_volumes_persistentvolumeclaims_info",
    "kube_pod_spec_volumes_persistentvolumeclaims_readonly",
    "kube_pod_start_time",
    "kube_pod_status_phase",
    "kube_pod_status_qos_class",
    "kube_pod_status_ready",
    "kube_pod_status_ready_time",
    "kube_pod_status_initialized_time",
    "kube_pod_status_container_ready_time",
    "kube_pod_status_reason",
    "kube_pod_status_disruption_reason",
    "kube_pod_status_scheduled",
    "kube_pod_status_scheduled_time",
    "kube_pod_status_unschedulable",
    "kube_pod_status_unscheduled_time",
    "kube_pod_tolerations",
    "kube_pod_nodeselectors",
    "kube_pod_service_account",
    "kube_pod_scheduler",
];

/// `internal/store/replicaset.go`.
pub const REPLICASET: &[&str] = &[
    "kube_replicaset_created",
    "kube_replicaset_status_replicas",
    "kube_replicaset_status_fully_labeled_replicas",
    "kube_replicaset_status_ready_replicas",
    "kube_replicaset_status_terminating_replicas",
    "kube_replicaset_status_observed_generation",
    "kube_replicaset_spec_replicas",
    "kube_replicaset_metadata_generation",
    "kube_replicaset_owner",
    "kube_replicaset_annotations",
    "kube_replicaset_labels",
];

/// `internal/store/secret.go`.
pub const SECRET: &[&str] = &[
    "kube_secret_info",
    "kube_secret_type",
    "kube_secret_annotations",
    "kube_secret_labels",
    "kube_secret_created",
    "kube_secret_metadata_resource_version",
    "kube_secret_owner",
];

/// `internal/store/service.go`.
pub const SERVICE: &[&str] = &[
    "kube_service_info",
    "kube_service_created",
    "kube_service_spec_type",
    "kube_service_annotations",
    "kube_service_labels",
    "kube_service_spec_external_ip",
    "kube_service_status_load_balancer_ingress",
    "kube_service_deletion_timestamp",
];

/// `internal/store/statefulset.go`.
pub const STATEFULSET: &[&str] = &[
    "kube_statefulset_created",
    "kube_statefulset_status_replicas",
    "kube_statefulset_status_replicas_available",
    "kube_statefulset_status_replicas_current",
    "kube_statefulset_status_replicas_ready",
    "kube_statefulset_status_replicas_updated",
    "kube_statefulset_status_observed_generation",
    "kube_statefulset_replicas",
    "kube_statefulset_ordinals_start",
    "kube_statefulset_metadata_generation",
    "kube_statefulset_persistentvolumeclaim_retention_policy",
    "kube_statefulset_annotations",
    "kube_statefulset_labels",
    "kube_statefulset_status_current_revision",
    "kube_statefulset_status_update_revision",
    "kube_statefulset_deletion_timestamp",
];

/// `families` in `order` (families not listed, none in practice, after them by name).
#[must_use]
pub fn arrange(mut families: Vec<Family>, order: &[&str]) -> Vec<Family> {
    let rank = |f: &Family| {
        order
            .iter()
            .position(|n| *n == f.name)
            .unwrap_or(order.len())
    };
    families.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.name.cmp(b.name)));
    families
}
