//! The notification log: for each aggregation group and receiver integration, which alerts
//! were last notified as firing and resolved, and when; kept for the retention, each entry
//! fsynced to an append-only log before the notification counts as done and compacted into a
//! snapshot under the storage path, so a restart sends no duplicate (mirrors Alertmanager's
//! `nflog/nflog.go`).

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::error::StateError;
use crate::metrics::StateMetrics;
use crate::state_log::{Durable, StateLog};

/// Which integration of which receiver.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReceiverKey {
    /// The receiver's name.
    pub group_name: String,
    /// The integration's type (`webhook`, `email`...).
    pub integration: String,
    /// Its position among the receiver's integrations.
    pub idx: u32,
}

impl fmt::Display for ReceiverKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}/{}", self.group_name, self.integration, self.idx)
    }
}

/// One log entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The aggregation group's key.
    pub group_key: String,
    /// The receiver integration.
    pub receiver: ReceiverKey,
    /// Hashes of the alerts notified as firing.
    pub firing: Vec<u64>,
    /// Hashes of the alerts notified as resolved.
    pub resolved: Vec<u64>,
    /// When the notification was sent.
    pub timestamp: Timestamp,
    /// When the entry may be dropped.
    pub expires_at: Timestamp,
}

impl Entry {
    /// Whether every hash of `set` is among the notified firing alerts.
    #[must_use]
    pub fn is_firing_subset(&self, set: &[u64]) -> bool {
        set.iter().all(|h| self.firing.contains(h))
    }

    /// Whether every hash of `set` is among the notified resolved alerts.
    #[must_use]
    pub fn is_resolved_subset(&self, set: &[u64]) -> bool {
        set.iter().all(|h| self.resolved.contains(h))
    }
}

/// Shared handle to the log.
pub type NflogRef = Arc<Nflog>;

/// The notification log.
pub struct Nflog {
    entries: Mutex<Entries>,
    log: std::sync::OnceLock<StateLog>,
    path: Option<PathBuf>,
    retention: SignedDuration,
    metrics: std::sync::OnceLock<Arc<StateMetrics>>,
    /// Bumped at every change (the cluster publishes the log when it moved).
    version: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct Entries {
    by_key: HashMap<String, Entry>,
    /// Changed since the last snapshot.
    dirty: bool,
}

impl Entries {
    /// Keeps `e` unless an entry for its group and receiver is as new; whether it was kept.
    fn merge(&mut self, e: Entry) -> bool {
        let k = key(&e.group_key, &e.receiver);
        if self
            .by_key
            .get(&k)
            .is_some_and(|old| old.timestamp >= e.timestamp)
        {
            return false;
        }
        self.by_key.insert(k, e);
        self.dirty = true;
        true
    }
}

fn key(group_key: &str, r: &ReceiverKey) -> String {
    format!("{group_key}:{r}")
}

impl Nflog {
    /// An empty log keeping entries for `retention`, persisted at `path`.
    #[must_use]
    pub fn new(path: Option<PathBuf>, retention: std::time::Duration) -> Self {
        Self {
            entries: Mutex::new(Entries::default()),
            log: std::sync::OnceLock::new(),
            path,
            retention: SignedDuration::try_from(retention).unwrap_or(SignedDuration::MAX),
            metrics: std::sync::OnceLock::new(),
            version: 0.into(),
        }
    }

    /// A number that changes whenever an entry is added, replaced or dropped.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn bump(&self) {
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Counts queries, snapshots and propagated gossip on `m` from now on.
    pub fn instrument(&self, m: Arc<StateMetrics>) {
        let _ = self.metrics.set(m);
    }

    /// Reads the snapshot and replays the log after it (when the log has a path), then
    /// opens the log for the appends of [`Nflog::log`] and [`Nflog::merge`].
    ///
    /// # Errors
    /// An unreadable or corrupt snapshot, an unreadable log directory.
    pub fn load(&self) -> Result<usize, StateError> {
        let Some(path) = &self.path else { return Ok(0) };
        let mut m = self.entries.lock();
        let log = crate::state_log::load_beside(path, |e: Entry| {
            m.merge(e);
        })?;
        let _ = self.log.set(log);
        Ok(m.by_key.len())
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
        let started = std::time::Instant::now();
        crate::state_log::write_snapshot(
            path,
            self.log.get(),
            "notification",
            || self.entries.lock(),
            |m| {
                if !m.dirty {
                    return None;
                }
                m.dirty = false;
                Some(m.by_key.values().cloned().collect::<Vec<_>>())
            },
            |bytes| {
                if let Some(metrics) = self.metrics.get() {
                    metrics.snapshot(started, bytes);
                }
            },
        )
    }

    /// The entry of a group and receiver integration.
    #[must_use]
    pub fn query(&self, group_key: &str, r: &ReceiverKey) -> Option<Entry> {
        let started = std::time::Instant::now();
        let e = self.entries.lock().by_key.get(&key(group_key, r)).cloned();
        if let Some(m) = self.metrics.get() {
            // Alertmanager counts a query without a result as an error ("not found").
            m.query(started, e.is_none());
        }
        e
    }

    /// Records a notification; the answer resolves once the entry is on disk (at once
    /// without a log).
    pub fn log(
        &self,
        r: &ReceiverKey,
        group_key: &str,
        firing: Vec<u64>,
        resolved: Vec<u64>,
    ) -> Durable {
        let now = Timestamp::now();
        let e = Entry {
            group_key: group_key.to_owned(),
            receiver: r.clone(),
            firing,
            resolved,
            timestamp: now,
            expires_at: now.checked_add(self.retention).unwrap_or(now),
        };
        let mut m = self.entries.lock();
        let durable = match self.log.get() {
            Some(log) => log.append(std::slice::from_ref(&e)),
            None => Durable::done(),
        };
        m.by_key.insert(key(group_key, r), e);
        m.dirty = true;
        self.bump();
        durable
    }

    /// Every entry (the state a peer gossips).
    #[must_use]
    pub fn entries(&self) -> Vec<Entry> {
        self.entries.lock().by_key.values().cloned().collect()
    }

    /// Takes entries from a peer, keeping per (receiver, group key) the newest timestamp;
    /// the changed ones go to the log. Returns how many changed.
    pub fn merge(&self, list: Vec<Entry>) -> usize {
        let mut m = self.entries.lock();
        let changed: Vec<Entry> = list.into_iter().filter(|e| m.merge(e.clone())).collect();
        if !changed.is_empty() {
            self.bump();
            if let Some(log) = self.log.get() {
                // Not waited for: a peer's entry lost in a crash comes back with its state.
                drop(log.append(&changed));
            }
            if let Some(metrics) = self.metrics.get() {
                metrics.propagated.inc_by(changed.len() as f64);
            }
        }
        changed.len()
    }

    /// Drops expired entries; returns how many.
    pub fn gc(&self, now: Timestamp) -> usize {
        let mut m = self.entries.lock();
        let before = m.by_key.len();
        m.by_key.retain(|_, e| e.expires_at > now);
        let n = before - m.by_key.len();
        if n > 0 {
            m.dirty = true;
            self.bump();
        }
        n
    }

    /// How many entries there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.lock().by_key.len()
    }

    /// Whether the log is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ReceiverKey {
        ReceiverKey {
            group_name: "hook".to_owned(),
            integration: "webhook".to_owned(),
            idx: 0,
        }
    }

    fn open(path: &std::path::Path) -> Nflog {
        let n = Nflog::new(
            Some(path.to_path_buf()),
            std::time::Duration::from_secs(3600),
        );
        n.load().unwrap();
        n
    }

    /// An entry acknowledged by the log is there after the process is gone (no snapshot
    /// written), after a snapshot compacted the log, and next to a torn last record.
    #[test]
    fn logged_entries_survive_without_a_snapshot_and_after_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nflog");
        let log_dir = crate::state_log::dir_beside(&path);
        {
            let n = open(&path);
            futures::executor::block_on(n.log(&key(), "{}:{a=\"1\"}", vec![1, 2], vec![]).wait())
                .unwrap();
            futures::executor::block_on(n.log(&key(), "{}:{a=\"2\"}", vec![3], vec![4]).wait())
                .unwrap();
        }
        assert!(!path.exists(), "no snapshot was written");
        let n = open(&path);
        assert_eq!(n.len(), 2);
        let e = n.query("{}:{a=\"2\"}", &key()).unwrap();
        assert_eq!((e.firing, e.resolved), (vec![3], vec![4]));

        // A torn record after the acknowledged ones is skipped.
        let segment = std::fs::read_dir(&log_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| std::fs::metadata(p).unwrap().len() > 0)
            .unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&segment)
            .unwrap();
        std::io::Write::write_all(&mut f, b"[{\"group_key\":\"torn").unwrap();
        drop(f);
        let n = open(&path);
        assert_eq!(n.len(), 2);

        // A snapshot compacts the log: its segments are gone, the entries stay.
        n.snapshot().unwrap();
        assert!(path.exists());
        let sizes: u64 = std::fs::read_dir(&log_dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert_eq!(sizes, 0, "only the new, empty segment is left");
        drop(n);
        assert_eq!(open(&path).len(), 2);
    }
}
