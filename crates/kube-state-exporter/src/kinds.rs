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
use std::collections::BTreeSet;

use kube::Resource;
use model::exposition::MetricType;

use crate::allowlist::AllowList;
use crate::order;
use crate::out::Family;
use crate::table::Kind;

/// What the flags let through: `--metric-labels-allowlist`,
/// `--metric-annotations-allowlist` and `--metric-opt-in-list`.
#[derive(Debug, Clone, Default)]
pub struct Allow {
    /// Kubernetes labels exported per resource.
    pub labels: AllowList,
    /// Kubernetes annotations exported per resource.
    pub annotations: AllowList,
    /// Opt-in families turned on (kube-state-metrics' `NewOptInFamilyGenerator` ones:
    /// [`OPT_IN`]).
    pub opt_in: BTreeSet<String>,
}

/// kube-state-metrics' opt-in families of these kinds, off unless named in
/// `--metric-opt-in-list`.
pub const OPT_IN: &[&str] = &[
    "kube_pod_nodeselectors",
    "kube_persistentvolume_csi_attributes",
];

/// An opt-in family with one series per object: the kind's base labels, then `extra`'s.
fn opt_in<'a, K: Resource + 'a>(
    allow: &Allow,
    name: &'static str,
    help: &str,
    objects: &[&'a K],
    base: impl Fn(&'a K) -> Vec<(String, String)>,
    extra: impl Fn(&'a K) -> Option<Vec<(String, String)>>,
) -> Option<Family> {
    allow.opt_in.contains(name).then(|| Family {
        name,
        help: help.to_owned(),
        metric_type: MetricType::Gauge,
        series: objects
            .iter()
            .filter_map(|o| {
                let mut labels = base(o);
                labels.extend(extra(o)?);
                Some((labels, 1.0))
            })
            .collect(),
    })
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
impl Exported for PersistentVolume {
    const RESOURCE: &'static str = "persistentvolumes";
    fn families(objects: &[&Self], allow: &Allow) -> Vec<Family> {
        let mut fams = table(
            &crate::storage::VOLUME,
            Self::RESOURCE,
            objects,
            allow,
            order::PV,
        );
        // The CEPH CSI driver's `mounter` and `mapOptions` attributes, for CSI volumes.
        fams.extend(opt_in(
            allow,
            "kube_persistentvolume_csi_attributes",
            "CSI attributes of the Persistent Volume.",
            objects,
            |v: &PersistentVolume| {
                vec![(
                    "persistentvolume".to_owned(),
                    v.metadata.name.clone().unwrap_or_default(),
                )]
            },
            |v| {
                let csi = v.spec.as_ref()?.csi.as_ref()?;
                let attr = |k: &str| {
                    csi.volume_attributes
                        .as_ref()
                        .and_then(|a| a.get(k).cloned())
                        .unwrap_or_default()
                };
                Some(vec![
                    ("csi_mounter".to_owned(), attr("mounter")),
                    ("csi_map_options".to_owned(), attr("mapOptions")),
                ])
            },
        ));
        order::arrange(fams, order::PV)
    }
}
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
        let mut own = crate::pod::families(objects.iter().copied());
        let base = |p: &Pod| {
            let m = &p.metadata;
            [
                ("namespace", &m.namespace),
                ("pod", &m.name),
                ("uid", &m.uid),
            ]
            .map(|(k, v)| (k.to_owned(), v.clone().unwrap_or_default()))
            .to_vec()
        };
        // `kubeMapToPrometheusLabels("nodeselector", ...)`: every key, sanitized.
        let all = ["*".to_owned()];
        own.extend(opt_in(
            allow,
            "kube_pod_nodeselectors",
            "Describes the Pod nodeSelectors.",
            objects,
            base,
            |p| {
                let map = p.spec.as_ref().and_then(|s| s.node_selector.as_ref());
                Some(crate::allowlist::labels("nodeselector", map, &all))
            },
        ));
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
