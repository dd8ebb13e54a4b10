//! Errors of the rules crate: loading rule files, evaluating rules and expanding templates.

use std::path::PathBuf;

/// Why rule files could not be loaded into the manager.
#[derive(Debug, thiserror::Error)]
pub enum RulesError {
    /// A rule file is unreadable or invalid (Prometheus's `rulefmt` texts, with positions).
    #[error("{0}")]
    File(#[from] config::RuleFileError),
    /// A glob pattern for rule files is invalid.
    #[error("{}: {message}", pattern.display())]
    Pattern {
        /// The pattern.
        pattern: PathBuf,
        /// Why it is invalid.
        message: String,
    },
    /// An expression passed validation but could not be parsed for evaluation.
    #[error("{}: group {group:?}, rule {rule:?}: {message}", file.display())]
    Expr {
        /// The rule file.
        file: PathBuf,
        /// The group.
        group: String,
        /// The rule's name.
        rule: String,
        /// The parser's message.
        message: String,
    },
}

/// Why a rule's evaluation failed; shown as the rule's last error.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// The query failed (execution error, timeout, sample limit...).
    #[error("{0}")]
    Query(String),
    /// The expression returned something other than a vector or a scalar.
    #[error("rule result is not a vector or scalar")]
    NotVector,
    /// Applying the rule's labels made two series identical.
    #[error("vector contains metrics with the same labelset after applying rule labels")]
    DuplicateRecording,
    /// Applying the alert's labels made two alerts identical.
    #[error("vector contains metrics with the same labelset after applying alert labels")]
    DuplicateAlert,
    /// A recording rule produced more series than the group's limit.
    #[error("exceeded limit of {limit} with {count} series")]
    SeriesLimit {
        /// The group's limit.
        limit: usize,
        /// Series produced.
        count: usize,
    },
    /// An alerting rule produced more alerts than the group's limit.
    #[error("exceeded limit of {limit} with {count} alerts")]
    AlertLimit {
        /// The group's limit.
        limit: usize,
        /// Active alerts.
        count: usize,
    },
    /// Writing the rule's output failed.
    #[error("{0}")]
    Storage(String),
    /// A label or annotation template failed to expand (the alert still carries the text
    /// `<error expanding template: ...>`, as Prometheus does).
    #[error("{0}")]
    Template(String),
}

/// Why a template could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template text is not a valid Go template.
    #[error("error parsing template {name}: {message}")]
    Parse {
        /// The template's name (`__alert_<name>` for alert templates).
        name: String,
        /// The parser's message.
        message: String,
    },
    /// Executing the template failed (a function's error, a bad field access...).
    #[error("error executing template {name}: {message}")]
    Exec {
        /// The template's name.
        name: String,
        /// What went wrong.
        message: String,
    },
}
