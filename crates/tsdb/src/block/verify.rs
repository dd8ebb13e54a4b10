//! Checks a block's files against each other when it is opened, so that a damaged block is
//! found at start-up (and moved aside by the database) instead of failing queries later.
//!
//! Prometheus's `OpenBlock` (tsdb/block.go) only reads meta.json, the index's table of
//! contents, symbols and postings table, and the chunk files' headers; a missing or
//! truncated chunk file or a damaged series entry surfaces only when a query reaches it.
//! [`BlockReader::verify`] goes further at a bounded cost: every series entry is decoded (its
//! checksum checked) and every chunk reference compared with the chunk files' lengths, which
//! touches the index but none of the chunk pages; then the last chunk of each chunk file,
//! where a truncation cuts, is read and its checksum checked.

use crate::chunks::unpack_chunk_ref;
use crate::error::TsdbError;

use super::BlockReader;

impl BlockReader {
    /// Verifies that every series of the index decodes and that every chunk it references
    /// lies inside the chunk files (the last chunk of each file read in full).
    ///
    /// # Errors
    /// [`TsdbError::Corruption`] naming the file and what is wrong.
    pub fn verify(&self) -> Result<(), TsdbError> {
        let index = self.index();
        let chunks = self.chunks();
        // The chunk with the highest offset in each segment, and its series.
        let mut last: Vec<Option<(u32, u64, u64)>> = vec![None; chunks.num_segments()];
        for id in index.all_postings()? {
            let (_, metas) = index.series(id)?;
            for m in metas {
                let (seg, off) = unpack_chunk_ref(m.r#ref);
                let Some(len) = chunks.segment_len(seg) else {
                    return Err(TsdbError::corruption(
                        self.dir().join("chunks").display().to_string(),
                        format!(
                            "series {id} references chunk file {:06}, which does not exist ({} files)",
                            u64::from(seg) + 1,
                            chunks.num_segments()
                        ),
                    ));
                };
                if off as usize >= len {
                    return Err(TsdbError::corruption(
                        format!("{}/{:06}", self.dir().join("chunks").display(), seg + 1),
                        format!(
                            "series {id} references offset {off}, beyond the file's {len} bytes (truncated)"
                        ),
                    ));
                }
                let slot = &mut last[seg as usize];
                if slot.is_none_or(|(o, _, _)| off > o) {
                    *slot = Some((off, id, m.r#ref));
                }
            }
        }
        for (_, id, r) in last.into_iter().flatten() {
            chunks.chunk(r).map_err(|e| match e {
                TsdbError::Corruption { file, reason } => {
                    TsdbError::corruption(file, format!("last chunk of series {id}: {reason}"))
                }
                other => other,
            })?;
        }
        Ok(())
    }
}
