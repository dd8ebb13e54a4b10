//! The head: the in-memory, writable part of the database holding the newest samples
//! (normally the last 2–3 hours), backed by the WAL.
//!
//! Series live in striped maps by reference and by label hash ([`series`]), are found by
//! label through in-memory postings ([`postings`]), and hold their samples in chunks cut as
//! Prometheus cuts them ([`chunk`]). Writers use a [`HeadAppender`] (batch, log to the WAL on
//! commit, then apply); readers a [`HeadQuerier`] over a time range.

pub mod appender;
pub mod chunk;
pub mod delete;
pub mod exemplars;
pub mod ooo;
pub mod postings;
pub mod querier;
pub mod replay;
pub mod series;
pub mod stats;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

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
}

impl Default for HeadOptions {
    fn default() -> Self {
        Self {
            chunk_range: DEFAULT_CHUNK_RANGE,
            stripe_size: 1 << 12,
            max_exemplars: 0,
            ooo_window: 0,
            ooo_cap_max: ooo::DEFAULT_OOO_CAP_MAX,
        }
    }
}

/// Counters of what the head did.
#[derive(Debug, Default)]
pub struct HeadStats {
    /// Samples appended and committed.
    pub samples_appended: AtomicU64,
    /// Series created.
    pub series_created: AtomicU64,
    /// Series removed by garbage collection.
    pub series_removed: AtomicU64,
    /// Samples rejected as out of order.
    pub out_of_order: AtomicU64,
    /// Samples rejected as too old.
    pub out_of_bounds: AtomicU64,
    /// Out-of-order samples appended.
    pub ooo_appended: AtomicU64,
    /// Samples rejected as older than the out-of-order window.
    pub too_old: AtomicU64,
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
    /// The write-behind log of out-of-order samples (`wbl/`), when the window is open.
    pub(crate) wbl: Option<Mutex<Wal>>,
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
}

impl Head {
    /// An empty head logging to `wal` (none: nothing is durable).
    #[must_use]
    pub fn new(opts: HeadOptions, wal: Option<Wal>) -> Self {
        Self {
            series: StripeSeries::new(opts.stripe_size),
            exemplars: exemplars::ExemplarStorage::new(opts.max_exemplars),
            opts,
            postings: RwLock::new(MemPostings::default()),
            last_id: AtomicU64::new(0),
            min_time: AtomicI64::new(i64::MAX),
            max_time: AtomicI64::new(i64::MIN),
            min_valid_time: AtomicI64::new(i64::MIN),
            wal: wal.map(Mutex::new),
            wbl: None,
            chunk_files: None,
            isolation: RwLock::new(()),
            truncation: RwLock::new(()),
            stats: HeadStats::default(),
        }
    }

    /// The options.
    #[must_use]
    pub fn options(&self) -> &HeadOptions {
        &self.opts
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
        let (s, created) = self.series.get_or_create(labels.hash64(), labels, || id);
        if created {
            self.postings.write().add(s.id, &s.labels);
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
        s.state.lock().meta.as_deref().cloned()
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
        let _no_readers = self.truncation.write();
        let _iso = self.isolation.write();
        let mut new_min = i64::MAX;
        let removed_labels = Mutex::new(Vec::new());
        let removed = self.series.remove_if(|s| {
            let mut st = s.state.lock();
            let empty = st.truncate_before(mint) && st.ooo.as_ref().is_none_or(|o| o.is_empty());
            if empty && s.pending.load(Ordering::Acquire) == 0 {
                removed_labels.lock().push((s.id, s.labels.clone()));
                return true;
            }
            if let Some(t) = st.min_time() {
                new_min = new_min.min(t);
            }
            false
        });
        if !removed.is_empty() {
            let mut ids = removed.clone();
            ids.sort_unstable();
            let mut p = self.postings.write();
            for (_, labels) in removed_labels.into_inner() {
                p.delete(&ids, &labels);
            }
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
    }

    /// Writes a checkpoint of the older two thirds of the WAL segments (series still in the
    /// head, samples at or after `mint`) and deletes those segments and older checkpoints, as
    /// Prometheus does after compacting the head.
    ///
    /// # Errors
    /// I/O errors and WAL corruption.
    pub fn truncate_wal(&self, mint: i64) -> Result<(), TsdbError> {
        let Some(wal) = &self.wal else { return Ok(()) };
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
        let last = first + (last.saturating_sub(first)) * 2 / 3;
        if last <= first {
            return Ok(());
        }
        let (cp, stats) = wal::checkpoint(
            &dir,
            first,
            last,
            |id| self.series.get_by_id(id).is_some(),
            mint,
            compress,
        )?;
        wal.lock().truncate(last + 1)?;
        wal::delete_checkpoints(&dir, cp.index)?;
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
        if let Some(w) = &self.wbl {
            w.lock().close()?;
        }
        if let Some(f) = &self.chunk_files {
            f.lock().flush()?;
        }
        Ok(())
    }

    /// The WAL directory, if the head logs.
    #[must_use]
    pub fn wal_dir(&self) -> Option<std::path::PathBuf> {
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
        let mut files = HeadChunkFiles::open(dir.join("chunks_head"))?;
        let (mmapped, ooo_mmapped) = replay::load_mmapped_chunks(&mut files, min_valid_time)?;
        let mut head = Self::new(opts, None);
        head.min_valid_time = AtomicI64::new(min_valid_time);
        head.chunk_files = Some(Mutex::new(files));
        let wbl_dir = dir.join("wbl");
        let wbl = wbl_dir.exists().then_some(wbl_dir.as_path());
        replay::replay(&head, &wal_dir, mmapped, ooo_mmapped, wbl)?;
        if head.opts.ooo_window > 0 {
            std::fs::create_dir_all(&wbl_dir)
                .map_err(|e| TsdbError::io("create dir", &wbl_dir, e))?;
            head.wbl = Some(Mutex::new(Wal::open(&wbl_dir, wal_opts.clone())?));
        }
        head.wal = Some(Mutex::new(Wal::open(&wal_dir, wal_opts)?));
        Ok(head)
    }
}
