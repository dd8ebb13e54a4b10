//! Alerts as notifications carry them and the data of notification templates
//! (Alertmanager's `template.Data`, `template.Alert`, `template.KV` in `template/template.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use gotmpl::Value;
use jiff::Timestamp;
use serde::{Serialize, Serializer};

pub use crate::kv::Kv;

/// Whether an alert fires or has resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    /// Active.
    Firing,
    /// Ended.
    Resolved,
}

impl AlertStatus {
    /// `firing` or `resolved`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// One alert of a notification.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// Firing or resolved at the time of the notification.
    pub status: AlertStatus,
    /// Labels.
    pub labels: Kv,
    /// Annotations.
    pub annotations: Kv,
    /// Start.
    #[serde(serialize_with = "go_time")]
    pub starts_at: Timestamp,
    /// End; `None` for firing alerts (Alertmanager hides an end not reached yet, and
    /// prints Go's zero time `0001-01-01T00:00:00Z`).
    #[serde(serialize_with = "go_time_opt")]
    pub ends_at: Option<Timestamp>,
    /// Link to the expression that fired.
    #[serde(rename = "generatorURL")]
    pub generator_url: String,
    /// The labels' fingerprint, 16 hex digits.
    pub fingerprint: String,
}

/// Go's zero `time.Time` in JSON.
pub const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A timestamp as Go's `time.Time` marshals to JSON (RFC 3339 with the fraction's trailing
/// zeros removed).
#[must_use]
pub fn go_rfc3339(t: Timestamp) -> String {
    let s = t.strftime("%Y-%m-%dT%H:%M:%S").to_string();
    let ns = t.subsec_nanosecond();
    if ns == 0 {
        format!("{s}Z")
    } else {
        let frac = format!("{ns:09}");
        format!("{s}.{}Z", frac.trim_end_matches('0'))
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn go_time<S: Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&go_rfc3339(*t))
}

#[allow(clippy::ref_option)]
fn go_time_opt<S: Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&go_rfc3339(*t)),
        None => s.serialize_str(GO_ZERO_TIME),
    }
}

/// Go's `time.Time.String()` for UTC times (`2024-01-02 03:04:05.5 +0000 UTC`), what
/// `{{ .StartsAt }}` prints.
fn go_time_string(t: Option<Timestamp>) -> String {
    let Some(t) = t else {
        return "0001-01-01 00:00:00 +0000 UTC".into();
    };
    let s = t.strftime("%Y-%m-%d %H:%M:%S").to_string();
    let ns = t.subsec_nanosecond();
    if ns == 0 {
        format!("{s} +0000 UTC")
    } else {
        let frac = format!("{ns:09}");
        format!("{s}.{} +0000 UTC", frac.trim_end_matches('0'))
    }
}

/// Prometheus's label-set fingerprint (FNV-1a 64 over sorted names and values, each followed
/// by 0xff), as Alertmanager prints it: 16 lower-case hex digits.
#[must_use]
pub fn fingerprint(labels: &Kv) -> String {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    if labels.is_empty() {
        return format!("{OFFSET:016x}");
    }
    let mut h = OFFSET;
    for (k, v) in labels {
        for b in k.bytes().chain([0xff]).chain(v.bytes()).chain([0xff]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(PRIME);
        }
    }
    format!("{h:016x}")
}

impl Alert {
    /// An alert with its fingerprint computed from `labels`; `ends_at` is kept only when it
    /// is not after `now` (then the alert is resolved), as Alertmanager's `types.Alerts` does.
    #[must_use]
    pub fn new(
        labels: Kv,
        annotations: Kv,
        starts_at: Timestamp,
        ends_at: Option<Timestamp>,
        generator_url: impl Into<String>,
        now: Timestamp,
    ) -> Self {
        let resolved = ends_at.is_some_and(|e| e <= now);
        Self {
            status: if resolved {
                AlertStatus::Resolved
            } else {
                AlertStatus::Firing
            },
            fingerprint: fingerprint(&labels),
            labels,
            annotations,
            starts_at,
            ends_at: if resolved { ends_at } else { None },
            generator_url: generator_url.into(),
        }
    }
}

/// The data of a notification: what templates see (`.Receiver`, `.Status`, `.Alerts`,
/// `.GroupLabels`, `.CommonLabels`, `.CommonAnnotations`, `.ExternalURL`) and the webhook's
/// JSON body.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Data {
    /// The receiver's name.
    pub receiver: String,
    /// `firing` when any alert fires, else `resolved`.
    pub status: AlertStatus,
    /// The alerts.
    pub alerts: Vec<Alert>,
    /// The group's labels.
    pub group_labels: Kv,
    /// Labels all alerts share with the same value.
    pub common_labels: Kv,
    /// Annotations all alerts share with the same value.
    pub common_annotations: Kv,
    /// The Alertmanager's external URL.
    #[serde(rename = "externalURL")]
    pub external_url: String,
}

/// The pairs every set has (the first set copied once, then narrowed by the others).
fn common<'a>(mut sets: impl Iterator<Item = &'a Kv>) -> Kv {
    let Some(first) = sets.next() else {
        return Kv::new();
    };
    let mut out = first.clone();
    for s in sets {
        if out.is_empty() {
            break;
        }
        out.retain(|k, v| s.get(k) == Some(v));
    }
    out
}

impl Data {
    /// The data of a notification to `receiver` for a group (`template.Template.Data`).
    #[must_use]
    pub fn new(receiver: &str, group_labels: Kv, alerts: Vec<Alert>, external_url: &str) -> Self {
        let status = if alerts.iter().any(|a| a.status == AlertStatus::Firing) {
            AlertStatus::Firing
        } else {
            AlertStatus::Resolved
        };
        Self {
            receiver: receiver.to_owned(),
            status,
            common_labels: common(alerts.iter().map(|a| &a.labels)),
            common_annotations: common(alerts.iter().map(|a| &a.annotations)),
            alerts,
            group_labels,
            external_url: external_url.to_owned(),
        }
    }

    /// The firing alerts (`.Alerts.Firing`).
    pub fn firing(&self) -> impl Iterator<Item = &Alert> {
        self.alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Firing)
    }

    /// The resolved alerts (`.Alerts.Resolved`).
    pub fn resolved(&self) -> impl Iterator<Item = &Alert> {
        self.alerts
            .iter()
            .filter(|a| a.status == AlertStatus::Resolved)
    }

    /// The data as template values.
    pub(crate) fn to_value(&self) -> Value {
        let mut m = BTreeMap::new();
        m.insert(Arc::from("Receiver"), s(&self.receiver));
        m.insert(Arc::from("Status"), s(self.status.as_str()));
        m.insert(
            Arc::from("Alerts"),
            Value::List(self.alerts.iter().map(alert_value).collect()),
        );
        m.insert(Arc::from("GroupLabels"), kv_value(&self.group_labels));
        m.insert(Arc::from("CommonLabels"), kv_value(&self.common_labels));
        m.insert(
            Arc::from("CommonAnnotations"),
            kv_value(&self.common_annotations),
        );
        m.insert(Arc::from("ExternalURL"), s(&self.external_url));
        Value::Map(Arc::new(m))
    }
}

fn s(v: &str) -> Value {
    Value::String(Arc::from(v))
}

pub(crate) fn kv_value(kv: &Kv) -> Value {
    Value::Map(Arc::new(
        kv.iter()
            .map(|(k, v)| (Arc::from(k.as_str()), s(v)))
            .collect(),
    ))
}

fn alert_value(a: &Alert) -> Value {
    let mut m = BTreeMap::new();
    m.insert(Arc::from("Status"), s(a.status.as_str()));
    m.insert(Arc::from("Labels"), kv_value(&a.labels));
    m.insert(Arc::from("Annotations"), kv_value(&a.annotations));
    m.insert(Arc::from("StartsAt"), s(&go_time_string(Some(a.starts_at))));
    m.insert(Arc::from("EndsAt"), s(&go_time_string(a.ends_at)));
    m.insert(Arc::from("GeneratorURL"), s(&a.generator_url));
    m.insert(Arc::from("Fingerprint"), s(&a.fingerprint));
    Value::Map(Arc::new(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(pairs: &[(&str, &str)]) -> Kv {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn data_has_common_labels_and_status() {
        let now: Timestamp = "2024-01-01T00:10:00Z".parse().unwrap();
        let start: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
        let a = Alert::new(
            kv(&[("alertname", "A"), ("job", "x"), ("i", "1")]),
            kv(&[("summary", "s")]),
            start,
            None,
            "http://g",
            now,
        );
        let b = Alert::new(
            kv(&[("alertname", "A"), ("job", "x"), ("i", "2")]),
            kv(&[("summary", "t")]),
            start,
            Some(start),
            "http://g",
            now,
        );
        let d = Data::new("r", kv(&[("alertname", "A")]), vec![a, b], "http://am");
        assert_eq!(d.status, AlertStatus::Firing);
        assert_eq!(d.common_labels, kv(&[("alertname", "A"), ("job", "x")]));
        assert!(d.common_annotations.is_empty());
        assert_eq!(d.firing().count(), 1);
        assert_eq!(d.resolved().count(), 1);
        let j = serde_json::to_value(&d).unwrap();
        assert_eq!(j["alerts"][0]["endsAt"], GO_ZERO_TIME);
        assert_eq!(j["alerts"][1]["endsAt"], "2024-01-01T00:00:00Z");
        assert_eq!(j["externalURL"], "http://am");
    }

    #[test]
    fn fingerprints_are_prometheus_signatures() {
        // Values from Prometheus's common/model signature tests.
        assert_eq!(fingerprint(&Kv::new()), "cbf29ce484222325");
        assert_eq!(
            fingerprint(&kv(&[
                ("name", "garland, briggs"),
                ("fear", "love is not enough")
            ])),
            format!("{:016x}", 5_799_056_148_416_392_346_u64)
        );
    }

    #[test]
    fn go_times_drop_trailing_zeros() {
        let t: Timestamp = "2024-01-01T00:00:00.120Z".parse().unwrap();
        assert_eq!(go_rfc3339(t), "2024-01-01T00:00:00.12Z");
        assert_eq!(go_time_string(Some(t)), "2024-01-01 00:00:00.12 +0000 UTC");
    }
}
