//! The database: a data directory in Prometheus's layout (`wal/`, `chunks_head/`, blocks,
//! `lock`) with a head for recent samples and persisted blocks for older ones.
//!
//! What the server uses: [`Db::open`] with [`DbOptions`] (Prometheus's defaults: 15d
//! retention, 2h blocks), [`Db::appender`] / [`Db::querier`] (also through
//! [`storage::Appendable`] and [`storage::Queryable`]), [`Db::compact`] every minute (head →
//! blocks, WAL checkpoint, leveled compaction, retention), and [`Db::close`] on shutdown. The
//! admin API maps to [`Db::delete`], [`Db::clean_tombstones`] and [`Db::snapshot`];
//! `/api/v1/status/tsdb` to `db.head().summary()` and `db.head().cardinality(10)`.
//!
//! ```no_run
//! use firewatch_tsdb::{Db, DbOptions};
//! use storage::{Appendable, Appender, Queryable};
//!
//! let db = Db::open("data".as_ref(), DbOptions::default())?;
//! let mut app = db.appender();
//! app.append(0, &model::labels!("__name__" => "up"), 1_000, 1.0.into())?;
//! app.commit()?;
//! let q = db.querier(0, 2_000)?;
//! // ... q.select(...)
//! db.compact()?; // periodically: head -> blocks, WAL truncation, retention
//! db.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod compact;
mod delete;
mod merge;
mod open_blocks;
mod retention;
mod stats;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::{Mutex, RwLock};
use storage::{
    Appendable, Appender, ExemplarQueryable, ExemplarSeries, MergeQuerier, Querier, Queryable,
    StorageError,
};

use crate::block::{BlockReader, Ulid};
use crate::error::TsdbError;
use crate::head::{DEFAULT_CHUNK_RANGE, Head, HeadOptions};
use crate::wal::{DEFAULT_SEGMENT_SIZE, WalOptions};
pub use open_blocks::CORRUPTED_SUFFIX;
use open_blocks::load_blocks;
pub use stats::CompactionStats;

/// One day in milliseconds.
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// How a [`Db`] behaves; the defaults are Prometheus's.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Blocks entirely older than this (relative to the newest sample) are deleted; 0 keeps
    /// them forever. Default 15 days.
    pub retention_ms: i64,
    /// When the blocks take more bytes than this, the oldest are deleted; 0 means no limit.
    pub max_bytes: u64,
    /// The head's chunk range and the size of the blocks it is compacted into (2 hours).
    pub min_block_duration: i64,
    /// Largest block leveled compaction builds: 10% of the retention, at most 31 days.
    pub max_block_duration: i64,
    /// WAL segment size (128 MiB).
    pub wal_segment_size: usize,
    /// Snappy-compress WAL records.
    pub wal_compression: bool,
    /// `fsync` the WAL on every commit (Prometheus does not).
    pub wal_sync_on_commit: bool,
    /// Do not take the `lock` file.
    pub no_lockfile: bool,
    /// Lock stripes of the head's series maps.
    pub stripe_size: usize,
    /// Size of the exemplar ring buffer (`storage.exemplars.max_exemplars`); 0 keeps no
    /// exemplars.
    pub max_exemplars: usize,
    /// How far behind the newest sample out-of-order samples are accepted
    /// (`storage.tsdb.out_of_order_time_window`, milliseconds); 0 refuses them.
    pub out_of_order_time_window: i64,
    /// Samples per out-of-order head chunk (`out_of_order_cap_max`, 32).
    pub out_of_order_cap_max: usize,
    /// Write a chunk snapshot of the head on close and start from it
    /// (`--enable-feature=memory-snapshot-on-shutdown`).
    pub enable_memory_snapshot_on_shutdown: bool,
}

impl Default for DbOptions {
    fn default() -> Self {
        let retention_ms = 15 * DAY_MS;
        Self {
            retention_ms,
            max_bytes: 0,
            min_block_duration: DEFAULT_CHUNK_RANGE,
            max_block_duration: default_max_block_duration(retention_ms),
            wal_segment_size: DEFAULT_SEGMENT_SIZE,
            wal_compression: true,
            wal_sync_on_commit: false,
            no_lockfile: false,
            stripe_size: 1 << 14,
            max_exemplars: 0,
            out_of_order_time_window: 0,
            out_of_order_cap_max: crate::head::ooo::DEFAULT_OOO_CAP_MAX,
            enable_memory_snapshot_on_shutdown: false,
        }
    }
}

/// Prometheus's largest block for a retention: 10% of it, capped at 31 days, at least 2h.
#[must_use]
pub fn default_max_block_duration(retention_ms: i64) -> i64 {
    if retention_ms <= 0 {
        return 31 * DAY_MS;
    }
    (retention_ms / 10).clamp(DEFAULT_CHUNK_RANGE, 31 * DAY_MS)
}

/// A time-series database over one data directory.
pub struct Db {
    dir: PathBuf,
    opts: DbOptions,
    head: Arc<Head>,
    /// Open blocks, sorted by min time.
    blocks: RwLock<Vec<BlockReader>>,
    lock: Mutex<Option<DirLock>>,
    /// Serialises compaction, retention and close.
    compaction: Mutex<()>,
    closed: AtomicBool,
    /// What compaction did (`prometheus_tsdb_compactions_*`).
    compaction_stats: CompactionStats,
    /// A WAL truncation that failed (a full disk): retried at the next [`Db::compact`].
    wal_truncation_due: Mutex<Option<i64>>,
    /// The `thanos` section written into new blocks' `meta.json` ([`Db::set_external_labels`]).
    thanos: RwLock<Option<crate::block::ThanosMeta>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

/// The data directory's `lock` file, held with `flock` while the database is open.
///
/// Dropping it unlocks explicitly: a child process forked elsewhere in this process shares the
/// open file description until it execs, and a plain close would leave the lock held that long.
struct DirLock(File);

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

fn take_lock(dir: &Path) -> Result<DirLock, TsdbError> {
    let path = dir.join("lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| TsdbError::io("open lock file", &path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(DirLock(f)),
        Err(std::fs::TryLockError::WouldBlock) => Err(TsdbError::io(
            "lock DB directory",
            &path,
            std::io::Error::new(std::io::ErrorKind::WouldBlock, "held by another process"),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(TsdbError::io("lock DB directory", &path, e)),
    }
}

/// Hard-links (or copies) every file under `src` into `dst`.
fn link_tree(src: &Path, dst: &Path) -> Result<(), TsdbError> {
    std::fs::create_dir_all(dst).map_err(|e| TsdbError::io("create dir", dst, e))?;
    let entries = std::fs::read_dir(src).map_err(|e| TsdbError::io("read dir", src, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| TsdbError::io("read dir", src, e))?;
        let (from, to) = (entry.path(), dst.join(entry.file_name()));
        if from.is_dir() {
            link_tree(&from, &to)?;
        } else if std::fs::hard_link(&from, &to).is_err() {
            std::fs::copy(&from, &to).map_err(|e| TsdbError::io("copy", &from, e))?;
        }
    }
    Ok(())
}

impl Db {
    /// Opens (creating it if needed) the data directory `dir`: takes the lock, opens the
    /// blocks (a damaged one is moved aside to `<ulid>.corrupted` with an error log, see
    /// `db/open_blocks.rs`), replays the head (mapped head chunks, WAL checkpoint and segments; a corrupt WAL tail is repaired,
    /// never refused) and starts a new WAL segment.
    ///
    /// # Errors
    /// The directory is locked by another process, or I/O errors.
    pub fn open(dir: &Path, opts: DbOptions) -> Result<Self, TsdbError> {
        std::fs::create_dir_all(dir).map_err(|e| TsdbError::io("create dir", dir, e))?;
        let lock = if opts.no_lockfile {
            None
        } else {
            Some(take_lock(dir)?)
        };
        let head_opts = HeadOptions {
            chunk_range: opts.min_block_duration,
            stripe_size: opts.stripe_size,
            max_exemplars: opts.max_exemplars,
            ooo_window: opts.out_of_order_time_window,
            ooo_cap_max: opts.out_of_order_cap_max,
            memory_snapshot_on_shutdown: opts.enable_memory_snapshot_on_shutdown,
        };
        let wal_opts = WalOptions {
            segment_size: opts.wal_segment_size,
            compress: opts.wal_compression,
            sync_on_log: opts.wal_sync_on_commit,
        };
        let started = std::time::Instant::now();
        let blocks = load_blocks(dir)?;
        let min_valid = blocks
            .iter()
            .map(|b| b.meta().max_time)
            .max()
            .unwrap_or(i64::MIN);
        let head = Arc::new(Head::open(head_opts, dir, wal_opts, min_valid)?);
        tracing::info!(
            dir = %dir.display(),
            series = head.num_series(),
            blocks = blocks.len(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "TSDB opened"
        );
        Ok(Self {
            dir: dir.to_path_buf(),
            opts,
            head,
            blocks: RwLock::new(blocks),
            lock: Mutex::new(lock),
            compaction: Mutex::new(()),
            closed: AtomicBool::new(false),
            compaction_stats: CompactionStats::default(),
            wal_truncation_due: Mutex::new(None),
            thanos: RwLock::new(None),
        })
    }

    /// Sets the server's external labels (`global.external_labels`, again on each reload):
    /// while there are any, the blocks written from now on carry them in the `thanos` section
    /// of their `meta.json` (resolution 0, source `sidecar`), as Thanos's sidecar uploads
    /// Prometheus's blocks; Prometheus and promtool ignore the section.
    pub fn set_external_labels<'a>(&self, labels: impl IntoIterator<Item = (&'a str, &'a str)>) {
        *self.thanos.write() = crate::block::ThanosMeta::sidecar(labels);
    }

    /// The data directory.
    #[must_use]
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The options.
    #[must_use]
    pub fn options(&self) -> &DbOptions {
        &self.opts
    }

    /// The head.
    #[must_use]
    pub fn head(&self) -> &Arc<Head> {
        &self.head
    }

    /// A new appender (also through [`Appendable`]).
    #[must_use]
    pub fn appender(&self) -> Box<dyn Appender> {
        Box::new(self.head.appender())
    }

    /// A querier over `[mint, maxt]` merging the blocks and the head.
    ///
    /// # Errors
    /// The database is closed.
    pub fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>, StorageError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        // The blocks' series sets are read side by side by the merge: a series in several
        // blocks gets one label buffer.
        let recent = Arc::new(crate::block::RecentLabels::default());
        let mut queriers: Vec<Box<dyn Querier>> = self
            .blocks
            .read()
            .iter()
            .filter(|b| b.meta().min_time <= maxt && b.meta().max_time > mint)
            .map(|b| Box::new(b.block_querier_sharing(mint, maxt, &recent)) as Box<dyn Querier>)
            .collect();
        queriers.push(Box::new(self.head.querier(mint, maxt)));
        queriers.push(Box::new(crate::head::ooo::OooQuerier::new(
            self.head.clone(),
            mint,
            maxt,
        )));
        Ok(Box::new(MergeQuerier::new(queriers)))
    }

    /// Runs the periodic maintenance Prometheus runs every minute: compacts the head into
    /// blocks when it spans more than 1.5 block ranges, truncates the WAL, merges blocks, and
    /// applies retention.
    ///
    /// A step that fails (a full disk) is logged, counted in the `prometheus_tsdb_*` failure
    /// metrics and retried at the next call; what it had finished is kept (blocks written are
    /// served), no half-written file stays behind, and retention still runs.
    ///
    /// # Errors
    /// I/O errors.
    pub fn compact(&self) -> Result<(), TsdbError> {
        let _g = self.compaction.lock();
        if self.closed.load(Ordering::Acquire) {
            return Ok(());
        }
        CompactionStats::inc(&self.compaction_stats.triggered);
        let res = self.compact_locked();
        let retention = self.retention();
        res.and(retention)
    }

    /// What compaction did so far.
    #[must_use]
    pub fn compaction_stats(&self) -> &CompactionStats {
        &self.compaction_stats
    }

    fn compact_locked(&self) -> Result<(), TsdbError> {
        let stats = &self.compaction_stats;
        let thanos = self.thanos.read().clone();
        let mut done = compact::HeadCompaction::default();
        if compact::head_compactable(&self.head) {
            CompactionStats::inc(&stats.ran);
        }
        let res = compact::compact_head(&self.dir, &self.head, thanos.as_ref(), &mut done);
        if !done.blocks.is_empty() {
            let mut blocks = self.blocks.write();
            blocks.extend(done.blocks);
            blocks.sort_by_key(|b| b.meta().min_time);
        }
        let due = {
            let mut due = self.wal_truncation_due.lock();
            let t = due.take().max(done.truncated);
            *due = t;
            t
        };
        if let Err(e) = res {
            CompactionStats::inc(&stats.failed);
            tracing::error!(dir = %self.dir.display(), error = %e,
                "head compaction failed; the head keeps its samples and compaction is retried");
            return Err(e);
        }
        if let Some(maxt) = due {
            // Logged and counted by the head; retried at the next call until it succeeds.
            self.head.truncate_wal(maxt)?;
            *self.wal_truncation_due.lock() = None;
        }
        let ranges =
            compact::block_ranges(self.opts.min_block_duration, self.opts.max_block_duration);
        loop {
            let plan = compact::plan(&self.blocks.read(), &ranges);
            if plan.is_empty() {
                break;
            }
            CompactionStats::inc(&stats.ran);
            let merged = compact::merge_blocks(&self.dir, &plan, thanos.as_ref())
                .inspect_err(|e| {
                    CompactionStats::inc(&stats.failed);
                    tracing::error!(dir = %self.dir.display(), error = %e, blocks = plan.len(),
                        "block compaction failed; the blocks stay as they are and compaction is retried");
                })?;
            let gone: Vec<Ulid> = plan.iter().map(|b| b.meta().ulid).collect();
            self.replace_blocks(&gone, Some(merged))?;
        }
        Ok(())
    }

    /// Deletes blocks outside the retention time and size.
    ///
    /// # Errors
    /// I/O errors.
    pub fn apply_retention(&self) -> Result<(), TsdbError> {
        let _g = self.compaction.lock();
        self.retention()
    }

    fn retention(&self) -> Result<(), TsdbError> {
        let head_bytes = retention::dir_size(&self.dir.join("wal"))
            + retention::dir_size(&self.dir.join("chunks_head"));
        let gone: Vec<Ulid> = retention::deletable(
            &self.blocks.read(),
            self.opts.retention_ms,
            self.opts.max_bytes,
            head_bytes,
        )
        .into_iter()
        .collect();
        if !gone.is_empty() {
            tracing::info!(blocks = gone.len(), "deleting blocks beyond retention");
            self.replace_blocks(&gone, None)?;
        }
        Ok(())
    }

    /// Removes the blocks `gone` from the list and the disk, adding `new`.
    fn replace_blocks(&self, gone: &[Ulid], new: Option<BlockReader>) -> Result<(), TsdbError> {
        let removed: Vec<BlockReader> = {
            let mut blocks = self.blocks.write();
            let (removed, kept): (Vec<_>, Vec<_>) = blocks
                .drain(..)
                .partition(|b| gone.contains(&b.meta().ulid));
            *blocks = kept;
            blocks.extend(new);
            blocks.sort_by_key(|b| b.meta().min_time);
            removed
        };
        for b in removed {
            let tmp = b.dir().with_extension("tmp-for-deletion");
            std::fs::rename(b.dir(), &tmp).map_err(|e| TsdbError::io("rename", b.dir(), e))?;
            std::fs::remove_dir_all(&tmp).map_err(|e| TsdbError::io("remove", &tmp, e))?;
        }
        Ok(())
    }

    /// Writes a consistent copy of the database into `dst` (Prometheus's admin snapshot):
    /// every block hard-linked (copied when linking fails), and with `with_head` the head's
    /// samples, out-of-order ones included, as one more block.
    ///
    /// # Errors
    /// I/O errors.
    pub fn snapshot(&self, dst: &Path, with_head: bool) -> Result<(), TsdbError> {
        let _g = self.compaction.lock();
        std::fs::create_dir_all(dst).map_err(|e| TsdbError::io("create dir", dst, e))?;
        for b in self.blocks.read().iter() {
            link_tree(b.dir(), &dst.join(b.meta().ulid.to_string()))?;
        }
        if with_head {
            compact::write_head_snapshot(dst, &self.head)?;
        }
        Ok(())
    }

    /// Applies the settings Prometheus takes again on a configuration reload
    /// (`db.ApplyConfig`): the exemplar buffer's size (`storage.exemplars.max_exemplars`,
    /// the newest exemplars are kept) and the out-of-order window
    /// (`storage.tsdb.out_of_order_time_window`, milliseconds; opening it creates `wbl/`).
    /// [`Db::options`] keeps the values the database was opened with.
    ///
    /// # Errors
    /// The write-behind log cannot be created; nothing changed then.
    pub fn apply_config(
        &self,
        max_exemplars: usize,
        out_of_order_time_window: i64,
    ) -> Result<(), TsdbError> {
        self.head
            .apply_config(max_exemplars, out_of_order_time_window)
    }

    /// Deletes the samples in `[mint, maxt]` of the series matching `matchers` (Prometheus's
    /// admin `delete_series`): tombstones in blocks, immediate removal in the head.
    ///
    /// # Errors
    /// I/O errors.
    pub fn delete(
        &self,
        mint: i64,
        maxt: i64,
        matchers: &[model::Matcher],
    ) -> Result<(), TsdbError> {
        let _g = self.compaction.lock();
        self.head.delete(mint, maxt, matchers)?;
        let blocks = self.blocks.read().clone();
        for b in blocks {
            if let Some(reopened) = delete::delete_in_block(&b, mint, maxt, matchers)? {
                let mut list = self.blocks.write();
                if let Some(slot) = list.iter_mut().find(|x| x.meta().ulid == b.meta().ulid) {
                    *slot = reopened;
                }
            }
        }
        Ok(())
    }

    /// Rewrites the blocks that have tombstones without the deleted samples (Prometheus's
    /// admin `clean_tombstones`); blocks left empty are removed.
    ///
    /// # Errors
    /// I/O errors.
    pub fn clean_tombstones(&self) -> Result<(), TsdbError> {
        let _g = self.compaction.lock();
        let blocks = self.blocks.read().clone();
        for b in blocks.into_iter().filter(|b| !b.tombstones().is_empty()) {
            let thanos = self.thanos.read().clone();
            let fresh =
                compact::merge_blocks(&self.dir, std::slice::from_ref(&b), thanos.as_ref())?;
            if fresh.meta().stats.num_series == 0 {
                self.replace_blocks(&[b.meta().ulid], Some(fresh.clone()))?;
                self.replace_blocks(&[fresh.meta().ulid], None)?;
            } else {
                self.replace_blocks(&[b.meta().ulid], Some(fresh))?;
            }
        }
        Ok(())
    }

    /// The open blocks, sorted by min time.
    #[must_use]
    pub fn blocks(&self) -> Vec<BlockReader> {
        self.blocks.read().clone()
    }

    /// Flushes the WAL and head chunks and releases the lock. The database must not be used
    /// after; a second call does nothing.
    ///
    /// # Errors
    /// I/O errors.
    pub fn close(&self) -> Result<(), TsdbError> {
        let _g = self.compaction.lock();
        if self.closed.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        self.head.close()?;
        self.lock.lock().take();
        Ok(())
    }
}

impl Appendable for Db {
    fn appender(&self) -> Box<dyn Appender> {
        Db::appender(self)
    }
}

impl Queryable for Db {
    fn querier(&self, mint: i64, maxt: i64) -> Result<Box<dyn Querier>, StorageError> {
        Db::querier(self, mint, maxt)
    }
}

impl ExemplarQueryable for Db {
    fn select_exemplars(
        &self,
        start: i64,
        end: i64,
        matcher_sets: &[Vec<model::Matcher>],
    ) -> Result<Vec<ExemplarSeries>, StorageError> {
        if self.closed.load(Ordering::Acquire) {
            return Err(StorageError::Closed);
        }
        Ok(self.head.exemplars.select(start, end, matcher_sets))
    }
}
