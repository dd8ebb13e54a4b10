//! Retention: which blocks to delete because they are older than the retention time
//! (measured from the newest block's end) or because the blocks plus the head's files
//! take more than the size limit (oldest go first).

use std::collections::HashSet;
use std::path::Path;

use crate::block::{BlockReader, Ulid};

/// Bytes of all files under `dir` (0 when missing).
#[must_use]
pub fn dir_size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|e| match e.metadata() {
            Ok(m) if m.is_dir() => dir_size(&e.path()),
            Ok(m) => m.len(),
            Err(_) => 0,
        })
        .sum()
}

/// The blocks beyond the retention time `retention_ms` (0: none) or size `max_bytes`
/// (0: none), counting `head_bytes` (WAL and head chunks) first.
#[must_use]
pub fn deletable(
    blocks: &[BlockReader],
    retention_ms: i64,
    max_bytes: u64,
    head_bytes: u64,
) -> HashSet<Ulid> {
    let mut newest_first = blocks.to_vec();
    newest_first.sort_by_key(|b| std::cmp::Reverse(b.meta().max_time));
    let mut out = HashSet::new();
    if retention_ms > 0
        && let Some(newest) = newest_first.first()
    {
        let top = newest.meta().max_time;
        if let Some(i) = newest_first
            .iter()
            .position(|b| top - b.meta().max_time > retention_ms)
        {
            out.extend(newest_first[i..].iter().map(|b| b.meta().ulid));
        }
    }
    if max_bytes > 0 {
        let mut size = head_bytes;
        for (i, b) in newest_first.iter().enumerate() {
            size += b.size();
            if size > max_bytes {
                out.extend(newest_first[i..].iter().map(|b| b.meta().ulid));
                break;
            }
        }
    }
    out
}
