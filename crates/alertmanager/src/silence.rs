//! Silences: create, update (keeping or replacing the id as Alertmanager does), expire,
//! query, match alerts, collect those expired longer than the retention, and keep them in a
//! snapshot under the storage path (mirrors Alertmanager's `silence/silence.go`).

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
use crate::state_file;

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

    /// Reads the snapshot, when there is one.
    ///
    /// # Errors
    /// An unreadable or corrupt snapshot.
    pub fn load(&self) -> Result<usize, StateError> {
        let Some(path) = &self.path else { return Ok(0) };
        let list: Vec<Silence> = state_file::read(path)?.unwrap_or_default();
        let mut inner = self.inner.lock();
        for s in list {
            if let Ok(matchers) = s.matchers.iter().map(SilenceMatcher::compile).collect() {
                inner.insert(
                    s.id.clone(),
                    Entry {
                        silence: s,
                        matchers,
                    },
                );
            }
        }
        Ok(inner.len())
    }

    fn persist(&self, inner: &HashMap<String, Entry>) -> Result<(), StateError> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let started = std::time::Instant::now();
        let list: Vec<&Silence> = inner.values().map(|e| &e.silence).collect();
        let bytes = state_file::write(path, &list)?;
        if let Some(m) = self.metrics.get() {
            m.snapshot(started, bytes);
        }
        Ok(())
    }

    /// A counter that changes whenever a silence changes.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Stores a silence with its times cut to milliseconds, the API's precision, so a
    /// silence read back and posted again compares equal (and keeps its id).
    fn store(
        &self,
        inner: &mut HashMap<String, Entry>,
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
        inner.insert(
            s.id.clone(),
            Entry {
                silence: s,
                matchers,
            },
        );
        self.version
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Err(e) = self.persist(inner) {
            tracing::error!(err = %e, "writing the silences snapshot");
        }
        Ok(())
    }

    /// Creates or updates a silence; returns its id. An update keeps the id when only what
    /// may change in its state changed (an active silence's end and comment, a pending one's
    /// times); otherwise the old silence is expired and a new one created.
    ///
    /// # Errors
    /// An unknown id, or an invalid silence.
    pub fn set(&self, mut s: Silence) -> Result<String, SilenceError> {
        let now = Timestamp::now();
        let mut inner = self.inner.lock();
        let prev = inner.get(&s.id).map(|e| e.silence.clone());
        if !s.id.is_empty() && prev.is_none() {
            return Err(SilenceError::NotFound);
        }
        if let Some(prev) = prev {
            if can_update(&prev, &s, now) {
                let id = s.id.clone();
                self.store(&mut inner, s, now)?;
                return Ok(id);
            }
            if prev.state(now) != SilenceState::Expired {
                expire_locked(self, &mut inner, &prev.id, now)?;
            }
        }
        s.id = uuid::Uuid::new_v4().to_string();
        if s.starts_at < now {
            s.starts_at = now;
        }
        let id = s.id.clone();
        self.store(&mut inner, s, now)?;
        Ok(id)
    }

    /// Expires a silence now.
    ///
    /// # Errors
    /// An unknown id, or one already expired.
    pub fn expire(&self, id: &str) -> Result<(), SilenceError> {
        let mut inner = self.inner.lock();
        expire_locked(self, &mut inner, id, Timestamp::now())
    }

    /// Takes silences from a peer: each one unknown here, or updated later than the copy
    /// here, replaces it (a merge by id keeping the newest `updated_at`). Returns how many
    /// changed.
    pub fn merge(&self, list: Vec<Silence>) -> usize {
        let mut inner = self.inner.lock();
        let mut changed = 0;
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
            inner.insert(
                s.id.clone(),
                Entry {
                    silence: s,
                    matchers,
                },
            );
            changed += 1;
        }
        if changed > 0 {
            self.version
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            if let Err(e) = self.persist(&inner) {
                tracing::error!(err = %e, "writing the silences snapshot");
            }
            if let Some(m) = self.metrics.get() {
                m.propagated.inc_by(changed as f64);
            }
        }
        changed
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
        if n > 0
            && let Err(e) = self.persist(&inner)
        {
            tracing::error!(err = %e, "writing the silences snapshot");
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
    s: &Silences,
    inner: &mut HashMap<String, Entry>,
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
    s.store(inner, sil, now)
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

        // A new store reads everything back.
        let again = Silences::new(Some(path), std::time::Duration::from_secs(3600));
        assert_eq!(again.load().unwrap(), 3);
        assert_eq!(again.get(&replaced), s.get(&replaced));
    }
}
