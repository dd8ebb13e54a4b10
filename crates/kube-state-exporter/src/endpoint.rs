//! Endpoints families as kube-state-metrics writes them (`internal/store/endpoint.go`,
//! `docs/metrics/service/endpoint-metrics.md`).

use k8s_openapi::api::core::v1::Endpoints;

use crate::table::{Gauge, Kind, Sample, Series};

/// Every `(subset port, address, ready)` of the endpoints.
fn addresses(e: &Endpoints) -> Vec<Sample> {
    let mut out = Vec::new();
    for s in e.subsets.as_deref().unwrap_or_default() {
        for p in s.ports.as_deref().unwrap_or_default() {
            let ready = s
                .addresses
                .as_deref()
                .unwrap_or_default()
                .iter()
                .map(|a| (a, "true"));
            let not = s.not_ready_addresses.as_deref().unwrap_or_default().iter();
            for (a, r) in ready.chain(not.map(|a| (a, "false"))) {
                out.push((
                    vec![
                        ("port_protocol", p.protocol.clone().unwrap_or_default()),
                        ("port_number", p.port.to_string()),
                        ("port_name", p.name.clone().unwrap_or_default()),
                        ("ip", a.ip.clone()),
                        ("ready", r.to_owned()),
                    ],
                    1.0,
                ));
            }
        }
    }
    out
}

/// The Endpoints families.
pub const KIND: Kind<Endpoints> = Kind {
    label: "endpoint",
    created: "kube_endpoint_created",
    created_stable: true,
    owner: None,
    uid: false,
    gauges: &[Gauge {
        name: "kube_endpoint_info",
        help: "[STABLE] Information about endpoint.",
        value: |_| Some(1.0),
    }],
    series: &[
        Series {
            name: "kube_endpoint_address",
            help: "[STABLE] Information about Endpoint available and non available addresses.",
            series: addresses,
        },
        Series {
            name: "kube_endpoint_ports",
            help: "[STABLE] (Deprecated since v2.14.0) Information about the Endpoint ports.",
            series: |e| {
                let subsets = e.subsets.as_deref().unwrap_or_default();
                subsets
                    .iter()
                    .flat_map(|s| s.ports.as_deref().unwrap_or_default())
                    .map(|p| {
                        (
                            vec![
                                ("port_name", p.name.clone().unwrap_or_default()),
                                ("port_protocol", p.protocol.clone().unwrap_or_default()),
                                ("port_number", p.port.to_string()),
                            ],
                            1.0,
                        )
                    })
                    .collect()
            },
        },
    ],
};
