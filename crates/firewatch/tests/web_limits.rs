//! Limits against abusive clients on the server's listener (issue 16, security): a client
//! that sends half a request line is disconnected after `--web.read-timeout`, and
//! `--web.max-connections` caps the connections served at once (further ones wait).

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use testkit::Server;

const CONFIG: &str = "global:\n  scrape_interval: 1m\nscrape_configs: []\n";

fn start(work: &std::path::Path, extra: &[&str]) -> Server {
    Server::start(
        env!("CARGO_BIN_EXE_firewatch"),
        &["server"],
        work,
        &work.join("data"),
        CONFIG,
        extra,
    )
}

/// Reads until the peer closes (or `limit` passes): how long that took.
fn time_to_close(s: &mut TcpStream, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return None;
            }
            // A reset is a close too.
            Err(_) => return Some(started.elapsed()),
        }
    }
}

#[test]
fn slow_client_is_disconnected_after_read_timeout() {
    let work = tempfile::tempdir().unwrap();
    let server = start(work.path(), &["--web.read-timeout=2s"]);
    let mut half = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    half.write_all(b"GET /metr").unwrap();
    let took = time_to_close(&mut half, Duration::from_secs(20))
        .expect("a client sending half a request line was not disconnected within 20 s");
    assert!(took >= Duration::from_millis(1500), "closed after {took:?}");
    assert!(took < Duration::from_secs(10), "closed after {took:?}");
    // A client that sends nothing at all is disconnected too.
    let mut silent = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    assert!(
        time_to_close(&mut silent, Duration::from_secs(20)).is_some(),
        "a silent client was not disconnected within 20 s"
    );
    // The server still answers.
    assert_eq!(server.get("/-/ready").unwrap().status, 200);
}

#[test]
fn max_connections_caps_connections_served_at_once() {
    let work = tempfile::tempdir().unwrap();
    let server = start(
        work.path(),
        &["--web.max-connections=2", "--web.read-timeout=30s"],
    );
    let holders: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(("127.0.0.1", server.port)).unwrap())
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let mut third = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    third
        .write_all(b"GET /-/ready HTTP/1.0\r\nHost: x\r\n\r\n")
        .unwrap();
    third
        .set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut buf = [0u8; 64];
    match third.read(&mut buf) {
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
        other => panic!("a third connection was served beside two open ones: {other:?}"),
    }
    drop(holders);
    third
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut raw = Vec::new();
    third.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.0 200"), "{text}");
    let flags = server.get("/api/v1/status/flags").unwrap().body;
    assert!(flags.contains("\"web.max-connections\":\"2\""), "{flags}");
}

/// POSTs `len` bytes to `path` on `port` (writing from a thread, so that an early answer is
/// read): the status code and the whole answer.
fn post_large(port: u16, path: &str, len: usize) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let mut w = s.try_clone().unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {len}\r\nConnection: close\r\n\r\n"
    );
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(head.as_bytes());
        let chunk = vec![b'a'; 64 * 1024];
        let mut left = len;
        while left > 0 {
            let n = left.min(chunk.len());
            if w.write_all(&chunk[..n]).is_err() {
                return;
            }
            left -= n;
        }
    });
    let mut raw = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&buf[..n]);
    }
    drop(s);
    let _ = writer.join();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no answer to a {len}-byte POST {path}: {text:?}"));
    (status, text)
}

#[test]
fn oversized_bodies_are_refused() {
    let work = tempfile::tempdir().unwrap();
    let w = work.path();
    let server = start(
        w,
        &[
            "--web.enable-remote-write-receiver",
            "--web.enable-admin-api",
        ],
    );
    // Form bodies: 400 bad_data as Go's ParseForm limit gives in Prometheus.
    for path in ["/api/v1/query", "/api/v1/query_range", "/api/v1/series"] {
        let (status, text) = post_large(server.port, path, 16 << 20);
        assert_eq!(status, 400, "{path}: {text}");
        assert!(text.contains("error parsing form values"), "{path}: {text}");
        assert!(text.contains("limit"), "{path}: {text}");
    }
    let (status, text) = post_large(server.port, "/api/v1/write", 64 << 20);
    assert_eq!(status, 413, "{text}");
    let am_port = testkit::free_port();
    std::fs::write(
        w.join("am.yml"),
        "route:\n  receiver: x\nreceivers:\n- name: x\n",
    )
    .unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.arg("alertmanager")
        .arg(format!("--config.file={}", w.join("am.yml").display()))
        .arg(format!("--storage.path={}", w.join("am").display()))
        .arg(format!("--web.listen-address=127.0.0.1:{am_port}"))
        .arg("--cluster.listen-address=");
    let _am = testkit::Process::spawn("firewatch alertmanager", cmd, &w.join("am.log"));
    testkit::wait_for("alertmanager", Duration::from_secs(30), || {
        testkit::get_ok(am_port, "/-/ready").is_some()
    });
    for path in ["/api/v2/alerts", "/api/v2/silences"] {
        let (status, text) = post_large(am_port, path, 16 << 20);
        assert_eq!(status, 413, "{path}: {text}");
    }
    // Both still answer.
    assert_eq!(server.get("/-/ready").unwrap().status, 200);
    assert!(testkit::get_ok(am_port, "/-/ready").is_some());
}

#[test]
fn admin_and_lifecycle_endpoints_off_by_default() {
    let work = tempfile::tempdir().unwrap();
    let server = start(work.path(), &[]);
    for path in [
        "/api/v1/admin/tsdb/snapshot",
        "/api/v1/admin/tsdb/clean_tombstones",
        "/api/v1/admin/tsdb/delete_series?match[]=up",
    ] {
        let r = testkit::http(server.port, "POST", path, Some("")).unwrap();
        assert_eq!(r.status, 503, "{path}: {}", r.body);
        assert!(r.body.contains("admin APIs disabled"), "{path}: {}", r.body);
    }
    for path in ["/-/quit", "/-/reload"] {
        let r = testkit::http(server.port, "POST", path, Some("")).unwrap();
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert!(
            r.body.contains("Lifecycle API is not enabled."),
            "{}",
            r.body
        );
    }
    assert!(std::fs::read_dir(work.path().join("data/snapshots")).is_err());
    assert_eq!(server.get("/-/ready").unwrap().status, 200);
}
