//! An alert as the Alertmanager keeps it: labels, annotations, its activity range, and the
//! rules for merging a re-sent alert into the stored one (mirrors Alertmanager's
//! `types/types.go` Alert and `AlertSlice`).

use std::cmp::Ordering;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::labels::{LabelSet, fingerprint};

/// Go's zero `time.Time` (`0001-01-01T00:00:00Z`): "unset".
#[must_use]
pub fn zero_time() -> Timestamp {
    Timestamp::from_second(-62_135_596_800).expect("year 1 is in range")
}

/// Whether `t` is Go's zero time.
#[must_use]
pub fn is_zero(t: Timestamp) -> bool {
    t == zero_time()
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Identifying labels.
    pub labels: LabelSet,
    /// Informational labels.
    pub annotations: LabelSet,
    /// When it started firing.
    pub starts_at: Timestamp,
    /// When it stops (or stopped) firing; zero when unknown.
    pub ends_at: Timestamp,
    /// Link to the source.
    pub generator_url: String,
    /// When the Alertmanager last received it.
    pub updated_at: Timestamp,
    /// Whether `ends_at` was set by the resolve timeout, not by the sender.
    pub timeout: bool,
}

impl Alert {
    /// The label fingerprint.
    #[must_use]
    pub fn fingerprint(&self) -> u64 {
        fingerprint(&self.labels)
    }

    /// Whether the alert is resolved at `now`.
    #[must_use]
    pub fn resolved_at(&self, now: Timestamp) -> bool {
        !is_zero(self.ends_at) && self.ends_at <= now
    }

    /// Whether the alert is resolved now.
    #[must_use]
    pub fn resolved(&self) -> bool {
        self.resolved_at(Timestamp::now())
    }

    /// [`Alert::merge`] taking the other copy by value: no clone when it is the newer one
    /// (a re-sent alert, the usual case).
    #[must_use]
    pub fn merge_owned(&self, other: Alert) -> Alert {
        if other.updated_at < self.updated_at {
            return other.merge(self);
        }
        let mut res = other;
        if self.starts_at < res.starts_at {
            res.starts_at = self.starts_at;
        }
        if res.resolved() {
            if self.resolved() && self.ends_at > res.ends_at {
                res.ends_at = self.ends_at;
            }
        } else if self.ends_at > res.ends_at && !self.timeout {
            res.ends_at = self.ends_at;
        }
        res
    }

    /// Merges a newer copy of the same alert: the earliest start, and the end time of the
    /// newer copy unless the older one has a later explicit one.
    #[must_use]
    pub fn merge(&self, other: &Alert) -> Alert {
        let (a, o) = if other.updated_at < self.updated_at {
            (other, self)
        } else {
            (self, other)
        };
        let mut res = o.clone();
        if a.starts_at < o.starts_at {
            res.starts_at = a.starts_at;
        }
        if o.resolved() {
            if a.resolved() && a.ends_at > o.ends_at {
                res.ends_at = a.ends_at;
            }
        } else if a.ends_at > o.ends_at && !a.timeout {
            res.ends_at = a.ends_at;
        }
        res
    }
}

/// The order of alerts in a notification: by `job`, then `instance` (alerts with the label
/// first), then by the whole label set.
#[must_use]
pub fn compare(a: &Alert, b: &Alert) -> Ordering {
    for key in ["job", "instance"] {
        match (a.labels.get(key), b.labels.get(key)) {
            (None, None) => {}
            (None, Some(_)) => return Ordering::Greater,
            (Some(_), None) => return Ordering::Less,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    label_set_cmp(&a.labels, &b.labels)
}

/// `LabelSet.Before`: the shorter set first; then, over the union of names in order, a set
/// missing the name first, else the smaller value.
pub fn label_set_cmp(a: &LabelSet, b: &LabelSet) -> Ordering {
    if a.len() != b.len() {
        return a.len().cmp(&b.len());
    }
    let mut names: Vec<&String> = a.keys().chain(b.keys()).collect();
    names.sort();
    for n in names {
        match (a.get(n), b.get(n)) {
            (None, _) => return Ordering::Less,
            (_, None) => return Ordering::Greater,
            (Some(x), Some(y)) if x != y => return x.cmp(y),
            _ => {}
        }
    }
    Ordering::Equal
}
