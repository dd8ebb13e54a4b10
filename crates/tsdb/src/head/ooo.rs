//! Out-of-order samples in the head, as Prometheus 2.42 keeps them: samples older than the
//! head's newest but within `out_of_order_time_window` go to a small per-series sorted
//! buffer (the OOO head chunk); when it holds `out_of_order_cap_max` samples it is encoded
//! as an XOR chunk and written to `chunks_head/` with the out-of-order flag. The samples are
//! logged in the write-behind log (`wbl/`, WAL segment format) together with mmap markers
//! that say when a series' buffer went to disk. Queries merge them with in-order data; head
//! compaction writes them into (possibly overlapping) blocks.

use std::path::Path;
use std::sync::Arc;

use model::{Labels, Matcher, Sample};
use parking_lot::Mutex;
use storage::{
    LabelHints, ListSeries, Querier, SampleIterator, SelectHints, Series, SeriesSet, StorageError,
    VecSeriesSet,
};

use crate::block::{BlockMetaCompaction, BlockReader, BlockWriter};
use crate::chunkenc::Encoding;
use crate::chunkenc::XorChunk;
use crate::chunks::{HeadChunkFiles, HeadChunkRef};
use crate::error::TsdbError;
use crate::head::Head;
use crate::head::chunk::{ChunkInfo, ChunkLoc, FullChunk, range_for_timestamp};

/// Prometheus's default `out_of_order_cap_max`: samples per OOO head chunk.
pub const DEFAULT_OOO_CAP_MAX: usize = 32;

/// The out-of-order data of one series.
#[derive(Debug, Default, Clone)]
pub struct OooState {
    /// The OOO head chunk: samples sorted by timestamp, no two with the same timestamp.
    pub head: Vec<(i64, f64)>,
    /// Full OOO chunks (in `chunks_head/` when the head has files), in the order written.
    pub chunks: Vec<FullChunk>,
}

/// What [`OooState::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inserted {
    /// A sample with the same timestamp is in the OOO head chunk: dropped.
    Duplicate,
    /// Inserted.
    Ok,
    /// Inserted after the full OOO head chunk went to disk under this reference.
    Mmapped(HeadChunkRef),
}

fn encode(samples: &[(i64, f64)]) -> Result<XorChunk, TsdbError> {
    let mut c = XorChunk::new();
    for &(t, v) in samples {
        c.append(t, v)?;
    }
    Ok(c)
}

impl OooState {
    /// Inserts `(t, v)`; when the OOO head chunk already holds `cap` samples it is written
    /// out first (to `files` with the out-of-order flag, else kept in memory).
    pub fn insert(
        &mut self,
        series: u64,
        t: i64,
        v: f64,
        cap: usize,
        files: Option<&Mutex<HeadChunkFiles>>,
    ) -> Inserted {
        let Err(pos) = self.head.binary_search_by_key(&t, |s| s.0) else {
            return Inserted::Duplicate;
        };
        let mut res = Inserted::Ok;
        if self.head.len() >= cap.max(1) {
            let samples = std::mem::take(&mut self.head);
            let (min_t, max_t) = (samples[0].0, samples[samples.len() - 1].0);
            match encode(&samples) {
                Ok(mut c) => {
                    let info = ChunkInfo {
                        encoding: Encoding::Xor,
                        num_samples: samples.len() as u16,
                    };
                    let loc = match files.map(|f| {
                        f.lock()
                            .write_ooo_chunk(series, min_t, max_t, Encoding::Xor, c.bytes())
                    }) {
                        Some(Ok(r)) => {
                            res = Inserted::Mmapped(r);
                            ChunkLoc::Disk(info, r)
                        }
                        other => {
                            if let Some(Err(e)) = other {
                                tracing::warn!(error = %e, series, "writing OOO chunk; keeping it in memory");
                            }
                            c.compact();
                            ChunkLoc::Mem(info, Arc::new(c.into_bytes().into()))
                        }
                    };
                    self.chunks.push(FullChunk::new(min_t, max_t, loc));
                }
                Err(e) => tracing::warn!(error = %e, series, "encoding OOO chunk; samples dropped"),
            }
            self.head.push((t, v));
            return res;
        }
        self.head.insert(pos, (t, v));
        res
    }

    /// The samples in `[mint, maxt]`, sorted, one per timestamp.
    ///
    /// # Errors
    /// A chunk on disk that cannot be read.
    pub fn samples(
        &self,
        mint: i64,
        maxt: i64,
        files: Option<&Mutex<HeadChunkFiles>>,
    ) -> Result<Vec<(i64, f64)>, TsdbError> {
        let mut out: Vec<(i64, f64)> = Vec::new();
        for c in self
            .chunks
            .iter()
            .filter(|c| c.max_t >= mint && c.min_t <= maxt)
        {
            let bytes = c.bytes(files)?;
            let x = XorChunk::from_bytes(bytes.to_vec())?;
            let mut it = x.iter();
            while it.next() == storage::ValueType::Float {
                let (t, v) = it.at();
                if (mint..=maxt).contains(&t) {
                    out.push((t, v));
                }
            }
        }
        out.extend(self.head.iter().filter(|s| (mint..=maxt).contains(&s.0)));
        out.sort_by_key(|s| s.0);
        out.dedup_by_key(|s| s.0);
        Ok(out)
    }

    /// Whether the series holds no out-of-order samples.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.head.is_empty() && self.chunks.is_empty()
    }
}

/// Reads the out-of-order samples of the head over a time range; merged with the in-order
/// queriers by the database.
#[derive(Debug)]
pub struct OooQuerier {
    head: Arc<Head>,
    mint: i64,
    maxt: i64,
}

impl OooQuerier {
    /// A querier over `[mint, maxt]`.
    #[must_use]
    pub fn new(head: Arc<Head>, mint: i64, maxt: i64) -> Self {
        Self { head, mint, maxt }
    }

    fn series(&self, matchers: &[Matcher]) -> Result<Vec<ListSeries>, TsdbError> {
        let ids = self.head.postings.read().for_matchers(matchers);
        let _no_truncation = self.head.truncation.read();
        let mut taken: Vec<(Labels, OooState)> = Vec::new();
        {
            let _iso = self.head.isolation.write();
            for id in ids {
                let Some(s) = self.head.series_by_id(id) else {
                    continue;
                };
                let st = s.state.lock();
                if let Some(o) = st.ooo()
                    && !o.is_empty()
                {
                    taken.push((s.labels.clone(), o.clone()));
                }
            }
        }
        let files = self.head.chunk_files.as_ref();
        let mut out = Vec::new();
        for (labels, o) in taken {
            let samples = o.samples(self.mint, self.maxt, files)?;
            if !samples.is_empty() {
                out.push(ListSeries::new(
                    labels,
                    samples
                        .into_iter()
                        .map(|(t, v)| (t, Sample::Float(v)))
                        .collect(),
                ));
            }
        }
        out.sort_by(|a, b| a.labels().cmp(b.labels()));
        Ok(out)
    }
}

impl Querier for OooQuerier {
    fn select(
        &self,
        _sorted: bool,
        _hints: Option<&SelectHints>,
        matchers: &[Matcher],
    ) -> Result<Box<dyn SeriesSet>, StorageError> {
        let series = self.series(matchers).map_err(StorageError::from)?;
        Ok(Box::new(VecSeriesSet::new(
            series
                .into_iter()
                .map(|s| Box::new(s) as Box<dyn Series>)
                .collect(),
        )))
    }

    fn label_values(
        &self,
        _name: &str,
        _hints: Option<&LabelHints>,
        _matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        // Every series with out-of-order samples is in the head's postings, which the
        // in-order head querier already answers from.
        Ok(Vec::new())
    }

    fn label_names(
        &self,
        _hints: Option<&LabelHints>,
        _matchers: &[Matcher],
    ) -> Result<Vec<String>, StorageError> {
        Ok(Vec::new())
    }
}

/// A series' labels and samples, for a block.
type SeriesSamples = (Labels, Vec<(i64, Sample)>);

/// Writes every out-of-order sample of the head into blocks (one per chunk range they fall
/// in; they may overlap existing blocks), empties the series' OOO state and deletes the
/// write-behind log segments before the one started here, as Prometheus's
/// `compactOOOHead`. Returns the new blocks, each with `thanos` as its Thanos section.
///
/// # Errors
/// I/O errors.
pub fn compact_ooo_head(
    dir: &Path,
    head: &Arc<Head>,
    thanos: Option<&crate::block::ThanosMeta>,
) -> Result<Vec<BlockReader>, TsdbError> {
    let new_segment = match head.wbl.get() {
        Some(w) => Some(w.lock().next_segment()?),
        None => None,
    };
    let files = head.chunk_files.as_ref();
    let mut taken: Vec<(Labels, OooState)> = Vec::new();
    {
        let _no_truncation = head.truncation.read();
        let _iso = head.isolation.write();
        head.series.for_each(|s| {
            let mut st = s.state.lock();
            if st.ooo().is_some_and(|o| !o.is_empty()) {
                let o = st.take_ooo().expect("checked");
                taken.push((s.labels.clone(), o));
            }
        });
    }
    let mut by_range: std::collections::BTreeMap<i64, Vec<SeriesSamples>> =
        std::collections::BTreeMap::new();
    for (labels, o) in taken {
        let samples = o.samples(i64::MIN, i64::MAX, files)?;
        let range = head.options().chunk_range;
        let mut cur: Option<(i64, Vec<(i64, Sample)>)> = None;
        for (t, v) in samples {
            let start = range_for_timestamp(t, range) - range;
            if cur.as_ref().is_some_and(|c| c.0 != start)
                && let Some((s, v)) = cur.take()
            {
                by_range.entry(s).or_default().push((labels.clone(), v));
            }
            cur.get_or_insert_with(|| (start, Vec::new()))
                .1
                .push((t, Sample::Float(v)));
        }
        if let Some((s, v)) = cur {
            by_range.entry(s).or_default().push((labels, v));
        }
    }
    let mut blocks = Vec::new();
    for (start, mut series) in by_range {
        series.sort_by(|a, b| a.0.cmp(&b.0));
        let range = head.options().chunk_range;
        let mut w = BlockWriter::new(dir)
            .with_time_range(start, start + range)
            .with_thanos(thanos.cloned());
        let ulid = w.ulid();
        w = w.with_compaction(BlockMetaCompaction {
            level: 1,
            sources: vec![ulid],
            ..BlockMetaCompaction::default()
        });
        for (labels, samples) in series {
            w.add_series_samples(labels, &samples)?;
        }
        let meta = w.write()?;
        tracing::info!(ulid = %meta.ulid, mint = start, maxt = start + range, "out-of-order head compacted into a block");
        blocks.push(BlockReader::open(dir.join(meta.ulid.to_string()))?);
    }
    if let (Some(w), Some(seg)) = (head.wbl.get(), new_segment) {
        w.lock().truncate(seg)?;
    }
    Ok(blocks)
}
