//! A rule group: its rules evaluated in order at one timestamp per interval, their output
//! appended with staleness markers for series that disappear, alerts sent, and `for` state
//! restored after a restart.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use model::{Labels, Matcher, STALE_NAN, Sample, is_stale_nan};
use parking_lot::Mutex;
use storage::{AppendableRef, QueryableRef, ValueType};

use crate::alert::{Alert, AlertSender};
use crate::alerting::{ActiveAlert, AlertingRule, for_state_series};
use crate::error::EvalError;
use crate::recording::RecordingRule;
use crate::rule::{EvalContext, Status};
use crate::template::table_link;

/// A recording or an alerting rule.
#[derive(Debug, Clone)]
pub(crate) enum Rule {
    Recording(RecordingRule),
    Alerting(AlertingRule),
}

impl Rule {
    pub(crate) fn status(&self) -> &Status {
        match self {
            Rule::Recording(r) => &r.status,
            Rule::Alerting(a) => &a.status,
        }
    }

    fn status_mut(&mut self) -> &mut Status {
        match self {
            Rule::Recording(r) => &mut r.status,
            Rule::Alerting(a) => &mut a.status,
        }
    }

    pub(crate) fn name(&self) -> &str {
        match self {
            Rule::Recording(r) => &r.name,
            Rule::Alerting(a) => &a.name,
        }
    }

    /// The key under which a reload finds this rule's previous state: kind, name and labels.
    fn state_key(&self) -> (bool, String, BTreeMap<String, String>) {
        match self {
            Rule::Recording(r) => (false, r.name.clone(), r.labels.clone()),
            Rule::Alerting(a) => (true, a.name.clone(), a.labels.clone()),
        }
    }
}

/// Settings shared by every group of a manager.
pub(crate) struct Shared {
    pub engine: promql::Engine,
    pub queryable: QueryableRef,
    pub appendable: AppendableRef,
    pub sender: Option<Arc<dyn AlertSender>>,
    pub external_url: String,
    pub resend_delay: i64,
    pub outage_tolerance: i64,
    pub grace_period: i64,
    /// `prometheus_rule_evaluation_duration_seconds`.
    pub rule_duration: metrics::Summary,
    /// `prometheus_rule_group_duration_seconds`.
    pub group_duration: metrics::Summary,
}

/// What identifies a group's configuration; a reload keeps a group whose settings are equal.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct GroupSettings {
    pub file: PathBuf,
    pub name: String,
    /// ms
    pub interval: i64,
    /// ms
    pub query_offset: i64,
    pub limit: usize,
    pub source: config::rules::RuleGroup,
    pub external_labels: Labels,
}

/// Mutable state of a group, evaluated under its lock.
#[derive(Debug, Default)]
pub(crate) struct GroupState {
    pub rules: Vec<Rule>,
    /// Series each rule wrote at its last evaluation.
    pub series_prev: Vec<HashSet<Labels>>,
    /// Series of rules removed by a reload, to be marked stale at the next evaluation.
    pub stale_series: Vec<Labels>,
    pub last_eval: Option<i64>,
    pub eval_duration: Duration,
    pub should_restore: bool,
    /// Evaluations of the group, for `prometheus_rule_group_iterations_total`.
    pub iterations: u64,
    /// Rule evaluations and failed ones (`prometheus_rule_evaluations_total`, `..._failures_total`).
    pub rule_evals: u64,
    pub rule_failures: u64,
    /// Samples written by the last evaluation.
    pub last_samples: u64,
    /// Evaluations that panicked (each failed that evaluation only), for
    /// `firewatch_rule_group_evaluation_panics_total`.
    pub panics: u64,
}

/// A group of rules.
#[derive(Debug)]
pub struct Group {
    pub(crate) settings: GroupSettings,
    pub(crate) state: Mutex<GroupState>,
}

fn to_system_time(ms: i64) -> SystemTime {
    #[allow(clippy::cast_sign_loss)]
    if ms >= 0 {
        UNIX_EPOCH + Duration::from_millis(ms as u64)
    } else {
        UNIX_EPOCH - Duration::from_millis(ms.unsigned_abs())
    }
}

impl Group {
    pub(crate) fn new(settings: GroupSettings, rules: Vec<Rule>, should_restore: bool) -> Self {
        let n = rules.len();
        Self {
            settings,
            state: Mutex::new(GroupState {
                rules,
                series_prev: vec![HashSet::new(); n],
                should_restore,
                ..GroupState::default()
            }),
        }
    }

    /// The group's hash, which spreads groups' evaluations over their interval.
    pub(crate) fn hash(&self) -> u64 {
        Labels::from_pairs([
            ("name", self.settings.name.as_str()),
            ("file", &self.settings.file.to_string_lossy()),
        ])
        .hash64()
    }

    /// The evaluation slot at or before `now` (ms): slots are `interval` apart, offset by the
    /// group's hash, as Prometheus aligns them.
    pub(crate) fn eval_timestamp(&self, now: i64) -> i64 {
        let interval = self.settings.interval.max(1);
        #[allow(clippy::cast_possible_wrap)]
        let offset = (self.hash() % interval.unsigned_abs()) as i64;
        let adj = now - offset;
        adj - adj.rem_euclid(interval) + offset
    }

    /// Takes over the state of `old` (the same group before a reload): rules with the same
    /// kind, name and labels keep their alerts, health and written series; series of rules
    /// that no longer exist are marked stale at the next evaluation.
    pub(crate) fn copy_state(&self, old: &Group) {
        let old = old.state.lock();
        let mut new = self.state.lock();
        let mut by_key: HashMap<_, VecDeque<usize>> = HashMap::new();
        for (i, r) in old.rules.iter().enumerate() {
            by_key.entry(r.state_key()).or_default().push_back(i);
        }
        let mut used = vec![false; old.rules.len()];
        for i in 0..new.rules.len() {
            let key = new.rules[i].state_key();
            let Some(j) = by_key.get_mut(&key).and_then(VecDeque::pop_front) else {
                continue;
            };
            used[j] = true;
            new.series_prev[i].clone_from(&old.series_prev[j]);
            *new.rules[i].status_mut() = old.rules[j].status().clone();
            if let (Rule::Alerting(n), Rule::Alerting(o)) = (&mut new.rules[i], &old.rules[j]) {
                n.active.clone_from(&o.active);
                n.restored = n.restored || o.restored;
            }
        }
        for (j, u) in used.iter().enumerate() {
            if !u {
                new.stale_series.extend(old.series_prev[j].iter().cloned());
            }
        }
        new.stale_series.extend(old.stale_series.iter().cloned());
        new.last_eval = old.last_eval;
        new.eval_duration = old.eval_duration;
        new.iterations = old.iterations;
        new.rule_evals = old.rule_evals;
        new.rule_failures = old.rule_failures;
        new.last_samples = old.last_samples;
        new.panics = old.panics;
        new.should_restore = new.should_restore && old.should_restore;
    }

    /// Evaluates every rule at `ts` (ms), then restores `for` state if this is the group's
    /// first evaluation after start-up.
    pub(crate) fn eval(&self, ts: i64, sh: &Shared) {
        let start = Instant::now();
        let mut st = self.state.lock();
        let ctx = EvalContext {
            engine: sh.engine.clone(),
            queryable: sh.queryable.clone(),
            external_labels: self.settings.external_labels.clone(),
            external_url: sh.external_url.clone(),
        };
        let offset = self.settings.query_offset;
        let limit = self.settings.limit;
        let st = &mut *st;
        let mut written = 0u64;
        for (i, rule) in st.rules.iter_mut().enumerate() {
            st.rule_evals += 1;
            let rule_start = Instant::now();
            let out = match rule {
                Rule::Recording(r) => r.eval(&ctx, ts - offset, limit).map(|v| (v, None)),
                Rule::Alerting(a) => a.eval(&ctx, ts, offset, limit).map(|e| {
                    let v = e
                        .samples
                        .into_iter()
                        .map(|(l, f)| (l, Sample::Float(f)))
                        .collect();
                    (v, e.template_error)
                }),
            };
            let (samples, template_error) = match out {
                Ok(o) => o,
                Err(e) => {
                    st.rule_failures += 1;
                    let status = rule.status_mut();
                    status.record(Err(&e));
                    status.last_eval = Some(ts);
                    status.eval_duration = rule_start.elapsed();
                    sh.rule_duration.observe_duration(status.eval_duration);
                    continue;
                }
            };
            rule.status_mut().record(Ok(()));
            if let Some(e) = template_error {
                rule.status_mut().record(Err(&EvalError::Template(e)));
            }
            if let Rule::Alerting(a) = rule {
                send(a, ts, sh, self.settings.interval);
            }
            let mut app = sh.appendable.appender();
            let mut returned = HashSet::with_capacity(samples.len());
            for (l, s) in samples {
                match app.append(0, &l, ts - offset, s) {
                    Ok(_) => {
                        written += 1;
                        returned.insert(l);
                    }
                    Err(e) => rule
                        .status_mut()
                        .record(Err(&EvalError::Storage(e.to_string()))),
                }
            }
            for l in st.series_prev[i].difference(&returned) {
                // Out-of-order or duplicate markers are expected and harmless.
                let _ = app.append(0, l, ts - offset, Sample::Float(STALE_NAN));
            }
            if let Err(e) = app.commit() {
                rule.status_mut()
                    .record(Err(&EvalError::Storage(e.to_string())));
            }
            st.series_prev[i] = returned;
            let status = rule.status_mut();
            status.last_eval = Some(ts);
            status.eval_duration = rule_start.elapsed();
            sh.rule_duration.observe_duration(status.eval_duration);
        }
        if !st.stale_series.is_empty() {
            let mut app = sh.appendable.appender();
            for l in st.stale_series.drain(..) {
                let _ = app.append(0, &l, ts - offset, Sample::Float(STALE_NAN));
            }
            if let Err(e) = app.commit() {
                tracing::warn!(group = %self.settings.name, err = %e, "writing staleness markers failed");
            }
        }
        st.last_eval = Some(ts);
        st.eval_duration = start.elapsed();
        sh.group_duration.observe_duration(st.eval_duration);
        st.iterations += 1;
        st.last_samples = written;
        if st.should_restore {
            st.should_restore = false;
            restore(st, ts, sh);
        }
    }

    /// Writes staleness markers at `ts` for every series the group's rules wrote (the group
    /// was removed).
    pub(crate) fn mark_stale(&self, ts: i64, sh: &Shared) {
        let mut st = self.state.lock();
        let mut app = sh.appendable.appender();
        let prev = std::mem::take(&mut st.series_prev);
        for l in prev.iter().flatten().chain(st.stale_series.iter()) {
            let _ = app.append(0, l, ts, Sample::Float(STALE_NAN));
        }
        st.stale_series.clear();
        if let Err(e) = app.commit() {
            tracing::warn!(group = %self.settings.name, err = %e, "writing staleness markers failed");
        }
    }
}

/// Hands the rule's alerts that are due to the sender.
fn send(rule: &mut AlertingRule, ts: i64, sh: &Shared, interval: i64) {
    let due = rule.alerts_to_send(ts, sh.resend_delay, interval);
    tracing::debug!(rule = %rule.name, due = due.len(), sender = sh.sender.is_some(), "alerts due");
    let Some(sender) = &sh.sender else { return };
    if due.is_empty() {
        return;
    }
    let generator_url = format!("{}{}", sh.external_url, table_link(&rule.query));
    let alerts = due
        .into_iter()
        .map(|a: ActiveAlert| Alert {
            labels: a.labels,
            annotations: a.annotations,
            starts_at: to_system_time(a.fired_at.unwrap_or(a.active_at)),
            ends_at: Some(to_system_time(a.resolved_at.unwrap_or(a.valid_until))),
            generator_url: generator_url.clone(),
        })
        .collect();
    sender.send(alerts);
}

/// Restores the `ActiveAt` of pending and firing alerts from `ALERTS_FOR_STATE` written before
/// a restart, as Prometheus does (`--rules.alert.for-outage-tolerance`,
/// `--rules.alert.for-grace-period`).
fn restore(st: &mut GroupState, ts: i64, sh: &Shared) {
    let querier = match sh.queryable.querier(ts - sh.outage_tolerance, ts) {
        Ok(q) => q,
        Err(e) => {
            tracing::error!(err = %e, "restoring alert state: cannot open a querier");
            return;
        }
    };
    for rule in &mut st.rules {
        let Rule::Alerting(a) = rule else { continue };
        if a.hold < sh.grace_period {
            a.restored = true;
            continue;
        }
        let mut matchers = vec![
            Matcher::equal(model::METRIC_NAME, "ALERTS_FOR_STATE"),
            Matcher::equal("alertname", a.name.clone()),
        ];
        for (k, v) in &a.labels {
            if !v.contains("{{") && !v.is_empty() {
                matchers.push(Matcher::equal(k.clone(), v.clone()));
            }
        }
        let mut last: HashMap<Labels, (i64, f64)> = HashMap::new();
        match querier.select(false, None, &matchers) {
            Ok(set) => {
                for s in set.flatten() {
                    let mut it = s.iter();
                    let mut found = None;
                    while it.next() == ValueType::Float {
                        found = Some(it.at());
                    }
                    if let Some(p) = found {
                        last.insert(s.labels().clone(), p);
                    }
                }
            }
            Err(e) => {
                tracing::error!(alert = %a.name, err = %e, "restoring alert state failed");
                continue;
            }
        }
        for alert in a.active.values_mut() {
            let Some(&(t, v)) = last.get(&for_state_series(&alert.labels)) else {
                continue;
            };
            if is_stale_nan(v) {
                continue;
            }
            let down_at = t.div_euclid(1000) * 1000;
            #[allow(clippy::cast_possible_truncation)]
            let mut active_at = (v as i64) * 1000;
            let remaining = a.hold - (down_at - active_at);
            if remaining <= 0 {
                // It was firing before the restart; the next evaluation fires it again.
            } else if remaining < sh.grace_period {
                active_at = ts + sh.grace_period - a.hold;
            } else {
                active_at += ts - down_at;
            }
            alert.active_at = active_at;
        }
        a.restored = true;
    }
}
