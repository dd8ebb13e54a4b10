//! Appends records to the log: fragments them into pages, compresses them with snappy when
//! that makes them smaller, and starts a new segment when one is full (Prometheus's
//! `tsdb/wlog/wlog.go`).
//!
//! A call that fails (a full disk, an I/O error) leaves no trace: the segment is cut back to
//! where the call started and the page restored, so the next call retries from a clean state
//! and a failed commit's records never reach the log half-written.

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

/// Bytes of the compression buffer kept from one record to the next: one sized for the
/// largest record ever written stayed allocated (6.7 MB after a commit of 30k new series).
const KEEP_SNAPPY_BUF: usize = 1 << 20;

/// A write-ahead log open for appending. Opening always starts a new segment after the
/// newest existing one, so a torn tail of the previous run is never written after.
pub struct Wal {
    dir: PathBuf,
    opts: WalOptions,
    file: SegmentFile,
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
    /// The page as it was when the current call started (its first `mark.alloc` bytes).
    saved_page: Box<[u8]>,
    /// A failed call whose undo failed too: retried before anything else is written.
    broken: Option<Mark>,
    /// Calls failed in a row (one warning per episode, one notice when writes resume).
    failing: u64,
    /// `fsync` durations for the quantiles of `fsync_duration_seconds`.
    fsync_duration: metrics::Summary,
}

/// Where the writer stood when a call started: what a failed call returns to.
#[derive(Debug, Clone, Copy)]
struct Mark {
    segment: u32,
    done_pages: usize,
    alloc: usize,
    flushed: usize,
}

impl Mark {
    /// Bytes of the segment file written at this mark.
    fn file_len(self) -> u64 {
        (self.done_pages * PAGE_SIZE + self.flushed) as u64
    }
}

/// A segment file open for appending. `write` reports how much reached the file even when
/// it fails part-way, so a failed call can be undone exactly.
struct SegmentFile {
    file: File,
    /// Bytes that may still be written, across segments, before writes fail with "no space
    /// left on device"; `None` never fails (tests set it to simulate a full disk).
    #[cfg(test)]
    budget: Option<usize>,
}

impl SegmentFile {
    fn new(file: File) -> Self {
        Self {
            file,
            #[cfg(test)]
            budget: None,
        }
    }

    /// Writes all of `buf`, continuing after short writes. A failure may leave part of it in
    /// the file: the caller cuts the file back to its known length.
    fn write_all(&mut self, mut buf: &[u8]) -> Result<(), std::io::Error> {
        while !buf.is_empty() {
            #[cfg(test)]
            let buf_now = match self.budget {
                Some(0) => return Err(std::io::Error::from_raw_os_error(28)),
                Some(b) => &buf[..b.min(buf.len())],
                None => buf,
            };
            #[cfg(not(test))]
            let buf_now = buf;
            match self.file.write(buf_now) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    #[cfg(test)]
                    if let Some(b) = &mut self.budget {
                        *b -= n;
                    }
                    buf = &buf[n..];
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
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
        let file = SegmentFile::new(create_segment(dir, next)?);
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
            saved_page: vec![0u8; PAGE_SIZE].into_boxed_slice(),
            broken: None,
            failing: 0,
            fsync_duration: metrics::Summary::new(&metrics::SummaryOpts::new(
                metrics::DEFAULT_OBJECTIVES,
            )),
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

    /// The segment being written and the bytes written to it so far (records end there):
    /// where a chunk snapshot says the log continues (Prometheus's
    /// `LastSegmentAndOffset`).
    #[must_use]
    pub fn last_segment_and_offset(&self) -> (u32, u64) {
        (
            self.segment,
            (self.done_pages * PAGE_SIZE + self.alloc) as u64,
        )
    }

    fn pages_per_segment(&self) -> usize {
        self.opts.segment_size / PAGE_SIZE
    }

    /// Appends `records` in order. They are in the OS's hands when this returns (and on disk
    /// with [`WalOptions::sync_on_log`]). On error none of them is in the log, and the log
    /// can be written again (when space returns, for a full disk).
    ///
    /// # Errors
    /// I/O errors, or a record larger than a segment.
    pub fn log(&mut self, records: &[&[u8]]) -> Result<(), TsdbError> {
        let res = self.transact(|w| w.log_all(records));
        self.stats.writes_failed += u64::from(res.is_err());
        match &res {
            Err(e) => {
                if self.failing == 0 {
                    tracing::warn!(dir = %self.dir.display(), error = %e,
                        "WAL write failed; the commit is refused and later writes are retried");
                }
                self.failing += 1;
            }
            Ok(()) if self.failing > 0 => {
                tracing::info!(dir = %self.dir.display(), failed = self.failing,
                    "WAL writes succeed again");
                self.failing = 0;
            }
            Ok(()) => {}
        }
        res
    }

    /// Runs `f`; when it fails, undoes what it wrote (see [`Wal::undo`]).
    fn transact<T>(
        &mut self,
        f: impl FnOnce(&mut Self) -> Result<T, TsdbError>,
    ) -> Result<T, TsdbError> {
        if let Some(mark) = self.broken {
            self.undo(mark)?;
        }
        let mark = Mark {
            segment: self.segment,
            done_pages: self.done_pages,
            alloc: self.alloc,
            flushed: self.flushed,
        };
        self.saved_page[..mark.alloc].copy_from_slice(&self.page[..mark.alloc]);
        let res = f(self);
        if res.is_err() {
            // The caller sees the first error; an undo that fails is retried at the next call.
            let _ = self.undo(mark);
        }
        res
    }

    /// Returns to `mark`: deletes segments started since, cuts the segment back to the
    /// length it had and restores the page. Until this succeeds nothing else is written.
    fn undo(&mut self, mark: Mark) -> Result<(), TsdbError> {
        self.broken = Some(mark);
        if self.segment != mark.segment {
            for index in mark.segment + 1..=self.segment {
                let path = segment_name(&self.dir, index);
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                        return Err(TsdbError::io("remove", &path, e));
                    }
                    _ => {}
                }
            }
            let path = segment_name(&self.dir, mark.segment);
            let file = OpenOptions::new()
                .append(true)
                .open(&path)
                .map_err(|e| TsdbError::io("open segment", &path, e))?;
            self.file.file = file;
            self.segment = mark.segment;
        }
        let path = segment_name(&self.dir, self.segment);
        self.file
            .file
            .set_len(mark.file_len())
            .map_err(|e| TsdbError::io("truncate", &path, e))?;
        self.page.fill(0);
        self.page[..mark.alloc].copy_from_slice(&self.saved_page[..mark.alloc]);
        self.done_pages = mark.done_pages;
        self.alloc = mark.alloc;
        self.flushed = mark.flushed;
        self.broken = None;
        Ok(())
    }

    /// What the log did so far.
    #[must_use]
    pub fn stats(&self) -> &WalStats {
        &self.stats
    }

    /// The 0.5, 0.9 and 0.99 quantiles of recent `fsync` durations in seconds (NaN before
    /// the first), as Prometheus's `fsync_duration_seconds` summary shows them.
    #[must_use]
    pub fn fsync_quantiles(&self) -> Vec<(f64, f64)> {
        self.fsync_duration.quantiles()
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
        if self.snappy_buf.capacity() > KEEP_SNAPPY_BUF {
            // A record of many new series (a first scrape, a deploy of a large target) is
            // rare: its buffer is not kept for the samples' records that follow.
            self.snappy_buf.clear();
            self.snappy_buf.shrink_to(KEEP_SNAPPY_BUF);
        }
        res
    }

    fn write_fragments(&mut self, mut data: &[u8], compressed: bool) -> Result<(), TsdbError> {
        // Room left in this segment for payload, counting a header per remaining page.
        let mut left = (PAGE_SIZE - self.alloc).saturating_sub(RECORD_HEADER_SIZE);
        left += (PAGE_SIZE - RECORD_HEADER_SIZE)
            * (self.pages_per_segment().saturating_sub(self.done_pages + 1));
        if data.len() > left {
            self.cut_segment()?;
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
    /// the new segment's index. On error the log stays in the current segment.
    ///
    /// # Errors
    /// I/O errors.
    pub fn next_segment(&mut self) -> Result<u32, TsdbError> {
        self.transact(Self::cut_segment)
    }

    fn cut_segment(&mut self) -> Result<u32, TsdbError> {
        if self.alloc > 0 {
            self.flush_page(true)?;
        }
        self.sync()?;
        let file = create_segment(&self.dir, self.segment + 1)?;
        self.segment += 1;
        self.file.file = file;
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
            .file
            .sync_data()
            .map_err(|e| TsdbError::io("fsync", segment_name(&self.dir, self.segment), e));
        self.stats.fsyncs += 1;
        self.stats.fsync_seconds += started.elapsed().as_secs_f64();
        self.fsync_duration.observe_duration(started.elapsed());
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
        self.transact(|w| {
            if w.alloc > 0 {
                w.flush_page(true)?;
            }
            w.sync()
        })
    }
}

fn create_segment(dir: &Path, index: u32) -> Result<File, TsdbError> {
    let path = segment_name(dir, index);
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(|e| TsdbError::io("create segment", &path, e))?;
    // Make the new name durable so a crash cannot lose the segment itself; a directory that
    // cannot be synced is an error, not a segment that may vanish.
    if let Err(e) = crate::chunks::sync_dir(dir) {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::WalReader;

    /// Records of sizes from empty to several pages, deterministic from `seed`,
    /// of bytes snappy cannot shrink much.
    fn records(n: usize, seed: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                let len = match (i + seed) % 5 {
                    0 => 0,
                    1 => 2 * PAGE_SIZE + 123 * (i + 1),
                    _ => 40 + 97 * i,
                };
                // Pseudo-random bytes, so snappy cannot shrink them much.
                let mut x = (i * 1_000 + seed) as u64 | 1;
                (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        (x >> 24) as u8
                    })
                    .collect()
            })
            .collect()
    }

    fn read_all(dir: &Path) -> Vec<Vec<u8>> {
        let mut r = WalReader::open_dir(dir).unwrap();
        let mut out = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            out.push(rec.to_vec());
        }
        out
    }

    fn log(w: &mut Wal, recs: &[Vec<u8>]) -> Result<(), TsdbError> {
        let slices: Vec<&[u8]> = recs.iter().map(Vec::as_slice).collect();
        w.log(&slices)
    }

    /// A disk that fills part-way through a call (within a page, at a page's end, while
    /// cutting a segment) refuses that call and all while it stays full, never panics, and
    /// the log holds exactly the calls that succeeded once space returns.
    #[test]
    fn failed_writes_leave_no_trace_and_are_retried() {
        // Budgets in bytes before the disk is "full": inside the first page, just past a
        // page boundary, and deep into a later segment.
        for (case, budget) in [1usize, 5_000, PAGE_SIZE + 9, 3 * PAGE_SIZE + 1, 200_000]
            .into_iter()
            .enumerate()
        {
            for compress in [false, true] {
                let dir = tempfile::tempdir().unwrap();
                let opts = WalOptions {
                    segment_size: 4 * PAGE_SIZE,
                    compress,
                    sync_on_log: false,
                };
                let mut w = Wal::open(dir.path(), opts).unwrap();
                let mut acked = Vec::new();
                for round in 0..3 {
                    let recs = records(4, round);
                    log(&mut w, &recs).unwrap();
                    acked.extend(recs);
                }
                w.file.budget = Some(budget);
                let mut failed = 0;
                for round in 3..12 {
                    let recs = records(4, round);
                    match log(&mut w, &recs) {
                        Ok(()) => acked.extend(recs),
                        Err(e) => {
                            failed += 1;
                            assert!(e.to_string().contains("No space left"), "{e}");
                        }
                    }
                }
                assert!(failed > 0, "case {case}: the disk never filled");
                assert_eq!(w.stats().writes_failed, failed);
                // Space returns: the same writer goes on.
                w.file.budget = None;
                for round in 12..15 {
                    let recs = records(4, round);
                    log(&mut w, &recs).unwrap();
                    acked.extend(recs);
                }
                w.close().unwrap();
                let got = read_all(dir.path());
                assert_eq!(got.len(), acked.len(), "case {case} compress {compress}");
                assert!(
                    got == acked,
                    "case {case} compress {compress}: records differ"
                );
            }
        }
    }

    /// A segment cut that fails (no space for the previous page's padding) keeps writing
    /// into the current segment afterwards, with no empty segment left behind.
    #[test]
    fn failed_segment_cut_stays_in_the_segment() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Wal::open(dir.path(), WalOptions::default()).unwrap();
        log(&mut w, &records(2, 2)).unwrap();
        w.file.budget = Some(10);
        assert!(w.next_segment().is_err());
        assert_eq!(w.current_segment(), 0);
        w.file.budget = None;
        log(&mut w, &records(2, 3)).unwrap();
        assert_eq!(w.next_segment().unwrap(), 1);
        w.close().unwrap();
        let mut want = records(2, 2);
        want.extend(records(2, 3));
        assert!(read_all(dir.path()) == want);
    }
}
