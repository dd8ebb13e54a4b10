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
    }
}
