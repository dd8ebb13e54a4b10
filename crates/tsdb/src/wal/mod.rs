//! The write-ahead log in Prometheus's format (`wal/00000000`, ...): segment files of 32 KiB
//! pages holding length-prefixed, CRC32C-checked record fragments, optionally snappy-compressed.
//!
//! [`Wal`] appends records, [`WalReader`] reads them back across segments, [`repair`] cuts a
//! torn or corrupt tail, and [`checkpoint()`] condenses old segments into `checkpoint.N/`.
//! The record payloads (series, samples, tombstones...) are encoded by [`record`].

pub mod checkpoint;
pub mod histogram;
pub mod live;
pub mod reader;
pub mod record;
pub mod writer;

use std::path::{Path, PathBuf};

use crate::error::TsdbError;

pub use checkpoint::{Checkpoint, checkpoint, delete_checkpoints, last_checkpoint};
pub use live::{LiveReader, LiveRecord};
pub use reader::{WalReader, repair};
pub use writer::{Wal, WalOptions};

/// Size of a page: fragments never cross a page boundary.
pub const PAGE_SIZE: usize = 32 * 1024;
/// Default size of a segment file (128 MiB).
pub const DEFAULT_SEGMENT_SIZE: usize = 128 * 1024 * 1024;
/// Bytes of a fragment header: type, u16 BE length, u32 BE CRC32C.
pub const RECORD_HEADER_SIZE: usize = 7;

/// Bit of the fragment type byte set when the record is snappy-compressed.
pub(crate) const SNAPPY_MASK: u8 = 1 << 3;
/// Bit of the fragment type byte set when the record is zstd-compressed (Prometheus 3).
pub(crate) const ZSTD_MASK: u8 = 1 << 4;
/// Bits of the fragment type byte holding the fragment type.
pub(crate) const TYPE_MASK: u8 = SNAPPY_MASK - 1;

/// What part of a record a fragment holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Fragment {
    /// Zero padding up to the end of the page.
    PageTerm = 0,
    /// A whole record.
    Full = 1,
    /// The first part of a record.
    First = 2,
    /// A middle part.
    Middle = 3,
    /// The last part.
    Last = 4,
}

impl Fragment {
    pub(crate) fn from_byte(b: u8) -> Option<Self> {
        match b & TYPE_MASK {
            0 => Some(Self::PageTerm),
            1 => Some(Self::Full),
            2 => Some(Self::First),
            3 => Some(Self::Middle),
            4 => Some(Self::Last),
            _ => None,
        }
    }
}

/// One segment file: its index (the number in its name) and path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentRef {
    /// The segment's number.
    pub index: u32,
    /// Its path.
    pub path: PathBuf,
}

/// The file name of segment `index`: eight zero-padded digits.
#[must_use]
pub fn segment_name(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("{index:08}"))
}

/// The segments in `dir`, sorted by index. Files whose names are not all digits are ignored.
///
/// # Errors
/// I/O errors listing the directory, or a gap in the numbering.
pub fn list_segments(dir: &Path) -> Result<Vec<SegmentRef>, TsdbError> {
    let entries = std::fs::read_dir(dir).map_err(|e| TsdbError::io("read dir", dir, e))?;
    let mut segs = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| TsdbError::io("read dir", dir, e))?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(index) = name.parse::<u32>() else {
            continue;
        };
        segs.push(SegmentRef {
            index,
            path: entry.path(),
        });
    }
    segs.sort_by_key(|s| s.index);
    for w in segs.windows(2) {
        if w[1].index != w[0].index + 1 {
            return Err(TsdbError::corruption(
                dir.display().to_string(),
                format!(
                    "segments are not sequential: {:08} follows {:08}",
                    w[1].index, w[0].index
                ),
            ));
        }
    }
    Ok(segs)
}

/// The first and last segment index in `dir`, if it has any segments.
///
/// # Errors
/// As [`list_segments`].
pub fn segment_range(dir: &Path) -> Result<Option<(u32, u32)>, TsdbError> {
    let segs = list_segments(dir)?;
    Ok(match (segs.first(), segs.last()) {
        (Some(f), Some(l)) => Some((f.index, l.index)),
        _ => None,
    })
}
