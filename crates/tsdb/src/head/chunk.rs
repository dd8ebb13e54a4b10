//! The chunks of a head series: the open chunk being appended to, the full chunks behind it,
//! and when to cut a new chunk (Prometheus's rule: about 120 samples, never across a
//! chunk-range boundary, at most 240).

use std::sync::Arc;

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

/// The samples of a chunk: a growable buffer for the open chunk, a frozen shared slice for a
/// full one. Kept behind this type so the encoding can change without touching the head.
#[derive(Debug, Clone, Default)]
pub struct ChunkData {
    samples: Vec<(i64, f64)>,
}

impl ChunkData {
    /// Appends a sample; timestamps must increase.
    pub fn append(&mut self, t: i64, v: f64) {
        self.samples.push((t, v));
    }

    /// Number of samples.
    #[must_use]
    pub fn num_samples(&self) -> usize {
        self.samples.len()
    }

    /// The samples.
    #[must_use]
    pub fn samples(&self) -> &[(i64, f64)] {
        &self.samples
    }

    /// Bytes held in memory.
    #[must_use]
    pub fn byte_size(&self) -> usize {
        self.samples.capacity() * size_of::<(i64, f64)>()
    }

    /// Freezes the chunk into an immutable shared one.
    #[must_use]
    pub fn freeze(self) -> FullChunk {
        let min_t = self.samples.first().map_or(i64::MAX, |s| s.0);
        let max_t = self.samples.last().map_or(i64::MIN, |s| s.0);
        FullChunk {
            min_t,
            max_t,
            samples: self.samples.into(),
        }
    }
}

/// A chunk that is no longer appended to.
#[derive(Debug, Clone)]
pub struct FullChunk {
    /// First timestamp.
    pub min_t: i64,
    /// Last timestamp.
    pub max_t: i64,
    samples: Arc<[(i64, f64)]>,
}

impl FullChunk {
    /// The samples.
    #[must_use]
    pub fn samples(&self) -> &[(i64, f64)] {
        &self.samples
    }

    /// Bytes held in memory.
    #[must_use]
    pub fn byte_size(&self) -> usize {
        self.samples.len() * size_of::<(i64, f64)>()
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
