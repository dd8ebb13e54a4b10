//! Chunk snapshots (`--enable-feature=memory-snapshot-on-shutdown`), as Prometheus 2.42's
//! `tsdb/head_wal.go` (`ChunkSnapshot`, `loadChunkSnapshot`), in the same bytes.
//!
//! On a clean shutdown the head is written to `<data>/chunk_snapshot.NNNNNN.MMMMMMMMMM`
//! (N: the last WAL segment, M: the offset in it up to which records were written), a
//! directory holding one log in the WAL's record format (segments, pages, snappy as the
//! WAL): one record per series (type 1: reference, labels, and its open chunk with the last
//! value), then one tombstones record (type 2), then the exemplars in buffer order (type 3,
//! at most 10,000 per record). Full chunks are not in it: they are in `chunks_head/`.
//!
//! At start-up the newest snapshot is loaded, the memory-mapped chunks are attached to its
//! series, its tombstones applied, and only the WAL after (N, M) is replayed. A snapshot that
//! cannot be read whole is dropped with an error log and the WAL is replayed from the start.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use crate::chunkenc::Encoding;
use crate::encoding::{Decbuf, Encbuf};
use crate::error::TsdbError;
use crate::head::chunk::{ChunkInfo, ChunkLoc, FullChunk, HeadValue};
use crate::head::{Head, MemSeries};
use crate::tombstones::{Interval, Tombstones};
use crate::wal::record::{self, Record, RefExemplar};
use crate::wal::{self, Wal, WalOptions, WalReader};

/// Prefix of a snapshot directory's name.
pub const SNAPSHOT_PREFIX: &str = "chunk_snapshot.";

const REC_SERIES: u8 = 1;
const REC_TOMBSTONES: u8 = 2;
const REC_EXEMPLARS: u8 = 3;
/// Version byte of the encoded tombstones (Prometheus's `tombstoneFormatV1`).
const TOMBSTONES_V1: u8 = 1;
/// Series records are logged in batches of about this many bytes.
const FLUSH_BYTES: usize = 10 << 20;
const EXEMPLARS_PER_RECORD: usize = 10_000;

/// The name of the snapshot taken when the WAL's last record ends at `offset` of `segment`.
#[must_use]
pub fn snapshot_dir_name(segment: u32, offset: u64) -> String {
    format!("{SNAPSHOT_PREFIX}{segment:06}.{offset:010}")
}

/// The snapshot directories in `dir` as (segment, offset, path), by position.
fn list(dir: &Path) -> Result<Vec<(u32, u64, PathBuf)>, TsdbError> {
    let entries = std::fs::read_dir(dir).map_err(|e| TsdbError::io("read dir", dir, e))?;
    let mut out = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| TsdbError::io("read dir", dir, e))?;
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(SNAPSHOT_PREFIX)) else {
            continue;
        };
        // `.tmp` directories (an interrupted write) have three parts and are not snapshots.
        let mut parts = rest.split('.');
        let (Some(seg), Some(off), None) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let (Ok(seg), Ok(off)) = (seg.parse::<u32>(), off.parse::<u64>()) else {
            continue;
        };
        out.push((seg, off, entry.path()));
    }
    out.sort_by_key(|&(s, o, _)| (s, o));
    Ok(out)
}

/// The newest snapshot in `dir`: its path, WAL segment and offset.
///
/// # Errors
/// I/O errors listing `dir`, or a snapshot name that is not a directory.
pub fn last_snapshot(dir: &Path) -> Result<Option<(PathBuf, u32, u64)>, TsdbError> {
    let Some((seg, off, path)) = list(dir)?.pop() else {
        return Ok(None);
    };
    if !path.is_dir() {
        return Err(TsdbError::corruption(
            path.display().to_string(),
            "chunk snapshot is not a directory",
        ));
    }
    Ok(Some((path, seg, off)))
}

/// Deletes the snapshots of `dir` older than (`segment`, `offset`), and interrupted writes.
fn delete_before(dir: &Path, segment: u32, offset: u64) -> Result<(), TsdbError> {
    for (s, o, path) in list(dir)? {
        if (s, o) < (segment, offset) {
            std::fs::remove_dir_all(&path).map_err(|e| TsdbError::io("remove", &path, e))?;
        }
    }
    Ok(())
}

/// What a snapshot held.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotStats {
    /// The snapshot directory.
    pub dir: PathBuf,
    /// Series records.
    pub series: usize,
    /// Series with an open chunk.
    pub chunks: usize,
    /// Exemplars.
    pub exemplars: usize,
}

/// Encodes the snapshot record of series `s` onto `b` (Prometheus's
/// `encodeToSnapshotRecord`). `None` when the series holds full chunks only in memory
/// (after a deletion rebuilt them, or a failed write to `chunks_head/`): a snapshot would
/// lose them, since it holds only the open chunk.
fn encode_series(s: &MemSeries, b: &mut Encbuf) -> Option<bool> {
    let st = s.state.lock();
    if st.full.iter().any(|c| c.disk_ref().is_none()) {
        return None;
    }
    b.put_byte(REC_SERIES);
    b.put_be64(s.id);
    b.put_uvarint(s.labels.len() as u64);
    for l in &s.labels {
        b.put_uvarint_str(l.name);
        b.put_uvarint_str(l.value);
    }
    // Once the chunk range; unused since.
    b.put_be64_i64(0);
    let Some(h) = st.head.as_ref().filter(|h| h.data.num_samples() > 0) else {
        b.put_uvarint(0);
        return Some(false);
    };
    b.put_uvarint(1);
    b.put_be64_i64(h.min_t);
    b.put_be64_i64(h.max_t());
    b.put_byte(h.data.encoding().as_u8());
    b.put_uvarint_bytes(h.data.bytes());
    // Three empty (t, v) pairs of an old sample buffer, then the newest sample's value
    // (kept for floats only; a histogram's is read back from the chunk).
    for _ in 0..3 {
        b.put_be64_i64(0);
        b.put_be64(0);
    }
    b.put_be64_i64(0);
    let last = match h.data.last_value() {
        Some(HeadValue::Float(v)) => v,
        _ => 0.0,
    };
    b.put_be64(last.to_bits());
    Some(true)
}

impl Head {
    /// Writes a chunk snapshot of the head to its data directory (the WAL must be closed, or
    /// idle) and deletes older snapshots. `None` when there is nothing to do: no WAL, the
    /// newest snapshot is already at the WAL's position, or some series cannot be
    /// represented (full chunks held only in memory, see above); the WAL is replayed whole
    /// at the next start then (an older snapshot stays valid with the WAL after it).
    ///
    /// # Errors
    /// I/O errors; a partial snapshot is removed.
    pub fn write_chunk_snapshot(&self) -> Result<Option<SnapshotStats>, TsdbError> {
        let (Some(root), Some(w)) = (self.data_dir.as_deref(), &self.wal) else {
            return Ok(None);
        };
        let ((segment, offset), compress) = {
            let w = w.lock();
            (w.last_segment_and_offset(), w.compress())
        };
        if let Some((_, s, o)) = last_snapshot(root)?
            && (s, o) == (segment, offset)
        {
            return Ok(None);
        }
        let dir = root.join(snapshot_dir_name(segment, offset));
        let tmp = root.join(format!("{}.tmp", snapshot_dir_name(segment, offset)));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| TsdbError::io("remove", &tmp, e))?;
        }
        let res = self.write_snapshot_log(&tmp, compress);
        let stats = match res {
            Ok(Some(stats)) => stats,
            other => {
                let _ = std::fs::remove_dir_all(&tmp);
                return other;
            }
        };
        std::fs::rename(&tmp, &dir).map_err(|e| TsdbError::io("rename", &tmp, e))?;
        crate::chunks::sync_dir(root)?;
        if let Err(e) = delete_before(root, segment, offset) {
            // Older snapshots are ignored when a newer one exists.
            tracing::error!(error = %e, "deleting old chunk snapshots");
        }
        Ok(Some(SnapshotStats { dir, ..stats }))
    }

    fn write_snapshot_log(
        &self,
        tmp: &Path,
        compress: bool,
    ) -> Result<Option<SnapshotStats>, TsdbError> {
        let mut log = Wal::open(
            tmp,
            WalOptions {
                segment_size: wal::DEFAULT_SEGMENT_SIZE,
                compress,
                sync_on_log: false,
            },
        )?;
        let mut stats = SnapshotStats::default();
        let mut b = Encbuf::new();
        let mut ends: Vec<usize> = Vec::new();
        let mut failed: Option<TsdbError> = None;
        let mut unrepresentable = 0usize;
        let flush = |log: &mut Wal, b: &mut Encbuf, ends: &mut Vec<usize>| {
            let bytes = b.get();
            let mut recs = Vec::with_capacity(ends.len());
            let mut from = 0;
            for &end in ends.iter() {
                recs.push(&bytes[from..end]);
                from = end;
            }
            let res = log.log(&recs);
            b.reset();
            ends.clear();
            res
        };
        self.series.for_each(|s| {
            if failed.is_some() || unrepresentable > 0 {
                return;
            }
            match encode_series(s, &mut b) {
                None => unrepresentable += 1,
                Some(chunk) => {
                    stats.series += 1;
                    stats.chunks += usize::from(chunk);
                    ends.push(b.len());
                    if b.len() > FLUSH_BYTES
                        && let Err(e) = flush(&mut log, &mut b, &mut ends)
                    {
                        failed = Some(e);
                    }
                }
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        if unrepresentable > 0 {
            tracing::warn!(
                "chunk snapshot skipped: a series holds full chunks only in memory (a deletion rebuilt them); the next start replays the WAL"
            );
            return Ok(None);
        }
        // The tombstones: one record, the entries as Prometheus's `tombstones.Encode`.
        let mut t = Encbuf::new();
        t.put_byte(TOMBSTONES_V1);
        for (id, ivs) in self.tombstones.lock().iter() {
            for iv in ivs {
                t.put_uvarint(id);
                t.put_varint(iv.mint);
                t.put_varint(iv.maxt);
            }
        }
        b.put_byte(REC_TOMBSTONES);
        b.put_uvarint_bytes(t.get());
        ends.push(b.len());
        flush(&mut log, &mut b, &mut ends)?;
        // The exemplars, oldest first: a WAL exemplars record under the snapshot's type.
        let mut batch: Vec<RefExemplar> = Vec::new();
        let mut failed = None;
        let log_batch = |log: &mut Wal, batch: &mut Vec<RefExemplar>| {
            let mut e = Encbuf::new();
            record::encode_exemplars(batch, &mut e);
            let mut rec = e.get().to_vec();
            rec[0] = REC_EXEMPLARS;
            batch.clear();
            log.log(&[&rec])
        };
        self.exemplars.for_each(|labels, e| {
            if failed.is_some() {
                return;
            }
            // Exemplars of series no longer in the head are dropped.
            let Some(id) = self.series_ref(labels) else {
                return;
            };
            batch.push(RefExemplar {
                id,
                t: e.ts,
                v: e.value,
                labels: e.labels.clone(),
            });
            stats.exemplars += 1;
            if batch.len() >= EXEMPLARS_PER_RECORD
                && let Err(e) = log_batch(&mut log, &mut batch)
            {
                failed = Some(e);
            }
        });
        if let Some(e) = failed {
            return Err(e);
        }
        if !batch.is_empty() {
            log_batch(&mut log, &mut batch)?;
        }
        log.close()?;
        Ok(Some(stats))
    }
}

/// A series record of a snapshot.
struct SnapSeries {
    id: u64,
    labels: model::Labels,
    chunk: Option<SnapChunk>,
}

struct SnapChunk {
    min_t: i64,
    max_t: i64,
    encoding: u8,
    bytes: Vec<u8>,
}

fn decode_series(rec: &[u8]) -> Result<SnapSeries, String> {
    let mut d = Decbuf::new(&rec[1..]);
    let err = |e: crate::DecodeError| e.to_string();
    let id = d.be64().map_err(err)?;
    let n = d.uvarint_usize().map_err(err)?;
    let mut pairs = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let name = d.uvarint_str().map_err(err)?;
        let value = d.uvarint_str().map_err(err)?;
        if name.is_empty() {
            return Err("label with an empty name".into());
        }
        pairs.push((name, value));
    }
    let labels = model::Labels::from_pairs(pairs);
    let _chunk_range = d.be64_i64().map_err(err)?;
    if d.uvarint().map_err(err)? == 0 {
        return Ok(SnapSeries {
            id,
            labels,
            chunk: None,
        });
    }
    let min_t = d.be64_i64().map_err(err)?;
    let max_t = d.be64_i64().map_err(err)?;
    let encoding = d.byte().map_err(err)?;
    let bytes = d.uvarint_bytes().map_err(err)?.to_vec();
    for _ in 0..3 {
        d.be64().map_err(err)?;
        d.be64().map_err(err)?;
    }
    d.be64().map_err(err)?;
    // The newest value (a float's; later versions append a histogram's): the chunk holds it.
    d.be64().map_err(err)?;
    if !d.is_empty() && encoding == Encoding::Xor.as_u8() {
        return Err(format!("unexpected {} bytes left in entry", d.len()));
    }
    Ok(SnapSeries {
        id,
        labels,
        chunk: Some(SnapChunk {
            min_t,
            max_t,
            encoding,
            bytes,
        }),
    })
}

/// Gives the series `s` (new, without samples) the open chunk `c` of a snapshot. Prometheus
/// makes it the open chunk again but cuts a new one at the next sample, so the chunk is never
/// appended to: it goes to `chunks_head/` at once as a full chunk (where Prometheus maps it
/// at that next sample), which spares decoding every sample to restore an appender.
fn restore_chunk(head: &Head, s: &Arc<MemSeries>, c: SnapChunk) -> Result<(), String> {
    if c.max_t < head.min_valid_time() {
        return Ok(());
    }
    let enc = Encoding::from_u8(c.encoding)
        .filter(|e| *e != Encoding::None)
        .ok_or_else(|| format!("series {}: unknown chunk encoding {}", s.id, c.encoding))?;
    // Every encoding starts with its number of samples.
    let n = match c.bytes.get(..2) {
        Some(h) => u16::from_be_bytes([h[0], h[1]]),
        None => return Err(format!("series {}: chunk of {} bytes", s.id, c.bytes.len())),
    };
    if n == 0 {
        return Ok(());
    }
    let files = head.chunk_files.as_ref();
    let written = files.map(|f| f.lock().write_chunk(s.id, c.min_t, c.max_t, enc, &c.bytes));
    let info = ChunkInfo {
        encoding: enc,
        num_samples: n,
    };
    let loc = match written {
        Some(Ok(r)) => ChunkLoc::Disk(info, r),
        Some(Err(e)) => return Err(format!("writing the chunk to chunks_head: {e}")),
        None => ChunkLoc::Mem(info, Arc::new(c.bytes.into())),
    };
    let mut st = s.state.lock();
    st.full.push(FullChunk::new(c.min_t, c.max_t, loc));
    drop(st);
    head.update_time_bounds(c.min_t, c.max_t);
    Ok(())
}

/// What was loaded from a snapshot.
#[derive(Debug)]
pub struct Loaded {
    /// The WAL segment after which replay goes on.
    pub segment: u32,
    /// The offset in that segment.
    pub offset: u64,
    /// The tombstones, to apply once the memory-mapped chunks are attached.
    pub tombstones: Tombstones,
}

/// Loads the newest snapshot under `root` into the empty `head`. `None` without a snapshot.
/// On error the head holds part of the snapshot and must be discarded.
/// Sorts the head's postings when dropped, after series were created out of order.
struct SortPostingsWhenDone<'a>(&'a Head);

impl Drop for SortPostingsWhenDone<'_> {
    fn drop(&mut self) {
        self.0.postings.write().ensure_order();
    }
}

pub(crate) fn load(head: &Head, root: &Path) -> Result<Option<Loaded>, TsdbError> {
    let Some((dir, segment, offset)) = last_snapshot(root)? else {
        return Ok(None);
    };
    let started = Instant::now();
    let bad = |reason: String| TsdbError::corruption(dir.display().to_string(), reason);
    let mut reader = WalReader::open_dir(&dir)?;
    // Series come by hash stripe, not by reference: their postings are appended and sorted
    // once at the end (also when loading fails half-way and the WAL is replayed instead).
    let _sort = SortPostingsWhenDone(head);
    let mut series = 0usize;
    let mut tombstones = Tombstones::new();
    let mut unknown = 0usize;
    let mut complete = false;
    while let Some(rec) = reader.next_record()? {
        match rec.first().copied() {
            Some(REC_SERIES) => {
                let s =
                    decode_series(rec).map_err(|e| bad(format!("decode series record: {e}")))?;
                series += 1;
                let m = head.create_with_id_unordered(s.id, &s.labels);
                if m.id != s.id {
                    return Err(bad(format!("series {} listed twice", s.labels)));
                }
                if let Some(c) = s.chunk {
                    restore_chunk(head, &m, c).map_err(|e| bad(format!("restore chunk: {e}")))?;
                }
            }
            Some(REC_TOMBSTONES) => {
                let mut d = Decbuf::new(&rec[1..]);
                let body = d
                    .uvarint_bytes()
                    .map_err(|e| bad(format!("decode tombstones: {e}")))?;
                let mut d = Decbuf::new(body);
                let v = d
                    .byte()
                    .map_err(|e| bad(format!("decode tombstones: {e}")))?;
                if v != TOMBSTONES_V1 {
                    return Err(bad(format!("invalid tombstone format {v:x}")));
                }
                while !d.is_empty() {
                    let read =
                        (|| Ok::<_, crate::DecodeError>((d.uvarint()?, d.varint()?, d.varint()?)))(
                        );
                    let (id, mint, maxt) =
                        read.map_err(|e| bad(format!("decode tombstones: {e}")))?;
                    tombstones.add_interval(id, Interval { mint, maxt });
                }
                complete = true;
            }
            Some(REC_EXEMPLARS) => {
                if !head.exemplars.enabled() {
                    continue;
                }
                let mut wal_rec = rec.to_vec();
                wal_rec[0] = record::EXEMPLARS;
                let Ok(Record::Exemplars(ex)) = record::decode(&wal_rec) else {
                    return Err(bad("decode exemplars record".into()));
                };
                for e in ex {
                    let Some(s) = head.series_by_id(e.id) else {
                        unknown += 1;
                        continue;
                    };
                    let exemplar = storage::Exemplar {
                        labels: e.labels,
                        value: e.v,
                        ts: e.t,
                        has_ts: true,
                    };
                    // A duplicate or out-of-order exemplar is dropped, as when appended.
                    let _ = head.exemplars.add(&s.labels, &exemplar);
                }
            }
            other => {
                return Err(bad(format!(
                    "unsupported snapshot record type {:#04x}",
                    other.unwrap_or(0)
                )));
            }
        }
    }
    if !complete {
        // Every snapshot has a tombstones record after all its series: without it, the
        // snapshot was cut short and would hide the WAL before its offset.
        return Err(bad(
            "no tombstones record: the snapshot is incomplete".into()
        ));
    }
    tracing::info!(
        dir = %dir.display(),
        num_series = series,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "chunk snapshot loaded"
    );
    if unknown > 0 {
        tracing::warn!(
            count = unknown,
            "unknown series references during chunk snapshot replay"
        );
    }
    Ok(Some(Loaded {
        segment,
        offset,
        tombstones,
    }))
}

/// Attaches the memory-mapped full chunks of the series a snapshot created (removing them
/// from `mmapped`): the open chunk from the snapshot stays unless a mapped chunk reaches it
/// (it was cut and written after the snapshot). The series are shared out to as many threads
/// as there are cores: finding a series' newest value decodes its newest chunk.
pub(crate) fn attach_mmapped(head: &Head, mmapped: &mut super::replay::MmappedChunks) {
    let mut found: Vec<(Arc<MemSeries>, Vec<FullChunk>)> = Vec::new();
    mmapped.retain(|&id, chunks| match head.series_by_id(id) {
        Some(s) => {
            found.push((s, std::mem::take(chunks)));
            false
        }
        None => true,
    });
    let threads = std::thread::available_parallelism()
        .map_or(1, std::num::NonZero::get)
        .clamp(1, 8);
    let per = found.len().div_ceil(threads).max(1);
    std::thread::scope(|sc| {
        for part in found.chunks_mut(per) {
            sc.spawn(move || {
                for (s, chunks) in part {
                    attach_to_series(head, s, std::mem::take(chunks));
                }
            });
        }
    });
}

/// Gives the series `s` of a snapshot its memory-mapped `chunks`.
fn attach_to_series(head: &Head, s: &MemSeries, chunks: Vec<FullChunk>) {
    let Some(last) = chunks.last() else { return };
    let (mint, maxt) = (chunks[0].min_t, last.max_t);
    let mut st = s.state.lock();
    // The snapshot's chunk (already written as a full chunk) stays unless a mapped chunk
    // reaches it: it was cut and written after the snapshot was taken.
    st.full.retain(|c| c.min_t > maxt);
    let mut full = chunks;
    full.extend(std::mem::take(&mut st.full).into_vec());
    st.full = full.into();
    drop(st);
    head.update_time_bounds(mint, maxt);
}
