//! The full chunks found in `chunks_head/` at start-up, by series reference, until the WAL
//! replay or a chunk snapshot hands them to their series (Prometheus's `mmappedChunks` map
//! of `loadMmappedChunks`).
//!
//! One vector of chunks sorted by series and a sorted index of series into it, rather than a
//! hash map holding a vector per series: series are looked up in about increasing reference
//! order (a snapshot of ours lists them so, and so does the WAL mostly), so a lookup is most
//! often the index entry after the last one, in the cache, where a hash map missed the cache
//! on every series (60% of the series-creating thread of a snapshot start at 1M series). It
//! also takes 32 bytes per chunk and 24 per series instead of a heap vector per series.

use crate::head::chunk::FullChunk;

/// Full chunks by series reference, oldest first; each series' chunks can be taken once.
#[derive(Debug, Default)]
pub struct MmappedChunks {
    /// Every chunk, by series then as the series' chunks go.
    chunks: Vec<FullChunk>,
    /// Each series with chunks, by reference.
    series: Vec<Run>,
    /// The index entry after the last one taken: where the next lookup looks first.
    cursor: usize,
    /// Series whose chunks were not taken.
    left: usize,
}

/// A series' chunks: `chunks[start..end]`, empty once taken.
#[derive(Debug, Clone, Copy)]
struct Run {
    id: u64,
    start: usize,
    end: usize,
}

impl MmappedChunks {
    /// Indexes `chunks` (series reference, chunk) given in the order of the files. With
    /// `by_time`, each series' chunks are sorted by their first timestamp (in file order
    /// where equal) and a chunk overlapping the one before it is dropped (a crash between
    /// writing and truncating left both); else they keep the files' order.
    #[must_use]
    pub fn from_file_order(mut chunks: Vec<(u64, FullChunk)>, by_time: bool) -> Self {
        // Stable: file order decides between equal keys.
        if by_time {
            chunks.sort_by_key(|(id, c)| (*id, c.min_t));
        } else {
            chunks.sort_by_key(|(id, _)| *id);
        }
        let mut out = Self {
            chunks: Vec::with_capacity(chunks.len()),
            ..Self::default()
        };
        for (id, c) in chunks {
            match out.series.last_mut() {
                Some(run) if run.id == id => {
                    if by_time && out.chunks.last().is_some_and(|last| c.min_t <= last.max_t) {
                        continue;
                    }
                    run.end += 1;
                }
                _ => {
                    let at = out.chunks.len();
                    out.series.push(Run {
                        id,
                        start: at,
                        end: at + 1,
                    });
                }
            }
            out.chunks.push(c);
        }
        out.left = out.series.len();
        out
    }

    /// The index entry of series `id`, taken or not.
    fn find(&self, id: u64) -> Option<usize> {
        if self.series.get(self.cursor).is_some_and(|r| r.id == id) {
            return Some(self.cursor);
        }
        self.series.binary_search_by_key(&id, |r| r.id).ok()
    }

    /// Whether series `id` has chunks not taken yet.
    #[must_use]
    pub fn contains_key(&self, id: &u64) -> bool {
        self.find(*id)
            .is_some_and(|i| self.series[i].start < self.series[i].end)
    }

    /// Takes the chunks of series `id`, oldest first; `None` without chunks or once taken.
    pub fn take(&mut self, id: u64) -> Option<&[FullChunk]> {
        let i = self.find(id)?;
        let run = self.series[i];
        if run.start == run.end {
            return None;
        }
        self.series[i].end = run.start;
        self.left -= 1;
        self.cursor = i + 1;
        Some(&self.chunks[run.start..run.end])
    }

    /// [`Self::take`] into a vector.
    pub fn remove(&mut self, id: &u64) -> Option<Vec<FullChunk>> {
        self.take(*id).map(<[FullChunk]>::to_vec)
    }

    /// The references of the series whose chunks were not taken, in order.
    pub fn keys(&self) -> impl Iterator<Item = &u64> {
        self.series
            .iter()
            .filter(|r| r.start < r.end)
            .map(|r| &r.id)
    }

    /// Series whose chunks were not taken.
    #[must_use]
    pub fn len(&self) -> usize {
        self.left
    }

    /// Whether every series' chunks were taken (or there were none).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.left == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunkenc::Encoding;
    use crate::head::chunk::{ChunkInfo, ChunkLoc};

    fn chunk(min_t: i64, max_t: i64, r: u64) -> FullChunk {
        let info = ChunkInfo {
            encoding: Encoding::Xor,
            num_samples: 1,
        };
        FullChunk::new(min_t, max_t, ChunkLoc::Disk(info, r))
    }

    fn spans(c: &[FullChunk]) -> Vec<(i64, i64, Option<u64>)> {
        c.iter().map(|c| (c.min_t, c.max_t, c.disk_ref())).collect()
    }

    #[test]
    fn chunks_by_series_then_time_with_overlaps_dropped_and_each_series_taken_once() {
        let file_order = vec![
            (7, chunk(0, 9, 1)),
            (3, chunk(0, 9, 2)),
            (7, chunk(20, 29, 3)),
            (3, chunk(10, 19, 4)),
            (7, chunk(10, 19, 5)),
            // A second copy of series 3's first chunk, and one overlapping its second.
            (3, chunk(0, 9, 6)),
            (3, chunk(15, 25, 7)),
            (5, chunk(40, 49, 8)),
        ];
        let mut m = MmappedChunks::from_file_order(file_order.clone(), true);
        assert_eq!(m.len(), 3);
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), [3, 5, 7]);
        assert!(m.contains_key(&3) && !m.contains_key(&4));
        assert_eq!(
            spans(m.take(3).unwrap()),
            [(0, 9, Some(2)), (10, 19, Some(4))]
        );
        assert!(!m.contains_key(&3) && m.take(3).is_none());
        // Out of order after the cursor, and a series never listed.
        assert_eq!(
            spans(&m.remove(&7).unwrap()),
            [(0, 9, Some(1)), (10, 19, Some(5)), (20, 29, Some(3))]
        );
        assert!(m.remove(&6).is_none());
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), [5]);
        assert_eq!((m.len(), m.is_empty()), (1, false));
        assert_eq!(spans(m.take(5).unwrap()), [(40, 49, Some(8))]);
        assert!(m.is_empty());

        // Out-of-order chunks keep the files' order and their overlaps.
        let mut ooo = MmappedChunks::from_file_order(file_order, false);
        let refs: Vec<_> = spans(ooo.take(3).unwrap()).iter().map(|s| s.2).collect();
        assert_eq!(refs, [Some(2), Some(4), Some(6), Some(7)]);
    }
}
