//! The agent's storage (Prometheus's `tsdb/agent/db.go`): series and the write-ahead log,
//! no chunks, no blocks, no querying. Appends are validated as Prometheus's agent does
//! (labels; a sample older than its series' newest committed one is out of order) and only
//! logged; the remote write queues read the log. [`AgentDb::truncate`] forgets series that
//! received nothing since `mint`, checkpoints the older two thirds of the segments and
//! deletes them, except what the queues still have to send (the [`WalHold`]).

mod appender;
mod metrics;
mod series;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::{Mutex, RwLock};
use storage::{Appendable, Appender};

pub use appender::AgentAppender;
pub use series::{AgentSeries, SeriesTable};

use crate::error::TsdbError;
use crate::head::WalHold;
use crate::wal::record::{self, Record};
use crate::wal::{self, Wal, WalOptions, WalReader};

/// Counters of the agent's work (the `prometheus_agent_*` metrics).
#[derive(Debug, Default)]
pub struct AgentStats {
    /// Float samples committed.
    pub floats_appended: AtomicU64,
    /// Histogram samples committed.
    pub histograms_appended: AtomicU64,
    /// Exemplars committed.
    pub exemplars_appended: AtomicU64,
    /// Samples refused as out of order.
    pub out_of_order: AtomicU64,
    /// Series created by appends.
    pub series_created: AtomicU64,
    /// Series forgotten by truncations.
    pub series_removed: AtomicU64,
    /// Checkpoints written, and failed attempts.
    pub checkpoint_creations: AtomicU64,
    /// Failed checkpoint attempts.
    pub checkpoint_creations_failed: AtomicU64,
    /// Truncations, and failed ones.
    pub truncations: AtomicU64,
    /// Failed truncations.
    pub truncations_failed: AtomicU64,
    /// WAL records that did not decode at start-up.
    pub corruptions: AtomicU64,
    /// Milliseconds the start-up replay took.
    pub replay_ms: AtomicU64,
}

/// What the appenders share with the database.
pub(crate) struct Shared {
    series: SeriesTable,
    wal: Mutex<Wal>,
    /// Series whose records a failed write did not log: the next commit logs them first.
    unlogged: Mutex<Vec<Arc<AgentSeries>>>,
    stats: AgentStats,
}

/// The agent's storage in a directory (`dir/wal`).
pub struct AgentDb {
    dir: PathBuf,
    shared: Arc<Shared>,
    /// Series forgotten, by reference, with the last segment that may refer to them: a
    /// checkpoint keeps their records while it covers earlier segments only.
    deleted: Mutex<HashMap<u64, u32>>,
    hold: RwLock<Option<WalHold>>,
    /// One truncation at a time.
    truncating: Mutex<()>,
}

impl std::fmt::Debug for AgentDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentDb")
            .field("dir", &self.dir)
            .field("series", &self.shared.series.len())
            .finish_non_exhaustive()
    }
}

impl AgentDb {
    /// Opens the agent's storage in `dir` (created if needed): the series and their newest
    /// timestamps come back from the WAL's checkpoint and segments (a torn or corrupt tail
    /// is repaired, as the TSDB's), then a new segment starts.
    ///
    /// # Errors
    /// I/O errors.
    pub fn open(dir: &Path, opts: WalOptions) -> Result<Self, TsdbError> {
        let wal_dir = dir.join("wal");
        std::fs::create_dir_all(&wal_dir).map_err(|e| TsdbError::io("create dir", &wal_dir, e))?;
        let started = std::time::Instant::now();
        let series = SeriesTable::default();
        let stats = AgentStats::default();
        replay(&wal_dir, &series, &stats)?;
        stats.replay_ms.store(
            u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
        tracing::info!(
            dir = %dir.display(),
            series = series.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "agent WAL replayed"
        );
        let wal = Wal::open(&wal_dir, opts)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            shared: Arc::new(Shared {
                series,
                wal: Mutex::new(wal),
                unlogged: Mutex::new(Vec::new()),
                stats,
            }),
            deleted: Mutex::new(HashMap::new()),
            hold: RwLock::new(None),
            truncating: Mutex::new(()),
        })
    }

    /// The storage's directory (the WAL is its `wal/`).
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The series.
    #[must_use]
    pub fn series(&self) -> &SeriesTable {
        &self.shared.series
    }

    /// The counters.
    #[must_use]
    pub fn stats(&self) -> &AgentStats {
        &self.shared.stats
    }

    /// A new appender.
    #[must_use]
    pub fn appender(&self) -> AgentAppender {
        AgentAppender::new(self.shared.clone())
    }

    /// Sets what truncation must keep for the remote write queues.
    pub fn set_wal_hold(&self, hold: Option<WalHold>) {
        *self.hold.write() = hold;
    }

    /// Forgets the series without a sample since `mint` (not those an appender holds),
    /// then checkpoints the older two thirds of the closed segments, keeping the series
    /// still known and samples from `mint` on, and deletes those segments; the segments
    /// the WAL hold names and later ones stay (Prometheus's agent `truncate`).
    ///
    /// # Errors
    /// I/O errors writing the checkpoint or deleting segments; the segments stay then.
    pub fn truncate(&self, mint: i64) -> Result<(), TsdbError> {
        let _one = self.truncating.lock();
        let stats = &self.shared.stats;
        stats.truncations.fetch_add(1, Ordering::Relaxed);
        let removed_before = stats.series_removed.load(Ordering::Relaxed);
        let res = self.gc_and_checkpoint(mint);
        if stats.series_removed.load(Ordering::Relaxed) != removed_before {
            // Out of the WAL's lock: the appending threads give back what the series held.
            crate::head::release::series_removed();
        }
        if let Err(e) = &res {
            stats.truncations_failed.fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, mint, "agent WAL truncation failed; the segments are kept");
        }
        res
    }

    fn gc_and_checkpoint(&self, mint: i64) -> Result<(), TsdbError> {
        let (dir, first, last, compress) = {
            let mut w = self.shared.wal.lock();
            let dir = w.dir().to_path_buf();
            let current = w.current_segment();
            let removed = self.shared.series.remove_if(|s| {
                s.last_ts.load(Ordering::Relaxed) < mint && Arc::strong_count(s) <= series::MAP_REFS
            });
            if !removed.is_empty() {
                self.shared
                    .stats
                    .series_removed
                    .fetch_add(removed.len() as u64, Ordering::Relaxed);
                let mut deleted = self.deleted.lock();
                deleted.extend(removed.into_iter().map(|id| (id, current)));
            }
            let Some((first, last)) = wal::segment_range(&dir)? else {
                return Ok(());
            };
            // A new segment, so a slow WAL does not keep more than needed.
            w.next_segment()?;
            (dir, first, last, w.compress())
        };
        // The segment being written until now is never checkpointed.
        let Some(last) = last.checked_sub(1) else {
            return Ok(());
        };
        let mut last = first + last.saturating_sub(first) * 2 / 3;
        let hold = self.hold.read().clone();
        if let Some(keep) = hold.and_then(|h| (h.0)()) {
            if keep <= last {
                tracing::info!(
                    keep,
                    "WAL truncation held back: remote write has not sent what the segments hold"
                );
            }
            last = last.min(keep.saturating_sub(1));
        }
        if last <= first {
            return Ok(());
        }
        let stats = &self.shared.stats;
        stats.checkpoint_creations.fetch_add(1, Ordering::Relaxed);
        let deleted = self.deleted.lock().clone();
        let series = &self.shared.series;
        let (cp, cp_stats) = wal::checkpoint(
            &dir,
            first,
            last,
            |id| series.contains(id) || deleted.get(&id).is_some_and(|&seg| seg > last),
            mint,
            compress,
        )
        .inspect_err(|_| {
            stats
                .checkpoint_creations_failed
                .fetch_add(1, Ordering::Relaxed);
        })?;
        self.shared.wal.lock().truncate(last + 1)?;
        wal::delete_checkpoints(&dir, cp.index)?;
        self.deleted.lock().retain(|_, seg| *seg > last);
        tracing::info!(
            checkpoint = %cp.dir.display(),
            series = cp_stats.total_series,
            samples = cp_stats.total_samples,
            dropped_series = cp_stats.dropped_series,
            "agent WAL checkpoint complete"
        );
        Ok(())
    }

    /// Pads and syncs the WAL.
    ///
    /// # Errors
    /// I/O errors.
    pub fn close(&self) -> Result<(), TsdbError> {
        self.shared.wal.lock().close()
    }
}

impl Appendable for AgentDb {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(AgentAppender::new(self.shared.clone()))
    }
}

/// Rebuilds the series (and their newest timestamps) from the checkpoint and segments in
/// `dir`. Records that do not decode are counted and skipped; a corrupt segment is cut back
/// to its last good record.
fn replay(dir: &Path, series: &SeriesTable, stats: &AgentStats) -> Result<(), TsdbError> {
    // References of series whose labels were logged again under another reference.
    let mut aliases: HashMap<u64, Arc<AgentSeries>> = HashMap::new();
    let mut apply = |rec: &[u8]| match record::decode(rec) {
        Ok(Record::Series(list)) => {
            for s in list {
                let id = s.id;
                let got = series.insert_replayed(id, s.labels);
                if got.id != id {
                    aliases.insert(id, got);
                }
            }
        }
        Ok(Record::Samples(list)) => {
            for s in list {
                note(series, &aliases, s.id, s.t);
            }
        }
        Ok(Record::HistogramSamples(list)) => {
            for s in list {
                note(series, &aliases, s.id, s.t);
            }
        }
        Ok(Record::FloatHistogramSamples(list)) => {
            for s in list {
                note(series, &aliases, s.id, s.t);
            }
        }
        Ok(_) => {}
        Err(e) => {
            stats.corruptions.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, "agent WAL record does not decode; skipped");
        }
    };
    let mut from = None;
    if let Some(cp) = wal::last_checkpoint(dir)? {
        let mut reader = WalReader::open_dir(&cp.dir)?;
        loop {
            match reader.next_record() {
                Ok(Some(rec)) => apply(rec),
                Ok(None) => break,
                Err(e) => {
                    tracing::error!(error = %e, "agent WAL checkpoint is damaged; continuing with the records before");
                    break;
                }
            }
        }
        from = Some(cp.index + 1);
    }
    let mut reader = WalReader::open_range(dir, from, None)?;
    loop {
        match reader.next_record() {
            Ok(Some(rec)) => apply(rec),
            Ok(None) => break,
            Err(e @ TsdbError::WalCorruption { .. }) => {
                stats.corruptions.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "agent WAL is corrupt; repairing");
                wal::repair(dir, &e)?;
                break;
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A replayed sample of `id` at `t`: its series' newest timestamp moves on.
fn note(series: &SeriesTable, aliases: &HashMap<u64, Arc<AgentSeries>>, id: u64, t: i64) {
    let s = series.get(id).or_else(|| aliases.get(&id).cloned());
    if let Some(s) = s {
        s.last_ts.fetch_max(t, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests;
