//! Chunk-level compaction, as Prometheus's block chunk querier and compacting chunk-series
//! merger do (`tsdb/querier.go`, `storage/merge.go` `NewCompactingChunkSeriesMerger`):
//! series are read from every input in label order and written straight into a
//! [`StreamWriter`]; a chunk that overlaps no other chunk of its series and holds no deleted
//! or out-of-range sample is copied as it is, and only overlapping runs are decoded, merged
//! (one sample per timestamp) and re-encoded.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::Arc;

use model::{Labels, Sample};
use storage::ValueType;

use crate::block::{BlockReader, StreamWriter, encode_samples};
use crate::chunkenc::{self, Encoding, SAMPLES_PER_CHUNK};
use crate::chunks::ChunkMeta;
use crate::error::TsdbError;
use crate::tombstones::Interval;

/// A chunk of one series from one input, with what must be left out of it.
#[derive(Debug)]
pub(crate) struct SourceChunk<'a> {
    pub enc: Encoding,
    pub data: &'a [u8],
    pub min_time: i64,
    pub max_time: i64,
    /// Deleted intervals of the series in the chunk's block.
    pub deleted: &'a [Interval],
}

impl SourceChunk<'_> {
    /// Whether the chunk may be copied as it is into a block of `mint..=maxt`.
    fn copyable(&self, mint: i64, maxt: i64) -> bool {
        self.min_time >= mint
            && self.max_time <= maxt
            && !self
                .deleted
                .iter()
                .any(|iv| iv.mint <= self.max_time && iv.maxt >= self.min_time)
    }
}

/// Writes series `labels` from `chunks` (from one or more inputs, in any order), keeping
/// the samples in `mint..=maxt`; `metas` is scratch space reused across series.
///
/// # Errors
/// Undecodable chunks, I/O errors.
pub(crate) fn write_series(
    w: &mut StreamWriter,
    labels: &Labels,
    mut chunks: Vec<SourceChunk<'_>>,
    (mint, maxt): (i64, i64),
    starts: Option<Vec<(i64, i64)>>,
    metas: &mut Vec<ChunkMeta>,
) -> Result<(), TsdbError> {
    metas.clear();
    chunks.sort_by_key(|c| (c.min_time, c.max_time));
    let mut i = 0;
    while i < chunks.len() {
        // The run of chunks that overlap one another.
        let mut j = i + 1;
        let mut run_max = chunks[i].max_time;
        while j < chunks.len() && chunks[j].min_time <= run_max {
            run_max = run_max.max(chunks[j].max_time);
            j += 1;
        }
        let run = &chunks[i..j];
        if run.len() == 1 && run[0].copyable(mint, maxt) {
            let c = &run[0];
            metas.push(w.write_chunk(c.enc, c.data, c.min_time, c.max_time)?);
        } else {
            let samples = merge_samples(labels, run, mint, maxt)?;
            for c in encode_samples(labels, &samples, SAMPLES_PER_CHUNK)? {
                let (enc, data) = c.chunk.as_ref().expect("encoded chunks hold bytes");
                metas.push(w.write_chunk(*enc, data, c.min_time, c.max_time)?);
            }
        }
        i = j;
    }
    w.add_series_with_starts(labels, metas, starts)
}

/// The samples of overlapping chunks in time order, one per timestamp (the first chunk's,
/// in `run` order, wins), without deleted ones or ones outside `mint..=maxt`.
fn merge_samples(
    labels: &Labels,
    run: &[SourceChunk<'_>],
    mint: i64,
    maxt: i64,
) -> Result<Vec<(i64, Sample)>, TsdbError> {
    let mut out: Vec<(i64, Sample)> = Vec::new();
    for c in run {
        let mut it = chunkenc::iterator(c.enc, c.data)?;
        loop {
            let (t, s) = match it.next() {
                ValueType::None => break,
                ValueType::Float => {
                    let (t, v) = it.at();
                    (t, Sample::Float(v))
                }
                ValueType::Histogram => {
                    let (t, h) = it.at_histogram();
                    (t, Sample::Histogram(Arc::new(h)))
                }
                ValueType::FloatHistogram => {
                    let (t, h) = it.at_float_histogram();
                    (t, Sample::FloatHistogram(Arc::new(h)))
                }
            };
            if t >= mint && t <= maxt && !c.deleted.iter().any(|iv| iv.contains(t)) {
                out.push((t, s));
            }
        }
        if let Some(e) = it.err() {
            return Err(TsdbError::corruption(
                format!("series {labels}"),
                e.to_string(),
            ));
        }
    }
    // Stable: at equal timestamps the earlier chunk's sample comes first and is kept.
    out.sort_by_key(|(t, _)| *t);
    out.dedup_by_key(|(t, _)| *t);
    Ok(out)
}

/// One input block's series, read in label order.
struct Cursor<'a> {
    block: &'a BlockReader,
    ids: Vec<u64>,
    next: usize,
    cur: Option<(Labels, Vec<ChunkMeta>, u64)>,
}

impl<'a> Cursor<'a> {
    fn new(block: &'a BlockReader) -> Result<Self, TsdbError> {
        let mut c = Self {
            block,
            ids: block.index().all_postings()?,
            next: 0,
            cur: None,
        };
        c.advance()?;
        Ok(c)
    }

    fn advance(&mut self) -> Result<(), TsdbError> {
        self.cur = match self.ids.get(self.next) {
            Some(&id) => {
                self.next += 1;
                let (labels, chunks) = self.block.index().series(id)?;
                Some((labels, chunks, id))
            }
            None => None,
        };
        Ok(())
    }
}

/// The sorted union of the inputs' symbol tables.
fn merged_symbols(blocks: &[BlockReader]) -> Result<Vec<&str>, TsdbError> {
    let lists = blocks
        .iter()
        .map(|b| b.index().symbols())
        .collect::<Result<Vec<_>, _>>()?;
    // A k-way merge: a heap of (next symbol, list, position).
    let mut heap: BinaryHeap<std::cmp::Reverse<(&str, usize, usize)>> = lists
        .iter()
        .enumerate()
        .filter_map(|(i, l)| l.first().map(|s| std::cmp::Reverse((*s, i, 0))))
        .collect();
    let mut out: Vec<&str> = Vec::with_capacity(lists.iter().map(Vec::len).max().unwrap_or(0));
    while let Some(std::cmp::Reverse((s, i, pos))) = heap.pop() {
        if out.last() != Some(&s) {
            out.push(s);
        }
        if let Some(next) = lists[i].get(pos + 1) {
            heap.push(std::cmp::Reverse((*next, i, pos + 1)));
        }
    }
    Ok(out)
}

/// Streams every series of `parents` into block `ulid` under `dir`, merged at the chunk
/// level; returns the writer, ready to finish.
///
/// # Errors
/// Unreadable inputs, I/O errors.
pub(crate) fn merge_blocks_streaming(
    dir: &std::path::Path,
    ulid: crate::block::Ulid,
    parents: &[BlockReader],
) -> Result<StreamWriter, TsdbError> {
    let mut w = StreamWriter::create(dir, ulid, merged_symbols(parents)?)?;
    let mut cursors = parents
        .iter()
        .map(Cursor::new)
        .collect::<Result<Vec<_>, _>>()?;
    let mut metas = Vec::new();
    loop {
        // The smallest labels among the inputs' current series.
        let mut min: Option<usize> = None;
        for (i, c) in cursors.iter().enumerate() {
            if let Some((l, _, _)) = &c.cur {
                let smaller = match min {
                    None => true,
                    Some(m) => {
                        let ml = &cursors[m].cur.as_ref().expect("set").0;
                        l.cmp(ml) == Ordering::Less
                    }
                };
                if smaller {
                    min = Some(i);
                }
            }
        }
        let Some(m) = min else { break };
        let labels = cursors[m].cur.as_ref().expect("set").0.clone();
        let mut taken: Vec<(usize, Vec<ChunkMeta>, u64)> = Vec::new();
        for (i, c) in cursors.iter_mut().enumerate() {
            if c.cur.as_ref().is_some_and(|(l, _, _)| *l == labels) {
                let (_, chunks, id) = c.cur.take().expect("checked");
                taken.push((i, chunks, id));
            }
        }
        {
            let mut sources = Vec::new();
            for (i, chunks, id) in &taken {
                let block = &parents[*i];
                let deleted = block.tombstones().get(*id);
                for meta in chunks {
                    let (enc, data) = block.chunks().chunk(meta.r#ref)?;
                    sources.push(SourceChunk {
                        enc,
                        data,
                        min_time: meta.min_time,
                        max_time: meta.max_time,
                        deleted,
                    });
                }
            }
            let starts = crate::start::merge(
                taken
                    .iter()
                    .filter_map(|(i, _, id)| parents[*i].starts(*id))
                    .collect(),
            );
            write_series(
                &mut w,
                &labels,
                sources,
                (i64::MIN, i64::MAX),
                starts,
                &mut metas,
            )?;
        }
        for (i, _, _) in taken {
            cursors[i].advance()?;
        }
    }
    Ok(w)
}
