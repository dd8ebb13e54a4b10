//! Rebuilding the head from the WAL at start-up: the newest checkpoint, then the segments
//! after it (Prometheus's `tsdb/head_wal.go` `loadWAL`). A corrupt tail is repaired (truncated
//! to the last good record, with a warning) and replay goes on with what was read: the
//! database always starts.
//!
//! Replay is a pipeline: decoder threads read and decode records; the calling thread
//! applies series, tombstones, metadata, exemplars and start timestamps in log order, and
//! hands the samples to appender threads sharded by series, so the samples of one series are
//! appended in log order. Tombstones, the end of each segment ("WAL segment loaded") and the
//! write-behind log wait for the appenders to drain.
//!
//! Float samples records (nearly all of a log) normally cross the calling thread whole and
//! still encoded: every appender thread decodes them and applies the samples of its own
//! series, dropping those a memory-mapped chunk already holds (as Prometheus skips samples up
//! to a series' `mmMaxTime`) without touching the series. Once a reference names a series
//! of another id (a duplicate series record) or start timestamps are read, the calling thread
//! resolves each sample instead, in a dense table (no lock, no reference count), and sends
//! the appender threads their samples in batches.

mod decode;
mod refs;
mod shard;

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::time::Instant;

use crate::chunks::HeadChunkFiles;
use crate::error::TsdbError;
use crate::head::chunk::{ChunkInfo, ChunkLoc, FullChunk, HeadValue};
use crate::head::ooo::Inserted;
use crate::head::snapshot::Loaded;
use crate::head::{Head, MemSeries};
use crate::wal::record::{self, Record};
use crate::wal::{self, SegmentRef, WalReader};
use decode::{Decoded, decode_segments};
use refs::RefTable;
use shard::{Pending, ShardMsg, shard_worker};

/// Samples gathered for an appender thread before they are sent to it.
const SAMPLE_BATCH: usize = 8192;
/// Encoded samples records gathered before they are sent to every appender thread.
const RECORD_BATCH: usize = 16;

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

mod mmapped;
pub use mmapped::MmappedChunks;

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
        let mut out = Vec::new();
        let mut ooo = Vec::new();
        let res = files.iterate_all_chunks(|m| {
            let info = ChunkInfo {
                encoding: m.encoding,
                num_samples: m.num_samples,
            };
            let c = FullChunk::new(m.min_time, m.max_time, ChunkLoc::Disk(info, m.chunk_ref));
            if m.ooo {
                ooo.push((m.series_ref, c));
            } else if m.max_time >= min_valid_time {
                out.push((m.series_ref, c));
            }
            Ok(())
        });
        match res {
            Ok(()) => {
                return Ok((
                    MmappedChunks::from_file_order(out, true),
                    MmappedChunks::from_file_order(ooo, false),
                ));
            }
            Err(TsdbError::HeadChunkCorruption { seq, reason, .. }) => {
                tracing::warn!(seq, %reason, "head chunk file is corrupt; deleting it and later files");
                files.delete_from(seq)?;
            }
            Err(e) => return Err(e),
        }
    }
    Ok((MmappedChunks::default(), MmappedChunks::default()))
}

struct Replayer<'a> {
    head: &'a Head,
    mmapped: MmappedChunks,
    ooo_mmapped: MmappedChunks,
    /// What each WAL reference resolved to.
    table: RefTable<RefEntry>,
    /// Whether samples up to a series' [`RefEntry::mmapped_to`] are dropped here. Off once a
    /// start timestamps record was read: the appender threads note a start even for a sample
    /// already in a chunk.
    skip_mmapped: bool,
    /// Start timestamps of the samples of the next sample records, by (reference, t).
    starts: HashMap<(u64, i64), i64>,
    stats: ReplayStats,
    /// The appender threads' queues, by series id modulo their number.
    shards: Vec<SyncSender<ShardMsg>>,
    /// Samples waiting to be sent, per shard.
    pending: Vec<Vec<Pending>>,
    /// Whether float samples records go to the appender threads still encoded: while every
    /// WAL reference names the series of the same id and no start timestamps were read.
    encoded: bool,
    /// Encoded samples records waiting to be sent to every appender thread. Either these
    /// or `pending` are empty, so the threads get everything in log order.
    records: Vec<Vec<u8>>,
}

/// A WAL reference resolved: the series it names, and the newest time of the series'
/// memory-mapped chunks when they came with its series record (`i64::MIN` otherwise): the
/// head refuses the samples up to then, so they need not reach the appender threads.
#[derive(Debug, Clone, Copy)]
struct RefEntry {
    id: u64,
    mmapped_to: i64,
}

impl Replayer<'_> {
    /// What the WAL reference `id` names: a series its series record created, or one the
    /// head had before (from a chunk snapshot).
    fn resolve(&mut self, id: u64) -> Option<RefEntry> {
        if let Some(e) = self.table.get(id) {
            return Some(*e);
        }
        let s = self.head.series_by_id(id)?;
        let e = RefEntry {
            id: s.id,
            mmapped_to: i64::MIN,
        };
        self.table.insert(id, e);
        Some(e)
    }

    fn series(&mut self, id: u64) -> Option<Arc<MemSeries>> {
        let e = self.resolve(id)?;
        self.head.series_by_id(e.id)
    }

    /// Waits until the appender threads applied every sample sent so far.
    fn flush(&mut self) {
        self.send_records();
        self.send_pending();
        let (tx, rx) = sync_channel(self.shards.len());
        let mut waiting = 0;
        for s in &self.shards {
            if s.send(ShardMsg::Flush(tx.clone())).is_ok() {
                waiting += 1;
            }
        }
        drop(tx);
        for _ in 0..waiting {
            if rx.recv().is_err() {
                break;
            }
        }
    }

    /// Sends the encoded samples records gathered to every appender thread.
    fn send_records(&mut self) {
        if self.records.is_empty() {
            return;
        }
        let batch = Arc::new(std::mem::replace(
            &mut self.records,
            Vec::with_capacity(RECORD_BATCH),
        ));
        for s in &self.shards {
            let _ = s.send(ShardMsg::Records(Arc::clone(&batch)));
        }
    }

    /// A float samples record that decodes, `rec` (checked by a decoder thread).
    fn samples_record(&mut self, rec: Vec<u8>) -> Result<(), TsdbError> {
        if !self.encoded {
            let rec = record::decode(&rec).map_err(|e| {
                TsdbError::corruption("WAL", format!("decode checked samples record: {e}"))
            })?;
            return self.apply(rec);
        }
        self.stats.records += 1;
        self.send_pending();
        self.records.push(rec);
        if self.records.len() >= RECORD_BATCH {
            self.send_records();
        }
        Ok(())
    }

    fn send_pending(&mut self) {
        for (i, p) in self.pending.iter_mut().enumerate() {
            if !p.is_empty() {
                let batch = std::mem::replace(p, Vec::with_capacity(SAMPLE_BATCH));
                let _ = self.shards[i].send(ShardMsg::Samples(batch));
            }
        }
    }

    fn apply(&mut self, rec: Record) -> Result<(), TsdbError> {
        self.stats.records += 1;
        match rec {
            Record::Series(series) => {
                let n = self.shards.len();
                let mut attach_later: Vec<Vec<(Arc<MemSeries>, Vec<FullChunk>)>> =
                    (0..n).map(|_| Vec::new()).collect();
                for s in series {
                    self.stats.series += 1;
                    let m = self.head.create_with_id(s.id, &s.labels);
                    if m.id != s.id {
                        // Samples of this reference are for another series from now on:
                        // only the replaying thread knows.
                        self.encoded = false;
                    }
                    if m.id != s.id
                        && (self.mmapped.contains_key(&s.id)
                            || self.ooo_mmapped.contains_key(&s.id))
                    {
                        // The series already exists and may have samples in flight.
                        self.flush();
                    }
                    let mut mmapped_to = i64::MIN;
                    if let Some(chunks) = self.mmapped.remove(&s.id) {
                        mmapped_to = chunks.last().map_or(i64::MIN, |c| c.max_t);
                        if m.id == s.id {
                            // The series' appender thread attaches them, before the series'
                            // samples.
                            attach_later[(m.id % n as u64) as usize].push((Arc::clone(&m), chunks));
                        } else {
                            attach(self.head, &m, chunks);
                        }
                    }
                    if let Some(chunks) = self.ooo_mmapped.remove(&s.id) {
                        m.state.lock().ooo_or_default().chunks = chunks;
                    }
                    if m.id != s.id {
                        mmapped_to = i64::MIN;
                    }
                    self.table.insert(
                        s.id,
                        RefEntry {
                            id: m.id,
                            mmapped_to,
                        },
                    );
                }
                if attach_later.iter().any(|a| !a.is_empty()) {
                    // What was logged before goes first.
                    self.send_records();
                    self.send_pending();
                    for (shard, a) in self.shards.iter().zip(attach_later) {
                        if !a.is_empty() {
                            let _ = shard.send(ShardMsg::Attach(a));
                        }
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
                // The samples logged before must be in the series first.
                self.flush();
                let mut changed = Vec::with_capacity(stones.len());
                for t in stones {
                    // The deletion may leave the series older samples than its chunks had.
                    if let Some(e) = self.table.get_mut(t.id) {
                        e.mmapped_to = i64::MIN;
                    }
                    if let Some(s) = self.series(t.id) {
                        changed.push(s.id);
                        self.head.delete_in_series(&s, t.mint, t.maxt)?;
                        self.head.tombstones.lock().add_interval(
                            s.id,
                            crate::tombstones::Interval {
                                mint: t.mint,
                                maxt: t.maxt,
                            },
                        );
                    }
                }
                // The appender threads must read these series' newest time again.
                let changed = Arc::new(changed);
                for s in &self.shards {
                    let _ = s.send(ShardMsg::Forget(Arc::clone(&changed)));
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
                        s.state.lock().set_meta(storage::Metadata {
                            typ: record::metric_type_from_number(m.typ),
                            unit: m.unit,
                            help: m.help,
                        });
                    }
                }
            }
            Record::StartTimestamps(starts) => {
                // Entries of an earlier commit whose samples never came are stale.
                self.starts.clear();
                self.skip_mmapped = false;
                self.encoded = false;
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
        // The encoded records sent before come first.
        self.send_records();
        let min_valid = self.head.min_valid_time();
        let n = self.shards.len() as u64;
        for (id, t, v) in samples {
            if t < min_valid {
                continue;
            }
            let Some(e) = self.resolve(id) else {
                self.stats.unknown_refs += 1;
                continue;
            };
            if self.skip_mmapped && t <= e.mmapped_to {
                // The series' memory-mapped chunks hold it: the head would refuse it.
                self.stats.out_of_order += 1;
                continue;
            }
            let start = if self.starts.is_empty() {
                0
            } else {
                self.starts.remove(&(id, t)).unwrap_or(0)
            };
            let shard = (e.id % n) as usize;
            let pending = &mut self.pending[shard];
            pending.push(Pending {
                id: e.id,
                t,
                v,
                start,
            });
            if pending.len() >= SAMPLE_BATCH {
                let batch = std::mem::replace(pending, Vec::with_capacity(SAMPLE_BATCH));
                let _ = self.shards[shard].send(ShardMsg::Samples(batch));
            }
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
                    let o = st.ooo_or_default();
                    if o.insert(s.id, x.t, x.v, cap, files) != Inserted::Duplicate {
                        self.stats.ooo_samples += 1;
                    }
                }
            }
            Record::MmapMarkers(markers) => {
                for m in markers {
                    let Some(s) = self.series(m.id) else { continue };
                    let mut st = s.state.lock();
                    if let Some(o) = st.ooo_mut()
                        && o.chunks.iter().any(|c| c.disk_ref() == Some(m.mmap_ref))
                    {
                        o.head.clear();
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Replays every record of `segments` (the first from `first_offset` on) through the
    /// decoder threads. A record that does not decode ends the replay with a corruption
    /// error when `strict` (a checkpoint), else it is skipped with a warning. A damaged
    /// segment ends the replay with its error after the records before the damage. With
    /// `max_segment`, each finished segment that held records is logged.
    fn pump(
        &mut self,
        segments: Vec<SegmentRef>,
        first_offset: u64,
        origin: &Path,
        strict: bool,
        max_segment: Option<Option<u32>>,
    ) -> Result<(), TsdbError> {
        let threads = self.shards.len().min(segments.len()).max(1);
        let count = segments.len();
        let mut shares: Vec<Vec<(SegmentRef, u64)>> = (0..threads).map(|_| Vec::new()).collect();
        for (k, seg) in segments.into_iter().enumerate() {
            shares[k % threads].push((seg, if k == 0 { first_offset } else { 0 }));
        }
        std::thread::scope(|sc| {
            let mut queues = Vec::with_capacity(threads);
            for (i, share) in shares.into_iter().enumerate() {
                let (tx, rx) = sync_channel(2);
                std::thread::Builder::new()
                    .name(format!("wal-decode-{i}"))
                    .spawn_scoped(sc, move || decode_segments(share, &tx))
                    .map_err(|e| {
                        TsdbError::corruption(origin.display().to_string(), e.to_string())
                    })?;
                queues.push(rx);
            }
            // Returning drops the queues: the decoder threads stop at their next send.
            for k in 0..count {
                loop {
                    let Ok(batch) = queues[k % threads].recv() else {
                        return Err(TsdbError::corruption(
                            origin.display().to_string(),
                            "WAL decoder thread ended early",
                        ));
                    };
                    let mut ended = false;
                    for msg in batch {
                        match msg {
                            Decoded::Record(Ok(rec)) => self.apply(rec)?,
                            Decoded::Samples(rec) => self.samples_record(rec)?,
                            Decoded::Record(Err(e)) => {
                                let e = TsdbError::corruption(
                                    origin.display().to_string(),
                                    format!("decode WAL record: {e}"),
                                );
                                if strict {
                                    return Err(e);
                                }
                                tracing::warn!(error = %e, "WAL replay: skipping undecodable record");
                            }
                            Decoded::Failed(e) => return Err(e),
                            Decoded::SegmentEnd { index, records } => {
                                ended = true;
                                if let (Some(max_segment), true) = (max_segment, records) {
                                    self.flush();
                                    let max_segment = max_segment.unwrap_or(index);
                                    tracing::info!(
                                        segment = index,
                                        max_segment,
                                        "WAL segment loaded"
                                    );
                                }
                            }
                        }
                    }
                    if ended {
                        break;
                    }
                }
            }
            Ok(())
        })
    }
}

/// Gives a series its full chunks from `chunks_head/` (on the replaying thread, or on the
/// series' appender thread); its newest sample is the last one of the newest chunk, so the
/// WAL samples already in those chunks are skipped. (Its value is decoded only if a sample
/// at the same timestamp comes: [`crate::head::series::SeriesState::last_value`].)
fn attach(head: &Head, s: &MemSeries, chunks: Vec<FullChunk>) {
    let Some(last) = chunks.last() else { return };
    let (mint, maxt) = (chunks[0].min_t, last.max_t);
    let mut st = s.state.lock();
    st.full = chunks.into();
    drop(st);
    head.update_time_bounds(mint, maxt);
}

/// Replays the WAL in `dir` into `head`, attaching the `mmapped` chunks (and the
/// out-of-order `ooo_mmapped` ones) to their series, then the write-behind log `wbl`. After
/// a chunk snapshot (`snapshot`, already loaded into `head`), the chunks of its series are
/// attached, its tombstones applied, and the WAL is read from the snapshot's position on.
///
/// # Errors
/// I/O errors; corruption is repaired, not returned.
pub fn replay(
    head: &Head,
    dir: &Path,
    mmapped: MmappedChunks,
    ooo_mmapped: MmappedChunks,
    wbl: Option<&Path>,
    snapshot: Option<Loaded>,
) -> Result<ReplayStats, TsdbError> {
    let started = Instant::now();
    let mut ooo_mmapped = ooo_mmapped;
    let start = match snapshot {
        None => None,
        Some(loaded) => {
            // The snapshot's series took their memory-mapped chunks when created.
            let ids: Vec<u64> = ooo_mmapped
                .keys()
                .copied()
                .filter(|id| head.series_by_id(*id).is_some())
                .collect();
            for id in ids {
                if let (Some(s), Some(chunks)) = (head.series_by_id(id), ooo_mmapped.remove(&id)) {
                    s.state.lock().ooo_or_default().chunks = chunks;
                }
            }
            for (id, ivs) in loaded.tombstones.iter() {
                let Some(s) = head.series_by_id(id) else {
                    continue;
                };
                for iv in ivs {
                    head.delete_in_series(&s, iv.mint, iv.maxt)?;
                    head.tombstones.lock().add_interval(id, *iv);
                }
            }
            Some((loaded.segment, loaded.offset))
        }
    };
    let workers = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 8);
    std::thread::scope(|sc| {
        let mut shards = Vec::with_capacity(workers);
        let mut handles = Vec::with_capacity(workers);
        for i in 0..workers {
            let (tx, rx) = sync_channel::<ShardMsg>(16);
            let h = std::thread::Builder::new()
                .name(format!("wal-apply-{i}"))
                .spawn_scoped(sc, move || {
                    shard_worker(head, &rx, i as u64, workers as u64)
                })
                .map_err(|e| TsdbError::corruption(dir.display().to_string(), e.to_string()))?;
            shards.push(tx);
            handles.push(h);
        }
        let mut r = Replayer {
            head,
            mmapped,
            ooo_mmapped,
            table: RefTable::default(),
            skip_mmapped: true,
            starts: HashMap::new(),
            stats: ReplayStats::default(),
            pending: (0..workers)
                .map(|_| Vec::with_capacity(SAMPLE_BATCH))
                .collect(),
            shards,
            encoded: true,
            records: Vec::with_capacity(RECORD_BATCH),
        };
        let res = replay_wal(&mut r, dir, start);
        // Ends the appender threads once they applied everything.
        r.shards.clear();
        for h in handles {
            let s = h.join().map_err(|_| {
                TsdbError::corruption(dir.display().to_string(), "WAL appender thread panicked")
            })?;
            r.stats.samples += s.samples;
            r.stats.out_of_order += s.out_of_order;
            r.stats.unknown_refs += s.unknown_refs;
        }
        res?;
        finish(r, wbl, started)
    })
}

/// Replays the checkpoint and the segments after it; after a snapshot taken at `start`
/// (segment, offset), only what follows it (and the checkpoint if it is newer).
fn replay_wal(
    r: &mut Replayer<'_>,
    dir: &Path,
    start: Option<(u32, u64)>,
) -> Result<(), TsdbError> {
    let mut from = None;
    if let Some(cp) = wal::last_checkpoint(dir)?
        && start.is_none_or(|(seg, _)| cp.index >= seg)
    {
        tracing::info!(checkpoint = %cp.dir.display(), "replaying WAL checkpoint");
        let segments = wal::list_segments(&cp.dir)?;
        if let Err(e) = r.pump(segments, 0, &cp.dir, true, None) {
            // A checkpoint is written whole and renamed: damage is not a torn write. Go on
            // with what was read, as with a damaged segment.
            tracing::error!(error = %e, "WAL checkpoint is damaged; continuing with the records before");
        }
        from = Some(cp.index + 1);
    }
    if let Some((seg, _)) = start {
        from = Some(from.map_or(seg, |f: u32| f.max(seg)));
    }
    let segments: Vec<_> = wal::list_segments(dir)?
        .into_iter()
        .filter(|s| from.is_none_or(|f| s.index >= f))
        .collect();
    let last_index = segments.last().map(|s| s.index);
    let first_offset = match (start, segments.first()) {
        (Some((seg, off)), Some(first)) if first.index == seg => off,
        _ => 0,
    };
    match r.pump(segments, first_offset, dir, false, Some(last_index)) {
        Ok(()) => {}
        Err(e @ TsdbError::WalCorruption { .. }) => {
            tracing::warn!(error = %e, "WAL is corrupt; repairing");
            wal::repair(dir, &e)?;
            r.stats.repaired = true;
        }
        Err(e) => return Err(e),
    }
    r.flush();
    Ok(())
}

/// The write-behind log, then the summary.
fn finish(
    mut r: Replayer<'_>,
    wbl: Option<&Path>,
    started: Instant,
) -> Result<ReplayStats, TsdbError> {
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
