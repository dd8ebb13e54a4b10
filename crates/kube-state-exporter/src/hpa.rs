//! HorizontalPodAutoscaler families as kube-state-metrics writes them
//! (`internal/store/horizontalpodautoscaler.go`,
//! `docs/metrics/workload/horizontalpodautoscaler-metrics.md`), with the target metric
//! families and the behaviour tolerances.

use k8s_openapi::api::autoscaling::v2::{
    HPAScalingRules, HorizontalPodAutoscaler, MetricSpec, MetricStatus,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;

use crate::quantity;
use crate::table::{Gauge, Kind, Sample, Series, conditions, deleted, int, int64};

/// One target or current metric's series: `metric_target_type` `value`, `utilization`,
/// `average` for those it sets (kube-state-metrics' `metricTargetType` order).
fn target_series(
    name: &str,
    container: &str,
    value: Option<&Quantity>,
    average: Option<&Quantity>,
    utilization: Option<i32>,
) -> Vec<Sample> {
    let q = |v: Option<&Quantity>| v.and_then(|q| quantity::parse(&q.0));
    [
        ("value", q(value)),
        ("utilization", utilization.map(f64::from)),
        ("average", q(average)),
    ]
    .into_iter()
    .filter_map(|(kind, v)| {
        let labels = vec![
            ("metric_name", name.to_owned()),
            ("metric_target_type", kind.to_owned()),
            ("container", container.to_owned()),
        ];
        Some((labels, v?))
    })
    .collect()
}

/// `spec.metrics`: each source's name, container and target (unknown types skipped).
fn spec_targets(m: &MetricSpec) -> Vec<Sample> {
    let (name, container, t) = if let Some(o) = &m.object {
        (o.metric.name.as_str(), "", &o.target)
    } else if let Some(p) = &m.pods {
        (p.metric.name.as_str(), "", &p.target)
    } else if let Some(r) = &m.resource {
        (r.name.as_str(), "", &r.target)
    } else if let Some(c) = &m.container_resource {
        (c.name.as_str(), c.container.as_str(), &c.target)
    } else if let Some(e) = &m.external {
        (e.metric.name.as_str(), "", &e.target)
    } else {
        return Vec::new();
    };
    target_series(
        name,
        container,
        t.value.as_ref(),
        t.average_value.as_ref(),
        t.average_utilization,
    )
}

/// `status.currentMetrics`: as [`spec_targets`] with the current values; an entry whose
/// source is missing is skipped (the API server does not validate them).
fn status_targets(m: &MetricStatus) -> Vec<Sample> {
    let source = match m.type_.as_str() {
        "Object" => m
            .object
            .as_ref()
            .map(|o| (o.metric.name.as_str(), "", &o.current)),
        "Pods" => m
            .pods
            .as_ref()
            .map(|p| (p.metric.name.as_str(), "", &p.current)),
        "Resource" => m
            .resource
            .as_ref()
            .map(|r| (r.name.as_str(), "", &r.current)),
        "ContainerResource" => m
            .container_resource
            .as_ref()
            .map(|c| (c.name.as_str(), c.container.as_str(), &c.current)),
        "External" => m
            .external
            .as_ref()
            .map(|e| (e.metric.name.as_str(), "", &e.current)),
        _ => None,
    };
    let Some((name, container, c)) = source else {
        return Vec::new();
    };
    target_series(
        name,
        container,
        c.value.as_ref(),
        c.average_value.as_ref(),
        c.average_utilization,
    )
}

/// A scaling rule's tolerance.
fn tolerance(rules: Option<&HPAScalingRules>) -> Option<f64> {
    quantity::parse(&rules?.tolerance.as_ref()?.0)
}

/// The HorizontalPodAutoscaler families.
pub const KIND: Kind<HorizontalPodAutoscaler> = Kind {
    label: "horizontalpodautoscaler",
    created: "kube_horizontalpodautoscaler_created",
    created_stable: false,
    owner: None,
    uid: false,
    gauges: &[
        Gauge {
            name: "kube_horizontalpodautoscaler_spec_behavior_scale_up_tolerance",
            help: "The tolerance on the ratio between the current and desired metric value below which no scale up occurs.",
            value: |a| {
                let b = a.spec.as_ref()?.behavior.as_ref()?;
                tolerance(b.scale_up.as_ref())
            },
        },
        Gauge {
            name: "kube_horizontalpodautoscaler_spec_behavior_scale_down_tolerance",
            help: "The tolerance on the ratio between the current and desired metric value below which no scale down occurs.",
            value: |a| {
                let b = a.spec.as_ref()?.behavior.as_ref()?;
                tolerance(b.scale_down.as_ref())
            },
        },
        Gauge {
            name: "kube_horizontalpodautoscaler_deletion_timestamp",
            help: "Unix deletion timestamp",
            value: |o| deleted(o),
        },
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
            name: "kube_horizontalpodautoscaler_spec_target_metric",
            help: "The metric specifications used by this autoscaler when calculating the desired replica count.",
            series: |a| {
                let ms = a.spec.as_ref().and_then(|s| s.metrics.as_deref());
                ms.unwrap_or_default()
                    .iter()
                    .flat_map(spec_targets)
                    .collect()
            },
        },
        Series {
            name: "kube_horizontalpodautoscaler_status_target_metric",
            help: "[STABLE] The current metric status used by this autoscaler when calculating the desired replica count.",
            series: |a| {
                let ms = a.status.as_ref().and_then(|s| s.current_metrics.as_deref());
                ms.unwrap_or_default()
                    .iter()
                    .flat_map(status_targets)
                    .collect()
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
