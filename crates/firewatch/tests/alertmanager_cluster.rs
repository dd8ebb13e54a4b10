//! Two `firewatch alertmanager` processes peered with the `--cluster.*` flags on loopback:
//! fed the same alert they notify once, a silence created on one shows on the other, and
//! after one is killed the other still notifies.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use testkit::{Process, free_port, get_ok, wait_for};

/// Starts a webhook receiver; returns its port and the `groupLabels.alertname` of each POST.
fn recorder() -> (u16, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let g = got.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut len = 0;
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if r.read_exact(&mut body).is_ok() {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
                let name = v["groupLabels"]["alertname"]
                    .as_str()
                    .unwrap_or("")
                    .to_owned();
                g.lock().unwrap().push(name);
            }
            let mut s = s;
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, got)
}

/// A request with a JSON body (the API reads the body whatever its content type).
fn json(port: u16, method: &str, path: &str, body: &str) -> (u16, String) {
    let r = testkit::http(port, method, path, Some(body)).unwrap();
    (r.status, r.body)
}

fn start(dir: &std::path::Path, port: u16, cluster: u16, peer: u16) -> Process {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.arg("alertmanager")
        .arg(format!(
            "--config.file={}",
            dir.join("alertmanager.yml").display()
        ))
        .arg(format!(
            "--storage.path={}",
            dir.join(format!("data-{port}")).display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg(format!("--cluster.listen-address=127.0.0.1:{cluster}"))
        .arg(format!("--cluster.peer=127.0.0.1:{peer}"))
        .arg("--cluster.peer-timeout=3s");
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

#[test]
fn alertmanager_cluster_flags_peer_two_processes() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, got) = recorder();
    std::fs::write(
        dir.path().join("alertmanager.yml"),
        format!(
            "route: {{receiver: hook, group_by: [alertname], group_wait: 1s, group_interval: 1s, repeat_interval: 1h}}\n\
             receivers: [{{name: hook, webhook_configs: [{{url: 'http://127.0.0.1:{hook}/'}}]}}]\n"
        ),
    )
    .unwrap();
    let (wa, wb, ca, cb) = (free_port(), free_port(), free_port(), free_port());
    let a = start(dir.path(), wa, ca, cb);
    let _b = start(dir.path(), wb, cb, ca);
    for port in [wa, wb] {
        wait_for("both peers in the status", Duration::from_secs(15), || {
            let st: serde_json::Value =
                serde_json::from_str(&get_ok(port, "/api/v2/status").unwrap()).unwrap();
            st["cluster"]["status"] == "ready"
                && st["cluster"]["peers"].as_array().unwrap().len() == 2
        });
    }
    let now = jiff::Timestamp::now();
    let alert =
        |name: &str| format!(r#"[{{"labels":{{"alertname":"{name}"}},"startsAt":"{now}"}}]"#);
    for port in [wa, wb] {
        assert_eq!(json(port, "POST", "/api/v2/alerts", &alert("Both")).0, 200);
    }
    wait_for("a notification", Duration::from_secs(10), || {
        !got.lock().unwrap().is_empty()
    });
    std::thread::sleep(Duration::from_secs(6));
    assert_eq!(*got.lock().unwrap(), ["Both"]);

    let end = now + jiff::SignedDuration::from_hours(1);
    let silence = format!(
        r#"{{"matchers":[{{"name":"alertname","value":"Quiet","isRegex":false}}],"startsAt":"{now}","endsAt":"{end}","createdBy":"me","comment":"ha"}}"#
    );
    let (code, body) = json(wb, "POST", "/api/v2/silences", &silence);
    assert_eq!(code, 200, "{body}");
    wait_for(
        "the silence on the other process",
        Duration::from_secs(5),
        || get_ok(wa, "/api/v2/silences").is_some_and(|s| s.contains(r#""comment":"ha""#)),
    );

    drop(a);
    assert_eq!(json(wb, "POST", "/api/v2/alerts", &alert("Alone")).0, 200);
    wait_for("the survivor to notify", Duration::from_secs(15), || {
        got.lock().unwrap().iter().any(|n| n == "Alone")
    });
    let metrics = get_ok(wb, "/metrics").unwrap();
    assert!(
        metrics.contains("alertmanager_cluster_enabled 1"),
        "{metrics}"
    );
}
