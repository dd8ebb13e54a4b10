//! The Alertmanager's self-metrics with Alertmanager's names and help texts, registered on
//! the process's one registry; state counts (alerts, silences, groups) computed at scrape time.

use std::sync::Arc;

use metrics::{CounterVec, Gauge, GaugeVec, HistogramVec, Registry, Summary};

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
    /// `alertmanager_nflog_snapshot_size_bytes`.
    pub nflog_snapshot_size: Gauge,
    /// `alertmanager_nflog_gc_duration_seconds`.
    pub nflog_gc_duration: Summary,
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
            nflog_snapshot_size: r.gauge(
                "alertmanager_nflog_snapshot_size_bytes",
                "Size of the last notification log snapshot in bytes.",
            ),
            nflog_gc_duration: r.summary(
                "alertmanager_nflog_gc_duration_seconds",
                "Duration of the last notification log garbage collection cycle.",
                &[],
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
        }
        Arc::new(m)
    }
}
