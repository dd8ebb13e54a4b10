//! A read-only view of groups, rules and alerts for the HTTP API (`/api/v1/rules`,
//! `/api/v1/alerts`) and the UI. Times are milliseconds since the epoch.

use std::path::PathBuf;
use std::time::Duration;

use model::Labels;

use crate::alerting::AlertState;
use crate::group::{Group, Rule};
use crate::rule::Health;

/// One rule group.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupView {
    /// The group's name.
    pub name: String,
    /// The rule file it came from.
    pub file: PathBuf,
    /// Evaluation interval.
    pub interval: Duration,
    /// Query offset.
    pub query_offset: Duration,
    /// Series/alert limit (0: none).
    pub limit: usize,
    /// Timestamp of the last evaluation (ms), if any.
    pub last_evaluation: Option<i64>,
    /// How long the last evaluation took.
    pub evaluation_time: Duration,
    /// The rules, in file order.
    pub rules: Vec<RuleView>,
}

/// Whether a rule records or alerts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleKind {
    /// `record:` (`type: "recording"` in the API).
    Recording,
    /// `alert:` (`type: "alerting"` in the API).
    Alerting,
}

impl RuleKind {
    /// The API's `type`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            RuleKind::Recording => "recording",
            RuleKind::Alerting => "alerting",
        }
    }
}

/// One rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleView {
    /// Recording or alerting.
    pub kind: RuleKind,
    /// The recorded metric or the alert's name.
    pub name: String,
    /// The expression as Prometheus prints it.
    pub query: String,
    /// `for` (zero for recording rules).
    pub duration: Duration,
    /// `keep_firing_for`.
    pub keep_firing_for: Duration,
    /// The rule's labels (group labels included), unexpanded.
    pub labels: Labels,
    /// The rule's annotations, unexpanded (empty for recording rules).
    pub annotations: Labels,
    /// Health after the last evaluation.
    pub health: Health,
    /// The last evaluation's error.
    pub last_error: Option<String>,
    /// How long the last evaluation took.
    pub evaluation_time: Duration,
    /// Timestamp of the last evaluation (ms), if any.
    pub last_evaluation: Option<i64>,
    /// Alerting rules: firing if an alert fires, else pending if one is pending, else inactive.
    pub state: Option<AlertState>,
    /// Alerting rules: the pending and firing alerts.
    pub alerts: Vec<AlertView>,
}

/// One pending or firing alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertView {
    /// Identifying labels.
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: Labels,
    /// Pending or firing.
    pub state: AlertState,
    /// When it became active (ms).
    pub active_at: i64,
    /// The expression's value at the last evaluation.
    pub value: f64,
    /// Since when `keep_firing_for` keeps it firing (ms).
    pub keep_firing_since: Option<i64>,
}

fn labels_of(m: &std::collections::BTreeMap<String, String>) -> Labels {
    Labels::from_pairs(m.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

fn ms(d: i64) -> Duration {
    Duration::from_millis(d.unsigned_abs())
}

pub(crate) fn group_view(g: &Group) -> GroupView {
    let st = g.state.lock();
    let rules = st
        .rules
        .iter()
        .map(|r| {
            let status = r.status();
            let mut v = RuleView {
                kind: RuleKind::Recording,
                name: r.name().to_owned(),
                query: String::new(),
                duration: Duration::ZERO,
                keep_firing_for: Duration::ZERO,
                labels: Labels::empty(),
                annotations: Labels::empty(),
                health: status.health,
                last_error: status.last_error.clone(),
                evaluation_time: status.eval_duration,
                last_evaluation: status.last_eval,
                state: None,
                alerts: Vec::new(),
            };
            match r {
                Rule::Recording(rec) => {
                    v.query.clone_from(&rec.query);
                    v.labels = labels_of(&rec.labels);
                }
                Rule::Alerting(a) => {
                    v.kind = RuleKind::Alerting;
                    v.query.clone_from(&a.query);
                    v.duration = ms(a.hold);
                    v.keep_firing_for = ms(a.keep_firing_for);
                    v.labels = labels_of(&a.labels);
                    v.annotations = labels_of(&a.annotations);
                    let mut alerts: Vec<AlertView> = a
                        .active
                        .values()
                        .filter(|x| x.state != AlertState::Inactive)
                        .map(|x| AlertView {
                            labels: x.labels.clone(),
                            annotations: x.annotations.clone(),
                            state: x.state,
                            active_at: x.active_at,
                            value: x.value,
                            keep_firing_since: x.keep_firing_since,
                        })
                        .collect();
                    alerts.sort_by(|a, b| a.labels.cmp(&b.labels));
                    v.state = Some(
                        alerts
                            .iter()
                            .map(|x| x.state)
                            .max()
                            .unwrap_or(AlertState::Inactive),
                    );
                    v.alerts = alerts;
                }
            }
            v
        })
        .collect();
    GroupView {
        name: g.settings.name.clone(),
        file: g.settings.file.clone(),
        interval: ms(g.settings.interval),
        query_offset: ms(g.settings.query_offset),
        limit: g.settings.limit,
        last_evaluation: st.last_eval,
        evaluation_time: st.eval_duration,
        rules,
    }
}
