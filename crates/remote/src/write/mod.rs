//! The remote write sender: `remote_write` queues fed by a fanout [`storage::Appendable`]
//! wrapper that tees every committed float sample into a bounded in-memory queue per endpoint
//! (not yet read from the WAL: a sample the queue drops while full, or still holds at a
//! restart, is lost), sent by `min_shards` shards as snappy `prometheus.WriteRequest`s with
//! retries and backoff.
//!
//! Mirrors Prometheus's `storage/remote/storage.go`, `write.go` and `queue_manager.go`.

mod fanout;
mod metrics;
mod queue;

use std::sync::Arc;

use parking_lot::RwLock;

pub use fanout::Fanout;

use crate::error::RemoteError;
use metrics::QueueMetrics;
use queue::Queue;

/// A float sample on its way to the remote endpoints.
pub type Pending = (model::Labels, i64, f64);

/// The remote write queues of the current configuration.
pub struct WriteStorage {
    queues: RwLock<Vec<(config::remote::RemoteWriteConfig, model::Labels, Arc<Queue>)>>,
    metrics: QueueMetrics,
    runtime: tokio::runtime::Handle,
}

impl std::fmt::Debug for WriteStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteStorage")
            .field("queues", &self.queues.read().len())
            .finish_non_exhaustive()
    }
}

impl WriteStorage {
    /// No queues yet; their metrics go to `registry`, their tasks onto `runtime`.
    #[must_use]
    pub fn new(registry: &::metrics::Registry, runtime: tokio::runtime::Handle) -> Self {
        Self {
            queues: RwLock::new(Vec::new()),
            metrics: QueueMetrics::new(registry),
            runtime,
        }
    }

    /// Starts the queues `cfg.remote_write` lists; a queue whose configuration and external
    /// labels did not change keeps running (with what it holds), the others stop.
    ///
    /// # Errors
    /// An endpoint without URL, or HTTP client settings that do not build.
    pub fn apply_config(&self, cfg: &config::Config) -> Result<(), RemoteError> {
        let external = model::Labels::from_pairs(&cfg.global.external_labels);
        let mut old = std::mem::take(&mut *self.queues.write());
        let mut new = Vec::new();
        for rw in cfg.remote_writes() {
            if let Some(i) = old.iter().position(|(c, e, _)| c == rw && *e == external) {
                new.push(old.swap_remove(i));
                continue;
            }
            let q = Queue::start(rw, &external, &self.metrics, &self.runtime)?;
            new.push((rw.clone(), external.clone(), Arc::new(q)));
        }
        for (_, _, q) in old {
            q.stop();
        }
        *self.queues.write() = new;
        Ok(())
    }

    /// Whether any queue runs (appenders keep no copies otherwise).
    #[must_use]
    pub fn is_active(&self) -> bool {
        !self.queues.read().is_empty()
    }

    /// Hands committed samples to every queue.
    pub fn push(&self, samples: &[Pending]) {
        if samples.is_empty() {
            return;
        }
        if let Some(max) = samples.iter().map(|s| s.1).max() {
            self.metrics.highest_in(max);
        }
        for (_, _, q) in self.queues.read().iter() {
            q.enqueue(samples);
        }
    }
}
