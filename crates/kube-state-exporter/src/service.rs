//! Service families as kube-state-metrics writes them (`internal/store/service.go`,
//! `docs/metrics/service/service-metrics.md`); every series carries the service's `uid`.

use k8s_openapi::api::core::v1::Service;

use crate::table::{Gauge, Kind, Series, deleted, one};

/// The Service families.
pub const KIND: Kind<Service> = Kind {
    label: "service",
    created: "kube_service_created",
    created_stable: true,
    owner: None,
    uid: true,
    gauges: &[Gauge {
        name: "kube_service_deletion_timestamp",
        help: "Unix deletion timestamp",
        value: |o| deleted(o),
    }],
    series: &[
        Series {
            name: "kube_service_info",
            help: "[STABLE] Information about service.",
            series: |s| {
                let spec = s.spec.clone().unwrap_or_default();
                one(
                    &[
                        ("cluster_ip", spec.cluster_ip.as_deref().unwrap_or("")),
                        ("external_name", spec.external_name.as_deref().unwrap_or("")),
                        (
                            "load_balancer_ip",
                            spec.load_balancer_ip.as_deref().unwrap_or(""),
                        ),
                        (
                            "external_traffic_policy",
                            spec.external_traffic_policy.as_deref().unwrap_or(""),
                        ),
                    ],
                    1.0,
                )
            },
        },
        Series {
            name: "kube_service_spec_type",
            help: "[STABLE] Type about service.",
            series: |s| {
                let t = s.spec.as_ref().and_then(|s| s.type_.as_deref());
                one(&[("type", t.unwrap_or(""))], 1.0)
            },
        },
        Series {
            name: "kube_service_spec_external_ip",
            help: "[STABLE] Service external ips. One series for each ip",
            series: |s| {
                let ips = s.spec.as_ref().and_then(|s| s.external_ips.as_deref());
                ips.unwrap_or_default()
                    .iter()
                    .flat_map(|ip| one(&[("external_ip", ip.as_str())], 1.0))
                    .collect()
            },
        },
        Series {
            name: "kube_service_status_load_balancer_ingress",
            help: "[STABLE] Service load balancer ingress status",
            series: |s| {
                let ing = s
                    .status
                    .as_ref()
                    .and_then(|s| s.load_balancer.as_ref())
                    .and_then(|l| l.ingress.as_deref());
                ing.unwrap_or_default()
                    .iter()
                    .flat_map(|i| {
                        one(
                            &[
                                ("ip", i.ip.as_deref().unwrap_or("")),
                                ("hostname", i.hostname.as_deref().unwrap_or("")),
                            ],
                            1.0,
                        )
                    })
                    .collect()
            },
        },
    ],
};
