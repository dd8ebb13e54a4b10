//! High availability: two instances peered on loopback, fed the same alerts, notify each
//! group once; a silence created on one is gossiped to the other and mutes there; with one
//! peer gone the other notifies.

mod common;

use std::time::{Duration, Instant};

use common::{Recorder, at, request};
use serde_json::{Value, json};

const CONFIG: &str = r#"
route:
  receiver: hook
  group_by: [alertname]
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 1h
receivers:
  - name: hook
    webhook_configs: [{url: 'RECORDER'}]
"#;

fn alert(name: &str) -> Value {
    json!([{"labels": {"alertname": name, "job": "ha"}, "startsAt": at(-5.0), "endsAt": at(3600.0)}])
}

fn post(port: u16, alerts: &Value) {
    let (code, body) = request(port, "POST", "/api/v2/alerts", Some(&alerts.to_string()));
    assert_eq!(code, 200, "{body}");
}

fn get(port: u16, path: &str) -> Value {
    let (code, body) = request(port, "GET", path, None);
    assert_eq!(code, 200, "{path}: {body}");
    serde_json::from_str(&body).unwrap()
}

/// How many notifications were received for the alert named `name`.
fn count(rec: &Recorder, name: &str) -> usize {
    rec.under("/hook")
        .iter()
        .filter(|(_, b)| b["groupLabels"]["alertname"] == name)
        .count()
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn two_peers_notify_once_share_silences_and_fail_over() {
    let dir = common::tempdir();
    let rec = Recorder::start();
    let cfg = CONFIG.replace("RECORDER", &format!("http://127.0.0.1:{}/hook", rec.port));
    let (pa, pb) = (testkit::free_port(), testkit::free_port());
    let peer = |me: u16, other: u16| {
        move |o: &mut firewatch_alertmanager::Options| {
            o.cluster_listen_address = format!("127.0.0.1:{me}");
            o.cluster_peers = vec![format!("127.0.0.1:{other}")];
            o.peer_timeout = Duration::from_secs(3);
            o.gossip_interval = Duration::from_millis(250);
        }
    };
    let a = common::firewatch_with(&dir.path().join("a"), &cfg, peer(pa, pb));
    let b = common::firewatch_with(&dir.path().join("b"), &cfg, peer(pb, pa));
    for (inst, other) in [(&a, pb), (&b, pa)] {
        wait_until(
            "the peers to see each other",
            Duration::from_secs(10),
            || {
                let st = get(inst.port, "/api/v2/status");
                st["cluster"]["status"] == "ready"
                    && st["cluster"]["peers"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["address"] == format!("127.0.0.1:{other}"))
            },
        );
    }
    let metrics = request(a.port, "GET", "/metrics", None).1;
    assert!(
        metrics.contains("alertmanager_cluster_enabled 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("alertmanager_cluster_members 2"),
        "{metrics}"
    );

    // The same alert on both: one notification (the second peer waits 3s, sees the log).
    post(a.port, &alert("Both"));
    post(b.port, &alert("Both"));
    wait_until("the first notification", Duration::from_secs(10), || {
        count(&rec, "Both") >= 1
    });
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(count(&rec, "Both"), 1, "{:?}", rec.under("/hook"));

    // A silence created on A is visible on B within seconds...
    let sil = json!({"matchers": [{"name": "alertname", "value": "Muted", "isRegex": false, "isEqual": true}],
        "startsAt": at(0.0), "endsAt": at(3600.0), "createdBy": "ha-test", "comment": "gossiped"});
    let id = common::post_silence(a.port, &sil.to_string());
    wait_until(
        "the silence on the other peer",
        Duration::from_secs(5),
        || {
            get(b.port, "/api/v2/silences")
                .as_array()
                .unwrap()
                .iter()
                .any(|s| s["id"] == id.as_str() && s["status"]["state"] == "active")
        },
    );

    // ...and, with A gone, B mutes by it and notifies the rest itself.
    a.stop();
    post(b.port, &json!([alert("Muted")[0], alert("Alone")[0]]));
    wait_until(
        "the surviving peer to notify",
        Duration::from_secs(15),
        || count(&rec, "Alone") == 1,
    );
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(count(&rec, "Muted"), 0, "{:?}", rec.under("/hook"));
    let alerts = get(b.port, "/api/v2/alerts?filter=alertname%3D%22Muted%22");
    assert_eq!(
        alerts[0]["status"]["silencedBy"][0],
        id.as_str(),
        "{alerts}"
    );
    drop(b);
}

/// A starting peer holds its first notifications until the cluster settled: the live peer
/// count unchanged for three polls two gossip intervals apart (here 4 s), with the status
/// `settling` before and `ready` after; with a short `--cluster.settle-timeout` the wait
/// ends at the timeout instead.
#[test]
fn notifications_wait_for_the_cluster_to_settle() {
    let dir = common::tempdir();
    let rec = Recorder::start();
    let cfg = CONFIG
        .replace("RECORDER", &format!("http://127.0.0.1:{}/hook", rec.port))
        .replace("group_wait: 1s", "group_wait: 0s");
    let listen = testkit::free_port();
    let started = Instant::now();
    let a = common::firewatch_with(&dir.path().join("a"), &cfg, |o| {
        o.cluster_listen_address = format!("127.0.0.1:{listen}");
        o.gossip_interval = Duration::from_millis(500);
        o.settle_timeout = Duration::from_secs(60);
    });
    assert_eq!(
        get(a.port, "/api/v2/status")["cluster"]["status"],
        "settling"
    );
    post(a.port, &alert("Early"));
    wait_until(
        "the notification after settling",
        Duration::from_secs(20),
        || count(&rec, "Early") == 1,
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(3500),
        "notified {took:?} after the start, before the cluster settled (4 s)"
    );
    assert_eq!(get(a.port, "/api/v2/status")["cluster"]["status"], "ready");
    a.stop();

    // Polls 20 s apart, a 1 s timeout: ready after about 1 s.
    let listen = testkit::free_port();
    let started = Instant::now();
    let b = common::firewatch_with(&dir.path().join("b"), &cfg, |o| {
        o.cluster_listen_address = format!("127.0.0.1:{listen}");
        o.gossip_interval = Duration::from_secs(10);
        o.settle_timeout = Duration::from_secs(1);
    });
    post(b.port, &alert("Timeout"));
    wait_until(
        "the notification after the timeout",
        Duration::from_secs(15),
        || count(&rec, "Timeout") == 1,
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(10),
        "notified {took:?} after the start (settle timeout 1 s)"
    );
    assert_eq!(get(b.port, "/api/v2/status")["cluster"]["status"], "ready");
    b.stop();
}
