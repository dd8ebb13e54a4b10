//! Alerts on their way out: external labels and `alert_relabel_configs`, and the JSON body of
//! Alertmanager's API v2 (`POST /api/v2/alerts`).

use std::collections::BTreeMap;
use std::time::SystemTime;

use model::relabel::{RelabelConfig, process_builder};
use model::{Labels, LabelsBuilder};
use serde::Serialize;

use crate::alert::Alert;

/// Adds `external` labels the alert lacks (an alert's own non-empty label wins), then applies
/// `rules`; alerts a rule drops are left out.
pub(crate) fn relabel_alerts(
    rules: &[RelabelConfig],
    external: &Labels,
    alerts: &[Alert],
) -> Vec<Alert> {
    alerts
        .iter()
        .filter_map(|a| {
            let mut b = LabelsBuilder::new(&a.labels);
            for l in external {
                if a.labels.get(l.name).unwrap_or_default().is_empty() {
                    b.set(l.name, l.value);
                }
            }
            if !process_builder(&mut b, rules) {
                return None;
            }
            let mut a = a.clone();
            a.labels = b.labels();
            Some(a)
        })
        .collect()
}

/// Go's zero `time.Time` as Alertmanager's API writes it: "no end known".
const ZERO_TIME: &str = "0001-01-01T00:00:00.000Z";

/// RFC 3339 with milliseconds in UTC, the format of Alertmanager's API (`strfmt.DateTime`).
pub(crate) fn format_time(t: SystemTime) -> String {
    let Ok(ts) = jiff::Timestamp::try_from(t) else {
        return ZERO_TIME.to_owned();
    };
    let millis = ts.subsec_millisecond().max(0);
    format!("{}.{millis:03}Z", ts.strftime("%Y-%m-%dT%H:%M:%S"))
}

/// One alert of the body, field for field as Alertmanager's `PostableAlert`.
#[derive(Serialize)]
struct Postable<'a> {
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: BTreeMap<&'a str, &'a str>,
    #[serde(rename = "endsAt")]
    ends_at: String,
    #[serde(rename = "startsAt")]
    starts_at: String,
    #[serde(rename = "generatorURL", skip_serializing_if = "str::is_empty")]
    generator_url: &'a str,
    labels: BTreeMap<&'a str, &'a str>,
}

fn label_map(l: &Labels) -> BTreeMap<&str, &str> {
    l.iter().map(|l| (l.name, l.value)).collect()
}

/// The API v2 body for `alerts`: `[{annotations, endsAt, startsAt, generatorURL, labels}]`.
pub(crate) fn encode_v2(alerts: &[Alert]) -> Vec<u8> {
    let body: Vec<Postable<'_>> = alerts
        .iter()
        .map(|a| Postable {
            annotations: label_map(&a.annotations),
            ends_at: a.ends_at.map_or_else(|| ZERO_TIME.to_owned(), format_time),
            starts_at: format_time(a.starts_at),
            generator_url: &a.generator_url,
            labels: label_map(&a.labels),
        })
        .collect();
    // Serializing maps of strings cannot fail.
    serde_json::to_vec(&body).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use model::relabel::RelabelConfig;

    use super::*;

    fn alert(pairs: &[(&str, &str)]) -> Alert {
        Alert {
            labels: Labels::from_pairs(pairs.iter().copied()),
            annotations: Labels::from_pairs([("summary", "s \"q\"")]),
            starts_at: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            ends_at: None,
            generator_url: String::new(),
        }
    }

    #[test]
    fn times_are_rfc3339_millis_utc() {
        let t = UNIX_EPOCH + Duration::from_millis(1_700_000_000_007);
        assert_eq!(format_time(t), "2023-11-14T22:13:20.007Z");
    }

    #[test]
    fn body_has_alertmanager_field_names() {
        let mut a = alert(&[("alertname", "Up"), ("job", "x")]);
        a.ends_at = Some(UNIX_EPOCH + Duration::from_secs(1_700_000_100));
        a.generator_url = "http://p/graph?g0.expr=up".into();
        let b = alert(&[("alertname", "Down")]);
        let v: serde_json::Value = serde_json::from_slice(&encode_v2(&[a, b])).unwrap();
        assert_eq!(
            v,
            serde_json::json!([
                {"annotations": {"summary": "s \"q\""}, "endsAt": "2023-11-14T22:15:00.000Z",
                 "startsAt": "2023-11-14T22:13:20.123Z", "generatorURL": "http://p/graph?g0.expr=up",
                 "labels": {"alertname": "Up", "job": "x"}},
                {"annotations": {"summary": "s \"q\""}, "endsAt": "0001-01-01T00:00:00.000Z",
                 "startsAt": "2023-11-14T22:13:20.123Z", "labels": {"alertname": "Down"}}
            ])
        );
    }

    #[test]
    fn external_labels_lose_to_alert_labels_and_rules_drop() {
        let external = Labels::from_pairs([("cluster", "eu"), ("job", "ext")]);
        let rules: Vec<RelabelConfig> =
            serde_saphyr::from_str("- source_labels: [severity]\n  regex: debug\n  action: drop\n")
                .unwrap();
        let out = relabel_alerts(
            &rules,
            &external,
            &[
                alert(&[("alertname", "A"), ("job", "mine")]),
                alert(&[("alertname", "B"), ("severity", "debug")]),
            ],
        );
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].labels,
            Labels::from_pairs([("alertname", "A"), ("cluster", "eu"), ("job", "mine")])
        );
    }
}
