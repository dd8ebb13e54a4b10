//! `firewatch` with no arguments, end to end: the server on :9090 evaluates an alert rule,
//! sends the alert to the all-in-one Alertmanager on :9093, which notifies a webhook.
//!
//! The all-in-one takes no flags (its ports are the defaults 9090, 9093, 9100 and 8080, its
//! data directory `data/` under the working directory), so the test runs it in a temporary
//! working directory where `data/` already holds the three files the all-in-one otherwise
//! writes itself: the default `firewatch.yml` with a 1 s evaluation interval, a rule file with
//! one always-firing rule, and an Alertmanager configuration whose receiver is the test's
//! webhook. The fixed ports are shared with `all_in_one_exporters.rs` through the same lock
//! file (`firewatch-all-in-one.lock` in the temporary directory).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use testkit::{Process, get_ok, http, wait_for};

/// A webhook receiver on a free loopback port keeping every POST body.
fn recorder() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let keep = bodies.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut len = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if reader.read_exact(&mut body).is_ok() {
                keep.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
            }
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, bodies)
}

#[test]
fn all_in_one_delivers_a_rule_alert_to_a_webhook() {
    let lock = std::fs::File::create(std::env::temp_dir().join("firewatch-all-in-one.lock"))
        .expect("lock file");
    lock.lock().expect("all-in-one lock");
    for port in [9090, 9093, 9100, 8080] {
        wait_for(
            &format!("port {port} free for the all-in-one start"),
            Duration::from_secs(30),
            || TcpListener::bind(("0.0.0.0", port)).is_ok(),
        );
    }
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let (hook, bodies) = recorder();
    let config = include_str!("../src/default-config.yml")
        .replace("evaluation_interval: 15s", "evaluation_interval: 1s");
    assert!(config.contains("evaluation_interval: 1s"), "{config}");
    std::fs::write(data.join("firewatch.yml"), config).unwrap();
    std::fs::write(
        data.join("firewatch-rules.yml"),
        "groups:\n  - name: test\n    rules:\n      - alert: AllInOneFires\n        expr: vector(1)\n        labels: {severity: test}\n        annotations: {summary: from the rule}\n",
    )
    .unwrap();
    std::fs::write(
        data.join("firewatch-alertmanager.yml"),
        format!(
            "route: {{receiver: hook, group_by: [alertname], group_wait: 0s}}\nreceivers:\n  - name: hook\n    webhook_configs: [{{url: 'http://127.0.0.1:{hook}/hook'}}]\n"
        ),
    )
    .unwrap();

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.current_dir(work.path());
    let mut p = Process::spawn("firewatch", cmd, &work.path().join("firewatch.log"));
    wait_for("the all-in-one ready", Duration::from_secs(60), || {
        assert!(p.is_running(), "exited: {}", p.log_text());
        get_ok(9090, "/-/ready").is_some() && get_ok(9093, "/-/ready").is_some()
    });
    let notified = || {
        bodies
            .lock()
            .unwrap()
            .iter()
            .find(|b| b.contains("AllInOneFires"))
            .cloned()
    };
    wait_for("the webhook notified", Duration::from_secs(60), || {
        assert!(p.is_running(), "exited: {}", p.log_text());
        notified().is_some()
    });
    let v: serde_json::Value = serde_json::from_str(&notified().unwrap()).unwrap();
    assert_eq!(v["status"], "firing", "{v}");
    assert_eq!(v["receiver"], "hook", "{v}");
    let alert = &v["alerts"][0];
    assert_eq!(alert["labels"]["alertname"], "AllInOneFires", "{v}");
    assert_eq!(alert["labels"]["severity"], "test", "{v}");
    assert_eq!(alert["annotations"]["summary"], "from the rule", "{v}");
    assert!(
        alert["generatorURL"]
            .as_str()
            .unwrap_or("")
            .contains(":9090/"),
        "the server's link: {v}"
    );
    // The Alertmanager on :9093 holds it, and the server lists :9093 as its Alertmanager.
    let alerts = http(9093, "GET", "/api/v2/alerts", None).unwrap().body;
    assert!(
        alerts.contains("\"alertname\":\"AllInOneFires\""),
        "{alerts}"
    );
    let ams = http(9090, "GET", "/api/v1/alertmanagers", None)
        .unwrap()
        .body;
    assert!(ams.contains(":9093/api/v2/alerts"), "{ams}");
    p.terminate();
}
