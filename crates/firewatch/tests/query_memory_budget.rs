//! The per-query memory budget through the real `firewatch server` binary: with small
//! `--query.max-samples` and `--query.max-memory-bytes`, heavy queries over the HTTP API fail
//! with Prometheus's error (422, `errorType` `execution`), quickly, and the server keeps
//! answering ordinary queries.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use testkit::{Process, free_port, get_ok, http, urlencode, wait_for};

fn api(port: u16, path: &str) -> (u16, Value) {
    let r = http(port, "GET", path, None).expect("query request");
    let v: Value = serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("{e}: {}", r.body));
    (r.status, v)
}

#[test]
fn heavy_queries_fail_over_http_and_the_server_stays_up() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: self\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n"
        ),
    )
    .unwrap();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.arg("server")
        .arg(format!("--config.file={}", config.display()))
        .arg(format!(
            "--storage.tsdb.path={}",
            dir.path().join("data").display()
        ))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--query.max-samples=20000")
        .arg("--query.max-memory-bytes=64MB");
    let _server = Process::spawn("firewatch", cmd, &dir.path().join("firewatch.log"));
    wait_for("firewatch ready", Duration::from_secs(30), || {
        get_ok(port, "/-/ready").is_some()
    });
    // Two scrapes of its own metrics (a few hundred series).
    wait_for("self scrapes", Duration::from_secs(30), || {
        let (_, v) = api(
            port,
            &format!(
                "/api/v1/query?query={}",
                urlencode("count_over_time(up[1m])")
            ),
        );
        v["data"]["result"][0]["value"][1]
            .as_str()
            .and_then(|s| s.parse::<f64>().ok())
            .is_some_and(|n| n >= 2.0)
    });
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    // The samples are seconds old: a few minutes ahead, the lookback carries each series'
    // latest sample over every step.
    let at = now + 290;
    let heavy = [
        // Every series at every second of a subquery.
        format!(
            "/api/v1/query?time={at}&query={}",
            urlencode("max_over_time(count by (instance) ({__name__=~\".+\"})[2h:1s])")
        ),
        // Every series joined with `up`, every second for 2 hours.
        format!(
            "/api/v1/query_range?query={}&start={}&end={at}&step=1",
            urlencode("{__name__=~\".+\"} * on (job, instance) group_left (version) up"),
            now - 2 * 3600
        ),
        // A count over every series, every second for 2 hours.
        format!(
            "/api/v1/query_range?query={}&start={}&end={at}&step=1",
            urlencode("count by (__name__) ({__name__=~\".+\"})"),
            now - 2 * 3600
        ),
    ];
    for path in &heavy {
        let started = Instant::now();
        let (status, v) = api(port, path);
        assert_eq!(status, 422, "{path}: {v}");
        assert_eq!(v["status"], "error", "{path}: {v}");
        assert_eq!(v["errorType"], "execution", "{path}: {v}");
        assert_eq!(
            v["error"],
            "query processing would load too many samples into memory in query execution",
            "{path}: {v}"
        );
        assert!(started.elapsed() < Duration::from_secs(20), "{path}");
    }
    // The server is up and answers ordinary queries.
    let (status, v) = api(port, &format!("/api/v1/query?query={}", urlencode("up")));
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["data"]["result"][0]["value"][1], "1", "{v}");
    assert!(get_ok(port, "/-/healthy").is_some());
}
