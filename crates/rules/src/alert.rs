//! An alert as it travels from an alerting rule to Alertmanager, and the trait that carries it.

use std::time::SystemTime;

use model::Labels;

/// One alert as Alertmanager's API v2 receives it (`POST /api/v2/alerts`).
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    /// Identifying labels: the rule's name as `alertname`, the series' labels and the rule's labels.
    pub labels: Labels,
    /// Expanded annotations (summary, description, ...).
    pub annotations: Labels,
    /// When the alert started firing.
    pub starts_at: SystemTime,
    /// When the alert was resolved, or the time after which Alertmanager may consider it resolved
    /// if it hears nothing more (Prometheus sends `now + 4 * max(resend delay, eval interval)`).
    pub ends_at: Option<SystemTime>,
    /// Link back to the expression in the web UI.
    pub generator_url: String,
}

impl Alert {
    /// The alert's name (`alertname` label), or "" when it has none.
    pub fn name(&self) -> &str {
        self.labels.get("alertname").unwrap_or("")
    }

    /// Whether the alert has ended at or before `now`.
    pub fn resolved_at(&self, now: SystemTime) -> bool {
        self.ends_at.is_some_and(|end| end <= now)
    }
}

/// Where firing and resolved alerts go: the notifier, or a test's recorder.
pub trait AlertSender: Send + Sync {
    /// Queue `alerts` for delivery; never blocks on the network.
    fn send(&self, alerts: Vec<Alert>);
}
