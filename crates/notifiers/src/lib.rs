//! Alertmanager's receivers for Firewatch: their configuration (`global:` and `receivers:`
//! of `alertmanager.yml`, with Alertmanager's defaults and error texts), the notification
//! templates (Go `text/template` / `html/template` with Alertmanager's functions and data)
//! and the integrations that send notifications (webhook, e-mail, Slack, PagerDuty, ...).
//!
//! The alertmanager crate decodes `alertmanager.yml` with these types, builds each
//! receiver's [`Integration`]s with [`build_integrations`] and calls [`Notifier::notify`]
//! from its notification pipeline.

pub mod alert;
pub mod chat;
pub mod config;
pub mod email;
pub mod error;
pub mod notify;
pub mod opsgenie;
pub mod pagerduty;
pub mod paging;
pub mod slack;
pub mod sns;
pub mod template;
pub mod webhook;

pub use alert::{Alert, AlertStatus, Data, Kv};
pub use config::{GlobalConfig, Receiver};
pub use error::{NotifyError, TemplateError};
pub use notify::{Integration, Notifier, NotifyContext, NotifyFuture, build_integrations};
pub use template::Template;
