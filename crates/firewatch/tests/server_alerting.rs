//! End to end: `firewatch server` evaluates recording and alerting rules from its configuration
//! and delivers the alert to the real Alertmanager 0.25 (Debian's `prometheus-alertmanager`),
//! which passes it on to a webhook; the API shows the rules, the alert and the Alertmanager; a
//! restart keeps a pending alert's `for` progress; a reload swaps the rules.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde_json::Value;
use testkit::{Process, Server, free_port, get_ok, urlencode, wait_for};

const RULES: &str = r#"groups:
  - name: smoke
    interval: 1s
    rules:
      - record: smoke:doubled
        expr: vector(21) * 2
      - alert: SlowBurn
        expr: vector(1)
        for: 1h
      - alert: AlwaysFiring
        expr: vector(42) > 1
        labels:
          severity: page
        annotations:
          summary: "value is {{ $value }} on {{ $externalLabels.site }}"
"#;

/// A webhook receiver on 127.0.0.1: keeps the body of every POST it gets.
fn start_webhook() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let kept = bodies.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            if reader.read_exact(&mut body).is_ok() {
                kept.lock()
                    .unwrap()
                    .push(String::from_utf8_lossy(&body).into_owned());
            }
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        }
    });
    (port, bodies)
}

fn start_alertmanager(work: &Path, webhook: u16) -> (Process, u16) {
    let port = free_port();
    let config = work.join("alertmanager.yml");
    std::fs::write(
        &config,
        format!(
            "route:\n  receiver: hook\n  group_wait: 0s\n  group_by: [alertname]\n\
             receivers:\n  - name: hook\n    webhook_configs:\n      - url: http://127.0.0.1:{webhook}/\n"
        ),
    )
    .unwrap();
    let mut cmd = Command::new("prometheus-alertmanager");
    cmd.arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.path={}", work.join("am-data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=");
    let process = Process::spawn("prometheus-alertmanager", cmd, &work.join("am.log"));
    wait_for("alertmanager ready", Duration::from_secs(30), || {
        get_ok(port, "/-/ready").is_some()
    });
    (process, port)
}

/// When the pending `SlowBurn` alert became active, by `/api/v1/alerts`.
fn slow_burn_active_at(port: u16) -> SystemTime {
    let alerts = json(port, "/api/v1/alerts");
    let alert = alerts["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["labels"]["alertname"] == "SlowBurn")
        .expect("SlowBurn is active")
        .clone();
    let ts: jiff::Timestamp = alert["activeAt"].as_str().unwrap().parse().unwrap();
    SystemTime::UNIX_EPOCH + Duration::from_millis(ts.as_millisecond().unsigned_abs())
}

fn json(port: u16, path: &str) -> Value {
    let body = get_ok(port, path).unwrap_or_else(|| panic!("GET {path} failed"));
    serde_json::from_str(&body).unwrap()
}

#[test]
fn rules_fire_into_alertmanager() {
    if !testkit::peers(
        "firewatch::server_alerting::rules_fire_into_alertmanager",
        &["prometheus-alertmanager"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let (hook_port, hooked) = start_webhook();
    let (_am, am_port) = start_alertmanager(&work, hook_port);
    // Beside the configuration file, named relative to it.
    std::fs::write(work.join("rules.yml"), RULES).unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  external_labels:\n    site: lab\n\
         rule_files: [rules.yml]\n\
         alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\n"
    );
    let flags = [
        "--web.enable-lifecycle",
        "--rules.alert.for-grace-period=1s",
    ];
    let start = || {
        Server::start(
            env!("CARGO_BIN_EXE_firewatch"),
            &["server"],
            &work,
            &dir.path().join("data"),
            &config,
            &flags,
        )
    };
    let fw = start();

    // The alert reaches Alertmanager with its template expanded and the external label.
    wait_for("the alert in Alertmanager", Duration::from_secs(60), || {
        get_ok(am_port, "/api/v2/alerts").is_some_and(|b| b.contains("AlwaysFiring"))
    });
    let alerts = json(am_port, "/api/v2/alerts");
    let alert = &alerts[0];
    assert_eq!(alert["labels"]["alertname"], "AlwaysFiring");
    assert_eq!(alert["labels"]["severity"], "page");
    assert_eq!(alert["labels"]["site"], "lab");
    assert_eq!(alert["annotations"]["summary"], "value is 42 on lab");
    wait_for("the webhook notification", Duration::from_secs(60), || {
        hooked
            .lock()
            .unwrap()
            .iter()
            .any(|b| b.contains("value is 42 on lab"))
    });
    let note: Value = serde_json::from_str(&hooked.lock().unwrap()[0]).unwrap();
    assert_eq!(note["status"], "firing");
    assert_eq!(note["alerts"][0]["labels"]["alertname"], "AlwaysFiring");

    // The API shows the rules with their health, the firing alert and the Alertmanager.
    let rules = json(fw.port, "/api/v1/rules");
    let group = &rules["data"]["groups"][0];
    assert_eq!(group["name"], "smoke");
    assert_eq!(group["rules"][1]["state"], "pending");
    assert_eq!(group["rules"][2]["state"], "firing");
    assert_eq!(group["rules"][2]["health"], "ok");
    let active = json(fw.port, "/api/v1/alerts");
    let names: Vec<&str> = active["data"]["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["labels"]["alertname"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"AlwaysFiring") && names.contains(&"SlowBurn"),
        "{names:?}"
    );
    let ams = json(fw.port, "/api/v1/alertmanagers");
    let url = ams["data"]["activeAlertmanagers"][0]["url"]
        .as_str()
        .unwrap();
    assert_eq!(url, format!("http://127.0.0.1:{am_port}/api/v2/alerts"));
    let metrics = get_ok(fw.port, "/metrics").unwrap();
    assert!(
        metrics.contains("prometheus_notifications_sent_total"),
        "{metrics}"
    );
    assert!(
        metrics.contains("prometheus_rule_evaluations_total"),
        "{metrics}"
    );

    // ALERTS and the recorded series are written.
    wait_for(
        "ALERTS and the recorded series",
        Duration::from_secs(60),
        || {
            ["ALERTS{alertstate=\"firing\"} == 1", "smoke:doubled == 42"]
                .iter()
                .all(|q| {
                    get_ok(fw.port, &format!("/api/v1/query?query={}", urlencode(q)))
                        .is_some_and(|b| b.contains("\"value\""))
                })
        },
    );

    // A restart keeps the pending alert's progress: restored from ALERTS_FOR_STATE, its start
    // moves by the downtime only (grace period 1s), so it lies before the restart, where a
    // fresh start would put it after.
    let first_active = slow_burn_active_at(fw.port);
    std::thread::sleep(Duration::from_secs(8));
    fw.process.terminate();
    let restarted_at = SystemTime::now();
    let fw = start();
    wait_for("SlowBurn pending again", Duration::from_secs(60), || {
        get_ok(fw.port, "/api/v1/alerts").is_some_and(|b| b.contains("SlowBurn"))
    });
    let restored = slow_burn_active_at(fw.port);
    assert!(restored > first_active, "{restored:?} {first_active:?}");
    assert!(
        restored < restarted_at,
        "activeAt {restored:?} not restored (restart at {restarted_at:?})"
    );

    // A reload with the alert removed drops it from the rules.
    std::fs::write(
        work.join("rules.yml"),
        RULES.split("      - alert:").next().unwrap(),
    )
    .unwrap();
    let reload = testkit::http(fw.port, "POST", "/-/reload", None).unwrap();
    assert_eq!(reload.status, 200, "{}", reload.body);
    let rules = json(fw.port, "/api/v1/rules");
    let names: Vec<&str> = rules["data"]["groups"][0]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["smoke:doubled"]);
    fw.process.terminate();
}
