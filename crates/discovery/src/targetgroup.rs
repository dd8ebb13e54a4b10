//! Target groups: a set of targets sharing common labels, identified by a source string.
//!
//! The serde form is the one of file SD, HTTP SD and `static_configs`:
//! `{"targets": ["host:port", ...], "labels": {"name": "value"}}`; unknown fields are an error.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer};
use serde::ser::{SerializeStruct, Serializer};
use serde::{Deserialize, Serialize};

/// A label set as discovery produces it: label name to value, ordered by name.
pub type LabelSet = BTreeMap<String, String>;

/// The label holding a target's `host:port`.
pub const ADDRESS_LABEL: &str = "__address__";
/// The label a node target carries its node name in.
pub const INSTANCE_LABEL: &str = "instance";
/// Prefix of labels that exist only during relabeling.
pub const META_LABEL_PREFIX: &str = "__meta_";

/// A group of targets with common labels, identified within its provider by `source`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TargetGroup {
    /// Identifies the group within its provider; a newer group with the same source replaces it.
    pub source: String,
    /// The targets: each at least has `__address__`.
    pub targets: Vec<LabelSet>,
    /// Labels common to all targets (target labels win on conflicts).
    pub labels: LabelSet,
}

impl TargetGroup {
    /// An empty group: sending it removes the group with that source.
    #[must_use]
    pub fn empty(source: impl Into<String>) -> Self {
        Self {
            source: source.into(),
            ..Self::default()
        }
    }

    /// A group from plain `host:port` addresses and common labels.
    #[must_use]
    pub fn from_addresses<I, S>(source: impl Into<String>, addresses: I, labels: LabelSet) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            source: source.into(),
            targets: addresses
                .into_iter()
                .map(|a| LabelSet::from([(ADDRESS_LABEL.to_owned(), a.into())]))
                .collect(),
            labels,
        }
    }

    /// The `__address__` of every target, in order.
    #[must_use]
    pub fn addresses(&self) -> Vec<&str> {
        self.targets
            .iter()
            .filter_map(|t| t.get(ADDRESS_LABEL).map(String::as_str))
            .collect()
    }
}

impl fmt::Display for TargetGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WireGroup {
    #[serde(default)]
    targets: Option<Vec<String>>,
    #[serde(default)]
    labels: Option<LabelSet>,
}

impl<'de> Deserialize<'de> for TargetGroup {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let w = WireGroup::deserialize(deserializer)?;
        let labels = w.labels.unwrap_or_default();
        if let Some(name) = labels.keys().find(|n| n.is_empty()) {
            return Err(de::Error::custom(format!(
                "{name:?} is not a valid label name"
            )));
        }
        Ok(Self::from_addresses(
            String::new(),
            w.targets.unwrap_or_default(),
            labels,
        ))
    }
}

impl Serialize for TargetGroup {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let n = if self.labels.is_empty() { 1 } else { 2 };
        let mut s = serializer.serialize_struct("TargetGroup", n)?;
        s.serialize_field("targets", &self.addresses())?;
        if !self.labels.is_empty() {
            s.serialize_field("labels", &self.labels)?;
        }
        s.end()
    }
}

/// Replaces every character outside `[a-zA-Z0-9_]` by `_`, as Prometheus does for label names
/// derived from Kubernetes labels, annotations and node conditions.
#[must_use]
pub fn sanitize_label_name(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trip_and_strictness() {
        let tgs: Vec<TargetGroup> = serde_json::from_str(
            r#"[{"targets": ["a:1", "b:2"], "labels": {"env": "prod"}}, {"targets": []}]"#,
        )
        .unwrap();
        assert_eq!(tgs[0].addresses(), ["a:1", "b:2"]);
        assert_eq!(tgs[0].labels["env"], "prod");
        assert!(tgs[1].targets.is_empty() && tgs[1].labels.is_empty());
        let out = serde_json::to_string(&tgs[0]).unwrap();
        assert_eq!(out, r#"{"targets":["a:1","b:2"],"labels":{"env":"prod"}}"#);
        let err = serde_json::from_str::<Vec<TargetGroup>>(r#"[{"targets": [], "foo": 1}]"#);
        assert!(err.is_err(), "unknown fields are rejected");
    }

    #[test]
    fn yaml_form() {
        let tgs: Vec<TargetGroup> =
            serde_saphyr::from_str("- targets: ['x:9100']\n  labels:\n    a: b\n").unwrap();
        assert_eq!(tgs[0].addresses(), ["x:9100"]);
        assert_eq!(tgs[0].labels["a"], "b");
    }

    #[test]
    fn sanitize() {
        assert_eq!(
            sanitize_label_name("prometheus.io/scrape"),
            "prometheus_io_scrape"
        );
        assert_eq!(
            sanitize_label_name("app.kubernetes.io/name-x"),
            "app_kubernetes_io_name_x"
        );
    }
}
