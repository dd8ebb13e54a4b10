//! The notifier's own metrics, with Prometheus's names, written as text exposition.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;

/// Counters of one Alertmanager (by the URL of its alerts endpoint).
#[derive(Debug, Default, Clone, Copy)]
struct PerAlertmanager {
    sent: u64,
    errors: u64,
    latency_sum: f64,
    latency_count: u64,
}

/// Counters and the latency summary of the notifier.
#[derive(Debug, Default)]
pub(crate) struct Metrics {
    per_am: Mutex<BTreeMap<String, PerAlertmanager>>,
    dropped: AtomicU64,
}

/// A counter family by Alertmanager: name, help, type, and the value of one Alertmanager.
type Family = (
    &'static str,
    &'static str,
    &'static str,
    fn(&PerAlertmanager) -> String,
);

/// The gauges read at exposition time.
pub(crate) struct Gauges {
    pub(crate) queue_length: usize,
    pub(crate) queue_capacity: usize,
    pub(crate) alertmanagers_discovered: usize,
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
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
        e.latency_sum += latency.as_secs_f64();
        e.latency_count += 1;
    }

    /// `(sent, errors)` of `url`, if it was ever discovered or sent to.
    pub(crate) fn counts(&self, url: &str) -> Option<(u64, u64)> {
        self.per_am.lock().get(url).map(|e| (e.sent, e.errors))
    }

    /// Writes every metric in text exposition format 0.0.4.
    pub(crate) fn write(&self, out: &mut String, g: &Gauges) {
        let per_am = self.per_am.lock().clone();
        let _ = write!(
            out,
            "# HELP prometheus_notifications_alertmanagers_discovered The number of alertmanagers discovered and active.\n\
             # TYPE prometheus_notifications_alertmanagers_discovered gauge\n\
             prometheus_notifications_alertmanagers_discovered {}\n\
             # HELP prometheus_notifications_dropped_total Total number of alerts dropped due to errors when sending to Alertmanager.\n\
             # TYPE prometheus_notifications_dropped_total counter\n\
             prometheus_notifications_dropped_total {}\n\
             # HELP prometheus_notifications_queue_capacity The capacity of the alert notifications queue.\n\
             # TYPE prometheus_notifications_queue_capacity gauge\n\
             prometheus_notifications_queue_capacity {}\n\
             # HELP prometheus_notifications_queue_length The number of alert notifications in the queue.\n\
             # TYPE prometheus_notifications_queue_length gauge\n\
             prometheus_notifications_queue_length {}\n",
            g.alertmanagers_discovered,
            self.dropped_total(),
            g.queue_capacity,
            g.queue_length,
        );
        let families: [Family; 2] = [
            (
                "prometheus_notifications_errors_total",
                "Total number of sent alerts affected by errors.",
                "counter",
                |e| e.errors.to_string(),
            ),
            (
                "prometheus_notifications_sent_total",
                "Total number of alerts sent.",
                "counter",
                |e| e.sent.to_string(),
            ),
        ];
        out.push_str(
            "# HELP prometheus_notifications_latency_seconds Latency quantiles for sending alert notifications.\n\
             # TYPE prometheus_notifications_latency_seconds summary\n",
        );
        for (url, e) in &per_am {
            let url = escape(url);
            let _ = writeln!(
                out,
                "prometheus_notifications_latency_seconds_sum{{alertmanager=\"{url}\"}} {}",
                e.latency_sum
            );
            let _ = writeln!(
                out,
                "prometheus_notifications_latency_seconds_count{{alertmanager=\"{url}\"}} {}",
                e.latency_count
            );
        }
        for (name, help, kind, value) in families {
            let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n");
            for (url, e) in &per_am {
                let _ = writeln!(
                    out,
                    "{name}{{alertmanager=\"{}\"}} {}",
                    escape(url),
                    value(e)
                );
            }
        }
    }
}
