//! The Alertmanager's self-metrics with Alertmanager's names and help texts, registered on
//! the process's one registry; state counts (alerts, silences, groups) computed at scrape time.

use std::sync::Arc;

use metrics::{
    Counter, CounterVec, DEFAULT_BUCKETS, Gauge, GaugeVec, Histogram, HistogramVec, Registry,
    Summary,
};

/// The metrics the pipeline, API and stores update.
#[derive(Clone)]
pub struct Metrics {
    /// The registry they live on.
    pub registry: Registry,
    /// `alertmanager_alerts_received_total{status,version}`.
    pub alerts_received: CounterVec,
    /// `alertmanager_alerts_invalid_total{version}`.
    pub alerts_invalid: CounterVec,
    /// `alertmanager_notifications_total{integration}`.
    pub notifications: CounterVec,
    /// `alertmanager_notifications_failed_total{integration}`.
    pub notifications_failed: CounterVec,
    /// `alertmanager_notification_latency_seconds{integration}`.
    pub notification_latency: HistogramVec,
    /// `alertmanager_alerts{state}`.
    pub alerts: GaugeVec,
    /// `alertmanager_silences{state}`.
    pub silences: GaugeVec,
    /// `alertmanager_dispatcher_aggregation_groups`.
    pub aggregation_groups: Gauge,
    /// `alertmanager_nflog_*`: queries, snapshots, garbage collection, gossip.
    pub nflog: Arc<StateMetrics>,
    /// `alertmanager_silences_*`: queries, snapshots, garbage collection, gossip.
    pub silences_state: Arc<StateMetrics>,
    /// `alertmanager_notification_requests_total{integration}` (every attempt).
    pub notification_requests: CounterVec,
    /// `alertmanager_notification_requests_failed_total{integration}`.
    pub notification_requests_failed: CounterVec,
    /// `alertmanager_dispatcher_alert_processing_duration_seconds`.
    pub alert_processing: Summary,
    /// `alertmanager_marked_alerts{state}`.
    pub marked_alerts: GaugeVec,
    /// `alertmanager_http_requests_in_flight{method="get"}`.
    pub http_in_flight: Gauge,
    /// `alertmanager_http_concurrency_limit_exceeded_total{method="get"}`.
    pub http_limit_exceeded: Counter,
    /// `alertmanager_http_request_duration_seconds{handler,method}`.
    pub http_duration: HistogramVec,
    /// `alertmanager_http_response_size_bytes{handler,method}`.
    pub http_size: HistogramVec,
    /// `alertmanager_receivers`.
    pub receivers: Gauge,
    /// `alertmanager_integrations`.
    pub integrations: Gauge,
    /// `alertmanager_cluster_enabled`.
    pub cluster_enabled: Gauge,
    /// `alertmanager_config_hash`.
    pub config_hash: Gauge,
    /// `alertmanager_config_last_reload_successful`.
    pub config_last_reload_successful: Gauge,
    /// `alertmanager_config_last_reload_success_timestamp_seconds`.
    pub config_last_reload_success_time: Gauge,
}

const INTEGRATIONS: [&str; 13] = [
    "email",
    "msteams",
    "opsgenie",
    "pagerduty",
    "pushover",
    "slack",
    "sns",
    "telegram",
    "victorops",
    "webex",
    "webhook",
    "wechat",
    "discord",
];

impl Metrics {
    /// Registers the metrics on `registry`.
    #[must_use]
    pub fn new(registry: &Registry) -> Arc<Self> {
        let r = registry;
        let m = Self {
            registry: r.clone(),
            alerts_received: r.counter_vec(
                "alertmanager_alerts_received_total",
                "The total number of received alerts.",
                &["status", "version"],
            ),
            alerts_invalid: r.counter_vec(
                "alertmanager_alerts_invalid_total",
                "The total number of received alerts that were invalid.",
                &["version"],
            ),
            notifications: r.counter_vec(
                "alertmanager_notifications_total",
                "The total number of attempted notifications.",
                &["integration"],
            ),
            notifications_failed: r.counter_vec(
                "alertmanager_notifications_failed_total",
                "The total number of failed notifications.",
                &["integration"],
            ),
            notification_latency: r.histogram_vec(
                "alertmanager_notification_latency_seconds",
                "The latency of notifications in seconds.",
                &["integration"],
                &[1.0, 5.0, 10.0, 15.0, 20.0],
            ),
            alerts: r.gauge_vec(
                "alertmanager_alerts",
                "How many alerts by state.",
                &["state"],
            ),
            silences: r.gauge_vec(
                "alertmanager_silences",
                "How many silences by state.",
                &["state"],
            ),
            aggregation_groups: r.gauge(
                "alertmanager_dispatcher_aggregation_groups",
                "Number of active aggregation groups",
            ),
            nflog: Arc::new(StateMetrics::nflog(r)),
            silences_state: Arc::new(StateMetrics::silences(r)),
            notification_requests: r.counter_vec(
                "alertmanager_notification_requests_total",
                "The total number of attempted notification requests.",
                &["integration"],
            ),
            notification_requests_failed: r.counter_vec(
                "alertmanager_notification_requests_failed_total",
                "The total number of failed notification requests.",
                &["integration"],
            ),
            alert_processing: r.summary(
                "alertmanager_dispatcher_alert_processing_duration_seconds",
                "Summary of latencies for the processing of alerts.",
                &[],
            ),
            marked_alerts: r.gauge_vec(
                "alertmanager_marked_alerts",
                "How many alerts by state are currently marked in the Alertmanager regardless of their expiry.",
                &["state"],
            ),
            http_in_flight: r
                .gauge_vec(
                    "alertmanager_http_requests_in_flight",
                    "Current number of HTTP requests being processed.",
                    &["method"],
                )
                .with_label_values(&["get"]),
            http_limit_exceeded: r
                .counter_vec(
                    "alertmanager_http_concurrency_limit_exceeded_total",
                    "Total number of times an HTTP request failed because the concurrency limit was reached.",
                    &["method"],
                )
                .with_label_values(&["get"]),
            http_duration: r.histogram_vec(
                "alertmanager_http_request_duration_seconds",
                "Histogram of latencies for HTTP requests.",
                &["handler", "method"],
                &[0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.0, 5.0, 20.0, 60.0],
            ),
            http_size: r.histogram_vec(
                "alertmanager_http_response_size_bytes",
                "Histogram of response size for HTTP requests.",
                &["handler", "method"],
                &[100.0, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8],
            ),
            receivers: r.gauge("alertmanager_receivers", "Number of configured receivers."),
            integrations: r.gauge(
                "alertmanager_integrations",
                "Number of configured integrations.",
            ),
            cluster_enabled: r.gauge(
                "alertmanager_cluster_enabled",
                "Indicates whether the clustering is enabled or not.",
            ),
            config_hash: r.gauge(
                "alertmanager_config_hash",
                "Hash of the currently loaded alertmanager configuration.",
            ),
            config_last_reload_successful: r.gauge(
                "alertmanager_config_last_reload_successful",
                "Whether the last configuration reload attempt was successful.",
            ),
            config_last_reload_success_time: r.gauge(
                "alertmanager_config_last_reload_success_timestamp_seconds",
                "Timestamp of the last successful configuration reload.",
            ),
        };
        for v in ["v1", "v2"] {
            for s in ["firing", "resolved"] {
                m.alerts_received.with_label_values(&[s, v]);
            }
            m.alerts_invalid.with_label_values(&[v]);
        }
        for i in INTEGRATIONS {
            m.notifications.with_label_values(&[i]);
            m.notifications_failed.with_label_values(&[i]);
            m.notification_latency.with_label_values(&[i]);
            m.notification_requests.with_label_values(&[i]);
            m.notification_requests_failed.with_label_values(&[i]);
        }
        r.gauge_vec(
            "alertmanager_build_info",
            "A metric with a constant '1' value labeled by version, revision, branch, goversion from which alertmanager was built, and the goos and goarch for the build.",
            &["branch", "goarch", "goos", "goversion", "revision", "version"],
        )
        .with_label_values(&[
            "",
            std::env::consts::ARCH,
            std::env::consts::OS,
            "",
            concat!("firewatch-", env!("CARGO_PKG_VERSION")),
            crate::api::API_VERSION,
        ])
        .set(1.0);
        Arc::new(m)
    }
}

/// The metrics of a replicated state (`alertmanager_nflog_*`, `alertmanager_silences_*`):
/// queries, their errors and duration, snapshots, garbage collection, and the received
/// gossip that changed the state here (passed on to the other peers in the next exchange).
pub struct StateMetrics {
    /// `*_queries_total`.
    pub queries: Counter,
    /// `*_query_errors_total`.
    pub query_errors: Counter,
    /// `*_query_duration_seconds`.
    pub query_duration: Histogram,
    /// `*_gossip_messages_propagated_total`.
    pub propagated: Counter,
    /// `*_snapshot_duration_seconds`.
    pub snapshot_duration: Summary,
    /// `*_snapshot_size_bytes`.
    pub snapshot_size: Gauge,
    /// `*_gc_duration_seconds`.
    pub gc_duration: Summary,
}

impl StateMetrics {
    /// The notification log's, with Alertmanager's help texts.
    #[must_use]
    pub fn nflog(r: &Registry) -> Self {
        Self {
            queries: r.counter(
                "alertmanager_nflog_queries_total",
                "Number of notification log queries were received.",
            ),
            query_errors: r.counter(
                "alertmanager_nflog_query_errors_total",
                "Number notification log received queries that failed.",
            ),
            query_duration: r.histogram(
                "alertmanager_nflog_query_duration_seconds",
                "Duration of notification log query evaluation.",
                DEFAULT_BUCKETS,
            ),
            propagated: r.counter(
                "alertmanager_nflog_gossip_messages_propagated_total",
                "Number of received gossip messages that have been further gossiped.",
            ),
            snapshot_duration: r.summary(
                "alertmanager_nflog_snapshot_duration_seconds",
                "Duration of the last notification log snapshot.",
                &[],
            ),
            snapshot_size: r.gauge(
                "alertmanager_nflog_snapshot_size_bytes",
                "Size of the last notification log snapshot in bytes.",
            ),
            gc_duration: r.summary(
                "alertmanager_nflog_gc_duration_seconds",
                "Duration of the last notification log garbage collection cycle.",
                &[],
            ),
        }
    }

    /// The silences', with Alertmanager's help texts.
    #[must_use]
    pub fn silences(r: &Registry) -> Self {
        Self {
            queries: r.counter(
                "alertmanager_silences_queries_total",
                "How many silence queries were received.",
            ),
            query_errors: r.counter(
                "alertmanager_silences_query_errors_total",
                "How many silence received queries did not succeed.",
            ),
            query_duration: r.histogram(
                "alertmanager_silences_query_duration_seconds",
                "Duration of silence query evaluation.",
                DEFAULT_BUCKETS,
            ),
            propagated: r.counter(
                "alertmanager_silences_gossip_messages_propagated_total",
                "Number of received gossip messages that have been further gossiped.",
            ),
            snapshot_duration: r.summary(
                "alertmanager_silences_snapshot_duration_seconds",
                "Duration of the last silence snapshot.",
                &[],
            ),
            snapshot_size: r.gauge(
                "alertmanager_silences_snapshot_size_bytes",
                "Size of the last silence snapshot in bytes.",
            ),
            gc_duration: r.summary(
                "alertmanager_silences_gc_duration_seconds",
                "Duration of the last silence garbage collection cycle.",
                &[],
            ),
        }
    }

    /// Records one query's duration (and its error).
    pub fn query(&self, started: std::time::Instant, failed: bool) {
        self.queries.inc();
        if failed {
            self.query_errors.inc();
        }
        self.query_duration.observe(started.elapsed().as_secs_f64());
    }

    /// Records a written snapshot's duration and size.
    pub fn snapshot(&self, started: std::time::Instant, bytes: usize) {
        self.snapshot_duration
            .observe(started.elapsed().as_secs_f64());
        self.snapshot_size.set(bytes as f64);
    }
}
