//! Backfilling: blocks from an OpenMetrics file, as `promtool tsdb create-blocks-from openmetrics`.
//!
//! A first pass over the input finds its time range and which block windows hold samples (and
//! rejects input without timestamps); then each window is read again and written as one block, so
//! memory holds one window's samples, never the whole file's. Within a series a sample older than
//! or as old as the one before it is dropped, as promtool's appender drops it.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use model::Labels;
use model::exposition::{Entry, Format, LabelPair, ParseError, Parser};

use crate::block::{BlockMeta, BlockWriter};
use crate::error::TsdbError;

/// Prometheus's smallest block range: two hours, in milliseconds.
pub const DEFAULT_BLOCK_DURATION: i64 = 2 * 3_600_000;

/// What can go wrong while importing; the texts follow promtool's.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The input is not valid OpenMetrics.
    #[error("getting min and max timestamp: next: line {}:{}: {}", .0.line, .0.column, .0.kind)]
    Parse(ParseError),
    /// A sample without a timestamp: backfilling needs them all.
    #[error(
        "getting min and max timestamp: expected timestamp for series got none (line {line}: {series})"
    )]
    MissingTimestamp {
        /// 1-based line of the sample.
        line: usize,
        /// The series as written.
        series: String,
    },
    /// Writing a block failed.
    #[error("block creation: process blocks: {0}")]
    Write(#[from] TsdbError),
    /// The output directory cannot be created.
    #[error("block creation: create output directory {}: {source}", path.display())]
    OutputDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Options of an import.
#[derive(Debug, Clone, Copy)]
pub struct ImportOptions {
    /// Longest block to write (`--max-block-duration`), in milliseconds; rounded down to one of
    /// Prometheus's compaction ranges (2h × 3ⁿ), never below two hours.
    pub max_block_duration: i64,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            max_block_duration: DEFAULT_BLOCK_DURATION,
        }
    }
}

/// What an import wrote.
#[derive(Debug, Default)]
pub struct ImportSummary {
    /// Blocks written, oldest first.
    pub blocks: Vec<BlockMeta>,
    /// Samples dropped for being out of order or duplicates within their series.
    pub dropped_samples: u64,
}

/// The block duration used for `max`: the largest of Prometheus's ranges (2h, 6h, 18h, ...,
/// ten steps) not above `max`, and at least two hours.
#[must_use]
pub fn block_duration(max: i64) -> i64 {
    let mut d = DEFAULT_BLOCK_DURATION;
    for _ in 1..10 {
        let next = d * 3;
        if next > max {
            break;
        }
        d = next;
    }
    d
}

/// Writes the samples of the OpenMetrics text `input` into blocks under `out_dir`, one per
/// block window that holds samples. `on_block` sees each block right after it is written and
/// `progress` the number of windows done out of all, for a progress display.
///
/// # Errors
/// Invalid input (nothing is written then), a sample without timestamp, or a failed write.
pub fn create_blocks_from_openmetrics(
    input: &[u8],
    out_dir: &Path,
    options: ImportOptions,
    on_block: &mut dyn FnMut(&BlockMeta) -> Result<(), TsdbError>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ImportSummary, ImportError> {
    let duration = block_duration(options.max_block_duration);
    let windows = block_windows(input, duration)?;
    std::fs::create_dir_all(out_dir).map_err(|source| ImportError::OutputDir {
        path: out_dir.to_owned(),
        source,
    })?;
    let mut summary = ImportSummary::default();
    progress(0, windows.len());
    for (done, &start) in windows.iter().enumerate() {
        let (series, dropped) = read_window(input, start, start + duration)?;
        summary.dropped_samples += dropped;
        if !series.is_empty() {
            let mut writer = BlockWriter::new(out_dir);
            for (labels, samples) in series {
                writer.add_series(labels, &samples)?;
            }
            let meta = writer.write()?;
            on_block(&meta)?;
            summary.blocks.push(meta);
        }
        progress(done + 1, windows.len());
    }
    Ok(summary)
}

/// First pass: the start of every window of `duration` that holds a sample, aligned as
/// promtool aligns them (Go's truncating division of the file's minimum time).
fn block_windows(input: &[u8], duration: i64) -> Result<BTreeSet<i64>, ImportError> {
    let mut times = BTreeSet::new();
    let mut min = i64::MAX;
    let mut parser = Parser::new(input, Format::OpenMetrics);
    loop {
        let line = parser.line();
        let Some(entry) = parser.next_entry().map_err(ImportError::Parse)? else {
            break;
        };
        if let Entry::Series(s) = entry {
            let Some(t) = s.timestamp else {
                return Err(ImportError::MissingTimestamp {
                    line,
                    series: labels_of(s.name, s.labels).to_string(),
                });
            };
            min = min.min(t);
            times.insert(t);
        }
    }
    if times.is_empty() {
        return Ok(BTreeSet::new());
    }
    let first = duration * (min / duration);
    Ok(times
        .into_iter()
        .map(|t| first + (t - first).div_euclid(duration) * duration)
        .collect())
}

/// Second pass over one window: every series' samples in `[start, end)`, sorted by labels, and
/// the number of samples dropped as out of order or duplicate.
type WindowSeries = Vec<(Labels, Vec<(i64, f64)>)>;

fn read_window(input: &[u8], start: i64, end: i64) -> Result<(WindowSeries, u64), ImportError> {
    let mut series: HashMap<Labels, Vec<(i64, f64)>> = HashMap::new();
    let mut dropped = 0;
    let mut parser = Parser::new(input, Format::OpenMetrics);
    while let Some(entry) = parser.next_entry().map_err(ImportError::Parse)? {
        let Entry::Series(s) = entry else { continue };
        let Some(t) = s.timestamp.filter(|t| (start..end).contains(t)) else {
            continue;
        };
        let samples = series.entry(labels_of(s.name, s.labels)).or_default();
        if samples.last().is_some_and(|&(last, _)| t <= last) {
            dropped += 1;
        } else {
            samples.push((t, s.value));
        }
    }
    let mut sorted: Vec<_> = series.into_iter().collect();
    sorted.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    Ok((sorted, dropped))
}

fn labels_of(name: &str, pairs: &[LabelPair<'_>]) -> Labels {
    Labels::from_pairs(
        std::iter::once((model::labels::METRIC_NAME, name))
            .chain(pairs.iter().map(|p| (p.name.as_ref(), p.value.as_ref()))),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_durations_follow_the_compaction_ranges() {
        let h = 3_600_000;
        assert_eq!(block_duration(0), 2 * h);
        assert_eq!(block_duration(2 * h), 2 * h);
        assert_eq!(block_duration(5 * h), 2 * h);
        assert_eq!(block_duration(6 * h), 6 * h);
        assert_eq!(block_duration(24 * h), 18 * h);
        assert_eq!(block_duration(i64::MAX / 4), 2 * h * 3i64.pow(9));
    }

    #[test]
    fn windows_align_to_the_first_sample() {
        let input = b"a 1 7200\na 2 7201\na 3 30000\n# EOF\n";
        let w = block_windows(input, DEFAULT_BLOCK_DURATION).unwrap();
        assert_eq!(
            w.into_iter().collect::<Vec<_>>(),
            vec![7_200_000, 28_800_000]
        );
    }
}
