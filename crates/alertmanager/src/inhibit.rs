//! Inhibition: an alert matching a rule's target matchers is muted while a firing alert
//! matches its source matchers with equal values for the `equal` labels; an alert that
//! matches both sides does not inhibit itself (mirrors Alertmanager's `inhibit/inhibit.go`).
//! Source alerts come from the alerts store's feed, which replays the stored (and
//! snapshotted) alerts first, so inhibitions hold across a restart.

use std::collections::HashMap;
use std::sync::Arc;

use jiff::Timestamp;
use parking_lot::Mutex;

use crate::alert::Alert;
use crate::config::InhibitRuleConfig;
use crate::config::route::combine;
use crate::labels::{LabelSet, fingerprint, fingerprint_string};
use crate::marker::Marker;
use crate::matcher::Matchers;
use crate::stop::Stop;
use crate::store::Alerts;

/// One compiled rule with its cache of source alerts.
pub struct InhibitRule {
    source: Matchers,
    target: Matchers,
    equal: Vec<String>,
    sources: Mutex<HashMap<u64, Arc<Alert>>>,
}

impl InhibitRule {
    /// Compiles a rule.
    ///
    /// # Errors
    /// A matcher that does not compile.
    pub fn new(c: &InhibitRuleConfig) -> Result<Self, String> {
        Ok(Self {
            source: combine(&c.source_match, &c.source_match_re, &c.source_matchers)?,
            target: combine(&c.target_match, &c.target_match_re, &c.target_matchers)?,
            equal: c.equal.clone(),
            sources: Mutex::new(HashMap::new()),
        })
    }

    /// A firing source alert with equal `equal` labels, skipping those that also match the
    /// target side when `exclude_two_sided`.
    fn inhibiting(
        &self,
        labels: &LabelSet,
        exclude_two_sided: bool,
        now: Timestamp,
    ) -> Option<u64> {
        let sources = self.sources.lock();
        let get = |l: &LabelSet, n: &String| l.get(n).cloned().unwrap_or_default();
        sources.iter().find_map(|(fp, a)| {
            if a.resolved_at(now)
                || self
                    .equal
                    .iter()
                    .any(|n| get(&a.labels, n) != get(labels, n))
            {
                return None;
            }
            if exclude_two_sided && self.target.matches(&a.labels) {
                return None;
            }
            Some(*fp)
        })
    }
}

/// The rules, fed by the alerts store.
pub struct Inhibitor {
    rules: Vec<InhibitRule>,
    marker: Arc<Marker>,
}

impl Inhibitor {
    /// Compiles the rules.
    ///
    /// # Errors
    /// A matcher that does not compile.
    pub fn new(rules: &[InhibitRuleConfig], marker: Arc<Marker>) -> Result<Self, String> {
        Ok(Self {
            rules: rules
                .iter()
                .map(InhibitRule::new)
                .collect::<Result<_, _>>()?,
            marker,
        })
    }

    /// Takes source alerts from the store's feed until it is dropped or `stop` fires.
    pub async fn run(self: Arc<Self>, alerts: Arc<Alerts>, stop: Stop) {
        if self.rules.is_empty() {
            // Nothing to observe: no feed (it would queue every posted alert for nothing).
            stop.wait().await;
            return;
        }
        let mut rx = alerts.subscribe();
        loop {
            tokio::select! {
                a = rx.recv() => match a {
                    Some(a) => self.observe(&a),
                    None => return,
                },
                () = stop.wait() => return,
            }
        }
    }

    /// Records an alert as a source of every rule whose source side it matches.
    pub fn observe(&self, a: &Arc<Alert>) {
        for r in &self.rules {
            if r.source.matches(&a.labels) {
                r.sources.lock().insert(a.fingerprint(), a.clone());
            }
        }
    }

    /// Whether an alert with `labels` is inhibited now; records the answer in the marker.
    pub fn mutes(&self, labels: &LabelSet) -> bool {
        let fp = fingerprint(labels);
        let now = Timestamp::now();
        for r in &self.rules {
            if !r.target.matches(labels) {
                continue;
            }
            if let Some(by) = r.inhibiting(labels, r.source.matches(labels), now) {
                self.marker.set_inhibited(fp, vec![fingerprint_string(by)]);
                return true;
            }
        }
        self.marker.set_inhibited(fp, Vec::new());
        false
    }

    /// Drops resolved source alerts.
    pub fn gc(&self, now: Timestamp) {
        for r in &self.rules {
            r.sources.lock().retain(|_, a| !a.resolved_at(now));
        }
    }
}
