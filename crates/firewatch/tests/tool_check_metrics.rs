//! `firewatch tool check metrics` against the real `promtool check metrics`: the same exit
//! code and problem lines on node exporter's live output, exit 1 naming the line of a
//! malformed sample, exit 0 on a clean exposition.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use testkit::{Process, free_port, get_ok, wait_for};

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
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut cmd = Command::new("prometheus-node-exporter");
    cmd.arg(format!("--web.listen-address=127.0.0.1:{port}"));
    let mut exporter = Process::spawn("prometheus-node-exporter", cmd, &dir.path().join("log"));
    let mut body = None;
    wait_for("node exporter's /metrics", Duration::from_secs(30), || {
        assert!(exporter.is_running(), "node exporter exited");
        body = get_ok(port, "/metrics");
        body.is_some()
    });
    body.unwrap_or_default().into_bytes()
}

#[test]
fn node_exporter_output_like_promtool() {
    if !testkit::peers(
        "firewatch::tool_check_metrics::node_exporter_output_like_promtool",
        &["promtool", "prometheus-node-exporter"],
    ) {
        return;
    }
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
    if !testkit::peers(
        "firewatch::tool_check_metrics::malformed_line_exits_1_naming_the_line",
        &["promtool"],
    ) {
        return;
    }
    let input = b"# HELP a_total A.\n# TYPE a_total counter\na_total 1\nb{x=\"1\" 2\n";
    let ours = firewatch(input);
    assert_eq!(ours.status.code(), Some(1));
    assert_eq!(promtool(input).status.code(), Some(1));
    let err = String::from_utf8_lossy(&ours.stderr);
    assert!(err.contains("line 4, column 9"), "{err}");
}

#[test]
fn clean_and_problem_expositions() {
    if !testkit::peers(
        "firewatch::tool_check_metrics::clean_and_problem_expositions",
        &["promtool"],
    ) {
        return;
    }
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
