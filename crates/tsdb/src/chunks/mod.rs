//! Chunk files: the segment files of a block's `chunks/` directory ([`SegmentWriter`],
//! [`SegmentReader`]) and the head's memory-mapped chunk files in `chunks_head/`
//! ([`HeadChunkFiles`]), both in Prometheus's on-disk format.
//!
//! Segment files are named by their sequence number as six digits (`000001`, ...). A block
//! chunk reference is `segment index << 32 | byte offset` (the index counts segment files
//! from 0); a head chunk reference is `file sequence number << 32 | byte offset`.

mod head;
mod segment;

pub use head::{
    HeadChunkFiles, HeadChunkMeta, HeadChunkRef, MAGIC_HEAD_CHUNKS, MAX_HEAD_CHUNK_FILE_SIZE,
};
pub use segment::{DEFAULT_SEGMENT_SIZE, MAGIC_CHUNKS, SegmentReader, SegmentWriter};

use std::path::{Path, PathBuf};

use model::Timestamp;

use crate::chunkenc::Encoding;
use crate::error::TsdbError;

/// Size of a segment file header: magic (4), version (1), padding (3).
pub const SEGMENT_HEADER_SIZE: usize = 8;

/// The format version written in segment headers.
pub const CHUNKS_FORMAT_V1: u8 = 1;

/// Largest encoded chunk length field (a uvarint of a 32-bit length).
pub const MAX_CHUNK_LENGTH_FIELD_SIZE: usize = 5;

/// A reference to a chunk in a block's chunk segment files.
pub type ChunkRef = u64;

/// Packs a segment index and an offset into a chunk reference.
#[must_use]
pub fn chunk_ref(segment: u32, offset: u32) -> ChunkRef {
    (u64::from(segment) << 32) | u64::from(offset)
}

/// Splits a chunk reference into segment index and offset.
#[must_use]
pub fn unpack_chunk_ref(r: ChunkRef) -> (u32, u32) {
    ((r >> 32) as u32, r as u32)
}

/// Metadata of a chunk as the index stores it, with the chunk bytes when they are in memory
/// (before writing, or after reading).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkMeta {
    /// Where the chunk is stored (0 until written).
    pub r#ref: ChunkRef,
    /// Timestamp of the first sample.
    pub min_time: Timestamp,
    /// Timestamp of the last sample.
    pub max_time: Timestamp,
    /// The encoding and bytes, when held in memory.
    pub chunk: Option<(Encoding, Vec<u8>)>,
}

/// The path of segment file `seq` in `dir` (`dir/000042`).
#[must_use]
pub fn segment_file(dir: &Path, seq: u32) -> PathBuf {
    dir.join(format!("{seq:06}"))
}

/// The numbered segment files of `dir`, sorted by sequence number (other names are ignored).
///
/// # Errors
/// When the directory cannot be listed.
pub fn list_segment_files(dir: &Path) -> Result<Vec<(u32, PathBuf)>, TsdbError> {
    let rd = std::fs::read_dir(dir).map_err(|e| TsdbError::io("read dir", dir, e))?;
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(|e| TsdbError::io("read dir", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_digit())
            && let Ok(seq) = name.parse::<u32>()
        {
            out.push((seq, entry.path()));
        }
    }
    out.sort_by_key(|(seq, _)| *seq);
    Ok(out)
}

/// Fsyncs a directory so that renames and new files in it are durable.
///
/// # Errors
/// When the directory cannot be opened or synced.
pub fn sync_dir(dir: &Path) -> Result<(), TsdbError> {
    let f = std::fs::File::open(dir).map_err(|e| TsdbError::io("open dir", dir, e))?;
    f.sync_all().map_err(|e| TsdbError::io("fsync dir", dir, e))
}

/// Writes `bytes` to `path` atomically: into `tmp`, fsynced, renamed over `path`, the
/// directory fsynced. On failure `tmp` is removed (on a full disk it would hold the space
/// needed back) and `path` is untouched.
///
/// # Errors
/// I/O failures (a full disk, a failed fsync).
pub fn write_atomically(tmp: &Path, path: &Path, bytes: &[u8]) -> Result<(), TsdbError> {
    use std::io::Write as _;
    let written = std::fs::File::create(tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .map_err(|e| TsdbError::io("write", tmp, e))
        .and_then(|()| std::fs::rename(tmp, path).map_err(|e| TsdbError::io("rename", tmp, e)));
    if let Err(e) = written {
        let _ = std::fs::remove_file(tmp);
        return Err(e);
    }
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => sync_dir(dir),
        _ => Ok(()),
    }
}

/// Memory-maps a whole file read-only.
///
/// # Errors
/// When the file cannot be opened or mapped.
pub fn mmap_file(path: &Path) -> Result<memmap2::Mmap, TsdbError> {
    let f = std::fs::File::open(path).map_err(|e| TsdbError::io("open", path, e))?;
    // SAFETY: the TSDB never modifies a file it has mapped read-only (segment files are written
    // completely before they are mapped, and head chunk files are only appended past the mapped
    // length); deleting a mapped file keeps the mapping valid on Unix. Truncation by another
    // process would be a corrupted data directory, which Prometheus does not guard against either.
    unsafe { memmap2::Mmap::map(&f) }.map_err(|e| TsdbError::io("mmap", path, e))
}

#[cfg(test)]
mod tests;
