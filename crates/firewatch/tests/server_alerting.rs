//! End to end: `firewatch server` evaluates recording and alerting rules from its configuration
//! and delivers the alert to the real Alertmanager 0.25 (Debian's `prometheus-alertmanager`);
//! the API shows the rules, the alert and the Alertmanager, and a reload swaps the rules.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use testkit::{Process, Server, free_port, get_ok, urlencode, wait_for};

const RULES: &str = r#"groups:
  - name: smoke
    interval: 1s
    rules:
      - record: smoke:doubled
        expr: vector(21) * 2
      - alert: AlwaysFiring
        expr: vector(42) > 1
        labels:
          severity: page
        annotations:
          summary: "value is {{ $value }} on {{ $externalLabels.site }}"
"#;

fn start_alertmanager(work: &Path) -> (Process, u16) {
    let port = free_port();
    let config = work.join("alertmanager.yml");
    std::fs::write(
        &config,
        "route:\n  receiver: sink\n  group_wait: 0s\nreceivers:\n  - name: sink\n",
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

fn json(port: u16, path: &str) -> Value {
    let body = get_ok(port, path).unwrap_or_else(|| panic!("GET {path} failed"));
    serde_json::from_str(&body).unwrap()
}

#[test]
fn rules_fire_into_alertmanager() {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let (_am, am_port) = start_alertmanager(&work);
    std::fs::write(work.join("rules.yml"), RULES).unwrap();
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n  external_labels:\n    site: lab\n\
         rule_files: [{rules}]\n\
         alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{am_port}']\n",
        rules = work.join("rules.yml").display()
    );
    let fw = Server::start(
        env!("CARGO_BIN_EXE_firewatch"),
        &["server"],
        &work,
        &dir.path().join("data"),
        &config,
        &["--web.enable-lifecycle"],
    );

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

    // The API shows the rules with their health, the firing alert and the Alertmanager.
    let rules = json(fw.port, "/api/v1/rules");
    let group = &rules["data"]["groups"][0];
    assert_eq!(group["name"], "smoke");
    assert_eq!(group["rules"][1]["state"], "firing");
    assert_eq!(group["rules"][1]["health"], "ok");
    let firing = json(fw.port, "/api/v1/alerts");
    assert_eq!(
        firing["data"]["alerts"][0]["labels"]["alertname"],
        "AlwaysFiring"
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
