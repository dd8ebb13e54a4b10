//! The rule manager's own metrics, with Prometheus's names, help texts and types
//! (`rules/manager.go`'s `Metrics`), collected from the groups at scrape time.

use std::sync::Arc;

use metrics::family;
use model::exposition::{MetricFamily, MetricType};

use crate::group::{Group, GroupState, Shared};

/// One family: name, type, help, and the value of a group.
type Family = (
    &'static str,
    MetricType,
    &'static str,
    fn(&Group, &GroupState) -> f64,
);

#[allow(clippy::cast_precision_loss)]
const FAMILIES: [Family; 9] = [
    (
        "prometheus_rule_evaluations_total",
        MetricType::Counter,
        "The total number of rule evaluations.",
        |_, st| st.rule_evals as f64,
    ),
    (
        "prometheus_rule_evaluation_failures_total",
        MetricType::Counter,
        "The total number of rule evaluation failures.",
        |_, st| st.rule_failures as f64,
    ),
    (
        "prometheus_rule_group_interval_seconds",
        MetricType::Gauge,
        "The interval of a rule group.",
        |g, _| g.settings.interval as f64 / 1000.0,
    ),
    (
        "prometheus_rule_group_iterations_total",
        MetricType::Counter,
        "The total number of scheduled rule group evaluations, whether executed or missed.",
        |_, st| st.iterations as f64,
    ),
    (
        "prometheus_rule_group_last_duration_seconds",
        MetricType::Gauge,
        "The duration of the last rule group evaluation.",
        |_, st| st.eval_duration.as_secs_f64(),
    ),
    (
        "prometheus_rule_group_last_evaluation_samples",
        MetricType::Gauge,
        "The number of samples returned during the last rule group evaluation.",
        |_, st| st.last_samples as f64,
    ),
    (
        "prometheus_rule_group_last_evaluation_timestamp_seconds",
        MetricType::Gauge,
        "The timestamp of the last rule group evaluation in seconds.",
        |_, st| st.last_eval.map_or(0.0, |t| t as f64 / 1000.0),
    ),
    (
        "prometheus_rule_group_rules",
        MetricType::Gauge,
        "The number of rules.",
        |_, st| st.rules.len() as f64,
    ),
    // Prometheus has no such counter (a panic in a Go rule group ends the process).
    (
        "firewatch_rule_group_evaluation_panics_total",
        MetricType::Counter,
        "The total number of rule group evaluations that panicked (each failed that evaluation only).",
        |_, st| st.panics as f64,
    ),
];

/// Appends every family for `groups`, labelled `rule_group="<file>;<group>"`.
pub(crate) fn collect(groups: &[Arc<Group>], out: &mut Vec<MetricFamily>) {
    let states: Vec<_> = groups.iter().map(|g| (g, g.state.lock())).collect();
    for (name, kind, help, value) in FAMILIES {
        let mut f = family::new(name, help, kind);
        for (g, st) in &states {
            let key = format!("{};{}", g.settings.file.display(), g.settings.name);
            family::push(&mut f, &[("rule_group", &key)], value(g, st));
        }
        out.push(f);
    }
}

/// Objectives of `prometheus_rule_group_duration_seconds`.
pub(crate) const GROUP_DURATION_OBJECTIVES: &[(f64, f64)] = &[
    (0.01, 0.001),
    (0.05, 0.005),
    (0.5, 0.05),
    (0.9, 0.01),
    (0.99, 0.001),
];

/// Appends the summaries of rule and group evaluation durations, and the template
/// expansion counters.
#[allow(clippy::cast_precision_loss)]
pub(crate) fn collect_durations(sh: &Shared, out: &mut Vec<MetricFamily>) {
    for (name, help, s) in [
        (
            "prometheus_rule_evaluation_duration_seconds",
            "The duration for a rule to execute.",
            &sh.rule_duration,
        ),
        (
            "prometheus_rule_group_duration_seconds",
            "The duration of rule group evaluations.",
            &sh.group_duration,
        ),
    ] {
        let mut f = family::new(name, help, MetricType::Summary);
        family::push_summary(&mut f, &[], &s.quantiles(), s.sum(), s.count());
        out.push(f);
    }
    let (expansions, failures) = crate::template::expansion_counts();
    out.push(family::counter(
        "prometheus_template_text_expansions_total",
        "The total number of template text expansions.",
        expansions as f64,
    ));
    out.push(family::counter(
        "prometheus_template_text_expansion_failures_total",
        "The total number of template text expansion failures.",
        failures as f64,
    ));
}
