//! `firewatch alertmanager` as a process: flags as Alertmanager's, state kept across a
//! `kill -9` (silences, alerts and their inhibition), and `firewatch tool check-config`
//! printing what Debian's `amtool check-config` prints.

use std::process::Command;
use std::time::Duration;

use testkit::{Process, free_port, get_ok, http, wait_for};

const CONFIG: &str = r#"
route: {receiver: default, group_by: [alertname], group_wait: 1h}
inhibit_rules:
  - source_matchers: ['severity="critical"']
    target_matchers: ['severity="warning"']
    equal: [alertname]
receivers: [{name: default}]
"#;

fn start(dir: &std::path::Path, port: u16) -> Process {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.arg("alertmanager")
        .arg(format!(
            "--config.file={}",
            dir.join("alertmanager.yml").display()
        ))
        .arg(format!("--storage.path={}", dir.join("data").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .arg("--data.retention=120h");
    let mut p = Process::spawn(
        "firewatch alertmanager",
        cmd,
        &dir.join(format!("am-{port}.log")),
    );
    wait_for(
        "firewatch alertmanager ready",
        Duration::from_secs(30),
        || {
            assert!(p.is_running(), "exited: {}", p.log_text());
            get_ok(port, "/-/ready").is_some()
        },
    );
    p
}

/// A JSON request (testkit's client sends form bodies).
fn json(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let req = format!(
        "{method} {path} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (
        head.split_whitespace().nth(1).unwrap().parse().unwrap(),
        body.to_owned(),
    )
}

#[test]
fn alertmanager_subcommand_keeps_state_across_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("alertmanager.yml"), CONFIG).unwrap();
    let port = free_port();
    let am = start(dir.path(), port);
    let now = jiff::Timestamp::now();
    let alerts = format!(
        r#"[{{"labels":{{"alertname":"Disk","severity":"critical"}},"startsAt":"{now}"}},{{"labels":{{"alertname":"Disk","severity":"warning"}},"startsAt":"{now}"}}]"#
    );
    assert_eq!(json(port, "POST", "/api/v2/alerts", &alerts).0, 200);
    let end = now + jiff::SignedDuration::from_hours(1);
    let silence = format!(
        r#"{{"matchers":[{{"name":"alertname","value":"Other","isRegex":false}}],"startsAt":"{now}","endsAt":"{end}","createdBy":"me","comment":"kept"}}"#
    );
    let (code, body) = json(port, "POST", "/api/v2/silences", &silence);
    assert_eq!(code, 200, "{body}");
    drop(am); // SIGKILL, at once: an acknowledged POST is on disk

    let am = start(dir.path(), port);
    let silences = http(port, "GET", "/api/v2/silences", None).unwrap().body;
    assert!(
        silences.contains("\"comment\":\"kept\"") && silences.contains("\"active\""),
        "{silences}"
    );
    let warning = http(
        port,
        "GET",
        "/api/v2/alerts?filter=severity%3Dwarning",
        None,
    )
    .unwrap()
    .body;
    assert!(
        warning.contains("\"state\":\"suppressed\""),
        "inhibited after the restart: {warning}"
    );
    assert!(warning.contains("\"inhibitedBy\":[\""), "{warning}");
    am.terminate();
}

/// Alerts acknowledged just before a `kill -9` are all there after the restart: many small
/// POSTs (some concurrent, sharing a sync), the process killed right after the last answer,
/// then a restart with the log replayed; a second kill and restart after more POSTs shows the
/// replayed state and the new appends together.
#[test]
fn alerts_acknowledged_right_before_kill_9_survive() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("alertmanager.yml"), CONFIG).unwrap();
    let port = free_port();
    let post = |from: usize, to: usize| {
        let now = jiff::Timestamp::now();
        std::thread::scope(|s| {
            for t in 0..4 {
                s.spawn(move || {
                    for i in (from + t..to).step_by(4) {
                        let body = format!(
                            r#"[{{"labels":{{"alertname":"Posted","n":"{i}"}},"startsAt":"{now}"}}]"#
                        );
                        let (code, text) = json(port, "POST", "/api/v2/alerts", &body);
                        assert_eq!(code, 200, "{text}");
                    }
                });
            }
        });
    };
    let count = |port: u16| {
        let body = http(
            port,
            "GET",
            "/api/v2/alerts?filter=alertname%3DPosted",
            None,
        )
        .unwrap()
        .body;
        body.matches("\"alertname\":\"Posted\"").count()
    };
    let am = start(dir.path(), port);
    post(0, 200);
    drop(am); // SIGKILL right after the last acknowledgement
    let am = start(dir.path(), port);
    assert_eq!(
        count(port),
        200,
        "every acknowledged alert after the first kill"
    );
    post(200, 300);
    drop(am);
    let am = start(dir.path(), port);
    assert_eq!(
        count(port),
        300,
        "replayed and new alerts after the second kill"
    );
    am.terminate();
}

/// Silences acknowledged just before a `kill -9` are there after the restart: one created and
/// one created then expired (DELETE) right before the kill, then after a second kill the
/// replayed ones with a new one.
#[test]
fn silences_acknowledged_right_before_kill_9_survive() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("alertmanager.yml"), CONFIG).unwrap();
    let port = free_port();
    let create = |comment: &str| {
        let now = jiff::Timestamp::now();
        let end = now + jiff::SignedDuration::from_hours(1);
        let body = format!(
            r#"{{"matchers":[{{"name":"alertname","value":"{comment}","isRegex":false}}],"startsAt":"{now}","endsAt":"{end}","createdBy":"me","comment":"{comment}"}}"#
        );
        let (code, text) = json(port, "POST", "/api/v2/silences", &body);
        assert_eq!(code, 200, "{text}");
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        v["silenceID"].as_str().unwrap().to_owned()
    };
    let state = |id: &str| {
        let r = http(port, "GET", &format!("/api/v2/silence/{id}"), None).unwrap();
        assert_eq!(r.status, 200, "silence {id}: {}", r.body);
        let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
        v["status"]["state"].as_str().unwrap().to_owned()
    };
    let am = start(dir.path(), port);
    let kept = create("kept");
    let gone = create("gone");
    assert_eq!(
        json(port, "DELETE", &format!("/api/v2/silence/{gone}"), "").0,
        200
    );
    drop(am); // SIGKILL right after the last acknowledgement
    let am = start(dir.path(), port);
    assert_eq!(state(&kept), "active", "created before the first kill");
    assert_eq!(state(&gone), "expired", "expired before the first kill");
    let later = create("later");
    drop(am);
    let am = start(dir.path(), port);
    assert_eq!(state(&kept), "active");
    assert_eq!(state(&gone), "expired");
    assert_eq!(state(&later), "active", "created before the second kill");
    am.terminate();
}

#[test]
fn tool_check_config_prints_what_amtool_prints() {
    let test = "tool_check_config_prints_what_amtool_prints";
    let Some(amtool) = testkit::peer_binary(test, "amtool") else {
        return;
    };
    let Some(good) = testkit::shared_path(test, "alertmanager-testdata/cli/testdata/conf.good.yml")
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(&bad, "route: {receiver: x}\nreceivers: [{name: y}]\n").unwrap();
    for f in [good, bad] {
        let want = Command::new(&amtool)
            .arg("check-config")
            .arg(&f)
            .output()
            .unwrap();
        let got = Command::new(env!("CARGO_BIN_EXE_firewatch"))
            .args(["tool", "check-config"])
            .arg(&f)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got.stdout),
            String::from_utf8_lossy(&want.stdout),
            "{}",
            f.display()
        );
        assert_eq!(
            String::from_utf8_lossy(&got.stderr),
            String::from_utf8_lossy(&want.stderr),
            "{}",
            f.display()
        );
        assert_eq!(got.status.code(), want.status.code());
    }
}
