//! The sixteen kinds behind one trait: a kind's `--resources` name and its families (its own,
//! then `_labels` / `_annotations` from the allowlists), in kube-state-metrics' generator
//! order — what one of its stores (`internal/store/builder.go`) writes for these objects.

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use k8s_openapi::api::batch::v1::{CronJob, Job};
use k8s_openapi::api::core::v1::{
    ConfigMap, Endpoints, Namespace, Node, PersistentVolume, PersistentVolumeClaim, Pod, Secret,
    Service,
};
use kube::Resource;

use crate::allowlist::AllowList;
use crate::order;
use crate::out::Family;
use crate::table::Kind;

/// `--metric-labels-allowlist` and `--metric-annotations-allowlist`.
#[derive(Debug, Clone, Default)]
pub struct Allow {
    /// Kubernetes labels exported per resource.
    pub labels: AllowList,
    /// Kubernetes annotations exported per resource.
    pub annotations: AllowList,
}

/// A kind the exporter writes families for.
pub trait Exported: Resource + Sized {
    /// Its `--resources` name (`pods`).
    const RESOURCE: &'static str;

    /// The families of these objects, in kube-state-metrics' order (every family declared,
    /// with or without series).
    fn families(objects: &[&Self], allow: &Allow) -> Vec<Family>;
}

/// How a kind names its objects in `_labels` / `_annotations`.
struct Meta {
    resource: &'static str,
    prefix: &'static str,
    label: &'static str,
    uid: bool,
}

/// `own` plus the kind's `_labels` / `_annotations`, arranged in `order`.
fn finish<K: Resource<Scope: 'static>>(
    mut own: Vec<Family>,
    objects: &[&K],
    meta: &Meta,
    allow: &Allow,
    order: &[&str],
) -> Vec<Family> {
    let rows: Vec<_> = objects
        .iter()
        .map(|o| {
            let m = o.meta();
            let mut base = Vec::with_capacity(3);
            if crate::table::namespaced::<K>() {
                base.push(("namespace", m.namespace.as_deref().unwrap_or("")));
            }
            base.push((meta.label, m.name.as_deref().unwrap_or("")));
            if meta.uid {
                base.push(("uid", m.uid.as_deref().unwrap_or("")));
            }
            (base, m)
        })
        .collect();
    own.extend(crate::allowlist::families(
        meta.prefix,
        meta.resource,
        &rows,
        &allow.labels,
        &allow.annotations,
    ));
    order::arrange(own, order)
}

/// A table-driven kind's families.
fn table<K: Resource<Scope: 'static>>(
    kind: &Kind<K>,
    resource: &'static str,
    objects: &[&K],
    allow: &Allow,
    order: &[&str],
) -> Vec<Family> {
    let prefix = kind
        .created
        .strip_suffix("_created")
        .unwrap_or(kind.created);
    let meta = Meta {
        resource,
        prefix,
        label: kind.label,
        uid: kind.uid,
    };
    let own = kind.families(objects.iter().copied());
    finish(own, objects, &meta, allow, order)
}

macro_rules! table_kind {
    ($t:ty, $resource:literal, $kind:path, $order:path) => {
        impl Exported for $t {
            const RESOURCE: &'static str = $resource;
            fn families(objects: &[&Self], allow: &Allow) -> Vec<Family> {
                table(&$kind, $resource, objects, allow, $order)
            }
        }
    };
}

table_kind!(
    ConfigMap,
    "configmaps",
    crate::config::CONFIGMAP,
    order::CONFIGMAP
);
table_kind!(CronJob, "cronjobs", crate::cronjob::KIND, order::CRONJOB);
table_kind!(
    DaemonSet,
    "daemonsets",
    crate::daemonset::KIND,
    order::DAEMONSET
);
table_kind!(
    Endpoints,
    "endpoints",
    crate::endpoint::KIND,
    order::ENDPOINT
);
table_kind!(
    HorizontalPodAutoscaler,
    "horizontalpodautoscalers",
    crate::hpa::KIND,
    order::HPA
);
table_kind!(Job, "jobs", crate::job::KIND, order::JOB);
table_kind!(
    PersistentVolumeClaim,
    "persistentvolumeclaims",
    crate::storage::CLAIM,
    order::PVC
);
table_kind!(
    PersistentVolume,
    "persistentvolumes",
    crate::storage::VOLUME,
    order::PV
);
table_kind!(
    ReplicaSet,
    "replicasets",
    crate::replicaset::KIND,
    order::REPLICASET
);
table_kind!(Secret, "secrets", crate::config::SECRET, order::SECRET);
table_kind!(Service, "services", crate::service::KIND, order::SERVICE);
table_kind!(
    StatefulSet,
    "statefulsets",
    crate::statefulset::KIND,
    order::STATEFULSET
);

impl Exported for Pod {
    const RESOURCE: &'static str = "pods";
    fn families(objects: &[&Self], allow: &Allow) -> Vec<Family> {
        let own = crate::pod::families(objects.iter().copied());
        let meta = Meta {
            resource: Self::RESOURCE,
            prefix: "kube_pod",
            label: "pod",
            uid: true,
        };
        finish(own, objects, &meta, allow, order::POD)
    }
}

impl Exported for Deployment {
    const RESOURCE: &'static str = "deployments";
    fn families(objects: &[&Self], allow: &Allow) -> Vec<Family> {
        let own = crate::deployment::families(objects.iter().copied());
        let meta = Meta {
            resource: Self::RESOURCE,
            prefix: "kube_deployment",
            label: "deployment",
            uid: false,
        };
        finish(own, objects, &meta, allow, order::DEPLOYMENT)
    }
}

impl Exported for Node {
    const RESOURCE: &'static str = "nodes";
    fn families(objects: &[&Self], allow: &Allow) -> Vec<Family> {
        let own = crate::node::families(objects.iter().copied());
        let meta = Meta {
            resource: Self::RESOURCE,
            prefix: "kube_node",
            label: "node",
            uid: false,
        };
        finish(own, objects, &meta, allow, order::NODE)
    }
}

impl Exported for Namespace {
    const RESOURCE: &'static str = "namespaces";
    fn families(objects: &[&Self], allow: &Allow) -> Vec<Family> {
        let own = crate::namespace::families(objects.iter().copied());
        let meta = Meta {
            resource: Self::RESOURCE,
            prefix: "kube_namespace",
            label: "namespace",
            uid: false,
        };
        finish(own, objects, &meta, allow, order::NAMESPACE)
    }
}
