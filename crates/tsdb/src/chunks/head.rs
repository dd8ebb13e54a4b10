//! The head's chunk files (`<data>/chunks_head/000001` ...): full head chunks written once and
//! read back through memory maps, so the head keeps only references in memory.
//!
//! File: magic `0x0130BC91` (4 bytes), version 1, 3 bytes padding. Chunk: series ref (8 bytes),
//! mint (8), maxt (8), encoding (1), data length (uvarint), data, CRC32C of everything before
//! it in the chunk (4). Trailing zero bytes (files Prometheus preallocated) end a file.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use memmap2::Mmap;
use model::Timestamp;

use super::{
    CHUNKS_FORMAT_V1, MAX_CHUNK_LENGTH_FIELD_SIZE, SEGMENT_HEADER_SIZE, list_segment_files,
    mmap_file, segment_file,
};
use crate::chunkenc::Encoding;
use crate::encoding::{crc32c, read_uvarint};
use crate::error::TsdbError;

/// Magic number of head chunk files.
pub const MAGIC_HEAD_CHUNKS: u32 = 0x0130_BC91;

/// Prometheus's head chunk file size limit (128 MiB).
pub const MAX_HEAD_CHUNK_FILE_SIZE: u64 = 128 * 1024 * 1024;

/// Fixed bytes before a chunk's encoding: series ref, mint, maxt.
const CHUNK_PREFIX: usize = 8 + 8 + 8;

/// Upper bound of a chunk's bytes besides its data.
const MAX_META_SIZE: usize = CHUNK_PREFIX + 1 + MAX_CHUNK_LENGTH_FIELD_SIZE + 4;

/// Pending bytes that trigger a write to the file.
const WRITE_BUFFER_SIZE: usize = 4 * 1024 * 1024;
/// Chunks read through the maps before their pages are dropped from resident memory: what
/// stays resident is the pages of that many reads (and the kernel's read-around of each
/// fault), a few MiB in a compaction's order, instead of every page read.
const RELEASE_AFTER_READS: u32 = 4096;

/// A reference to a chunk in the head chunk files: `file sequence << 32 | offset`.
pub type HeadChunkRef = u64;

/// What [`HeadChunkFiles::iterate_all_chunks`] reports for each chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadChunkMeta {
    /// The series the chunk belongs to.
    pub series_ref: u64,
    /// Where the chunk is.
    pub chunk_ref: HeadChunkRef,
    /// First timestamp.
    pub min_time: Timestamp,
    /// Last timestamp.
    pub max_time: Timestamp,
    /// Encoding of the chunk.
    pub encoding: Encoding,
    /// Samples in the chunk (from its 2-byte header).
    pub num_samples: u16,
    /// Whether it is an out-of-order chunk (the encoding byte's high bit).
    pub ooo: bool,
}

/// Bit of the encoding byte marking an out-of-order chunk, as Prometheus sets it.
pub const OUT_OF_ORDER_MASK: u8 = 0b1000_0000;

struct Closed {
    map: Mmap,
    maxt: Timestamp,
}

struct Current {
    seq: u32,
    path: PathBuf,
    file: File,
    /// The file mapped read-only up to the size limit (as Prometheus maps the file it writes):
    /// chunks already in the file are read through it without a system call each (a head
    /// compaction reads every series' newest full chunk, mostly from this file). Only the
    /// first `flushed` bytes are ever read through it; `None` if mapping failed (reads then
    /// go to the file).
    map: Option<Mmap>,
    /// Bytes already in the file.
    flushed: u64,
    /// Bytes written but not yet in the file.
    pending: Vec<u8>,
    maxt: Timestamp,
}

impl Current {
    fn size(&self) -> u64 {
        self.flushed + self.pending.len() as u64
    }
}

/// The head chunk files of one directory: writer of new chunks and reader of all.
pub struct HeadChunkFiles {
    dir: PathBuf,
    max_file_size: u64,
    closed: BTreeMap<u32, Closed>,
    cur: Option<Current>,
    /// A flush of buffered chunks failed (a full disk) and has not succeeded since.
    flush_failing: bool,
    /// Chunks read through the maps since their pages were last dropped from the process's
    /// resident memory ([`HeadChunkFiles::release_mapped_pages`]).
    mapped_reads: std::cell::Cell<u32>,
}

impl std::fmt::Debug for HeadChunkFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HeadChunkFiles")
            .field("dir", &self.dir)
            .field("files", &self.closed.keys().collect::<Vec<_>>())
            .field("current", &self.cur.as_ref().map(|c| c.seq))
            .finish()
    }
}

impl HeadChunkFiles {
    /// Opens (creating it if needed) the directory `dir`: removes an empty last file, checks
    /// that files are consecutive and have valid headers, and maps them. New chunks go to a
    /// new file.
    ///
    /// # Errors
    /// I/O failures, gaps in the sequence, bad magic numbers or versions.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, TsdbError> {
        Self::with_max_file_size(dir, MAX_HEAD_CHUNK_FILE_SIZE)
    }

    /// As [`HeadChunkFiles::open`] with a custom file size limit (for tests).
    ///
    /// # Errors
    /// As [`HeadChunkFiles::open`].
    pub fn with_max_file_size(
        dir: impl Into<PathBuf>,
        max_file_size: u64,
    ) -> Result<Self, TsdbError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| TsdbError::io("create dir", &dir, e))?;
        let mut files = list_segment_files(&dir)?;
        if let Some((_, last)) = files.last() {
            let len = std::fs::metadata(last)
                .map_err(|e| TsdbError::io("stat", last, e))?
                .len();
            if len == 0 {
                std::fs::remove_file(last).map_err(|e| TsdbError::io("remove", last, e))?;
                files.pop();
            }
        }
        for w in files.windows(2) {
            if w[1].0 != w[0].0 + 1 {
                return Err(TsdbError::corruption(
                    dir.display().to_string(),
                    format!(
                        "found unsequential head chunk files {} and {}",
                        w[0].1.display(),
                        w[1].1.display()
                    ),
                ));
            }
        }
        let mut closed = BTreeMap::new();
        for (seq, path) in files {
            let len = std::fs::metadata(&path)
                .map_err(|e| TsdbError::io("stat", &path, e))?
                .len();
            if len < SEGMENT_HEADER_SIZE as u64 {
                return Err(head_corruption(&dir, seq, "invalid head chunk file header"));
            }
            let map = mmap_file(&path)?;
            let magic = u32::from_be_bytes([map[0], map[1], map[2], map[3]]);
            if magic != MAGIC_HEAD_CHUNKS {
                return Err(head_corruption(
                    &dir,
                    seq,
                    format!("invalid magic number {magic:x}"),
                ));
            }
            if map[4] != CHUNKS_FORMAT_V1 {
                return Err(head_corruption(
                    &dir,
                    seq,
                    format!("invalid chunk format version {}", map[4]),
                ));
            }
            closed.insert(
                seq,
                Closed {
                    map,
                    maxt: Timestamp::MIN,
                },
            );
        }
        Ok(Self {
            dir,
            max_file_size,
            closed,
            cur: None,
            mapped_reads: std::cell::Cell::new(0),
            flush_failing: false,
        })
    }

    /// The directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Total bytes of all files (pending writes included).
    #[must_use]
    pub fn size(&self) -> u64 {
        self.closed
            .values()
            .map(|c| c.map.len() as u64)
            .sum::<u64>()
            + self.cur.as_ref().map_or(0, Current::size)
    }

    /// Sequence numbers of the files, oldest first.
    #[must_use]
    pub fn file_sequences(&self) -> Vec<u32> {
        let mut v: Vec<u32> = self.closed.keys().copied().collect();
        v.extend(self.cur.as_ref().map(|c| c.seq));
        v
    }

    fn next_seq(&self) -> u32 {
        let last_closed = self.closed.keys().next_back().copied().unwrap_or(0);
        last_closed.max(self.cur.as_ref().map_or(0, |c| c.seq)) + 1
    }

    /// Finishes the current file (if any) and starts a new one.
    ///
    /// # Errors
    /// I/O failures.
    pub fn cut_new_file(&mut self) -> Result<(), TsdbError> {
        self.finish_current()?;
        let seq = self.next_seq();
        let path = segment_file(&self.dir, seq);
        let file = OpenOptions::new()
            .create_new(true)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|e| TsdbError::io("create", &path, e))?;
        let map = map_current(&file, self.max_file_size);
        let mut header = Vec::with_capacity(WRITE_BUFFER_SIZE);
        header.extend_from_slice(&MAGIC_HEAD_CHUNKS.to_be_bytes());
        header.extend_from_slice(&[CHUNKS_FORMAT_V1, 0, 0, 0]);
        self.cur = Some(Current {
            seq,
            path,
            file,
            map,
            flushed: 0,
            pending: header,
            maxt: Timestamp::MIN,
        });
        super::sync_dir(&self.dir)
    }

    fn finish_current(&mut self) -> Result<(), TsdbError> {
        self.flush()?;
        if let Some(cur) = &self.cur {
            // The file stays current until it is synced and mapped: chunks in it stay readable.
            cur.file
                .sync_all()
                .map_err(|e| TsdbError::io("fsync", &cur.path, e))?;
            let map = mmap_file(&cur.path)?;
            let cur = self.cur.take().expect("checked");
            self.closed.insert(
                cur.seq,
                Closed {
                    map,
                    maxt: cur.maxt,
                },
            );
        }
        Ok(())
    }

    /// Writes pending chunks to the current file (without fsync).
    ///
    /// # Errors
    /// I/O failures.
    pub fn flush(&mut self) -> Result<(), TsdbError> {
        if let Some(cur) = self.cur.as_mut().filter(|c| !c.pending.is_empty()) {
            // Written at its offset, so a write that failed part-way (a full disk) is
            // overwritten whole by the next attempt and references stay right.
            cur.file
                .write_all_at(&cur.pending, cur.flushed)
                .map_err(|e| TsdbError::io("write", &cur.path, e))?;
            cur.flushed += cur.pending.len() as u64;
            cur.pending.clear();
        }
        Ok(())
    }

    /// Writes a full chunk of series `series_ref` spanning `mint..=maxt`; returns its reference.
    ///
    /// # Errors
    /// I/O failures.
    pub fn write_chunk(
        &mut self,
        series_ref: u64,
        mint: Timestamp,
        maxt: Timestamp,
        enc: Encoding,
        data: &[u8],
    ) -> Result<HeadChunkRef, TsdbError> {
        self.write_chunk_byte(series_ref, mint, maxt, enc.as_u8(), data)
    }

    /// Writes a full out-of-order chunk (its encoding byte flagged with
    /// [`OUT_OF_ORDER_MASK`]); returns its reference.
    ///
    /// # Errors
    /// I/O failures.
    pub fn write_ooo_chunk(
        &mut self,
        series_ref: u64,
        mint: Timestamp,
        maxt: Timestamp,
        enc: Encoding,
        data: &[u8],
    ) -> Result<HeadChunkRef, TsdbError> {
        self.write_chunk_byte(
            series_ref,
            mint,
            maxt,
            enc.as_u8() | OUT_OF_ORDER_MASK,
            data,
        )
    }

    fn write_chunk_byte(
        &mut self,
        series_ref: u64,
        mint: Timestamp,
        maxt: Timestamp,
        enc: u8,
        data: &[u8],
    ) -> Result<HeadChunkRef, TsdbError> {
        let need = (data.len() + MAX_META_SIZE) as u64;
        let cut = match &self.cur {
            None => true,
            Some(c) => c.size() + need > self.max_file_size,
        };
        if cut {
            self.cut_new_file()?;
        }
        let cur = self.cur.as_mut().expect("current file after cut");
        let offset = cur.size();
        let start = cur.pending.len();
        cur.pending.extend_from_slice(&series_ref.to_be_bytes());
        cur.pending.extend_from_slice(&mint.to_be_bytes());
        cur.pending.extend_from_slice(&maxt.to_be_bytes());
        cur.pending.push(enc);
        crate::encoding::put_uvarint(&mut cur.pending, data.len() as u64);
        cur.pending.extend_from_slice(data);
        let crc = crc32c(&cur.pending[start..]);
        cur.pending.extend_from_slice(&crc.to_be_bytes());
        cur.maxt = cur.maxt.max(maxt);
        let r = (u64::from(cur.seq) << 32) | offset;
        if cur.pending.len() >= WRITE_BUFFER_SIZE {
            // The chunk is buffered and readable either way; a failed flush is retried at the
            // next chunk, written at the same offset.
            match self.flush() {
                Ok(()) if self.flush_failing => {
                    self.flush_failing = false;
                    tracing::info!(dir = %self.dir.display(), "head chunks written again");
                }
                Ok(()) => {}
                Err(e) if !self.flush_failing => {
                    self.flush_failing = true;
                    tracing::warn!(error = %e, "writing head chunks failed; kept buffered and retried");
                }
                Err(_) => {}
            }
        }
        Ok(r)
    }

    /// Reads chunk `r`: its encoding and a copy of its bytes, checksum verified.
    ///
    /// # Errors
    /// A reference to a missing file or outside it, truncated data, or a bad checksum.
    pub fn chunk(&self, r: HeadChunkRef) -> Result<(Encoding, Vec<u8>), TsdbError> {
        let seq = (r >> 32) as u32;
        let off = (r & 0xffff_ffff) as usize;
        if let Some(cur) = self.cur.as_ref().filter(|c| c.seq == seq) {
            if let Some(map) = &cur.map {
                // A chunk wholly in the file; else (partly pending, or corrupt: reported
                // below) it is read as the pending bytes are.
                let in_file =
                    &map[..usize::try_from(cur.flushed).map_or(map.len(), |f| f.min(map.len()))];
                if let Ok((meta, data, _)) = parse_chunk(in_file, off) {
                    let out = (meta.encoding, data.to_vec());
                    self.note_mapped_read();
                    return Ok(out);
                }
            }
            let off = off as u64;
            let head = read_range(
                cur,
                off,
                (CHUNK_PREFIX + 1 + MAX_CHUNK_LENGTH_FIELD_SIZE) as u64,
            )?;
            let (len, n) =
                read_uvarint(head.get(CHUNK_PREFIX + 1..).unwrap_or_default()).map_err(|e| {
                    head_corruption(&self.dir, seq, format!("reading chunk length: {e}"))
                })?;
            let total = (CHUNK_PREFIX + 1 + n) as u64 + len + 4;
            let bytes = read_range(cur, off, total)?;
            let (meta, data, _) =
                parse_chunk(&bytes, 0).map_err(|e| head_corruption(&self.dir, seq, e))?;
            return Ok((meta.encoding, data.to_vec()));
        }
        let Some(file) = self.closed.get(&seq) else {
            return Err(head_corruption(
                &self.dir,
                seq,
                format!("head chunk file index {seq} does not exist on disk"),
            ));
        };
        let (meta, data, _) =
            parse_chunk(&file.map, off).map_err(|e| head_corruption(&self.dir, seq, e))?;
        let out = (meta.encoding, data.to_vec());
        self.note_mapped_read();
        Ok(out)
    }

    /// Counts a chunk read through a map, dropping the maps' pages from resident memory
    /// every [`RELEASE_AFTER_READS`] reads.
    fn note_mapped_read(&self) {
        let n = self.mapped_reads.get() + 1;
        if n < RELEASE_AFTER_READS {
            self.mapped_reads.set(n);
        } else {
            self.release_mapped_pages();
        }
    }

    /// Drops the pages of the mapped files from the process's resident memory: they stay in
    /// the page cache, and a later read maps them again (a minor fault). A head compaction
    /// reads every series' newest full chunk through the maps, in label order, which is not
    /// the order of the files: without this, every page of the chunks it compacts stayed
    /// resident until the files were truncated (~100 MiB at 1M series).
    pub fn release_mapped_pages(&self) {
        self.mapped_reads.set(0);
        let maps = self.closed.values().map(|c| &c.map);
        for map in maps.chain(self.cur.as_ref().and_then(|c| c.map.as_ref())) {
            // SAFETY: the maps are shared read-only mappings of files; dropping their pages
            // changes no byte a reader sees (the next access maps the file's same bytes
            // again, which are never rewritten), and the mappings themselves stay.
            if let Err(e) = unsafe { map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) } {
                tracing::debug!(error = %e, "dropping the pages of a head chunk file");
            }
        }
    }

    /// Calls `f` for every chunk in every file, oldest first, and records each file's maxt
    /// (for [`HeadChunkFiles::truncate`]). Stops at the first error; corruption errors name
    /// the file ([`TsdbError::HeadChunkCorruption`]) so that [`HeadChunkFiles::delete_from`]
    /// can drop it and its successors.
    ///
    /// # Errors
    /// Corrupt files, or the first error `f` returns.
    pub fn iterate_all_chunks(
        &mut self,
        mut f: impl FnMut(HeadChunkMeta) -> Result<(), TsdbError>,
    ) -> Result<(), TsdbError> {
        self.flush()?;
        let dir = self.dir.clone();
        for (&seq, file) in &mut self.closed {
            let b = &file.map[..];
            let mut idx = SEGMENT_HEADER_SIZE;
            while idx < b.len() {
                if b.len() - idx < MAX_META_SIZE && b[idx..].iter().all(|&x| x == 0) {
                    break;
                }
                if b.len() - idx >= CHUNK_PREFIX
                    && b[idx..idx + CHUNK_PREFIX].iter().all(|&x| x == 0)
                {
                    // Preallocated space: series refs start at 1.
                    break;
                }
                let (mut meta, _, next) =
                    parse_chunk(b, idx).map_err(|e| head_corruption(&dir, seq, e))?;
                meta.chunk_ref = (u64::from(seq) << 32) | idx as u64;
                file.maxt = file.maxt.max(meta.max_time);
                f(meta)?;
                idx = next;
            }
        }
        if let Some(cur) = &self.cur {
            let bytes = read_range(cur, SEGMENT_HEADER_SIZE as u64, cur.size())?;
            let mut idx = 0;
            while idx < bytes.len() {
                let (mut meta, _, next) =
                    parse_chunk(&bytes, idx).map_err(|e| head_corruption(&dir, cur.seq, e))?;
                meta.chunk_ref = (u64::from(cur.seq) << 32) | (idx + SEGMENT_HEADER_SIZE) as u64;
                f(meta)?;
                idx = next;
            }
        }
        // Every page of every file was read: none needs to stay resident.
        self.release_mapped_pages();
        Ok(())
    }

    /// Deletes the files, oldest first, whose chunks all end before `mint`, stopping at the
    /// first that does not; the current file is finished first if it holds chunks.
    ///
    /// # Errors
    /// I/O failures.
    pub fn truncate(&mut self, mint: Timestamp) -> Result<(), TsdbError> {
        let remove: Vec<u32> = self
            .closed
            .iter()
            .take_while(|(_, c)| c.maxt < mint)
            .map(|(s, _)| *s)
            .collect();
        // Removed first: on a full disk that is the space the cut below needs.
        self.remove_files(&remove)?;
        if self
            .cur
            .as_ref()
            .is_some_and(|c| c.size() > SEGMENT_HEADER_SIZE as u64)
        {
            self.cut_new_file()?;
        }
        Ok(())
    }

    /// Deletes file `seq` and all later ones (after a corruption in `seq`).
    ///
    /// # Errors
    /// I/O failures.
    pub fn delete_from(&mut self, seq: u32) -> Result<(), TsdbError> {
        if self.cur.as_ref().is_some_and(|c| c.seq >= seq) {
            let cur = self.cur.take().expect("checked");
            drop(cur.file);
            std::fs::remove_file(&cur.path).map_err(|e| TsdbError::io("remove", &cur.path, e))?;
        }
        let remove: Vec<u32> = self.closed.range(seq..).map(|(s, _)| *s).collect();
        self.remove_files(&remove)
    }

    fn remove_files(&mut self, seqs: &[u32]) -> Result<(), TsdbError> {
        for &seq in seqs {
            self.closed.remove(&seq);
            let path = segment_file(&self.dir, seq);
            std::fs::remove_file(&path).map_err(|e| TsdbError::io("remove", &path, e))?;
        }
        Ok(())
    }

    /// Flushes and fsyncs the current file.
    ///
    /// # Errors
    /// I/O failures.
    pub fn close(mut self) -> Result<(), TsdbError> {
        self.flush()?;
        if let Some(cur) = &self.cur {
            cur.file
                .sync_all()
                .map_err(|e| TsdbError::io("fsync", &cur.path, e))?;
        }
        Ok(())
    }
}

fn head_corruption(dir: &Path, seq: u32, reason: impl std::fmt::Display) -> TsdbError {
    TsdbError::HeadChunkCorruption {
        dir: dir.to_path_buf(),
        seq,
        reason: reason.to_string(),
    }
}

/// The file being written, `file`, mapped read-only up to `max_file_size` bytes (past its
/// end for now); `None` when the mapping fails.
fn map_current(file: &File, max_file_size: u64) -> Option<Mmap> {
    let len = usize::try_from(max_file_size).ok()?;
    // SAFETY: the mapping is read only below the bytes already written to the file
    // (`Current::flushed`), which are never written again (writes go at or after
    // `flushed`), so no page past the file's end is touched (that would fault) and no read
    // races a write. As for `mmap_file`, another process truncating the file would be a
    // corrupted data directory.
    unsafe { memmap2::MmapOptions::new().len(len).map(file) }
        .inspect_err(|e| tracing::debug!(error = %e, "mapping the head chunk file being written"))
        .ok()
}

/// Up to `len` bytes of the current file from `off` (read back from the file, then from the
/// pending bytes); fewer at its end.
fn read_range(cur: &Current, off: u64, len: u64) -> Result<Vec<u8>, TsdbError> {
    let end = (off + len).min(cur.size());
    let mut out = Vec::with_capacity(end.saturating_sub(off) as usize);
    if off < cur.flushed {
        let mut buf = vec![0u8; (end.min(cur.flushed) - off) as usize];
        cur.file
            .read_exact_at(&mut buf, off)
            .map_err(|e| TsdbError::io("read", &cur.path, e))?;
        out = buf;
    }
    if end > cur.flushed {
        let from = off.max(cur.flushed) - cur.flushed;
        out.extend_from_slice(&cur.pending[from as usize..(end - cur.flushed) as usize]);
    }
    Ok(out)
}

/// Parses the chunk at `idx` of `b`: its metadata (without `chunk_ref`), its data and the
/// index after it. The checksum is verified.
fn parse_chunk(b: &[u8], idx: usize) -> Result<(HeadChunkMeta, &[u8], usize), String> {
    let head = b.get(idx..idx + CHUNK_PREFIX + 1).ok_or_else(|| {
        format!(
            "head chunk file doesn't include enough bytes to read the chunk header at offset {idx}"
        )
    })?;
    let be = |i: usize| {
        let mut a = [0u8; 8];
        a.copy_from_slice(&head[i..i + 8]);
        u64::from_be_bytes(a)
    };
    let series_ref = be(0);
    let mint = be(8) as i64;
    let maxt = be(16) as i64;
    let enc_byte = head[CHUNK_PREFIX];
    let len_at = idx + CHUNK_PREFIX + 1;
    let (len, n) = read_uvarint(&b[len_at.min(b.len())..])
        .map_err(|e| format!("reading chunk length: {e}"))?;
    let data_start = len_at + n;
    // A corrupt length may be anything up to 2^64 - 1: compared without overflowing.
    let required = usize::try_from(len)
        .ok()
        .and_then(|len| data_start.checked_add(len)?.checked_add(4))
        .filter(|&required| required <= b.len());
    let Some(data_end) = required.map(|required| required - 4) else {
        return Err(format!(
            "head chunk file doesn't include enough bytes to read the chunk - required:{}, available:{}",
            (data_start as u64).saturating_add(len).saturating_add(4),
            b.len()
        ));
    };
    let stored = u32::from_be_bytes([
        b[data_end],
        b[data_end + 1],
        b[data_end + 2],
        b[data_end + 3],
    ]);
    let computed = crc32c(&b[idx..data_end]);
    if stored != computed {
        return Err(format!(
            "checksum mismatch expected:{stored:08x}, actual:{computed:08x}"
        ));
    }
    let ooo = enc_byte & OUT_OF_ORDER_MASK != 0;
    let encoding = Encoding::from_u8(enc_byte & !OUT_OF_ORDER_MASK)
        .ok_or_else(|| format!("unknown chunk encoding {enc_byte}"))?;
    let data = &b[data_start..data_end];
    let num_samples = if data.len() >= 2 {
        u16::from_be_bytes([data[0], data[1]])
    } else {
        0
    };
    let meta = HeadChunkMeta {
        series_ref,
        chunk_ref: 0,
        min_time: mint,
        max_time: maxt,
        encoding,
        num_samples,
        ooo,
    };
    Ok((meta, data, data_end + 4))
}
