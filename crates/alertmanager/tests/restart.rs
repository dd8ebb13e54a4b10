//! A crash (the runtime ended without shutdown work, as `kill -9`) and a restart on the same
//! storage path: silences, the notification log and inhibitions hold; no duplicate and no
//! lost notification.

mod common;

use std::time::Duration;

use common::{Recorder, at, request};
use serde_json::{Value, json};

const CONFIG: &str = r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname]
receivers:
  - name: hook
    webhook_configs: [{url: 'RECORDER'}]
"#;

fn post(port: u16, alerts: &Value) {
    let (code, body) = request(port, "POST", "/api/v2/alerts", Some(&alerts.to_string()));
    assert_eq!(code, 200, "{body}");
}

fn notified(rec: &Recorder) -> Vec<(String, Vec<String>)> {
    rec.under("/hook")
        .into_iter()
        .map(|(_, b)| {
            let names = b["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    format!(
                        "{}/{}/{}",
                        a["labels"]["alertname"].as_str().unwrap(),
                        a["labels"]["severity"].as_str().unwrap_or(""),
                        a["status"].as_str().unwrap()
                    )
                })
                .collect();
            (b["groupKey"].as_str().unwrap().to_owned(), names)
        })
        .collect()
}

#[test]
fn crash_and_restart_keep_silences_nflog_and_inhibitions() {
    let dir = common::tempdir();
    let rec = Recorder::start();
    let cfg = CONFIG.replace("RECORDER", &format!("http://127.0.0.1:{}/hook", rec.port));
    let fw = common::firewatch(dir.path(), &cfg);
    let t0 = at(-10.0);
    let silence = json!({"matchers": [{"name": "alertname", "value": "Quiet", "isRegex": false, "isEqual": true}],
        "startsAt": at(0.0), "endsAt": at(3600.0), "createdBy": "me", "comment": "c"});
    let (code, body) = request(
        fw.port,
        "POST",
        "/api/v2/silences",
        Some(&silence.to_string()),
    );
    assert_eq!(code, 200, "{body}");
    let id = serde_json::from_str::<Value>(&body).unwrap()["silenceID"]
        .as_str()
        .unwrap()
        .to_owned();
    post(
        fw.port,
        &json!([
            {"labels": {"alertname": "Disk", "severity": "critical"}, "startsAt": t0},
            {"labels": {"alertname": "Disk", "severity": "warning"}, "startsAt": t0},
            {"labels": {"alertname": "Quiet"}, "startsAt": t0},
            {"labels": {"alertname": "Cpu"}, "startsAt": t0},
        ]),
    );
    testkit::wait_for("two notifications", Duration::from_secs(10), || {
        notified(&rec).len() >= 2
    });
    std::thread::sleep(Duration::from_secs(2));
    let before = notified(&rec);
    assert_eq!(before.len(), 2, "{before:?}");
    assert!(
        before.iter().any(|(_, a)| a == &["Disk/critical/firing"]),
        "the warning is inhibited: {before:?}"
    );
    assert!(
        before.iter().any(|(_, a)| a == &["Cpu//firing"]),
        "{before:?}"
    );

    fw.crash();
    let fw = common::firewatch(dir.path(), &cfg);
    // Old alerts flush at once after a restart: the log must stop every duplicate, the
    // restored inhibition must keep the warning back, the silence must hold.
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(notified(&rec), before, "no notification after the restart");
    let (_, body) = request(fw.port, "GET", &format!("/api/v2/silence/{id}"), None);
    let sil: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(sil["status"]["state"], "active");
    let (_, body) = request(
        fw.port,
        "GET",
        "/api/v2/alerts?filter=severity%3D%22warning%22",
        None,
    );
    let alerts: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(alerts[0]["status"]["state"], "suppressed", "{alerts}");
    assert_eq!(
        alerts[0]["status"]["inhibitedBy"].as_array().unwrap().len(),
        1,
        "{alerts}"
    );

    // A new alert in a notified group: exactly one notification with both.
    post(
        fw.port,
        &json!([{"labels": {"alertname": "Cpu", "instance": "b"}, "startsAt": at(0.0)}]),
    );
    testkit::wait_for("the new alert", Duration::from_secs(10), || {
        notified(&rec).len() > before.len()
    });
    std::thread::sleep(Duration::from_secs(2));
    let after = notified(&rec);
    assert_eq!(after.len(), before.len() + 1, "{after:?}");
    assert_eq!(after.last().unwrap().1, ["Cpu//firing", "Cpu//firing"]);
    fw.stop();
}

/// The alerts of a GET, as `alertname/instance/state` sorted.
fn listed(port: u16) -> Vec<String> {
    let (code, body) = request(port, "GET", "/api/v2/alerts", None);
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let mut out: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            format!(
                "{}/{}/{}",
                a["labels"]["alertname"].as_str().unwrap(),
                a["labels"]["instance"].as_str().unwrap(),
                a["startsAt"].as_str().unwrap()
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn alerts_survive_a_restart_with_and_without_fsync() {
    // `--storage.alerts-fsync` and `--no-storage.alerts-fsync` (default): both keep what was
    // acknowledged across a clean stop and across a crash of the process (the log is written
    // before the answer either way; only the sync to the disk differs).
    let cfg = "route: {receiver: none, group_wait: 1h}\nreceivers: [{name: none}]\n";
    for fsync in [true, false] {
        let dir = common::tempdir();
        let start =
            |dir: &std::path::Path| common::firewatch_with(dir, cfg, |o| o.alerts_fsync = fsync);
        let fw = start(dir.path());
        let t0 = at(-60.0);
        let alerts: Vec<Value> = (0..50)
            .map(|i| {
                json!({"labels": {"alertname": format!("A{}", i % 5), "instance": format!("h{i}")},
                    "startsAt": t0, "endsAt": at(3600.0)})
            })
            .collect();
        for chunk in alerts.chunks(10) {
            post(fw.port, &json!(chunk));
        }
        let before = listed(fw.port);
        assert_eq!(before.len(), 50, "fsync {fsync}");
        fw.stop();

        let fw = start(dir.path());
        assert_eq!(listed(fw.port), before, "after a clean stop, fsync {fsync}");
        post(
            fw.port,
            &json!([{"labels": {"alertname": "Late", "instance": "x"}, "startsAt": t0}]),
        );
        let before = listed(fw.port);
        fw.crash();

        let fw = start(dir.path());
        assert_eq!(listed(fw.port), before, "after a crash, fsync {fsync}");
        fw.stop();
    }
}
