//! Reads records back from a log's segments, and repairs a log whose tail is torn or corrupt.
//!
//! Segments are read one after the other; a segment may end early (a crash, or a repair) as
//! long as it ends between records. Anything else — a bad checksum, a record cut in the
//! middle, garbage where padding should be — is a [`TsdbError::WalCorruption`] naming the
//! segment and the offset where the broken record starts, which [`repair`] truncates to.

use std::fs::File;
use std::io::{BufReader, ErrorKind, Read};
use std::path::Path;

use crate::encoding::crc32c;
use crate::error::TsdbError;
use crate::wal::{
    Fragment, PAGE_SIZE, RECORD_HEADER_SIZE, SNAPPY_MASK, SegmentRef, ZSTD_MASK, list_segments,
};

/// Reads the records of a sequence of segments in order.
pub struct WalReader {
    segments: Vec<SegmentRef>,
    /// Position in `segments` of the segment being read.
    cur: usize,
    file: Option<BufReader<File>>,
    /// Offset in the current segment.
    off: u64,
    /// Where reading starts in the first segment (a chunk snapshot's WAL offset).
    start_offset: u64,
    rec: Vec<u8>,
    compressed: Vec<u8>,
    page: Vec<u8>,
    snappy: snap::raw::Decoder,
}

impl std::fmt::Debug for WalReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WalReader")
            .field("segments", &self.segments.len())
            .finish()
    }
}

enum Fill {
    Full,
    /// End of file after this many bytes.
    Eof(usize),
}

impl WalReader {
    /// A reader over `segments`, which must be in index order.
    #[must_use]
    pub fn new(segments: Vec<SegmentRef>) -> Self {
        Self {
            segments,
            cur: 0,
            file: None,
            off: 0,
            start_offset: 0,
            rec: Vec::new(),
            compressed: Vec::new(),
            page: vec![0; PAGE_SIZE],
            snappy: snap::raw::Decoder::new(),
        }
    }

    /// A reader over all segments of `dir`.
    ///
    /// # Errors
    /// I/O errors listing the directory.
    pub fn open_dir(dir: &Path) -> Result<Self, TsdbError> {
        Ok(Self::new(list_segments(dir)?))
    }

    /// A reader over the segments of `dir` with index in `from..=to` (`None`: unbounded).
    ///
    /// # Errors
    /// I/O errors listing the directory.
    pub fn open_range(dir: &Path, from: Option<u32>, to: Option<u32>) -> Result<Self, TsdbError> {
        let segs = list_segments(dir)?
            .into_iter()
            .filter(|s| from.is_none_or(|f| s.index >= f) && to.is_none_or(|t| s.index <= t))
            .collect();
        Ok(Self::new(segs))
    }

    /// Starts reading the first segment at byte `offset` (a record boundary, as a chunk
    /// snapshot's name records it) instead of its beginning.
    #[must_use]
    pub fn starting_at(mut self, offset: u64) -> Self {
        self.start_offset = offset;
        self
    }

    /// The segment being read (or last read) and the offset in it.
    #[must_use]
    pub fn position(&self) -> Option<(u32, u64)> {
        self.segments.get(self.cur).map(|s| (s.index, self.off))
    }

    fn corruption(&self, offset: u64, reason: impl Into<String>) -> TsdbError {
        let seg = &self.segments[self.cur];
        TsdbError::WalCorruption {
            path: seg.path.clone(),
            segment: seg.index,
            offset,
            reason: reason.into(),
        }
    }

    /// Reads `len` bytes into the page buffer unless the file ends first.
    fn fill(&mut self, len: usize) -> Result<Fill, TsdbError> {
        let Some(file) = self.file.as_mut() else {
            return Ok(Fill::Eof(0));
        };
        let mut got = 0;
        while got < len {
            match file.read(&mut self.page[got..len]) {
                Ok(0) => {
                    self.off += got as u64;
                    return Ok(Fill::Eof(got));
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => {
                    return Err(TsdbError::io("read", &self.segments[self.cur].path, e));
                }
            }
        }
        self.off += len as u64;
        Ok(Fill::Full)
    }

    fn open_current(&mut self) -> Result<bool, TsdbError> {
        let Some(seg) = self.segments.get(self.cur) else {
            return Ok(false);
        };
        let mut f =
            File::open(&seg.path).map_err(|e| TsdbError::io("open segment", &seg.path, e))?;
        self.off = 0;
        if self.cur == 0 && self.start_offset > 0 {
            use std::io::Seek;
            let len = f
                .metadata()
                .map_err(|e| TsdbError::io("stat segment", &seg.path, e))?
                .len();
            // Past the end: nothing to read in this segment.
            self.off = self.start_offset.min(len);
            f.seek(std::io::SeekFrom::Start(self.off))
                .map_err(|e| TsdbError::io("seek segment", &seg.path, e))?;
        }
        self.file = Some(BufReader::with_capacity(16 * PAGE_SIZE, f));
        Ok(true)
    }

    /// The next record, `None` at the end of the last segment. After an error, the reader
    /// must not be used again.
    ///
    /// # Errors
    /// [`TsdbError::WalCorruption`] for damaged data, I/O errors otherwise.
    pub fn next_record(&mut self) -> Result<Option<&[u8]>, TsdbError> {
        self.rec.clear();
        self.compressed.clear();
        let mut fragments = 0usize;
        let mut start = 0u64;
        let mut snappy = false;
        // Offset of a whole page of zeros: fine at the end of a segment (a crash after the file
        // grew), corruption when more data follows (the writer never pads a page it has not
        // written to).
        let mut zero_page: Option<u64> = None;
        loop {
            if self.file.is_none() && !self.open_current()? {
                return Ok(None);
            }
            let at = self.off;
            if let Fill::Eof(_) = self.fill(1)? {
                if fragments > 0 {
                    return Err(self.corruption(start, "segment ends inside a record"));
                }
                self.file = None;
                self.cur += 1;
                zero_page = None;
                continue;
            }
            if let Some(z) = zero_page {
                return Err(self.corruption(
                    if fragments > 0 { start } else { z },
                    "zero-filled page before more data",
                ));
            }
            let tb = self.page[0];
            if tb & ZSTD_MASK != 0 {
                return Err(self.corruption(at, "zstd-compressed records are not supported"));
            }
            let Some(typ) = Fragment::from_byte(tb) else {
                return Err(self.corruption(at, format!("unexpected record type {tb:#04x}")));
            };
            if typ == Fragment::PageTerm {
                let k = (PAGE_SIZE as u64 - self.off % PAGE_SIZE as u64) % PAGE_SIZE as u64;
                let got = match self.fill(k as usize)? {
                    Fill::Full => k as usize,
                    Fill::Eof(n) => n,
                };
                if self.page[..got].iter().any(|&b| b != 0) {
                    return Err(self.corruption(
                        if fragments > 0 { start } else { at },
                        "unexpected non-zero byte in padded page",
                    ));
                }
                if at.is_multiple_of(PAGE_SIZE as u64) && got == PAGE_SIZE - 1 {
                    zero_page = Some(at);
                }
                continue;
            }
            if fragments == 0 {
                start = at;
                snappy = tb & SNAPPY_MASK != 0;
            }
            let Fill::Full = self.fill(RECORD_HEADER_SIZE - 1)? else {
                return Err(self.corruption(start, "segment ends inside a record header"));
            };
            let len = usize::from(u16::from_be_bytes([self.page[0], self.page[1]]));
            let crc = u32::from_be_bytes([self.page[2], self.page[3], self.page[4], self.page[5]]);
            let page_left = PAGE_SIZE - (at as usize % PAGE_SIZE) - RECORD_HEADER_SIZE;
            if len > page_left {
                return Err(self.corruption(start, format!("invalid record size {len}")));
            }
            let Fill::Full = self.fill(len)? else {
                return Err(self.corruption(start, "segment ends inside a record"));
            };
            let computed = crc32c(&self.page[..len]);
            if computed != crc {
                return Err(self.corruption(
                    start,
                    format!("unexpected checksum {computed:08x}, expected {crc:08x}"),
                ));
            }
            match (typ, fragments) {
                (Fragment::Full | Fragment::First, 0)
                | (Fragment::Middle | Fragment::Last, 1..) => {}
                (t, _) => {
                    return Err(self.corruption(start, format!("unexpected {t:?} fragment")));
                }
            }
            if snappy {
                self.compressed.extend_from_slice(&self.page[..len]);
            } else {
                self.rec.extend_from_slice(&self.page[..len]);
            }
            fragments += 1;
            if matches!(typ, Fragment::Full | Fragment::Last) {
                if snappy {
                    let n = snap::raw::decompress_len(&self.compressed)
                        .map_err(|e| self.corruption(start, format!("snappy: {e}")))?;
                    // A snappy block expands at most 64 bytes per 3-byte copy: refuse a
                    // (corrupt) header claiming more before allocating it.
                    if n > self.compressed.len().saturating_mul(22).saturating_add(64) {
                        return Err(self.corruption(
                            start,
                            format!(
                                "snappy: header claims {n} bytes from {} compressed",
                                self.compressed.len()
                            ),
                        ));
                    }
                    self.rec.resize(n, 0);
                    self.snappy
                        .decompress(&self.compressed, &mut self.rec)
                        .map_err(|e| self.corruption(start, format!("snappy: {e}")))?;
                }
                return Ok(Some(&self.rec));
            }
        }
    }
}

/// Cuts the log in `dir` back to the last good record before the corruption `err` (which must
/// be a [`TsdbError::WalCorruption`] from reading it): the corrupt segment is truncated where
/// the broken record starts and every later segment is deleted. What is dropped is logged.
///
/// # Errors
/// I/O errors, or `err` is not a WAL corruption.
pub fn repair(dir: &Path, err: &TsdbError) -> Result<(), TsdbError> {
    let TsdbError::WalCorruption {
        segment,
        offset,
        reason,
        ..
    } = err
    else {
        return Err(TsdbError::corruption(
            dir.display().to_string(),
            format!("cannot repair the WAL after a non-corruption error: {err}"),
        ));
    };
    for seg in list_segments(dir)? {
        if seg.index > *segment {
            let size = std::fs::metadata(&seg.path).map(|m| m.len()).unwrap_or(0);
            tracing::warn!(segment = %seg.path.display(), bytes = size, "WAL repair: deleting segment after the corruption");
            std::fs::remove_file(&seg.path).map_err(|e| TsdbError::io("remove", &seg.path, e))?;
        } else if seg.index == *segment {
            let f = std::fs::OpenOptions::new()
                .write(true)
                .open(&seg.path)
                .map_err(|e| TsdbError::io("open segment", &seg.path, e))?;
            let size = f
                .metadata()
                .map_err(|e| TsdbError::io("stat", &seg.path, e))?
                .len();
            tracing::warn!(
                segment = %seg.path.display(),
                offset,
                dropped_bytes = size.saturating_sub(*offset),
                %reason,
                "WAL repair: truncating corrupt segment to its last good record"
            );
            f.set_len(*offset)
                .map_err(|e| TsdbError::io("truncate", &seg.path, e))?;
            f.sync_all()
                .map_err(|e| TsdbError::io("fsync", &seg.path, e))?;
        }
    }
    Ok(())
}
