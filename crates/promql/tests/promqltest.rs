//! Runs every PromQL conformance script in `shared/promqltest/` against the engine and
//! asserts a floor of passing evals per file (raised as the engine improves; it must never
//! fall).

use std::path::PathBuf;

use firewatch_promql::promqltest::run_file;

/// Minimum passing evals per file.
const FLOORS: &[(&str, usize)] = &[
    ("aggregators.test", 160),
    ("at_modifier.test", 78),
    ("collision.test", 2),
    ("duration_expression.test", 59),
    ("extended_vectors.test", 169),
    ("fill-modifier.test", 46),
    ("functions.test", 431),
    ("histograms.test", 185),
    ("info.test", 53),
    ("limit.test", 37),
    ("literals.test", 25),
    ("name_label_dropping.test", 30),
    ("native_histograms.test", 522),
    ("operators.test", 214),
    ("range_queries.test", 18),
    ("selectors.test", 31),
    ("staleness.test", 17),
    ("start_timestamps.test", 2),
    ("subquery.test", 34),
    ("trig_functions.test", 19),
    ("type_and_unit.test", 58),
];

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/promqltest"
    ))
}

#[test]
fn conformance_scripts_meet_their_floors() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(data_dir())
        .expect("shared/promqltest must exist")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "test"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .test files found");
    // PROMQLTEST_ONLY=<name or path> runs only matching scripts (for debugging).
    let only = std::env::var("PROMQLTEST_ONLY").ok();
    if let Some(only) = &only {
        let p = PathBuf::from(only);
        if p.is_file() {
            files = vec![p];
        } else {
            files.retain(|f| f.to_string_lossy().contains(only.as_str()));
        }
    }
    let verbose = std::env::var_os("PROMQLTEST_VERBOSE").is_some();
    let mut below = Vec::new();
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
        let floor = FLOORS
            .iter()
            .find(|(n, _)| *n == r.file)
            .map_or(0, |(_, n)| *n);
        if r.passed < floor {
            below.push(format!("{}: {} passed, floor {floor}", r.file, r.passed));
        }
    }
    println!("{passed} passed, {failed} failed");
    assert!(below.is_empty(), "files below their floor: {below:#?}");
    // Every listed file exists: a renamed or removed file must not silently drop its floor.
    for (name, _) in FLOORS.iter().filter(|_| only.is_none()) {
        assert!(
            files
                .iter()
                .any(|f| f.file_name().is_some_and(|n| n == *name)),
            "{name} missing"
        );
    }
}

#[test]
fn a_broken_expectation_is_reported_as_a_failure() {
    let script =
        "load 1m\n  m 1 2 3\n\neval instant at 2m m\n  m 4\n\neval instant at 2m m\n  m 3\n";
    let r = firewatch_promql::promqltest::run_script("inline", script);
    assert_eq!((r.passed, r.failed), (1, 1), "{:?}", r.failures);
    assert_eq!(r.failures[0].line, 4);
}
