//! The chunks of a head series: the open chunk being appended to, the full chunks behind it,
//! and when to cut a new chunk (Prometheus's rule: about 120 samples, never across a
//! chunk-range boundary, at most 240).

use std::sync::Arc;

use parking_lot::Mutex;

use model::{FloatHistogram, Histogram, Sample};
use storage::ValueType;

use crate::chunkenc::{
    CounterResetHeader, Encoding, FloatHistogramChunk, HistogramAppend, HistogramChunk, XorChunk,
};
use crate::chunks::{HeadChunkFiles, HeadChunkRef};
use crate::error::TsdbError;

/// Samples a chunk aims for.
pub const SAMPLES_PER_CHUNK: usize = 120;

/// The end of the chunk range (block) holding `t`: chunks never span it.
#[must_use]
pub fn range_for_timestamp(t: i64, width: i64) -> i64 {
    (t / width) * width + width
}

/// When a chunk holding samples from `start` to `cur` (a quarter of [`SAMPLES_PER_CHUNK`])
/// should end so the rest of the range up to `max` splits into equally full chunks.
#[must_use]
pub fn compute_chunk_end_time(start: i64, cur: i64, max: i64) -> i64 {
    let n = (max - start) / ((cur - start + 1) * 4);
    if n <= 1 {
        return max;
    }
    start + (max - start) / n
}

/// A sample value the head stores: a float or an integer native histogram.
#[derive(Debug, Clone, PartialEq)]
pub enum HeadValue {
    /// A float (bit-exact: staleness markers included).
    Float(f64),
    /// An integer native histogram.
    Histogram(Arc<Histogram>),
    /// A float native histogram.
    FloatHistogram(Arc<FloatHistogram>),
}

impl HeadValue {
    /// Whether `self` and `other` are the same sample value (floats compared bit for bit).
    #[must_use]
    pub fn same(&self, other: &HeadValue) -> bool {
        match (self, other) {
            (HeadValue::Float(a), HeadValue::Float(b)) => a.to_bits() == b.to_bits(),
            (HeadValue::Histogram(a), HeadValue::Histogram(b)) => a == b,
            (HeadValue::FloatHistogram(a), HeadValue::FloatHistogram(b)) => a == b,
            _ => false,
        }
    }

    /// As a storage sample.
    #[must_use]
    pub fn to_sample(&self) -> Sample {
        match self {
            HeadValue::Float(v) => Sample::Float(*v),
            HeadValue::Histogram(h) => Sample::Histogram(h.clone()),
            HeadValue::FloatHistogram(h) => Sample::FloatHistogram(h.clone()),
        }
    }
}

/// The samples of a chunk being appended to: XOR-encoded floats or histogram-encoded
/// integer histograms (tsdbfmt's [`XorChunk`] and [`HistogramChunk`]). A float chunk knows
/// its newest value; a histogram chunk keeps its newest histogram beside it.
#[derive(Debug, Clone)]
pub enum ChunkData {
    /// Floats.
    Xor(XorChunk),
    /// Integer histograms (boxed: float series, the common case, stay small).
    Histogram(Box<OpenHistograms<HistogramChunk, Histogram>>),
    /// Float histograms.
    FloatHistogram(Box<OpenHistograms<FloatHistogramChunk, FloatHistogram>>),
}

/// An open histogram chunk and the newest histogram appended to it with its timestamp, as
/// it was appended (decoding the chunk gives it back in the chunk's layout, which may
/// differ), for the duplicate check of a sample at the newest timestamp.
#[derive(Debug, Clone)]
pub struct OpenHistograms<C, H> {
    /// The chunk.
    pub chunk: C,
    /// The newest histogram appended and its timestamp (`None` while the chunk is empty).
    pub last: Option<(i64, Arc<H>)>,
}

impl<C, H> OpenHistograms<C, H> {
    fn new(chunk: C) -> Box<Self> {
        Box::new(Self { chunk, last: None })
    }
}

/// Bytes of an XOR chunk's header (its sample count).
const XOR_HEADER: usize = 2;

/// Bytes an open float chunk's buffer grows by beyond room for its largest sample, when it
/// has less: it holds its length plus 20 to 28 bytes (and mimalloc's size class rounds that
/// up), so a chunk takes memory as it fills instead of what its predecessor took from its
/// start (about 20 bytes per series less on average at 5-minute chunk ranges, more with
/// longer chunks). Growing within a size class costs no copy.
const GROWTH_STEP: usize = 8;

impl Default for ChunkData {
    fn default() -> Self {
        ChunkData::Xor(XorChunk::new())
    }
}

impl ChunkData {
    /// An empty chunk for `v`'s kind; histogram chunks start with `header`. A float chunk's
    /// buffer starts with its header only and grows with its samples
    /// ([`Self::append`]).
    #[must_use]
    pub fn for_value(v: &HeadValue, header: CounterResetHeader) -> Self {
        match v {
            // An empty chunk (a zero sample count) always opens.
            HeadValue::Float(_) => {
                ChunkData::Xor(XorChunk::from_bytes(vec![0; XOR_HEADER]).unwrap_or_default())
            }
            HeadValue::Histogram(_) => {
                ChunkData::Histogram(OpenHistograms::new(HistogramChunk::new(header)))
            }
            HeadValue::FloatHistogram(_) => {
                ChunkData::FloatHistogram(OpenHistograms::new(FloatHistogramChunk::new(header)))
            }
        }
    }

    /// Whether `v` is of the kind this chunk holds.
    #[must_use]
    pub fn holds(&self, v: &HeadValue) -> bool {
        matches!(
            (self, v),
            (ChunkData::Xor(_), HeadValue::Float(_))
                | (ChunkData::Histogram(_), HeadValue::Histogram(_))
                | (ChunkData::FloatHistogram(_), HeadValue::FloatHistogram(_))
        )
    }

    /// Appends a sample of the chunk's kind; timestamps must increase. Returns the header of
    /// the chunk to cut when the histogram does not fit this one (layout change, counter
    /// reset).
    ///
    /// # Errors
    /// Histograms whose bucket counts do not match their spans.
    pub fn append(
        &mut self,
        t: i64,
        v: &HeadValue,
    ) -> Result<Option<CounterResetHeader>, TsdbError> {
        match (self, v) {
            (ChunkData::Xor(c), HeadValue::Float(x)) => {
                c.reserve_sample(GROWTH_STEP);
                c.append(t, *x).map(|()| None)
            }
            (ChunkData::Histogram(c), HeadValue::Histogram(h)) => match c.chunk.append(t, h)? {
                HistogramAppend::Appended => {
                    c.last = Some((t, h.clone()));
                    Ok(None)
                }
                HistogramAppend::NewChunk(header) => Ok(Some(header)),
            },
            (ChunkData::FloatHistogram(c), HeadValue::FloatHistogram(h)) => {
                match c.chunk.append(t, h)? {
                    HistogramAppend::Appended => {
                        c.last = Some((t, h.clone()));
                        Ok(None)
                    }
                    HistogramAppend::NewChunk(header) => Ok(Some(header)),
                }
            }
            _ => Err(TsdbError::Chunk(
                "sample kind does not match the chunk".into(),
            )),
        }
    }

    /// The chunk encoding.
    #[must_use]
    pub fn encoding(&self) -> Encoding {
        match self {
            ChunkData::Xor(_) => Encoding::Xor,
            ChunkData::Histogram(_) => Encoding::Histogram,
            ChunkData::FloatHistogram(_) => Encoding::FloatHistogram,
        }
    }

    /// Number of samples.
    #[must_use]
    pub fn num_samples(&self) -> usize {
        match self {
            ChunkData::Xor(c) => c.num_samples(),
            ChunkData::Histogram(c) => c.chunk.num_samples(),
            ChunkData::FloatHistogram(c) => c.chunk.num_samples(),
        }
    }

    /// The newest value appended, if any.
    #[must_use]
    pub fn last_value(&self) -> Option<HeadValue> {
        match self {
            ChunkData::Xor(c) => c.last().map(|(_, v)| HeadValue::Float(v)),
            ChunkData::Histogram(c) => c
                .last
                .as_ref()
                .map(|(_, h)| HeadValue::Histogram(h.clone())),
            ChunkData::FloatHistogram(c) => c
                .last
                .as_ref()
                .map(|(_, h)| HeadValue::FloatHistogram(h.clone())),
        }
    }

    /// The timestamp of the newest sample (meaningless while the chunk is empty), read from
    /// the encoder's state rather than the encoded bytes.
    #[must_use]
    pub fn newest_t(&self) -> i64 {
        match self {
            ChunkData::Xor(c) => c.newest_t(),
            ChunkData::Histogram(c) => c.last.as_ref().map_or(i64::MIN, |(t, _)| *t),
            ChunkData::FloatHistogram(c) => c.last.as_ref().map_or(i64::MIN, |(t, _)| *t),
        }
    }

    /// The encoded bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        match self {
            ChunkData::Xor(c) => c.bytes(),
            ChunkData::Histogram(c) => c.chunk.bytes(),
            ChunkData::FloatHistogram(c) => c.chunk.bytes(),
        }
    }

    /// Bytes held in memory.
    #[must_use]
    pub fn byte_size(&self) -> usize {
        self.bytes().len()
    }

    /// Freezes the chunk: writes it to the head chunk files when there are some (keeping
    /// only a reference in memory), else keeps its bytes.
    #[must_use]
    pub fn freeze(
        self,
        series: u64,
        min_t: i64,
        max_t: i64,
        files: Option<&Mutex<HeadChunkFiles>>,
    ) -> FullChunk {
        let info = ChunkInfo {
            encoding: self.encoding(),
            num_samples: self.num_samples() as u16,
        };
        if let Some(files) = files {
            match files
                .lock()
                .write_chunk(series, min_t, max_t, info.encoding, self.bytes())
            {
                Ok(r) => return FullChunk::new(min_t, max_t, ChunkLoc::Disk(info, r)),
                Err(e) => {
                    tracing::warn!(error = %e, series, "writing head chunk; keeping it in memory");
                }
            }
        }
        let bytes: Arc<[u8]> = match self {
            ChunkData::Xor(mut c) => {
                c.compact();
                c.into_bytes().into()
            }
            ChunkData::Histogram(c) => c.chunk.into_bytes().into(),
            ChunkData::FloatHistogram(c) => c.chunk.into_bytes().into(),
        };
        FullChunk::new(min_t, max_t, ChunkLoc::Mem(info, Arc::new(bytes)))
    }
}

/// What a full chunk holds: its encoding and number of samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkInfo {
    /// How the bytes are encoded.
    pub encoding: Encoding,
    /// Samples in the chunk.
    pub num_samples: u16,
}

/// Where a full chunk's bytes are, with its [`ChunkInfo`] (in the padding after the variant's
/// tag: a full chunk takes 32 bytes, not 40).
#[derive(Debug, Clone)]
pub enum ChunkLoc {
    /// In memory, shared with queriers (behind a thin pointer, for the size above; chunks
    /// stay in memory only without head chunk files, after a deletion, or when a write to
    /// them failed).
    Mem(ChunkInfo, Arc<Arc<[u8]>>),
    /// In the head chunk files (`chunks_head/`), memory-mapped.
    Disk(ChunkInfo, HeadChunkRef),
}

/// A chunk that is no longer appended to: its time range, and where its bytes are.
#[derive(Debug, Clone)]
pub struct FullChunk {
    /// First timestamp.
    pub min_t: i64,
    /// Last timestamp.
    pub max_t: i64,
    /// Where the bytes are, and their encoding.
    pub loc: ChunkLoc,
}

impl FullChunk {
    /// The chunk spanning `min_t..=max_t` whose bytes are at `loc`.
    #[must_use]
    pub fn new(min_t: i64, max_t: i64, loc: ChunkLoc) -> Self {
        Self { min_t, max_t, loc }
    }

    /// The chunk's encoding and number of samples.
    #[must_use]
    pub fn info(&self) -> ChunkInfo {
        match &self.loc {
            ChunkLoc::Mem(i, _) | ChunkLoc::Disk(i, _) => *i,
        }
    }

    /// How the bytes are encoded.
    #[must_use]
    pub fn encoding(&self) -> Encoding {
        self.info().encoding
    }

    /// Number of samples.
    #[must_use]
    pub fn num_samples(&self) -> usize {
        usize::from(self.info().num_samples)
    }

    /// The chunk's reference in the head chunk files, if it is there.
    #[must_use]
    pub fn disk_ref(&self) -> Option<HeadChunkRef> {
        match &self.loc {
            ChunkLoc::Mem(..) => None,
            ChunkLoc::Disk(_, r) => Some(*r),
        }
    }

    /// Bytes held in memory.
    #[must_use]
    pub fn byte_size(&self) -> usize {
        match &self.loc {
            ChunkLoc::Mem(_, b) => b.len(),
            ChunkLoc::Disk(..) => 0,
        }
    }

    /// The encoded chunk.
    ///
    /// # Errors
    /// A chunk on disk that cannot be read.
    pub fn bytes(&self, files: Option<&Mutex<HeadChunkFiles>>) -> Result<Arc<[u8]>, TsdbError> {
        match (&self.loc, files) {
            (ChunkLoc::Mem(_, b), _) => Ok(Arc::clone(&**b)),
            (ChunkLoc::Disk(_, r), Some(f)) => Ok(f.lock().chunk(*r)?.1.into()),
            (ChunkLoc::Disk(_, r), None) => Err(TsdbError::NotFound {
                kind: "head chunk",
                reference: *r,
            }),
        }
    }
}

/// The full chunks of a series, oldest first: a boxed slice that grows by one entry at each
/// cut (every few minutes to hours), so a series holds 16 bytes for it instead of a `Vec`'s
/// 24, and no spare entry.
#[derive(Debug, Clone, Default)]
pub struct FullChunks(Box<[FullChunk]>);

impl FullChunks {
    /// Adds `c` after the others.
    pub fn push(&mut self, c: FullChunk) {
        let mut v = std::mem::take(&mut self.0).into_vec();
        v.reserve_exact(1);
        v.push(c);
        self.0 = v.into_boxed_slice();
    }

    /// Keeps the chunks for which `keep` is true.
    pub fn retain(&mut self, keep: impl FnMut(&FullChunk) -> bool) {
        let mut v = std::mem::take(&mut self.0).into_vec();
        v.retain(keep);
        self.0 = v.into_boxed_slice();
    }

    /// Drops every chunk.
    pub fn clear(&mut self) {
        self.0 = Box::default();
    }

    /// The chunks as a vector.
    #[must_use]
    pub fn into_vec(self) -> Vec<FullChunk> {
        self.0.into_vec()
    }
}

impl From<Vec<FullChunk>> for FullChunks {
    fn from(v: Vec<FullChunk>) -> Self {
        Self(v.into_boxed_slice())
    }
}

impl std::ops::Deref for FullChunks {
    type Target = [FullChunk];

    fn deref(&self) -> &[FullChunk] {
        &self.0
    }
}

impl<'a> IntoIterator for &'a FullChunks {
    type Item = &'a FullChunk;
    type IntoIter = std::slice::Iter<'a, FullChunk>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

/// The newest sample value of an encoded chunk (decoding all of it).
#[must_use]
pub fn last_sample(enc: Encoding, bytes: &[u8]) -> Option<HeadValue> {
    let mut it = crate::chunkenc::iterator(enc, bytes).ok()?;
    let mut last = None;
    loop {
        match it.next() {
            ValueType::Float => last = Some(HeadValue::Float(it.at().1)),
            ValueType::Histogram => {
                last = Some(HeadValue::Histogram(Arc::new(it.at_histogram().1)));
            }
            ValueType::FloatHistogram => {
                last = Some(HeadValue::FloatHistogram(Arc::new(
                    it.at_float_histogram().1,
                )));
            }
            ValueType::None => return last,
        }
    }
}

/// The chunk being appended to, with its first timestamp. A series holds one only while it
/// has a sample (a chunk whose first sample was refused is dropped), so its newest timestamp
/// is its encoder's.
#[derive(Debug, Clone)]
pub struct OpenChunk {
    /// First timestamp.
    pub min_t: i64,
    /// The samples.
    pub data: ChunkData,
}

impl OpenChunk {
    /// An empty chunk `data` starting at `min_t`.
    #[must_use]
    pub fn new(min_t: i64, data: ChunkData) -> Self {
        Self { min_t, data }
    }

    /// Last timestamp (`i64::MIN` while empty).
    #[must_use]
    pub fn max_t(&self) -> i64 {
        if self.data.num_samples() == 0 {
            i64::MIN
        } else {
            self.data.newest_t()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_end_time_spreads_samples() {
        // 2h range from 0, 15s scrapes: 30 samples cover 435s; the range holds 480 samples,
        // so 4 chunks of ~120: the first should end at 1800s.
        assert_eq!(compute_chunk_end_time(0, 435_000, 7_200_000), 1_800_000);
        // Sparse samples: keep the range end.
        assert_eq!(compute_chunk_end_time(0, 3_000_000, 7_200_000), 7_200_000);
        assert_eq!(range_for_timestamp(7_199_999, 7_200_000), 7_200_000);
        assert_eq!(range_for_timestamp(7_200_000, 7_200_000), 14_400_000);
    }
}
