//! The chunks of a head series: the open chunk being appended to, the full chunks behind it,
//! and when to cut a new chunk (Prometheus's rule: about 120 samples, never across a
//! chunk-range boundary, at most 240).

use std::sync::Arc;

use parking_lot::Mutex;

use crate::chunkenc::{Encoding, XorChunk};
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

/// The samples of a chunk being appended to, XOR-encoded (tsdbfmt's [`XorChunk`]).
#[derive(Debug, Clone, Default)]
pub struct ChunkData {
    chunk: XorChunk,
}

impl ChunkData {
    /// Appends a sample; timestamps must increase. The head cuts chunks long before the
    /// encoding's 65535-sample limit, so appending cannot fail.
    pub fn append(&mut self, t: i64, v: f64) {
        self.chunk
            .append(t, v)
            .expect("head chunks hold at most 240 samples");
    }

    /// Number of samples.
    #[must_use]
    pub fn num_samples(&self) -> usize {
        self.chunk.num_samples()
    }

    /// The encoded bytes.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        self.chunk.bytes()
    }

    /// Bytes held in memory.
    #[must_use]
    pub fn byte_size(&self) -> usize {
        self.chunk.bytes().len()
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
        let num_samples = self.chunk.num_samples() as u16;
        if let Some(files) = files {
            match files
                .lock()
                .write_chunk(series, min_t, max_t, Encoding::Xor, self.chunk.bytes())
            {
                Ok(r) => {
                    return FullChunk {
                        min_t,
                        max_t,
                        num_samples,
                        loc: ChunkLoc::Disk(r),
                    };
                }
                Err(e) => {
                    tracing::warn!(error = %e, series, "writing head chunk; keeping it in memory");
                }
            }
        }
        let mut chunk = self.chunk;
        chunk.compact();
        FullChunk {
            min_t,
            max_t,
            num_samples,
            loc: ChunkLoc::Mem(chunk.into_bytes().into()),
        }
    }
}

/// Where a full chunk's bytes are.
#[derive(Debug, Clone)]
pub enum ChunkLoc {
    /// In memory, shared with queriers.
    Mem(Arc<[u8]>),
    /// In the head chunk files (`chunks_head/`), memory-mapped.
    Disk(HeadChunkRef),
}

/// A chunk that is no longer appended to: its time range and where its XOR bytes are.
#[derive(Debug, Clone)]
pub struct FullChunk {
    /// First timestamp.
    pub min_t: i64,
    /// Last timestamp.
    pub max_t: i64,
    /// Samples in the chunk.
    pub num_samples: u16,
    /// Where the bytes are.
    pub loc: ChunkLoc,
}

impl FullChunk {
    /// Number of samples.
    #[must_use]
    pub fn num_samples(&self) -> usize {
        usize::from(self.num_samples)
    }

    /// Bytes held in memory.
    #[must_use]
    pub fn byte_size(&self) -> usize {
        match &self.loc {
            ChunkLoc::Mem(b) => b.len(),
            ChunkLoc::Disk(_) => 0,
        }
    }

    /// The encoded chunk.
    ///
    /// # Errors
    /// A chunk on disk that cannot be read.
    pub fn bytes(&self, files: Option<&Mutex<HeadChunkFiles>>) -> Result<Arc<[u8]>, TsdbError> {
        match (&self.loc, files) {
            (ChunkLoc::Mem(b), _) => Ok(b.clone()),
            (ChunkLoc::Disk(r), Some(f)) => Ok(f.lock().chunk(*r)?.1.into()),
            (ChunkLoc::Disk(r), None) => Err(TsdbError::NotFound {
                kind: "head chunk",
                reference: *r,
            }),
        }
    }
}

/// The chunk being appended to, with its time range.
#[derive(Debug, Clone)]
pub struct OpenChunk {
    /// First timestamp.
    pub min_t: i64,
    /// Last timestamp (`i64::MIN` while empty).
    pub max_t: i64,
    /// The samples.
    pub data: ChunkData,
}

impl OpenChunk {
    /// An empty chunk starting at `min_t`.
    #[must_use]
    pub fn new(min_t: i64) -> Self {
        Self {
            min_t,
            max_t: i64::MIN,
            data: ChunkData::default(),
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
