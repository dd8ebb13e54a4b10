//! Opens a block directory and reads it through [`storage::Querier`]: series selected by
//! matchers from the index, samples decoded from the mmapped chunks, clipped to the querier's
//! time range, with tombstones applied.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use model::{Labels, Matcher, Timestamp};
use storage::{
    FloatBatch, LabelHints, Querier, Queryable, SampleIterator, SelectHints, Series, SeriesSet,
    StorageError, ValueType,
};

use super::meta::BlockMeta;
use crate::chunkenc;
use crate::chunks::{ChunkMeta, SegmentReader};
use crate::error::TsdbError;
use crate::index::{IndexReader, postings_for_matchers};
use crate::start::{BlockStarts, Runs, start_at};
use crate::tombstones::{Interval, Tombstones, is_deleted};

struct Inner {
    dir: PathBuf,
    meta: BlockMeta,
    index: IndexReader,
    chunks: SegmentReader,
    tombstones: Tombstones,
    /// Start timestamp runs of the series that have any ([`crate::start::BLOCK_FILE`]).
    starts: BlockStarts,
}

/// An open, immutable block. Cheap to clone (shared).
#[derive(Clone)]
pub struct BlockReader {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for BlockReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockReader")
            .field("dir", &self.inner.dir)
            .field("meta", &self.inner.meta)
            .finish()
    }
}

impl BlockReader {
    /// Opens the block in `dir`: reads meta.json and tombstones, maps index and chunks.
    ///
    /// # Errors
    /// Missing or corrupt files.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, TsdbError> {
        let dir = dir.as_ref().to_path_buf();
        let meta = BlockMeta::read(&dir)?;
        let index = IndexReader::open(dir.join("index"))?;
        let chunks = SegmentReader::open(dir.join("chunks"))?;
        let tombstones = Tombstones::read(&dir)?;
        // Start timestamps are an addition to the samples: a damaged file costs them only.
        let starts = crate::start::read_block_file(&dir).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "block start timestamps ignored");
            BlockStarts::default()
        });
        Ok(Self {
            inner: Arc::new(Inner {
                dir,
                meta,
                index,
                chunks,
                tombstones,
                starts,
            }),
        })
    }

    /// The start timestamp runs of series `id` of the index, when it has any.
    #[must_use]
    pub fn starts(&self, id: u64) -> Option<&Runs> {
        self.inner.starts.get(&id).map(AsRef::as_ref)
    }

    /// The block's directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// The block's metadata.
    #[must_use]
    pub fn meta(&self) -> &BlockMeta {
        &self.inner.meta
    }

    /// The block's index.
    #[must_use]
    pub fn index(&self) -> &IndexReader {
        &self.inner.index
    }

    /// The block's chunk files.
    #[must_use]
    pub fn chunks(&self) -> &SegmentReader {
        &self.inner.chunks
    }

    /// The block's tombstones.
    #[must_use]
    pub fn tombstones(&self) -> &Tombstones {
        &self.inner.tombstones
    }

    /// Bytes of index and chunks.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.inner.index.size() + self.inner.chunks.size()
    }

    /// A querier over samples with `mint <= t <= maxt`.
    #[must_use]
    pub fn block_querier(&self, mint: Timestamp, maxt: Timestamp) -> BlockQuerier {
        BlockQuerier {
            inner: Arc::clone(&self.inner),
            mint,
            maxt,
            recent: None,
        }
    }

    /// [`BlockReader::block_querier`] for one of several blocks read side by side through a
    /// merge: a series whose labels equal the ones another of these blocks' queriers read
    /// last shares that label buffer (see [`RecentLabels`]).
    #[must_use]
    pub fn block_querier_sharing(
        &self,
        mint: Timestamp,
        maxt: Timestamp,
        recent: &Arc<RecentLabels>,
    ) -> BlockQuerier {
        BlockQuerier {
            recent: Some(Arc::clone(recent)),
            ..self.block_querier(mint, maxt)
        }
    }
}

impl Queryable for BlockReader {
    fn querier(&self, mint: Timestamp, maxt: Timestamp) -> Result<Box<dyn Querier>, StorageError> {
        Ok(Box::new(self.block_querier(mint, maxt)))
    }
}

/// The label set a block series set read last, shared by the queriers of the blocks one
/// merge reads: a merge asks each block for its next series in turn, so a series present in
/// several blocks is found equal to the previous block's, and its labels are cloned (one
/// buffer) instead of built again for every block.
#[derive(Debug, Default)]
pub struct RecentLabels(Mutex<Option<Labels>>);

/// Reads one block over a fixed time range.
pub struct BlockQuerier {
    inner: Arc<Inner>,
    mint: Timestamp,
    maxt: Timestamp,
    /// Labels shared with the other blocks of a merge, when there is one.
    recent: Option<Arc<RecentLabels>>,
}

impl BlockQuerier {
    fn postings(&self, matchers: &[Matcher]) -> Result<Vec<u64>, TsdbError> {
        if matchers.is_empty() {
            return self.inner.index.all_postings();
        }
        postings_for_matchers(&self.inner.index, matchers)
    }
}

impl Querier for BlockQuerier {
    fn select(
        &self,
        _sorted: bool,
        hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<Box<dyn SeriesSet>, StorageError> {
        // Series references follow label order, so the set is always sorted; under a limit
        // it stops after the first `limit` series with chunks in range.
        let postings = postings_for_matchers(&self.inner.index, matchers)?;
        Ok(Box::new(BlockSeriesSet {
            inner: Arc::clone(&self.inner),
            postings: postings.into_iter(),
            mint: self.mint,
            maxt: self.maxt,
            left: hints.map(|h| h.limit).filter(|&l| l > 0),
            recent: self.recent.clone(),
        }))
    }

    fn label_values(
        &self,
        name: &str,
        hints: Option<&LabelHints>,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        let index = &self.inner.index;
        let limit = LabelHints::limit_of(hints).unwrap_or(usize::MAX);
        if matchers.is_empty() {
            return Ok(index.first_label_values(name, limit));
        }
        let Some(name_ref) = index.symbol_index(name)? else {
            return Ok(Vec::new());
        };
        let mut refs = foldhash::HashSet::default();
        for r in self.postings(matchers)? {
            index.series_label_refs(r, |n, v| {
                if n == name_ref {
                    refs.insert(v);
                }
            })?;
        }
        Ok(resolve_sorted(index, refs, limit)?)
    }

    fn label_names(
        &self,
        hints: Option<&LabelHints>,
        matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        let index = &self.inner.index;
        let limit = LabelHints::limit_of(hints).unwrap_or(usize::MAX);
        if matchers.is_empty() {
            let names = index.label_names();
            return Ok(names[..limit.min(names.len())].to_vec());
        }
        let mut refs = foldhash::HashSet::default();
        for r in self.postings(matchers)? {
            index.series_label_refs(r, |n, _| {
                refs.insert(n);
            })?;
        }
        Ok(resolve_sorted(index, refs, limit)?)
    }
}

/// The first `limit` symbols with the indexes `refs`, in order (symbol indexes follow symbol
/// order); only those are resolved.
fn resolve_sorted(
    index: &IndexReader,
    refs: foldhash::HashSet<u32>,
    limit: usize,
) -> Result<Vec<String>, TsdbError> {
    let mut refs: Vec<u32> = refs.into_iter().collect();
    refs.sort_unstable();
    refs.into_iter()
        .take(limit)
        .map(|r| index.symbol(r).map(str::to_owned))
        .collect()
}

/// The series a [`BlockQuerier`] selected, decoded one at a time.
struct BlockSeriesSet {
    inner: Arc<Inner>,
    postings: std::vec::IntoIter<u64>,
    mint: Timestamp,
    maxt: Timestamp,
    /// Series still to yield under a limit hint.
    left: Option<usize>,
    /// Labels shared with the other blocks of a merge, when there is one.
    recent: Option<Arc<RecentLabels>>,
}

/// Labels and chunks of series `r` of `index`, its labels shared with the other blocks of a
/// merge (`recent`) when they are the ones read last there.
fn read_series(
    index: &IndexReader,
    recent: Option<&RecentLabels>,
    r: u64,
) -> Result<(Labels, Vec<ChunkMeta>), TsdbError> {
    let Some(recent) = recent else {
        return index.series(r);
    };
    let mut last = recent
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let (labels, chunks) = index.series_like(r, last.as_ref())?;
    *last = Some(labels.clone());
    Ok((labels, chunks))
}

impl Iterator for BlockSeriesSet {
    type Item = Result<Box<dyn Series>, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == Some(0) {
            return None;
        }
        for r in self.postings.by_ref() {
            let (labels, mut chunks) =
                match read_series(&self.inner.index, self.recent.as_deref(), r) {
                    Ok(s) => s,
                    Err(e) => return Some(Err(e.into())),
                };
            let deleted = self.inner.tombstones.get(r).to_vec();
            chunks.retain(|c| {
                c.max_time >= self.mint
                    && c.min_time <= self.maxt
                    && !deleted
                        .iter()
                        .any(|iv| iv.mint <= c.min_time && c.max_time <= iv.maxt)
            });
            if chunks.is_empty() {
                continue;
            }
            if let Some(left) = &mut self.left {
                *left -= 1;
            }
            return Some(Ok(Box::new(BlockSeries {
                starts: self.inner.starts.get(&r).cloned(),
                inner: Arc::clone(&self.inner),
                labels,
                chunks,
                mint: self.mint,
                maxt: self.maxt,
                deleted,
            })));
        }
        None
    }
}

impl SeriesSet for BlockSeriesSet {}

/// One series of a block, clipped to the querier's range.
struct BlockSeries {
    inner: Arc<Inner>,
    labels: Labels,
    chunks: Vec<ChunkMeta>,
    mint: Timestamp,
    maxt: Timestamp,
    deleted: Vec<Interval>,
    /// Start timestamp runs, when the series has any.
    starts: Option<Arc<Runs>>,
}

impl Series for BlockSeries {
    fn labels(&self) -> &Labels {
        &self.labels
    }

    fn iter(&self) -> Box<dyn SampleIterator + '_> {
        Box::new(BlockSeriesIterator {
            s: self,
            next_chunk: 0,
            cur: None,
            vt: ValueType::None,
            err: None,
        })
    }
}

/// Iterates the samples of a [`BlockSeries`] chunk after chunk.
struct BlockSeriesIterator<'a> {
    s: &'a BlockSeries,
    next_chunk: usize,
    cur: Option<Box<dyn SampleIterator + 'a>>,
    vt: ValueType,
    err: Option<StorageError>,
}

impl<'a> BlockSeriesIterator<'a> {
    /// Opens the next chunk; false when there is none (or on error).
    fn open_next_chunk(&mut self) -> bool {
        let Some(meta) = self.s.chunks.get(self.next_chunk) else {
            return false;
        };
        self.next_chunk += 1;
        let s: &'a BlockSeries = self.s;
        let opened = s
            .inner
            .chunks
            .chunk(meta.r#ref)
            .and_then(|(enc, data)| chunkenc::iterator(enc, data));
        match opened {
            Ok(it) => {
                self.cur = Some(it);
                true
            }
            Err(e) => {
                self.err = Some(e.into());
                false
            }
        }
    }

    fn finish(&mut self) -> ValueType {
        self.cur = None;
        self.next_chunk = self.s.chunks.len();
        self.vt = ValueType::None;
        ValueType::None
    }

    /// Notes the current chunk's decoding error, if it ended on one.
    fn chunk_failed(&mut self) -> bool {
        let Some(e) = self.cur.as_ref().and_then(|c| c.err()) else {
            return false;
        };
        self.err = Some(StorageError::Corruption {
            file: self.s.inner.dir.display().to_string(),
            reason: format!("series {}: {e}", self.s.labels),
        });
        true
    }
}

impl SampleIterator for BlockSeriesIterator<'_> {
    fn next(&mut self) -> ValueType {
        if self.err.is_some() {
            return ValueType::None;
        }
        loop {
            let Some(cur) = self.cur.as_mut() else {
                if !self.open_next_chunk() {
                    return self.finish();
                }
                continue;
            };
            match cur.next() {
                ValueType::None => {
                    if self.chunk_failed() {
                        return self.finish();
                    }
                    self.cur = None;
                }
                vt => {
                    let t = cur.at_t();
                    if t < self.s.mint || is_deleted(t, &self.s.deleted) {
                        continue;
                    }
                    if t > self.s.maxt {
                        return self.finish();
                    }
                    self.vt = vt;
                    return vt;
                }
            }
        }
    }

    fn seek(&mut self, t: Timestamp) -> ValueType {
        if self.vt != ValueType::None && self.at_t() >= t {
            return self.vt;
        }
        if self.vt == ValueType::None
            && self.cur.is_none()
            && self.next_chunk >= self.s.chunks.len()
        {
            return ValueType::None;
        }
        // Skip whole chunks that end before t.
        let cur_ends_before = self.cur.is_none()
            || self.next_chunk == 0
            || self.s.chunks[self.next_chunk - 1].max_time < t;
        if cur_ends_before {
            while self.next_chunk < self.s.chunks.len()
                && self.s.chunks[self.next_chunk].max_time < t
            {
                self.next_chunk += 1;
            }
            self.cur = None;
        }
        if !self.s.deleted.is_empty() {
            loop {
                let vt = self.next();
                if vt == ValueType::None || self.at_t() >= t {
                    return vt;
                }
            }
        }
        // Within a chunk, its decoder seeks (no calls through this iterator per sample).
        let t = t.max(self.s.mint);
        loop {
            let Some(cur) = self.cur.as_mut() else {
                if !self.open_next_chunk() {
                    return self.finish();
                }
                continue;
            };
            let vt = cur.seek(t);
            if vt == ValueType::None {
                if self.chunk_failed() {
                    return self.finish();
                }
                self.cur = None;
                continue;
            }
            if cur.at_t() > self.s.maxt {
                return self.finish();
            }
            self.vt = vt;
            return vt;
        }
    }

    fn current(&self) -> ValueType {
        self.vt
    }

    fn at(&self) -> (Timestamp, f64) {
        self.cur.as_ref().map_or((0, 0.0), |c| c.at())
    }

    fn at_histogram(&self) -> (Timestamp, model::Histogram) {
        self.cur
            .as_ref()
            .map_or_else(|| (0, model::Histogram::default()), |c| c.at_histogram())
    }

    fn at_float_histogram(&self) -> (Timestamp, model::FloatHistogram) {
        self.cur.as_ref().map_or_else(
            || (0, model::FloatHistogram::default()),
            |c| c.at_float_histogram(),
        )
    }

    fn at_t(&self) -> Timestamp {
        self.cur.as_ref().map_or(0, |c| c.at_t())
    }

    fn at_st(&self) -> Timestamp {
        self.s
            .starts
            .as_deref()
            .map_or(0, |runs| start_at(runs, self.at_t()))
    }

    fn err(&self) -> Option<&StorageError> {
        self.err.as_ref()
    }

    /// Whole runs of a chunk in one call to its decoder, when the series has no deleted
    /// intervals (which cut runs) and no start timestamps (which are read per sample).
    fn read_floats(&mut self, maxt: Timestamp, out: &mut FloatBatch) -> ValueType {
        if self.err.is_some() || !self.s.deleted.is_empty() || self.s.starts.is_some() {
            return storage::read_floats_one_by_one(self, maxt, out);
        }
        if self.vt == ValueType::None {
            // Not started yet (`next` clips to the querier's range), or ended.
            let vt = self.next();
            if vt != ValueType::Float || self.at_t() > maxt {
                return vt;
            }
            out.push_current(self);
        }
        let upto = maxt.min(self.s.maxt);
        loop {
            let Some(cur) = self.cur.as_mut() else {
                if !self.open_next_chunk() {
                    return self.finish();
                }
                if self.s.chunks[self.next_chunk - 1].min_time < self.s.mint {
                    // A chunk reaching back before the range (chunks that overlap): `next`
                    // clips it.
                    return storage::read_floats_one_by_one(self, maxt, out);
                }
                continue;
            };
            let vt = cur.read_floats(upto, out);
            if vt == ValueType::None {
                if self.chunk_failed() {
                    return self.finish();
                }
                self.cur = None;
                continue;
            }
            if cur.at_t() > self.s.maxt {
                return self.finish();
            }
            self.vt = vt;
            return vt;
        }
    }
}
