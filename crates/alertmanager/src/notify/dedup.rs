//! Passes a group's alerts on only when the receiver has not been told this already: new
//! firing alerts, newly resolved ones (with `send_resolved`), all resolved, or the repeat
//! interval passed (mirrors `notify.DedupStage`).

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
        alerts: Vec<Alert>,
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
