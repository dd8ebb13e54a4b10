//! Waits the instance's position in the cluster times the peer timeout, so that peers
//! ahead of it notify first and their log entries arrive (mirrors `notify.WaitStage`).

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;

use super::{NotifyCtx, NotifyError, Stage, StageResult};
use crate::alert::Alert;

/// Sleeps for `wait()` before passing the alerts on.
pub struct WaitStage(pub Box<dyn Fn() -> Duration + Send + Sync>);

impl Stage for WaitStage {
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyCtx,
        alerts: Vec<Arc<Alert>>,
    ) -> BoxFuture<'a, StageResult> {
        Box::pin(async move {
            let d = (self.0)();
            if d.is_zero() {
                return Ok(alerts);
            }
            tokio::select! {
                () = tokio::time::sleep(d) => Ok(alerts),
                () = tokio::time::sleep_until(ctx.deadline) => Err(NotifyError::retryable("context deadline exceeded")),
            }
        })
    }
}
