//! node_exporter 1.9.1's own end-to-end test against `firewatch node-exporter`: the shared
//! runner serves its fixture /proc, /sys and udev trees with its flags and compares /metrics
//! with its expected output line by line. The lines Firewatch does not produce yet (and the
//! ones it produces that node_exporter does not) are committed in
//! `node_exporter_e2e_missing.txt`: any other difference is a regression and fails the test,
//! and so does a fixed line left in the list (update the list when a collector lands).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;

const TEST: &str = "node_exporter_e2e";
/// Expected lines matched (of 4,600 compared). The one left is
/// `promhttp_metric_handler_requests_total{code="200"} 0`: the runner's readiness probe is
/// itself a scrape, so an honest counter says 1 (node_exporter 1.9.1 would too).
const AT_LEAST_PASSED: usize = 4598;

/// Lines split as the runner's Python `splitlines` splits them (so both count the same).
fn counts(text: &str) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    let text = text.replace("\r\n", "\n");
    let breaks = [
        '\n', '\r', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\u{85}', '\u{2028}', '\u{2029}',
    ];
    let mut lines: Vec<&str> = text.split(|c| breaks.contains(&c)).collect();
    if text.ends_with(|c| breaks.contains(&c)) {
        lines.pop();
    }
    for l in lines {
        *m.entry(l.to_owned()).or_default() += 1;
    }
    m
}

#[test]
fn node_exporter_end_to_end_fixtures() {
    let Some(dir) = testkit::shared_path(TEST, "node-exporter-e2e") else {
        return;
    };
    if testkit::peer_binary(TEST, "python3").is_none()
        || testkit::peer_binary(TEST, "curl").is_none()
    {
        return;
    }
    let out = Command::new("bash")
        .arg(dir.join("run.sh"))
        .arg(env!("CARGO_BIN_EXE_firewatch"))
        .arg("node-exporter")
        .env("KEEP", "1")
        .output()
        .expect("run.sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let kept = stderr
        .lines()
        .find_map(|l| l.strip_prefix("kept "))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("run.sh keeps its work directory: {stdout}\n{stderr}"));
    let expected = std::fs::read_to_string(kept.join("expected.txt"));
    let got = std::fs::read_to_string(kept.join("metrics.txt"));
    let log = std::fs::read_to_string(kept.join("exporter.log")).unwrap_or_default();
    let _ = std::fs::remove_dir_all(&kept);
    let (expected, got) = (
        counts(&expected.expect("expected.txt")),
        counts(&got.unwrap_or_else(|e| panic!("metrics.txt: {e}\n{stdout}\n{log}"))),
    );
    let mut differences = Vec::new();
    let mut passed = 0;
    for (line, n) in &expected {
        let g = got.get(line).copied().unwrap_or(0);
        passed += g.min(*n);
        for _ in g..*n {
            differences.push(format!("missing: {line}"));
        }
    }
    for (line, n) in &got {
        let e = expected.get(line).copied().unwrap_or(0);
        for _ in e..*n {
            differences.push(format!("extra: {line}"));
        }
    }
    let last = stdout.lines().last().unwrap_or_default();
    assert!(
        last.contains(&format!("{passed} passed")),
        "run.sh agrees: {last} (counted {passed})"
    );
    let known = include_str!("node_exporter_e2e_missing.txt");
    let known: Vec<&str> = known.split('\n').filter(|l| !l.is_empty()).collect();
    let new: Vec<&String> = differences
        .iter()
        .filter(|d| !known.contains(&d.as_str()))
        .collect();
    let fixed: Vec<&&str> = known
        .iter()
        .filter(|k| !differences.iter().any(|d| d == *k))
        .collect();
    assert!(
        new.is_empty(),
        "{} lines differ from node_exporter 1.9.1 beyond the committed list, e.g.:\n{}",
        new.len(),
        new.iter()
            .take(30)
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        fixed.is_empty(),
        "{} committed differences are gone (remove them from node_exporter_e2e_missing.txt), e.g.:\n{}",
        fixed.len(),
        fixed
            .iter()
            .take(30)
            .map(|s| **s)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(
        passed >= AT_LEAST_PASSED,
        "{passed} passed, expected at least {AT_LEAST_PASSED}"
    );
    eprintln!("node_exporter e2e: {last}");
}
