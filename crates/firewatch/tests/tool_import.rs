//! `firewatch tool tsdb create-blocks-from openmetrics` against promtool 2.42's: the same input
//! gives blocks over the same time ranges with the same samples (read back by `promtool tsdb
//! dump`), the same table on standard output, and the same failures.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

const FIREWATCH: &str = env!("CARGO_BIN_EXE_firewatch");

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (promtool: Debian package prometheus): {e}"))
}

fn import(program: &str, extra: &[&str], input: &Path, out: &Path) -> Output {
    let mut args = vec!["tsdb", "create-blocks-from", "openmetrics"];
    args.extend_from_slice(extra);
    let (input, out) = (input.to_str().unwrap(), out.to_str().unwrap());
    args.extend_from_slice(&[input, out]);
    if program == FIREWATCH {
        args.insert(0, "tool");
    }
    run(program, &args)
}

/// An OpenMetrics file over about eleven hours with a gap, three families, and a few samples
/// out of order or repeated within their series (both tools drop those).
fn input() -> String {
    let mut s = String::new();
    let start: i64 = 1_700_003_333; // not aligned to two hours
    let times: Vec<i64> = (0..420)
        .map(|i| start + i * 60)
        .chain((0..120).map(|i| start + 10 * 3600 + i * 30))
        .collect();
    s.push_str("# HELP requests Requests served.\n# TYPE requests counter\n");
    for code in ["200", "404", "500"] {
        for (i, t) in times.iter().enumerate() {
            let v = (i as f64) * 1.5 + code.len() as f64;
            writeln!(s, "requests_total{{code=\"{code}\",path=\"/x\"}} {v} {t}").unwrap();
        }
        // Out of order and a duplicate timestamp: dropped.
        writeln!(s, "requests_total{{code=\"{code}\",path=\"/x\"}} 1 {start}").unwrap();
    }
    s.push_str("# TYPE temperature_celsius gauge\n# UNIT temperature_celsius celsius\n");
    for room in 0..5 {
        for (i, t) in times.iter().enumerate().step_by(3) {
            let v = 20.0 + ((i * 7 + room * 13) % 50) as f64 / 8.0;
            writeln!(s, "temperature_celsius{{room=\"r{room}\"}} {v} {t}.250").unwrap();
        }
    }
    s.push_str("# TYPE latency_seconds histogram\n");
    for le in ["0.1", "1.0", "+Inf"] {
        for (i, t) in times.iter().enumerate().step_by(5) {
            writeln!(
                s,
                "latency_seconds_bucket{{le=\"{le}\"}} {} {t}",
                i * le.len()
            )
            .unwrap();
        }
    }
    s.push_str("# EOF\n");
    s
}

fn dump(dir: &Path) -> Vec<String> {
    // promtool 2.42's dump opens the directory as a database and wants a WAL directory, which
    // neither tool's import creates.
    std::fs::create_dir_all(dir.join("wal")).unwrap();
    let out = run("promtool", &["tsdb", "dump", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut lines: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// The block table without the ULID column, which is random.
fn table_without_ulids(out: &Output) -> Vec<String> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        .collect()
}

#[test]
fn blocks_match_promtools() {
    if !testkit::peers(
        "firewatch::tool_import::blocks_match_promtools",
        &["promtool"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input_path = dir.path().join("in.om");
    std::fs::write(&input_path, input()).unwrap();
    for extra in [&[][..], &["-r"][..]] {
        let ours_dir = dir.path().join(format!("ours{}", extra.len()));
        let theirs_dir = dir.path().join(format!("theirs{}", extra.len()));
        let ours = import(FIREWATCH, extra, &input_path, &ours_dir);
        let theirs = import("promtool", extra, &input_path, &theirs_dir);
        assert!(
            ours.status.success(),
            "{}",
            String::from_utf8_lossy(&ours.stderr)
        );
        assert!(theirs.status.success());
        let (a, b) = (table_without_ulids(&ours), table_without_ulids(&theirs));
        assert_eq!(a.len(), 1 + 7, "a header and seven blocks:\n{a:#?}");
        assert_eq!(a, b, "block tables differ");
        let samples = dump(&ours_dir);
        assert_eq!(samples.len(), 3 * 540 + 5 * 180 + 3 * 108);
        assert_eq!(samples, dump(&theirs_dir));
    }
    let quiet = import(FIREWATCH, &["-q"], &input_path, &dir.path().join("q"));
    assert!(quiet.status.success() && quiet.stdout.is_empty());
}

#[test]
fn failures_match_promtools() {
    if !testkit::peers(
        "firewatch::tool_import::failures_match_promtools",
        &["promtool"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, text, message) in [
        ("no-eof", "a 1 1\n", "getting min and max timestamp: next: "),
        (
            "no-timestamp",
            "a 1 1\nb 2\n# EOF\n",
            "getting min and max timestamp: expected timestamp for series got none",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        for program in [FIREWATCH, "promtool"] {
            let out = import(program, &[], &path, &dir.path().join(format!("{name}-out")));
            assert_eq!(out.status.code(), Some(1), "{program} on {name}");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains(message), "{program} on {name}: {stderr}");
        }
    }
    let ours = import(
        FIREWATCH,
        &[],
        &dir.path().join("no-timestamp"),
        &dir.path().join("x"),
    );
    let stderr = String::from_utf8_lossy(&ours.stderr);
    assert!(stderr.contains("(line 2: {__name__=\"b\"})"), "{stderr}");
}
