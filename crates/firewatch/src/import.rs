//! `firewatch tool tsdb create-blocks-from openmetrics`: promtool's output, plus a progress bar
//! on a terminal.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use indicatif::{ProgressBar, ProgressStyle};
use tsdb::import::{ImportOptions, create_blocks_from_openmetrics};

/// Imports `input` into blocks under `output`; prints each block as promtool does unless `quiet`.
pub fn run(
    input: &Path,
    output: &Path,
    max_block_duration: &str,
    human_readable: bool,
    quiet: bool,
) -> ExitCode {
    let max_block_duration = match promql::parser::parse_duration(max_block_duration) {
        Ok(ms) if ms > 0 => ms,
        _ => {
            eprintln!("invalid --max-block-duration {max_block_duration:?}");
            return ExitCode::FAILURE;
        }
    };
    let data = match std::fs::read(input) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("import: read input {}: {e}", input.display());
            return ExitCode::FAILURE;
        }
    };
    // Hidden unless standard error is a terminal.
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} blocks windows {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut stdout = std::io::stdout();
    let mut first = true;
    let mut on_block = |meta: &tsdb::block::BlockMeta| {
        if quiet {
            return Ok(());
        }
        let size = tsdb::block::tool::written_block_size(output, meta)?;
        let printed = bar.suspend(|| {
            tsdb::block::tool::print_blocks(&[(meta, size)], first, human_readable, &mut stdout)
        });
        first = false;
        printed
    };
    let mut progress = |done: usize, all: usize| {
        bar.set_length(all as u64);
        bar.set_position(done as u64);
    };
    let options = ImportOptions { max_block_duration };
    let result =
        create_blocks_from_openmetrics(&data, output, options, &mut on_block, &mut progress);
    bar.finish_and_clear();
    let _ = stdout.flush();
    match result {
        Ok(summary) => {
            if summary.dropped_samples > 0 {
                eprintln!(
                    "dropped {} samples that were out of order or duplicates within their series",
                    summary.dropped_samples
                );
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
