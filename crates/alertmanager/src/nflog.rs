//! The notification log: for each aggregation group and receiver integration, which alerts
//! were last notified as firing and resolved, and when; kept for the retention and in a
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
use crate::state_file;

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
    entries: Mutex<HashMap<String, Entry>>,
    path: Option<PathBuf>,
    retention: SignedDuration,
    metrics: std::sync::OnceLock<Arc<StateMetrics>>,
}

fn key(group_key: &str, r: &ReceiverKey) -> String {
    format!("{group_key}:{r}")
}

impl Nflog {
    /// An empty log keeping entries for `retention`, persisted at `path`.
    #[must_use]
    pub fn new(path: Option<PathBuf>, retention: std::time::Duration) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            path,
            retention: SignedDuration::try_from(retention).unwrap_or(SignedDuration::MAX),
            metrics: std::sync::OnceLock::new(),
        }
    }

    /// Counts queries, snapshots and propagated gossip on `m` from now on.
    pub fn instrument(&self, m: Arc<StateMetrics>) {
        let _ = self.metrics.set(m);
    }

    /// Reads the snapshot, when there is one.
    ///
    /// # Errors
    /// An unreadable or corrupt snapshot.
    pub fn load(&self) -> Result<usize, StateError> {
        let Some(path) = &self.path else { return Ok(0) };
        let list: Vec<Entry> = state_file::read(path)?.unwrap_or_default();
        let mut m = self.entries.lock();
        for e in list {
            m.insert(key(&e.group_key, &e.receiver), e);
        }
        Ok(m.len())
    }

    fn persist(&self, m: &HashMap<String, Entry>) {
        let Some(path) = &self.path else { return };
        let started = std::time::Instant::now();
        let list: Vec<&Entry> = m.values().collect();
        match state_file::write(path, &list) {
            Ok(bytes) => {
                if let Some(metrics) = self.metrics.get() {
                    metrics.snapshot(started, bytes);
                }
            }
            Err(e) => tracing::error!(err = %e, "writing the notification log snapshot"),
        }
    }

    /// The entry of a group and receiver integration.
    #[must_use]
    pub fn query(&self, group_key: &str, r: &ReceiverKey) -> Option<Entry> {
        let started = std::time::Instant::now();
        let e = self.entries.lock().get(&key(group_key, r)).cloned();
        if let Some(m) = self.metrics.get() {
            // Alertmanager counts a query without a result as an error ("not found").
            m.query(started, e.is_none());
        }
        e
    }

    /// Records a notification (written to the snapshot before returning).
    pub fn log(&self, r: &ReceiverKey, group_key: &str, firing: Vec<u64>, resolved: Vec<u64>) {
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
        m.insert(key(group_key, r), e);
        self.persist(&m);
    }

    /// Every entry (the state a peer gossips).
    #[must_use]
    pub fn entries(&self) -> Vec<Entry> {
        self.entries.lock().values().cloned().collect()
    }

    /// Takes entries from a peer, keeping per (receiver, group key) the newest timestamp.
    /// Returns how many changed.
    pub fn merge(&self, list: Vec<Entry>) -> usize {
        let mut m = self.entries.lock();
        let mut changed = 0;
        for e in list {
            let k = key(&e.group_key, &e.receiver);
            if m.get(&k).is_some_and(|old| old.timestamp >= e.timestamp) {
                continue;
            }
            m.insert(k, e);
            changed += 1;
        }
        if changed > 0 {
            self.persist(&m);
            if let Some(metrics) = self.metrics.get() {
                metrics.propagated.inc_by(changed as f64);
            }
        }
        changed
    }

    /// Drops expired entries; returns how many.
    pub fn gc(&self, now: Timestamp) -> usize {
        let mut m = self.entries.lock();
        let before = m.len();
        m.retain(|_, e| e.expires_at > now);
        let n = before - m.len();
        if n > 0 {
            self.persist(&m);
        }
        n
    }

    /// How many entries there are.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.lock().len()
    }

    /// Whether the log is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
