//! End to end: the real `firewatch server` binary scrapes Debian's node exporter and an
//! unreachable target on 127.0.0.1, answers queries about them, reloads its configuration and
//! keeps its data across a SIGKILL.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// Kills the child when dropped, so that no test leaves a process behind.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn http_get(url: &str) -> Option<String> {
    let out = Command::new("curl")
        .args(["-fsS", "--max-time", "5", url])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn http_post(url: &str) -> (bool, String) {
    let out = Command::new("curl")
        .args([
            "-sS",
            "-X",
            "POST",
            "--max-time",
            "10",
            "-w",
            "\n%{http_code}",
            url,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    (text.trim_end().ends_with("200"), text)
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("timed out waiting for {what}");
}

fn query(base: &str, q: &str) -> Value {
    let url = format!("{base}/api/v1/query?query={}", urlencode(q));
    let body = http_get(&url).unwrap_or_else(|| panic!("query {q} failed"));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "success", "{body}");
    v["data"]["result"].clone()
}

fn scalar_of(result: &Value) -> Option<f64> {
    result.get(0)?["value"][1].as_str()?.parse().ok()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn start_node_exporter() -> (Guard, u16) {
    let port = free_port();
    let child = Command::new("prometheus-node-exporter")
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("prometheus-node-exporter must be installed (scripts/test installs it)");
    let guard = Guard(child);
    wait_for("node exporter", Duration::from_secs(20), || {
        http_get(&format!("http://127.0.0.1:{port}/metrics")).is_some()
    });
    (guard, port)
}

fn start_firewatch(config: &Path, data: &Path, port: u16) -> Guard {
    let child = Command::new(env!("CARGO_BIN_EXE_firewatch"))
        .arg("server")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-lifecycle")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let guard = Guard(child);
    wait_for("firewatch ready", Duration::from_secs(30), || {
        http_get(&format!("http://127.0.0.1:{port}/-/ready")).is_some()
    });
    guard
}

fn write_config(path: &Path, node_port: u16, extra_job: &str) {
    let dead = free_port();
    std::fs::write(
        path,
        format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: node\n    static_configs: [{{targets: ['127.0.0.1:{node_port}']}}]\n  - job_name: dead\n    static_configs: [{{targets: ['127.0.0.1:{dead}']}}]\n{extra_job}"
        ),
    )
    .unwrap();
}

#[test]
fn scrapes_queries_reloads_and_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    let data = dir.path().join("data");
    let (_node, node_port) = start_node_exporter();
    write_config(&config, node_port, "");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = start_firewatch(&config, &data, port);

    // The node exporter is up; every sample it exposes is stored.
    wait_for("node target up", Duration::from_secs(30), || {
        scalar_of(&query(&base, "up{job=\"node\"}")) == Some(1.0)
    });
    let scraped = scalar_of(&query(&base, "scrape_samples_scraped{job=\"node\"}")).unwrap();
    assert!(
        scraped > 100.0,
        "node exporter exposes hundreds of samples, got {scraped}"
    );
    let stored = scalar_of(&query(
        &base,
        "count({job=\"node\", __name__!~\"up|scrape_.*\"})",
    ))
    .unwrap();
    assert_eq!(stored, scraped, "every scraped sample is a stored series");

    // The unreachable target is down, with its error in the targets API.
    wait_for("dead target down", Duration::from_secs(30), || {
        scalar_of(&query(&base, "up{job=\"dead\"}")) == Some(0.0)
    });
    let targets: Value =
        serde_json::from_str(&http_get(&format!("{base}/api/v1/targets")).unwrap()).unwrap();
    let active = targets["data"]["activeTargets"].as_array().unwrap();
    let dead = active.iter().find(|t| t["scrapePool"] == "dead").unwrap();
    assert_eq!(dead["health"], "down");
    assert!(
        dead["lastError"].as_str().unwrap().contains("connect"),
        "{dead}"
    );
    let node = active.iter().find(|t| t["scrapePool"] == "node").unwrap();
    assert_eq!(node["health"], "up");
    assert_eq!(node["labels"]["instance"], format!("127.0.0.1:{node_port}"));

    // A broken configuration is refused and the old one keeps running.
    std::fs::write(
        &config,
        "scrape_configs: [{job_name: x, scrape_interval: nope}]\n",
    )
    .unwrap();
    let (ok, text) = http_post(&format!("{base}/-/reload"));
    assert!(!ok, "broken config accepted: {text}");
    assert!(http_get(&format!("{base}/-/healthy")).is_some());

    // A valid new job is picked up on reload.
    let extra =
        format!("  - job_name: self\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n");
    write_config(&config, node_port, &extra);
    let (ok, text) = http_post(&format!("{base}/-/reload"));
    assert!(ok, "reload failed: {text}");
    wait_for("self target up", Duration::from_secs(30), || {
        scalar_of(&query(&base, "up{job=\"self\"}")) == Some(1.0)
    });
    let status: Value =
        serde_json::from_str(&http_get(&format!("{base}/api/v1/status/config")).unwrap()).unwrap();
    assert!(
        status["data"]["yaml"]
            .as_str()
            .unwrap()
            .contains("job_name: self")
    );

    // SIGKILL: what was scraped a second before is there after a restart.
    let before = scalar_of(&query(&base, "count_over_time(up{job=\"node\"}[10m])")).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    let port2 = free_port();
    let base2 = format!("http://127.0.0.1:{port2}");
    let mut server = start_firewatch(&config, &data, port2);
    let after = scalar_of(&query(&base2, "count_over_time(up{job=\"node\"}[10m])")).unwrap();
    assert!(
        after >= before,
        "samples lost across SIGKILL: {before} before, {after} after"
    );

    // Killed again, the directory opens in the real Prometheus 2.42 (WAL replay over a tail
    // cut by the kill) with every sample Firewatch had answered for.
    server.0.kill().unwrap();
    server.0.wait().unwrap();
    let prometheus = testkit::Server::start(
        "prometheus",
        &[],
        &dir.path().join("prometheus"),
        &data,
        "global:\n  scrape_interval: 1m\n",
        &[],
    );
    let path = format!(
        "/api/v1/query?query={}",
        urlencode("count_over_time(up{job=\"node\"}[10m])")
    );
    let body = prometheus.get(&path).unwrap().body;
    let v: Value = serde_json::from_str(&body).unwrap();
    let in_prometheus = scalar_of(&v["data"]["result"]).unwrap_or(0.0);
    assert!(
        in_prometheus >= after,
        "Prometheus sees {in_prometheus} samples, Firewatch had {after}"
    );
}
