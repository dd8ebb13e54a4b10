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
use std::time::Instant;

use crate::chunkenc::Encoding;
use crate::encoding::{Decbuf, Encbuf};
use crate::error::TsdbError;
use crate::head::chunk::HeadValue;
use crate::head::replay::MmappedChunks;
use crate::head::{Head, MemSeries};
use crate::tombstones::{Interval, Tombstones};
use crate::wal::record::{self, Record, RefExemplar};
use crate::wal::{self, Wal, WalOptions, WalReader};

mod load_series;

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

/// The open chunk of a series record.
struct SnapChunk {
    min_t: i64,
    max_t: i64,
    encoding: u8,
    /// Where its bytes are in the buffer given to [`decode_series`].
    bytes: std::ops::Range<usize>,
}

/// Label pairs decoded on the stack: more are rare.
const STACK_PAIRS: usize = 32;

/// Decodes a series record, appending its chunk's bytes to `chunks` (one buffer for many
/// records rather than an allocation each, freed on another thread).
fn decode_series(rec: &[u8], chunks: &mut Vec<u8>) -> Result<SnapSeries, String> {
    let mut d = Decbuf::new(&rec[1..]);
    let err = |e: crate::DecodeError| e.to_string();
    let id = d.be64().map_err(err)?;
    let n = d.uvarint_usize().map_err(err)?;
    let mut stack = [("", ""); STACK_PAIRS];
    let mut heap = Vec::new();
    let pairs: &mut [(&str, &str)] = if n <= STACK_PAIRS {
        &mut stack[..n]
    } else {
        heap.resize(n.min(rec.len()), ("", ""));
        &mut heap
    };
    if pairs.len() < n {
        return Err(format!("{n} labels in a record of {} bytes", rec.len()));
    }
    let mut sorted = true;
    for i in 0..n {
        let name = d.uvarint_str().map_err(err)?;
        let value = d.uvarint_str().map_err(err)?;
        if name.is_empty() {
            return Err("label with an empty name".into());
        }
        sorted &= i == 0 || pairs[i - 1].0 < name;
        pairs[i] = (name, value);
    }
    // Written from label sets, the pairs come sorted by name: no sort or copy to check.
    let labels = if sorted {
        model::Labels::from_sorted(pairs.iter().copied())
    } else {
        model::Labels::from_pairs(pairs.iter().copied())
    };
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
    let data = d.uvarint_bytes().map_err(err)?;
    let bytes = chunks.len()..chunks.len() + data.len();
    chunks.extend_from_slice(data);
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

/// What was loaded from a snapshot.
#[derive(Debug)]
pub struct Loaded {
    /// The WAL segment after which replay goes on.
    pub segment: u32,
    /// The offset in that segment.
    pub offset: u64,
    /// The tombstones, to apply once the memory-mapped chunks are attached.
    pub tombstones: Tombstones,
    /// The memory-mapped chunks of `chunks_head/` no series of the snapshot took (for the
    /// WAL after it), and the out-of-order ones.
    pub mmapped: (MmappedChunks, MmappedChunks),
}

/// Sorts the head's postings when dropped, after series were created out of order.
struct SortPostingsWhenDone<'a>(&'a Head);

impl Drop for SortPostingsWhenDone<'_> {
    fn drop(&mut self) {
        self.0.postings.write().ensure_order();
    }
}

/// Loads the newest snapshot under `root` into the empty `head`, giving its series their
/// memory-mapped chunks from the head's chunk files (read meanwhile). `None` without a
/// snapshot. On error the head holds part of the snapshot and must be discarded.
pub(crate) fn load(head: &Head, root: &Path) -> Result<Option<Loaded>, TsdbError> {
    let Some((dir, segment, offset)) = last_snapshot(root)? else {
        return Ok(None);
    };
    let started = Instant::now();
    let bad = |reason: String| TsdbError::corruption(dir.display().to_string(), reason);
    let mut reader = WalReader::open_dir(&dir)?;
    // Postings are appended and sorted once at the end (also when loading fails half-way
    // and the WAL is replayed instead): Prometheus lists series by hash stripe.
    let _sort = SortPostingsWhenDone(head);
    let loaded = load_series::load_series(head, &mut reader, &bad)?;
    let series = loaded.series;
    let mut rest = Rest {
        head,
        bad: &bad,
        tombstones: Tombstones::new(),
        unknown: 0,
        complete: false,
    };
    if let Some(rec) = loaded.next {
        rest.apply(&rec)?;
    }
    while let Some(rec) = reader.next_record()? {
        rest.apply(rec)?;
    }
    let Rest {
        tombstones,
        unknown,
        complete,
        ..
    } = rest;
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
        mmapped: loaded.mmapped,
    }))
}

/// The records after the series records: tombstones, then exemplars.
struct Rest<'a> {
    head: &'a Head,
    bad: &'a dyn Fn(String) -> TsdbError,
    tombstones: Tombstones,
    /// Exemplars of unknown series.
    unknown: usize,
    /// Whether the tombstones record was read.
    complete: bool,
}

impl Rest<'_> {
    fn apply(&mut self, rec: &[u8]) -> Result<(), TsdbError> {
        match rec.first().copied() {
            Some(REC_SERIES) => {
                return Err((self.bad)("series record after the tombstones".into()));
            }
            Some(REC_TOMBSTONES) => {
                let mut d = Decbuf::new(&rec[1..]);
                let body = d
                    .uvarint_bytes()
                    .map_err(|e| (self.bad)(format!("decode tombstones: {e}")))?;
                let mut d = Decbuf::new(body);
                let v = d
                    .byte()
                    .map_err(|e| (self.bad)(format!("decode tombstones: {e}")))?;
                if v != TOMBSTONES_V1 {
                    return Err((self.bad)(format!("invalid tombstone format {v:x}")));
                }
                while !d.is_empty() {
                    let read =
                        (|| Ok::<_, crate::DecodeError>((d.uvarint()?, d.varint()?, d.varint()?)))(
                        );
                    let (id, mint, maxt) =
                        read.map_err(|e| (self.bad)(format!("decode tombstones: {e}")))?;
                    self.tombstones.add_interval(id, Interval { mint, maxt });
                }
                self.complete = true;
            }
            Some(REC_EXEMPLARS) => {
                if !self.head.exemplars.enabled() {
                    return Ok(());
                }
                let mut wal_rec = rec.to_vec();
                wal_rec[0] = record::EXEMPLARS;
                let Ok(Record::Exemplars(ex)) = record::decode(&wal_rec) else {
                    return Err((self.bad)("decode exemplars record".into()));
                };
                for e in ex {
                    let Some(s) = self.head.series_by_id(e.id) else {
                        self.unknown += 1;
                        continue;
                    };
                    let exemplar = storage::Exemplar {
                        labels: e.labels,
                        value: e.v,
                        ts: e.t,
                        has_ts: true,
                    };
                    // A duplicate or out-of-order exemplar is dropped, as when appended.
                    let _ = self.head.exemplars.add(&s.labels, &exemplar);
                }
            }
            other => {
                return Err((self.bad)(format!(
                    "unsupported snapshot record type {:#04x}",
                    other.unwrap_or(0)
                )));
            }
        }
        Ok(())
    }
}
