//! End to end: the real `firewatch server` binary scrapes Debian's node exporter and an
//! unreachable target on 127.0.0.1, answers queries about them, reloads its configuration and
//! keeps its data across a SIGKILL.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use testkit::{Process, free_port, get_ok, http, urlencode, wait_for};

fn query(port: u16, q: &str) -> Value {
    let path = format!("/api/v1/query?query={}", urlencode(q));
    let body = get_ok(port, &path).unwrap_or_else(|| panic!("query {q} failed"));
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["status"], "success", "{body}");
    v["data"]["result"].clone()
}

fn scalar_of(result: &Value) -> Option<f64> {
    result.get(0)?["value"][1].as_str()?.parse().ok()
}

fn start_node_exporter(work: &Path) -> (Process, u16) {
    let port = free_port();
    let mut cmd = Command::new("prometheus-node-exporter");
    cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"));
    let process = Process::spawn("prometheus-node-exporter", cmd, &work.join("node.log"));
    wait_for("node exporter", Duration::from_secs(20), || {
        get_ok(port, "/metrics").is_some()
    });
    (process, port)
}

fn start_firewatch(config: &Path, data: &Path, port: u16) -> Process {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.arg("server")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!("--storage.tsdb.path={}", data.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--web.enable-lifecycle");
    let log = data.with_file_name(format!("firewatch-{port}.log"));
    let process = Process::spawn("firewatch", cmd, &log);
    wait_for("firewatch ready", Duration::from_secs(30), || {
        get_ok(port, "/-/ready").is_some()
    });
    process
}

/// `POST /-/reload`: whether it succeeded, and the answer.
fn reload(port: u16) -> (bool, String) {
    let r = http(port, "POST", "/-/reload", None).expect("reload request");
    (r.status == 200, r.body)
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
    if !testkit::peers(
        "firewatch::server_e2e::scrapes_queries_reloads_and_survives_sigkill",
        &["prometheus-node-exporter", "prometheus"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("prometheus.yml");
    let data = dir.path().join("data");
    let (_node, node_port) = start_node_exporter(dir.path());
    write_config(&config, node_port, "");
    let port = free_port();
    let server = start_firewatch(&config, &data, port);

    // The node exporter is up; every sample it exposes is stored.
    wait_for("node target up", Duration::from_secs(30), || {
        scalar_of(&query(port, "up{job=\"node\"}")) == Some(1.0)
    });
    let scraped = scalar_of(&query(port, "scrape_samples_scraped{job=\"node\"}")).unwrap();
    assert!(
        scraped > 100.0,
        "node exporter exposes hundreds of samples, got {scraped}"
    );
    let stored = scalar_of(&query(
        port,
        "count({job=\"node\", __name__!~\"up|scrape_.*\"})",
    ))
    .unwrap();
    assert_eq!(stored, scraped, "every scraped sample is a stored series");

    // The unreachable target is down, with its error in the targets API.
    wait_for("dead target down", Duration::from_secs(30), || {
        scalar_of(&query(port, "up{job=\"dead\"}")) == Some(0.0)
    });
    let targets: Value = serde_json::from_str(&get_ok(port, "/api/v1/targets").unwrap()).unwrap();
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
    // The node exporter's metadata, as its scrapes recorded it.
    let md: Value =
        serde_json::from_str(&get_ok(port, "/api/v1/metadata?metric=node_load1").unwrap()).unwrap();
    assert_eq!(md["data"]["node_load1"][0]["type"], "gauge", "{md}");
    let tmd = format!(
        "/api/v1/targets/metadata?metric=node_load1&match_target={}",
        urlencode("{job=\"node\"}")
    );
    let tmd: Value = serde_json::from_str(&get_ok(port, &tmd).unwrap()).unwrap();
    assert_eq!(
        tmd["data"][0]["target"]["instance"],
        format!("127.0.0.1:{node_port}"),
        "{tmd}"
    );
    // The TSDB's head statistics through the API.
    let st: Value = serde_json::from_str(&get_ok(port, "/api/v1/status/tsdb").unwrap()).unwrap();
    assert!(
        st["data"]["headStats"]["numSeries"].as_u64().unwrap() >= stored as u64,
        "{st}"
    );

    // A broken configuration is refused and the old one keeps running.
    std::fs::write(
        &config,
        "scrape_configs: [{job_name: x, scrape_interval: nope}]\n",
    )
    .unwrap();
    let (ok, text) = reload(port);
    assert!(!ok, "broken config accepted: {text}");
    assert!(get_ok(port, "/-/healthy").is_some());

    // A valid new job is picked up on reload.
    let extra =
        format!("  - job_name: self\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n");
    write_config(&config, node_port, &extra);
    let (ok, text) = reload(port);
    assert!(ok, "reload failed: {text}");
    wait_for("self target up", Duration::from_secs(30), || {
        scalar_of(&query(port, "up{job=\"self\"}")) == Some(1.0)
    });
    let status: Value =
        serde_json::from_str(&get_ok(port, "/api/v1/status/config").unwrap()).unwrap();
    assert!(
        status["data"]["yaml"]
            .as_str()
            .unwrap()
            .contains("job_name: self")
    );

    // SIGKILL: what was scraped a second before is there after a restart.
    let before = scalar_of(&query(port, "count_over_time(up{job=\"node\"}[10m])")).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    drop(server); // kills with SIGKILL
    let port2 = free_port();
    let server = start_firewatch(&config, &data, port2);
    let after = scalar_of(&query(port2, "count_over_time(up{job=\"node\"}[10m])")).unwrap();
    assert!(
        after >= before,
        "samples lost across SIGKILL: {before} before, {after} after"
    );

    // Killed again, the directory opens in the real Prometheus 2.42 (WAL replay over a tail
    // cut by the kill) with every sample Firewatch had answered for.
    drop(server);
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
