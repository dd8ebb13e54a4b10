//! The boundary between the web layer and the rules engine and notifier: the traits they
//! implement ([`RulesRetriever`], [`AlertmanagerRetriever`]) and the web-owned views of rule
//! groups, rules and alerts they return.

use std::sync::Arc;
use std::time::SystemTime;

use model::Labels;

/// The rule groups as the rules manager has them now.
pub trait RulesRetriever: Send + Sync {
    /// Every group, in the order of the rule files and of the groups in them.
    fn rule_groups(&self) -> Vec<RuleGroupView>;
}

/// The Alertmanagers the notifier sends to.
pub trait AlertmanagerRetriever: Send + Sync {
    /// URLs of the Alertmanagers alerts go to (`http://host:9093/api/v2/alerts`).
    fn active_alertmanagers(&self) -> Vec<String>;
    /// URLs of discovered Alertmanagers dropped by relabeling.
    fn dropped_alertmanagers(&self) -> Vec<String>;
}

/// A shared [`RulesRetriever`].
pub type RulesRetrieverRef = Arc<dyn RulesRetriever>;
/// A shared [`AlertmanagerRetriever`].
pub type AlertmanagerRetrieverRef = Arc<dyn AlertmanagerRetriever>;

/// One rule group.
#[derive(Debug, Clone, Default)]
pub struct RuleGroupView {
    /// The group's name.
    pub name: String,
    /// The file it was loaded from.
    pub file: String,
    /// Evaluation interval in seconds.
    pub interval_seconds: f64,
    /// `limit` of the group (0: none).
    pub limit: u64,
    /// How long the last evaluation of the whole group took, in seconds.
    pub evaluation_seconds: f64,
    /// When the group was last evaluated (`None`: never).
    pub last_evaluation: Option<SystemTime>,
    /// The rules, in file order.
    pub rules: Vec<RuleView>,
}

/// A rule's health after its last evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleHealth {
    /// Not evaluated yet.
    #[default]
    Unknown,
    /// The last evaluation succeeded.
    Ok,
    /// The last evaluation failed.
    Err,
}

impl RuleHealth {
    /// The name Prometheus's JSON uses.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            RuleHealth::Unknown => "unknown",
            RuleHealth::Ok => "ok",
            RuleHealth::Err => "err",
        }
    }
}

/// The state of an alerting rule or of one of its alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AlertState {
    /// Nothing matches.
    #[default]
    Inactive,
    /// Active for less than `for`.
    Pending,
    /// Firing.
    Firing,
}

impl AlertState {
    /// The name Prometheus's JSON uses.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// What alerting and recording rules both have.
#[derive(Debug, Clone, Default)]
pub struct RuleCommon {
    /// The alert name or the recorded metric name.
    pub name: String,
    /// The expression, as Prometheus prints it.
    pub query: String,
    /// The rule's `labels`.
    pub labels: Labels,
    /// Health after the last evaluation.
    pub health: RuleHealth,
    /// Error of the last evaluation, empty when it succeeded.
    pub last_error: String,
    /// How long the last evaluation took, in seconds.
    pub evaluation_seconds: f64,
    /// When it was last evaluated (`None`: never).
    pub last_evaluation: Option<SystemTime>,
}

/// A rule of a group.
#[derive(Debug, Clone)]
pub enum RuleView {
    /// An alerting rule.
    Alerting {
        /// Name, query, labels, health.
        common: RuleCommon,
        /// The rule's state: the highest of its alerts'.
        state: AlertState,
        /// `for`, in seconds.
        duration_seconds: f64,
        /// `keep_firing_for`, in seconds.
        keep_firing_for_seconds: f64,
        /// The rule's `annotations` (templates unexpanded).
        annotations: Labels,
        /// Its active (pending or firing) alerts.
        alerts: Vec<AlertView>,
    },
    /// A recording rule.
    Recording(RuleCommon),
}

impl RuleView {
    /// What both kinds of rule have.
    #[must_use]
    pub fn common(&self) -> &RuleCommon {
        match self {
            RuleView::Alerting { common, .. } | RuleView::Recording(common) => common,
        }
    }
}

/// An active alert.
#[derive(Debug, Clone, Default)]
pub struct AlertView {
    /// Its labels (with `alertname`).
    pub labels: Labels,
    /// Its expanded annotations.
    pub annotations: Labels,
    /// Pending or firing.
    pub state: AlertState,
    /// Since when it is active.
    pub active_at: Option<SystemTime>,
    /// Since when it keeps firing although the expression no longer matches.
    pub keep_firing_since: Option<SystemTime>,
    /// The value of the expression that made it active.
    pub value: f64,
}
