//! The remote write sender: one queue per `remote_write` endpoint, each following the TSDB's
//! write-ahead log as Prometheus's WAL watcher does (so an unreachable receiver or a restart
//! loses nothing the WAL still holds: the queue's position is saved every second and a
//! restart resumes there), sharded between `min_shards` and `max_shards` by throughput, and
//! sending protocol 1.0 or 2.0. The [`Fanout`] appendable wakes the queues after each commit.
//!
//! Mirrors Prometheus's `storage/remote/storage.go`, `write.go`, `queue_manager.go` and
//! `tsdb/wlog/watcher.go`.

mod encode;
mod fanout;
mod metrics;
mod position;
mod queue;
mod series_map;
mod shards;
mod watcher;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;

pub use fanout::Fanout;

use crate::error::RemoteError;
use metrics::QueueMetrics;
use queue::Queue;
use watcher::Notify;

/// The remote write queues of the current configuration.
pub struct WriteStorage {
    queues: RwLock<Vec<(config::remote::RemoteWriteConfig, model::Labels, Arc<Queue>)>>,
    metrics: QueueMetrics,
    runtime: tokio::runtime::Handle,
    wal_dir: PathBuf,
    positions: PathBuf,
    notify: Arc<Notify>,
}

impl std::fmt::Debug for WriteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteStorage")
            .field("queues", &self.queues.read().len())
            .field("wal_dir", &self.wal_dir)
            .finish_non_exhaustive()
    }
}

/// What a commit added, for the `*_in_total` metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct Committed {
    /// Float samples.
    pub samples: u64,
    /// Histogram samples.
    pub histograms: u64,
    /// Exemplars.
    pub exemplars: u64,
    /// The highest timestamp, if any sample was committed.
    pub max_t: Option<i64>,
}

impl WriteStorage {
    /// No queues yet. The queues follow the WAL of the TSDB in `data_dir` (`data_dir/wal`)
    /// and save their positions in `data_dir/remote_write/`; their metrics go to
    /// `registry`, their sending tasks onto `runtime`.
    #[must_use]
    pub fn new(
        registry: &::metrics::Registry,
        runtime: tokio::runtime::Handle,
        data_dir: &Path,
    ) -> Self {
        Self {
            queues: RwLock::new(Vec::new()),
            metrics: QueueMetrics::new(registry),
            runtime,
            wal_dir: data_dir.join("wal"),
            positions: queue::positions_dir(data_dir),
            notify: Arc::new(Notify::default()),
        }
    }

    /// Starts the queues `cfg.remote_write` lists; a queue whose configuration and external
    /// labels did not change keeps running, the others stop (saving their positions, which
    /// a changed queue of the same name resumes from).
    ///
    /// # Errors
    /// An endpoint without URL, or HTTP client settings that do not build.
    pub fn apply_config(&self, cfg: &config::Config) -> Result<(), RemoteError> {
        let external = model::Labels::from_pairs(&cfg.global.external_labels);
        let mut old = std::mem::take(&mut *self.queues.write());
        let mut keep = Vec::new();
        let mut start = Vec::new();
        for rw in cfg.remote_writes() {
            if let Some(i) = old.iter().position(|(c, e, _)| c == rw && *e == external) {
                keep.push(old.swap_remove(i));
            } else {
                start.push(rw);
            }
        }
        // Stop the queues that go first, so a restarted queue reads the saved position.
        for (_, _, q) in old {
            stop_blocking(&q);
        }
        let mut new = keep;
        for rw in start {
            let q = Queue::start(
                rw,
                &external,
                &self.metrics,
                &self.runtime,
                &self.wal_dir,
                &self.positions,
                self.notify.clone(),
            )?;
            new.push((rw.clone(), external.clone(), Arc::new(q)));
        }
        *self.queues.write() = new;
        Ok(())
    }

    /// Whether any queue runs.
    #[must_use]
    pub fn is_active(&self) -> bool {
        !self.queues.read().is_empty()
    }

    /// A commit wrote to the WAL: counts it and wakes the queues.
    pub fn committed(&self, c: Committed) {
        self.metrics.samples_in.inc_by_u64(c.samples);
        self.metrics.histograms_in.inc_by_u64(c.histograms);
        self.metrics.exemplars_in.inc_by_u64(c.exemplars);
        if let Some(t) = c.max_t {
            self.metrics.highest_in(t);
        }
        self.notify.notify();
    }

    /// The oldest WAL segment a queue still has to send from (see `tsdb::head::WalHold`):
    /// WAL truncation keeps it. A queue whose receiver has not accepted anything for longer
    /// than `max_age` does not hold (the agent's retention caps the hold as in Prometheus).
    #[must_use]
    pub fn wal_hold(&self, max_age: Option<std::time::Duration>) -> Option<u32> {
        self.queues
            .read()
            .iter()
            .filter_map(|(_, _, q)| q.wal_hold(max_age))
            .min()
    }

    /// The oldest of the queues' newest sent timestamps, in milliseconds (0 for a queue
    /// that has sent nothing), `None` without queues: Prometheus's `LowestSentTimestamp`,
    /// which the agent's WAL truncation keeps `retention.min-time` behind.
    #[must_use]
    pub fn lowest_sent_timestamp(&self) -> Option<i64> {
        self.queues
            .read()
            .iter()
            .map(|(_, _, q)| q.highest_sent_ms())
            .min()
    }

    /// Stops every queue, saving their positions (at shutdown).
    pub fn stop(&self) {
        for (_, _, q) in std::mem::take(&mut *self.queues.write()) {
            stop_blocking(&q);
        }
    }
}

/// Stops a queue; on a multi-threaded runtime's worker (a reload), first hands the worker's
/// other tasks away, since stopping waits for the queue's shards, which run on the runtime.
fn stop_blocking(q: &Queue) {
    match tokio::runtime::Handle::try_current() {
        Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| q.stop());
        }
        _ => q.stop(),
    }
}
