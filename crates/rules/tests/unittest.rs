//! `tool test rules` against the real `promtool test rules` (Prometheus 2.42) on the same
//! files: the same outcome and the same report, byte for byte on stdout and on stderr.
//!
//! The test files set `interval` in every test group: promtool 2.42 ignores the default
//! (current Prometheus uses `evaluation_interval`, as Firewatch does).

use std::path::{Path, PathBuf};
use std::process::Command;

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/unittest")
        .join(name)
}

/// An outcome with what went to standard output and to standard error.
type Report = (bool, String, String);

/// promtool's report for one file, and ours.
fn both(name: &str) -> (Report, Report) {
    let path = data(name);
    let out = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&path)
        .output()
        .expect("promtool must be installed (Debian package prometheus)");
    let theirs = (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    let ok = firewatch_rules::unittest::run(&[path], &mut stdout, &mut stderr);
    let ours = (
        ok,
        String::from_utf8(stdout).unwrap(),
        String::from_utf8(stderr).unwrap(),
    );
    (theirs, ours)
}

#[test]
fn passing_and_failing_files_report_as_promtool() {
    if !testkit::peers(
        "rules::unittest::passing_and_failing_files_report_as_promtool",
        &["promtool"],
    ) {
        return;
    }
    for name in [
        "pass.yml",
        "fail.yml",
        "templates.yml",
        "order.yml",
        "errors.yml",
    ] {
        let (theirs, ours) = both(name);
        assert_eq!(ours.0, theirs.0, "{name}: outcome");
        assert_eq!(ours.1, theirs.1, "{name}: standard output");
        assert_eq!(ours.2, theirs.2, "{name}: standard error");
    }
}

#[test]
fn several_files_fail_when_one_fails() {
    let dir = data("");
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let files = [dir.join("pass.yml"), dir.join("fail.yml")];
    let ok = firewatch_rules::unittest::run(&files, &mut out, &mut err);
    assert!(!ok);
    let (out, err) = (
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    );
    assert!(out.contains("pass.yml\n  SUCCESS\n"), "{out}");
    assert!(out.contains("fail.yml\n"), "{out}");
    assert!(err.starts_with("  FAILED:\n"), "{err}");
}

#[test]
fn start_timestamp_moves_time_zero() {
    let (mut buf, mut err) = (Vec::new(), Vec::new());
    let ok = firewatch_rules::unittest::run(&[data("start.yml")], &mut buf, &mut err);
    let text = String::from_utf8(buf).unwrap() + &String::from_utf8(err).unwrap();
    assert!(ok, "{text}");
    assert!(text.contains("  SUCCESS\n"), "{text}");
}
