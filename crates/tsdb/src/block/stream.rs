//! Writes a block series by series, as Prometheus's compactor does (`tsdb/compact.go`,
//! `populateBlock`): each series' chunks go straight into the chunk segment files (cut at
//! 512 MiB) and the series into the index; only the postings (series references) are kept
//! until the index is closed. Nothing else of the block is held in memory.

use std::path::{Path, PathBuf};

use model::{Labels, Timestamp};

use super::meta::{BlockMeta, BlockMetaCompaction, BlockStats, ThanosMeta, Ulid};
use super::writer::TMP_FOR_CREATION_SUFFIX;
use crate::chunkenc::Encoding;
use crate::chunks::{ChunkMeta, SegmentWriter, sync_dir};
use crate::error::TsdbError;
use crate::index::IndexWriter;
use crate::tombstones::Tombstones;

/// A block being written into `<ulid>.tmp-for-creation`; renamed to `<ulid>` by
/// [`StreamWriter::finish`], removed when dropped unfinished.
pub struct StreamWriter {
    parent: PathBuf,
    ulid: Ulid,
    tmp: PathBuf,
    chunks: Option<SegmentWriter>,
    index: Option<IndexWriter>,
    stats: BlockStats,
    mint: Timestamp,
    maxt: Timestamp,
    finished: bool,
    /// Start timestamp runs of the series that have any, by series reference (small: one
    /// run per counter restart), for the block's [`crate::start::BLOCK_FILE`].
    starts: Vec<(u64, Vec<(i64, i64)>)>,
    /// The `thanos` section of `meta.json`, if any.
    thanos: Option<ThanosMeta>,
}

impl std::fmt::Debug for StreamWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamWriter")
            .field("tmp", &self.tmp)
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}

impl StreamWriter {
    /// Starts block `ulid` under `parent` with the index's symbol table `symbols` (sorted,
    /// without duplicates; every label name and value of the series to come).
    ///
    /// # Errors
    /// I/O errors, symbols out of order.
    pub fn create<'a>(
        parent: &Path,
        ulid: Ulid,
        symbols: impl IntoIterator<Item = &'a str>,
    ) -> Result<Self, TsdbError> {
        let name = ulid.to_string();
        let tmp = parent.join(format!("{name}{TMP_FOR_CREATION_SUFFIX}"));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| TsdbError::io("remove", &tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| TsdbError::io("create dir", &tmp, e))?;
        let mut w = Self {
            parent: parent.to_path_buf(),
            ulid,
            chunks: None,
            index: None,
            stats: BlockStats::default(),
            mint: Timestamp::MAX,
            maxt: Timestamp::MIN,
            finished: false,
            starts: Vec::new(),
            thanos: None,
            tmp,
        };
        w.chunks = Some(SegmentWriter::new(w.tmp.join("chunks"))?);
        let mut index = IndexWriter::create(w.tmp.join("index"))?;
        for s in symbols {
            index.add_symbol(s)?;
        }
        w.index = Some(index);
        Ok(w)
    }

    /// Writes `thanos` as the `thanos` section of the block's `meta.json`.
    pub fn set_thanos(&mut self, thanos: Option<ThanosMeta>) {
        self.thanos = thanos;
    }

    /// The block's ULID.
    #[must_use]
    pub fn ulid(&self) -> Ulid {
        self.ulid
    }

    /// Series added so far.
    #[must_use]
    pub fn num_series(&self) -> u64 {
        self.stats.num_series
    }

    /// Writes one chunk of samples `mint..=maxt`; returns its index entry (without bytes).
    ///
    /// # Errors
    /// I/O errors, a chunk larger than a segment.
    pub fn write_chunk(
        &mut self,
        enc: Encoding,
        data: &[u8],
        mint: Timestamp,
        maxt: Timestamp,
    ) -> Result<ChunkMeta, TsdbError> {
        let cw = self.chunks.as_mut().expect("open until finish");
        let r = cw.write_chunk(enc, data)?;
        self.stats.num_chunks += 1;
        self.stats.num_samples += data
            .get(..2)
            .map_or(0, |b| u64::from(u16::from_be_bytes([b[0], b[1]])));
        self.mint = self.mint.min(mint);
        self.maxt = self.maxt.max(maxt);
        Ok(ChunkMeta {
            r#ref: r,
            min_time: mint,
            max_time: maxt,
            chunk: None,
        })
    }

    /// Adds series `labels` (after every series added before, in label order) with the
    /// chunks written for it; a series without chunks is skipped.
    ///
    /// # Errors
    /// Series out of order, symbols missing, I/O errors.
    pub fn add_series(&mut self, labels: &Labels, chunks: &[ChunkMeta]) -> Result<(), TsdbError> {
        self.add_series_with_starts(labels, chunks, None)
    }

    /// As [`StreamWriter::add_series`], with the series' start timestamp runs over the
    /// block's range (see [`crate::start`]).
    ///
    /// # Errors
    /// As [`StreamWriter::add_series`].
    pub fn add_series_with_starts(
        &mut self,
        labels: &Labels,
        chunks: &[ChunkMeta],
        starts: Option<Vec<(i64, i64)>>,
    ) -> Result<(), TsdbError> {
        if chunks.is_empty() {
            return Ok(());
        }
        let r = self
            .index
            .as_mut()
            .expect("open until finish")
            .add_series(labels, chunks)?;
        self.stats.num_series += 1;
        if let Some(runs) = starts {
            self.starts.push((r, runs));
        }
        Ok(())
    }

    /// Closes the chunk and index files, writes `tombstones` and `meta.json` and renames the
    /// directory to `<ulid>`. The time range is `range`, or else first sample to last + 1.
    ///
    /// # Errors
    /// I/O errors; the temporary directory is removed then.
    pub fn finish(
        mut self,
        range: Option<(Timestamp, Timestamp)>,
        compaction: BlockMetaCompaction,
        tombstones: &Tombstones,
    ) -> Result<BlockMeta, TsdbError> {
        let meta = self.finish_files(range, compaction, tombstones)?;
        sync_dir(&self.tmp)?;
        let dst = self.parent.join(self.ulid.to_string());
        std::fs::rename(&self.tmp, &dst).map_err(|e| TsdbError::io("rename", &self.tmp, e))?;
        self.finished = true;
        sync_dir(&self.parent)?;
        Ok(meta)
    }

    fn finish_files(
        &mut self,
        range: Option<(Timestamp, Timestamp)>,
        compaction: BlockMetaCompaction,
        tombstones: &Tombstones,
    ) -> Result<BlockMeta, TsdbError> {
        if let Some(cw) = self.chunks.take() {
            cw.close()?;
        }
        if let Some(iw) = self.index.take() {
            iw.close()?;
        }
        self.stats.num_tombstones = tombstones.num_intervals() as u64;
        tombstones.write(&self.tmp)?;
        crate::start::write_block_file(&self.tmp, &self.starts)?;
        let (min_time, max_time) = match range {
            Some(r) => r,
            None if self.stats.num_series == 0 => (0, 0),
            None => (self.mint, self.maxt.saturating_add(1)),
        };
        let meta = BlockMeta {
            ulid: self.ulid,
            min_time,
            max_time,
            stats: self.stats.clone(),
            compaction,
            version: 1,
            thanos: self.thanos.clone(),
        };
        meta.write(&self.tmp)?;
        Ok(meta)
    }
}

impl Drop for StreamWriter {
    fn drop(&mut self) {
        if !self.finished {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}
