//! The promqltest script runner: reads Prometheus's PromQL conformance scripts (`load`,
//! `clear`, `eval ...` with expectations) and runs them against the in-memory storage and
//! the engine, with the same extra checks as Prometheus's harness (`@` re-runs and the
//! range-mode re-run of instant queries).

pub mod histo;
mod nhcb;
mod runner;
pub mod script;
pub mod series_desc;
mod start_ts;

use std::fmt;
use std::path::Path;

pub use runner::{ScriptStorage, run_script, run_script_with};

/// One failed eval.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// 1-based line of the `eval` command (0 for script errors).
    pub line: usize,
    /// The query.
    pub expr: String,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.expr, self.message)
    }
}

/// The outcome of running one script.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// The script's name (file name).
    pub file: String,
    /// Evals that passed.
    pub passed: usize,
    /// Evals that failed.
    pub failed: usize,
    /// The failures, in script order.
    pub failures: Vec<Failure>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} passed, {} failed",
            self.file, self.passed, self.failed
        )
    }
}

/// Runs the script at `path`. An unreadable or malformed file counts as one failure.
#[must_use]
pub fn run_file(path: &Path) -> Report {
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    match std::fs::read_to_string(path) {
        Ok(text) => run_script(&name, &text),
        Err(e) => Report {
            file: name,
            passed: 0,
            failed: 1,
            failures: vec![Failure {
                line: 0,
                expr: String::new(),
                message: format!("reading {}: {e}", path.display()),
            }],
        },
    }
}
