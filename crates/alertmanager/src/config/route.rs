//! The `route:` tree and `inhibit_rules:` as written in `alertmanager.yml` (mirrors
//! Alertmanager's `config/config.go` Route and InhibitRule), with its validations.

use std::collections::BTreeMap;

use config::Duration;
use config::yaml::{nullable, unique_map};
use serde::Deserialize;

use crate::labels::is_valid_label_name;
use crate::matcher::{Matcher, parse_matchers};

/// `matchers: ["a=b", "c=~d"]`: each entry a matcher list in Alertmanager's syntax.
#[derive(Debug, Clone, Default)]
pub struct MatcherList(pub Vec<Matcher>);

impl<'de> Deserialize<'de> for MatcherList {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let lines: Vec<String> = nullable(d)?;
        let mut out = Vec::new();
        for l in &lines {
            out.extend(parse_matchers(l).map_err(serde::de::Error::custom)?);
        }
        out.sort();
        Ok(Self(out))
    }
}

/// A `match_re` value: an expression compiled as `^(?:RE)$`.
#[derive(Debug, Clone)]
pub struct RegexValue(pub String);

impl<'de> Deserialize<'de> for RegexValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        crate::matcher::compile(&s).map_err(serde::de::Error::custom)?;
        Ok(Self(s))
    }
}

/// One node of the routing tree as written.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteConfig {
    /// The receiver's name (inherited when empty).
    #[serde(default)]
    pub receiver: String,
    /// Group-by label names, or `...` for all labels.
    #[serde(default, deserialize_with = "nullable")]
    pub group_by: Vec<String>,
    /// Deprecated equality matchers.
    #[serde(default, rename = "match", deserialize_with = "unique_map")]
    pub match_: BTreeMap<String, String>,
    /// Deprecated regular-expression matchers.
    #[serde(default, deserialize_with = "unique_map")]
    pub match_re: BTreeMap<String, Option<RegexValue>>,
    /// Matchers in Alertmanager's syntax.
    #[serde(default)]
    pub matchers: MatcherList,
    /// Whether matching continues with the next sibling.
    #[serde(default, rename = "continue")]
    pub continue_: bool,
    /// Child routes.
    #[serde(default, deserialize_with = "nullable")]
    pub routes: Vec<RouteConfig>,
    /// How long to wait before the first notification of a new group.
    #[serde(default)]
    pub group_wait: Option<Duration>,
    /// How long to wait before notifying about new alerts of a group already notified.
    #[serde(default)]
    pub group_interval: Option<Duration>,
    /// How long to wait before repeating a notification.
    #[serde(default)]
    pub repeat_interval: Option<Duration>,
    /// Time intervals during which notifications are muted.
    #[serde(default, deserialize_with = "nullable")]
    pub mute_time_intervals: Vec<String>,
    /// Time intervals outside which notifications are muted.
    #[serde(default, deserialize_with = "nullable")]
    pub active_time_intervals: Vec<String>,
}

impl RouteConfig {
    /// Alertmanager's checks of one node and its children (`Route.UnmarshalYAML`).
    ///
    /// # Errors
    /// Alertmanager's text for the first problem.
    pub fn validate(&self) -> Result<(), String> {
        for k in self.match_.keys() {
            if !is_valid_label_name(k) {
                return Err(format!("invalid label name {k:?}"));
            }
        }
        for (k, v) in &self.match_re {
            if !is_valid_label_name(k) {
                return Err(format!("invalid label name {k:?}"));
            }
            if v.is_none() {
                return Err(format!(
                    "invalid regular expression for label {k:?}: empty value"
                ));
            }
        }
        let mut all = false;
        let mut seen = Vec::new();
        for l in &self.group_by {
            if l == "..." {
                all = true;
            } else if !is_valid_label_name(l) {
                return Err(format!("invalid label name {l:?} in group_by list"));
            } else {
                seen.push(l.as_str());
            }
        }
        if all && !seen.is_empty() {
            return Err(
                "cannot have wildcard group_by (`...`) and other other labels at the same time"
                    .to_owned(),
            );
        }
        for (i, l) in seen.iter().enumerate() {
            if seen[..i].contains(l) {
                return Err(format!("duplicated label {l:?} in group_by"));
            }
        }
        if self.group_interval.is_some_and(|d| d.is_zero()) {
            return Err("group_interval cannot be zero".to_owned());
        }
        if self.repeat_interval.is_some_and(|d| d.is_zero()) {
            return Err("repeat_interval cannot be zero".to_owned());
        }
        self.routes.iter().try_for_each(Self::validate)
    }

    /// Whether this node has any matcher of any form.
    #[must_use]
    pub fn has_matchers(&self) -> bool {
        !self.match_.is_empty() || !self.match_re.is_empty() || !self.matchers.0.is_empty()
    }
}

/// An inhibition rule as written (new `*_matchers` and old `*_match`/`*_match_re` forms).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InhibitRuleConfig {
    /// Deprecated equality matchers for the source alerts.
    #[serde(default, deserialize_with = "unique_map")]
    pub source_match: BTreeMap<String, String>,
    /// Deprecated regular-expression matchers for the source alerts.
    #[serde(default, deserialize_with = "unique_map")]
    pub source_match_re: BTreeMap<String, Option<RegexValue>>,
    /// Source matchers.
    #[serde(default)]
    pub source_matchers: MatcherList,
    /// Deprecated equality matchers for the target alerts.
    #[serde(default, deserialize_with = "unique_map")]
    pub target_match: BTreeMap<String, String>,
    /// Deprecated regular-expression matchers for the target alerts.
    #[serde(default, deserialize_with = "unique_map")]
    pub target_match_re: BTreeMap<String, Option<RegexValue>>,
    /// Target matchers.
    #[serde(default)]
    pub target_matchers: MatcherList,
    /// Labels whose values must be equal in source and target.
    #[serde(default, deserialize_with = "nullable")]
    pub equal: Vec<String>,
}

impl InhibitRuleConfig {
    /// Alertmanager's checks (`InhibitRule.UnmarshalYAML`).
    ///
    /// # Errors
    /// Alertmanager's text for the first problem.
    pub fn validate(&self) -> Result<(), String> {
        let names = self
            .source_match
            .keys()
            .chain(self.target_match.keys())
            .map(|k| (k, None))
            .chain(self.source_match_re.iter().map(|(k, v)| (k, Some(v))))
            .chain(self.target_match_re.iter().map(|(k, v)| (k, Some(v))));
        for (k, v) in names {
            if !is_valid_label_name(k) {
                return Err(format!("invalid label name {k:?}"));
            }
            if matches!(v, Some(None)) {
                return Err(format!(
                    "invalid regular expression for label {k:?}: empty value"
                ));
            }
        }
        for l in &self.equal {
            if !is_valid_label_name(l) {
                return Err(format!("invalid label name {l:?}"));
            }
        }
        Ok(())
    }
}

/// Equality and regular-expression matchers from the old map forms, then the new list,
/// sorted as Alertmanager sorts them.
///
/// # Errors
/// A regular expression that does not compile (already checked while decoding).
pub fn combine(
    eq: &BTreeMap<String, String>,
    re: &BTreeMap<String, Option<RegexValue>>,
    list: &MatcherList,
) -> Result<crate::matcher::Matchers, String> {
    use model::matcher::MatchOp;
    let mut out = Vec::new();
    for (k, v) in eq {
        out.push(Matcher::new(MatchOp::Equal, k, v)?);
    }
    for (k, v) in re {
        if let Some(v) = v {
            out.push(Matcher::new(MatchOp::RegexMatch, k, &v.0)?);
        }
    }
    out.extend(list.0.iter().cloned());
    out.sort();
    Ok(crate::matcher::Matchers(out))
}
