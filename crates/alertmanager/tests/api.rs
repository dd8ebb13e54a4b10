//! API v2 details against the real Alertmanager 0.25: bad input answered 400 with the
//! reason, silences through the API, `/metrics` names, types and help texts, and `/-/reload`
//! refusing an invalid configuration while the running one stays.

mod common;

use std::collections::BTreeMap;

use common::{at, request};
use serde_json::{Value, json};

const CONFIG: &str = "route: {receiver: a, group_wait: 1h}\nreceivers: [{name: a}]\n";

/// `# HELP` and `# TYPE` of each `alertmanager_*` family.
fn families(port: u16) -> BTreeMap<String, (String, String)> {
    let (code, text) = request(port, "GET", "/metrics", None);
    assert_eq!(code, 200);
    let mut m: BTreeMap<String, (String, String)> = BTreeMap::new();
    for l in text.lines() {
        if let Some(rest) = l.strip_prefix("# HELP alertmanager_") {
            let (n, h) = rest.split_once(' ').unwrap_or((rest, ""));
            m.entry(format!("alertmanager_{n}")).or_default().0 = h.to_owned();
        } else if let Some(rest) = l.strip_prefix("# TYPE alertmanager_") {
            let (n, t) = rest.split_once(' ').unwrap_or((rest, ""));
            m.entry(format!("alertmanager_{n}")).or_default().1 = t.to_owned();
        }
    }
    m
}

fn sample(port: u16, series: &str) -> Option<String> {
    let (_, text) = request(port, "GET", "/metrics", None);
    text.lines()
        .find_map(|l| l.strip_prefix(series).map(|v| v.trim().to_owned()))
}

#[test]
fn bad_input_metrics_and_reload_as_alertmanager() {
    let test = "bad_input_metrics_and_reload_as_alertmanager";
    let dir = common::tempdir();
    let Some(real) = common::real(test, &dir.path().join("am"), CONFIG) else {
        return;
    };
    let fw = common::firewatch(&dir.path().join("fw"), CONFIG);
    let ports = [real.port, fw.port];

    // Malformed alerts and silences: 400 with Alertmanager's reason.
    let bad_alerts = json!([
        {"labels": {"alertname": "ok"}, "startsAt": at(0.0)},
        {"labels": {}, "startsAt": at(0.0)},
        {"labels": {"a": "b"}, "startsAt": at(0.0), "endsAt": at(-60.0)},
    ])
    .to_string();
    let past = json!({"matchers": [{"name": "a", "value": "b", "isRegex": false}],
        "startsAt": at(-120.0), "endsAt": at(-60.0), "createdBy": "x", "comment": "y"})
    .to_string();
    let reversed = json!({"matchers": [{"name": "a", "value": "b", "isRegex": false}],
        "startsAt": at(120.0), "endsAt": at(60.0), "createdBy": "x", "comment": "y"})
    .to_string();
    let empty_match = json!({"matchers": [{"name": "a", "value": ".*", "isRegex": true}],
        "startsAt": at(0.0), "endsAt": at(60.0), "createdBy": "x", "comment": "y"})
    .to_string();
    let unknown_id =
        json!({"id": "nope", "matchers": [{"name": "a", "value": "b", "isRegex": false}],
        "startsAt": at(0.0), "endsAt": at(60.0), "createdBy": "x", "comment": "y"})
        .to_string();
    for (method, path, body) in [
        ("POST", "/api/v2/alerts", Some(bad_alerts.as_str())),
        ("POST", "/api/v2/silences", Some(past.as_str())),
        ("POST", "/api/v2/silences", Some(reversed.as_str())),
        ("POST", "/api/v2/silences", Some(empty_match.as_str())),
        ("POST", "/api/v2/silences", Some(unknown_id.as_str())),
        ("GET", "/api/v2/alerts?filter=%7Bfoo%3D%22bar%7D", None),
        (
            "GET",
            "/api/v2/silence/00000000-0000-0000-0000-000000000000",
            None,
        ),
        (
            "DELETE",
            "/api/v2/silence/00000000-0000-0000-0000-000000000000",
            None,
        ),
        ("GET", "/api/v2/receivers", None),
    ] {
        let want = request(real.port, method, path, body);
        let got = request(fw.port, method, path, body);
        assert_eq!(got, want, "{method} {path} {body:?}");
    }

    // A silence through the API, then its expiry, read back alike.
    let sil = json!({"matchers": [{"name": "alertname", "value": "ok", "isRegex": false, "isEqual": true}],
        "startsAt": at(0.0), "endsAt": at(3600.0), "createdBy": "me", "comment": "why"})
    .to_string();
    let norm = |port: u16, id: &str| {
        let (code, body) = request(port, "GET", &format!("/api/v2/silence/{id}"), None);
        assert_eq!(code, 200);
        let mut v: Value = serde_json::from_str(&body).unwrap();
        for k in ["id", "startsAt", "endsAt", "updatedAt"] {
            v[k] = json!("normalized");
        }
        v
    };
    let ids: Vec<String> = ports
        .iter()
        .map(|p| common::post_silence(*p, &sil))
        .collect();
    assert_eq!(norm(fw.port, &ids[1]), norm(real.port, &ids[0]));
    for (p, id) in ports.iter().zip(&ids) {
        assert_eq!(
            request(*p, "DELETE", &format!("/api/v2/silence/{id}"), None).0,
            200
        );
    }
    assert_eq!(norm(fw.port, &ids[1]), norm(real.port, &ids[0]));
    assert_eq!(norm(fw.port, &ids[1])["status"]["state"], "expired");

    // Metrics: Firewatch's alertmanager_* families exist in Alertmanager with the same type
    // and help; the names are all there; the received-alerts counters agree.
    let (want, got) = (families(real.port), families(fw.port));
    for (name, th) in &got {
        assert_eq!(Some(th), want.get(name), "{name}");
    }
    for name in [
        "alertmanager_alerts",
        "alertmanager_alerts_received_total",
        "alertmanager_alerts_invalid_total",
        "alertmanager_notifications_total",
        "alertmanager_notifications_failed_total",
        "alertmanager_notification_latency_seconds",
        "alertmanager_silences",
        "alertmanager_nflog_gc_duration_seconds",
        "alertmanager_nflog_snapshot_size_bytes",
        "alertmanager_receivers",
        "alertmanager_integrations",
        "alertmanager_dispatcher_aggregation_groups",
        "alertmanager_cluster_enabled",
        "alertmanager_config_hash",
        "alertmanager_config_last_reload_successful",
    ] {
        assert!(got.contains_key(name), "{name} missing");
    }
    for series in [
        "alertmanager_alerts_received_total{status=\"firing\",version=\"v2\"}",
        "alertmanager_alerts_invalid_total{version=\"v2\"}",
        "alertmanager_alerts{state=\"active\"}",
        "alertmanager_silences{state=\"expired\"}",
        "alertmanager_config_last_reload_successful",
        "alertmanager_receivers",
        "alertmanager_integrations",
    ] {
        assert_eq!(
            sample(fw.port, series),
            sample(real.port, series),
            "{series}"
        );
    }

    // An invalid configuration is refused at reload; the running one stays.
    for (p, d) in ports.iter().zip(["am", "fw"]) {
        std::fs::write(
            dir.path().join(d).join("alertmanager.yml"),
            "route: {receiver: nope}\nreceivers: [{name: a}]\n",
        )
        .unwrap();
        let (code, body) = request(*p, "POST", "/-/reload", None);
        assert_eq!(code, 500, "{d}: {body}");
        assert!(
            body.contains("undefined receiver \"nope\" used in route"),
            "{d}: {body}"
        );
        assert_eq!(
            sample(*p, "alertmanager_config_last_reload_successful"),
            Some("0".to_owned())
        );
        let (code, _) = request(*p, "GET", "/api/v2/receivers", None);
        assert_eq!(code, 200);
    }
    fw.stop();
}
