//! Firewatch rules: rule groups evaluated on an interval, recording and alerting rules, Go-template
//! expansion of labels and annotations, and the notifier that sends alerts to Alertmanagers.
//!
//! The boundary between rule evaluation and delivery is [`alert::AlertSender`]: the rules manager
//! hands it the alerts to send, the notifier implements it.
//!
//! Wiring: [`Manager::new`] with [`ManagerOptions`] (engine, storage, sender, external URL),
//! [`Manager::update`] with the files of `rule_files` ([`expand_rule_files`]) and the global
//! settings ([`UpdateOptions`]) at start-up and on every reload, [`Manager::start`] inside the
//! Tokio runtime. The API reads [`Manager::groups`] and [`Manager::alerts`]; `/metrics` gets
//! the manager as a `metrics::Collector`. Tests drive evaluation with [`Manager::eval_at`].

pub mod alert;
mod alerting;
pub mod error;
mod group;
mod manager;
mod metrics;
pub mod notifier;
mod recording;
mod rule;
pub mod template;
pub mod unittest;
mod view;

pub use alerting::AlertState;
pub use error::{EvalError, RulesError, TemplateError};
pub use manager::{Manager, ManagerOptions, UpdateOptions, expand_rule_files};
pub use rule::Health;
pub use view::{AlertView, GroupView, RuleKind, RuleView};
