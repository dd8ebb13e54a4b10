//! Relabeling: Prometheus's `relabel_configs` rules (types, defaults, validation with
//! Prometheus's error texts) and [`process`], which applies a list of rules to a label set.

use std::fmt;

use md5::{Digest, Md5};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use thiserror::Error;

use crate::error::ModelError;
use crate::labels::{Labels, LabelsBuilder, is_valid_legacy_label_name};
use crate::matcher::FastRegex;
use crate::regex::{expand, is_valid_legacy_label_name_template};

/// The default regular expression of a rule: captures the whole input.
pub const DEFAULT_REGEX: &str = "(.*)";
/// The default separator between source label values.
pub const DEFAULT_SEPARATOR: &str = ";";
/// The default replacement: the first capture group.
pub const DEFAULT_REPLACEMENT: &str = "$1";

/// What a relabel rule does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Action {
    /// Write the expanded replacement to the (expanded) target label when the regex matches.
    #[default]
    Replace,
    /// Drop the label set unless the regex matches the joined source values.
    Keep,
    /// Drop the label set when the regex matches the joined source values.
    Drop,
    /// Drop the label set unless the joined source values equal the target label's value.
    KeepEqual,
    /// Drop the label set when the joined source values equal the target label's value.
    DropEqual,
    /// Set the target label to the md5 hash of the joined source values modulo `modulus`.
    HashMod,
    /// Copy every label whose name matches the regex to the name given by the replacement.
    LabelMap,
    /// Remove every label whose name matches the regex.
    LabelDrop,
    /// Remove every label whose name does not match the regex.
    LabelKeep,
    /// Set the target label to the joined source values in lower case.
    Lowercase,
    /// Set the target label to the joined source values in upper case.
    Uppercase,
}

impl Action {
    /// Every action, in the order Prometheus documents them.
    pub const ALL: [Action; 11] = [
        Action::Replace,
        Action::Keep,
        Action::Drop,
        Action::KeepEqual,
        Action::DropEqual,
        Action::HashMod,
        Action::LabelMap,
        Action::LabelDrop,
        Action::LabelKeep,
        Action::Lowercase,
        Action::Uppercase,
    ];

    /// The action as written in `prometheus.yml`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }

    /// Parses an action name, case-insensitively as Prometheus does.
    ///
    /// # Errors
    /// [`RelabelError::UnknownAction`] for any other name.
    pub fn parse(s: &str) -> Result<Self, RelabelError> {
        let lower = s.to_lowercase();
        Action::ALL
            .into_iter()
            .find(|a| a.as_str() == lower)
            .ok_or_else(|| RelabelError::UnknownAction(s.to_owned()))
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Action::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A rule's regular expression: Go RE2 syntax, anchored at both ends, `.` matching newlines.
/// Keeps the expression as written, which is what it serializes to.
#[derive(Clone, Debug)]
pub struct RelabelRegex {
    source: String,
    re: FastRegex,
}

impl RelabelRegex {
    /// Compiles `source` (as written in the configuration, without anchors).
    ///
    /// # Errors
    /// [`ModelError::InvalidRegex`] when Go would refuse the expression.
    pub fn new(source: &str) -> Result<Self, ModelError> {
        Ok(Self {
            source: source.to_owned(),
            re: FastRegex::new(source)?,
        })
    }

    /// The expression as written.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The compiled matcher.
    #[must_use]
    pub fn fast(&self) -> &FastRegex {
        &self.re
    }

    /// Whether `s` matches the whole expression.
    #[must_use]
    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }

    fn is_default(&self) -> bool {
        self.source == DEFAULT_REGEX
    }
}

impl Default for RelabelRegex {
    /// `(.*)`, compiled once and shared.
    fn default() -> Self {
        static DEFAULT: std::sync::OnceLock<RelabelRegex> = std::sync::OnceLock::new();
        DEFAULT
            .get_or_init(|| Self::new(DEFAULT_REGEX).expect("the default relabel regex compiles"))
            .clone()
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Eq for RelabelRegex {}

impl fmt::Display for RelabelRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl Serialize for RelabelRegex {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for RelabelRegex {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // An explicit null means the empty expression, as in Prometheus.
        let s = Option::<String>::deserialize(d)?.unwrap_or_default();
        RelabelRegex::new(&s).map_err(serde::de::Error::custom)
    }
}

/// Which label names are valid: Prometheus 3's UTF-8 rule (the default) or the legacy
/// `[a-zA-Z_][a-zA-Z0-9_]*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NameValidation {
    /// Any non-empty string.
    #[default]
    Utf8,
    /// `[a-zA-Z_][a-zA-Z0-9_]*`.
    Legacy,
}

impl NameValidation {
    fn is_valid(self, name: &str) -> bool {
        match self {
            NameValidation::Utf8 => !name.is_empty(),
            NameValidation::Legacy => is_valid_legacy_label_name(name),
        }
    }

    /// Whether a target label or labelmap replacement with `$` references is acceptable.
    fn is_valid_template(self, name: &str) -> bool {
        match self {
            NameValidation::Utf8 => !name.is_empty(),
            NameValidation::Legacy => is_valid_legacy_label_name_template(name),
        }
    }
}

/// A relabel configuration is invalid. The texts are Prometheus's.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RelabelError {
    /// The action name is not one of Prometheus's.
    #[error("unknown relabel action {0:?}")]
    UnknownAction(String),
    /// `hashmod` with `modulus: 0`.
    #[error("relabel configuration for hashmod requires non-zero modulus")]
    ZeroModulus,
    /// An action that writes a label has no `target_label`.
    #[error("relabel configuration for {action} action requires 'target_label' value")]
    MissingTargetLabel {
        /// The rule's action.
        action: Action,
    },
    /// The target label is not a valid label name (or template).
    #[error("{target:?} is invalid 'target_label' for {action} action")]
    InvalidTargetLabel {
        /// The target label as written.
        target: String,
        /// The rule's action.
        action: Action,
    },
    /// `replacement` set for an action that does not use it.
    #[error("'replacement' can not be set for {action} action")]
    ReplacementNotAllowed {
        /// The rule's action.
        action: Action,
    },
    /// A `labelmap` replacement that cannot be a label name.
    #[error("{replacement:?} is invalid 'replacement' for {action} action")]
    InvalidReplacement {
        /// The replacement as written.
        replacement: String,
        /// The rule's action.
        action: Action,
    },
    /// `keepequal`/`dropequal` with fields other than `source_labels` and `target_label`.
    #[error(
        "{action} action requires only 'source_labels' and `target_label`, and no other fields"
    )]
    OnlySourceAndTarget {
        /// The rule's action.
        action: Action,
    },
    /// `labeldrop`/`labelkeep` with fields other than `regex`.
    #[error("{action} action requires only 'regex', and no other fields")]
    OnlyRegex {
        /// The rule's action.
        action: Action,
    },
    /// The regular expression does not compile.
    #[error(transparent)]
    Regex(#[from] ModelError),
}

/// One relabel rule, as in `relabel_configs` of `prometheus.yml`. Deserializing fills in
/// Prometheus's defaults and validates, so a deserialized value is always usable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawConfig", into = "RawConfig")]
pub struct RelabelConfig {
    /// Labels whose values are joined with `separator` to form the input.
    pub source_labels: Vec<String>,
    /// Placed between the source values (default `;`).
    pub separator: String,
    /// Matched against the input, anchored (default `(.*)`).
    pub regex: RelabelRegex,
    /// For `hashmod`: the modulus.
    pub modulus: u64,
    /// The label written by `replace`, `hashmod`, `lowercase`, `uppercase`, or compared by
    /// `keepequal`/`dropequal`. May reference capture groups for `replace`.
    pub target_label: String,
    /// The value written by `replace` (default `$1`), or the new name for `labelmap`.
    pub replacement: String,
    /// What the rule does (default `replace`).
    pub action: Action,
}

impl Default for RelabelConfig {
    fn default() -> Self {
        Self {
            source_labels: Vec::new(),
            separator: DEFAULT_SEPARATOR.to_owned(),
            regex: RelabelRegex::default(),
            modulus: 0,
            target_label: String::new(),
            replacement: DEFAULT_REPLACEMENT.to_owned(),
            action: Action::Replace,
        }
    }
}

impl RelabelConfig {
    /// Checks the rule as Prometheus 3 does, with UTF-8 label names.
    ///
    /// # Errors
    /// The first problem found, with Prometheus's text.
    pub fn validate(&self) -> Result<(), RelabelError> {
        self.validate_with(NameValidation::Utf8)
    }

    /// Checks the rule under the given label-name rule.
    ///
    /// # Errors
    /// The first problem found, with Prometheus's text.
    pub fn validate_with(&self, names: NameValidation) -> Result<(), RelabelError> {
        use Action::{
            DropEqual, HashMod, KeepEqual, LabelDrop, LabelKeep, LabelMap, Lowercase, Replace,
            Uppercase,
        };
        let action = self.action;
        let target = &self.target_label;
        let bad_target = || RelabelError::InvalidTargetLabel {
            target: target.clone(),
            action,
        };
        if action == HashMod && self.modulus == 0 {
            return Err(RelabelError::ZeroModulus);
        }
        let writes = matches!(
            action,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        );
        if writes && target.is_empty() {
            return Err(RelabelError::MissingTargetLabel { action });
        }
        if action == Replace {
            let ok = if target.contains('$') {
                names.is_valid_template(target)
            } else {
                names.is_valid(target)
            };
            if !ok {
                return Err(bad_target());
            }
        }
        let case_or_equal = matches!(action, Lowercase | Uppercase | KeepEqual | DropEqual);
        if case_or_equal && !names.is_valid(target) {
            return Err(bad_target());
        }
        if case_or_equal && self.replacement != DEFAULT_REPLACEMENT {
            return Err(RelabelError::ReplacementNotAllowed { action });
        }
        if action == LabelMap && !names.is_valid_template(&self.replacement) {
            return Err(RelabelError::InvalidReplacement {
                replacement: self.replacement.clone(),
                action,
            });
        }
        if action == HashMod && !names.is_valid(target) {
            return Err(bad_target());
        }
        if matches!(action, KeepEqual | DropEqual)
            && (!self.regex.is_default()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(RelabelError::OnlySourceAndTarget { action });
        }
        if matches!(action, LabelDrop | LabelKeep)
            && (!self.source_labels.is_empty()
                || !target.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(RelabelError::OnlyRegex { action });
        }
        Ok(())
    }
}

/// The serialized shape: every field optional, defaults applied on the way in.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    source_labels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    separator: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "explicit"
    )]
    regex: Option<RelabelRegex>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    modulus: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    target_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    replacement: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    action: Option<Action>,
}

/// Deserializes a present field (even `null`) as `Some`, so `regex: null` is the empty
/// expression while an absent `regex` is the default.
fn explicit<'de, D: Deserializer<'de>>(d: D) -> Result<Option<RelabelRegex>, D::Error> {
    RelabelRegex::deserialize(d).map(Some)
}

impl TryFrom<RawConfig> for RelabelConfig {
    type Error = RelabelError;

    fn try_from(raw: RawConfig) -> Result<Self, RelabelError> {
        let d = RelabelConfig::default();
        let c = RelabelConfig {
            source_labels: raw.source_labels.unwrap_or_default(),
            separator: raw.separator.unwrap_or(d.separator),
            regex: raw.regex.unwrap_or(d.regex),
            modulus: raw.modulus.unwrap_or(0),
            target_label: raw.target_label.unwrap_or_default(),
            replacement: raw.replacement.unwrap_or(d.replacement),
            action: raw.action.unwrap_or_default(),
        };
        c.validate()?;
        Ok(c)
    }
}

impl From<RelabelConfig> for RawConfig {
    fn from(c: RelabelConfig) -> Self {
        let non_empty = |s: String| (!s.is_empty()).then_some(s);
        RawConfig {
            source_labels: (!c.source_labels.is_empty()).then_some(c.source_labels),
            separator: non_empty(c.separator),
            regex: (!c.regex.as_str().is_empty()).then_some(c.regex),
            modulus: (c.modulus != 0).then_some(c.modulus),
            target_label: non_empty(c.target_label),
            replacement: non_empty(c.replacement),
            action: Some(c.action),
        }
    }
}

/// Applies `configs` in order to `labels`. `None` means a rule dropped the label set.
#[must_use]
pub fn process(labels: &Labels, configs: &[RelabelConfig]) -> Option<Labels> {
    let mut b = labels.builder();
    process_builder(&mut b, configs).then(|| b.labels())
}

/// Like [`process`], on a builder the caller owns (so target labels can be added around it).
/// Returns false when a rule dropped the label set.
pub fn process_builder(b: &mut LabelsBuilder, configs: &[RelabelConfig]) -> bool {
    configs.iter().all(|c| apply(c, b))
}

/// The hashmod shard of `value`: the last 8 bytes of its md5 digest as a big-endian integer,
/// modulo `modulus` (Prometheus's algorithm, so targets land on the same shard).
#[must_use]
pub fn hashmod(value: &str, modulus: u64) -> u64 {
    let digest = Md5::digest(value.as_bytes());
    let mut tail = [0u8; 8];
    tail.copy_from_slice(&digest[8..16]);
    u64::from_be_bytes(tail) % modulus
}

fn apply(c: &RelabelConfig, b: &mut LabelsBuilder) -> bool {
    let mut val = String::new();
    for (i, name) in c.source_labels.iter().enumerate() {
        if i > 0 {
            val.push_str(&c.separator);
        }
        val.push_str(b.get(name).unwrap_or(""));
    }
    match c.action {
        Action::Drop => return !c.regex.is_match(&val),
        Action::Keep => return c.regex.is_match(&val),
        Action::DropEqual => return b.get(&c.target_label).unwrap_or("") != val,
        Action::KeepEqual => return b.get(&c.target_label).unwrap_or("") == val,
        Action::Replace => replace(c, b, &val),
        Action::Lowercase => {
            b.set(&c.target_label, &go_to_lower(&val));
        }
        Action::Uppercase => {
            b.set(&c.target_label, &go_to_upper(&val));
        }
        Action::HashMod => {
            b.set(&c.target_label, &hashmod(&val, c.modulus).to_string());
        }
        Action::LabelMap => {
            let re = c.regex.fast().regex();
            for (name, value) in snapshot(b) {
                if let Some(caps) = re.captures(&name) {
                    let new_name = expand(&c.replacement, &caps);
                    if !new_name.is_empty() {
                        b.set(&new_name, &value);
                    }
                }
            }
        }
        Action::LabelDrop => {
            b.retain(|name| !c.regex.is_match(name));
        }
        Action::LabelKeep => {
            b.retain(|name| c.regex.is_match(name));
        }
    }
    true
}

fn snapshot(b: &LabelsBuilder) -> Vec<(String, String)> {
    b.labels()
        .iter()
        .map(|l| (l.name.to_owned(), l.value.to_owned()))
        .collect()
}

fn replace(c: &RelabelConfig, b: &mut LabelsBuilder, val: &str) {
    if val.is_empty()
        && c.regex.is_default()
        && !c.target_label.contains('$')
        && !c.replacement.contains('$')
    {
        b.set(&c.target_label, &c.replacement);
        return;
    }
    let re = c.regex.fast().regex();
    let Some(caps) = re.captures(val) else {
        return;
    };
    let target = expand(&c.target_label, &caps);
    if target.is_empty() {
        return;
    }
    let value = expand(&c.replacement, &caps);
    if value.is_empty() {
        b.del(&target);
    } else {
        b.set(&target, &value);
    }
}

/// Go's `strings.ToLower`: one-to-one simple case mapping per character.
fn go_to_lower(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut m = c.to_lowercase();
            match (m.next(), m.next()) {
                (Some(l), None) => l,
                // Only U+0130 lowercases to more than one character; its simple mapping is 'i'.
                _ if c == '\u{130}' => 'i',
                _ => c,
            }
        })
        .collect()
}

/// Go's `strings.ToUpper`: one-to-one simple case mapping per character; characters whose
/// upper case is several characters (ß, ligatures) have no simple mapping and stay.
fn go_to_upper(s: &str) -> String {
    s.chars()
        .map(|c| {
            let mut m = c.to_uppercase();
            match (m.next(), m.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}
