//! Helpers for Firewatch's integration tests (a dev-dependency only): free loopback ports,
//! child processes that are killed when dropped, waiting on a condition with a deadline, and
//! a plain HTTP/1.0 client for loopback servers, so that tests need no HTTP crate; where the
//! conformance data and peer binaries are, with skips reported by name; a counting allocator
//! for memory tests and an appender that only hands out series references.

pub mod counting_alloc;
pub mod fuzz;
pub mod panicking_storage;
mod process;
pub mod ref_appender;
mod shared;
pub mod tls;
pub mod tmpfs;

pub use process::{Process, Server, cpu_seconds};
pub use shared::{
    SHARED_ENV, SKIP_LOG_ENV, find_on_path, peer_binary, peers, python_module, shared_dir,
    shared_path, skip,
};

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

/// A free loopback port (bound, then released for the caller to use).
///
/// # Panics
/// When no port can be bound on 127.0.0.1.
#[must_use]
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("binding 127.0.0.1:0")
        .port()
}

/// Polls `condition` every 100 ms until it holds; panics naming `what` after `timeout`.
///
/// # Panics
/// When the condition does not hold in time.
pub fn wait_for(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Percent-encodes a query parameter value.
#[must_use]
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// An HTTP response: status code and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The body as text.
    pub body: String,
}

/// Sends one HTTP/1.0 request to `127.0.0.1:port` and reads the whole response (10 s limit).
///
/// # Errors
/// Connection failures, timeouts, or a response without a status line.
pub fn http(port: u16, method: &str, path: &str, body: Option<&str>) -> std::io::Result<Response> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n");
    if let Some(b) = body {
        req.push_str(&format!(
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n",
            b.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body.unwrap_or(""));
    s.write_all(req.as_bytes())?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {head:?}")))?;
    Ok(Response {
        status,
        body: body.to_owned(),
    })
}

/// `POST /api/v1/write` of a snappy-compressed remote write 1.0 request to `127.0.0.1:port`
/// (30 s limit): the answer's status code.
///
/// # Errors
/// Connection failures, timeouts, or an answer without a status line.
pub fn post_remote_write(port: u16, body: &[u8]) -> std::io::Result<u16> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let head = format!(
        "POST /api/v1/write HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\nContent-Encoding: snappy\r\nX-Prometheus-Remote-Write-Version: 0.1.0\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    text.strip_prefix("HTTP/1.")
        .and_then(|rest| rest.split_whitespace().nth(1)?.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line in {text:?}")))
}

/// Copies the directory tree `src` to `dst` (created), leaving out files named `lock`: a
/// copy of a data directory that another process may open while the original is in use.
///
/// # Panics
/// When a file cannot be read or written.
pub fn copy_data_dir(src: &std::path::Path, dst: &std::path::Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dst.join(e.file_name());
        if e.path().is_dir() {
            copy_data_dir(&e.path(), &to);
        } else if e.file_name() != "lock" {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// `GET path` on `127.0.0.1:port`: the body when the status is 2xx.
#[must_use]
pub fn get_ok(port: u16, path: &str) -> Option<String> {
    http(port, "GET", path, None)
        .ok()
        .filter(|r| (200..300).contains(&r.status))
        .map(|r| r.body)
}
