//! Reads a segment that may still be written: records are returned as soon as they are
//! whole in the file, and a record (or padded page) that is not yet complete is "not yet",
//! not corruption, so the caller can wait and call again (Prometheus's `tsdb/wlog/live_reader.go`,
//! used by remote write's WAL watcher).
//!
//! The reader can start at any record boundary (a position saved earlier), and reports the
//! offset where each record starts and where the next one begins.

use std::fs::File;
use std::io::{ErrorKind, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::encoding::crc32c;
use crate::error::TsdbError;
use crate::wal::{Fragment, PAGE_SIZE, RECORD_HEADER_SIZE, SNAPPY_MASK, ZSTD_MASK};

/// Bytes read from the file at a time.
const READ_CHUNK: usize = 256 * 1024;

/// A record read by [`LiveReader::next_record`].
#[derive(Debug, Clone, Copy)]
pub struct LiveRecord<'a> {
    /// Offset in the segment where the record's first fragment starts.
    pub start: u64,
    /// Offset just after the record (where the next record or padding starts).
    pub end: u64,
    /// The record's payload, decompressed.
    pub data: &'a [u8],
}

/// Tails one segment file.
pub struct LiveReader {
    path: PathBuf,
    file: File,
    /// Bytes read from the file and not yet consumed; `buf[0]` is at offset `buf_off`.
    buf: Vec<u8>,
    buf_off: u64,
    /// Offset of the first byte not consumed (a record boundary).
    off: u64,
    rec: Vec<u8>,
    compressed: Vec<u8>,
    snappy: snap::raw::Decoder,
}

impl std::fmt::Debug for LiveReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveReader")
            .field("path", &self.path)
            .field("offset", &self.off)
            .finish_non_exhaustive()
    }
}

/// How far parsing from the current offset got.
enum Parse {
    /// A whole record: its start, its end, whether it is compressed (payload in `rec` or
    /// `compressed`).
    Record { start: u64, end: u64, snappy: bool },
    /// Padding up to a page end was skipped (new offset).
    Skipped(u64),
    /// More bytes are needed.
    Incomplete,
}

impl LiveReader {
    /// Opens the segment at `path` to read from `offset`, which must be a record boundary
    /// (0, or a [`LiveRecord::end`] of an earlier read).
    ///
    /// # Errors
    /// I/O errors opening or seeking the file.
    pub fn open(path: &Path, offset: u64) -> Result<Self, TsdbError> {
        let mut file = File::open(path).map_err(|e| TsdbError::io("open segment", path, e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| TsdbError::io("seek", path, e))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            buf: Vec::new(),
            buf_off: offset,
            off: offset,
            rec: Vec::new(),
            compressed: Vec::new(),
            snappy: snap::raw::Decoder::new(),
        })
    }

    /// Offset of the next record boundary not yet read.
    #[must_use]
    pub fn offset(&self) -> u64 {
        self.off
    }

    /// The segment's path.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether bytes past [`LiveReader::offset`] were read but do not yet form a record (a
    /// torn tail when the segment is known to be finished).
    #[must_use]
    pub fn has_partial(&self) -> bool {
        self.buf.len() as u64 > self.off - self.buf_off
    }

    fn corruption(&self, offset: u64, reason: impl Into<String>) -> TsdbError {
        let segment = self
            .path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        TsdbError::WalCorruption {
            path: self.path.clone(),
            segment,
            offset,
            reason: reason.into(),
        }
    }

    /// Reads what the file holds beyond the buffer; the number of new bytes.
    fn fill(&mut self) -> Result<usize, TsdbError> {
        // Drop consumed bytes first.
        let consumed = usize::try_from(self.off - self.buf_off).unwrap_or(usize::MAX);
        if consumed > 0 {
            self.buf.drain(..consumed.min(self.buf.len()));
            self.buf_off = self.off;
        }
        let mut total = 0;
        loop {
            let len = self.buf.len();
            self.buf.resize(len + READ_CHUNK, 0);
            match self.file.read(&mut self.buf[len..]) {
                Ok(n) => {
                    self.buf.truncate(len + n);
                    total += n;
                    if n == 0 || total >= 4 * READ_CHUNK {
                        return Ok(total);
                    }
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => self.buf.truncate(len),
                Err(e) => {
                    self.buf.truncate(len);
                    return Err(TsdbError::io("read", &self.path, e));
                }
            }
        }
    }

    /// The next whole record, or `None` when the file holds no further whole record yet
    /// (call again after the writer wrote more).
    ///
    /// # Errors
    /// [`TsdbError::WalCorruption`] for damaged data (the reader must not be used after),
    /// I/O errors.
    pub fn next_record(&mut self) -> Result<Option<LiveRecord<'_>>, TsdbError> {
        let mut filled = false;
        loop {
            match self.parse()? {
                Parse::Record { start, end, snappy } => {
                    self.off = end;
                    if snappy {
                        let n = snap::raw::decompress_len(&self.compressed)
                            .map_err(|e| self.corruption(start, format!("snappy: {e}")))?;
                        if n > self.compressed.len().saturating_mul(22).saturating_add(64) {
                            return Err(self.corruption(start, "snappy: impossible length"));
                        }
                        self.rec.resize(n, 0);
                        self.snappy
                            .decompress(&self.compressed, &mut self.rec)
                            .map_err(|e| self.corruption(start, format!("snappy: {e}")))?;
                    }
                    return Ok(Some(LiveRecord {
                        start,
                        end,
                        data: &self.rec,
                    }));
                }
                Parse::Skipped(to) => self.off = to,
                Parse::Incomplete => {
                    if filled || self.fill()? == 0 {
                        return Ok(None);
                    }
                    filled = true;
                }
            }
        }
    }

    /// Parses from `self.off` in the buffer without consuming.
    fn parse(&mut self) -> Result<Parse, TsdbError> {
        self.rec.clear();
        self.compressed.clear();
        let base = self.buf_off;
        let mut at = self.off;
        let mut fragments = 0usize;
        let mut snappy = false;
        loop {
            let i = usize::try_from(at - base).unwrap_or(usize::MAX);
            let Some(&tb) = self.buf.get(i) else {
                return Ok(Parse::Incomplete);
            };
            let page_left = PAGE_SIZE - (at as usize % PAGE_SIZE);
            if tb & ZSTD_MASK != 0 {
                return Err(self.corruption(at, "zstd-compressed records are not supported"));
            }
            let Some(typ) = Fragment::from_byte(tb) else {
                return Err(self.corruption(at, format!("unexpected record type {tb:#04x}")));
            };
            if typ == Fragment::PageTerm {
                // The writer pads the whole rest of the page at once: wait until it is there.
                let Some(pad) = self.buf.get(i..i + page_left) else {
                    return Ok(Parse::Incomplete);
                };
                if pad.iter().any(|&b| b != 0) {
                    return Err(self.corruption(at, "unexpected non-zero byte in padded page"));
                }
                if fragments > 0 {
                    return Err(self.corruption(self.off, "padding inside a record"));
                }
                return Ok(Parse::Skipped(at + page_left as u64));
            }
            let Some(h) = self.buf.get(i..i + RECORD_HEADER_SIZE) else {
                return Ok(Parse::Incomplete);
            };
            let len = usize::from(u16::from_be_bytes([h[1], h[2]]));
            let crc = u32::from_be_bytes([h[3], h[4], h[5], h[6]]);
            if len > page_left - RECORD_HEADER_SIZE {
                return Err(self.corruption(at, format!("invalid record size {len}")));
            }
            let Some(data) = self
                .buf
                .get(i + RECORD_HEADER_SIZE..i + RECORD_HEADER_SIZE + len)
            else {
                return Ok(Parse::Incomplete);
            };
            let computed = crc32c(data);
            if computed != crc {
                return Err(self.corruption(
                    at,
                    format!("unexpected checksum {computed:08x}, expected {crc:08x}"),
                ));
            }
            match (typ, fragments) {
                (Fragment::Full | Fragment::First, 0)
                | (Fragment::Middle | Fragment::Last, 1..) => {}
                (t, _) => {
                    return Err(self.corruption(at, format!("unexpected {t:?} fragment")));
                }
            }
            if fragments == 0 {
                snappy = tb & SNAPPY_MASK != 0;
            }
            if snappy {
                self.compressed.extend_from_slice(data);
            } else {
                self.rec.extend_from_slice(data);
            }
            fragments += 1;
            at += (RECORD_HEADER_SIZE + len) as u64;
            if matches!(typ, Fragment::Full | Fragment::Last) {
                return Ok(Parse::Record {
                    start: self.off,
                    end: at,
                    snappy,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::{Wal, WalOptions, WalReader, segment_name};

    fn records(n: usize, size: usize) -> Vec<Vec<u8>> {
        (0..n)
            .map(|i| {
                (0..size + i * 7)
                    .map(|j| u8::try_from((i * 31 + j) % 251).unwrap())
                    .collect()
            })
            .collect()
    }

    #[test]
    fn live_reader_follows_a_segment_being_written_and_resumes_at_an_offset() {
        for compress in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let mut w = Wal::open(
                dir.path(),
                WalOptions {
                    compress,
                    ..WalOptions::default()
                },
            )
            .unwrap();
            let seg = segment_name(dir.path(), w.current_segment());
            let mut r = LiveReader::open(&seg, 0).unwrap();
            assert!(r.next_record().unwrap().is_none());
            // Records of every size, some crossing pages, written in steps; the reader sees
            // each as soon as it is written.
            let recs = records(40, 3000);
            let mut ends = Vec::new();
            for (i, rec) in recs.iter().enumerate() {
                w.log(&[rec]).unwrap();
                let got = r.next_record().unwrap().expect("record written");
                assert_eq!(got.data, rec.as_slice(), "record {i} compress={compress}");
                ends.push(got.end);
                assert!(r.next_record().unwrap().is_none());
            }
            // A big record spanning several pages.
            let big = records(1, 100_000).remove(0);
            w.log(&[&big]).unwrap();
            assert_eq!(r.next_record().unwrap().unwrap().data, big.as_slice());
            // Resuming at a saved boundary yields the records after it.
            let mut again = LiveReader::open(&seg, ends[19]).unwrap();
            for rec in &recs[20..] {
                assert_eq!(again.next_record().unwrap().unwrap().data, rec.as_slice());
            }
            assert_eq!(again.next_record().unwrap().unwrap().data, big.as_slice());
            // After the segment is cut (its last page padded), the padding is skipped and the
            // closed segment reads like the full reader reads it.
            w.next_segment().unwrap();
            assert!(r.next_record().unwrap().is_none());
            assert!(!r.has_partial());
            let mut full = WalReader::open_range(dir.path(), Some(0), Some(0)).unwrap();
            let mut n = 0;
            while full.next_record().unwrap().is_some() {
                n += 1;
            }
            assert_eq!(n, recs.len() + 1);
        }
    }

    #[test]
    fn live_reader_waits_for_a_torn_record_and_reports_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("00000000");
        let mut w = Wal::open(
            dir.path(),
            WalOptions {
                compress: false,
                ..WalOptions::default()
            },
        )
        .unwrap();
        w.log(&[b"hello", b"world"]).unwrap();
        let whole = std::fs::read(&path).unwrap();
        // Only part of the second record is in the file: the first is read, then "not yet".
        let torn = dir.path().join("torn");
        std::fs::write(&torn, &whole[..whole.len() - 2]).unwrap();
        let mut r = LiveReader::open(&torn, 0).unwrap();
        assert_eq!(r.next_record().unwrap().unwrap().data, b"hello");
        assert!(r.next_record().unwrap().is_none());
        assert!(r.has_partial());
        // The rest arrives.
        use std::io::Write;
        std::fs::OpenOptions::new()
            .append(true)
            .open(&torn)
            .unwrap()
            .write_all(&whole[whole.len() - 2..])
            .unwrap();
        assert_eq!(r.next_record().unwrap().unwrap().data, b"world");
        // A flipped byte is corruption naming the offset.
        let mut bad = whole.clone();
        let last = bad.len() - 1;
        bad[last] ^= 0xff;
        std::fs::write(&torn, &bad).unwrap();
        let mut r = LiveReader::open(&torn, 0).unwrap();
        r.next_record().unwrap().unwrap();
        let err = r.next_record().unwrap_err();
        assert!(err.to_string().contains("checksum"), "{err}");
    }
}
