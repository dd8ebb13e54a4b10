//! A periodic refresh loop shared by HTTP and DNS discovery (Prometheus's `refresh` package).

use std::future::Future;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::DiscoveryError;
use crate::targetgroup::TargetGroup;

/// Something that can list its current target groups.
pub(crate) trait Refresh: Send {
    /// The current groups (with empty groups for sources that went away).
    fn refresh(&mut self) -> impl Future<Output = Result<Vec<TargetGroup>, DiscoveryError>> + Send;
}

/// Refreshes at once and then every `interval`, sending what comes back. A failed refresh is
/// logged and sends nothing, so the previous groups stay in place.
pub(crate) async fn run<R: Refresh>(
    mechanism: &'static str,
    interval: Duration,
    tx: mpsc::Sender<Vec<TargetGroup>>,
    cancel: CancellationToken,
    mut source: R,
) {
    let mut ticker = tokio::time::interval(interval.max(Duration::from_millis(1)));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let result = tokio::select! {
            () = cancel.cancelled() => return,
            r = source.refresh() => r,
        };
        match result {
            Ok(groups) => {
                tokio::select! {
                    () = cancel.cancelled() => return,
                    r = tx.send(groups) => if r.is_err() { return },
                }
            }
            Err(err) => tracing::error!(mechanism, %err, "Unable to refresh target groups"),
        }
    }
}
