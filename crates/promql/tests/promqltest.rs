//! Runs every PromQL conformance script in the shared `promqltest/` directory (Prometheus's
//! `promql/promqltest/testdata`, found through `testkit::shared_path`) against the engine, and
//! compares the failing evals with the committed list `promqltest_expected_failures.txt`:
//! a failure not listed fails the test, and so does a listed entry that now passes, so a new
//! failure cannot hide behind a new success.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use firewatch_promql::promqltest::{Report, run_file};

/// The committed list: one `file:line` (the line of the failing `eval`, or 0 for a script
/// that cannot be read) per line; `#` starts a comment.
const EXPECTED_FAILURES: &str = include_str!("promqltest_expected_failures.txt");

/// The entries of an expected-failures list.
fn parse_expected(text: &str) -> BTreeSet<String> {
    text.lines()
        .map(|l| l.split('#').next().unwrap_or("").trim())
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The stable identifiers of a report's failures.
fn failure_ids(r: &Report) -> impl Iterator<Item = String> + '_ {
    r.failures.iter().map(|f| format!("{}:{}", r.file, f.line))
}

/// What differs between the failures seen and the expected ones, as messages; empty when
/// they are the same. `ran` are the files run: entries of other files are not judged.
fn compare(
    seen: &BTreeSet<String>,
    expected: &BTreeSet<String>,
    ran: &BTreeSet<String>,
) -> Vec<String> {
    let mut out = Vec::new();
    for id in seen.difference(expected) {
        out.push(format!("new failure {id} (not in the expected list)"));
    }
    for id in expected.difference(seen) {
        let file = id.rsplit_once(':').map_or(id.as_str(), |(f, _)| f);
        if ran.contains(file) {
            out.push(format!("{id} now passes: remove it from the expected list"));
        }
    }
    out
}

fn script_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    files
}

#[test]
fn conformance_scripts_fail_only_where_expected() {
    let Some(dir) = testkit::shared_path("promqltest::conformance", "promqltest") else {
        return;
    };
    let mut files = script_files(&dir);
    assert!(!files.is_empty(), "no .test files in {}", dir.display());
    // PROMQLTEST_ONLY=<name or path> runs only matching scripts (for debugging).
    if let Ok(only) = std::env::var("PROMQLTEST_ONLY") {
        let p = PathBuf::from(&only);
        if p.is_file() {
            files = vec![p];
        } else {
            files.retain(|f| f.to_string_lossy().contains(only.as_str()));
        }
    }
    let verbose = std::env::var_os("PROMQLTEST_VERBOSE").is_some();
    let (mut seen, mut ran) = (BTreeSet::new(), BTreeSet::new());
    let (mut passed, mut failed) = (0, 0);
    for f in &files {
        let r = run_file(f);
        if verbose {
            for fail in &r.failures {
                println!("  {}: {fail}", r.file);
            }
        }
        println!("{r}");
        passed += r.passed;
        failed += r.failed;
        seen.extend(failure_ids(&r));
        ran.insert(r.file.clone());
    }
    println!("{passed} passed, {failed} failed");
    let expected = parse_expected(EXPECTED_FAILURES);
    let diff = compare(&seen, &expected, &ran);
    assert!(
        diff.is_empty(),
        "failures differ from tests/promqltest_expected_failures.txt \
         (PROMQLTEST_VERBOSE=1 prints each failure): {diff:#?}"
    );
}

#[test]
fn a_broken_expectation_is_reported_as_a_failure() {
    let script =
        "load 1m\n  m 1 2 3\n\neval instant at 2m m\n  m 4\n\neval instant at 2m m\n  m 3\n";
    let r = firewatch_promql::promqltest::run_script("inline", script);
    assert_eq!((r.passed, r.failed), (1, 1), "{:?}", r.failures);
    assert_eq!(r.failures[0].line, 4);
    assert_eq!(failure_ids(&r).collect::<Vec<_>>(), ["inline:4"]);
}

#[test]
fn a_new_failure_and_a_new_success_do_not_cancel_out() {
    let set = |ids: &[&str]| ids.iter().map(|s| (*s).to_owned()).collect::<BTreeSet<_>>();
    let ran = set(&["a.test", "b.test"]);
    let expected = parse_expected("# comment\na.test:4\n\n b.test:9  # flaky\nc.test:1\n");
    assert_eq!(expected, set(&["a.test:4", "b.test:9", "c.test:1"]));
    // Same count of failures, different ones: both differences are reported; c.test did
    // not run, so its entry is not judged.
    let diff = compare(&set(&["a.test:4", "b.test:12"]), &expected, &ran);
    assert_eq!(
        diff,
        [
            "new failure b.test:12 (not in the expected list)",
            "b.test:9 now passes: remove it from the expected list",
        ]
    );
    assert!(compare(&set(&["a.test:4", "b.test:9"]), &expected, &ran).is_empty());
}
