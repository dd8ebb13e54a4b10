//! HorizontalPodAutoscaler families as kube-state-metrics writes them
//! (`internal/store/horizontalpodautoscaler.go`,
//! `docs/metrics/workload/horizontalpodautoscaler-metrics.md`); the target metric families
//! are not written.

use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;

use crate::table::{Gauge, Kind, Series, conditions, int, int64};

/// The HorizontalPodAutoscaler families.
pub const KIND: Kind<HorizontalPodAutoscaler> = Kind {
    label: "horizontalpodautoscaler",
    created: "kube_horizontalpodautoscaler_created",
    created_stable: false,
    owner: None,
    uid: false,
    gauges: &[
        Gauge {
            name: "kube_horizontalpodautoscaler_metadata_generation",
            help: "[STABLE] The generation observed by the HorizontalPodAutoscaler controller.",
            value: |a| int64(a.metadata.generation),
        },
        Gauge {
            name: "kube_horizontalpodautoscaler_spec_max_replicas",
            help: "[STABLE] Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.",
            value: |a| int(a.spec.as_ref().map(|s| s.max_replicas)),
        },
        Gauge {
            name: "kube_horizontalpodautoscaler_spec_min_replicas",
            help: "[STABLE] Lower limit for the number of pods that can be set by the autoscaler, default 1.",
            value: |a| {
                int(Some(
                    a.spec.as_ref().and_then(|s| s.min_replicas).unwrap_or(1),
                ))
            },
        },
        Gauge {
            name: "kube_horizontalpodautoscaler_status_current_replicas",
            help: "[STABLE] Current number of replicas of pods managed by this autoscaler.",
            value: |a| int(a.status.as_ref().and_then(|s| s.current_replicas)),
        },
        Gauge {
            name: "kube_horizontalpodautoscaler_status_desired_replicas",
            help: "[STABLE] Desired number of replicas of pods managed by this autoscaler.",
            value: |a| int(a.status.as_ref().map(|s| s.desired_replicas)),
        },
    ],
    series: &[
        Series {
            name: "kube_horizontalpodautoscaler_info",
            help: "Information about this autoscaler.",
            series: |a| {
                let r = a.spec.clone().unwrap_or_default().scale_target_ref;
                let mut l = vec![
                    ("scaletargetref_kind", r.kind),
                    ("scaletargetref_name", r.name),
                ];
                if let Some(v) = r.api_version.filter(|v| !v.is_empty()) {
                    // kube-state-metrics puts the API version first when there is one.
                    l.insert(0, ("scaletargetref_api_version", v));
                }
                vec![(l, 1.0)]
            },
        },
        Series {
            name: "kube_horizontalpodautoscaler_status_condition",
            help: "[STABLE] The condition of this autoscaler.",
            series: |a| {
                let cs = a.status.as_ref().and_then(|s| s.conditions.as_deref());
                cs.unwrap_or_default()
                    .iter()
                    .flat_map(|c| {
                        conditions(&c.status).into_iter().map(|(l, v)| {
                            let status = l.into_iter().map(|(_, s)| ("status", s));
                            let mut labels = vec![("condition", c.type_.clone())];
                            labels.extend(status);
                            (labels, v)
                        })
                    })
                    .collect()
            },
        },
    ],
};
