//! Writes a complete block directory (chunks, index, tombstones, meta.json) atomically: into
//! `<ulid>.tmp-for-creation`, then renamed to `<ulid>`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use model::{Labels, Sample, Timestamp};

use super::meta::{BlockMeta, BlockMetaCompaction, BlockStats, Ulid};
use crate::chunkenc::{
    CounterResetHeader, Encoding, FloatHistogramChunk, HistogramAppend, HistogramChunk,
    SAMPLES_PER_CHUNK, XorChunk,
};
use crate::chunks::{ChunkMeta, SegmentWriter, sync_dir};
use crate::error::TsdbError;
use crate::index::IndexWriter;
use crate::tombstones::Tombstones;

/// Suffix of a block directory being written.
pub const TMP_FOR_CREATION_SUFFIX: &str = ".tmp-for-creation";

/// Collects series and writes them as one block.
pub struct BlockWriter {
    parent: PathBuf,
    ulid: Ulid,
    series: Vec<(Labels, Vec<ChunkMeta>)>,
    range: Option<(Timestamp, Timestamp)>,
    compaction: Option<BlockMetaCompaction>,
    tombstones: Tombstones,
    samples_per_chunk: usize,
}

impl BlockWriter {
    /// A writer of a new block under `parent` (the data directory).
    #[must_use]
    pub fn new(parent: impl Into<PathBuf>) -> Self {
        Self {
            parent: parent.into(),
            ulid: Ulid::new(),
            series: Vec::new(),
            range: None,
            compaction: None,
            tombstones: Tombstones::new(),
            samples_per_chunk: SAMPLES_PER_CHUNK,
        }
    }

    /// Uses `ulid` instead of a fresh one.
    #[must_use]
    pub fn with_ulid(mut self, ulid: Ulid) -> Self {
        self.ulid = ulid;
        self
    }

    /// Sets the block's time range `[mint, maxt)` instead of deriving it from the samples
    /// (first sample, last sample + 1).
    #[must_use]
    pub fn with_time_range(mut self, mint: Timestamp, maxt: Timestamp) -> Self {
        self.range = Some((mint, maxt));
        self
    }

    /// Sets the compaction metadata (default: level 1, sources = this block).
    #[must_use]
    pub fn with_compaction(mut self, c: BlockMetaCompaction) -> Self {
        self.compaction = Some(c);
        self
    }

    /// Sets the tombstones written with the block (series references of the new index).
    #[must_use]
    pub fn with_tombstones(mut self, t: Tombstones) -> Self {
        self.tombstones = t;
        self
    }

    /// Cuts float chunks every `n` samples instead of 120 (for tests).
    #[must_use]
    pub fn with_samples_per_chunk(mut self, n: usize) -> Self {
        self.samples_per_chunk = n.clamp(1, usize::from(u16::MAX));
        self
    }

    /// The ULID the block will have.
    #[must_use]
    pub fn ulid(&self) -> Ulid {
        self.ulid
    }

    /// Adds a series with float samples sorted by strictly increasing timestamp; they are cut
    /// into XOR chunks. Series without samples are skipped.
    ///
    /// # Errors
    /// [`TsdbError::OutOfOrder`] for unsorted or duplicate timestamps.
    pub fn add_series(
        &mut self,
        labels: Labels,
        samples: &[(Timestamp, f64)],
    ) -> Result<(), TsdbError> {
        if let Some(w) = samples.windows(2).find(|w| w[1].0 <= w[0].0) {
            return Err(TsdbError::OutOfOrder(format!(
                "series {labels}: sample at {} after sample at {}",
                w[1].0, w[0].0
            )));
        }
        let mut chunks = Vec::with_capacity(samples.len().div_ceil(self.samples_per_chunk));
        for part in samples.chunks(self.samples_per_chunk) {
            let mut c = XorChunk::new();
            for &(t, v) in part {
                c.append(t, v)?;
            }
            chunks.push(ChunkMeta {
                r#ref: 0,
                min_time: part[0].0,
                max_time: part[part.len() - 1].0,
                chunk: Some((Encoding::Xor, c.into_bytes())),
            });
        }
        self.add_series_chunks(labels, chunks)
    }

    /// Adds a series with samples of any kind sorted by strictly increasing timestamp: floats
    /// go to XOR chunks, integer and float histograms to (float) histogram chunks (cut on
    /// layout changes and counter resets, as Prometheus's head does).
    ///
    /// # Errors
    /// [`TsdbError::OutOfOrder`] for unsorted timestamps, [`TsdbError::Chunk`] for
    /// inconsistent histograms.
    pub fn add_series_samples(
        &mut self,
        labels: Labels,
        samples: &[(Timestamp, Sample)],
    ) -> Result<(), TsdbError> {
        if let Some(w) = samples.windows(2).find(|w| w[1].0 <= w[0].0) {
            return Err(TsdbError::OutOfOrder(format!(
                "series {labels}: sample at {} after sample at {}",
                w[1].0, w[0].0
            )));
        }
        enum Open {
            Xor(XorChunk),
            Hist(Box<HistogramChunk>),
            FHist(Box<FloatHistogramChunk>),
        }
        let mut chunks: Vec<ChunkMeta> = Vec::new();
        let mut open: Option<(Open, Timestamp, Timestamp)> = None;
        let close = |open: Option<(Open, Timestamp, Timestamp)>, chunks: &mut Vec<ChunkMeta>| {
            if let Some((c, mint, maxt)) = open {
                let chunk = match c {
                    Open::Xor(c) => (Encoding::Xor, c.into_bytes()),
                    Open::Hist(c) => (Encoding::Histogram, c.into_bytes()),
                    Open::FHist(c) => (Encoding::FloatHistogram, c.into_bytes()),
                };
                chunks.push(ChunkMeta {
                    r#ref: 0,
                    min_time: mint,
                    max_time: maxt,
                    chunk: Some(chunk),
                });
            }
        };
        for (t, sample) in samples {
            let t = *t;
            match sample {
                Sample::Float(v) => {
                    let full = match &open {
                        Some((Open::Xor(c), ..)) => c.num_samples() >= self.samples_per_chunk,
                        _ => true,
                    };
                    if full {
                        close(open.take(), &mut chunks);
                        open = Some((Open::Xor(XorChunk::new()), t, t));
                    }
                    if let Some((Open::Xor(c), _, maxt)) = &mut open {
                        c.append(t, *v)?;
                        *maxt = t;
                    }
                }
                Sample::Histogram(h) => {
                    let mut header = CounterResetHeader::Unknown;
                    if let Some((Open::Hist(c), _, maxt)) = &mut open
                        && c.num_samples() < self.samples_per_chunk
                    {
                        match c.append(t, h)? {
                            HistogramAppend::Appended => {
                                *maxt = t;
                                continue;
                            }
                            HistogramAppend::NewChunk(next) => header = next,
                        }
                    }
                    close(open.take(), &mut chunks);
                    let mut c = HistogramChunk::new(header);
                    if c.append(t, h)? != HistogramAppend::Appended {
                        return Err(TsdbError::Chunk(format!(
                            "series {labels}: histogram at {t} does not fit a new chunk"
                        )));
                    }
                    open = Some((Open::Hist(Box::new(c)), t, t));
                }
                Sample::FloatHistogram(h) => {
                    let mut header = CounterResetHeader::Unknown;
                    if let Some((Open::FHist(c), _, maxt)) = &mut open
                        && c.num_samples() < self.samples_per_chunk
                    {
                        match c.append(t, h)? {
                            HistogramAppend::Appended => {
                                *maxt = t;
                                continue;
                            }
                            HistogramAppend::NewChunk(next) => header = next,
                        }
                    }
                    close(open.take(), &mut chunks);
                    let mut c = FloatHistogramChunk::new(header);
                    if c.append(t, h)? != HistogramAppend::Appended {
                        return Err(TsdbError::Chunk(format!(
                            "series {labels}: float histogram at {t} does not fit a new chunk"
                        )));
                    }
                    open = Some((Open::FHist(Box::new(c)), t, t));
                }
            }
        }
        close(open, &mut chunks);
        self.add_series_chunks(labels, chunks)
    }

    /// Adds a series with encoded chunks (each `ChunkMeta::chunk` must hold its bytes), in time
    /// order. Series without chunks are skipped.
    ///
    /// # Errors
    /// [`TsdbError::Chunk`] when a chunk's bytes are missing.
    pub fn add_series_chunks(
        &mut self,
        labels: Labels,
        chunks: Vec<ChunkMeta>,
    ) -> Result<(), TsdbError> {
        if chunks.iter().any(|c| c.chunk.is_none()) {
            return Err(TsdbError::Chunk(format!(
                "series {labels}: chunk without data"
            )));
        }
        if !chunks.is_empty() {
            self.series.push((labels, chunks));
        }
        Ok(())
    }

    /// Writes the block and returns its metadata; the block directory is `parent/<ulid>`.
    ///
    /// # Errors
    /// Duplicate series, I/O failures. Nothing is left behind under the final name on error.
    pub fn write(mut self) -> Result<BlockMeta, TsdbError> {
        self.series.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(w) = self.series.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(TsdbError::OutOfOrder(format!(
                "duplicate series {}",
                w[0].0
            )));
        }
        let name = self.ulid.to_string();
        let tmp = self.parent.join(format!("{name}{TMP_FOR_CREATION_SUFFIX}"));
        let dst = self.parent.join(&name);
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| TsdbError::io("remove", &tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| TsdbError::io("create dir", &tmp, e))?;
        let result = self.write_into(&tmp);
        let meta = match result {
            Ok(m) => m,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(e);
            }
        };
        sync_dir(&tmp)?;
        std::fs::rename(&tmp, &dst).map_err(|e| TsdbError::io("rename", &tmp, e))?;
        sync_dir(&self.parent)?;
        Ok(meta)
    }

    fn write_into(&mut self, dir: &Path) -> Result<BlockMeta, TsdbError> {
        let mut stats = BlockStats::default();
        let (mut mint, mut maxt) = (Timestamp::MAX, Timestamp::MIN);
        let mut cw = SegmentWriter::new(dir.join("chunks"))?;
        let mut symbols = BTreeSet::new();
        for (labels, chunks) in &mut self.series {
            for l in labels.iter() {
                symbols.insert(l.name.to_owned());
                symbols.insert(l.value.to_owned());
            }
            stats.num_series += 1;
            for c in chunks.iter_mut() {
                let (enc, data) = c.chunk.take().expect("checked in add_series_chunks");
                c.r#ref = cw.write_chunk(enc, &data)?;
                let n = data
                    .get(..2)
                    .map_or(0, |b| u64::from(u16::from_be_bytes([b[0], b[1]])));
                stats.num_chunks += 1;
                stats.num_samples += n;
                mint = mint.min(c.min_time);
                maxt = maxt.max(c.max_time);
            }
        }
        cw.close()?;

        let mut iw = IndexWriter::create(dir.join("index"))?;
        for s in &symbols {
            iw.add_symbol(s)?;
        }
        for (labels, chunks) in &self.series {
            iw.add_series(labels, chunks)?;
        }
        iw.close()?;

        stats.num_tombstones = self.tombstones.num_intervals() as u64;
        self.tombstones.write(dir)?;

        let (min_time, max_time) = match self.range {
            Some(r) => r,
            None if self.series.is_empty() => (0, 0),
            None => (mint, maxt.saturating_add(1)),
        };
        let compaction = self
            .compaction
            .clone()
            .unwrap_or_else(|| BlockMetaCompaction {
                level: 1,
                sources: vec![self.ulid],
                ..Default::default()
            });
        let meta = BlockMeta {
            ulid: self.ulid,
            min_time,
            max_time,
            stats,
            compaction,
            version: 1,
        };
        meta.write(dir)?;
        Ok(meta)
    }
}
