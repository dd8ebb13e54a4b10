//! Drops a whole notification inside one of the route's mute time intervals, or outside all
//! of its active time intervals (mirrors `notify.TimeMuteStage` and `TimeActiveStage`).

use std::collections::HashMap;
use std::sync::Arc;

use futures::future::BoxFuture;

use super::{NotifyCtx, Stage, StageResult};
use crate::alert::Alert;
use crate::timeinterval::NamedTimeInterval;

/// Named intervals by name.
pub type Intervals = Arc<HashMap<String, NamedTimeInterval>>;

fn inside(intervals: &Intervals, names: &[String], ctx: &NotifyCtx) -> bool {
    names
        .iter()
        .filter_map(|n| intervals.get(n))
        .any(|i| i.contains(ctx.now))
}

/// Mutes inside the route's mute time intervals.
pub struct TimeMuteStage(pub Intervals);

impl Stage for TimeMuteStage {
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyCtx,
        alerts: Vec<Arc<Alert>>,
    ) -> BoxFuture<'a, StageResult> {
        Box::pin(async move {
            if inside(&self.0, &ctx.mute_time_intervals, ctx) {
                return Ok(Vec::new());
            }
            Ok(alerts)
        })
    }
}

/// Mutes outside the route's active time intervals (when it has any).
pub struct TimeActiveStage(pub Intervals);

impl Stage for TimeActiveStage {
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyCtx,
        alerts: Vec<Arc<Alert>>,
    ) -> BoxFuture<'a, StageResult> {
        Box::pin(async move {
            if ctx.active_time_intervals.is_empty()
                || inside(&self.0, &ctx.active_time_intervals, ctx)
            {
                return Ok(alerts);
            }
            Ok(Vec::new())
        })
    }
}
