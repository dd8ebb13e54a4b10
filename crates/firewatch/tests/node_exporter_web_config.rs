//! `firewatch node-exporter --web.config.file=...`: basic authentication as node_exporter's
//! exporter toolkit does it (401 without credentials, metrics with them).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use testkit::{Process, free_port, wait_for};

/// bcrypt of "pw".
const HASH: &str = "$2b$12$FMSrZnJH4q.PrqHT3f5jvuQ3nAasMjjKsk7dUBjCeuwqngjzDN/Bi";

fn get(port: u16, auth: Option<&str>) -> Option<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let header = auth
        .map(|a| format!("Authorization: Basic {a}\r\n"))
        .unwrap_or_default();
    write!(s, "GET /metrics HTTP/1.0\r\nHost: x\r\n{header}\r\n").ok()?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split_whitespace().nth(1)?.parse().ok()?;
    Some((status, text))
}

#[test]
fn basic_auth_from_web_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("web.yml");
    std::fs::write(&file, format!("basic_auth_users:\n  admin: {HASH}\n")).unwrap();
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_firewatch"));
    cmd.arg("node-exporter")
        .arg(format!("--web.config.file={}", file.display()))
        .arg(format!("--web.listen-address=127.0.0.1:{port}"));
    let _p = Process::spawn("firewatch node-exporter", cmd, &dir.path().join("log"));
    wait_for("node exporter", Duration::from_secs(30), || {
        get(port, None).is_some()
    });
    assert_eq!(get(port, None).unwrap().0, 401);
    // "admin:wrong" and "admin:pw" in base64.
    assert_eq!(get(port, Some("YWRtaW46d3Jvbmc=")).unwrap().0, 401);
    let (status, body) = get(port, Some("YWRtaW46cHc=")).unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains("\nnode_scrape_collector_success{collector=\"loadavg\"} 1\n"),
        "{body}"
    );
}
