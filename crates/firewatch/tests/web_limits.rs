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
