//! `firewatch tool`: the promtool and amtool commands.

use std::process::ExitCode;

use crate::cli::{CheckCommand, CreateBlocksFrom, TestCommand, ToolCommand, TsdbCommand};

/// Runs a tool subcommand and returns its exit code.
pub fn run(cmd: ToolCommand) -> ExitCode {
    match cmd {
        ToolCommand::Check(CheckCommand::Metrics) => check_metrics(),
        ToolCommand::Check(CheckCommand::Config {
            files,
            syntax_only,
            agent,
        }) => {
            let opts = config::check::CheckOptions { agent, syntax_only };
            let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
            ExitCode::from(config::check::check_config_with(
                &files,
                opts,
                &config::rules::promql_check,
                &mut out,
                &mut err,
            ))
        }
        ToolCommand::Check(CheckCommand::Rules { files }) => {
            check_files(&files, config::check::check_rule_files)
        }
        ToolCommand::PromqlTest { files } => promql_test(&files),
        ToolCommand::CheckConfig { files } => crate::alertmanager::check_config(&files),
        ToolCommand::Test(TestCommand::Rules { files }) => {
            if rules::unittest::run(&files, &mut std::io::stdout(), &mut std::io::stderr()) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        ToolCommand::Tsdb(cmd) => tsdb_tool(cmd),
    }
}

/// `tsdb list|analyze`: promtool's output; errors on standard error with exit code 1.
fn tsdb_tool(cmd: TsdbCommand) -> ExitCode {
    let mut out = std::io::stdout();
    let result = match cmd {
        TsdbCommand::List {
            human_readable,
            path,
        } => tsdb::block::tool::list_blocks(&path, human_readable, &mut out),
        TsdbCommand::Analyze {
            limit,
            path,
            block_id,
        } => tsdb::block::tool::analyze_block(&path, block_id.as_deref(), limit, &mut out),
        TsdbCommand::CreateBlocksFrom(CreateBlocksFrom::Openmetrics {
            human_readable,
            quiet,
            max_block_duration,
            input,
            output,
        }) => {
            return crate::import::run(&input, &output, &max_block_duration, human_readable, quiet);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
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

/// `check metrics`: lints the exposition on standard input like `promtool check metrics`.
/// Exit 0 when it is clean, 3 with lint problems (one `metric problem` line each on standard
/// error), 1 when it does not parse (the error names line and column).
fn check_metrics() -> ExitCode {
    let mut input = Vec::new();
    if let Err(e) = std::io::Read::read_to_end(&mut std::io::stdin(), &mut input) {
        eprintln!("error while reading standard input: {e}");
        return ExitCode::from(1);
    }
    match model::lint::lint_exposition(&input) {
        Err(e) => {
            eprintln!("error while linting: {e}");
            ExitCode::from(1)
        }
        Ok(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            ExitCode::from(if problems.is_empty() { 0 } else { 3 })
        }
    }
}
