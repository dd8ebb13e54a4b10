//! Relabeling rules as the Operator writes them (`generateRelabelConfig`, `sanitizeLabelName`
//! and the sharding rules in prometheus-operator's `pkg/prometheus/promcfg.go`).

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// A relabeling rule as written in a monitor's `relabelings` or `metricRelabelings`
/// (camelCase field names).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RelabelConfig {
    /// `sourceLabels`.
    #[serde(default)]
    pub source_labels: Vec<String>,
    /// `separator`; absent keeps Prometheus's default.
    pub separator: Option<String>,
    /// `targetLabel`.
    #[serde(default)]
    pub target_label: String,
    /// `regex`.
    #[serde(default)]
    pub regex: String,
    /// `modulus` (hashmod).
    #[serde(default)]
    pub modulus: u64,
    /// `replacement`; absent keeps Prometheus's default.
    pub replacement: Option<String>,
    /// `action`, in any case; written lower-case.
    #[serde(default)]
    pub action: String,
}

impl RelabelConfig {
    /// The rule in `prometheus.yml`'s shape: only the fields that are set.
    #[must_use]
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        if !self.source_labels.is_empty() {
            m.insert("source_labels".into(), json!(self.source_labels));
        }
        if let Some(s) = &self.separator {
            m.insert("separator".into(), json!(s));
        }
        if !self.target_label.is_empty() {
            m.insert("target_label".into(), json!(self.target_label));
        }
        if !self.regex.is_empty() {
            m.insert("regex".into(), json!(self.regex));
        }
        if self.modulus != 0 {
            m.insert("modulus".into(), json!(self.modulus));
        }
        if let Some(r) = &self.replacement {
            m.insert("replacement".into(), json!(r));
        }
        if !self.action.is_empty() {
            m.insert("action".into(), json!(self.action.to_lowercase()));
        }
        Value::Object(m)
    }
}

/// A Kubernetes label name as a Prometheus label name (`app.kubernetes.io/name` is
/// `app_kubernetes_io_name`): the same rule as Kubernetes discovery's meta labels.
pub use discovery::targetgroup::sanitize_label_name;

/// Which shard of how many a server is. `shard: None` writes the Operator's `$(SHARD)`
/// placeholder (its config reloader substitutes it per replica), as in the Operator's own
/// output; a Firewatch server reading the objects itself gives its number.
#[derive(Debug, Clone, Copy)]
pub struct Sharding {
    /// The number of shards (1 for one server).
    pub shards: u32,
    /// This server's shard, or `None` for the placeholder.
    pub shard: Option<u32>,
}

/// The three rules that keep a target only on its shard: the hash of `label` (unless
/// `__tmp_hash` is already set) modulo the shard count, kept when it equals this shard or
/// when `__tmp_disable_sharding` is set.
#[must_use]
pub fn sharding(label: &str, sharding: Sharding) -> [Value; 3] {
    let shard = sharding
        .shard
        .map_or_else(|| "$(SHARD)".to_owned(), |n| n.to_string());
    let shards = sharding.shards;
    [
        json!({
            "source_labels": [label, "__tmp_hash"],
            "target_label": "__tmp_hash",
            "regex": "(.+);",
            "replacement": "$1",
            "action": "replace",
        }),
        json!({
            "source_labels": ["__tmp_hash"],
            "target_label": "__tmp_hash",
            "modulus": shards,
            "action": "hashmod",
        }),
        json!({
            "source_labels": ["__tmp_hash", "__tmp_disable_sharding"],
            "regex": format!("{shard};|.+;.+"),
            "action": "keep",
        }),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names_are_sanitized_as_the_operator_does() {
        for (k8s, prom) in [
            ("app.kubernetes.io/name", "app_kubernetes_io_name"),
            ("team", "team"),
            ("k8s-app", "k8s_app"),
            ("a_b9", "a_b9"),
        ] {
            assert_eq!(sanitize_label_name(k8s), prom);
        }
    }

    #[test]
    fn relabel_rules_keep_only_set_fields_and_lower_case_actions() {
        let rc = RelabelConfig {
            source_labels: vec!["__name__".into()],
            regex: "go_.*".into(),
            action: "Drop".into(),
            ..RelabelConfig::default()
        };
        assert_eq!(
            rc.to_value(),
            json!({"source_labels": ["__name__"], "regex": "go_.*", "action": "drop"})
        );
        let empty_replacement = RelabelConfig {
            target_label: "job".into(),
            replacement: Some(String::new()),
            ..RelabelConfig::default()
        };
        assert_eq!(
            empty_replacement.to_value(),
            json!({"target_label": "job", "replacement": ""})
        );
    }
}
