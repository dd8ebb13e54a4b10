//! `firewatch tool check metrics` against the real `promtool check metrics`: the same exit
//! code and problem lines on node exporter's live output, exit 1 naming the line of a
//! malformed sample, exit 0 on a clean exposition.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Kills and reaps the process when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn firewatch(input: &[u8]) -> Output {
    run_with_stdin(
        Command::new(env!("CARGO_BIN_EXE_firewatch")).args(["tool", "check", "metrics"]),
        input,
    )
}

fn promtool(input: &[u8]) -> Output {
    run_with_stdin(Command::new("promtool").args(["check", "metrics"]), input)
}

/// Node exporter's `/metrics`, from a node exporter started on a free loopback port.
fn node_exporter_metrics() -> Vec<u8> {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut g = Guard(
        Command::new("prometheus-node-exporter")
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-node-exporter"),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
                .unwrap();
            let mut resp = Vec::new();
            if s.read_to_end(&mut resp).is_ok()
                && let Some(i) = resp.windows(4).position(|w| w == b"\r\n\r\n")
                && resp.starts_with(b"HTTP/1.0 200")
            {
                return resp[i + 4..].to_vec();
            }
        }
        assert!(g.0.try_wait().unwrap().is_none(), "node exporter exited");
        assert!(Instant::now() < deadline, "node exporter did not answer");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn node_exporter_output_like_promtool() {
    let body = node_exporter_metrics();
    let ours = firewatch(&body);
    let theirs = promtool(&body);
    assert_eq!(ours.status.code(), theirs.status.code());
    assert!(matches!(ours.status.code(), Some(0 | 3)));
    assert_eq!(
        String::from_utf8_lossy(&ours.stderr),
        String::from_utf8_lossy(&theirs.stderr)
    );
}

#[test]
fn malformed_line_exits_1_naming_the_line() {
    let input = b"# HELP a_total A.\n# TYPE a_total counter\na_total 1\nb{x=\"1\" 2\n";
    let ours = firewatch(input);
    assert_eq!(ours.status.code(), Some(1));
    assert_eq!(promtool(input).status.code(), Some(1));
    let err = String::from_utf8_lossy(&ours.stderr);
    assert!(err.contains("line 4, column 9"), "{err}");
}

#[test]
fn clean_and_problem_expositions() {
    let clean = b"# HELP http_requests_total Requests.\n# TYPE http_requests_total counter\n\
                  http_requests_total{code=\"200\"} 3\n";
    let ours = firewatch(clean);
    assert_eq!(ours.status.code(), Some(0));
    assert_eq!(promtool(clean).status.code(), Some(0));
    assert!(ours.stderr.is_empty());

    let bad = b"# TYPE requests counter\nrequests 3\n# HELP t_ms T.\n# TYPE t_ms gauge\nt_ms 1\n";
    let ours = firewatch(bad);
    let theirs = promtool(bad);
    assert_eq!(ours.status.code(), Some(3));
    assert_eq!(theirs.status.code(), Some(3));
    assert_eq!(ours.stderr, theirs.stderr);
}
