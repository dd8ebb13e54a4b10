//! ConfigMap and Secret families as kube-state-metrics writes them (`internal/store/configmap.go`,
//! `secret.go`): metadata only, never the data.

use k8s_openapi::api::core::v1::{ConfigMap, Secret};

use crate::table::{Gauge, Kind, Series, one, owners, resource_version};

/// The ConfigMap families.
pub const CONFIGMAP: Kind<ConfigMap> = Kind {
    label: "configmap",
    created: "kube_configmap_created",
    created_stable: true,
    owner: None,
    uid: false,
    gauges: &[
        Gauge {
            name: "kube_configmap_metadata_resource_version",
            help: "Resource version representing a specific version of the configmap.",
            value: |o| resource_version(o),
        },
        Gauge {
            name: "kube_configmap_info",
            help: "[STABLE] Information about configmap.",
            value: |_| Some(1.0),
        },
    ],
    series: &[],
};

/// The Secret families.
pub const SECRET: Kind<Secret> = Kind {
    label: "secret",
    created: "kube_secret_created",
    created_stable: true,
    owner: None,
    uid: false,
    gauges: &[
        Gauge {
            name: "kube_secret_metadata_resource_version",
            help: "Resource version representing a specific version of secret.",
            value: |o| resource_version(o),
        },
        Gauge {
            name: "kube_secret_info",
            help: "[STABLE] Information about secret.",
            value: |_| Some(1.0),
        },
    ],
    series: &[
        Series {
            name: "kube_secret_owner",
            help: "Information about the Secret's owner.",
            series: |s| owners(s, true),
        },
        Series {
            name: "kube_secret_type",
            help: "[STABLE] Type about secret.",
            series: |s| one(&[("type", s.type_.as_deref().unwrap_or(""))], 1.0),
        },
    ],
};
