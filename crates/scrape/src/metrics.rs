//! The scrape manager's and loops' own metrics (`scrape/scrape.go` and `scrape/manager.go`
//! of Prometheus 2.42): pools created and reloaded, syncs, targets, scrape intervals, samples
//! refused (the metadata cache is read at scrape time by the manager's collector).

use std::time::Duration;

use metrics::{Counter, CounterVec, GaugeVec, Registry, SummaryVec};

/// Objectives of the interval and sync summaries.
const OBJECTIVES: &[(f64, f64)] = &[
    (0.01, 0.001),
    (0.05, 0.005),
    (0.5, 0.05),
    (0.9, 0.01),
    (0.99, 0.001),
];

/// The scrape metrics; a manager built without a registry counts into a private one.
#[derive(Debug, Clone)]
pub struct ScrapeMetrics {
    pub(crate) pools_total: Counter,
    pub(crate) pools_failed: Counter,
    pub(crate) reloads_total: Counter,
    pub(crate) reloads_failed: Counter,
    pub(crate) exceeded_target_limit: Counter,
    pub(crate) sync_length: SummaryVec,
    pub(crate) sync_total: CounterVec,
    pub(crate) sync_failed: CounterVec,
    pub(crate) pool_targets: GaugeVec,
    pub(crate) interval_length: SummaryVec,
    pub(crate) exceeded_sample_limit: Counter,
    pub(crate) exceeded_body_size_limit: Counter,
    pub(crate) sample_out_of_order: Counter,
    pub(crate) sample_duplicate_timestamp: Counter,
    pub(crate) sample_out_of_bounds: Counter,
    pub(crate) panics: Counter,
}

impl ScrapeMetrics {
    /// Registers (or finds) the families in `r`.
    #[must_use]
    pub fn new(r: &Registry) -> Self {
        // Registered for Prometheus's names; Firewatch has no label limits at sync time
        // and no exemplar ordering or cache flush to count.
        let _ = r.counter(
            "prometheus_target_scrape_pool_exceeded_label_limits_total",
            "Total number of times scrape pools hit the label limits, during sync or config reload.",
        );
        let _ = r.counter(
            "prometheus_target_scrapes_exemplar_out_of_order_total",
            "Total number of exemplar rejected due to not being out of the expected order.",
        );
        let _ = r.counter(
            "prometheus_target_scrapes_cache_flush_forced_total",
            "How many times a scrape cache was flushed due to getting big while scrapes are failing.",
        );
        Self {
            pools_total: r.counter(
                "prometheus_target_scrape_pools_total",
                "Total number of scrape pool creation attempts.",
            ),
            pools_failed: r.counter(
                "prometheus_target_scrape_pools_failed_total",
                "Total number of scrape pool creations that failed.",
            ),
            reloads_total: r.counter(
                "prometheus_target_scrape_pool_reloads_total",
                "Total number of scrape pool reloads.",
            ),
            reloads_failed: r.counter(
                "prometheus_target_scrape_pool_reloads_failed_total",
                "Total number of failed scrape pool reloads.",
            ),
            exceeded_target_limit: r.counter(
                "prometheus_target_scrape_pool_exceeded_target_limit_total",
                "Total number of times scrape pools hit the target limit, during sync or config reload.",
            ),
            sync_length: r.summary_vec(
                "prometheus_target_sync_length_seconds",
                "Actual interval to sync the scrape pool.",
                &["scrape_job"],
                OBJECTIVES,
            ),
            sync_total: r.counter_vec(
                "prometheus_target_scrape_pool_sync_total",
                "Total number of syncs that were executed on a scrape pool.",
                &["scrape_job"],
            ),
            sync_failed: r.counter_vec(
                "prometheus_target_sync_failed_total",
                "Total number of target sync failures.",
                &["scrape_job"],
            ),
            pool_targets: r.gauge_vec(
                "prometheus_target_scrape_pool_targets",
                "Current number of targets in this scrape pool.",
                &["scrape_job"],
            ),
            interval_length: r.summary_vec(
                "prometheus_target_interval_length_seconds",
                "Actual intervals between scrapes.",
                &["interval"],
                OBJECTIVES,
            ),
            exceeded_sample_limit: r.counter(
                "prometheus_target_scrapes_exceeded_sample_limit_total",
                "Total number of scrapes that hit the sample limit and were rejected.",
            ),
            exceeded_body_size_limit: r.counter(
                "prometheus_target_scrapes_exceeded_body_size_limit_total",
                "Total number of scrapes that hit the body size limit",
            ),
            sample_out_of_order: r.counter(
                "prometheus_target_scrapes_sample_out_of_order_total",
                "Total number of samples rejected due to not being out of the expected order.",
            ),
            sample_duplicate_timestamp: r.counter(
                "prometheus_target_scrapes_sample_duplicate_timestamp_total",
                "Total number of samples rejected due to duplicate timestamps but different values.",
            ),
            sample_out_of_bounds: r.counter(
                "prometheus_target_scrapes_sample_out_of_bounds_total",
                "Total number of samples rejected due to timestamp falling outside of the time bounds.",
            ),
            // Prometheus has no such counter (a panic in a Go scrape loop ends the process).
            panics: r.counter(
                "firewatch_target_scrape_panics_total",
                "Total number of scrapes that panicked (each failed that scrape only).",
            ),
        }
    }

    /// Forgets the per-job children of a removed job.
    pub(crate) fn remove_job(&self, job: &str) {
        self.pool_targets.remove_label_values(&[job]);
        self.sync_length.remove_label_values(&[job]);
        self.sync_total.remove_label_values(&[job]);
        self.sync_failed.remove_label_values(&[job]);
    }
}

/// A duration as Go's `time.Duration.String` writes it (`15s`, `1m0s`, `1.5s`, `500ms`), the
/// `interval` label of `prometheus_target_interval_length_seconds`.
#[must_use]
pub fn go_duration(d: Duration) -> String {
    model::gofmt::time_duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_as_go_writes_them() {
        // The format itself is tested in model::gofmt; here, the conversion to it.
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_micros(1_250)), "1.25ms");
    }
}
