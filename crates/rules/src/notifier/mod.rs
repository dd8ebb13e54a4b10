//! The notifier: a bounded queue of alerts, sent in batches to every Alertmanager discovered from
//! `alerting.alertmanagers` (API v2), after `alert_relabel_configs`.
