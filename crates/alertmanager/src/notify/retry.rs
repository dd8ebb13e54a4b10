//! Sends through an integration, retrying with exponential backoff (500 ms, ×1.5, at most
//! 1 min, ±50 % jitter) until it succeeds, fails permanently or the deadline passes; drops
//! resolved alerts for integrations without `send_resolved` (mirrors `notify.RetryStage`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::{Integration, NotifyCtx, NotifyError, Stage, StageResult};
use crate::alert::{Alert, is_zero};
use crate::metrics::Metrics;

/// The retry stage of one receiver integration.
pub struct RetryStage {
    /// The integration.
    pub integration: Integration,
    /// The receiver's name (for messages).
    pub group_name: String,
    /// Counters and latency.
    pub metrics: Arc<Metrics>,
    /// The external URL put in notifications.
    pub external_url: String,
}

/// Go's `regexp.QuoteMeta`, which Alertmanager applies to the receiver's name in the data.
#[must_use]
pub fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The notification data of `alerts` for the group in `ctx`. An alert not resolved when the
/// group flushed (`ctx.now`) is sent as firing, without its end time (Alertmanager zeroes
/// `EndsAt` of the alerts still firing at the flush).
#[must_use]
pub fn data(ctx: &NotifyCtx, alerts: &[Arc<Alert>], external_url: &str) -> notifiers::Data {
    let now = jiff::Timestamp::now();
    let list = alerts
        .iter()
        .map(|a| {
            notifiers::Alert::new(
                a.labels.clone(),
                a.annotations.clone(),
                a.starts_at,
                (a.resolved_at(ctx.now) && !is_zero(a.ends_at)).then_some(a.ends_at),
                a.generator_url.clone(),
                now,
            )
        })
        .collect();
    notifiers::Data::new(
        &quote_meta(&ctx.receiver),
        ctx.group_labels.clone(),
        list,
        external_url,
    )
}

fn jitter(d: Duration) -> Duration {
    // ±50 %: a cheap pseudo-random factor from the clock.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_nanos());
    let factor = 0.5 + f64::from(nanos % 1000) / 1000.0;
    d.mul_f64(factor)
}

impl Stage for RetryStage {
    fn exec<'a>(
        &'a self,
        ctx: &'a mut NotifyCtx,
        alerts: Vec<Arc<Alert>>,
    ) -> BoxFuture<'a, StageResult> {
        Box::pin(async move {
            // A notification counts once (failed once, after its last attempt); each attempt
            // counts as a request (Alertmanager 0.25's two families).
            let name = self.integration.name;
            self.metrics.notifications.with_label_values(&[name]).inc();
            let r = self.attempts(ctx, alerts).await;
            if r.is_err() {
                self.metrics
                    .notifications_failed
                    .with_label_values(&[name])
                    .inc();
            }
            r
        })
    }
}

impl RetryStage {
    async fn attempts(&self, ctx: &mut NotifyCtx, alerts: Vec<Arc<Alert>>) -> StageResult {
        {
            let data = if self.integration.send_resolved {
                data(ctx, &alerts, &self.external_url)
            } else {
                if ctx.firing.is_empty() {
                    return Ok(alerts);
                }
                let firing: Vec<Arc<Alert>> = alerts
                    .iter()
                    .filter(|a| !a.resolved_at(ctx.now))
                    .cloned()
                    .collect();
                data(ctx, &firing, &self.external_url)
            };
            let name = self.integration.name;
            let what = format!("{}/{}[{}]", self.group_name, name, self.integration.index);
            let nctx = notifiers::NotifyContext {
                group_key: ctx.group_key.clone(),
            };
            let mut backoff = Duration::from_millis(500);
            let mut last: Option<NotifyError> = None;
            for attempt in 1u32.. {
                let started = Instant::now();
                let res = tokio::select! {
                    r = self.integration.notifier.notify(&nctx, &data) => r.map_err(|e| NotifyError { retryable: e.retry, message: e.message }),
                    () = tokio::time::sleep_until(ctx.deadline) => Err(NotifyError::retryable("context deadline exceeded")),
                };
                self.metrics
                    .notification_latency
                    .with_label_values(&[name])
                    .observe(started.elapsed().as_secs_f64());
                self.metrics
                    .notification_requests
                    .with_label_values(&[name])
                    .inc();
                match res {
                    Ok(()) => return Ok(alerts),
                    Err(e) => {
                        self.metrics
                            .notification_requests_failed
                            .with_label_values(&[name])
                            .inc();
                        if !e.retryable {
                            return Err(NotifyError::permanent(format!(
                                "{what}: notify retry canceled due to unrecoverable error after {attempt} attempts: {e}"
                            )));
                        }
                        if last.as_ref() != Some(&e) {
                            tracing::warn!(attempts = attempt, err = %e, "Notify attempt failed, will retry later");
                        }
                        last = Some(e);
                    }
                }
                let wait = jitter(backoff);
                backoff = (backoff.mul_f64(1.5)).min(Duration::from_secs(60));
                if tokio::time::Instant::now() + wait >= ctx.deadline {
                    let e = last.take().map_or_else(String::new, |e| e.message);
                    return Err(NotifyError::retryable(format!(
                        "{what}: notify retry canceled after {attempt} attempts: {e}"
                    )));
                }
                tokio::time::sleep(wait).await;
            }
            unreachable!("the loop returns")
        }
    }
}
