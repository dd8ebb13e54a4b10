//! Helpers shared by the scale-out end-to-end tests (remote write, remote read, sharding,
//! federation): a scrape target on loopback, the wall clock, starting Firewatch, Prometheus and
//! VictoriaMetrics, instant queries, and what VictoriaMetrics exports.
#![allow(dead_code)] // Each test file uses a part.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use testkit::{Process, Server, urlencode};

/// Serves, on a free loopback port for the life of the process, the text exposition
/// `body(n, port)` for the `n`-th scrape (from 0); returns the port.
pub fn serve_target(body: impl Fn(usize, u16) -> String + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for (n, mut conn) in listener.incoming().flatten().enumerate() {
            let _ = conn.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let body = body(n, port);
            let _ = write!(
                conn,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

/// Now, in seconds since the epoch.
pub fn now_secs() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Starts `firewatch server` in `dir/name`, its data in `dir/name/data`, with the
/// configuration `cfg` and the extra command-line `flags`; ready.
pub fn start_firewatch(dir: &Path, name: &str, cfg: &str, flags: &[&str]) -> Server {
    let work = dir.join(name);
    Server::start(
        env!("CARGO_BIN_EXE_firewatch"),
        &["server"],
        &work,
        &work.join("data"),
        cfg,
        flags,
    )
}

/// Starts the Prometheus binary `prometheus` in `dir/name`, its data in `dir/name/data`,
/// with the configuration `cfg`; ready.
pub fn start_prometheus(prometheus: &Path, dir: &Path, name: &str, cfg: &str) -> Server {
    let work = dir.join(name);
    Server::start(
        prometheus.to_str().unwrap(),
        &[],
        &work,
        &work.join("data"),
        cfg,
        &[],
    )
}

/// The `result` of the instant query `q` at `time` (seconds), which must answer 200.
pub fn query_result(server: &Server, q: &str, time: f64) -> serde_json::Value {
    let r = server
        .get(&format!("/api/v1/query?query={}&time={time}", urlencode(q)))
        .unwrap();
    assert_eq!(r.status, 200, "{q}: {}", r.body);
    let v: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    v["data"]["result"].clone()
}

/// The series of the instant query `q` at `time` (seconds), sorted by their labels.
pub fn query_sorted(server: &Server, q: &str, time: f64) -> Vec<serde_json::Value> {
    let mut list = query_result(server, q, time).as_array().unwrap().clone();
    list.sort_by_key(|s| s["metric"].to_string());
    list
}

/// Starts the VictoriaMetrics binary `vm` on `port`, its data in `work/data` and its log in
/// `work/run{run}.log` (a restart on the same data gets the next `run`); ready.
pub fn start_victoria_metrics(vm: &Path, work: &Path, port: u16, run: u32) -> Process {
    std::fs::create_dir_all(work).unwrap();
    let mut cmd = Command::new(vm);
    cmd.arg(format!("-httpListenAddr=127.0.0.1:{port}"))
        .arg(format!("-storageDataPath={}", work.join("data").display()));
    let mut p = Process::spawn("victoria-metrics", cmd, &work.join(format!("run{run}.log")));
    let deadline = Instant::now() + Duration::from_secs(60);
    while testkit::get_ok(port, "/health").is_none() {
        assert!(p.is_running(), "victoria-metrics exited: {}", p.log_text());
        assert!(Instant::now() < deadline, "victoria-metrics not ready");
        std::thread::sleep(Duration::from_millis(200));
    }
    p
}

/// Every `(t ms, v)` of the series `selector` selects that VictoriaMetrics on `port` holds,
/// flushed first, sorted by time; duplicates are kept (VictoriaMetrics keeps them, so its export
/// shows any).
pub fn victoria_metrics_export(port: u16, selector: &str) -> Vec<(i64, f64)> {
    let _ = testkit::http(port, "GET", "/internal/force_flush", None);
    let r = testkit::http(
        port,
        "GET",
        &format!("/api/v1/export?match[]={}", urlencode(selector)),
        None,
    )
    .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let mut out = Vec::new();
    for line in r.body.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let ts = v["timestamps"].as_array().unwrap();
        let vs = v["values"].as_array().unwrap();
        for (t, x) in ts.iter().zip(vs) {
            out.push((t.as_i64().unwrap(), x.as_f64().unwrap()));
        }
    }
    out.sort_by_key(|p| p.0);
    out
}
