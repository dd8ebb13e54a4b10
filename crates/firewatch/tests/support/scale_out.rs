//! Helpers shared by the scale-out end-to-end tests (remote write, remote read, sharding,
//! federation): a scrape target on loopback, the wall clock, starting Firewatch and
//! Prometheus, and instant queries.
#![allow(dead_code)] // Each test file uses a part.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::time::Duration;

use testkit::{Server, urlencode};

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
