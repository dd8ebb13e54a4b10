//! The rule manager's own metrics, with Prometheus's names, as text exposition.

use std::fmt::Write as _;
use std::sync::Arc;

use crate::group::{Group, GroupState};

/// One family: name, type, help, and the value of a group.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&Group, &GroupState) -> f64,
);

#[allow(clippy::cast_precision_loss)]
const FAMILIES: [Family; 8] = [
    (
        "prometheus_rule_evaluations_total",
        "counter",
        "The total number of rule evaluations.",
        |_, st| st.rule_evals as f64,
    ),
    (
        "prometheus_rule_evaluation_failures_total",
        "counter",
        "The total number of rule evaluation failures.",
        |_, st| st.rule_failures as f64,
    ),
    (
        "prometheus_rule_group_interval_seconds",
        "gauge",
        "The interval of a rule group.",
        |g, _| g.settings.interval as f64 / 1000.0,
    ),
    (
        "prometheus_rule_group_iterations_total",
        "counter",
        "The total number of scheduled rule group evaluations, whether executed or missed.",
        |_, st| st.iterations as f64,
    ),
    (
        "prometheus_rule_group_last_duration_seconds",
        "gauge",
        "The duration of the last rule group evaluation.",
        |_, st| st.eval_duration.as_secs_f64(),
    ),
    (
        "prometheus_rule_group_last_evaluation_samples",
        "gauge",
        "The number of samples returned during the last rule group evaluation.",
        |_, st| st.last_samples as f64,
    ),
    (
        "prometheus_rule_group_last_evaluation_timestamp_seconds",
        "gauge",
        "The timestamp of the last rule group evaluation in seconds.",
        |_, st| st.last_eval.map_or(0.0, |t| t as f64 / 1000.0),
    ),
    (
        "prometheus_rule_group_rules",
        "gauge",
        "The number of rules.",
        |_, st| st.rules.len() as f64,
    ),
];

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Writes every family for `groups`.
pub(crate) fn write(groups: &[Arc<Group>], out: &mut String) {
    let states: Vec<_> = groups.iter().map(|g| (g, g.state.lock())).collect();
    for (name, kind, help, value) in FAMILIES {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (g, st) in &states {
            let key = format!("{};{}", g.settings.file.display(), g.settings.name);
            let _ = writeln!(
                out,
                "{name}{{rule_group=\"{}\"}} {}",
                escape(&key),
                promql::printer::format_float(value(g, st))
            );
        }
    }
}
