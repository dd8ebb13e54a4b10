//! Holds notifications until the cluster settled, so a starting peer first learns the
//! others' notification log and silences (mirrors `notify.GossipSettleStage`).

use std::sync::Arc;

use futures::future::BoxFuture;

use super::{NotifyCtx, NotifyError, Stage, StageResult};
use crate::alert::Alert;
use crate::stop::Stop;

/// Waits for `settled` (none: clustering off, nothing to wait for).
pub struct SettleStage(pub Option<Stop>);

impl Stage for SettleStage {
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyCtx,
        alerts: Vec<Arc<Alert>>,
    ) -> BoxFuture<'a, StageResult> {
        Box::pin(async move {
            let Some(settled) = &self.0 else {
                return Ok(alerts);
            };
            tokio::select! {
                () = settled.wait() => Ok(alerts),
                () = tokio::time::sleep_until(ctx.deadline) => Err(NotifyError::retryable("context deadline exceeded")),
            }
        })
    }
}
