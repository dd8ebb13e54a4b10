//! Where the conformance data and peer binaries are, and skips reported by name.
//!
//! Tests that read Prometheus's, Alertmanager's or node_exporter's own test data find it under
//! one directory: `$FIREWATCH_SHARED`, or `../shared` beside the repository. Where that data (or
//! a peer binary such as `prometheus` or `amtool`) is missing, the test calls [`skip`], which
//! prints `SKIPPED <test>: <reason>` and appends the same line to `$FIREWATCH_SKIP_LOG` when it
//! is set. `scripts/test` sets it, lists every skip by name and count at the end, and fails the
//! run when `FIREWATCH_FAIL_ON_SKIP=1` (as `.ci/run` does).

use std::io::Write;
use std::path::{Path, PathBuf};

/// The environment variable naming the conformance data directory.
pub const SHARED_ENV: &str = "FIREWATCH_SHARED";
/// The environment variable naming the file that collects skips.
pub const SKIP_LOG_ENV: &str = "FIREWATCH_SKIP_LOG";

/// The conformance data directory: `$FIREWATCH_SHARED`, else `../shared` beside the
/// repository's root. It may not exist; see [`shared_path`].
#[must_use]
pub fn shared_dir() -> PathBuf {
    match std::env::var_os(SHARED_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// `rel` under the conformance data directory if it exists; otherwise reports `test` as
/// skipped (naming the missing path) and returns `None`.
#[must_use]
pub fn shared_path(test: &str, rel: &str) -> Option<PathBuf> {
    let path = shared_dir().join(rel);
    if path.exists() {
        Some(path)
    } else {
        skip(
            test,
            &format!("{} not found (set {SHARED_ENV})", path.display()),
        );
        None
    }
}

/// The path of the executable `name` on `PATH`; otherwise reports `test` as skipped and
/// returns `None`.
#[must_use]
pub fn peer_binary(test: &str, name: &str) -> Option<PathBuf> {
    let found = find_on_path(name);
    if found.is_none() {
        skip(test, &format!("peer binary {name} not found on PATH"));
    }
    found
}

/// Whether every executable of `names` is on `PATH`; each missing one is reported as a skip of
/// `test`.
#[must_use]
pub fn peers(test: &str, names: &[&str]) -> bool {
    // Every name is looked up (no short circuit), so each missing one is reported.
    let found: Vec<bool> = names
        .iter()
        .map(|name| peer_binary(test, name).is_some())
        .collect();
    found.iter().all(|&f| f)
}

/// Whether `python3` can import `module`; otherwise reports `test` as skipped.
#[must_use]
pub fn python_module(test: &str, module: &str) -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        skip(test, &format!("python3 module {module} not importable"));
    }
    ok
}

/// The path of the executable `name` on `PATH`, if any.
#[must_use]
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

/// Reports `test` as skipped for `reason`: on standard error, and in `$FIREWATCH_SKIP_LOG`
/// when set, so the suite's summary lists it.
pub fn skip(test: &str, reason: &str) {
    let line = format!("SKIPPED {test}: {reason}");
    eprintln!("{line}");
    if let Some(log) = std::env::var_os(SKIP_LOG_ENV).filter(|l| !l.is_empty()) {
        let appended = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = appended {
            eprintln!(
                "cannot record the skip in {}: {e}",
                Path::new(&log).display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binaries_are_looked_up_on_path() {
        assert!(find_on_path("sh").is_some());
        assert!(find_on_path("firewatch-no-such-binary").is_none());
    }

    #[test]
    fn missing_peers_and_data_are_logged_as_skips() {
        let log = std::env::temp_dir().join(format!("fw-skips-{}", std::process::id()));
        let _ = std::fs::remove_file(&log);
        let run = |f: &dyn Fn()| {
            // SAFETY: only this test reads or writes these variables.
            unsafe {
                std::env::set_var(SKIP_LOG_ENV, &log);
                std::env::set_var(SHARED_ENV, "/nonexistent-firewatch-shared");
            }
            f();
            // SAFETY: as above.
            unsafe {
                std::env::remove_var(SKIP_LOG_ENV);
                std::env::remove_var(SHARED_ENV);
            }
        };
        run(&|| {
            assert!(peers("t::a", &["sh"]));
            assert!(!peers("t::b", &["sh", "firewatch-no-such-binary"]));
            assert!(shared_path("t::c", "promqltest").is_none());
        });
        let text = std::fs::read_to_string(&log).unwrap();
        let _ = std::fs::remove_file(&log);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert!(lines[0].starts_with("SKIPPED t::b: peer binary firewatch-no-such-binary"));
        assert!(lines[1].starts_with("SKIPPED t::c: /nonexistent-firewatch-shared/promqltest"));
    }
}
