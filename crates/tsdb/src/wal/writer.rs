//! Appends records to the log: fragments them into pages, compresses them with snappy when
//! that makes them smaller, and starts a new segment when one is full.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::encoding::crc32c;
use crate::error::TsdbError;
use crate::wal::{
    DEFAULT_SEGMENT_SIZE, Fragment, PAGE_SIZE, RECORD_HEADER_SIZE, SNAPPY_MASK, list_segments,
    segment_name,
};

/// How a [`Wal`] writes.
#[derive(Debug, Clone)]
pub struct WalOptions {
    /// Size of a segment file in bytes; a multiple of the 32 KiB page size.
    pub segment_size: usize,
    /// Snappy-compress records (Prometheus's default since 2.20); readers accept both.
    pub compress: bool,
    /// `fsync` after every [`Wal::log`] call. Prometheus does not (it relies on the page
    /// cache and syncs full segments); turn this on to survive power loss, not only crashes.
    pub sync_on_log: bool,
}

impl Default for WalOptions {
    fn default() -> Self {
        Self {
            segment_size: DEFAULT_SEGMENT_SIZE,
            compress: true,
            sync_on_log: false,
        }
    }
}

/// What a [`Wal`] did, for `/metrics` (Prometheus's `wlog` metrics).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct WalStats {
    /// Writes of a page's new bytes to the file (`page_flushes_total`).
    pub page_flushes: u64,
    /// Pages written in full (`completed_pages_total`).
    pub completed_pages: u64,
    /// Calls to log that failed (`writes_failed_total`).
    pub writes_failed: u64,
    /// Truncations attempted (`truncations_total`).
    pub truncations: u64,
    /// Truncations that failed (`truncations_failed_total`).
    pub truncations_failed: u64,
    /// `fsync` calls and their total duration in seconds (`fsync_duration_seconds`).
    pub fsyncs: u64,
    /// Total duration of the `fsync` calls, in seconds.
    pub fsync_seconds: f64,
}

/// A write-ahead log open for appending. Opening always starts a new segment after the
/// newest existing one, so a torn tail of the previous run is never written after.
pub struct Wal {
    dir: PathBuf,
    opts: WalOptions,
    file: File,
    segment: u32,
    /// Pages of the current segment already written in full.
    done_pages: usize,
    page: Box<[u8]>,
    /// Bytes of the page in use.
    alloc: usize,
    /// Bytes of the page already written to the file.
    flushed: usize,
    snappy: snap::raw::Encoder,
    snappy_buf: Vec<u8>,
    stats: WalStats,
}

impl std::fmt::Debug for Wal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Wal")
            .field("dir", &self.dir)
            .field("segment", &self.segment)
            .finish()
    }
}

impl Wal {
    /// Opens the log in `dir` (created if missing) and starts a new segment.
    ///
    /// # Errors
    /// I/O errors, or segments with a gap in their numbering.
    pub fn open(dir: &Path, opts: WalOptions) -> Result<Self, TsdbError> {
        assert!(
            opts.segment_size >= PAGE_SIZE && opts.segment_size.is_multiple_of(PAGE_SIZE),
            "segment size must be a positive multiple of the page size"
        );
        std::fs::create_dir_all(dir).map_err(|e| TsdbError::io("create dir", dir, e))?;
        let next = list_segments(dir)?.last().map_or(0, |s| s.index + 1);
        let file = create_segment(dir, next)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            opts,
            file,
            segment: next,
            done_pages: 0,
            page: vec![0u8; PAGE_SIZE].into_boxed_slice(),
            alloc: 0,
            flushed: 0,
            snappy: snap::raw::Encoder::new(),
            snappy_buf: Vec::new(),
            stats: WalStats::default(),
        })
    }

    /// The directory of the log.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether records are snappy-compressed.
    #[must_use]
    pub fn compress(&self) -> bool {
        self.opts.compress
    }

    /// The index of the segment being written.
    #[must_use]
    pub fn current_segment(&self) -> u32 {
        self.segment
    }

    fn pages_per_segment(&self) -> usize {
        self.opts.segment_size / PAGE_SIZE
    }

    /// Appends `records` in order. They are in the OS's hands when this returns (and on disk
    /// with [`WalOptions::sync_on_log`]).
    ///
    /// # Errors
    /// I/O errors, or a record larger than a segment.
    pub fn log(&mut self, records: &[&[u8]]) -> Result<(), TsdbError> {
        let res = self.log_all(records);
        self.stats.writes_failed += u64::from(res.is_err());
        res
    }

    /// What the log did so far.
    #[must_use]
    pub fn stats(&self) -> &WalStats {
        &self.stats
    }

    fn log_all(&mut self, records: &[&[u8]]) -> Result<(), TsdbError> {
        for rec in records {
            self.log_one(rec)?;
        }
        if self.alloc > self.flushed {
            self.flush_page(false)?;
        }
        if self.opts.sync_on_log {
            self.sync()?;
        }
        Ok(())
    }

    fn log_one(&mut self, rec: &[u8]) -> Result<(), TsdbError> {
        let mut compressed = false;
        if self.opts.compress && !rec.is_empty() {
            self.snappy_buf
                .resize(snap::raw::max_compress_len(rec.len()), 0);
            let n = self
                .snappy
                .compress(rec, &mut self.snappy_buf)
                .map_err(|e| TsdbError::corruption("snappy", e.to_string()))?;
            self.snappy_buf.truncate(n);
            compressed = n < rec.len();
        }
        let data = if compressed {
            std::mem::take(&mut self.snappy_buf)
        } else {
            rec.to_vec()
        };
        let res = self.write_fragments(&data, compressed);
        if compressed {
            self.snappy_buf = data;
        }
        res
    }

    fn write_fragments(&mut self, mut data: &[u8], compressed: bool) -> Result<(), TsdbError> {
        // Room left in this segment for payload, counting a header per remaining page.
        let mut left = (PAGE_SIZE - self.alloc).saturating_sub(RECORD_HEADER_SIZE);
        left += (PAGE_SIZE - RECORD_HEADER_SIZE)
            * (self.pages_per_segment().saturating_sub(self.done_pages + 1));
        if data.len() > left {
            self.next_segment()?;
        }
        let capacity = (PAGE_SIZE - RECORD_HEADER_SIZE) * self.pages_per_segment();
        if data.len() > capacity {
            return Err(TsdbError::corruption(
                self.dir.display().to_string(),
                format!("record of {} bytes is larger than a segment", data.len()),
            ));
        }
        let mut first = true;
        loop {
            let n = data.len().min(PAGE_SIZE - self.alloc - RECORD_HEADER_SIZE);
            let (part, rest) = data.split_at(n);
            let typ = match (first, rest.is_empty()) {
                (true, true) => Fragment::Full,
                (true, false) => Fragment::First,
                (false, true) => Fragment::Last,
                (false, false) => Fragment::Middle,
            };
            let mut typ = typ as u8;
            if compressed {
                typ |= SNAPPY_MASK;
            }
            let h = &mut self.page[self.alloc..self.alloc + RECORD_HEADER_SIZE];
            h[0] = typ;
            h[1..3].copy_from_slice(&(n as u16).to_be_bytes());
            h[3..7].copy_from_slice(&crc32c(part).to_be_bytes());
            self.alloc += RECORD_HEADER_SIZE;
            self.page[self.alloc..self.alloc + n].copy_from_slice(part);
            self.alloc += n;
            if PAGE_SIZE - self.alloc < RECORD_HEADER_SIZE {
                self.flush_page(true)?;
            }
            data = rest;
            first = false;
            if data.is_empty() {
                return Ok(());
            }
        }
    }

    /// Writes the unflushed part of the page; with `clear`, pads the page to its end with
    /// zeros and starts a fresh one.
    fn flush_page(&mut self, clear: bool) -> Result<(), TsdbError> {
        if clear {
            self.alloc = PAGE_SIZE;
        }
        let path = segment_name(&self.dir, self.segment);
        self.file
            .write_all(&self.page[self.flushed..self.alloc])
            .map_err(|e| TsdbError::io("write", &path, e))?;
        self.flushed = self.alloc;
        self.stats.page_flushes += 1;
        if clear {
            self.stats.completed_pages += 1;
            self.page.fill(0);
            self.alloc = 0;
            self.flushed = 0;
            self.done_pages += 1;
        }
        Ok(())
    }

    /// Closes the current segment (padding its last page) and starts the next one; returns
    /// the new segment's index.
    ///
    /// # Errors
    /// I/O errors.
    pub fn next_segment(&mut self) -> Result<u32, TsdbError> {
        if self.alloc > 0 {
            self.flush_page(true)?;
        }
        self.sync()?;
        self.segment += 1;
        self.file = create_segment(&self.dir, self.segment)?;
        self.done_pages = 0;
        Ok(self.segment)
    }

    /// Flushes the current segment to disk.
    ///
    /// # Errors
    /// I/O errors.
    pub fn sync(&mut self) -> Result<(), TsdbError> {
        let started = std::time::Instant::now();
        let res = self
            .file
            .sync_data()
            .map_err(|e| TsdbError::io("fsync", segment_name(&self.dir, self.segment), e));
        self.stats.fsyncs += 1;
        self.stats.fsync_seconds += started.elapsed().as_secs_f64();
        res
    }

    /// Deletes all segments before `index`.
    ///
    /// # Errors
    /// I/O errors.
    pub fn truncate(&mut self, index: u32) -> Result<(), TsdbError> {
        self.stats.truncations += 1;
        let res = self.remove_segments_before(index);
        self.stats.truncations_failed += u64::from(res.is_err());
        res
    }

    fn remove_segments_before(&mut self, index: u32) -> Result<(), TsdbError> {
        for seg in list_segments(&self.dir)? {
            if seg.index >= index {
                break;
            }
            std::fs::remove_file(&seg.path).map_err(|e| TsdbError::io("remove", &seg.path, e))?;
        }
        Ok(())
    }

    /// Pads and syncs the last page; the log must not be written after.
    ///
    /// # Errors
    /// I/O errors.
    pub fn close(&mut self) -> Result<(), TsdbError> {
        if self.alloc > 0 {
            self.flush_page(true)?;
        }
        self.sync()
    }
}

fn create_segment(dir: &Path, index: u32) -> Result<File, TsdbError> {
    let path = segment_name(dir, index);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| TsdbError::io("create segment", &path, e))?;
    // Make the new name durable so a crash cannot lose the segment itself.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(file)
}
