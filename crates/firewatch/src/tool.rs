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
