//! The appender threads of WAL replay: each owns the series whose reference is its number
//! modulo the number of threads, and appends their samples in the order it receives them
//! (Prometheus's `processWALSamples` shards of `tsdb/head_wal.go`). A thread finds a series by
//! reference once, in its own table, and never shares a reference count with the others.
//! While every WAL reference names the series of the same id, the threads get the float
//! samples records still encoded, each decoding them and applying its own share; the thread
//! keeps each series' newest time, so a sample a memory-mapped chunk already holds is
//! dropped without touching the series.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

use super::refs::RefTable;
use crate::head::chunk::{FullChunk, HeadValue};
use crate::head::{Head, MemSeries};
use crate::wal::record::SampleIter;

/// How many samples ahead a thread asks the CPU for the series it will append to: each
/// sample of a record is for another series, out of the cache, and taking its lock waits for
/// the whole miss (a locked instruction cannot overlap it).
const PREFETCH_AHEAD: usize = 8;

/// Asks the CPU to load the first cache lines of `s` (its lock and the state after it).
#[inline]
fn prefetch(s: &MemSeries) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        let p = std::ptr::from_ref(s).cast::<i8>();
        for line in 0..3 {
            // SAFETY: SSE is part of every x86_64 CPU, and a prefetch only hints the cache:
            // it never faults, whatever the address, and changes no memory.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(line * 64)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = s;
}

/// A sample for the series `id` (already resolved from its WAL reference), with its start
/// timestamp (0: none).
pub(super) struct Pending {
    pub(super) id: u64,
    pub(super) t: i64,
    pub(super) v: HeadValue,
    pub(super) start: i64,
}

/// What the replaying thread sends an appender thread.
pub(super) enum ShardMsg {
    /// Samples resolved by the replaying thread.
    Samples(Vec<Pending>),
    /// Float samples records, still encoded, sent to every thread: each applies the samples
    /// of its own series. Only while every WAL reference names the series of the same id
    /// and no sample has a start timestamp.
    Records(Arc<Vec<Vec<u8>>>),
    /// Memory-mapped full chunks of new series, for [`super::attach`].
    Attach(Vec<(Arc<MemSeries>, Vec<FullChunk>)>),
    /// A deletion changed these series: their newest time must be read again.
    Forget(Arc<Vec<u64>>),
    /// Answer once everything sent before is applied.
    Flush(SyncSender<()>),
}

/// What one appender thread applied.
#[derive(Default)]
pub(super) struct ShardStats {
    pub(super) samples: usize,
    pub(super) out_of_order: usize,
    pub(super) unknown_refs: usize,
}

/// A series of this thread, and its newest time as far as this thread knows (it is the only
/// one appending to it; `i64::MIN`: unknown, ask the series).
struct Slot {
    series: Arc<MemSeries>,
    max_t: i64,
}

/// An appender thread: thread `me` of `shards` applies the samples of the series whose
/// reference is `me` modulo `shards`, in the order received.
struct Worker<'a> {
    head: &'a Head,
    me: u64,
    shards: u64,
    chunk_range: i64,
    stats: ShardStats,
    /// By reference divided by the number of shards: this thread's references are dense.
    series: RefTable<Slot>,
    /// The samples of this thread in the record being applied: (table key, t, v).
    mine: Vec<(u64, i64, f64)>,
    /// Time bounds of the samples applied since the head's were last updated.
    bounds: (i64, i64),
}

/// Runs appender thread `me` of `shards` until the replaying thread hangs up.
pub(super) fn shard_worker(
    head: &Head,
    rx: &Receiver<ShardMsg>,
    me: u64,
    shards: u64,
) -> ShardStats {
    let mut w = Worker {
        head,
        me,
        shards,
        chunk_range: head.options().chunk_range,
        stats: ShardStats::default(),
        series: RefTable::default(),
        mine: Vec::new(),
        bounds: (i64::MAX, i64::MIN),
    };
    for msg in rx {
        match msg {
            ShardMsg::Samples(batch) => w.pending(&batch),
            ShardMsg::Records(records) => {
                for rec in records.iter() {
                    w.record(rec);
                }
            }
            ShardMsg::Attach(series) => {
                for (s, chunks) in series {
                    super::attach(head, &s, chunks);
                    if let Some(slot) = w.series.get_mut(s.id / shards) {
                        slot.max_t = i64::MIN;
                    }
                }
            }
            ShardMsg::Forget(ids) => {
                for &id in ids.iter().filter(|&&id| id % shards == me) {
                    if let Some(slot) = w.series.get_mut(id / shards) {
                        slot.max_t = i64::MIN;
                    }
                }
            }
            ShardMsg::Flush(done) => {
                w.update_bounds();
                let _ = done.send(());
            }
        }
        w.update_bounds();
    }
    w.stats
}

impl Worker<'_> {
    /// The slot of series `id` (key `id / shards`), found in the head the first time.
    fn slot(&mut self, id: u64) -> Option<&mut Slot> {
        let key = id / self.shards;
        if self.series.get(key).is_none() {
            let Some(s) = self.head.series_by_id(id) else {
                self.stats.unknown_refs += 1;
                return None;
            };
            let max_t = s.state.lock().max_t();
            self.series.insert(key, Slot { series: s, max_t });
        }
        self.series.get_mut(key)
    }

    fn update_bounds(&mut self) {
        let (mint, maxt) = std::mem::replace(&mut self.bounds, (i64::MAX, i64::MIN));
        if maxt != i64::MIN {
            self.head.update_time_bounds(mint, maxt);
        }
    }

    /// Appends `(t, v)` (start `start`) to the series of `slot`; counts it.
    #[inline]
    fn append(&mut self, key: u64, t: i64, v: &HeadValue, start: i64) {
        let files = self.head.chunk_files.as_ref();
        let slot = self.series.get_mut(key).expect("resolved before");
        let s = &slot.series;
        let mut st = s.state.lock();
        let appended = st.append(s.id, t, v, self.chunk_range, files);
        // Also for a sample already in a memory-mapped chunk: its start is only here.
        st.note_start(t, start);
        slot.max_t = st.max_t();
        drop(st);
        if appended {
            self.stats.samples += 1;
            self.bounds = (self.bounds.0.min(t), self.bounds.1.max(t));
        } else {
            self.stats.out_of_order += 1;
        }
    }

    /// Applies samples the replaying thread resolved.
    fn pending(&mut self, batch: &[Pending]) {
        for (j, p) in batch.iter().enumerate() {
            if let Some(next) = batch.get(j + PREFETCH_AHEAD)
                && let Some(slot) = self.series.get(next.id / self.shards)
            {
                prefetch(&slot.series);
            }
            if self.slot(p.id).is_none() {
                continue;
            }
            self.append(p.id / self.shards, p.t, &p.v, p.start);
        }
    }

    /// Applies the samples of this thread's series in an encoded float samples record
    /// (checked by the decoder thread). A sample not newer than its series' newest is
    /// counted without touching the series: the head would refuse it.
    fn record(&mut self, rec: &[u8]) {
        let Ok(samples) = SampleIter::new(rec) else {
            return;
        };
        let min_valid = self.head.min_valid_time();
        let mut mine = std::mem::take(&mut self.mine);
        mine.clear();
        for s in samples {
            let Ok(s) = s else { break };
            if s.id % self.shards != self.me || s.t < min_valid {
                continue;
            }
            let Some(slot) = self.slot(s.id) else {
                continue;
            };
            if s.t <= slot.max_t {
                self.stats.out_of_order += 1;
                continue;
            }
            // A later sample of the same series in this record is checked against this one.
            slot.max_t = s.t;
            mine.push((s.id / self.shards, s.t, s.v));
        }
        for (j, &(key, t, v)) in mine.iter().enumerate() {
            if let Some(&(next, _, _)) = mine.get(j + PREFETCH_AHEAD)
                && let Some(slot) = self.series.get(next)
            {
                prefetch(&slot.series);
            }
            self.append(key, t, &HeadValue::Float(v), 0);
        }
        self.mine = mine;
    }
}
