//! The notifier's own metrics, with Prometheus's names, help texts and types
//! (`notifier/notifier.go`'s `alertMetrics`): counters and a latency summary per
//! Alertmanager, gauges read at scrape time.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use metrics::{DEFAULT_OBJECTIVES, Summary, SummaryOpts, family};
use model::exposition::{MetricFamily, MetricType};
use parking_lot::Mutex;

/// Counters of one Alertmanager (by the URL of its alerts endpoint).
#[derive(Debug, Clone)]
struct PerAlertmanager {
    sent: u64,
    errors: u64,
    latency: Summary,
}

impl Default for PerAlertmanager {
    fn default() -> Self {
        Self {
            sent: 0,
            errors: 0,
            latency: Summary::new(&SummaryOpts::new(DEFAULT_OBJECTIVES)),
        }
    }
}

/// Counters and the latency summary of the notifier.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    per_am: Mutex<BTreeMap<String, PerAlertmanager>>,
    dropped: AtomicU64,
}

/// The gauges read at exposition time.
pub(crate) struct Gauges {
    pub(crate) queue_length: usize,
    pub(crate) queue_capacity: usize,
    pub(crate) alertmanagers_discovered: usize,
}

impl Metrics {
    /// Makes `url`'s counters exist (at 0) once it is discovered.
    pub(crate) fn init(&self, url: &str) {
        self.per_am.lock().entry(url.to_owned()).or_default();
    }

    /// Counts `n` alerts dropped.
    pub(crate) fn dropped(&self, n: usize) {
        self.dropped.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Total of dropped alerts.
    pub(crate) fn dropped_total(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Records one attempt of sending `count` alerts to `url`.
    pub(crate) fn attempt(&self, url: &str, count: usize, failed: bool, latency: Duration) {
        let mut m = self.per_am.lock();
        let e = m.entry(url.to_owned()).or_default();
        e.sent += count as u64;
        if failed {
            e.errors += count as u64;
        }
        e.latency.observe_duration(latency);
    }

    /// `(sent, errors)` of `url`, if it was ever discovered or sent to.
    pub(crate) fn counts(&self, url: &str) -> Option<(u64, u64)> {
        self.per_am.lock().get(url).map(|e| (e.sent, e.errors))
    }

    /// Appends every family.
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn collect(&self, out: &mut Vec<MetricFamily>, g: &Gauges) {
        let per_am = self.per_am.lock().clone();
        out.push(family::gauge(
            "prometheus_notifications_alertmanagers_discovered",
            "The number of alertmanagers discovered and active.",
            g.alertmanagers_discovered as f64,
        ));
        out.push(family::counter(
            "prometheus_notifications_dropped_total",
            "Total number of alerts dropped due to errors when sending to Alertmanager.",
            self.dropped_total() as f64,
        ));
        out.push(family::gauge(
            "prometheus_notifications_queue_capacity",
            "The capacity of the alert notifications queue.",
            g.queue_capacity as f64,
        ));
        out.push(family::gauge(
            "prometheus_notifications_queue_length",
            "The number of alert notifications in the queue.",
            g.queue_length as f64,
        ));
        let mut latency = family::new(
            "prometheus_notifications_latency_seconds",
            "Latency quantiles for sending alert notifications.",
            MetricType::Summary,
        );
        let mut errors = family::new(
            "prometheus_notifications_errors_total",
            "Total number of sent alerts affected by errors.",
            MetricType::Counter,
        );
        let mut sent = family::new(
            "prometheus_notifications_sent_total",
            "Total number of alerts sent.",
            MetricType::Counter,
        );
        for (url, e) in &per_am {
            let labels = [("alertmanager", url.as_str())];
            family::push_summary(
                &mut latency,
                &labels,
                &e.latency.quantiles(),
                e.latency.sum(),
                e.latency.count(),
            );
            family::push(&mut errors, &labels, e.errors as f64);
            family::push(&mut sent, &labels, e.sent as f64);
        }
        out.extend([latency, errors, sent]);
    }
}
