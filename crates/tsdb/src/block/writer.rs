//! Writes a complete block directory (chunks, index, tombstones, meta.json) atomically from
//! series given in any order (imports, tests): sorts them, then writes them through a
//! [`StreamWriter`]. Compaction uses the [`StreamWriter`] directly.

use std::collections::BTreeSet;
use std::path::PathBuf;

use model::{Labels, Sample, Timestamp};

use super::meta::{BlockMeta, BlockMetaCompaction, ThanosMeta, Ulid};
use super::stream::StreamWriter;
use crate::chunkenc::{
    CounterResetHeader, Encoding, FloatHistogramChunk, HistogramAppend, HistogramChunk,
    SAMPLES_PER_CHUNK, XorChunk,
};
use crate::chunks::ChunkMeta;
use crate::error::TsdbError;
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
    thanos: Option<ThanosMeta>,
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
            thanos: None,
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

    /// Sets the `thanos` section of the block's `meta.json`.
    #[must_use]
    pub fn with_thanos(mut self, thanos: Option<ThanosMeta>) -> Self {
        self.thanos = thanos;
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
        let chunks = encode_samples(&labels, samples, self.samples_per_chunk)?;
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
        let symbols: BTreeSet<&str> = self
            .series
            .iter()
            .flat_map(|(l, _)| l.iter().flat_map(|l| [l.name, l.value]))
            .collect();
        let mut w = StreamWriter::create(&self.parent, self.ulid, symbols)?;
        w.set_thanos(self.thanos.take());
        let mut metas = Vec::new();
        for (labels, chunks) in &self.series {
            metas.clear();
            for c in chunks {
                let (enc, data) = c.chunk.as_ref().expect("checked in add_series_chunks");
                metas.push(w.write_chunk(*enc, data, c.min_time, c.max_time)?);
            }
            w.add_series(labels, &metas)?;
        }
        let compaction = self
            .compaction
            .clone()
            .unwrap_or_else(|| BlockMetaCompaction {
                level: 1,
                sources: vec![self.ulid],
                ..Default::default()
            });
        w.finish(self.range, compaction, &self.tombstones)
    }
}

/// Encodes samples of any kind, sorted by strictly increasing timestamp, into chunks (with
/// their bytes): floats into XOR chunks of `samples_per_chunk`, integer and float histograms
/// into (float) histogram chunks cut on layout changes and counter resets, as Prometheus's
/// head does.
///
/// # Errors
/// [`TsdbError::Chunk`] for inconsistent histograms.
pub(crate) fn encode_samples(
    labels: &Labels,
    samples: &[(Timestamp, Sample)],
    samples_per_chunk: usize,
) -> Result<Vec<ChunkMeta>, TsdbError> {
    let mut chunks: Vec<ChunkMeta> = Vec::new();
    let mut open: Option<OpenChunk> = None;
    for (t, sample) in samples {
        let t = *t;
        match sample {
            Sample::Float(v) => {
                let full = match &open {
                    Some(OpenChunk(Open::Xor(c), ..)) => c.num_samples() >= samples_per_chunk,
                    _ => true,
                };
                if full {
                    close(open.take(), &mut chunks);
                    open = Some(OpenChunk(Open::Xor(XorChunk::new()), t, t));
                }
                if let Some(OpenChunk(Open::Xor(c), _, maxt)) = &mut open {
                    c.append(t, *v)?;
                    *maxt = t;
                }
            }
            Sample::Histogram(h) => {
                append_histogram::<HistogramChunk>(&mut open, &mut chunks, t, h, samples_per_chunk)
                    .map_err(|e| e.in_series(labels, t))?;
            }
            Sample::FloatHistogram(h) => {
                append_histogram::<FloatHistogramChunk>(
                    &mut open,
                    &mut chunks,
                    t,
                    h,
                    samples_per_chunk,
                )
                .map_err(|e| e.in_series(labels, t))?;
            }
        }
    }
    close(open, &mut chunks);
    Ok(chunks)
}

/// The chunk being filled by [`encode_samples`], with its first and last timestamps.
struct OpenChunk(Open, Timestamp, Timestamp);

enum Open {
    Xor(XorChunk),
    Hist(Box<HistogramChunk>),
    FHist(Box<FloatHistogramChunk>),
}

/// Ends the open chunk, if any, as the next of `chunks`.
fn close(open: Option<OpenChunk>, chunks: &mut Vec<ChunkMeta>) {
    if let Some(OpenChunk(c, mint, maxt)) = open {
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
}

/// An integer or float histogram chunk, for [`append_histogram`].
trait HistogramKind: Sized {
    type Value;
    const NAME: &'static str;
    fn fresh(header: CounterResetHeader) -> Self;
    fn len(&self) -> usize;
    fn push(&mut self, t: Timestamp, h: &Self::Value) -> Result<HistogramAppend, TsdbError>;
    fn open(self) -> Open;
    fn of(open: &mut Open) -> Option<&mut Self>;
}

/// Implements [`HistogramKind`] for a chunk type, its sample type, its name in errors and
/// its [`Open`] variant.
macro_rules! histogram_kind {
    ($chunk:ty, $value:ty, $name:literal, $variant:ident) => {
        impl HistogramKind for $chunk {
            type Value = $value;
            const NAME: &'static str = $name;
            fn fresh(header: CounterResetHeader) -> Self {
                Self::new(header)
            }
            fn len(&self) -> usize {
                self.num_samples()
            }
            fn push(&mut self, t: Timestamp, h: &$value) -> Result<HistogramAppend, TsdbError> {
                self.append(t, h)
            }
            fn open(self) -> Open {
                Open::$variant(Box::new(self))
            }
            fn of(open: &mut Open) -> Option<&mut Self> {
                match open {
                    Open::$variant(c) => Some(c),
                    _ => None,
                }
            }
        }
    };
}

histogram_kind!(HistogramChunk, model::Histogram, "histogram", Hist);
histogram_kind!(
    FloatHistogramChunk,
    model::FloatHistogram,
    "float histogram",
    FHist
);

/// Appends histogram `h` at `t` to the open chunk when it is of kind `C`, has room and
/// takes it; else closes it and starts a new one (with the counter reset header the refusal
/// named).
fn append_histogram<C: HistogramKind>(
    open: &mut Option<OpenChunk>,
    chunks: &mut Vec<ChunkMeta>,
    t: Timestamp,
    h: &C::Value,
    samples_per_chunk: usize,
) -> Result<(), HistogramError> {
    let mut header = CounterResetHeader::Unknown;
    if let Some(OpenChunk(o, _, maxt)) = open
        && let Some(c) = C::of(o)
        && c.len() < samples_per_chunk
    {
        match c.push(t, h)? {
            HistogramAppend::Appended => {
                *maxt = t;
                return Ok(());
            }
            HistogramAppend::NewChunk(next) => header = next,
        }
    }
    close(open.take(), chunks);
    let mut c = C::fresh(header);
    if c.push(t, h)? != HistogramAppend::Appended {
        return Err(HistogramError::DoesNotFit(C::NAME));
    }
    *open = Some(OpenChunk(c.open(), t, t));
    Ok(())
}

/// Why [`append_histogram`] failed, before the series is known.
enum HistogramError {
    Chunk(TsdbError),
    DoesNotFit(&'static str),
}

impl From<TsdbError> for HistogramError {
    fn from(e: TsdbError) -> Self {
        Self::Chunk(e)
    }
}

impl HistogramError {
    fn in_series(self, labels: &Labels, t: Timestamp) -> TsdbError {
        match self {
            Self::Chunk(e) => e,
            Self::DoesNotFit(kind) => TsdbError::Chunk(format!(
                "series {labels}: {kind} at {t} does not fit a new chunk"
            )),
        }
    }
}
