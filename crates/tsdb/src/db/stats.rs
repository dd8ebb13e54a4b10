//! Counters of the database's maintenance (Prometheus's `tsdb/compact.go` compactor metrics
//! and `tsdb/db.go`'s `compactionsTriggered`), exported as `prometheus_tsdb_compactions_*`.

use std::sync::atomic::{AtomicU64, Ordering};

/// What compaction did so far.
#[derive(Debug, Default)]
pub struct CompactionStats {
    /// Maintenance runs ([`crate::Db::compact`] calls):
    /// `prometheus_tsdb_compactions_triggered_total`.
    pub triggered: AtomicU64,
    /// Block writes attempted, from the head or merging blocks:
    /// `prometheus_tsdb_compactions_total`.
    pub ran: AtomicU64,
    /// Block writes that failed (a full disk, I/O errors):
    /// `prometheus_tsdb_compactions_failed_total`.
    pub failed: AtomicU64,
}

impl CompactionStats {
    pub(crate) fn inc(c: &AtomicU64) {
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// The counters as `(name, help, value)`, with Prometheus's names and help texts.
    #[must_use]
    pub fn counters(&self) -> [(&'static str, &'static str, u64); 3] {
        [
            (
                "prometheus_tsdb_compactions_triggered_total",
                "Total number of triggered compactions for the partition.",
                self.triggered.load(Ordering::Relaxed),
            ),
            (
                "prometheus_tsdb_compactions_total",
                "Total number of compactions that were executed for the partition.",
                self.ran.load(Ordering::Relaxed),
            ),
            (
                "prometheus_tsdb_compactions_failed_total",
                "Total number of compactions that failed for the partition.",
                self.failed.load(Ordering::Relaxed),
            ),
        ]
    }
}
