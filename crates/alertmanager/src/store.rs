//! The alerts store: alerts by fingerprint, merged on re-send, resolved ones collected, and a
//! feed of every accepted alert for the dispatcher and the inhibitor; with a snapshot under
//! the storage path and an append-only log of accepted alerts (`state_log`), so alerts,
//! inhibitions and groups survive a crash (mirrors Alertmanager's `provider/mem/mem.go`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;
use parking_lot::Mutex;
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};

use crate::alert::Alert;
use crate::error::StateError;
use crate::marker::Marker;
use crate::state_log::{Durable, StateLog};

/// Shared handle to the store.
pub type AlertsRef = Arc<Alerts>;

/// Alerts by fingerprint, with subscribers.
pub struct Alerts {
    inner: Mutex<Inner>,
    marker: Arc<Marker>,
    path: Option<PathBuf>,
    log: std::sync::OnceLock<StateLog>,
    fsync: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct Inner {
    alerts: HashMap<u64, Arc<Alert>>,
    subscribers: Vec<UnboundedSender<Arc<Alert>>>,
    dirty: bool,
}

/// A stored alert as the snapshot writes it (the one shared copy, not a clone).
struct Snapshotted(Arc<Alert>);

impl serde::Serialize for Snapshotted {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl Alerts {
    /// An empty store; with `path`, its snapshot file (read by [`Alerts::load`]).
    #[must_use]
    pub fn new(marker: Arc<Marker>, path: Option<PathBuf>) -> Self {
        Self {
            inner: Mutex::new(Inner::default()),
            marker,
            path,
            log: std::sync::OnceLock::new(),
            fsync: std::sync::atomic::AtomicBool::new(true),
        }
    }

    /// Whether accepted alerts are fsynced before [`Alerts::put`]'s answer resolves
    /// (`--storage.alerts-fsync`) or written to the log file before it and synced in the
    /// background (the server's default: they survive a crash of the process, and a crash of
    /// the machine loses at most about the last second); see [`StateLog::set_fsync`].
    pub fn set_fsync(&self, on: bool) {
        self.fsync.store(on, std::sync::atomic::Ordering::Relaxed);
        if let Some(log) = self.log.get() {
            log.set_fsync(on);
        }
    }

    /// Reads the snapshot and replays the log after it (when the store has a path), then
    /// opens the log for the appends of [`Alerts::put`]. Returns how many alerts it holds.
    ///
    /// # Errors
    /// An unreadable or corrupt snapshot, an unreadable log directory.
    pub fn load(&self) -> Result<usize, StateError> {
        let Some(path) = &self.path else { return Ok(0) };
        let mut inner = self.inner.lock();
        // The log holds each alert as it was stored (merged): the last record of an alert is
        // its state, so a replay inserts without merging.
        let log = crate::state_log::load_beside(path, |a: Alert| {
            inner.alerts.insert(a.fingerprint(), Arc::new(a));
        })?;
        log.set_fsync(self.fsync.load(std::sync::atomic::Ordering::Relaxed));
        let _ = self.log.set(log);
        Ok(inner.alerts.len())
    }

    /// Bytes appended to the log since the last snapshot (0 without a log).
    #[must_use]
    pub fn log_bytes(&self) -> u64 {
        self.log.get().map_or(0, StateLog::bytes)
    }

    /// Writes the snapshot when something changed since the last one, then removes the log
    /// segments it covers.
    ///
    /// # Errors
    /// The file cannot be written.
    pub fn snapshot(&self) -> Result<(), StateError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        crate::state_log::write_snapshot(
            path,
            self.log.get(),
            "alerts",
            || self.inner.lock(),
            |inner| {
                if !inner.dirty {
                    return None;
                }
                inner.dirty = false;
                Some(
                    inner
                        .alerts
                        .values()
                        .map(|a| Snapshotted(a.clone()))
                        .collect::<Vec<_>>(),
                )
            },
            |_| {},
        )
    }

    /// Stores alerts (merging each with a stored copy whose activity overlaps), passes them
    /// to the subscribers and appends them to the log. The answer resolves once they are on
    /// disk (at once without a log). Each stored alert is one shared copy: the store, the
    /// subscribers' aggregation groups and inhibition sources hold the same `Arc`.
    pub fn put(&self, alerts: Vec<Alert>) -> Durable {
        let mut inner = self.inner.lock();
        inner.dirty = true;
        let mut stored = Vec::with_capacity(alerts.len());
        for mut a in alerts {
            let fp = a.fingerprint();
            if let Some(old) = inner.alerts.get(&fp)
                && ((a.ends_at > old.starts_at && a.ends_at < old.ends_at)
                    || (a.starts_at > old.starts_at && a.starts_at < old.ends_at))
            {
                a = old.merge_owned(a);
            }
            let a = Arc::new(a);
            inner.alerts.insert(fp, a.clone());
            inner.subscribers.retain(|s| s.send(a.clone()).is_ok());
            stored.push(a);
        }
        match self.log.get() {
            Some(log) if !stored.is_empty() => {
                log.append(&stored.iter().map(|a| &**a).collect::<Vec<&Alert>>())
            }
            _ => Durable::done(),
        }
    }

    /// The stored alert with this fingerprint.
    #[must_use]
    pub fn get(&self, fp: u64) -> Option<Arc<Alert>> {
        self.inner.lock().alerts.get(&fp).cloned()
    }

    /// All stored alerts.
    #[must_use]
    pub fn list(&self) -> Vec<Arc<Alert>> {
        self.inner.lock().alerts.values().cloned().collect()
    }

    /// A feed of every alert stored from now on, starting with those stored already.
    #[must_use]
    pub fn subscribe(&self) -> UnboundedReceiver<Arc<Alert>> {
        let (tx, rx) = unbounded_channel();
        let mut inner = self.inner.lock();
        for a in inner.alerts.values() {
            let _ = tx.send(a.clone());
        }
        inner.subscribers.push(tx);
        rx
    }

    /// Removes alerts resolved at `now` and their markers; returns how many.
    pub fn gc(&self, now: Timestamp) -> usize {
        let mut inner = self.inner.lock();
        let before = inner.alerts.len();
        let gone: Vec<u64> = inner
            .alerts
            .iter()
            .filter(|(_, a)| a.resolved_at(now))
            .map(|(fp, _)| *fp)
            .collect();
        for fp in &gone {
            inner.alerts.remove(fp);
            self.marker.delete(*fp);
        }
        if !gone.is_empty() {
            inner.dirty = true;
        }
        before - inner.alerts.len()
    }

    /// How many alerts are firing and how many resolved at `now`.
    #[must_use]
    pub fn counts(&self, now: Timestamp) -> (usize, usize) {
        let inner = self.inner.lock();
        let resolved = inner.alerts.values().filter(|a| a.resolved_at(now)).count();
        (inner.alerts.len() - resolved, resolved)
    }
}
