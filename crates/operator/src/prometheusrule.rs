//! `PrometheusRule` (monitoring.coreos.com/v1) into rule files as the Operator writes them
//! (prometheus-operator's `pkg/prometheus/operator/rules.go`): one file per object named
//! `<namespace>-<name>-<uid>.yaml` (the UID keeps `foo-bar/fred` and `foo/bar-fred` apart),
//! holding the object's `spec` (its groups as written). Each file is validated by the config
//! crate's rule parser; an invalid object is skipped with a log line naming it, as the Operator
//! rejects it.

use std::collections::BTreeMap;
use std::path::Path;

use config::ValidationScheme;
use config::rules::{RuleFile, promql_check};
use serde::Deserialize;
use serde_json::Value;

use crate::servicemonitor::ObjectMeta;

/// A `PrometheusRule` object: its metadata and its `spec` as written (`groups`).
#[derive(Debug, Clone, Deserialize)]
pub struct PrometheusRule {
    /// `metadata`.
    pub metadata: ObjectMeta,
    /// `spec`: `{groups: [...]}`, kept as written so the rule parser sees every field.
    #[serde(default)]
    pub spec: Value,
}

impl PrometheusRule {
    /// The rule file's name: `<namespace>-<name>-<uid>.yaml`.
    #[must_use]
    pub fn file_name(&self) -> String {
        let m = &self.metadata;
        format!("{}-{}-{}.yaml", m.namespace, m.name, m.uid)
    }

    /// The object's rule file, validated like a user's rule file (errors name the file).
    ///
    /// # Errors
    /// The rule parser's error when a group or rule is invalid.
    pub fn rule_file(&self) -> Result<RuleFile, config::RuleFileError> {
        let mut spec = self.spec.clone();
        // `partial_response_strategy` is a Thanos Ruler field: the Operator removes it from
        // files it writes for Prometheus.
        if let Some(groups) = spec.get_mut("groups").and_then(Value::as_array_mut) {
            for g in groups.iter_mut().filter_map(Value::as_object_mut) {
                g.remove("partial_response_strategy");
            }
        }
        if spec.is_null() {
            spec = serde_json::json!({});
        }
        // JSON is YAML: the parser reads the spec as it would a rule file.
        RuleFile::parse(
            &spec.to_string(),
            Path::new(&self.file_name()),
            &promql_check,
            ValidationScheme::Utf8,
        )
    }
}

/// The rule files made from a set of objects, and the objects skipped as invalid.
#[derive(Debug, Clone, Default)]
pub struct RuleFiles {
    /// Valid files by name (`<namespace>-<name>-<uid>.yaml`).
    pub files: BTreeMap<String, RuleFile>,
    /// Skipped objects: `<namespace>/<name>` and why.
    pub rejected: Vec<(String, String)>,
}

/// Turns `rules` into rule files; an invalid object is logged (naming it) and skipped.
#[must_use]
pub fn rule_files<'a>(rules: impl IntoIterator<Item = &'a PrometheusRule>) -> RuleFiles {
    let mut out = RuleFiles::default();
    for pr in rules {
        let (ns, name) = (&pr.metadata.namespace, &pr.metadata.name);
        match pr.rule_file() {
            Ok(file) => {
                out.files.insert(pr.file_name(), file);
            }
            Err(err) => {
                tracing::warn!(
                    kind = "PrometheusRule",
                    namespace = %ns,
                    name = %name,
                    error = %err,
                    "invalid PrometheusRule skipped"
                );
                out.rejected.push((format!("{ns}/{name}"), err.to_string()));
            }
        }
    }
    out
}
