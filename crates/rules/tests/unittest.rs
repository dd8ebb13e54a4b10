//! `tool test rules` against the real `promtool test rules` (Prometheus 2.42) on the same
//! files: the same outcome and the same report (promtool splits it over stdout and stderr;
//! blank lines are compared apart).
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

fn non_blank(s: &str) -> Vec<String> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// promtool's outcome and report lines, and ours, for one file.
fn both(name: &str) -> ((bool, Vec<String>), (bool, Vec<String>)) {
    let path = data(name);
    let out = Command::new("promtool")
        .args(["test", "rules"])
        .arg(&path)
        .output()
        .expect("promtool must be installed (Debian package prometheus)");
    let theirs = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()
            .unwrap_or_default(),
        format_args!("\n{}", String::from_utf8_lossy(&out.stderr))
    );
    let theirs_ok = out.status.success();
    let theirs_lines = if theirs_ok {
        non_blank(&String::from_utf8_lossy(&out.stdout))
    } else {
        non_blank(&theirs)
    };
    let mut buf = Vec::new();
    let ours_ok = firewatch_rules::unittest::run(&[path], &mut buf);
    (
        (theirs_ok, theirs_lines),
        (ours_ok, non_blank(&String::from_utf8_lossy(&buf))),
    )
}

#[test]
fn passing_and_failing_files_report_as_promtool() {
    for name in [
        "pass.yml",
        "fail.yml",
        "templates.yml",
        "order.yml",
        "errors.yml",
    ] {
        let (theirs, ours) = both(name);
        assert_eq!(ours.0, theirs.0, "{name}: outcome");
        assert_eq!(ours.1, theirs.1, "{name}: report");
    }
}

#[test]
fn several_files_fail_when_one_fails() {
    let dir = data("");
    let mut buf = Vec::new();
    let ok =
        firewatch_rules::unittest::run(&[dir.join("pass.yml"), dir.join("fail.yml")], &mut buf);
    assert!(!ok);
    let text = String::from_utf8(buf).unwrap();
    assert!(text.contains("pass.yml\n  SUCCESS\n"), "{text}");
    assert!(text.contains("fail.yml\n  FAILED:\n"), "{text}");
}

#[test]
fn start_timestamp_moves_time_zero() {
    let mut buf = Vec::new();
    let ok = firewatch_rules::unittest::run(&[data("start.yml")], &mut buf);
    let text = String::from_utf8(buf).unwrap();
    assert!(ok, "{text}");
    assert!(text.contains("  SUCCESS\n"), "{text}");
}
