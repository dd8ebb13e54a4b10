//! Records a successful notification in the notification log (mirrors
//! `notify.SetNotifiesStage`).

use futures::future::BoxFuture;

use super::{NotifyCtx, Stage, StageResult};
use crate::alert::Alert;
use crate::nflog::{NflogRef, ReceiverKey};

/// The set-notifies stage of one receiver integration.
pub struct SetNotifiesStage {
    /// The log.
    pub nflog: NflogRef,
    /// The integration.
    pub receiver: ReceiverKey,
}

impl Stage for SetNotifiesStage {
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyCtx,
        alerts: Vec<Alert>,
    ) -> BoxFuture<'a, StageResult> {
        Box::pin(async move {
            self.nflog.log(
                &self.receiver,
                &ctx.group_key,
                ctx.firing.clone(),
                ctx.resolved.clone(),
            );
            Ok(alerts)
        })
    }
}
