//! The head: the in-memory, writable part of the database holding the newest samples
//! (normally the last 2–3 hours), backed by the WAL.
//!
//! Series live in a dense table by reference and striped maps by label hash ([`series`]),
//! are found by label through in-memory postings ([`postings`]), and hold their samples in
//! chunks cut as Prometheus cuts them ([`chunk`]). Writers use a [`HeadAppender`] (batch, log to the WAL on
//! commit, then apply); readers a [`HeadQuerier`] over a time range.

pub mod appender;
pub mod chunk;
pub mod delete;
pub mod exemplars;
mod label_order;
pub mod metrics;
pub mod ooo;
pub mod postings;
pub mod querier;
pub mod ref_table;
pub mod release;
pub mod replay;
pub mod series;
pub mod snapshot;
pub mod stats;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use model::Labels;
use parking_lot::{Mutex, RwLock};
use storage::{
    Appendable, Appender, ExemplarQueryable, ExemplarSeries, Querier, Queryable, StorageError,
};

use crate::chunks::HeadChunkFiles;
use crate::error::TsdbError;
use crate::wal::{self, Wal};

pub use appender::HeadAppender;
pub use querier::HeadQuerier;
pub use series::MemSeries;

use postings::MemPostings;
use series::StripeSeries;

/// A shared head as a storage: [`Appendable`] and [`Queryable`] (a head without blocks, for
/// agents and tests).
#[derive(Debug, Clone)]
pub struct HeadStorage(pub Arc<Head>);

impl Appendable for HeadStorage {
    fn appender(&self) -> Box<dyn Appender> {
        Box::new(self.0.appender())
    }
}

impl ExemplarQueryable for HeadStorage {
    fn select_exemplars(
        &self,
        start: i64,
        end: i64,
        matcher_sets: &[Vec<model::Matcher>],
    ) -> Result<Vec<ExemplarSeries>, StorageError> {
        Ok(self.0.exemplars.select(start, end, matcher_sets))
    }
}

impl Queryable for HeadStorage {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>, StorageError> {
        Ok(Box::new(self.0.querier(mint, maxt)))
    }
}

/// Default chunk range (and block size): two hours in milliseconds.
pub const DEFAULT_CHUNK_RANGE: i64 = 2 * 60 * 60 * 1000;

/// How the head is laid out.
#[derive(Debug, Clone)]
pub struct HeadOptions {
    /// Width of a chunk range in milliseconds; chunks never cross its boundaries.
    pub chunk_range: i64,
    /// Number of lock stripes of the series maps (a power of two).
    pub stripe_size: usize,
    /// Size of the exemplar ring buffer; 0 keeps no exemplars.
    pub max_exemplars: usize,
    /// How far behind the head's newest sample out-of-order samples are accepted, in
    /// milliseconds; 0 refuses them.
    pub ooo_window: i64,
    /// Samples per out-of-order head chunk before it is written out.
    pub ooo_cap_max: usize,
    /// Write a chunk snapshot on close and start from the newest one
    /// (`--enable-feature=memory-snapshot-on-shutdown`; see [`snapshot`]).
    pub memory_snapshot_on_shutdown: bool,
}

impl Default for HeadOptions {
    fn default() -> Self {
        Self {
            chunk_range: DEFAULT_CHUNK_RANGE,
            stripe_size: 1 << 12,
            max_exemplars: 0,
            ooo_window: 0,
            ooo_cap_max: ooo::DEFAULT_OOO_CAP_MAX,
            memory_snapshot_on_shutdown: false,
        }
    }
}

/// A counter split by sample type, as Prometheus's `type` label (`float`, `histogram`).
#[derive(Debug, Default)]
pub struct TypedCounter {
    /// Float samples.
    pub float: AtomicU64,
    /// Native histogram samples (integer or float).
    pub histogram: AtomicU64,
}

impl TypedCounter {
    /// Adds `n` to the histogram or the float count.
    pub fn add(&self, histogram: bool, n: u64) {
        let c = if histogram {
            &self.histogram
        } else {
            &self.float
        };
        c.fetch_add(n, Ordering::Relaxed);
    }

    /// Both counts added.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.float.load(Ordering::Relaxed) + self.histogram.load(Ordering::Relaxed)
    }
}

/// Counters of what the head did.
#[derive(Debug, Default)]
pub struct HeadStats {
    /// Samples appended and committed
    /// (`prometheus_tsdb_head_samples_appended_total`).
    pub samples_appended: TypedCounter,
    /// Series created.
    pub series_created: AtomicU64,
    /// Series removed by garbage collection.
    pub series_removed: AtomicU64,
    /// Samples rejected as out of order with the window closed
    /// (`prometheus_tsdb_out_of_order_samples_total`).
    pub out_of_order: TypedCounter,
    /// Samples rejected as too old with the window closed
    /// (`prometheus_tsdb_out_of_bound_samples_total`).
    pub out_of_bounds: TypedCounter,
    /// Out-of-order samples appended
    /// (`prometheus_tsdb_head_out_of_order_samples_appended_total`).
    pub ooo_appended: AtomicU64,
    /// Samples rejected as older than the open out-of-order window
    /// (`prometheus_tsdb_too_old_samples_total`).
    pub too_old: TypedCounter,
    /// WAL truncations after a head compaction (`prometheus_tsdb_head_truncations_total`).
    pub truncations: AtomicU64,
    /// Of those, the ones that failed (`prometheus_tsdb_head_truncations_failed_total`).
    pub truncations_failed: AtomicU64,
    /// Checkpoints attempted (`prometheus_tsdb_checkpoint_creations_total`).
    pub checkpoint_creations: AtomicU64,
    /// Checkpoints that failed (`prometheus_tsdb_checkpoint_creations_failed_total`).
    pub checkpoint_creations_failed: AtomicU64,
    /// Deletions of old checkpoints attempted (`prometheus_tsdb_checkpoint_deletions_total`).
    pub checkpoint_deletions: AtomicU64,
    /// Deletions that failed (`prometheus_tsdb_checkpoint_deletions_failed_total`).
    pub checkpoint_deletions_failed: AtomicU64,
}

/// The in-memory head block.
#[derive(Debug)]
pub struct Head {
    opts: HeadOptions,
    pub(crate) series: StripeSeries,
    pub(crate) postings: RwLock<MemPostings>,
    last_id: AtomicU64,
    min_time: AtomicI64,
    max_time: AtomicI64,
    min_valid_time: AtomicI64,
    pub(crate) wal: Option<Mutex<Wal>>,
    /// Series created by appenders whose WAL write failed: logged before the next records.
    /// Locked only while `wal` is.
    pub(crate) unlogged_series: Mutex<Vec<Arc<MemSeries>>>,
    /// The write-behind log of out-of-order samples (`wbl/`), once the window was open.
    pub(crate) wbl: OnceLock<Mutex<Wal>>,
    /// The out-of-order window now (milliseconds; 0 refuses out-of-order samples).
    ooo_window: AtomicI64,
    /// Where a write-behind log is created when the window opens on a running head, and
    /// how it writes (`None` for a head without files).
    wbl_home: Option<(PathBuf, wal::WalOptions)>,
    /// Where full chunks go (`chunks_head/`); without it they stay in memory.
    pub(crate) chunk_files: Option<Mutex<HeadChunkFiles>>,
    /// Commits apply under the read side; queriers snapshot under the write side, so a
    /// querier sees each commit whole or not at all.
    pub(crate) isolation: RwLock<()>,
    /// Held (read) by queriers while they read mapped chunks; truncation takes it (write)
    /// before deleting head chunk files.
    pub(crate) truncation: RwLock<()>,
    /// What the head did.
    pub stats: HeadStats,
    /// The exemplars of the head's series.
    pub exemplars: exemplars::ExemplarStorage,
    /// What WAL readers still need (the remote write queues): see [`Head::set_wal_hold`].
    wal_hold: RwLock<Option<WalHold>>,
    /// The deletions applied to the head's series (their samples are gone from the chunks;
    /// these are kept for the chunk snapshot, which must delete them again from the chunks
    /// of `chunks_head/`).
    pub(crate) tombstones: Mutex<crate::tombstones::Tombstones>,
    /// The data directory, where chunk snapshots go (`None` for a head without files).
    data_dir: Option<PathBuf>,
    /// The series of the last compaction in label order (see [`label_order`]).
    label_order: Mutex<label_order::LabelOrder>,
}

/// The lowest WAL segment some reader still needs, if any: [`Head::truncate_wal`] keeps it
/// and every segment after it.
#[derive(Clone)]
pub struct WalHold(pub Arc<dyn Fn() -> Option<u32> + Send + Sync>);

impl std::fmt::Debug for WalHold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WalHold")
    }
}

impl Head {
    /// An empty head logging to `wal` (none: nothing is durable).
    #[must_use]
    pub fn new(opts: HeadOptions, wal: Option<Wal>) -> Self {
        Self {
            series: StripeSeries::new(opts.stripe_size),
            exemplars: exemplars::ExemplarStorage::new(opts.max_exemplars),
            ooo_window: AtomicI64::new(opts.ooo_window.max(0)),
            opts,
            postings: RwLock::new(MemPostings::default()),
            last_id: AtomicU64::new(0),
            min_time: AtomicI64::new(i64::MAX),
            max_time: AtomicI64::new(i64::MIN),
            min_valid_time: AtomicI64::new(i64::MIN),
            wal: wal.map(Mutex::new),
            unlogged_series: Mutex::new(Vec::new()),
            wbl: OnceLock::new(),
            wbl_home: None,
            chunk_files: None,
            isolation: RwLock::new(()),
            truncation: RwLock::new(()),
            stats: HeadStats::default(),
            wal_hold: RwLock::new(None),
            tombstones: Mutex::new(crate::tombstones::Tombstones::new()),
            data_dir: None,
            label_order: Mutex::default(),
        }
    }

    /// Makes [`Head::truncate_wal`] keep the segments `hold` names (and those after it):
    /// the remote write queues' oldest unacknowledged segment, so a truncation while a
    /// receiver is down deletes nothing they still have to send. Prometheus's agent holds
    /// its truncation back by the queues' lowest sent timestamp the same way.
    pub fn set_wal_hold(&self, hold: Option<WalHold>) {
        *self.wal_hold.write() = hold;
    }

    /// The options the head was made with ([`Head::ooo_window`] and the exemplar capacity
    /// may have changed since, by [`Head::apply_config`]).
    #[must_use]
    pub fn options(&self) -> &HeadOptions {
        &self.opts
    }

    /// How far behind the newest sample out-of-order samples are accepted now, in
    /// milliseconds; 0 refuses them.
    #[must_use]
    pub fn ooo_window(&self) -> i64 {
        self.ooo_window.load(Ordering::Relaxed)
    }

    /// Applies the reloadable settings, as Prometheus's `Head.ApplyConfig`: the exemplar
    /// buffer is resized keeping the newest exemplars (0 turns exemplars off), and the
    /// out-of-order window changes (negative means 0). Opening the window on a head with
    /// files creates its write-behind log (`wbl/`); closing it keeps the log.
    ///
    /// # Errors
    /// The write-behind log cannot be created; nothing changed then.
    pub fn apply_config(&self, max_exemplars: usize, ooo_window: i64) -> Result<(), TsdbError> {
        let ooo_window = ooo_window.max(0);
        if ooo_window > 0
            && self.wbl.get().is_none()
            && let Some((dir, opts)) = &self.wbl_home
        {
            let wbl = Wal::open(dir, opts.clone())?;
            // Only this call creates a log after opening; a concurrent one lost the race.
            let _ = self.wbl.set(Mutex::new(wbl));
        }
        self.ooo_window.store(ooo_window, Ordering::Relaxed);
        self.exemplars.resize(max_exemplars);
        Ok(())
    }

    /// A new appender.
    #[must_use]
    pub fn appender(self: &Arc<Self>) -> HeadAppender {
        HeadAppender::new(self.clone())
    }

    /// A querier over `[mint, maxt]`.
    #[must_use]
    pub fn querier(self: &Arc<Self>, mint: i64, maxt: i64) -> HeadQuerier {
        HeadQuerier::new(self.clone(), mint, maxt)
    }

    /// Oldest sample time (`i64::MAX` when empty).
    #[must_use]
    pub fn min_time(&self) -> i64 {
        self.min_time.load(Ordering::Acquire)
    }

    /// Newest sample time (`i64::MIN` when empty).
    #[must_use]
    pub fn max_time(&self) -> i64 {
        self.max_time.load(Ordering::Acquire)
    }

    /// Whether the head holds no samples.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.max_time() == i64::MIN
    }

    /// What the WAL did so far (`None` for a head without one).
    #[must_use]
    pub fn wal_stats(&self) -> Option<wal::writer::WalStats> {
        self.wal.as_ref().map(|w| w.lock().stats().clone())
    }

    /// Number of series.
    #[must_use]
    pub fn num_series(&self) -> usize {
        self.series.len()
    }

    /// Samples older than this are refused with `OutOfBounds`.
    #[must_use]
    pub fn min_valid_time(&self) -> i64 {
        self.min_valid_time.load(Ordering::Acquire)
    }

    /// The oldest timestamp an appender accepts now: the newest sample minus half a chunk
    /// range, and never before what was already compacted into blocks.
    #[must_use]
    pub fn appendable_min_valid_time(&self) -> i64 {
        let max = self.max_time();
        let from_max = if max == i64::MIN {
            i64::MIN
        } else {
            max.saturating_sub(self.opts.chunk_range / 2)
        };
        from_max.max(self.min_valid_time())
    }

    pub(crate) fn update_time_bounds(&self, mint: i64, maxt: i64) {
        self.min_time.fetch_min(mint, Ordering::AcqRel);
        self.max_time.fetch_max(maxt, Ordering::AcqRel);
    }

    /// The series with `labels`, created (with the next reference) if missing.
    pub fn get_or_create(&self, labels: &Labels) -> (Arc<MemSeries>, bool) {
        let hash = labels.hash64();
        if let Some(s) = self.series.get_by_labels(hash, labels) {
            return (s, false);
        }
        let (s, created) = self.series.get_or_create(hash, labels, || {
            self.last_id.fetch_add(1, Ordering::AcqRel) + 1
        });
        if created {
            self.postings.write().add(s.id, &s.labels);
            self.stats.series_created.fetch_add(1, Ordering::Relaxed);
        }
        (s, created)
    }

    /// Creates the series `labels` with reference `id` (WAL replay); when the labels already
    /// exist under another reference, that series is returned.
    pub(crate) fn create_with_id(&self, id: u64, labels: &Labels) -> Arc<MemSeries> {
        self.create_with_id_by(id, labels, MemPostings::add)
    }

    fn create_with_id_by(
        &self,
        id: u64,
        labels: &Labels,
        add: fn(&mut MemPostings, u64, &Labels),
    ) -> Arc<MemSeries> {
        let (s, created) = self.series.get_or_create(labels.hash64(), labels, || id);
        if created {
            add(&mut self.postings.write(), s.id, &s.labels);
            self.stats.series_created.fetch_add(1, Ordering::Relaxed);
        }
        self.last_id.fetch_max(id, Ordering::AcqRel);
        s
    }

    /// The reference of the series `labels`, if the head has it.
    #[must_use]
    pub fn series_ref(&self, labels: &Labels) -> Option<u64> {
        self.series
            .get_by_labels(labels.hash64(), labels)
            .map(|s| s.id)
    }

    /// The metadata an appender recorded for the series `id`.
    #[must_use]
    pub fn metadata(&self, id: u64) -> Option<storage::Metadata> {
        let s = self.series_by_id(id)?;
        s.state.lock().meta().cloned()
    }

    /// The series with reference `id`.
    #[must_use]
    pub fn series_by_id(&self, id: u64) -> Option<Arc<MemSeries>> {
        self.series.get_by_id(id)
    }

    /// Drops all samples before `mint` from memory (they are in blocks now), refuses appends
    /// before it from now on, and removes series left without samples.
    pub fn truncate_memory(&self, mint: i64) {
        self.min_valid_time.fetch_max(mint, Ordering::AcqRel);
        let no_readers = self.truncation.write();
        let iso = self.isolation.write();
        // Every series is truncated in reference order (about the order of their memory,
        // where the stripes by hash would visit them at random); those left empty are then
        // removed by reference.
        let left_empty = |st: &mut series::SeriesState| {
            st.truncate_before(mint) && st.ooo().is_none_or(ooo::OooState::is_empty)
        };
        let mut new_min = i64::MAX;
        let mut empty = Vec::new();
        self.series.for_each(|s| {
            let mut st = s.state.lock();
            if left_empty(&mut st) {
                empty.push(s.id);
            } else if let Some(t) = st.min_time() {
                new_min = new_min.min(t);
            }
        });
        let mut removed_labels = Vec::new();
        let mut removed = Vec::new();
        if !empty.is_empty() {
            empty.sort_unstable();
            let hash_of = |s: &MemSeries| s.labels.hash64();
            removed = self.series.remove_ids(&empty, hash_of, |s| {
                // Series an appender holds (samples waiting for commit) stay.
                let gone = Arc::strong_count(s) <= StripeSeries::MAP_REFS
                    && left_empty(&mut s.state.lock());
                if gone {
                    removed_labels.push(s.labels.clone());
                }
                gone
            });
            removed.sort_unstable();
        }
        {
            let mut stones = self.tombstones.lock();
            if !stones.is_empty() {
                let mut kept = crate::tombstones::Tombstones::new();
                for (id, ivs) in stones.iter() {
                    if removed.binary_search(&id).is_ok() {
                        continue;
                    }
                    for iv in ivs.iter().filter(|iv| iv.maxt >= mint) {
                        kept.add_interval(id, *iv);
                    }
                }
                *stones = kept;
            }
        }
        if !removed.is_empty() {
            let mut p = self.postings.write();
            p.delete(&removed, removed_labels.iter());
            drop(p);
            self.label_order.lock().forget(&removed);
            self.stats
                .series_removed
                .fetch_add(removed.len() as u64, Ordering::Relaxed);
        }
        if let Some(files) = &self.chunk_files
            && let Err(e) = files.lock().truncate(mint)
        {
            tracing::warn!(error = %e, "truncating head chunk files");
        }
        if new_min == i64::MAX {
            // Nothing left: the head starts again at the next sample.
            self.min_time.store(i64::MAX, Ordering::Release);
            if self.series.is_empty() {
                self.max_time.store(i64::MIN, Ordering::Release);
            }
        } else {
            self.min_time.store(new_min.max(mint), Ordering::Release);
        }
        drop((iso, no_readers, removed_labels));
        if !removed.is_empty() {
            // Out of the locks: the memory the removed series held is now free.
            release::series_removed();
        }
    }

    /// Writes a checkpoint of the older two thirds of the WAL segments (series still in the
    /// head, samples at or after `mint`) and deletes those segments and older checkpoints, as
    /// Prometheus does after compacting the head.
    ///
    /// # Errors
    /// I/O errors and WAL corruption.
    pub fn truncate_wal(&self, mint: i64) -> Result<(), TsdbError> {
        let Some(wal) = &self.wal else { return Ok(()) };
        self.stats.truncations.fetch_add(1, Ordering::Relaxed);
        let res = self.checkpoint_and_truncate(wal, mint);
        if let Err(e) = &res {
            self.stats
                .truncations_failed
                .fetch_add(1, Ordering::Relaxed);
            tracing::error!(error = %e, mint,
                "WAL checkpoint failed; the segments are kept and the truncation is retried at the next compaction");
        }
        res
    }

    fn checkpoint_and_truncate(&self, wal: &Mutex<Wal>, mint: i64) -> Result<(), TsdbError> {
        // Hold the log only to start a new segment: commits go on while the checkpoint is
        // written from the closed segments.
        let (dir, first, last, compress) = {
            let mut w = wal.lock();
            let dir = w.dir().to_path_buf();
            let Some((first, last)) = wal::segment_range(&dir)? else {
                return Ok(());
            };
            // Start a new segment so a slow WAL does not keep more than needed.
            w.next_segment()?;
            (dir, first, last, w.compress())
        };
        // Never checkpoint the segment that was being written.
        let Some(last) = last.checked_sub(1) else {
            return Ok(());
        };
        let mut last = first + (last.saturating_sub(first)) * 2 / 3;
        let hold = self.wal_hold.read().clone();
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
        self.stats
            .checkpoint_creations
            .fetch_add(1, Ordering::Relaxed);
        let (cp, stats) = wal::checkpoint(
            &dir,
            first,
            last,
            |id| self.series.contains_id(id),
            mint,
            compress,
        )
        .inspect_err(|_| {
            self.stats
                .checkpoint_creations_failed
                .fetch_add(1, Ordering::Relaxed);
        })?;
        wal.lock().truncate(last + 1)?;
        self.stats
            .checkpoint_deletions
            .fetch_add(1, Ordering::Relaxed);
        wal::delete_checkpoints(&dir, cp.index).inspect_err(|_| {
            self.stats
                .checkpoint_deletions_failed
                .fetch_add(1, Ordering::Relaxed);
        })?;
        tracing::info!(
            checkpoint = %cp.dir.display(),
            series = stats.total_series,
            samples = stats.total_samples,
            dropped_series = stats.dropped_series,
            "WAL checkpoint complete"
        );
        Ok(())
    }

    /// Pads and syncs the WAL.
    ///
    /// # Errors
    /// I/O errors.
    pub fn close(&self) -> Result<(), TsdbError> {
        if let Some(w) = &self.wal {
            w.lock().close()?;
        }
        if let Some(w) = self.wbl.get() {
            w.lock().close()?;
        }
        if let Some(f) = &self.chunk_files {
            f.lock().flush()?;
        }
        if self.opts.memory_snapshot_on_shutdown {
            // After the WAL's last page is padded: the snapshot's offset is where a restart
            // reads on. A failed snapshot loses nothing (the WAL is whole); it is logged.
            tracing::info!("creating chunk snapshot");
            let started = std::time::Instant::now();
            match self.write_chunk_snapshot() {
                Ok(Some(stats)) => tracing::info!(
                    duration_ms = started.elapsed().as_millis() as u64,
                    num_series = stats.series,
                    dir = %stats.dir.display(),
                    "chunk snapshot complete"
                ),
                Ok(None) => {}
                Err(e) => tracing::error!(error = %e, "chunk snapshot failed"),
            }
        }
        Ok(())
    }

    /// The WAL directory, if the head logs.
    #[must_use]
    pub fn wal_dir(&self) -> Option<PathBuf> {
        self.wal.as_ref().map(|w| w.lock().dir().to_path_buf())
    }

    /// Bytes of sample data held in memory by all series.
    #[must_use]
    pub fn chunk_bytes(&self) -> usize {
        let mut n = 0;
        self.series.for_each(|s| n += s.state.lock().byte_size());
        n
    }

    /// Opens the head of the data directory `dir`: maps the full chunks of `chunks_head/`,
    /// replays the newest WAL checkpoint and the segments after it (repairing a corrupt tail),
    /// then starts a new WAL segment. Samples before `min_valid_time` (already in blocks) are
    /// skipped.
    ///
    /// # Errors
    /// I/O errors.
    pub fn open(
        opts: HeadOptions,
        dir: &Path,
        wal_opts: wal::WalOptions,
        min_valid_time: i64,
    ) -> Result<Self, TsdbError> {
        let wal_dir = dir.join("wal");
        std::fs::create_dir_all(&wal_dir).map_err(|e| TsdbError::io("create dir", &wal_dir, e))?;
        let files = HeadChunkFiles::open(dir.join("chunks_head"))?;
        let snapshot_on = opts.memory_snapshot_on_shutdown;
        let fresh = |opts: HeadOptions, files| {
            let mut head = Self::new(opts, None);
            head.min_valid_time = AtomicI64::new(min_valid_time);
            head.chunk_files = Some(Mutex::new(files));
            head.data_dir = Some(dir.to_path_buf());
            head
        };
        let mut head = fresh(opts.clone(), files);
        let mut from_snapshot = None;
        if snapshot_on {
            tracing::info!("Chunk snapshot is enabled, replaying from the snapshot");
            let started = std::time::Instant::now();
            // The snapshot's series take their memory-mapped chunks as they are created.
            match snapshot::load(&head, dir) {
                Ok(loaded) => from_snapshot = loaded,
                Err(e) => {
                    tracing::error!(error = %e, "Failed to load chunk snapshot; replaying the whole WAL");
                    let files = head.chunk_files.take().expect("set above").into_inner();
                    head = fresh(opts, files);
                }
            }
            tracing::info!(
                duration_ms = started.elapsed().as_millis() as u64,
                "Chunk snapshot loading time"
            );
        }
        let wbl_dir = dir.join("wbl");
        let wbl = wbl_dir.exists().then_some(wbl_dir.as_path());
        let (mmapped, ooo_mmapped) = match from_snapshot.as_mut() {
            Some(loaded) => std::mem::take(&mut loaded.mmapped),
            None => {
                let files = head.chunk_files.as_ref().expect("set above");
                replay::load_mmapped_chunks(&mut files.lock(), min_valid_time)?
            }
        };
        replay::replay(&head, &wal_dir, mmapped, ooo_mmapped, wbl, from_snapshot)?;
        // As Prometheus, a log left by an earlier run is kept open even with the window
        // closed; a new one is created only when the window is open.
        if head.ooo_window() > 0 || wbl.is_some() {
            let log = Wal::open(&wbl_dir, wal_opts.clone())?;
            let _ = head.wbl.set(Mutex::new(log));
        }
        head.wbl_home = Some((wbl_dir, wal_opts.clone()));
        head.wal = Some(Mutex::new(Wal::open(&wal_dir, wal_opts)?));
        Ok(head)
    }
}
