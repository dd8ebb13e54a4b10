//! `firewatch tool`: the promtool and amtool commands.

use std::process::ExitCode;

use crate::cli::{CheckCommand, ToolCommand};

/// Runs a tool subcommand and returns its exit code.
pub fn run(cmd: ToolCommand) -> ExitCode {
    match cmd {
        ToolCommand::Check(CheckCommand::Metrics) => {
            eprintln!("firewatch: check metrics is not built yet");
            ExitCode::from(2)
        }
        ToolCommand::Check(CheckCommand::Config { files }) => {
            check_files(&files, config::check::check_config)
        }
        ToolCommand::Check(CheckCommand::Rules { files }) => {
            check_files(&files, config::check::check_rule_files)
        }
        ToolCommand::PromqlTest { files } => promql_test(&files),
    }
}

/// Runs promqltest scripts: prints each failure, a line per file, then the totals.
fn promql_test(files: &[std::path::PathBuf]) -> ExitCode {
    let (mut passed, mut failed) = (0, 0);
    for f in files {
        let r = promql::promqltest::run_file(f);
        for failure in &r.failures {
            println!("{}: {failure}", r.file);
        }
        println!("{r}");
        passed += r.passed;
        failed += r.failed;
    }
    println!("{passed} passed, {failed} failed");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// A promtool-style file check: writes promtool's output and returns its exit code.
type FileCheck = fn(
    &[std::path::PathBuf],
    config::rules::ExprCheck<'_>,
    &mut dyn std::io::Write,
    &mut dyn std::io::Write,
) -> u8;

/// Runs `check` over `files` with the PromQL parser, on standard output and error.
fn check_files(files: &[std::path::PathBuf], check: FileCheck) -> ExitCode {
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    ExitCode::from(check(
        files,
        &config::rules::promql_check,
        &mut out,
        &mut err,
    ))
}
