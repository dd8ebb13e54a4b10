//! Passes a group's alerts on only when the receiver has not been told this already: new
//! firing alerts, newly resolved ones (with `send_resolved`), all resolved, or the repeat
//! interval passed (mirrors `notify.DedupStage`).

use std::sync::Arc;

use futures::future::BoxFuture;

use super::{NotifyCtx, Stage, StageResult, hash_alert};
use crate::alert::Alert;
use crate::nflog::{Entry, NflogRef, ReceiverKey};

/// The dedup stage of one receiver integration.
pub struct DedupStage {
    /// The log.
    pub nflog: NflogRef,
    /// The integration.
    pub receiver: ReceiverKey,
    /// Whether the integration sends resolved alerts.
    pub send_resolved: bool,
}

impl DedupStage {
    fn needs_update(
        &self,
        e: Option<&Entry>,
        firing: &[u64],
        resolved: &[u64],
        ctx: &NotifyCtx,
    ) -> bool {
        let Some(e) = e else {
            return !firing.is_empty();
        };
        if !e.is_firing_subset(firing) {
            return true;
        }
        if firing.is_empty() {
            return !e.firing.is_empty();
        }
        if self.send_resolved && !e.is_resolved_subset(resolved) {
            return true;
        }
        let repeat = jiff::SignedDuration::try_from(ctx.repeat_interval)
            .unwrap_or(jiff::SignedDuration::MAX);
        e.timestamp < ctx.now.checked_sub(repeat).unwrap_or(ctx.now)
    }
}

impl Stage for DedupStage {
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyCtx,
        alerts: Vec<Arc<Alert>>,
    ) -> BoxFuture<'a, StageResult> {
        Box::pin(async move {
            let (mut firing, mut resolved) = (Vec::new(), Vec::new());
            for a in &alerts {
                if a.resolved_at(ctx.now) {
                    resolved.push(hash_alert(a));
                } else {
                    firing.push(hash_alert(a));
                }
            }
            let entry = self.nflog.query(&ctx.group_key, &self.receiver);
            let pass = self.needs_update(entry.as_ref(), &firing, &resolved, ctx);
            ctx.firing = firing;
            ctx.resolved = resolved;
            Ok(if pass { alerts } else { Vec::new() })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use jiff::{SignedDuration, Timestamp};

    use super::*;
    use crate::nflog::Nflog;

    fn ctx(now: Timestamp) -> NotifyCtx {
        NotifyCtx {
            now,
            group_key: "g".into(),
            group_labels: crate::labels::LabelSet::new(),
            receiver: "r".into(),
            repeat_interval: Duration::from_secs(60),
            mute_time_intervals: Vec::new(),
            active_time_intervals: Vec::new(),
            firing: Vec::new(),
            resolved: Vec::new(),
            deadline: tokio::time::Instant::now(),
        }
    }

    /// Alertmanager's `needsUpdate` cases: (logged firing, logged resolved, logged age in
    /// seconds or none, firing now, resolved now, send_resolved, notify?).
    #[test]
    fn needs_update_as_alertmanager() {
        type Case = (
            &'static [u64],
            &'static [u64],
            Option<i64>,
            &'static [u64],
            &'static [u64],
            bool,
            bool,
        );
        let cases: &[Case] = &[
            (&[], &[], None, &[1], &[], true, true), // first notification
            (&[], &[], None, &[], &[1], true, false), // only resolved, never notified
            (&[1], &[], Some(10), &[1, 2], &[], true, true), // a new firing alert
            (&[1, 2], &[], Some(10), &[1], &[2], true, true), // newly resolved, send_resolved
            (&[1, 2], &[], Some(10), &[1], &[2], false, false), // newly resolved, not sent
            (&[1], &[], Some(10), &[], &[1], false, true), // all resolved: clear the log
            (&[], &[1], Some(10), &[], &[1], true, false), // nothing fired since
            (&[1], &[], Some(10), &[1], &[], true, false), // unchanged, repeat not due
            (&[1], &[], Some(61), &[1], &[], true, true), // repeat_interval passed
        ];
        let now = Timestamp::now();
        for (i, (lf, lr, age, f, r, send_resolved, want)) in cases.iter().enumerate() {
            let stage = DedupStage {
                nflog: Arc::new(Nflog::new(None, Duration::from_secs(3600))),
                receiver: ReceiverKey {
                    group_name: "r".into(),
                    integration: "webhook".into(),
                    idx: 0,
                },
                send_resolved: *send_resolved,
            };
            let entry = age.map(|a| Entry {
                group_key: "g".into(),
                receiver: stage.receiver.clone(),
                firing: lf.to_vec(),
                resolved: lr.to_vec(),
                timestamp: now - SignedDuration::from_secs(a),
                expires_at: now,
            });
            assert_eq!(
                stage.needs_update(entry.as_ref(), f, r, &ctx(now)),
                *want,
                "case {i}"
            );
        }
    }
}
