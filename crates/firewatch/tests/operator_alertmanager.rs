//! End to end: `firewatch alertmanager --operator.config.file` merges the AlertmanagerConfig
//! objects the in-process fake Kubernetes API serves into its configuration, as the Operator
//! does: an alert of the object's namespace reaches the object's webhook (its URL read from a
//! Secret) on a loopback sink; deleting the object takes its route out again, without a restart.

#[path = "../../discovery/tests/common/fake_kube.rs"]
#[allow(dead_code)]
mod fake_kube;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use fake_kube::FakeKube;
use serde_json::{Value, json};
use testkit::{Process, free_port, get_ok};

const DEADLINE: Duration = Duration::from_secs(40);

/// A webhook sink on loopback: the bodies of the POSTs it received.
fn sink() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let got = Arc::new(Mutex::new(Vec::new()));
    let store = got.clone();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let mut raw = Vec::new();
            let mut buf = [0u8; 8192];
            // Read the head, then the body by Content-Length.
            while let Ok(n) = conn.read(&mut buf) {
                if n == 0 {
                    break;
                }
                raw.extend_from_slice(&buf[..n]);
                let text = String::from_utf8_lossy(&raw).to_string();
                if let Some((head, body)) = text.split_once("\r\n\r\n") {
                    let len = head
                        .lines()
                        .find_map(|l| {
                            let (k, v) = l.split_once(':')?;
                            k.eq_ignore_ascii_case("content-length")
                                .then(|| v.trim().parse::<usize>().ok())?
                        })
                        .unwrap_or(0);
                    if body.len() >= len {
                        store.lock().unwrap().push(body.to_owned());
                        break;
                    }
                }
            }
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, got)
}

fn post_json(port: u16, path: &str, body: &str) -> u16 {
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let req = format!(
        "POST {path} HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(req.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// The configuration the Alertmanager runs (`/api/v2/status`'s `config.original`).
fn running_config(port: u16) -> String {
    let status: Value = serde_json::from_str(&get_ok(port, "/api/v2/status").unwrap_or_default())
        .unwrap_or(Value::Null);
    status["config"]["original"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn until(what: &str, am: &Process, cond: impl Fn() -> bool + Send + Sync + 'static) {
    let cond = Arc::new(cond);
    let start = std::time::Instant::now();
    loop {
        let c = cond.clone();
        if tokio::task::spawn_blocking(move || c()).await.unwrap() {
            return;
        }
        assert!(
            start.elapsed() < DEADLINE,
            "timed out waiting for {what}; log:\n{}",
            am.log_text()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn amc() -> Value {
    json!({"kind": "AlertmanagerConfig",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"alertmanager": "main"}},
        "spec": {
            "route": {"receiver": "hook", "groupBy": ["alertname"], "groupWait": "1s"},
            "receivers": [{"name": "hook",
                "webhookConfigs": [{"urlSecret": {"name": "hooks", "key": "url"}}]}]}})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alertmanager_config_objects_route_alerts_to_their_receivers() {
    let dir = tempfile::tempdir().unwrap();
    let (sink_port, received) = sink();
    let fake = FakeKube::start().await;
    fake.add(json!({"kind": "Namespace", "metadata": {"name": "shop"}}));
    let url = format!("http://127.0.0.1:{sink_port}/hook");
    fake.add(
        json!({"kind": "Secret", "metadata": {"name": "hooks", "namespace": "shop"},
        "data": {"url": base64::engine::general_purpose::STANDARD.encode(&url)}}),
    );
    fake.add(amc());

    std::fs::write(
        dir.path().join("alertmanager.yml"),
        "route:\n  receiver: default\n  group_wait: 1s\nreceivers:\n  - name: default\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("prometheus.yml"),
        format!(
            "kubernetes_operator:\n  api_server: {}\n  alertmanagerConfigSelector:\n    matchLabels: {{alertmanager: main}}\n  alertmanagerConfigNamespaceSelector: {{}}\n",
            fake.url
        ),
    )
    .unwrap();
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.arg("alertmanager")
        .arg(format!(
            "--config.file={}",
            dir.path().join("alertmanager.yml").display()
        ))
        .arg(format!(
            "--storage.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--cluster.listen-address=")
        .arg(format!(
            "--operator.config.file={}",
            dir.path().join("prometheus.yml").display()
        ));
    let am = Process::spawn("firewatch alertmanager", cmd, &dir.path().join("am.log"));
    testkit::wait_for("alertmanager ready", DEADLINE, || {
        get_ok(port, "/-/ready").is_some()
    });

    // The object's route and receiver are merged in, names prefixed.
    until("the merged configuration", &am, move || {
        running_config(port).contains("shop/web/hook")
    })
    .await;
    let merged = running_config(port);
    assert!(merged.contains(r#"- namespace="shop""#), "{merged}");
    // The webhook URL (read from the Secret) is shown redacted; the delivery below proves it.

    // An alert of the namespace reaches the object's webhook; another namespace's does not.
    let now = jiff::Timestamp::now();
    let alerts = format!(
        r#"[{{"labels":{{"alertname":"ShopDown","namespace":"shop"}},"startsAt":"{now}"}},{{"labels":{{"alertname":"BlogDown","namespace":"blog"}},"startsAt":"{now}"}}]"#
    );
    assert_eq!(post_json(port, "/api/v2/alerts", &alerts), 200);
    let got = received.clone();
    until("the webhook notified", &am, move || {
        got.lock().unwrap().iter().any(|b| b.contains("ShopDown"))
    })
    .await;
    assert!(
        !received
            .lock()
            .unwrap()
            .iter()
            .any(|b| b.contains("BlogDown")),
        "another namespace's alert stays out of the object's receiver"
    );

    // Deleted: the route goes, without a restart.
    fake.delete(amc());
    until("the object's route removed", &am, move || {
        let c = running_config(port);
        !c.is_empty() && !c.contains("shop/web/hook")
    })
    .await;
    drop(am);
}
