//! The configuration's `kubernetes_operator` section in the server: starts, restarts and stops
//! the watch of the Operator's resources (the `operator` crate) as the configuration changes,
//! and wakes the reloader when what it generates changes, so that ServiceMonitors, PodMonitors
//! and PrometheusRules reach the scrape and rules managers without a restart.

use std::sync::Arc;

use operator::Generated;
use operator::server::{Running, start};
use parking_lot::Mutex;
use tokio::sync::Notify;

/// The running watch, if the configuration has the section.
#[derive(Default)]
pub struct OperatorWatch {
    running: Mutex<Option<Running>>,
    /// Notified on every change of the running watch's output.
    pub changed: Arc<Notify>,
}

impl OperatorWatch {
    /// Makes the watch follow `cfg`: started when the section appears or changes (the old
    /// one stopped), stopped when it goes. Returns what the watch has generated so far.
    pub fn sync(&self, cfg: &config::Config) -> Generated {
        let mut running = self.running.lock();
        let Some(section) = &cfg.kubernetes_operator else {
            *running = None;
            return Generated::default();
        };
        if running.as_ref().is_none_or(|r| r.section != *section) {
            tracing::info!("watching the Prometheus Operator's resources");
            let r = start(section);
            let mut rx = r.generated.clone();
            let (changed, cancel) = (self.changed.clone(), r.cancel.clone());
            tokio::spawn(async move {
                loop {
                    tokio::select! {
                        () = cancel.cancelled() => return,
                        res = rx.changed() => if res.is_err() { return },
                    }
                    changed.notify_one();
                }
            });
            *running = Some(r);
        }
        running
            .as_ref()
            .map(|r| r.generated.borrow().clone())
            .unwrap_or_default()
    }

    /// What the running watch has generated (nothing without the section).
    pub fn current(&self) -> Generated {
        self.running
            .lock()
            .as_ref()
            .map(|r| r.generated.borrow().clone())
            .unwrap_or_default()
    }

    /// Stops the watch.
    pub fn stop(&self) {
        *self.running.lock() = None;
    }
}

/// The Alertmanager's configuration hook for `section`: the watch of the AlertmanagerConfig
/// objects it selects (keep the returned [`Running`] alive), the file's text with them merged
/// in, and a reload on every change.
pub fn alertmanager_hook(section: &config::OperatorConfig) -> (alertmanager::ConfigHook, Running) {
    let running = start(section);
    let changed = Arc::new(Notify::new());
    let rx = running.generated.clone();
    let file_rx = rx.clone();
    let options = operator::server::merge_options(section);
    let transform = move |text: &str| {
        let generated = file_rx.borrow().clone();
        operator::server::alertmanager_config_text(
            &generated,
            text,
            std::path::Path::new("alertmanager.yml"),
            &options,
        )
    };
    let (notify, cancel, mut rx) = (changed.clone(), running.cancel.clone(), rx);
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = cancel.cancelled() => return,
                res = rx.changed() => if res.is_err() { return },
            }
            notify.notify_one();
        }
    });
    (
        alertmanager::ConfigHook {
            transform: Arc::new(transform),
            changed,
        },
        running,
    )
}
