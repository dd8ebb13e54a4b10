//! Alerting rules: an expression whose result series become alerts that go from pending to
//! firing after `for`, keep firing for `keep_firing_for`, and are kept 15 minutes after
//! they resolve; the `ALERTS` and `ALERTS_FOR_STATE` series.

use std::collections::{BTreeMap, HashMap, HashSet};

use model::Labels;
use promql::ast::Expr;

use crate::error::EvalError;
use crate::rule::{EvalContext, Status, apply_labels};
use crate::template::{Data, Expander};

/// How long a resolved alert is kept (and re-sent as resolved).
pub(crate) const RESOLVED_RETENTION_MS: i64 = 15 * 60 * 1000;

/// The state of an alert (`state` in `/api/v1/alerts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    /// Not active (a resolved alert kept for re-sending).
    Inactive,
    /// Active, waiting for `for` to pass.
    Pending,
    /// Active for at least `for`.
    Firing,
}

impl AlertState {
    /// Prometheus's name: `inactive`, `pending` or `firing`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Inactive => "inactive",
            AlertState::Pending => "pending",
            AlertState::Firing => "firing",
        }
    }
}

/// One alert of an alerting rule (one series of its expression).
#[derive(Debug, Clone, PartialEq)]
pub struct ActiveAlert {
    /// Identifying labels (`alertname`, the series' labels, the rule's expanded labels).
    pub labels: Labels,
    /// Expanded annotations.
    pub annotations: Labels,
    /// The state.
    pub state: AlertState,
    /// When the alert became active (ms).
    pub active_at: i64,
    /// When it started firing (ms).
    pub fired_at: Option<i64>,
    /// When it resolved (ms).
    pub resolved_at: Option<i64>,
    /// When it was last sent to Alertmanager (ms).
    pub last_sent_at: Option<i64>,
    /// Until when Alertmanager may consider it firing without hearing again (ms).
    pub valid_until: i64,
    /// Since when it has been kept firing by `keep_firing_for` (ms).
    pub keep_firing_since: Option<i64>,
    /// The expression's value at the last evaluation.
    pub value: f64,
}

impl ActiveAlert {
    fn needs_sending(&self, ts: i64, resend_delay: i64) -> bool {
        if self.state == AlertState::Pending {
            return false;
        }
        let last = self.last_sent_at;
        if let Some(r) = self.resolved_at
            && last.is_none_or(|l| r > l)
        {
            return true;
        }
        last.is_none_or(|l| l + resend_delay < ts)
    }
}

/// An alerting rule (`alert: NAME`).
#[derive(Debug, Clone)]
pub(crate) struct AlertingRule {
    pub name: String,
    pub expr: Expr,
    pub query: String,
    /// `for`, ms.
    pub hold: i64,
    /// `keep_firing_for`, ms.
    pub keep_firing_for: i64,
    /// Group labels overridden by the rule's labels (templates).
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// Alerts by their labels.
    pub active: HashMap<Labels, ActiveAlert>,
    /// Whether `for` state has been restored (until then no `ALERTS` series are written).
    pub restored: bool,
    pub status: Status,
}

/// Output of one evaluation: series to append and the first template error, if any.
pub(crate) struct AlertEval {
    pub samples: Vec<(Labels, f64)>,
    pub template_error: Option<String>,
}

impl AlertingRule {
    /// Evaluates at `ts` (ms); the query runs at `ts - offset` and the series are written there.
    pub(crate) fn eval(
        &mut self,
        ctx: &EvalContext,
        ts: i64,
        offset: i64,
        limit: usize,
    ) -> Result<AlertEval, EvalError> {
        let qts = ts - offset;
        let res = ctx.query(&self.expr, &self.query, qts)?;
        let mut template_error = None;
        let query_fn = ctx.query_fn();
        let mut fresh: HashMap<Labels, ActiveAlert> = HashMap::with_capacity(res.len());
        for smpl in res {
            let data = Data::alert(
                &smpl.labels,
                &ctx.external_labels,
                &ctx.external_url,
                smpl.f,
            );
            let mut expand = |text: &str| {
                if !text.contains("{{") {
                    return text.to_owned();
                }
                match Expander::alert(&self.name, text, data.clone(), ts)
                    .with_query(query_fn.clone())
                    .with_external_url(&ctx.external_url)
                    .expand()
                {
                    Ok(s) => s,
                    Err(e) => {
                        tracing::warn!(alert = %self.name, err = %e, "expanding alert template failed");
                        let msg = format!("<error expanding template: {e}>");
                        template_error.get_or_insert_with(|| e.to_string());
                        msg
                    }
                }
            };
            let expanded: Vec<(String, String)> = self
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), expand(v)))
                .collect();
            let mut base = smpl.labels.builder();
            base.del(model::METRIC_NAME);
            let mut labels = apply_labels(
                &base.labels(),
                expanded.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            )
            .builder();
            labels.set("alertname", &self.name);
            let labels = labels.labels();
            let annotations = Labels::from_pairs(
                self.annotations
                    .iter()
                    .map(|(k, v)| (k.clone(), expand(v)))
                    .collect::<Vec<_>>(),
            );
            if fresh.contains_key(&labels) {
                return Err(EvalError::DuplicateAlert);
            }
            fresh.insert(
                labels.clone(),
                ActiveAlert {
                    labels,
                    annotations,
                    state: AlertState::Pending,
                    active_at: ts,
                    fired_at: None,
                    resolved_at: None,
                    last_sent_at: None,
                    valid_until: 0,
                    keep_firing_since: None,
                    value: smpl.f,
                },
            );
        }
        let current: HashSet<Labels> = fresh.keys().cloned().collect();
        for (k, a) in fresh {
            match self.active.get_mut(&k) {
                Some(old) if old.state != AlertState::Inactive => {
                    old.value = a.value;
                    old.annotations = a.annotations;
                }
                _ => {
                    self.active.insert(k, a);
                }
            }
        }
        let mut samples = Vec::new();
        let mut active_pending = 0;
        let mut remove = Vec::new();
        let mut keys: Vec<Labels> = self.active.keys().cloned().collect();
        keys.sort();
        for k in keys {
            let Some(a) = self.active.get_mut(&k) else {
                continue;
            };
            if current.contains(&k) {
                a.keep_firing_since = None;
            } else {
                let mut keep_firing = false;
                if a.state == AlertState::Firing && self.keep_firing_for > 0 {
                    let since = *a.keep_firing_since.get_or_insert(ts);
                    keep_firing = ts - since < self.keep_firing_for;
                }
                if a.state == AlertState::Pending
                    || a.resolved_at
                        .is_some_and(|r| ts - r > RESOLVED_RETENTION_MS)
                {
                    remove.push(k.clone());
                }
                if a.state != AlertState::Inactive && !keep_firing {
                    a.state = AlertState::Inactive;
                    a.resolved_at = Some(ts);
                }
                if !keep_firing {
                    continue;
                }
            }
            active_pending += 1;
            if a.state == AlertState::Pending && ts - a.active_at >= self.hold {
                a.state = AlertState::Firing;
                a.fired_at = Some(ts);
            }
            if self.restored {
                samples.push((alerts_series(&a.labels, a.state), 1.0));
                #[allow(clippy::cast_precision_loss)]
                let active_secs = a.active_at.div_euclid(1000) as f64;
                samples.push((for_state_series(&a.labels), active_secs));
            }
        }
        for k in remove {
            self.active.remove(&k);
        }
        if limit > 0 && active_pending > limit {
            self.active.clear();
            return Err(EvalError::AlertLimit {
                limit,
                count: active_pending,
            });
        }
        Ok(AlertEval {
            samples,
            template_error,
        })
    }

    /// The alerts to send now: firing ones not sent within `resend_delay`, and newly
    /// resolved ones; marks them sent, valid for `4 * max(resend_delay, interval)`.
    pub(crate) fn alerts_to_send(
        &mut self,
        ts: i64,
        resend_delay: i64,
        interval: i64,
    ) -> Vec<ActiveAlert> {
        let mut out = Vec::new();
        let mut keys: Vec<&Labels> = self.active.keys().collect();
        keys.sort();
        let keys: Vec<Labels> = keys.into_iter().cloned().collect();
        for k in keys {
            if let Some(a) = self.active.get_mut(&k)
                && a.needs_sending(ts, resend_delay)
            {
                a.last_sent_at = Some(ts);
                a.valid_until = ts + 4 * resend_delay.max(interval);
                out.push(a.clone());
            }
        }
        out
    }
}

/// `ALERTS{alertstate="..."}` labels of an alert.
pub(crate) fn alerts_series(labels: &Labels, state: AlertState) -> Labels {
    let mut b = labels.builder();
    b.set(model::METRIC_NAME, "ALERTS");
    b.set("alertstate", state.as_str());
    b.labels()
}

/// `ALERTS_FOR_STATE` labels of an alert.
pub(crate) fn for_state_series(labels: &Labels) -> Labels {
    let mut b = labels.builder();
    b.set(model::METRIC_NAME, "ALERTS_FOR_STATE");
    b.labels()
}
