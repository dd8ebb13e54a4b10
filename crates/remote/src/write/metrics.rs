//! The `prometheus_remote_storage_*` and `prometheus_wal_watcher_*` metrics of the remote
//! write queues, with Prometheus 2.42's names, types, help texts and labels (`remote_name`,
//! `url`; `consumer` for the watcher), as `storage/remote/queue_manager.go`,
//! `storage/remote/write.go` and `tsdb/wlog/watcher.go` register them.

use metrics::{Counter, CounterVec, Gauge, GaugeVec, HistogramVec, Registry};

/// The metrics of all queues, registered once.
#[derive(Clone)]
pub(crate) struct QueueMetrics {
    pub samples: Kinds,
    pub exemplars: Kinds,
    pub histograms: Kinds,
    pub metadata_sent: CounterVec,
    pub metadata_failed: CounterVec,
    pub metadata_retried: CounterVec,
    pub metadata_bytes: CounterVec,
    pub bytes: CounterVec,
    pub enqueue_retries: CounterVec,
    pub batch_duration: HistogramVec,
    pub highest_sent: GaugeVec,
    pub shard_capacity: GaugeVec,
    pub shards: GaugeVec,
    pub shards_max: GaugeVec,
    pub shards_min: GaugeVec,
    pub shards_desired: GaugeVec,
    pub max_samples_per_send: GaugeVec,
    pub samples_in: Counter,
    pub exemplars_in: Counter,
    pub histograms_in: Counter,
    highest_in: Gauge,
    pub watcher_current_segment: GaugeVec,
    pub watcher_decode_failures: CounterVec,
    pub watcher_records_read: CounterVec,
    pub watcher_pre_tailing: CounterVec,
    /// Prometheus counts releases of strings its label interner did not hold; Firewatch
    /// shares labels without an interner, so this stays 0 (kept for dashboards).
    _interner_zero_releases: Counter,
}

/// The per-kind families (samples, exemplars, histograms): sent, failed, retried, dropped,
/// pending.
#[derive(Clone)]
pub(crate) struct Kinds {
    pub sent: CounterVec,
    pub failed: CounterVec,
    pub retried: CounterVec,
    pub dropped: CounterVec,
    pub pending: GaugeVec,
}

/// One queue's handles (its `remote_name` and `url` label values bound).
#[derive(Clone)]
pub(crate) struct KindHandles {
    pub sent: Counter,
    pub failed: Counter,
    pub retried: Counter,
    pub dropped: Counter,
    pub pending: Gauge,
}

impl Kinds {
    fn new(r: &Registry, what: &str, drop_help: &str) -> Self {
        let l = &["remote_name", "url"];
        Self {
            sent: r.counter_vec(
                &format!("prometheus_remote_storage_{what}_total"),
                &format!("Total number of {what} sent to remote storage."),
                l,
            ),
            failed: r.counter_vec(
                &format!("prometheus_remote_storage_{what}_failed_total"),
                &format!(
                    "Total number of {what} which failed on send to remote storage, non-recoverable errors."
                ),
                l,
            ),
            retried: r.counter_vec(
                &format!("prometheus_remote_storage_{what}_retried_total"),
                &format!(
                    "Total number of {what} which failed on send to remote storage but were retried because the send error was recoverable."
                ),
                l,
            ),
            dropped: r.counter_vec(
                &format!("prometheus_remote_storage_{what}_dropped_total"),
                &format!(
                    "Total number of {what} which were dropped after being read from the WAL before being sent via remote write, {drop_help}"
                ),
                l,
            ),
            pending: r.gauge_vec(
                &format!("prometheus_remote_storage_{what}_pending"),
                &format!(
                    "The number of {what} pending in the queues shards to be sent to the remote storage."
                ),
                l,
            ),
        }
    }

    pub fn handles(&self, labels: &[&str]) -> KindHandles {
        KindHandles {
            sent: self.sent.with_label_values(labels),
            failed: self.failed.with_label_values(labels),
            retried: self.retried.with_label_values(labels),
            dropped: self.dropped.with_label_values(labels),
            pending: self.pending.with_label_values(labels),
        }
    }
}

impl QueueMetrics {
    pub fn new(r: &Registry) -> Self {
        let l = &["remote_name", "url"];
        let c = &["consumer"];
        let drop_help =
            "either via relabelling or unintentionally because of an unknown reference ID.";
        Self {
            samples: Kinds::new(r, "samples", drop_help),
            exemplars: Kinds::new(r, "exemplars", drop_help),
            histograms: Kinds::new(r, "histograms", drop_help),
            metadata_sent: r.counter_vec(
                "prometheus_remote_storage_metadata_total",
                "Total number of metadata entries sent to remote storage.",
                l,
            ),
            metadata_failed: r.counter_vec(
                "prometheus_remote_storage_metadata_failed_total",
                "Total number of metadata entries which failed on send to remote storage, non-recoverable errors.",
                l,
            ),
            metadata_retried: r.counter_vec(
                "prometheus_remote_storage_metadata_retried_total",
                "Total number of metadata entries which failed on send to remote storage but were retried because the send error was recoverable.",
                l,
            ),
            metadata_bytes: r.counter_vec(
                "prometheus_remote_storage_metadata_bytes_total",
                "The total number of bytes of metadata sent by the queue after compression.",
                l,
            ),
            bytes: r.counter_vec(
                "prometheus_remote_storage_bytes_total",
                "The total number of bytes of data (not metadata) sent by the queue after compression. Note that when exemplars over remote write is enabled the exemplars included in a remote write request count towards this metric.",
                l,
            ),
            enqueue_retries: r.counter_vec(
                "prometheus_remote_storage_enqueue_retries_total",
                "Total number of times enqueue has failed because a shards queue was full.",
                l,
            ),
            batch_duration: r.histogram_vec(
                "prometheus_remote_storage_sent_batch_duration_seconds",
                "Duration of send calls to the remote storage.",
                l,
                &[
                    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 25.0, 60.0,
                    120.0, 300.0,
                ],
            ),
            highest_sent: r.gauge_vec(
                "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
                "Timestamp from a WAL sample, the highest timestamp successfully sent by this queue, in seconds since epoch.",
                l,
            ),
            shard_capacity: r.gauge_vec(
                "prometheus_remote_storage_shard_capacity",
                "The capacity of each shard of the queue used for parallel sending to the remote storage.",
                l,
            ),
            shards: r.gauge_vec(
                "prometheus_remote_storage_shards",
                "The number of shards used for parallel sending to the remote storage.",
                l,
            ),
            shards_max: r.gauge_vec(
                "prometheus_remote_storage_shards_max",
                "The maximum number of shards that the queue is allowed to run.",
                l,
            ),
            shards_min: r.gauge_vec(
                "prometheus_remote_storage_shards_min",
                "The minimum number of shards that the queue is allowed to run.",
                l,
            ),
            shards_desired: r.gauge_vec(
                "prometheus_remote_storage_shards_desired",
                "The number of shards that the queues shard calculation wants to run based on the rate of samples in vs. samples out.",
                l,
            ),
            max_samples_per_send: r.gauge_vec(
                "prometheus_remote_storage_max_samples_per_send",
                "The maximum number of samples to be sent, in a single request, to the remote storage. Note that, when sending of exemplars over remote write is enabled, exemplars count towards this limt.",
                l,
            ),
            samples_in: r.counter(
                "prometheus_remote_storage_samples_in_total",
                "Samples in to remote storage, compare to samples out for queue managers.",
            ),
            exemplars_in: r.counter(
                "prometheus_remote_storage_exemplars_in_total",
                "Exemplars in to remote storage, compare to exemplars out for queue managers.",
            ),
            histograms_in: r.counter(
                "prometheus_remote_storage_histograms_in_total",
                "HistogramSamples in to remote storage, compare to histograms out for queue managers.",
            ),
            highest_in: r.gauge(
                "prometheus_remote_storage_highest_timestamp_in_seconds",
                "Highest timestamp that has come into the remote storage via the Appender interface, in seconds since epoch.",
            ),
            watcher_current_segment: r.gauge_vec(
                "prometheus_wal_watcher_current_segment",
                "Current segment the WAL watcher is reading records from.",
                c,
            ),
            watcher_decode_failures: r.counter_vec(
                "prometheus_wal_watcher_record_decode_failures_total",
                "Number of records read by the WAL watcher that resulted in an error when decoding.",
                c,
            ),
            watcher_records_read: r.counter_vec(
                "prometheus_wal_watcher_records_read_total",
                "Number of records read by the WAL watcher from the WAL.",
                &["consumer", "type"],
            ),
            watcher_pre_tailing: r.counter_vec(
                "prometheus_wal_watcher_samples_sent_pre_tailing_total",
                "Number of sample records read by the WAL watcher and sent to remote write during replay of existing WAL.",
                c,
            ),
            _interner_zero_releases: r.counter(
                "prometheus_remote_storage_string_interner_zero_reference_releases_total",
                "The number of times release has been called for strings that are not interned.",
            ),
        }
    }

    /// Raises the highest timestamp seen to `t` (milliseconds).
    pub fn highest_in(&self, t: i64) {
        let s = t as f64 / 1000.0;
        if s > self.highest_in.get() {
            self.highest_in.set(s);
        }
    }

    /// The highest timestamp come in, in seconds.
    pub fn highest_in_seconds(&self) -> f64 {
        self.highest_in.get()
    }
}
