//! Rebuilding the head from the WAL at start-up: the newest checkpoint, then the segments
//! after it. A corrupt tail is repaired (truncated to the last good record, with a warning)
//! and replay goes on with what was read: the database always starts.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crate::chunkenc::Encoding;
use crate::chunks::HeadChunkFiles;
use crate::error::TsdbError;
use crate::head::chunk::{ChunkLoc, FullChunk, HeadValue};
use crate::head::ooo::Inserted;
use crate::head::{Head, MemSeries};
use crate::start::HeadStarts;
use crate::wal::record::{self, Record};
use crate::wal::{self, WalReader};
use storage::ValueType;

/// What a replay read.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayStats {
    /// Records read.
    pub records: usize,
    /// Series records entries.
    pub series: usize,
    /// Samples applied.
    pub samples: usize,
    /// Out-of-order samples applied from the write-behind log.
    pub ooo_samples: usize,
    /// Exemplars stored.
    pub exemplars: usize,
    /// Samples for series the log never defined.
    pub unknown_refs: usize,
    /// Samples dropped because they were not newer than the series' newest.
    pub out_of_order: usize,
    /// Float histogram samples, which the head does not hold yet.
    pub histograms_skipped: usize,
    /// Whether a corrupt tail was repaired.
    pub repaired: bool,
}

/// Full chunks found in `chunks_head/`, by series reference, oldest first.
pub type MmappedChunks = HashMap<u64, Vec<FullChunk>>;

/// Reads the index of every chunk in the head chunk files (in-order chunks, then
/// out-of-order ones), dropping in-order chunks that end before `min_valid_time`. A corrupt file is deleted with all later ones (their samples are still
/// in the WAL) and reading starts over.
///
/// # Errors
/// I/O errors.
pub fn load_mmapped_chunks(
    files: &mut HeadChunkFiles,
    min_valid_time: i64,
) -> Result<(MmappedChunks, MmappedChunks), TsdbError> {
    for _attempt in 0..2 {
        let mut out: MmappedChunks = HashMap::new();
        let mut ooo: MmappedChunks = HashMap::new();
        let res = files.iterate_all_chunks(|m| {
            if m.ooo {
                ooo.entry(m.series_ref).or_default().push(FullChunk {
                    min_t: m.min_time,
                    max_t: m.max_time,
                    num_samples: m.num_samples,
                    encoding: m.encoding,
                    loc: ChunkLoc::Disk(m.chunk_ref),
                });
            } else if m.max_time >= min_valid_time {
                out.entry(m.series_ref).or_default().push(FullChunk {
                    min_t: m.min_time,
                    max_t: m.max_time,
                    num_samples: m.num_samples,
                    encoding: m.encoding,
                    loc: ChunkLoc::Disk(m.chunk_ref),
                });
            }
            Ok(())
        });
        match res {
            Ok(()) => {
                for v in out.values_mut() {
                    v.sort_by_key(|c| c.min_t);
                    // Overlapping chunks (a crash between writing and truncating): keep order.
                    v.dedup_by(|b, a| b.min_t <= a.max_t);
                }
                return Ok((out, ooo));
            }
            Err(TsdbError::HeadChunkCorruption { seq, reason, .. }) => {
                tracing::warn!(seq, %reason, "head chunk file is corrupt; deleting it and later files");
                files.delete_from(seq)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok((HashMap::new(), HashMap::new()))
}

struct Replayer<'a> {
    head: &'a Head,
    mmapped: MmappedChunks,
    ooo_mmapped: MmappedChunks,
    /// WAL references that point to a series created under another reference.
    refs: HashMap<u64, Arc<MemSeries>>,
    /// Start timestamps of the samples of the next sample records, by (reference, t).
    starts: HashMap<(u64, i64), i64>,
    stats: ReplayStats,
}

impl Replayer<'_> {
    fn series(&mut self, id: u64) -> Option<Arc<MemSeries>> {
        if let Some(s) = self.refs.get(&id) {
            return Some(s.clone());
        }
        self.head.series_by_id(id)
    }

    fn apply(&mut self, rec: &[u8], origin: &Path) -> Result<(), TsdbError> {
        self.stats.records += 1;
        let rec = record::decode(rec).map_err(|e| {
            TsdbError::corruption(
                origin.display().to_string(),
                format!("decode WAL record: {e}"),
            )
        })?;
        match rec {
            Record::Series(series) => {
                for s in series {
                    self.stats.series += 1;
                    let m = self.head.create_with_id(s.id, &s.labels);
                    if let Some(chunks) = self.mmapped.remove(&s.id) {
                        attach(self.head, &m, chunks);
                    }
                    if let Some(chunks) = self.ooo_mmapped.remove(&s.id) {
                        m.state
                            .lock()
                            .ooo
                            .get_or_insert_with(Default::default)
                            .chunks = chunks;
                    }
                    if m.id != s.id {
                        self.refs.insert(s.id, m);
                    }
                }
            }
            Record::Samples(samples) => {
                self.append_all(
                    samples
                        .into_iter()
                        .map(|x| (x.id, x.t, HeadValue::Float(x.v))),
                );
            }
            Record::HistogramSamples(h) => {
                self.append_all(
                    h.into_iter()
                        .map(|x| (x.id, x.t, HeadValue::Histogram(Arc::new(x.h)))),
                );
            }
            Record::FloatHistogramSamples(h) => {
                self.append_all(
                    h.into_iter()
                        .map(|x| (x.id, x.t, HeadValue::FloatHistogram(Arc::new(x.h)))),
                );
            }
            Record::Tombstones(stones) => {
                for t in stones {
                    if let Some(s) = self.series(t.id) {
                        self.head.delete_in_series(&s, t.mint, t.maxt)?;
                    }
                }
            }
            Record::Exemplars(ex) => {
                for e in ex {
                    let Some(s) = self.series(e.id) else {
                        self.stats.unknown_refs += 1;
                        continue;
                    };
                    let exemplar = storage::Exemplar {
                        labels: e.labels,
                        value: e.v,
                        ts: e.t,
                        has_ts: true,
                    };
                    if self.head.exemplars.add(&s.labels, &exemplar).is_ok() {
                        self.stats.exemplars += 1;
                    }
                }
            }
            Record::Metadata(meta) => {
                for m in meta {
                    if let Some(s) = self.series(m.id) {
                        s.state.lock().meta = Some(Box::new(storage::Metadata {
                            typ: record::metric_type_from_number(m.typ),
                            unit: m.unit,
                            help: m.help,
                        }));
                    }
                }
            }
            Record::StartTimestamps(starts) => {
                // Entries of an earlier commit whose samples never came are stale.
                self.starts.clear();
                self.starts
                    .extend(starts.into_iter().map(|s| ((s.id, s.t), s.st)));
            }
            Record::MmapMarkers(_) => {}
            Record::Unsupported(t) => {
                tracing::debug!(record_type = t, "WAL replay: skipping unsupported record");
            }
        }
        Ok(())
    }

    fn append_all(&mut self, samples: impl Iterator<Item = (u64, i64, HeadValue)>) {
        let chunk_range = self.head.options().chunk_range;
        let files = self.head.chunk_files.as_ref();
        let min_valid = self.head.min_valid_time();
        let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
        for (id, t, v) in samples {
            if t < min_valid {
                continue;
            }
            let Some(s) = self.series(id) else {
                self.stats.unknown_refs += 1;
                continue;
            };
            let start = if self.starts.is_empty() {
                0
            } else {
                self.starts.remove(&(id, t)).unwrap_or(0)
            };
            let mut st = s.state.lock();
            let appended = st.append(s.id, t, &v, chunk_range, files);
            // Also for a sample already in a memory-mapped chunk: its start is only here.
            HeadStarts::note(&mut st.starts, t, start);
            drop(st);
            if appended {
                self.stats.samples += 1;
                mint = mint.min(t);
                maxt = maxt.max(t);
            } else {
                self.stats.out_of_order += 1;
            }
        }
        if maxt != i64::MIN {
            self.head.update_time_bounds(mint, maxt);
        }
    }

    /// Applies a write-behind log record: out-of-order samples, and mmap markers after
    /// which a series' OOO head chunk starts empty (its samples are in the marked chunk).
    fn apply_wbl(&mut self, rec: &[u8], origin: &Path) -> Result<(), TsdbError> {
        let rec = record::decode(rec).map_err(|e| {
            TsdbError::corruption(
                origin.display().to_string(),
                format!("decode WBL record: {e}"),
            )
        })?;
        let cap = self.head.options().ooo_cap_max;
        let files = self.head.chunk_files.as_ref();
        match rec {
            Record::Samples(samples) => {
                for x in samples {
                    let Some(s) = self.series(x.id) else {
                        self.stats.unknown_refs += 1;
                        continue;
                    };
                    let mut st = s.state.lock();
                    let o = st.ooo.get_or_insert_with(Default::default);
                    if o.insert(s.id, x.t, x.v, cap, files) != Inserted::Duplicate {
                        self.stats.ooo_samples += 1;
                    }
                }
            }
            Record::MmapMarkers(markers) => {
                for m in markers {
                    let Some(s) = self.series(m.id) else { continue };
                    let mut st = s.state.lock();
                    if let Some(o) = st.ooo.as_deref_mut()
                        && o.chunks
                            .iter()
                            .any(|c| matches!(c.loc, ChunkLoc::Disk(r) if r == m.mmap_ref))
                    {
                        o.head.clear();
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn read_all(&mut self, reader: &mut WalReader, origin: &Path) -> Result<(), TsdbError> {
        while let Some(rec) = reader.next_record()? {
            // Decoding errors of a single record are corruption too.
            let rec = rec.to_vec();
            self.apply(&rec, origin)?;
        }
        Ok(())
    }
}

/// The last sample value of an encoded chunk.
fn last_sample(enc: Encoding, bytes: &[u8]) -> Option<HeadValue> {
    let mut it = crate::chunkenc::iterator(enc, bytes).ok()?;
    let mut last = None;
    loop {
        match it.next() {
            ValueType::Float => last = Some(HeadValue::Float(it.at().1)),
            ValueType::Histogram => {
                last = Some(HeadValue::Histogram(Arc::new(it.at_histogram().1)));
            }
            ValueType::FloatHistogram => {
                last = Some(HeadValue::FloatHistogram(Arc::new(
                    it.at_float_histogram().1,
                )));
            }
            ValueType::None => return last,
        }
    }
}

/// Gives a series its full chunks from `chunks_head/`; its newest sample is the last one of
/// the newest chunk, so the WAL samples already in those chunks are skipped.
fn attach(head: &Head, s: &MemSeries, chunks: Vec<FullChunk>) {
    let Some(last) = chunks.last() else { return };
    let last_value = last
        .bytes(head.chunk_files.as_ref())
        .ok()
        .and_then(|b| last_sample(last.encoding, &b));
    let mut st = s.state.lock();
    st.max_t = last.max_t;
    st.last = last_value;
    let (mint, maxt) = (chunks[0].min_t, last.max_t);
    st.full = chunks;
    drop(st);
    head.update_time_bounds(mint, maxt);
}

/// Replays the WAL in `dir` into `head`, attaching the `mmapped` chunks (and the
/// out-of-order `ooo_mmapped` ones) to their series, then the write-behind log `wbl`.
///
/// # Errors
/// I/O errors; corruption is repaired, not returned.
pub fn replay(
    head: &Head,
    dir: &Path,
    mmapped: MmappedChunks,
    ooo_mmapped: MmappedChunks,
    wbl: Option<&Path>,
) -> Result<ReplayStats, TsdbError> {
    let started = Instant::now();
    let mut r = Replayer {
        head,
        mmapped,
        ooo_mmapped,
        refs: HashMap::new(),
        starts: HashMap::new(),
        stats: ReplayStats::default(),
    };
    let mut from = None;
    if let Some(cp) = wal::last_checkpoint(dir)? {
        tracing::info!(checkpoint = %cp.dir.display(), "replaying WAL checkpoint");
        let mut reader = WalReader::open_dir(&cp.dir)?;
        if let Err(e) = r.read_all(&mut reader, &cp.dir) {
            // A checkpoint is written whole and renamed: damage is not a torn write. Go on
            // with what was read, as with a damaged segment.
            tracing::error!(error = %e, "WAL checkpoint is damaged; continuing with the records before");
        }
        from = Some(cp.index + 1);
    }
    let segments: Vec<_> = wal::list_segments(dir)?
        .into_iter()
        .filter(|s| from.is_none_or(|f| s.index >= f))
        .collect();
    let total = segments.len();
    let last_index = segments.last().map(|s| s.index);
    let mut reader = WalReader::new(segments);
    let mut logged = None;
    loop {
        let step = reader.next_record().map(|r| r.map(<[u8]>::to_vec));
        if let Some((seg, _)) = reader.position()
            && logged != Some(seg)
        {
            logged = Some(seg);
            tracing::info!(segment = seg, max_segment = ?last_index, total, "WAL segment loading");
        }
        match step {
            Ok(Some(rec)) => {
                if let Err(e) = r.apply(&rec, dir) {
                    tracing::warn!(error = %e, "WAL replay: skipping undecodable record");
                }
            }
            Ok(None) => break,
            Err(e @ TsdbError::WalCorruption { .. }) => {
                tracing::warn!(error = %e, "WAL is corrupt; repairing");
                wal::repair(dir, &e)?;
                r.stats.repaired = true;
                break;
            }
            Err(e) => return Err(e),
        }
    }
    if let Some(wbl) = wbl {
        let mut repaired = false;
        replay_log(wbl, &mut repaired, |rec| r.apply_wbl(rec, wbl))?;
        r.stats.repaired |= repaired;
    }
    if !r.mmapped.is_empty() {
        tracing::warn!(
            series = r.mmapped.len(),
            "head chunks of series the WAL does not define were ignored"
        );
    }
    if r.stats.histograms_skipped > 0 {
        tracing::warn!(
            samples = r.stats.histograms_skipped,
            "WAL replay: float histogram samples are not supported by the head yet"
        );
    }
    tracing::info!(
        series = r.stats.series,
        samples = r.stats.samples,
        ooo_samples = r.stats.ooo_samples,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "WAL replay completed"
    );
    Ok(r.stats)
}

/// Reads every record of the segments in `dir` (the write-behind log), repairing a corrupt
/// tail as the WAL's.
fn replay_log(
    dir: &Path,
    repaired: &mut bool,
    mut apply: impl FnMut(&[u8]) -> Result<(), TsdbError>,
) -> Result<(), TsdbError> {
    let segments = wal::list_segments(dir)?;
    tracing::info!(segments = segments.len(), "replaying WBL");
    let mut reader = WalReader::new(segments);
    loop {
        match reader.next_record().map(|r| r.map(<[u8]>::to_vec)) {
            Ok(Some(rec)) => {
                if let Err(e) = apply(&rec) {
                    tracing::warn!(error = %e, "WBL replay: skipping undecodable record");
                }
            }
            Ok(None) => return Ok(()),
            Err(e @ TsdbError::WalCorruption { .. }) => {
                tracing::warn!(error = %e, "WBL is corrupt; repairing");
                wal::repair(dir, &e)?;
                *repaired = true;
                return Ok(());
            }
            Err(e) => return Err(e),
        }
    }
}
