//! Firewatch rules: rule groups evaluated on an interval, recording and alerting rules, Go-template
//! expansion of labels and annotations, and the notifier that sends alerts to Alertmanagers.
//!
//! The boundary between rule evaluation and delivery is [`alert::AlertSender`]: the rules manager
//! hands it the alerts to send, the notifier implements it.

pub mod alert;
pub mod notifier;
