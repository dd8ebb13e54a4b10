//! Compaction: the head is cut into blocks of one chunk range once it spans 1.5 ranges, and
//! blocks are merged into larger ones (2h, 6h, 18h, 54h, ... up to the maximum block
//! duration) with Prometheus's leveled planner; overlapping blocks are merged first
//! (`tsdb/compact.go`). Both stream series by series in label order into a
//! [`StreamWriter`], copying chunks as they are where nothing overlaps them ([`super::merge`]).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use model::{MatchOp, Matcher, Sample};
use storage::{MergeQuerier, Querier, ValueType};

use super::merge::{SourceChunk, merge_blocks_streaming, write_series};
use crate::block::{
    BlockDesc, BlockMetaCompaction, BlockReader, StreamWriter, ThanosMeta, Ulid, encode_samples,
};
use crate::chunkenc::SAMPLES_PER_CHUNK;
use crate::error::TsdbError;
use crate::head::Head;
use crate::head::chunk::range_for_timestamp;
use crate::start::HeadStarts;
use crate::tombstones::Tombstones;

/// Block ranges of leveled compaction: `min`, then ×3 at each step, up to `max`.
#[must_use]
pub fn block_ranges(min: i64, max: i64) -> Vec<i64> {
    let mut out = vec![min];
    let mut r = min;
    for _ in 0..10 {
        r *= 3;
        if r > max {
            break;
        }
        out.push(r);
    }
    out
}

/// Writes the head's samples in `[mint, maxt)` as a level-1 block under `dir`, series by
/// series in label order, copying the head's chunks that lie in the range as they are, with
/// `thanos` as its `meta.json`'s Thanos section; `None` when that range holds no samples.
///
/// # Errors
/// I/O errors.
pub fn write_head_block(
    dir: &Path,
    head: &Arc<Head>,
    mint: i64,
    maxt: i64,
    thanos: Option<&ThanosMeta>,
) -> Result<Option<BlockReader>, TsdbError> {
    let ulid = Ulid::new();
    let symbols = head_symbols(head);
    let mut w = StreamWriter::create(dir, ulid, symbols.iter().map(String::as_str))?;
    w.set_thanos(thanos.cloned());
    let mut metas = Vec::new();
    let series = head.series_sorted();
    for (i, s) in series.iter().enumerate() {
        // Each series' own lines first, its labels (whose address is in them) later.
        if let Some(ahead) = series.get(i + 2 * PREFETCH_AHEAD) {
            ahead.prefetch();
        }
        if let Some(ahead) = series.get(i + PREFETCH_AHEAD) {
            prefetch_labels(ahead);
        }
        let chunks = head.chunks_in_range(s, mint, maxt - 1)?;
        if chunks.is_empty() {
            continue;
        }
        let sources = chunks
            .iter()
            .map(|((enc, data), lo, hi)| SourceChunk {
                enc: *enc,
                data,
                min_time: *lo,
                max_time: *hi,
                deleted: &[],
            })
            .collect();
        let starts = s.state.lock().starts().and_then(|r| r.clip(mint, maxt - 1));
        write_series(
            &mut w,
            &s.labels,
            sources,
            (mint, maxt - 1),
            starts,
            &mut metas,
        )?;
    }
    if w.num_series() == 0 {
        return Ok(None);
    }
    let compaction = BlockMetaCompaction {
        level: 1,
        sources: vec![ulid],
        ..BlockMetaCompaction::default()
    };
    let meta = w.finish(Some((mint, maxt)), compaction, &Tombstones::new())?;
    tracing::info!(ulid = %meta.ulid, mint, maxt, series = meta.stats.num_series, "head compacted into a block");
    Ok(Some(BlockReader::open(dir.join(meta.ulid.to_string()))?))
}

/// How many series ahead of the one being written [`write_head_block`] asks for the
/// memory of a series' label set (and twice as far ahead, for the series itself): series in
/// label order lie at random in memory, and a cache miss on each while it was written took
/// a third of a compaction's time at 1M series.
const PREFETCH_AHEAD: usize = 6;

/// Asks the CPU for the cache lines of `s`'s label set, up to three (ten pairs take about
/// 150 bytes); `s` itself should be in the cache already, or finding them waits for it.
fn prefetch_labels(s: &crate::head::MemSeries) {
    crate::head::ref_table::prefetch(std::ptr::without_provenance::<[u8; 192]>(
        s.labels.buffer_id(),
    ));
}

/// Every label name and value of the head's series, sorted.
fn head_symbols(head: &Head) -> Vec<String> {
    let postings = head.postings.read();
    let mut out = Vec::new();
    for name in postings.label_names() {
        out.extend(postings.label_values(&name));
        out.push(name);
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// Whether the head spans more than 1.5 block ranges, so that [`compact_head`] would write a
/// block (Prometheus's `Head.compactable`, checked after every commit there).
#[must_use]
pub fn head_compactable(head: &Head) -> bool {
    let range = head.options().chunk_range;
    !head.is_empty()
        && head.min_time() != i64::MAX
        && head.max_time() - head.min_time() > range / 2 * 3
}

/// What [`compact_head`] did; kept when a later step fails, so that blocks already written
/// are served and the WAL is truncated for the part of the head they took.
#[derive(Debug, Default)]
pub struct HeadCompaction {
    /// The blocks written.
    pub blocks: Vec<BlockReader>,
    /// The time up to which the head was truncated, if it was.
    pub truncated: Option<i64>,
}

/// Cuts the head into blocks while it spans more than 1.5 chunk ranges, each with `thanos`
/// as its Thanos section, recording in `done` the new blocks and the time up to which the
/// head was truncated.
///
/// # Errors
/// I/O errors (a full disk); `done` holds what was finished before.
pub fn compact_head(
    dir: &Path,
    head: &Arc<Head>,
    thanos: Option<&ThanosMeta>,
    done: &mut HeadCompaction,
) -> Result<(), TsdbError> {
    let range = head.options().chunk_range;
    while head_compactable(head) {
        let mint = head.min_time();
        let maxt = range_for_timestamp(mint, range);
        if let Some(b) = write_head_block(dir, head, mint, maxt, thanos)? {
            done.blocks.push(b);
        }
        if done.truncated.is_none() {
            // As Prometheus: once the in-order head compacts, every out-of-order sample goes
            // into blocks too, before the head chunk files holding them can be cut.
            done.blocks
                .extend(crate::head::ooo::compact_ooo_head(dir, head, thanos)?);
        }
        head.truncate_memory(maxt);
        done.truncated = Some(maxt);
    }
    Ok(())
}

/// Aligned groups of consecutive blocks (sorted by min time) that fit in windows of `tr`.
fn split_by_range(blocks: &[BlockReader], tr: i64) -> Vec<Vec<BlockReader>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < blocks.len() {
        let m = blocks[i].meta();
        let t0 = if m.min_time >= 0 {
            tr * (m.min_time / tr)
        } else {
            tr * ((m.min_time - tr + 1) / tr)
        };
        if m.max_time > t0 + tr {
            i += 1;
            continue;
        }
        let mut group = Vec::new();
        while i < blocks.len() && blocks[i].meta().max_time <= t0 + tr {
            group.push(blocks[i].clone());
            i += 1;
        }
        if !group.is_empty() {
            out.push(group);
        }
    }
    out
}

/// The first run of blocks (sorted by min time) that overlap in time.
fn overlapping(blocks: &[BlockReader]) -> Vec<BlockReader> {
    let mut out: Vec<BlockReader> = Vec::new();
    let Some(first) = blocks.first() else {
        return out;
    };
    let mut global_max = first.meta().max_time;
    for (i, b) in blocks.iter().enumerate().skip(1) {
        if b.meta().min_time < global_max {
            if out.is_empty() {
                out.push(blocks[i - 1].clone());
            }
            out.push(b.clone());
        } else if !out.is_empty() {
            break;
        }
        global_max = global_max.max(b.meta().max_time);
    }
    out
}

/// Prometheus's leveled plan: overlapping blocks first; else, leaving out the newest block,
/// the first group filling a whole larger range (or lying before the newest block).
#[must_use]
pub fn plan(blocks: &[BlockReader], ranges: &[i64]) -> Vec<BlockReader> {
    let mut sorted = blocks.to_vec();
    sorted.sort_by_key(|b| b.meta().min_time);
    let o = overlapping(&sorted);
    if !o.is_empty() {
        return o;
    }
    if sorted.len() < 2 || ranges.len() < 2 {
        return Vec::new();
    }
    sorted.pop();
    let Some(newest) = sorted.last() else {
        return Vec::new();
    };
    let high = newest.meta().min_time;
    for &r in &ranges[1..] {
        for group in split_by_range(&sorted, r) {
            if group.iter().any(|b| b.meta().compaction.failed) {
                continue;
            }
            let mint = group[0].meta().min_time;
            let maxt = group[group.len() - 1].meta().max_time;
            if (maxt - mint == r || maxt <= high) && group.len() > 1 {
                return group;
            }
        }
    }
    Vec::new()
}

/// Merges `parents` into one block under `dir` at the chunk level (see [`super::merge`]):
/// chunks that overlap nothing are copied, overlapping ones merged with samples at equal
/// timestamps deduplicated, deleted samples dropped; `thanos` becomes its Thanos section.
///
/// # Errors
/// I/O errors.
pub fn merge_blocks(
    dir: &Path,
    parents: &[BlockReader],
    thanos: Option<&ThanosMeta>,
) -> Result<BlockReader, TsdbError> {
    let mint = parents.iter().map(|b| b.meta().min_time).min().unwrap_or(0);
    let maxt = parents.iter().map(|b| b.meta().max_time).max().unwrap_or(0);
    let level = parents
        .iter()
        .map(|b| b.meta().compaction.level)
        .max()
        .unwrap_or(0)
        + 1;
    let sources: BTreeSet<_> = parents
        .iter()
        .flat_map(|b| b.meta().compaction.sources.iter().copied())
        .collect();
    let descs = parents
        .iter()
        .map(|b| BlockDesc {
            ulid: b.meta().ulid,
            min_time: b.meta().min_time,
            max_time: b.meta().max_time,
        })
        .collect();
    let compaction = BlockMetaCompaction {
        level,
        sources: sources.into_iter().collect(),
        parents: descs,
        ..BlockMetaCompaction::default()
    };
    let mut w = merge_blocks_streaming(dir, Ulid::new(), parents)?;
    w.set_thanos(thanos.cloned());
    let meta = w.finish(Some((mint, maxt)), compaction, &Tombstones::new())?;
    tracing::info!(ulid = %meta.ulid, mint, maxt, level, parents = parents.len(), "blocks compacted");
    BlockReader::open(dir.join(meta.ulid.to_string()))
}

/// Writes every series `q` selects (in label order), with all its samples, into `w`.
fn write_all_series(w: &mut StreamWriter, q: &dyn Querier) -> Result<(), TsdbError> {
    let storage_err =
        |e: storage::StorageError| TsdbError::corruption("head snapshot", e.to_string());
    // `__name__=~".*"` matches every series (with or without a name).
    let all = Matcher::new(MatchOp::RegexMatch, model::METRIC_NAME, ".*").expect("valid regex");
    let mut samples = Vec::new();
    let mut metas = Vec::new();
    for s in q.select(true, None, &[all]).map_err(storage_err)? {
        let s = s.map_err(storage_err)?;
        let mut it = s.iter();
        samples.clear();
        let mut starts = None;
        loop {
            let vt = it.next();
            if vt != ValueType::None {
                HeadStarts::note(&mut starts, it.at_t(), it.at_st());
            }
            match vt {
                ValueType::Float => samples.push((it.at_t(), Sample::Float(it.at().1))),
                ValueType::Histogram => {
                    let (t, h) = it.at_histogram();
                    samples.push((t, Sample::Histogram(Arc::new(h))));
                }
                ValueType::FloatHistogram => {
                    let (t, h) = it.at_float_histogram();
                    samples.push((t, Sample::FloatHistogram(Arc::new(h))));
                }
                ValueType::None => break,
            }
        }
        if let Some(e) = it.err() {
            return Err(TsdbError::corruption(s.labels().to_string(), e.to_string()));
        }
        metas.clear();
        for c in encode_samples(s.labels(), &samples, SAMPLES_PER_CHUNK)? {
            let (enc, data) = c.chunk.as_ref().expect("encoded chunks hold bytes");
            metas.push(w.write_chunk(*enc, data, c.min_time, c.max_time)?);
        }
        let starts = starts.and_then(|r| r.clip(i64::MIN, i64::MAX));
        w.add_series_with_starts(s.labels(), &metas, starts)?;
    }
    Ok(())
}

/// Writes every sample of the head, in-order and out-of-order ones merged, as one level-1
/// block under `dir` spanning them (Prometheus's snapshot of the head); `None` when the
/// head holds no samples.
///
/// # Errors
/// I/O errors.
pub fn write_head_snapshot(dir: &Path, head: &Arc<Head>) -> Result<Option<BlockReader>, TsdbError> {
    let q = MergeQuerier::new(vec![
        Box::new(head.querier(i64::MIN, i64::MAX)) as Box<dyn Querier>,
        Box::new(crate::head::ooo::OooQuerier::new(
            head.clone(),
            i64::MIN,
            i64::MAX,
        )),
    ]);
    let ulid = Ulid::new();
    let mut w = StreamWriter::create(dir, ulid, head_symbols(head).iter().map(String::as_str))?;
    write_all_series(&mut w, &q)?;
    if w.num_series() == 0 {
        return Ok(None);
    }
    let compaction = BlockMetaCompaction {
        level: 1,
        sources: vec![ulid],
        ..BlockMetaCompaction::default()
    };
    // The range runs from the oldest sample to one past the newest (half-open).
    let meta = w.finish(None, compaction, &Tombstones::new())?;
    let (mint, maxt) = (meta.min_time, meta.max_time);
    tracing::info!(ulid = %meta.ulid, mint, maxt, series = meta.stats.num_series, "head snapshot written as a block");
    Ok(Some(BlockReader::open(dir.join(meta.ulid.to_string()))?))
}
