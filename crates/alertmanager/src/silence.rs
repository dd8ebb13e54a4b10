//! Silences: create, update (keeping or replacing the id as Alertmanager does), expire,
//! query, match alerts, collect those expired longer than the retention, and keep them under
//! the storage path: each change fsynced to the append-only state log before it is answered,
//! compacted into a snapshot at maintenance (mirrors Alertmanager's `silence/silence.go`).

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use model::matcher::MatchOp;
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::error::{SilenceError, StateError};
use crate::labels::{LabelSet, is_valid_label_name};
use crate::matcher::Matcher;
use crate::metrics::StateMetrics;
use crate::state_log::{Durable, StateLog};

/// A matcher as a silence stores it (the API's shape).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SilenceMatcher {
    /// Label name.
    pub name: String,
    /// Value or expression.
    pub value: String,
    /// Whether `value` is a regular expression.
    #[serde(rename = "isRegex")]
    pub is_regex: bool,
    /// Whether the matcher is positive (`=`, `=~`).
    #[serde(rename = "isEqual", default = "yes")]
    pub is_equal: bool,
}

fn yes() -> bool {
    true
}

impl SilenceMatcher {
    /// The compiled matcher.
    ///
    /// # Errors
    /// An invalid name or expression.
    pub fn compile(&self) -> Result<Matcher, crate::error::MatcherError> {
        let op = match (self.is_regex, self.is_equal) {
            (false, true) => MatchOp::Equal,
            (false, false) => MatchOp::NotEqual,
            (true, true) => MatchOp::RegexMatch,
            (true, false) => MatchOp::RegexNoMatch,
        };
        Matcher::new(op, &self.name, &self.value)
    }
}

/// A silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Silence {
    /// Its id (a UUID).
    pub id: String,
    /// All must match for an alert to be silenced.
    pub matchers: Vec<SilenceMatcher>,
    /// From when it applies.
    pub starts_at: Timestamp,
    /// Until when it applies.
    pub ends_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
    /// Author.
    pub created_by: String,
    /// Why.
    pub comment: String,
}

/// A silence's state at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SilenceState {
    /// Applies now.
    Active,
    /// Starts later.
    Pending,
    /// Ended.
    Expired,
}

impl SilenceState {
    /// The API's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Pending => "pending",
            Self::Expired => "expired",
        }
    }
}

impl Silence {
    /// The state at `now`.
    #[must_use]
    pub fn state(&self, now: Timestamp) -> SilenceState {
        if now < self.starts_at {
            SilenceState::Pending
        } else if now < self.ends_at {
            SilenceState::Active
        } else {
            SilenceState::Expired
        }
    }

    fn validate(&self) -> Result<(), String> {
        if self.id.is_empty() {
            return Err("ID missing".to_owned());
        }
        if self.matchers.is_empty() {
            return Err("at least one matcher required".to_owned());
        }
        let mut all_match_empty = true;
        for (i, m) in self.matchers.iter().enumerate() {
            if !is_valid_label_name(&m.name) {
                return Err(format!(
                    "invalid label matcher {i}: invalid label name {:?}",
                    m.name
                ));
            }
            let c = m
                .compile()
                .map_err(|e| format!("invalid label matcher {i}: {e}"))?;
            all_match_empty &= c.matches("");
        }
        if all_match_empty {
            return Err("at least one matcher must not match the empty string".to_owned());
        }
        if self.ends_at < self.starts_at {
            return Err("end time must not be before start time".to_owned());
        }
        Ok(())
    }
}

struct Entry {
    silence: Silence,
    matchers: Vec<Matcher>,
}

/// Shared handle to the store.
pub type SilencesRef = Arc<Silences>;

/// The silence store.
pub struct Silences {
    inner: Mutex<HashMap<String, Entry>>,
    /// Changed since the last snapshot.
    dirty: std::sync::atomic::AtomicBool,
    log: std::sync::OnceLock<StateLog>,
    path: Option<PathBuf>,
    retention: SignedDuration,
    version: std::sync::atomic::AtomicU64,
    metrics: std::sync::OnceLock<Arc<StateMetrics>>,
}

impl Silences {
    /// An empty store keeping expired silences for `retention`, persisted at `path`.
    #[must_use]
    pub fn new(path: Option<PathBuf>, retention: std::time::Duration) -> Self {
        Self {
            inner: Mutex::new(HashMap::new()),
            dirty: false.into(),
            log: std::sync::OnceLock::new(),
            path,
            retention: SignedDuration::try_from(retention).unwrap_or(SignedDuration::MAX),
            version: 0.into(),
            metrics: std::sync::OnceLock::new(),
        }
    }

    /// Counts queries, snapshots and propagated gossip on `m` from now on.
    pub fn instrument(&self, m: Arc<StateMetrics>) {
        let _ = self.metrics.set(m);
    }

    /// Reads the snapshot and replays the log after it (when the store has a path), then
    /// opens the log for the appends of the changes.
    ///
    /// # Errors
    /// An unreadable or corrupt snapshot, an unreadable log directory.
    pub fn load(&self) -> Result<usize, StateError> {
        let Some(path) = &self.path else { return Ok(0) };
        let mut inner = self.inner.lock();
        // Each record is a silence as stored: the last one of an id is its state.
        let log = crate::state_log::load_beside(path, |s: Silence| {
            if let Ok(matchers) = s.matchers.iter().map(SilenceMatcher::compile).collect() {
                inner.insert(
                    s.id.clone(),
                    Entry {
                        silence: s,
                        matchers,
                    },
                );
            }
        })?;
        let _ = self.log.set(log);
        // The replayed log is compacted by the next snapshot.
        self.dirty
            .store(!inner.is_empty(), std::sync::atomic::Ordering::Relaxed);
        Ok(inner.len())
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
            "silences",
            || self.inner.lock(),
            |inner| {
                if !self.dirty.swap(false, std::sync::atomic::Ordering::Relaxed) {
                    return None;
                }
                Some(
                    inner
                        .values()
                        .map(|e| e.silence.clone())
                        .collect::<Vec<Silence>>(),
                )
            },
            |bytes| {
                if let Some(m) = self.metrics.get() {
                    m.snapshot(started, bytes);
                }
            },
        )
    }

    /// Marks the store changed and appends `changed` to the log.
    fn record(&self, changed: &[Silence]) -> Durable {
        self.dirty.store(true, std::sync::atomic::Ordering::Relaxed);
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        match self.log.get() {
            Some(log) if !changed.is_empty() => log.append(changed),
            _ => Durable::done(),
        }
    }

    /// A counter that changes whenever a silence changes.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stores a silence with its times cut to milliseconds, the API's precision, so a
    /// silence read back and posted again compares equal (and keeps its id).
    fn store(
        inner: &mut HashMap<String, Entry>,
        changed: &mut Vec<Silence>,
        mut s: Silence,
        now: Timestamp,
    ) -> Result<(), SilenceError> {
        s.updated_at = to_millis(now);
        s.starts_at = to_millis(s.starts_at);
        s.ends_at = to_millis(s.ends_at);
        s.validate().map_err(SilenceError::Invalid)?;
        let matchers = s
            .matchers
            .iter()
            .map(SilenceMatcher::compile)
            .collect::<Result<_, _>>()
            .map_err(|e| SilenceError::Invalid(e.to_string()))?;
        changed.push(s.clone());
        inner.insert(
            s.id.clone(),
            Entry {
                silence: s,
                matchers,
            },
        );
        Ok(())
    }

    /// Creates or updates a silence; returns its id. An update keeps the id when only what
    /// may change in its state changed (an active silence's end and comment, a pending one's
    /// times); otherwise the old silence is expired and a new one created.
    ///
    /// The change is in memory at once and on its way to the log; see
    /// [`Silences::set_durable`] to wait for it to be on disk.
    ///
    /// # Errors
    /// An unknown id, or an invalid silence.
    pub fn set(&self, s: Silence) -> Result<String, SilenceError> {
        self.set_durable(s).map(|(id, _)| id)
    }

    /// As [`Silences::set`], with the acknowledgement that resolves once the change is synced
    /// to the log (the API answers after it).
    ///
    /// # Errors
    /// An unknown id, or an invalid silence.
    pub fn set_durable(&self, mut s: Silence) -> Result<(String, Durable), SilenceError> {
        let now = Timestamp::now();
        let mut inner = self.inner.lock();
        let mut changed = Vec::new();
        let prev = inner.get(&s.id).map(|e| e.silence.clone());
        if !s.id.is_empty() && prev.is_none() {
            return Err(SilenceError::NotFound);
        }
        let mut result = Ok(());
        let mut id = s.id.clone();
        match prev {
            Some(prev) if can_update(&prev, &s, now) => {
                result = Self::store(&mut inner, &mut changed, s, now);
            }
            prev => {
                if let Some(prev) = prev
                    && prev.state(now) != SilenceState::Expired
                {
                    result = expire_locked(&mut inner, &mut changed, &prev.id, now);
                }
                if result.is_ok() {
                    s.id = uuid::Uuid::new_v4().to_string();
                    if s.starts_at < now {
                        s.starts_at = now;
                    }
                    id.clone_from(&s.id);
                    result = Self::store(&mut inner, &mut changed, s, now);
                }
            }
        }
        // What changed before an error (the old silence expired) is logged too.
        let durable = if changed.is_empty() {
            Durable::done()
        } else {
            self.record(&changed)
        };
        result.map(|()| (id, durable))
    }

    /// Expires a silence now (in memory at once; see [`Silences::expire_durable`]).
    ///
    /// # Errors
    /// An unknown id, or one already expired.
    pub fn expire(&self, id: &str) -> Result<(), SilenceError> {
        self.expire_durable(id).map(drop)
    }

    /// As [`Silences::expire`], with the acknowledgement that resolves once the change is
    /// synced to the log.
    ///
    /// # Errors
    /// An unknown id, or one already expired.
    pub fn expire_durable(&self, id: &str) -> Result<Durable, SilenceError> {
        let mut inner = self.inner.lock();
        let mut changed = Vec::new();
        expire_locked(&mut inner, &mut changed, id, Timestamp::now())?;
        Ok(self.record(&changed))
    }

    /// Takes silences from a peer: each one unknown here, or updated later than the copy
    /// here, replaces it (a merge by id keeping the newest `updated_at`). Returns how many
    /// changed.
    pub fn merge(&self, list: Vec<Silence>) -> usize {
        let mut inner = self.inner.lock();
        let mut changed = Vec::new();
        for s in list {
            if inner
                .get(&s.id)
                .is_some_and(|e| e.silence.updated_at >= s.updated_at)
            {
                continue;
            }
            let Ok(matchers) = s.matchers.iter().map(SilenceMatcher::compile).collect() else {
                tracing::warn!(id = %s.id, "ignoring a gossiped silence with invalid matchers");
                continue;
            };
            changed.push(s.clone());
            inner.insert(
                s.id.clone(),
                Entry {
                    silence: s,
                    matchers,
                },
            );
        }
        if !changed.is_empty() {
            // Not waited for: a peer's silence lost in a crash comes back with its state.
            drop(self.record(&changed));
            if let Some(m) = self.metrics.get() {
                m.propagated.inc_by(changed.len() as f64);
            }
        }
        changed.len()
    }

    /// One silence.
    #[must_use]
    pub fn get(&self, id: &str) -> Option<Silence> {
        self.inner.lock().get(id).map(|e| e.silence.clone())
    }

    /// All silences.
    #[must_use]
    pub fn list(&self) -> Vec<Silence> {
        self.inner
            .lock()
            .values()
            .map(|e| e.silence.clone())
            .collect()
    }

    /// The ids of the active and pending silences matching `labels` at `now`, sorted.
    #[must_use]
    pub fn matching(&self, labels: &LabelSet, now: Timestamp) -> (Vec<String>, Vec<String>) {
        let started = std::time::Instant::now();
        let out = self.matching_locked(labels, now);
        if let Some(m) = self.metrics.get() {
            m.query(started, false);
        }
        out
    }

    fn matching_locked(&self, labels: &LabelSet, now: Timestamp) -> (Vec<String>, Vec<String>) {
        let inner = self.inner.lock();
        let (mut active, mut pending) = (Vec::new(), Vec::new());
        for e in inner.values() {
            let st = e.silence.state(now);
            if st == SilenceState::Expired || !e.matchers.iter().all(|m| m.matches_set(labels)) {
                continue;
            }
            if st == SilenceState::Active {
                active.push(e.silence.id.clone());
            } else {
                pending.push(e.silence.id.clone());
            }
        }
        active.sort();
        pending.sort();
        (active, pending)
    }

    /// Removes silences expired for longer than the retention; returns how many.
    pub fn gc(&self, now: Timestamp) -> usize {
        let mut inner = self.inner.lock();
        let before = inner.len();
        let limit = now - self.retention;
        inner.retain(|_, e| e.silence.ends_at > limit);
        let n = before - inner.len();
        if n > 0 {
            // Compacted away at the next snapshot; a replay before it brings the collected
            // silences back expired, to be collected again.
            self.dirty.store(true, std::sync::atomic::Ordering::Relaxed);
            self.version
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        n
    }

    /// How many silences are in each state at `now`.
    #[must_use]
    pub fn counts(&self, now: Timestamp) -> [(SilenceState, usize); 3] {
        let inner = self.inner.lock();
        let count = |st| {
            inner
                .values()
                .filter(|e| e.silence.state(now) == st)
                .count()
        };
        [
            (SilenceState::Active, count(SilenceState::Active)),
            (SilenceState::Pending, count(SilenceState::Pending)),
            (SilenceState::Expired, count(SilenceState::Expired)),
        ]
    }
}

fn expire_locked(
    inner: &mut HashMap<String, Entry>,
    changed: &mut Vec<Silence>,
    id: &str,
    now: Timestamp,
) -> Result<(), SilenceError> {
    let mut sil = inner
        .get(id)
        .map(|e| e.silence.clone())
        .ok_or(SilenceError::NotFound)?;
    match sil.state(now) {
        SilenceState::Expired => return Err(SilenceError::AlreadyExpired(id.to_owned())),
        SilenceState::Active => sil.ends_at = now,
        SilenceState::Pending => {
            sil.starts_at = now;
            sil.ends_at = now;
        }
    }
    Silences::store(inner, changed, sil, now)
}

fn to_millis(t: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}

/// Whether `b` may replace `a` under the same id at `now`.
fn can_update(a: &Silence, b: &Silence, now: Timestamp) -> bool {
    if a.matchers != b.matchers {
        return false;
    }
    match a.state(now) {
        SilenceState::Active => b.starts_at == a.starts_at && b.ends_at >= now,
        SilenceState::Pending => b.starts_at >= now,
        SilenceState::Expired => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::ls;

    fn sil(matchers: &[(&str, &str, bool, bool)], start: i64, end: i64) -> Silence {
        let now = Timestamp::now();
        Silence {
            id: String::new(),
            matchers: matchers
                .iter()
                .map(|(n, v, re, eq)| SilenceMatcher {
                    name: (*n).to_owned(),
                    value: (*v).to_owned(),
                    is_regex: *re,
                    is_equal: *eq,
                })
                .collect(),
            starts_at: now + SignedDuration::from_secs(start),
            ends_at: now + SignedDuration::from_secs(end),
            updated_at: now,
            created_by: "me".to_owned(),
            comment: "c".to_owned(),
        }
    }

    #[test]
    fn matching_states_and_update_rules() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("silences");
        let s = Silences::new(Some(path.clone()), std::time::Duration::from_secs(3600));
        let active = s
            .set(sil(
                &[("job", "a.*", true, true), ("env", "dev", false, false)],
                -10,
                60,
            ))
            .unwrap();
        let pending = s.set(sil(&[("job", "api", false, true)], 30, 60)).unwrap();
        let now = Timestamp::now();
        assert_eq!(
            s.matching(&ls(&[("job", "api")]), now),
            (vec![active.clone()], vec![pending.clone()])
        );
        assert_eq!(
            s.matching(&ls(&[("job", "api"), ("env", "dev")]), now).0,
            Vec::<String>::new()
        );

        // Extending an active silence keeps its id; changing its matchers replaces it.
        let mut upd = s.get(&active).unwrap();
        upd.ends_at += SignedDuration::from_secs(60);
        assert_eq!(s.set(upd.clone()).unwrap(), active);
        upd.matchers[0].value = "b.*".to_owned();
        let replaced = s.set(upd).unwrap();
        assert_ne!(replaced, active);
        assert_eq!(
            s.get(&active).unwrap().state(Timestamp::now()),
            SilenceState::Expired
        );

        assert_eq!(s.expire(&pending), Ok(()));
        assert_eq!(
            s.expire(&pending),
            Err(SilenceError::AlreadyExpired(pending.clone()))
        );
        assert_eq!(s.expire("nope"), Err(SilenceError::NotFound));
        let mut unknown = sil(&[("a", "b", false, true)], 0, 10);
        unknown.id = "nope".to_owned();
        assert_eq!(s.set(unknown), Err(SilenceError::NotFound));
        let empty = sil(&[("a", ".*", true, true)], 0, 10);
        assert_eq!(
            s.set(empty).unwrap_err().to_string(),
            "silence invalid: at least one matcher must not match the empty string"
        );

        // A new store reads everything back (the snapshot closes the log after the appends).
        s.snapshot().unwrap();
        let again = Silences::new(Some(path), std::time::Duration::from_secs(3600));
        assert_eq!(again.load().unwrap(), 3);
        assert_eq!(again.get(&replaced), s.get(&replaced));
    }

    fn open(path: &std::path::Path) -> Silences {
        let s = Silences::new(
            Some(path.to_path_buf()),
            std::time::Duration::from_secs(3600),
        );
        s.load().unwrap();
        s
    }

    /// A silence created and one expired, each acknowledged by the log, are there after the
    /// store is gone with no snapshot written, next to a torn last record, and after a
    /// snapshot compacted the log.
    #[test]
    fn acknowledged_changes_survive_without_a_snapshot_and_after_compaction() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("silences");
        let log_dir = crate::state_log::dir_beside(&path);
        let (kept, expired) = {
            let s = open(&path);
            let (kept, d) = s
                .set_durable(sil(&[("job", "api", false, true)], -10, 600))
                .unwrap();
            futures::executor::block_on(d.wait()).unwrap();
            let (expired, d) = s
                .set_durable(sil(&[("job", "db", false, true)], -10, 600))
                .unwrap();
            futures::executor::block_on(d.wait()).unwrap();
            let d = s.expire_durable(&expired).unwrap();
            futures::executor::block_on(d.wait()).unwrap();
            (kept, expired)
        };
        assert!(!path.exists(), "no snapshot was written");
        let check = |s: &Silences| {
            let now = Timestamp::now();
            assert_eq!(s.list().len(), 2);
            assert_eq!(s.get(&kept).unwrap().state(now), SilenceState::Active);
            assert_eq!(s.get(&expired).unwrap().state(now), SilenceState::Expired);
            assert_eq!(
                s.matching(&ls(&[("job", "api")]), now).0,
                vec![kept.clone()]
            );
            assert_eq!(
                s.matching(&ls(&[("job", "db")]), now).0,
                Vec::<String>::new()
            );
        };
        check(&open(&path));

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
        std::io::Write::write_all(&mut f, b"[{\"id\":\"torn\",\"matchers\":[").unwrap();
        drop(f);
        let s = open(&path);
        check(&s);
        assert!(s.get("torn").is_none());

        // A snapshot compacts the log: its segments are gone, the silences stay.
        s.snapshot().unwrap();
        assert!(path.exists());
        let sizes: u64 = std::fs::read_dir(&log_dir)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert_eq!(sizes, 0, "only the new, empty segment is left");
        drop(s);
        check(&open(&path));
    }
}
