//! Each alert's state as the API shows it: unprocessed, active or suppressed, with the
//! silences and inhibiting alerts that suppress it (mirrors Alertmanager's `types.Marker`).

use std::collections::HashMap;

use parking_lot::Mutex;

/// An alert's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertState {
    /// Not yet seen by the pipeline.
    Unprocessed,
    /// Neither silenced nor inhibited.
    Active,
    /// Silenced or inhibited.
    Suppressed,
}

impl AlertState {
    /// The API's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unprocessed => "unprocessed",
            Self::Active => "active",
            Self::Suppressed => "suppressed",
        }
    }
}

/// An alert's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertStatus {
    /// The state.
    pub state: AlertState,
    /// Ids of active silences that match.
    pub silenced_by: Vec<String>,
    /// Ids of pending silences that match.
    pub pending_silences: Vec<String>,
    /// Fingerprints of the alerts that inhibit it.
    pub inhibited_by: Vec<String>,
}

impl Default for AlertStatus {
    fn default() -> Self {
        Self {
            state: AlertState::Unprocessed,
            silenced_by: Vec::new(),
            pending_silences: Vec::new(),
            inhibited_by: Vec::new(),
        }
    }
}

/// Statuses by fingerprint.
#[derive(Default)]
pub struct Marker {
    m: Mutex<HashMap<u64, AlertStatus>>,
}

impl Marker {
    fn update(&self, fp: u64, f: impl FnOnce(&mut AlertStatus)) {
        let mut m = self.m.lock();
        let s = m.entry(fp).or_default();
        f(s);
        s.state = if s.silenced_by.is_empty() && s.inhibited_by.is_empty() {
            AlertState::Active
        } else {
            AlertState::Suppressed
        };
    }

    /// Records the silences matching an alert.
    pub fn set_silenced(&self, fp: u64, active: Vec<String>, pending: Vec<String>) {
        self.update(fp, |s| {
            s.silenced_by = active;
            s.pending_silences = pending;
        });
    }

    /// Records the alerts inhibiting an alert (empty: none).
    pub fn set_inhibited(&self, fp: u64, by: Vec<String>) {
        self.update(fp, |s| s.inhibited_by = by);
    }

    /// The status of an alert.
    #[must_use]
    pub fn status(&self, fp: u64) -> AlertStatus {
        self.m.lock().get(&fp).cloned().unwrap_or_default()
    }

    /// How many alerts are marked in each state (expired ones included).
    #[must_use]
    pub fn counts(&self) -> [(AlertState, usize); 3] {
        let m = self.m.lock();
        let n = |st| m.values().filter(|s| s.state == st).count();
        [
            (AlertState::Active, n(AlertState::Active)),
            (AlertState::Suppressed, n(AlertState::Suppressed)),
            (AlertState::Unprocessed, n(AlertState::Unprocessed)),
        ]
    }

    /// Forgets an alert.
    pub fn delete(&self, fp: u64) {
        self.m.lock().remove(&fp);
    }
}
