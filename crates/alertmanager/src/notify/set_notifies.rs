//! Records a successful notification in the notification log (mirrors
//! `notify.SetNotifiesStage`).

use std::sync::Arc;

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
        alerts: Vec<Arc<Alert>>,
    ) -> BoxFuture<'a, StageResult> {
        Box::pin(async move {
            // Done once on disk: a restart right after must not notify again.
            let durable = self.nflog.log(
                &self.receiver,
                &ctx.group_key,
                ctx.firing.clone(),
                ctx.resolved.clone(),
            );
            if let Err(e) = durable.wait().await {
                tracing::error!(err = %e, "writing the notification log");
            }
            Ok(alerts)
        })
    }
}
