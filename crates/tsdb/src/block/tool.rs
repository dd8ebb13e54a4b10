//! `tsdb list` and `tsdb analyze` over a data directory's blocks, printing what promtool 2.42
//! prints (same columns, tab alignment and duration format).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use super::meta::META_FILENAME;
use super::reader::BlockReader;
use crate::error::TsdbError;
use crate::tombstones::TOMBSTONES_FILENAME;

/// Opens every block under `data_dir`, sorted by minimum time (as Prometheus orders them).
///
/// # Errors
/// An unreadable directory or block.
pub fn open_blocks(data_dir: &Path) -> Result<Vec<BlockReader>, TsdbError> {
    let rd = std::fs::read_dir(data_dir).map_err(|e| TsdbError::io("read dir", data_dir, e))?;
    let mut blocks = Vec::new();
    for entry in rd {
        let p = entry
            .map_err(|e| TsdbError::io("read dir", data_dir, e))?
            .path();
        let is_block = p.is_dir()
            && p.join(META_FILENAME).exists()
            && p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.parse::<super::Ulid>().is_ok());
        if is_block {
            blocks.push(BlockReader::open(&p)?);
        }
    }
    blocks.sort_by_key(|b| (b.meta().min_time, b.meta().ulid));
    Ok(blocks)
}

/// Bytes of a block as Prometheus counts them: chunks, index, tombstones and meta.json.
fn block_size(b: &BlockReader) -> u64 {
    let file = |name: &str| std::fs::metadata(b.dir().join(name)).map_or(0, |m| m.len());
    b.size() + file(TOMBSTONES_FILENAME) + file(META_FILENAME)
}

/// A UTC time as Go prints `time.Time` (`2006-01-02 15:04:05 +0000 UTC`), from seconds.
fn go_utc(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} +0000 UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Go's `text/tabwriter` with minwidth 13, padding 2, spaces: cells ended by a tab are
/// aligned per column; the text after the last tab of a line is not.
fn tabwrite(rows: &[Vec<String>], out: &mut dyn Write) -> std::io::Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let mut widths = vec![13usize; cols];
    for r in rows {
        for (i, c) in r.iter().enumerate().take(r.len().saturating_sub(1)) {
            widths[i] = widths[i].max(c.chars().count() + 2);
        }
    }
    for r in rows {
        let mut line = String::new();
        for (i, c) in r.iter().enumerate() {
            line.push_str(c);
            if i + 1 < r.len() {
                line.push_str(&" ".repeat(widths[i] - c.chars().count()));
            }
        }
        writeln!(out, "{line}")?;
    }
    Ok(())
}

/// Prints the blocks of `data_dir` like `promtool tsdb list [-r]`.
///
/// # Errors
/// Unreadable blocks or a failed write.
pub fn list_blocks(
    data_dir: &Path,
    human_readable: bool,
    out: &mut dyn Write,
) -> Result<(), TsdbError> {
    let blocks = open_blocks(data_dir)?;
    let sized: Vec<_> = blocks.iter().map(|b| (b.meta(), block_size(b))).collect();
    print_blocks(&sized, true, human_readable, out)
}

/// Prints blocks given as (meta, size in bytes) in promtool's block table, with the header
/// line when `header` is set; one table per call, as promtool flushes its tab writer.
///
/// # Errors
/// A failed write.
pub fn print_blocks(
    blocks: &[(&super::BlockMeta, u64)],
    header: bool,
    human_readable: bool,
    out: &mut dyn Write,
) -> Result<(), TsdbError> {
    let time = |t: i64| {
        if human_readable {
            go_utc(t.div_euclid(1000))
        } else {
            t.to_string()
        }
    };
    let mut rows = Vec::with_capacity(blocks.len() + 1);
    if header {
        rows.push(
            [
                "BLOCK ULID",
                "MIN TIME",
                "MAX TIME",
                "DURATION",
                "NUM SAMPLES",
                "NUM CHUNKS",
                "NUM SERIES",
                "SIZE",
            ]
            .map(String::from)
            .to_vec(),
        );
    }
    for &(m, size) in blocks {
        rows.push(vec![
            m.ulid.to_string(),
            time(m.min_time),
            time(m.max_time),
            model::gofmt::time_duration((m.max_time - m.min_time).saturating_mul(1_000_000)),
            m.stats.num_samples.to_string(),
            m.stats.num_chunks.to_string(),
            m.stats.num_series.to_string(),
            if human_readable {
                model::gofmt::base2_bytes(i64::try_from(size).unwrap_or(i64::MAX))
            } else {
                size.to_string()
            },
        ]);
    }
    tabwrite(&rows, out).map_err(|e| TsdbError::io("write", "stdout", e))
}

/// Bytes of the block written under `parent` with `meta`, as `tsdb list` counts them.
///
/// # Errors
/// The block cannot be opened.
pub fn written_block_size(parent: &Path, meta: &super::BlockMeta) -> Result<u64, TsdbError> {
    let b = BlockReader::open(parent.join(meta.ulid.to_string()))?;
    Ok(block_size(&b))
}

/// Prints the analysis `promtool tsdb analyze` prints for block `block_id` of `data_dir`
/// (the last block when `None`): churn, label pair counts and cardinalities, `limit` lines each.
///
/// # Errors
/// No such block, unreadable index, or a failed write.
pub fn analyze_block(
    data_dir: &Path,
    block_id: Option<&str>,
    limit: usize,
    out: &mut dyn Write,
) -> Result<(), TsdbError> {
    let blocks = open_blocks(data_dir)?;
    let block = match block_id {
        Some(id) => blocks.iter().find(|b| b.meta().ulid.to_string() == id),
        None => blocks.last(),
    }
    .ok_or_else(|| TsdbError::NotFoundName {
        kind: "block",
        name: block_id.unwrap_or_default().to_owned(),
    })?;
    let meta = block.meta();
    let ix = block.index();
    let range = (meta.max_time - meta.min_time) as u64;
    let io = |e| TsdbError::io("write", "stdout", e);
    writeln!(out, "Block ID: {}", meta.ulid).map_err(io)?;
    writeln!(
        out,
        "Duration: {}",
        model::gofmt::time_duration((meta.max_time - meta.min_time).saturating_mul(1_000_000))
    )
    .map_err(io)?;
    writeln!(out, "Series: {}", meta.stats.num_series).map_err(io)?;
    writeln!(out, "Label names: {}", ix.label_names().len()).map_err(io)?;

    let mut names_uncovered: BTreeMap<String, u64> = BTreeMap::new();
    let mut pairs_uncovered: BTreeMap<String, u64> = BTreeMap::new();
    let mut pairs_count: BTreeMap<String, u64> = BTreeMap::new();
    let mut entries = 0u64;
    for r in ix.all_postings()? {
        let (labels, chunks) = ix.series(r)?;
        let covered = match (chunks.first(), chunks.last()) {
            (Some(f), Some(l)) => (l.max_time - f.min_time) as u64,
            _ => 0,
        };
        let uncovered = range.wrapping_sub(covered);
        for l in &labels {
            let key = format!("{}={}", l.name, l.value);
            *names_uncovered.entry(l.name.to_owned()).or_default() += uncovered;
            *pairs_uncovered.entry(key.clone()).or_default() += uncovered;
            *pairs_count.entry(key).or_default() += 1;
            entries += 1;
        }
    }
    writeln!(
        out,
        "Postings (unique label pairs): {}",
        pairs_uncovered.len()
    )
    .map_err(io)?;
    writeln!(out, "Postings entries (total label pairs): {entries}").map_err(io)?;

    let mut print = |title: &str, mut infos: Vec<(String, u64)>| -> Result<(), TsdbError> {
        infos.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        writeln!(out, "\n{title}:").map_err(io)?;
        for (k, m) in infos.iter().take(limit) {
            writeln!(out, "{m} {k}").map_err(io)?;
        }
        Ok(())
    };
    let per_range = |m: u64| {
        if range == 0 {
            0
        } else {
            (m as f64 / range as f64) as u64
        }
    };
    print(
        "Label pairs most involved in churning",
        pairs_uncovered
            .into_iter()
            .map(|(k, m)| (k, per_range(m)))
            .collect(),
    )?;
    print(
        "Label names most involved in churning",
        names_uncovered
            .into_iter()
            .map(|(k, m)| (k, per_range(m)))
            .collect(),
    )?;
    print("Most common label pairs", pairs_count.into_iter().collect())?;
    let names = ix.label_names().to_vec();
    print(
        "Label names with highest cumulative label value length",
        names
            .iter()
            .map(|n| {
                (
                    n.clone(),
                    ix.label_values(n).iter().map(|v| v.len() as u64).sum(),
                )
            })
            .collect(),
    )?;
    print(
        "Highest cardinality labels",
        names
            .iter()
            .map(|n| (n.clone(), ix.label_values(n).len() as u64))
            .collect(),
    )?;
    let mut metric_names = Vec::new();
    for n in ix.label_values(model::METRIC_NAME) {
        let c = ix.postings(model::METRIC_NAME, &[n.as_str()])?.len() as u64;
        metric_names.push((n, c));
    }
    print("Highest cardinality metric names", metric_names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_like_go() {
        assert_eq!(go_utc(1_700_000_000), "2023-11-14 22:13:20 +0000 UTC");
        assert_eq!(go_utc(0), "1970-01-01 00:00:00 +0000 UTC");
    }

    #[test]
    fn tab_alignment() {
        let rows = vec![
            vec![
                "A".to_owned(),
                "LONG HEADER VALUE".to_owned(),
                "x".to_owned(),
            ],
            vec!["B".to_owned(), "1".to_owned(), "yy".to_owned()],
        ];
        let mut out = Vec::new();
        tabwrite(&rows, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            format!(
                "A{}LONG HEADER VALUE  x\nB{}1{}yy\n",
                " ".repeat(12),
                " ".repeat(12),
                " ".repeat(18)
            )
        );
    }
}
