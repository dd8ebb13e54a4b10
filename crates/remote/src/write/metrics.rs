//! The `prometheus_remote_storage_*` metrics of the remote write queues, with Prometheus's
//! names and labels (`remote_name`, `url`).

use metrics::{CounterVec, Gauge, GaugeVec, Registry};

/// The queues' metrics, registered once.
#[derive(Clone)]
pub(crate) struct QueueMetrics {
    pub sent: CounterVec,
    pub failed: CounterVec,
    pub retried: CounterVec,
    pub dropped: CounterVec,
    pub pending: GaugeVec,
    pub shards: GaugeVec,
    pub highest_sent: GaugeVec,
    highest_in: Gauge,
}

impl QueueMetrics {
    pub fn new(r: &Registry) -> Self {
        let l = &["remote_name", "url"];
        Self {
            sent: r.counter_vec(
                "prometheus_remote_storage_samples_total",
                "Total number of samples sent to remote storage.",
                l,
            ),
            failed: r.counter_vec(
                "prometheus_remote_storage_samples_failed_total",
                "Total number of samples which failed on send to remote storage, non-recoverable errors.",
                l,
            ),
            retried: r.counter_vec(
                "prometheus_remote_storage_samples_retried_total",
                "Total number of samples which failed on send to remote storage but were retried because the send error was recoverable.",
                l,
            ),
            dropped: r.counter_vec(
                "prometheus_remote_storage_samples_dropped_total",
                "Total number of samples which were dropped after being read from the WAL before being sent via remote write, either via relabelling or unintentionally because of an unknown reference ID.",
                l,
            ),
            pending: r.gauge_vec(
                "prometheus_remote_storage_samples_pending",
                "The number of samples pending in the queues shards to be sent to the remote storage.",
                l,
            ),
            shards: r.gauge_vec(
                "prometheus_remote_storage_shards",
                "The number of shards used for parallel sending to the remote storage.",
                l,
            ),
            highest_sent: r.gauge_vec(
                "prometheus_remote_storage_queue_highest_sent_timestamp_seconds",
                "Timestamp from a WAL sample, the highest timestamp successfully sent by this queue, in seconds since epoch.",
                l,
            ),
            highest_in: r.gauge(
                "prometheus_remote_storage_highest_timestamp_in_seconds",
                "Highest timestamp that has come into the remote storage via the Appender interface, in seconds since epoch.",
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
}
