//! The notification pipeline: small stages behind one trait, run in order ([`MultiStage`]),
//! in parallel ([`FanoutStage`]) or by receiver ([`RoutingStage`]); integrations behind
//! [`Notifier`] (mirrors Alertmanager's `notify/notify.go`).

pub mod dedup;
pub mod mute;
pub mod pipeline;
pub mod retry;
pub mod set_notifies;
pub mod settle;
pub mod time;
pub mod wait;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use jiff::Timestamp;

use crate::alert::Alert;
use crate::labels::LabelSet;

/// What a stage knows about the notification under way (Alertmanager's context values).
#[derive(Debug, Clone)]
pub struct NotifyCtx {
    /// When the group flushed.
    pub now: Timestamp,
    /// The aggregation group's key.
    pub group_key: String,
    /// The aggregation group's labels.
    pub group_labels: LabelSet,
    /// The receiver's name.
    pub receiver: String,
    /// The route's repeat interval.
    pub repeat_interval: Duration,
    /// The route's mute time intervals.
    pub mute_time_intervals: Vec<String>,
    /// The route's active time intervals.
    pub active_time_intervals: Vec<String>,
    /// Hashes of the firing alerts (set by the dedup stage).
    pub firing: Vec<u64>,
    /// Hashes of the resolved alerts (set by the dedup stage).
    pub resolved: Vec<u64>,
    /// The deadline of the whole notification.
    pub deadline: tokio::time::Instant,
}

/// A failed stage or notification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct NotifyError {
    /// Whether trying again may succeed.
    pub retryable: bool,
    /// What happened.
    pub message: String,
}

impl NotifyError {
    /// An error worth retrying.
    #[must_use]
    pub fn retryable(message: impl Into<String>) -> Self {
        Self {
            retryable: true,
            message: message.into(),
        }
    }

    /// An error not worth retrying.
    #[must_use]
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            retryable: false,
            message: message.into(),
        }
    }
}

/// What a stage returns: the alerts for the next stage.
pub type StageResult = Result<Vec<Arc<Alert>>, NotifyError>;

/// One step of the pipeline.
pub trait Stage: Send + Sync {
    /// Processes `alerts`, possibly updating `ctx`, and returns those to pass on.
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyCtx,
        alerts: Vec<Arc<Alert>>,
    ) -> BoxFuture<'a, StageResult>;
}

/// Shared handle to a stage.
pub type StageRef = Arc<dyn Stage>;

pub use notifiers::{Integration, Notifier};

/// Stages run in order; an empty alert list ends the run.
pub struct MultiStage(pub Vec<StageRef>);

impl Stage for MultiStage {
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyCtx,
        mut alerts: Vec<Arc<Alert>>,
    ) -> BoxFuture<'a, StageResult> {
        Box::pin(async move {
            for s in &self.0 {
                if alerts.is_empty() {
                    return Ok(Vec::new());
                }
                alerts = s.exec(ctx, alerts).await?;
            }
            Ok(alerts)
        })
    }
}

/// Stages run in parallel, each on its own copy of the context; errors are joined.
pub struct FanoutStage(pub Vec<StageRef>);

impl Stage for FanoutStage {
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyCtx,
        alerts: Vec<Arc<Alert>>,
    ) -> BoxFuture<'a, StageResult> {
        Box::pin(async move {
            let runs = self.0.iter().map(|s| {
                let mut c = ctx.clone();
                let a = alerts.clone();
                async move { s.exec(&mut c, a).await }
            });
            let errors: Vec<NotifyError> = futures::future::join_all(runs)
                .await
                .into_iter()
                .filter_map(Result::err)
                .collect();
            if errors.is_empty() {
                return Ok(Vec::new());
            }
            Err(NotifyError {
                retryable: errors.iter().any(|e| e.retryable),
                message: errors
                    .iter()
                    .map(|e| e.message.as_str())
                    .collect::<Vec<_>>()
                    .join("; "),
            })
        })
    }
}

/// The stage of the receiver named in the context.
pub struct RoutingStage(pub HashMap<String, StageRef>);

impl Stage for RoutingStage {
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyCtx,
        alerts: Vec<Arc<Alert>>,
    ) -> BoxFuture<'a, StageResult> {
        Box::pin(async move {
            match self.0.get(&ctx.receiver) {
                Some(s) => s.exec(ctx, alerts).await,
                None => Err(NotifyError::permanent(format!(
                    "stage for receiver missing: {}",
                    ctx.receiver
                ))),
            }
        })
    }
}

/// The hash of an alert's labels the notification log records: xxHash64 of the sorted
/// names and values, each followed by 0xff.
#[must_use]
pub fn hash_alert(a: &Alert) -> u64 {
    let mut b = Vec::with_capacity(64);
    for (n, v) in &a.labels {
        b.extend_from_slice(n.as_bytes());
        b.push(0xff);
        b.extend_from_slice(v.as_bytes());
        b.push(0xff);
    }
    xxhash_rust::xxh64::xxh64(&b, 0)
}
