//! Creating a chunk snapshot's series on three threads (issue 15 item 4): the caller's thread
//! reads and decodes the series records, a second creates each series (the map by label
//! hash, the table by reference) with its full chunks (the memory-mapped ones of
//! `chunks_head/` and the snapshot's open chunk), a third adds them to the postings. Prometheus
//! (`loadChunkSnapshot`) decodes on one goroutine and creates series on several.
//!
//! A series gets its memory-mapped chunks when it is created, while it is in the cache,
//! instead of in a second pass over the map of chunks looking every series up again.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::chunkenc::Encoding;
use crate::error::TsdbError;
use crate::head::chunk::{ChunkInfo, ChunkLoc, FullChunk};
use crate::head::postings::ALL_POSTINGS_KEY;
use crate::head::replay::{MmappedChunks, load_mmapped_chunks};
use crate::head::{Head, MemSeries};
use crate::wal::WalReader;

use super::{REC_SERIES, SnapChunk, SnapSeries, decode_series};

/// Series records decoded before they are handed to the creating thread.
const BATCH: usize = 2048;
/// How many series ahead the creating thread asks for a series' stripe of the map by hash.
const PREFETCH_AHEAD: usize = 8;
/// Batches queued between two threads: the reading thread runs ahead by up to 64k series
/// while the creating one reads the index of `chunks_head/` first (~0.1 s at 1M series).
const QUEUED: usize = 32;

/// Decoded series records, their open chunks' bytes in one buffer.
#[derive(Default)]
struct Batch {
    series: Vec<SnapSeries>,
    chunks: Vec<u8>,
}

/// What reading the series records ended with.
pub(super) struct SeriesLoaded {
    /// Series records read.
    pub series: usize,
    /// The first record after the series records (the tombstones, in a whole snapshot).
    pub next: Option<Vec<u8>>,
    /// The memory-mapped chunks of `chunks_head/` that no series of the snapshot took, and
    /// the out-of-order ones.
    pub mmapped: (MmappedChunks, MmappedChunks),
}

/// Reads the series records at the start of `reader` and creates their series in `head`
/// with their memory-mapped chunks (the index of `chunks_head/` is read meanwhile, on the
/// creating thread). Errors are the reasons a snapshot is corrupt (`bad` makes them errors of
/// the snapshot) or I/O errors.
pub(super) fn load_series(
    head: &Head,
    reader: &mut WalReader,
    bad: &(dyn Fn(String) -> TsdbError + Sync),
) -> Result<SeriesLoaded, TsdbError> {
    std::thread::scope(|sc| {
        let (tx, rx) = sync_channel::<Batch>(QUEUED);
        let (ptx, prx) = sync_channel::<Vec<Arc<MemSeries>>>(QUEUED);
        let spawn_failed = |e: std::io::Error| bad(format!("starting a thread: {e}"));
        let creator = std::thread::Builder::new()
            .name("snapshot-series".into())
            .spawn_scoped(sc, move || create(head, &rx, &ptx, bad))
            .map_err(spawn_failed)?;
        let indexer = std::thread::Builder::new()
            .name("snapshot-postings".into())
            .spawn_scoped(sc, move || index(head, &prx))
            .map_err(spawn_failed)?;
        let read = read(reader, &tx, bad);
        drop(tx);
        let created = creator
            .join()
            .map_err(|_| bad("the series thread panicked".into()))?;
        indexer
            .join()
            .map_err(|_| bad("the postings thread panicked".into()))?;
        // The creating thread's error first: reading stops when it is gone.
        let mmapped = created?;
        let (series, next) = read?;
        Ok(SeriesLoaded {
            series,
            next,
            mmapped,
        })
    })
}

/// Decodes the series records onto `tx` in batches; stops at the first other record.
fn read(
    reader: &mut WalReader,
    tx: &SyncSender<Batch>,
    bad: &dyn Fn(String) -> TsdbError,
) -> Result<(usize, Option<Vec<u8>>), TsdbError> {
    let mut series = 0;
    let new_batch = || Batch {
        series: Vec::with_capacity(BATCH),
        chunks: Vec::new(),
    };
    let mut batch = new_batch();
    let next = loop {
        let Some(rec) = reader.next_record()? else {
            break None;
        };
        if rec.first() != Some(&REC_SERIES) {
            break Some(rec.to_vec());
        }
        let s = decode_series(rec, &mut batch.chunks)
            .map_err(|e| bad(format!("decode series record: {e}")))?;
        batch.series.push(s);
        series += 1;
        if batch.series.len() == BATCH
            && tx.send(std::mem::replace(&mut batch, new_batch())).is_err()
        {
            // The creating thread stopped on an error, which the caller returns.
            return Ok((series, None));
        }
    };
    if !batch.series.is_empty() {
        let _ = tx.send(batch);
    }
    Ok((series, next))
}

/// Reads the index of `chunks_head/`, then creates the series of each batch from `rx` with
/// their chunks; hands the new ones to the postings thread in the same order. Returns the
/// chunks no series took, and the out-of-order ones.
fn create(
    head: &Head,
    rx: &Receiver<Batch>,
    ptx: &SyncSender<Vec<Arc<MemSeries>>>,
    bad: &(dyn Fn(String) -> TsdbError + Sync),
) -> Result<(MmappedChunks, MmappedChunks), TsdbError> {
    let min_valid = head.min_valid_time();
    let (mut mmapped, ooo) = match &head.chunk_files {
        Some(f) => load_mmapped_chunks(&mut f.lock(), min_valid)?,
        None => Default::default(),
    };
    let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
    let mut last_id = 0;
    let mut created = 0u64;
    for Batch { series, chunks } in rx {
        let mut new = Vec::with_capacity(series.len());
        let hashes: Vec<u64> = series.iter().map(|s| s.labels.hash64()).collect();
        for (i, s) in series.into_iter().enumerate() {
            if let Some(&ahead) = hashes.get(i + PREFETCH_AHEAD) {
                head.series.prefetch_stripe(ahead);
            }
            let (m, fresh) = head.series.get_or_create(hashes[i], &s.labels, || s.id);
            if m.id != s.id {
                return Err(bad(format!("series {} listed twice", s.labels)));
            }
            last_id = last_id.max(s.id);
            let mapped = mmapped.take(s.id).unwrap_or_default();
            // The snapshot's open chunk stays unless a mapped chunk reaches it: it was cut and
            // written to `chunks_head/` after the snapshot was taken.
            let mapped_to = mapped.last().map_or(i64::MIN, |c| c.max_t);
            let open = s
                .chunk
                .filter(|c| c.min_t > mapped_to && c.max_t >= min_valid);
            let mut full = Vec::with_capacity(mapped.len() + usize::from(open.is_some()));
            full.extend_from_slice(mapped);
            if let Some(c) = open
                && let Some(c) = restore_chunk(head, s.id, &c, &chunks[c.bytes.clone()])
                    .map_err(|e| bad(format!("restore series: {e}")))?
            {
                full.push(c);
            }
            if let (Some(first), Some(last)) = (full.first(), full.last()) {
                mint = mint.min(first.min_t);
                maxt = maxt.max(last.max_t);
            }
            let mut st = m.state.lock();
            if fresh {
                st.full = full.into();
            } else {
                // The same record twice: its chunks once.
                for c in full {
                    if st.full.last().is_none_or(|l| c.min_t > l.max_t) {
                        st.full.push(c);
                    }
                }
            }
            drop(st);
            if fresh {
                created += 1;
                new.push(m);
            }
        }
        if ptx.send(new).is_err() {
            return Err(bad("the postings thread stopped".into()));
        }
    }
    if mint <= maxt {
        head.update_time_bounds(mint, maxt);
    }
    head.stats
        .series_created
        .fetch_add(created, std::sync::atomic::Ordering::Relaxed);
    head.last_id
        .fetch_max(last_id, std::sync::atomic::Ordering::AcqRel);
    Ok((mmapped, ooo))
}

/// Adds the series of each batch from `rx` to the postings, unsorted (the caller sorts them
/// once at the end; a snapshot of ours lists series by reference, so that sort finds every
/// list in order, while Prometheus's lists them by hash stripe). A batch's series are grouped
/// by label pair first, in a small map that stays in the cache: series close in a snapshot
/// share most pairs (job, namespace, pod, metric name), and each group is one lookup in the
/// head's postings instead of one per series and label.
fn index(head: &Head, rx: &Receiver<Vec<Arc<MemSeries>>>) {
    for batch in rx {
        let mut groups: HashMap<(&str, &str), Vec<u64>, foldhash::fast::RandomState> =
            HashMap::default();
        for s in &batch {
            for l in &s.labels {
                groups.entry((l.name, l.value)).or_default().push(s.id);
            }
        }
        let all: Vec<u64> = batch.iter().map(|s| s.id).collect();
        let mut p = head.postings.write();
        for ((name, value), ids) in &groups {
            p.extend_unordered(name, value, ids);
        }
        p.extend_unordered(ALL_POSTINGS_KEY.0, ALL_POSTINGS_KEY.1, &all);
    }
}

/// The full chunk for the snapshot's open chunk `c` of series `id`, written to
/// `chunks_head/`. Prometheus makes it the open chunk again but cuts a new one at the next
/// sample, so the chunk is never appended to: it goes to `chunks_head/` at once (where
/// Prometheus maps it at that next sample), which spares decoding every sample to restore an
/// appender. `None` for an empty chunk.
fn restore_chunk(
    head: &Head,
    id: u64,
    c: &SnapChunk,
    bytes: &[u8],
) -> Result<Option<FullChunk>, String> {
    let enc = Encoding::from_u8(c.encoding)
        .filter(|e| *e != Encoding::None)
        .ok_or_else(|| format!("series {id}: unknown chunk encoding {}", c.encoding))?;
    // Every encoding starts with its number of samples.
    let n = match bytes.get(..2) {
        Some(h) => u16::from_be_bytes([h[0], h[1]]),
        None => return Err(format!("series {id}: chunk of {} bytes", bytes.len())),
    };
    if n == 0 {
        return Ok(None);
    }
    let info = ChunkInfo {
        encoding: enc,
        num_samples: n,
    };
    let loc = match head.chunk_files.as_ref() {
        Some(f) => {
            let r = f
                .lock()
                .write_chunk(id, c.min_t, c.max_t, enc, bytes)
                .map_err(|e| format!("writing the chunk to chunks_head: {e}"))?;
            ChunkLoc::Disk(info, r)
        }
        None => ChunkLoc::Mem(info, Arc::new(bytes.into())),
    };
    Ok(Some(FullChunk::new(c.min_t, c.max_t, loc)))
}
