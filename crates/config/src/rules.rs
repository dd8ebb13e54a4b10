//! Rule files: groups of recording and alerting rules, with Prometheus's (`rulefmt`) checks,
//! error texts and `line:column` positions.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::error::{ConfigError, RuleError, RuleFileError};
use crate::global::ValidationScheme;
use crate::yaml::{Seg, decode, nullable, value_position};

/// A parsed, validated rule file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    /// The groups, in file order.
    #[serde(default, deserialize_with = "nullable")]
    pub groups: Vec<RuleGroup>,
}

/// A group of rules evaluated together, in order, at one interval.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleGroup {
    /// Unique within the file.
    #[serde(default)]
    pub name: String,
    /// Evaluation interval (the global `evaluation_interval` when zero).
    #[serde(default, skip_serializing_if = "Duration::is_zero")]
    pub interval: Duration,
    /// Evaluation offset into the past (the global `rule_query_offset` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query_offset: Option<Duration>,
    /// Most series an alerting rule may produce / a recording rule may write (0: none).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub limit: i64,
    /// The rules.
    #[serde(default, deserialize_with = "nullable")]
    pub rules: Vec<Rule>,
    /// Labels added to every rule's output.
    #[serde(
        default,
        deserialize_with = "crate::yaml::unique_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
}

impl RuleGroup {
    /// The evaluation interval: the group's, else the global `evaluation_interval`.
    #[must_use]
    pub fn interval_or(&self, global: &crate::GlobalConfig) -> Duration {
        if self.interval.is_zero() {
            global.evaluation_interval
        } else {
            self.interval
        }
    }

    /// The evaluation offset: the group's, else the global `rule_query_offset`.
    #[must_use]
    pub fn query_offset_or(&self, global: &crate::GlobalConfig) -> Duration {
        self.query_offset.unwrap_or(global.rule_query_offset)
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(v: &i64) -> bool {
    *v == 0
}

/// A recording rule (`record`) or an alerting rule (`alert`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// The metric name a recording rule writes.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub record: String,
    /// The alert name of an alerting rule.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alert: String,
    /// The PromQL expression.
    #[serde(default)]
    pub expr: String,
    /// How long the condition must hold before the alert fires.
    #[serde(default, rename = "for", skip_serializing_if = "Duration::is_zero")]
    pub for_: Duration,
    /// How long the alert keeps firing after the condition stops.
    #[serde(default, skip_serializing_if = "Duration::is_zero")]
    pub keep_firing_for: Duration,
    /// Labels added (templated for alerts).
    #[serde(
        default,
        deserialize_with = "crate::yaml::unique_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    /// Alert annotations (templated).
    #[serde(
        default,
        deserialize_with = "crate::yaml::unique_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
}

impl Rule {
    /// Whether this is an alerting rule.
    #[must_use]
    pub fn is_alert(&self) -> bool {
        !self.alert.is_empty()
    }

    /// The rule's name: its alert or its recorded metric.
    #[must_use]
    pub fn name(&self) -> &str {
        if self.alert.is_empty() {
            &self.record
        } else {
            &self.alert
        }
    }
}

/// Checks a PromQL expression; `Err` carries the parser's message.
pub type ExprCheck<'a> = &'a dyn Fn(&str) -> Result<(), String>;

/// Checks an expression with Firewatch's PromQL parser (Prometheus's message on error,
/// e.g. `1:5: parse error: unclosed left parenthesis`).
pub fn promql_check(expr: &str) -> Result<(), String> {
    promql::parser::parse(expr)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

impl RuleFile {
    /// Reads and validates a rule file; expressions are checked with the PromQL parser.
    pub fn load(path: impl AsRef<Path>) -> Result<RuleFile, RuleFileError> {
        Self::load_with(path, &promql_check, ValidationScheme::Utf8)
    }

    /// Reads and validates a rule file, checking each `expr` with `check_expr` and names
    /// under `scheme`.
    pub fn load_with(
        path: impl AsRef<Path>,
        check_expr: ExprCheck<'_>,
        scheme: ValidationScheme,
    ) -> Result<RuleFile, RuleFileError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| RuleFileError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path, check_expr, scheme)
    }

    /// Parses and validates rule-file text; errors name `file`.
    pub fn parse(
        text: &str,
        file: &Path,
        check_expr: ExprCheck<'_>,
        scheme: ValidationScheme,
    ) -> Result<RuleFile, RuleFileError> {
        // Like Prometheus, only the first YAML document is read.
        let text = first_document(text);
        let invalid = |errors| RuleFileError::Invalid {
            file: file.to_path_buf(),
            errors,
        };
        let rf: RuleFile = decode(text, file).map_err(|e| {
            let (line, _) = e.position().unwrap_or((0, 0));
            let message = match &e {
                ConfigError::Unmarshal { message, .. } => {
                    format!("yaml: unmarshal errors:\n  line {line}: {message}")
                }
                other => other.message(),
            };
            invalid(vec![RuleError {
                line: 0,
                column: 0,
                group: None,
                rule: None,
                message,
            }])
        })?;
        let errors = rf.validate(text, check_expr, scheme);
        if errors.is_empty() {
            Ok(rf)
        } else {
            Err(invalid(errors))
        }
    }

    /// Every problem Prometheus's `rulefmt` would report, in file order.
    fn validate(
        &self,
        text: &str,
        check_expr: ExprCheck<'_>,
        scheme: ValidationScheme,
    ) -> Vec<RuleError> {
        let mut errs = Vec::new();
        let mut seen = HashSet::new();
        for (j, g) in self.groups.iter().enumerate() {
            let gpath = vec![Seg::Key("groups".into()), Seg::Index(j)];
            let (gl, gc) = value_position(text, &gpath).unwrap_or((0, 0));
            let plain = |message: String| RuleError {
                line: gl,
                column: gc,
                group: None,
                rule: None,
                message,
            };
            if g.name.is_empty() {
                errs.push(plain("Groupname must not be empty".into()));
            }
            if !seen.insert(g.name.clone()) {
                errs.push(plain(format!(
                    "groupname: \"{}\" is repeated in the same file",
                    g.name
                )));
            }
            for k in g.labels.keys() {
                if !scheme.is_valid_label_name(k) || k == model::METRIC_NAME {
                    errs.push(RuleError {
                        line: 0,
                        column: 0,
                        group: None,
                        rule: None,
                        message: format!("invalid label name: {k}"),
                    });
                }
            }
            for (i, r) in g.rules.iter().enumerate() {
                let rpath = |field: &str| {
                    let mut p = gpath.clone();
                    p.extend([
                        Seg::Key("rules".into()),
                        Seg::Index(i),
                        Seg::Key(field.into()),
                    ]);
                    value_position(text, &p).unwrap_or((0, 0))
                };
                for (pos, message) in r.problems(check_expr, scheme) {
                    let (line, column) = match pos {
                        Some(field) => rpath(field),
                        None => (0, 0),
                    };
                    errs.push(RuleError {
                        line,
                        column,
                        group: Some(g.name.clone()),
                        rule: Some((i + 1, r.name().to_string())),
                        message,
                    });
                }
            }
        }
        errs
    }

    /// The number of rules in all groups.
    #[must_use]
    pub fn rule_count(&self) -> usize {
        self.groups.iter().map(|g| g.rules.len()).sum()
    }
}

impl Rule {
    /// Prometheus's checks of one rule: each problem with the field it is located at.
    fn problems(
        &self,
        check_expr: ExprCheck<'_>,
        scheme: ValidationScheme,
    ) -> Vec<(Option<&'static str>, String)> {
        let mut out: Vec<(Option<&'static str>, String)> = Vec::new();
        let name_field = if self.record.is_empty() {
            "alert"
        } else {
            "record"
        };
        if !self.record.is_empty() && !self.alert.is_empty() {
            out.push((
                Some("record"),
                "only one of 'record' and 'alert' must be set".into(),
            ));
        }
        if self.record.is_empty() && self.alert.is_empty() {
            out.push((
                Some(name_field),
                "one of 'record' or 'alert' must be set".into(),
            ));
        }
        if self.expr.is_empty() {
            out.push((Some("expr"), "field 'expr' must be set in rule".into()));
        } else if let Err(e) = check_expr(&self.expr) {
            out.push((Some("expr"), format!("could not parse expression: {e}")));
        }
        if !self.record.is_empty() {
            if !self.annotations.is_empty() {
                out.push((
                    Some("record"),
                    "invalid field 'annotations' in recording rule".into(),
                ));
            }
            if !self.for_.is_zero() {
                out.push((
                    Some("record"),
                    "invalid field 'for' in recording rule".into(),
                ));
            }
            if !self.keep_firing_for.is_zero() {
                out.push((
                    Some("record"),
                    "invalid field 'keep_firing_for' in recording rule".into(),
                ));
            }
            if !scheme.is_valid_metric_name(&self.record)
                || legacy_fallback_invalid(scheme, &self.record)
            {
                out.push((
                    Some("record"),
                    format!("invalid recording rule name: {}", self.record),
                ));
            }
            if self.record.contains(['{', '}']) {
                out.push((
                    Some("record"),
                    format!(
                        "braces present in the recording rule name; should it be in expr?: {}",
                        self.record
                    ),
                ));
            }
        }
        for k in self.labels.keys() {
            if !scheme.is_valid_label_name(k) || k == model::METRIC_NAME {
                out.push((None, format!("invalid label name: {k}")));
            }
        }
        for k in self.annotations.keys() {
            if !scheme.is_valid_label_name(k) {
                out.push((None, format!("invalid annotation name: {k}")));
            }
        }
        if self.is_alert() {
            let name = format!("__alert_{}", self.alert);
            for (what, map) in [("label", &self.labels), ("annotation", &self.annotations)] {
                for (k, v) in map {
                    if let Err(e) = check_template(v) {
                        out.push((
                            None,
                            format!("{what} {}: template: {name}:{e}", crate::yaml::go_quote(k)),
                        ));
                    }
                }
            }
        }
        out
    }
}

/// The text up to a second document's `---` marker (all of it when there is one document).
fn first_document(text: &str) -> &str {
    let mut seen_content = false;
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim_end();
        if t == "---" || t.starts_with("--- ") {
            if seen_content {
                return &text[..offset];
            }
        } else if !t.trim().is_empty() && !t.trim_start().starts_with('#') {
            seen_content = true;
        }
        offset += line.len();
    }
    text
}

/// A light syntax check of a Go template: every action `{{ ... }}` is closed and not empty.
/// `Err` is `LINE: message` as Go's template parser words it.
pub fn check_template(text: &str) -> Result<(), String> {
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(open) = text[i..].find("{{").map(|o| o + i) {
        let line = 1 + text[..open].matches('\n').count();
        let mut j = open + 2;
        let mut closed = None;
        while j < b.len() {
            match b[j] {
                q @ (b'"' | b'`' | b'\'') => {
                    j += 1;
                    while j < b.len() && b[j] != q {
                        if b[j] == b'\\' && q != b'`' {
                            j += 1;
                        }
                        j += 1;
                    }
                    j += 1;
                }
                b'}' if b.get(j + 1) == Some(&b'}') => {
                    closed = Some(j);
                    break;
                }
                _ => j += 1,
            }
        }
        let Some(close) = closed else {
            return Err(format!("{line}: unclosed action"));
        };
        let inner = text[open + 2..close].trim_matches(|c: char| c == '-' || c.is_whitespace());
        if inner.is_empty() {
            return Err(format!("{line}: missing value for command"));
        }
        i = close + 2;
    }
    Ok(())
}

/// Prometheus 2.x, still common in rule files, only accepted legacy recording-rule names;
/// Prometheus 3 accepts any UTF-8 name, which this follows. Kept as a hook for the scheme.
fn legacy_fallback_invalid(_scheme: ValidationScheme, _name: &str) -> bool {
    false
}

/// The rule files a configuration names, loaded in order.
pub fn load_all(
    paths: &[PathBuf],
    check_expr: ExprCheck<'_>,
) -> Result<Vec<RuleFile>, RuleFileError> {
    paths
        .iter()
        .map(|p| RuleFile::load_with(p, check_expr, ValidationScheme::Utf8))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RuleFile, Vec<String>> {
        RuleFile::parse(
            text,
            Path::new("t.rules"),
            &|_| Ok(()),
            ValidationScheme::Utf8,
        )
        .map_err(|e| match e {
            RuleFileError::Invalid { errors, .. } => {
                errors.iter().map(ToString::to_string).collect()
            }
            RuleFileError::Io { .. } => unreachable!(),
        })
    }

    #[test]
    fn good_file() {
        let f = parse(
            "groups:\n- name: g\n  interval: 30s\n  rules:\n  - record: job:up:sum\n    expr: sum by (job) (up)\n  - alert: Down\n    expr: up == 0\n    for: 5m\n    labels: {severity: page}\n    annotations: {summary: down}\n",
        )
        .unwrap();
        assert_eq!(f.rule_count(), 2);
        assert_eq!(f.groups[0].interval, Duration::from_secs(30));
        assert!(f.groups[0].rules[1].is_alert());
        assert_eq!(f.groups[0].rules[1].for_, Duration::from_secs(300));
        let global = crate::GlobalConfig::default();
        assert_eq!(f.groups[0].interval_or(&global), Duration::from_secs(30));
        assert_eq!(f.groups[0].query_offset_or(&global), Duration::ZERO);
        let g = RuleGroup {
            interval: Duration::ZERO,
            query_offset: Some(Duration::from_secs(5)),
            ..f.groups[0].clone()
        };
        assert_eq!(g.interval_or(&global), Duration::from_secs(60));
        assert_eq!(g.query_offset_or(&global), Duration::from_secs(5));
    }

    #[test]
    fn errors_have_prometheus_texts_and_positions() {
        let errs = parse(
            "groups:\n- name: a\n  rules:\n  - record: x\n    expr: up\n    for: 1m\n  - expr: up\n- name: a\n  rules: []\n",
        )
        .unwrap_err();
        assert_eq!(
            errs,
            vec![
                "4:13: group \"a\", rule 1, \"x\": invalid field 'for' in recording rule",
                "7:5: group \"a\", rule 2, \"\": one of 'record' or 'alert' must be set",
                "8:3: groupname: \"a\" is repeated in the same file",
            ]
        );
    }

    #[test]
    fn expressions_are_parsed_by_default() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.rules");
        std::fs::write(
            &p,
            "groups:\n- name: a\n  rules:\n  - alert: X\n    expr: sum(\n",
        )
        .unwrap();
        let e = RuleFile::load(&p).unwrap_err().to_string();
        assert!(
            e.contains(
                "5:11: group \"a\", rule 1, \"X\": could not parse expression: 1:5: parse error:"
            ),
            "{e}"
        );
        std::fs::write(
            &p,
            "groups:\n- name: a\n  rules:\n  - alert: X\n    expr: up == 0\n",
        )
        .unwrap();
        assert_eq!(RuleFile::load(&p).unwrap().rule_count(), 1);
    }

    #[test]
    fn templates_are_checked() {
        assert!(check_template("{{ $labels.instance }} is down").is_ok());
        assert!(check_template("{{ printf \"%.2f}}\" $value }}").is_ok());
        assert_eq!(
            check_template("a\n{{ $value").unwrap_err(),
            "2: unclosed action"
        );
        assert_eq!(
            check_template("{{ }}").unwrap_err(),
            "1: missing value for command"
        );
        let errs = parse("groups:\n- name: a\n  rules:\n  - alert: X\n    expr: up\n    annotations:\n      d: '{{ $value'\n")
            .unwrap_err();
        assert_eq!(
            errs,
            vec![
                "group \"a\", rule 1, \"X\": annotation \"d\": template: __alert_X:1: unclosed action"
            ]
        );
    }

    #[test]
    fn unknown_fields_refused() {
        let errs = parse("groups:\n- name: a\n  foo: 1\n").unwrap_err();
        assert!(
            errs[0].contains("line 3: field foo not found in type rulefmt.RuleGroup"),
            "{errs:?}"
        );
        let errs = parse("groups:\n- name: a\n  rules:\n  - record: x\n    expr: up\n    bar: 1\n")
            .unwrap_err();
        assert!(
            errs[0].contains("line 6: field bar not found in type rulefmt.Rule"),
            "{errs:?}"
        );
    }

    #[test]
    fn only_the_first_document_is_read() {
        let f = parse("---\ngroups:\n- name: a\n  rules: []\n---\nnot: [valid\n").unwrap();
        assert_eq!(f.groups.len(), 1);
    }

    #[test]
    fn expression_checker_is_used() {
        let err = RuleFile::parse(
            "groups:\n- name: a\n  rules:\n  - alert: X\n    expr: sum(\n",
            Path::new("t.rules"),
            &|e| {
                if e.ends_with('(') {
                    Err("unclosed left parenthesis".into())
                } else {
                    Ok(())
                }
            },
            ValidationScheme::Utf8,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "t.rules: 5:11: group \"a\", rule 1, \"X\": could not parse expression: unclosed left parenthesis"
        );
    }
}
