//! The same alert scenarios played against the real Alertmanager 0.25 and Firewatch's with
//! the same configuration: the webhook payloads each receiver gets, in order, must be equal.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Recorder, at, request};
use serde_json::{Value, json};

const CONFIG: &str = r#"
route:
  receiver: default
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 1h
  routes:
    - matchers: ['team="a"']
      receiver: team-a
      continue: true
      routes:
        - matchers: ['severity="critical"']
          receiver: team-a-pager
          group_by: ['...']
    - matchers: ['team=~"a|b"']
      receiver: team-ab
    - match: {team: quiet}
      receiver: no-resolved
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname]
receivers:
  - name: default
    webhook_configs: [{url: 'RECORDER/default'}]
  - name: team-a
    webhook_configs: [{url: 'RECORDER/team-a'}]
  - name: team-a-pager
    webhook_configs: [{url: 'RECORDER/team-a-pager', max_alerts: 1}]
  - name: team-ab
    webhook_configs: [{url: 'RECORDER/team-ab'}]
  - name: no-resolved
    webhook_configs: [{url: 'RECORDER/no-resolved', send_resolved: false}]
"#;

fn alert(labels: &[(&str, &str)], starts: &str, ends: Option<&str>) -> Value {
    let labels: BTreeMap<&str, &str> = labels.iter().copied().collect();
    let mut a = json!({"labels": labels, "annotations": {"summary": "s"}, "startsAt": starts, "generatorURL": "http://gen/x"});
    if let Some(e) = ends {
        a["endsAt"] = json!(e);
    }
    a
}

fn post_both(ports: &[u16], alerts: &Value) {
    let body = alerts.to_string();
    for p in ports {
        let (code, text) = request(*p, "POST", "/api/v2/alerts", Some(&body));
        assert_eq!(code, 200, "{text}");
    }
}

/// The payloads of each receiver path and group, in the order received (groups flushed at
/// the same moment may arrive in either order).
fn by_receiver(rec: &Recorder, prefix: &str) -> BTreeMap<String, Vec<Value>> {
    let mut m: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for (path, body) in rec.under(prefix) {
        let key = format!("{path} {}", body["groupKey"].as_str().unwrap_or(""));
        m.entry(key).or_default().push(body);
    }
    m
}

/// A recorder and both Alertmanagers with `config` (its `RECORDER` pointing at the recorder
/// under `/am` and `/fw`); `None` when the real one is not installed.
fn start_pair(
    test: &str,
    config: &str,
) -> Option<(
    Recorder,
    tempfile::TempDir,
    common::Instance,
    common::Instance,
)> {
    let dir = common::tempdir();
    let rec = Recorder::start();
    let cfg =
        |who: &str| config.replace("RECORDER", &format!("http://127.0.0.1:{}/{who}", rec.port));
    let real = common::real(test, &dir.path().join("am"), &cfg("am"))?;
    let fw = common::firewatch(&dir.path().join("fw"), &cfg("fw"));
    Some((rec, dir, real, fw))
}

/// The payloads Alertmanager's receivers got and Firewatch's, external URLs aside.
fn payloads(rec: &Recorder) -> (BTreeMap<String, Vec<Value>>, BTreeMap<String, Vec<Value>>) {
    let mut want = by_receiver(rec, "/am/");
    let mut got = by_receiver(rec, "/fw/");
    for v in want.values_mut().chain(got.values_mut()).flatten() {
        v["externalURL"] = json!("normalized");
    }
    (want, got)
}

#[test]
fn routing_grouping_inhibition_and_resolution_match_alertmanager() {
    let test = "routing_grouping_inhibition_and_resolution_match_alertmanager";
    let Some((rec, _dir, real, fw)) = start_pair(test, CONFIG) else {
        return;
    };
    let ports = [real.port, fw.port];

    // Started now: group_wait applies (an older start flushes at once, racing the inhibitor
    // in Alertmanager too).
    let t0 = at(0.0);
    let firing = json!([
        alert(
            &[
                ("alertname", "Disk"),
                ("team", "a"),
                ("severity", "warning"),
                ("instance", "1")
            ],
            &t0,
            None
        ),
        alert(
            &[
                ("alertname", "Disk"),
                ("team", "a"),
                ("severity", "critical"),
                ("instance", "2")
            ],
            &t0,
            None
        ),
        alert(
            &[("alertname", "Cpu"), ("team", "b"), ("job", "node")],
            &t0,
            None
        ),
        alert(
            &[("alertname", "Cpu"), ("team", "b"), ("job", "api")],
            &t0,
            None
        ),
        alert(&[("alertname", "Mem"), ("team", "quiet")], &t0, None),
        alert(&[("alertname", "Other")], &t0, None),
    ]);
    post_both(&ports, &firing);
    // group_wait 1s, then ticks every 2s: resolve between ticks (t+4s), look at t+9s.
    std::thread::sleep(Duration::from_millis(3900));
    let end = at(0.0);
    let resolved = json!([
        alert(
            &[("alertname", "Cpu"), ("team", "b"), ("job", "node")],
            &t0,
            Some(&end)
        ),
        alert(&[("alertname", "Mem"), ("team", "quiet")], &t0, Some(&end)),
        alert(
            &[
                ("alertname", "Disk"),
                ("team", "a"),
                ("severity", "critical"),
                ("instance", "2")
            ],
            &t0,
            Some(&end)
        ),
    ]);
    post_both(&ports, &resolved);
    std::thread::sleep(Duration::from_secs(5));

    let (want, got) = payloads(&rec);
    assert!(
        want.len() >= 4,
        "too few receivers notified by Alertmanager: {want:#?}"
    );
    for (path, list) in &want {
        assert_eq!(
            got.get(path),
            Some(list),
            "receiver {path}: firewatch {:#?}\nalertmanager {:#?}",
            got.get(path),
            list
        );
    }
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        want.keys().collect::<Vec<_>>()
    );

    // The API agrees on the alerts and their states.
    let alerts = |port| {
        let (code, body) = request(port, "GET", "/api/v2/alerts", None);
        assert_eq!(code, 200);
        let mut v: Value = serde_json::from_str(&body).unwrap();
        for a in v.as_array_mut().unwrap() {
            a["updatedAt"] = json!("normalized");
            a["endsAt"] = json!("normalized");
        }
        v
    };
    assert_eq!(alerts(fw.port), alerts(real.port));
    let groups = |port| {
        let (code, body) = request(port, "GET", "/api/v2/alerts/groups", None);
        assert_eq!(code, 200);
        let mut v: Value = serde_json::from_str(&body).unwrap();
        for g in v.as_array_mut().unwrap() {
            for a in g["alerts"].as_array_mut().unwrap() {
                a["updatedAt"] = json!("normalized");
                a["endsAt"] = json!("normalized");
            }
        }
        v
    };
    assert_eq!(groups(fw.port), groups(real.port));
    let filtered = "/api/v2/alerts?receiver=team-a.*&active=true&inhibited=false&filter=alertname%3D~%22D.*%22";
    assert_eq!(request(fw.port, "GET", filtered, None).0, 200);
    let list = |port| {
        let v: Value = serde_json::from_str(&request(port, "GET", filtered, None).1).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .map(|a| a["fingerprint"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(list(fw.port), list(real.port));
    fw.stop();
}

const TIMED: &str = r#"
route:
  receiver: hook.main
  group_by: [alertname]
  group_wait: 1s
  group_interval: 2s
  repeat_interval: 3s
  routes:
    - matchers: [team=muted]
      receiver: muted
      mute_time_intervals: [always]
    - matchers: [team=inactive]
      receiver: inactive
      active_time_intervals: [never]
time_intervals:
  - name: always
    time_intervals: [{times: [{start_time: '00:00', end_time: '24:00'}]}]
  - name: never
    time_intervals: [{years: ['1999']}]
receivers:
  - name: hook.main
    webhook_configs: [{url: 'RECORDER/hook'}]
  - name: muted
    webhook_configs: [{url: 'RECORDER/muted'}]
  - name: inactive
    webhook_configs: [{url: 'RECORDER/inactive'}]
"#;

#[test]
fn silences_time_intervals_and_repeat_match_alertmanager() {
    let test = "silences_time_intervals_and_repeat_match_alertmanager";
    let Some((rec, _dir, real, fw)) = start_pair(test, TIMED) else {
        return;
    };
    let ports = [real.port, fw.port];
    let t0 = at(0.0);
    post_both(
        &ports,
        &json!([
            alert(&[("alertname", "A")], &t0, None),
            alert(&[("alertname", "B")], &t0, None),
            alert(&[("alertname", "M"), ("team", "muted")], &t0, None),
            alert(&[("alertname", "I"), ("team", "inactive")], &t0, None),
        ]),
    );
    let silence = json!({"matchers": [{"name": "alertname", "value": "B", "isRegex": false, "isEqual": true}],
        "startsAt": at(0.0), "endsAt": at(3600.0), "createdBy": "t", "comment": "mid-scenario"})
    .to_string();
    let ids: Vec<String> = ports
        .iter()
        .map(|p| common::post_silence(*p, &silence))
        .collect();
    // Flush at 1s: A only. Expire the silence at 4s: B goes out at the 5s tick, with A's
    // repeat (notified at 1s, repeat_interval 3s).
    std::thread::sleep(Duration::from_millis(3900));
    for (p, id) in ports.iter().zip(&ids) {
        assert_eq!(
            request(*p, "DELETE", &format!("/api/v2/silence/{id}"), None).0,
            200
        );
    }
    std::thread::sleep(Duration::from_millis(3500));

    let (want, got) = payloads(&rec);
    let count = |m: &BTreeMap<String, Vec<Value>>, k: &str| {
        m.iter()
            .filter(|(p, _)| p.starts_with(k))
            .map(|(_, v)| v.len())
            .sum::<usize>()
    };
    assert_eq!(count(&want, "hook {}:{alertname=\"A\"}"), 2, "{want:#?}");
    assert_eq!(count(&want, "hook {}:{alertname=\"B\"}"), 1, "{want:#?}");
    assert_eq!(
        count(&want, "muted") + count(&want, "inactive"),
        0,
        "{want:#?}"
    );
    // The data's receiver name is regexp-quoted, as Alertmanager does.
    let first = &want.values().next().unwrap()[0];
    assert_eq!(first["receiver"], "hook\\.main", "{first}");
    assert_eq!(got, want);
    fw.stop();
}
