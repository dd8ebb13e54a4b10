//! Deployment families as kube-state-metrics writes them (`internal/store/deployment.go`):
//! creation time, desired and observed replicas.

use k8s_openapi::api::apps::v1::Deployment;
use model::exposition::MetricType;

use crate::out::Family;

use crate::out::Out;

/// The families of these deployments.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn families<'a>(deployments: impl IntoIterator<Item = &'a Deployment>) -> Vec<Family> {
    let mut out = Out::default();
    let fams: [(&'static str, &str); 6] = [
        (
            "kube_deployment_created",
            "[STABLE] Unix creation timestamp",
        ),
        (
            "kube_deployment_spec_replicas",
            "[STABLE] Number of desired pods for a deployment.",
        ),
        (
            "kube_deployment_status_replicas",
            "[STABLE] The number of replicas per deployment.",
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
    ];
    for (name, help) in fams {
        out.declare(name, help, MetricType::Gauge);
    }
    for d in deployments {
        let labels = [
            ("namespace", d.metadata.namespace.as_deref().unwrap_or("")),
            ("deployment", d.metadata.name.as_deref().unwrap_or("")),
        ];
        if let Some(t) = &d.metadata.creation_timestamp {
            out.add(fams[0].0, &labels, t.0.as_second() as f64);
        }
        // The API server defaults spec.replicas to 1.
        let spec = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
        out.add(fams[1].0, &labels, f64::from(spec));
        let st = d.status.clone().unwrap_or_default();
        for (i, v) in [
            st.replicas,
            st.available_replicas,
            st.unavailable_replicas,
            st.updated_replicas,
        ]
        .into_iter()
        .enumerate()
        {
            out.add(fams[i + 2].0, &labels, f64::from(v.unwrap_or(0)));
        }
    }
    out.finish()
}
