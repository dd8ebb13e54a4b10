//! The appender threads of WAL replay: each owns the series whose reference is its number
//! modulo the number of threads, and appends their samples in the order it receives them
//! (Prometheus's `processWALSamples` shards of `tsdb/head_wal.go`). A thread finds a series by
//! reference once, in its own table, and never shares a reference count with the others.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

use super::refs::RefTable;
use crate::head::chunk::HeadValue;
use crate::head::{Head, MemSeries};
use crate::start::HeadStarts;

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
    Samples(Vec<Pending>),
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

/// An appender thread, one of `shards`: appends the samples of its series in the order
/// received.
pub(super) fn shard_worker(head: &Head, rx: &Receiver<ShardMsg>, shards: u64) -> ShardStats {
    let chunk_range = head.options().chunk_range;
    let files = head.chunk_files.as_ref();
    let mut stats = ShardStats::default();
    // By reference divided by the number of shards: this thread's references are dense.
    let mut series: RefTable<Arc<MemSeries>> = RefTable::default();
    for msg in rx {
        match msg {
            ShardMsg::Samples(batch) => {
                let (mut mint, mut maxt) = (i64::MAX, i64::MIN);
                for (j, p) in batch.iter().enumerate() {
                    if let Some(next) = batch.get(j + PREFETCH_AHEAD)
                        && let Some(s) = series.get(next.id / shards)
                    {
                        prefetch(s);
                    }
                    let key = p.id / shards;
                    let s = match series.get(key) {
                        Some(s) => s,
                        None => {
                            let Some(s) = head.series_by_id(p.id) else {
                                stats.unknown_refs += 1;
                                continue;
                            };
                            series.insert(key, s);
                            series.get(key).expect("just inserted")
                        }
                    };
                    let mut st = s.state.lock();
                    let appended = st.append(p.id, p.t, &p.v, chunk_range, files);
                    // Also for a sample already in a memory-mapped chunk: its start is only here.
                    HeadStarts::note(&mut st.starts, p.t, p.start);
                    drop(st);
                    if appended {
                        stats.samples += 1;
                        mint = mint.min(p.t);
                        maxt = maxt.max(p.t);
                    } else {
                        stats.out_of_order += 1;
                    }
                }
                if maxt != i64::MIN {
                    head.update_time_bounds(mint, maxt);
                }
            }
            ShardMsg::Flush(done) => {
                let _ = done.send(());
            }
        }
    }
    stats
}
