//! The `firewatch` binary: parses flags and wires components together, nothing else.

mod cli;
mod server;
mod tool;

use std::process::ExitCode;

use clap::Parser;

use cli::{Cli, Command};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Tool(tool)) => tool::run(tool),
        Some(Command::Server(_)) | None => not_built("server"),
        Some(Command::Alertmanager) => not_built("alertmanager"),
        Some(Command::NodeExporter) => not_built("node-exporter"),
        Some(Command::ContainerExporter) => not_built("container-exporter"),
        Some(Command::KubeStateExporter) => not_built("kube-state-exporter"),
    }
}

fn not_built(what: &str) -> ExitCode {
    eprintln!("firewatch: the {what} subcommand is not built yet");
    ExitCode::from(2)
}
