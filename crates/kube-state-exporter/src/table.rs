//! Table-driven families for the kinds whose kube-state-metrics families are one gauge per
//! object (`internal/store/replicaset.go`, `daemonset.go`): a kind is a label name and a table
//! of `(family, help, value)`, plus the shared `_created` and `_owner` families.

use kube::Resource;
use model::exposition::MetricType;

use crate::out::Family;

use crate::out::Out;

/// One gauge family: its name, help text and value for an object (`None`: no series).
pub struct Gauge<K> {
    /// Family name.
    pub name: &'static str,
    /// Help text as kube-state-metrics writes it.
    pub help: &'static str,
    /// The object's value.
    pub value: fn(&K) -> Option<f64>,
}

/// Extra labels and value of one series.
pub type Sample = (Vec<(&'static str, String)>, f64);

/// A gauge family with its own labels and any number of series per object.
pub struct Series<K> {
    /// Family name.
    pub name: &'static str,
    /// Help text as kube-state-metrics writes it.
    pub help: &'static str,
    /// The object's series: extra labels and value.
    pub series: fn(&K) -> Vec<Sample>,
}

/// A kind's families.
pub struct Kind<K: 'static> {
    /// The label carrying the object's name (`replicaset`).
    pub label: &'static str,
    /// `kube_<kind>_created`, written for every kind.
    pub created: &'static str,
    /// Whether `_created` is a stable family (its help prefixed `[STABLE]`).
    pub created_stable: bool,
    /// `kube_<kind>_owner` where the kind has it.
    pub owner: Option<&'static str>,
    /// Whether every series carries the object's `uid` (services).
    pub uid: bool,
    /// The per-object gauges.
    pub gauges: &'static [Gauge<K>],
    /// Families with their own labels.
    pub series: &'static [Series<K>],
}

/// Help text of `_created` families.
const CREATED_HELP: &str = "Unix creation timestamp";

/// One series with these extra labels.
#[must_use]
pub fn one(labels: &[(&'static str, &str)], value: f64) -> Vec<Sample> {
    vec![(
        labels.iter().map(|&(k, v)| (k, v.to_owned())).collect(),
        value,
    )]
}

/// kube-state-metrics' condition series: `condition="true"|"false"|"unknown"`, 1 for `status`.
#[must_use]
pub fn conditions(status: &str) -> Vec<Sample> {
    ["True", "False", "Unknown"]
        .into_iter()
        .map(|s| {
            (
                vec![("condition", s.to_lowercase())],
                if s == status { 1.0 } else { 0.0 },
            )
        })
        .collect()
}

/// One series per phase, 1 for the object's (none without a phase).
#[must_use]
pub fn phases(phase: Option<&str>, all: &[&'static str]) -> Vec<Sample> {
    let Some(phase) = phase.filter(|p| !p.is_empty()) else {
        return Vec::new();
    };
    all.iter()
        .map(|&p| {
            (
                vec![("phase", p.to_owned())],
                if p == phase { 1.0 } else { 0.0 },
            )
        })
        .collect()
}

/// A timestamp's Unix seconds.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn time(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<f64> {
    t.map(|t| t.0.as_second() as f64)
}

/// Converts an integer field to a sample value.
#[must_use]
pub fn int(v: Option<i32>) -> Option<f64> {
    Some(f64::from(v.unwrap_or(0)))
}

/// Converts a 64-bit integer field (generations) to a sample value.
#[must_use]
#[allow(clippy::cast_precision_loss)]
pub fn int64(v: Option<i64>) -> Option<f64> {
    Some(v.unwrap_or(0) as f64)
}

/// Whether `K` is namespaced: its series carry `namespace` (empty when the object has none),
/// as kube-state-metrics' default labels for namespaced stores.
#[must_use]
pub fn namespaced<K: Resource>() -> bool
where
    K::Scope: 'static,
{
    std::any::TypeId::of::<K::Scope>()
        == std::any::TypeId::of::<k8s_openapi::NamespaceResourceScope>()
}

impl<K: Resource> Kind<K>
where
    K::Scope: 'static,
{
    /// The families of these objects; namespaced kinds get a `namespace` label.
    #[must_use]
    #[allow(clippy::cast_precision_loss)]
    pub fn families<'a>(&self, objects: impl IntoIterator<Item = &'a K>) -> Vec<Family> {
        let mut out = Out::default();
        let created_help = if self.created_stable {
            format!("[STABLE] {CREATED_HELP}")
        } else {
            CREATED_HELP.to_owned()
        };
        out.declare(self.created, &created_help, MetricType::Gauge);
        if let Some(owner) = self.owner {
            out.declare(
                owner,
                &format!(
                    "[STABLE] Information about the {}'s owner.",
                    owner_subject(self.label)
                ),
                MetricType::Gauge,
            );
        }
        for g in self.gauges {
            out.declare(g.name, g.help, MetricType::Gauge);
        }
        for f in self.series {
            out.declare(f.name, f.help, MetricType::Gauge);
        }
        for o in objects {
            let meta = o.meta();
            let name = meta.name.as_deref().unwrap_or("");
            // kube-state-metrics' default labels: namespace first, then the name.
            let mut labels = Vec::with_capacity(3);
            if namespaced::<K>() {
                labels.push(("namespace", meta.namespace.as_deref().unwrap_or("")));
            }
            labels.push((self.label, name));
            if self.uid {
                labels.push(("uid", meta.uid.as_deref().unwrap_or("")));
            }
            if let Some(t) = &meta.creation_timestamp {
                out.add(self.created, &labels, t.0.as_second() as f64);
            }
            if let Some(owner) = self.owner {
                let owners = meta.owner_references.as_deref().unwrap_or_default();
                if owners.is_empty() {
                    let mut l = labels.clone();
                    l.extend([
                        ("owner_kind", ""),
                        ("owner_name", ""),
                        ("owner_is_controller", ""),
                    ]);
                    out.add(owner, &l, 1.0);
                }
                for r in owners {
                    let mut l = labels.clone();
                    let controller = if r.controller == Some(true) {
                        "true"
                    } else {
                        "false"
                    };
                    l.extend([
                        ("owner_kind", r.kind.as_str()),
                        ("owner_name", r.name.as_str()),
                        ("owner_is_controller", controller),
                    ]);
                    out.add(owner, &l, 1.0);
                }
            }
            for g in self.gauges {
                if let Some(v) = (g.value)(o) {
                    out.add(g.name, &labels, v);
                }
            }
            for f in self.series {
                for (extra, v) in (f.series)(o) {
                    let mut l = labels.clone();
                    l.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
                    out.add(f.name, &l, v);
                }
            }
        }
        out.finish()
    }
}

/// The subject kube-state-metrics names in `_owner` help texts.
fn owner_subject(label: &str) -> &str {
    match label {
        "replicaset" => "ReplicaSet",
        "job_name" => "Job",
        "pod" => "Pod",
        other => other,
    }
}

/// An object's deletion timestamp (`_deletion_timestamp` families), none while not deleted.
#[must_use]
pub fn deleted<K: Resource>(o: &K) -> Option<f64> {
    time(o.meta().deletion_timestamp.as_ref())
}

/// An object's resource version as a number (`_metadata_resource_version`); none when it is
/// not one (kube-state-metrics' `resourceVersionMetric`).
#[must_use]
pub fn resource_version<K: Resource>(o: &K) -> Option<f64> {
    o.meta().resource_version.as_deref()?.parse().ok()
}

/// kube-state-metrics' owner series without `owner_is_controller` (`kube_deployment_owner`)
/// or with it (`kube_secret_owner`); an object without owners gets one series of empty values.
#[must_use]
pub fn owners<K: Resource>(o: &K, with_controller: bool) -> Vec<Sample> {
    let refs = o.meta().owner_references.as_deref().unwrap_or_default();
    let row = |kind: &str, name: &str, controller: &str| {
        let mut l = vec![
            ("owner_kind", kind.to_owned()),
            ("owner_name", name.to_owned()),
        ];
        if with_controller {
            l.push(("owner_is_controller", controller.to_owned()));
        }
        (l, 1.0)
    };
    if refs.is_empty() {
        return vec![row("", "", "")];
    }
    refs.iter()
        .map(|r| {
            let c = if r.controller == Some(true) {
                "true"
            } else {
                "false"
            };
            row(&r.kind, &r.name, c)
        })
        .collect()
}

/// kube-state-metrics' typed condition series (`addConditionMetrics` with the type prepended):
/// for each `(type, status)`, `condition=<type>` and `status="true"|"false"|"unknown"`.
#[must_use]
pub fn typed_conditions<'a>(items: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<Sample> {
    items
        .into_iter()
        .flat_map(|(type_, status)| {
            conditions(status).into_iter().map(move |(l, v)| {
                let mut labels = vec![("condition", type_.to_owned())];
                labels.extend(l.into_iter().map(|(_, s)| ("status", s)));
                (labels, v)
            })
        })
        .collect()
}
