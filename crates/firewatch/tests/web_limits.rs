//! Limits against abusive clients on the server's listener (issue 16, security): a client
//! that sends half a request line is disconnected after `--web.read-timeout`, and
//! `--web.max-connections` caps the connections served at once (further ones wait); bodies over
//! the limits are refused; queries are bounded in length (1 MiB in a URL, 10 MB in a form, as
//! Prometheus) and in nesting depth (1000, with a 400 naming it).

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

/// Sends a raw HTTP/1.0 request (from a thread, so that an early answer is read) and reads
/// the whole answer: status and body.
fn raw(port: u16, request: &[u8]) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut w = s.try_clone().unwrap();
    let request = request.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = w.write_all(&request);
    });
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    drop(s);
    let _ = writer.join();
    let text = String::from_utf8_lossy(&out).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no answer: {text:?}"));
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    (status, body)
}

#[test]
fn query_length_and_depth_limits() {
    let work = tempfile::tempdir().unwrap();
    let server = start(work.path(), &[]);
    let get = |q: &str| {
        raw(
            server.port,
            format!(
                "GET /api/v1/query?query={}&time=1000 HTTP/1.0\r\nHost: x\r\n\r\n",
                testkit::urlencode(q)
            )
            .as_bytes(),
        )
    };
    // A dashboard's long selector in a GET (Prometheus takes request heads up to 1 MiB).
    let alternation: Vec<String> = (0..40_000).map(|i| format!("host-{i}")).collect();
    let long = format!("up{{instance=~\"{}\"}}", alternation.join("|"));
    assert!(long.len() > 400_000);
    let (status, body) = get(&long);
    assert_eq!(status, 200, "{}", &body[..body.len().min(300)]);
    // Beyond Go's header limit: 431, as Prometheus.
    let huge = format!("vector(1) # {}", "x".repeat((1 << 20) + (64 << 10)));
    assert_eq!(get(&huge).0, 431);
    // Just over it, with the head's end in the same read as the bytes that cross it.
    let over = format!("vector(1) # {}", "x".repeat((1 << 20) + 8192));
    let (status, _) = get(&over);
    assert!(status == 431 || status == 414, "{status}");
    // In a form body, up to Prometheus's 10 MB: a 5 MB query (mostly a comment) is answered.
    let form = format!(
        "query={}&time=1000",
        testkit::urlencode(&format!("# {}\nvector(7)", "x".repeat(5 << 20)))
    );
    let (status, body) = raw(
        server.port,
        format!(
            "POST /api/v1/query HTTP/1.0\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
            form.len()
        )
        .as_bytes(),
    );
    assert_eq!(status, 200, "{}", &body[..body.len().min(300)]);
    assert!(body.contains("\"7\""), "{body}");
    // Nesting: 500 levels (far beyond real dashboards) answer; beyond 1000, a clear 400.
    let nested = |n: usize| format!("{}1{}", "(".repeat(n), ")".repeat(n));
    let (status, body) = get(&nested(500));
    assert_eq!(status, 200, "{body}");
    let (status, body) = get(&nested(1001));
    assert_eq!(status, 400, "{body}");
    assert!(
        body.contains("\"errorType\":\"bad_data\"") && body.contains("nesting too deep"),
        "{body}"
    );
    let deep_fn = format!("{}up{}", "abs(".repeat(1500), ")".repeat(1500));
    let (status, body) = get(&deep_fn);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("nesting too deep"), "{body}");
    assert_eq!(server.get("/-/ready").unwrap().status, 200);
}
