//! Service discovery's own metrics, as Prometheus 2.42 names them: the manager's
//! (`discovery/manager.go`: failed configurations, discovered targets, updates received and
//! sent, by manager `name`), and the mechanisms' (`discovery/file`, `http`, `dns`,
//! `kubernetes`), which Prometheus keeps process-wide: they live in one registry of this
//! crate that [`register_sd_metrics`] adds to the server's.

use std::sync::{Arc, LazyLock};

use metrics::{Counter, CounterVec, Gauge, GaugeVec, Registry, Summary};

/// A manager's metrics, labelled by its name (`scrape`, `notify`).
#[derive(Debug, Clone)]
pub(crate) struct ManagerMetrics {
    pub(crate) failed_configs: Gauge,
    /// Targets by job (`config`), of this manager.
    pub(crate) discovered: GaugeVec,
    /// Updates received and sent: children made on the first count, as 2.42 shows them.
    received: CounterVec,
    sent: CounterVec,
    /// Created on the first delay, as Prometheus 2.42 shows it.
    delayed: CounterVec,
    name: String,
}

impl ManagerMetrics {
    pub(crate) fn new(r: &Registry, name: &str) -> Self {
        Self {
            failed_configs: r
                .gauge_vec(
                    "prometheus_sd_failed_configs",
                    "Current number of service discovery configurations that failed to load.",
                    &["name"],
                )
                .with_label_values(&[name]),
            discovered: r.gauge_vec(
                "prometheus_sd_discovered_targets",
                "Current number of discovered targets.",
                &["name", "config"],
            ),
            received: r.counter_vec(
                "prometheus_sd_received_updates_total",
                "Total number of update events received from the SD providers.",
                &["name"],
            ),
            sent: r.counter_vec(
                "prometheus_sd_updates_total",
                "Total number of update events sent to the SD consumers.",
                &["name"],
            ),
            delayed: r.counter_vec(
                "prometheus_sd_updates_delayed_total",
                "Total number of update events that couldn't be sent immediately.",
                &["name"],
            ),
            name: name.to_owned(),
        }
    }

    /// Counts an update received from a provider.
    pub(crate) fn received(&self) {
        self.received.with_label_values(&[&self.name]).inc();
    }

    /// Counts an update sent to the consumer.
    pub(crate) fn sent(&self) {
        self.sent.with_label_values(&[&self.name]).inc();
    }

    /// Counts an update that could not be sent at once.
    pub(crate) fn delayed(&self) {
        self.delayed.with_label_values(&[&self.name]).inc();
    }

    /// Sets the number of targets of `job`.
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn set_discovered(&self, job: &str, n: usize) {
        self.discovered
            .with_label_values(&[&self.name, job])
            .set(n as f64);
    }
}

/// The mechanisms' metrics (process-wide, as in Prometheus).
#[derive(Debug)]
pub(crate) struct SdMetrics {
    pub(crate) registry: Registry,
    pub(crate) file_read_errors: Counter,
    pub(crate) file_scan_duration: Summary,
    pub(crate) http_failures: Counter,
    pub(crate) dns_lookups: Counter,
    pub(crate) dns_lookup_failures: Counter,
    pub(crate) kubernetes_events: CounterVec,
}

/// The mechanisms' metrics.
pub(crate) static SD: LazyLock<SdMetrics> = LazyLock::new(|| {
    let r = Registry::new();
    let _ = r.counter(
        "prometheus_sd_file_watcher_errors_total",
        "The number of File-SD errors caused by filesystem watch failures.",
    );
    let kubernetes_events = r.counter_vec(
        "prometheus_sd_kubernetes_events_total",
        "The number of Kubernetes events handled.",
        &["role", "event"],
    );
    SdMetrics {
        file_read_errors: r.counter(
            "prometheus_sd_file_read_errors_total",
            "The number of File-SD read errors.",
        ),
        file_scan_duration: r.summary(
            "prometheus_sd_file_scan_duration_seconds",
            "The duration of the File-SD scan in seconds.",
            metrics::DEFAULT_OBJECTIVES,
        ),
        http_failures: r.counter(
            "prometheus_sd_http_failures_total",
            "Number of HTTP service discovery refresh failures.",
        ),
        dns_lookups: r.counter(
            "prometheus_sd_dns_lookups_total",
            "The number of DNS-SD lookups.",
        ),
        dns_lookup_failures: r.counter(
            "prometheus_sd_dns_lookup_failures_total",
            "The number of DNS-SD lookup failures.",
        ),
        kubernetes_events,
        registry: r,
    }
});

/// Adds the service discovery mechanisms' metrics (`prometheus_sd_file_*`,
/// `prometheus_sd_http_failures_total`, `prometheus_sd_dns_*`,
/// `prometheus_sd_kubernetes_events_total`) to `registry`.
pub fn register_sd_metrics(registry: &Registry) {
    registry.register_collector(Arc::new(|out: &mut Vec<metrics::MetricFamily>| {
        out.extend(SD.registry.gather());
    }));
}
