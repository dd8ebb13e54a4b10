//! A block's chunk segment files (`<block>/chunks/000001` ...): a header (magic `0x85BD40DD`,
//! version 1, 3 bytes padding) then chunks as `len uvarint | encoding byte | data |
//! crc32c(encoding | data)`, at most 512 MiB per segment.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use memmap2::Mmap;

use super::{
    CHUNKS_FORMAT_V1, ChunkRef, SEGMENT_HEADER_SIZE, chunk_ref, list_segment_files, mmap_file,
    segment_file, sync_dir, unpack_chunk_ref,
};
use crate::chunkenc::Encoding;
use crate::encoding::{Decbuf, crc32c, crc32c_append, put_uvarint};
use crate::error::TsdbError;

/// Magic number of block chunk segment files.
pub const MAGIC_CHUNKS: u32 = 0x85BD_40DD;

/// Prometheus's segment size limit (512 MiB).
pub const DEFAULT_SEGMENT_SIZE: u64 = 512 * 1024 * 1024;

/// Writes chunks into numbered segment files of one directory.
pub struct SegmentWriter {
    dir: PathBuf,
    segment_size: u64,
    /// Segment files written, in order; the last one is open.
    files: Vec<PathBuf>,
    cur: Option<BufWriter<File>>,
    /// Bytes written to the open segment.
    n: u64,
    buf: Vec<u8>,
}

impl SegmentWriter {
    /// A writer creating segments in `dir` (created if missing), with Prometheus's 512 MiB
    /// segment size.
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn new(dir: impl Into<PathBuf>) -> Result<Self, TsdbError> {
        Self::with_segment_size(dir, DEFAULT_SEGMENT_SIZE)
    }

    /// A writer with a custom segment size (tests use small ones).
    ///
    /// # Errors
    /// When the directory cannot be created.
    pub fn with_segment_size(
        dir: impl Into<PathBuf>,
        segment_size: u64,
    ) -> Result<Self, TsdbError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| TsdbError::io("create dir", &dir, e))?;
        Ok(Self {
            dir,
            segment_size,
            files: Vec::new(),
            cur: None,
            n: 0,
            buf: Vec::new(),
        })
    }

    fn finish_current(&mut self) -> Result<(), TsdbError> {
        if let Some(w) = self.cur.take() {
            let path = self.files.last().cloned().unwrap_or_default();
            let f = w
                .into_inner()
                .map_err(|e| TsdbError::io("flush", &path, e.into_error()))?;
            f.sync_all().map_err(|e| TsdbError::io("fsync", &path, e))?;
        }
        Ok(())
    }

    fn cut(&mut self) -> Result<(), TsdbError> {
        self.finish_current()?;
        let seq = self.files.len() as u32 + 1;
        let path = segment_file(&self.dir, seq);
        let f = File::create(&path).map_err(|e| TsdbError::io("create", &path, e))?;
        let mut w = BufWriter::with_capacity(1 << 20, f);
        let mut header = [0u8; SEGMENT_HEADER_SIZE];
        header[..4].copy_from_slice(&MAGIC_CHUNKS.to_be_bytes());
        header[4] = CHUNKS_FORMAT_V1;
        w.write_all(&header)
            .map_err(|e| TsdbError::io("write", &path, e))?;
        self.files.push(path);
        self.cur = Some(w);
        self.n = SEGMENT_HEADER_SIZE as u64;
        Ok(())
    }

    /// Appends one chunk and returns its reference.
    ///
    /// # Errors
    /// I/O failures, or a chunk too large for a segment.
    pub fn write_chunk(&mut self, enc: Encoding, data: &[u8]) -> Result<ChunkRef, TsdbError> {
        self.buf.clear();
        put_uvarint(&mut self.buf, data.len() as u64);
        self.buf.push(enc.as_u8());
        let size = (self.buf.len() + data.len() + 4) as u64;
        if SEGMENT_HEADER_SIZE as u64 + size > self.segment_size.min(u64::from(u32::MAX)) {
            return Err(TsdbError::Chunk(format!(
                "chunk of {} bytes exceeds the segment size",
                data.len()
            )));
        }
        if self.cur.is_none() || self.n + size > self.segment_size {
            self.cut()?;
        }
        let seg = self.files.len() as u32 - 1;
        let r = chunk_ref(seg, self.n as u32);
        let crc = crc32c_append(crc32c(&self.buf[self.buf.len() - 1..]), data);
        let path = &self.files[self.files.len() - 1];
        let w = self.cur.as_mut().expect("segment open after cut");
        let io = |e| TsdbError::io("write", path, e);
        w.write_all(&self.buf).map_err(io)?;
        w.write_all(data).map_err(io)?;
        w.write_all(&crc.to_be_bytes()).map_err(io)?;
        self.n += size;
        Ok(r)
    }

    /// Flushes and fsyncs the last segment and the directory.
    ///
    /// # Errors
    /// I/O failures.
    pub fn close(mut self) -> Result<(), TsdbError> {
        self.finish_current()?;
        sync_dir(&self.dir)
    }
}

/// Reads chunks from a directory of segment files through memory maps.
pub struct SegmentReader {
    dir: PathBuf,
    segments: Vec<Mmap>,
    size: u64,
}

impl std::fmt::Debug for SegmentReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentReader")
            .field("dir", &self.dir)
            .field("segments", &self.segments.len())
            .finish()
    }
}

impl SegmentReader {
    /// Maps every segment file of `dir` and checks their headers.
    ///
    /// # Errors
    /// Missing directory, unreadable files, bad magic number or version.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, TsdbError> {
        let dir = dir.as_ref().to_path_buf();
        let mut segments = Vec::new();
        let mut size = 0;
        for (i, (seq, path)) in list_segment_files(&dir)?.into_iter().enumerate() {
            // Chunk references address segments by position: a gap (a missing file) would
            // make every later reference read the wrong file.
            if seq as usize != i + 1 {
                return Err(TsdbError::corruption(
                    dir.display().to_string(),
                    format!("segment file {:06} is missing", i + 1),
                ));
            }
            let len = std::fs::metadata(&path)
                .map_err(|e| TsdbError::io("stat", &path, e))?
                .len();
            if len < SEGMENT_HEADER_SIZE as u64 {
                return Err(TsdbError::corruption(
                    path.display().to_string(),
                    "invalid segment header size",
                ));
            }
            let m = mmap_file(&path)?;
            let mut d = Decbuf::new(&m);
            let magic = d
                .be32()
                .map_err(|e| TsdbError::corruption(path.display().to_string(), e.to_string()))?;
            if magic != MAGIC_CHUNKS {
                return Err(TsdbError::corruption(
                    path.display().to_string(),
                    format!("invalid magic number {magic:x}"),
                ));
            }
            if m[4] != CHUNKS_FORMAT_V1 {
                return Err(TsdbError::corruption(
                    path.display().to_string(),
                    format!("invalid chunk format version {}", m[4]),
                ));
            }
            size += len;
            segments.push(m);
        }
        Ok(Self {
            dir,
            segments,
            size,
        })
    }

    /// Total bytes of the segment files.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Number of segment files.
    #[must_use]
    pub fn num_segments(&self) -> usize {
        self.segments.len()
    }

    /// Length in bytes of segment `seg` (0-based, as in a [`ChunkRef`]), if it exists.
    #[must_use]
    pub fn segment_len(&self, seg: u32) -> Option<usize> {
        self.segments.get(seg as usize).map(|m| m.len())
    }

    fn corrupt(&self, r: ChunkRef, reason: impl std::fmt::Display) -> TsdbError {
        let (seg, off) = unpack_chunk_ref(r);
        TsdbError::corruption(
            format!("{} (segment {seg}, offset {off})", self.dir.display()),
            reason.to_string(),
        )
    }

    /// The encoding and bytes of chunk `r`, with its checksum verified.
    ///
    /// # Errors
    /// A reference outside the files, truncated data, an unknown encoding or a bad checksum.
    pub fn chunk(&self, r: ChunkRef) -> Result<(Encoding, &[u8]), TsdbError> {
        let (seg, off) = unpack_chunk_ref(r);
        let Some(m) = self.segments.get(seg as usize) else {
            return Err(self.corrupt(r, format!("segment index {seg} out of range")));
        };
        let off = off as usize;
        if off < SEGMENT_HEADER_SIZE || off >= m.len() {
            return Err(self.corrupt(r, "offset out of range"));
        }
        let mut d = Decbuf::new(&m[off..]);
        let len = d.uvarint_usize().map_err(|e| self.corrupt(r, e))?;
        let enc_and_data = d
            .rest()
            .get(..len + 1)
            .ok_or_else(|| self.corrupt(r, "chunk data truncated"))?;
        d.skip(len + 1).map_err(|e| self.corrupt(r, e))?;
        let stored = d.be32().map_err(|e| self.corrupt(r, e))?;
        let computed = crc32c(enc_and_data);
        if stored != computed {
            return Err(self.corrupt(
                r,
                format!("checksum mismatch expected:{stored:08x}, actual:{computed:08x}"),
            ));
        }
        let enc = Encoding::from_u8(enc_and_data[0]).ok_or_else(|| {
            self.corrupt(r, format!("unknown chunk encoding {}", enc_and_data[0]))
        })?;
        Ok((enc, &enc_and_data[1..]))
    }
}
