//! Alertmanager's receivers for Firewatch: their configuration (`global:` and `receivers:`
//! of `alertmanager.yml`, with Alertmanager's defaults and error texts), the notification
//! templates (Go `text/template` / `html/template` with Alertmanager's functions and data)
//! and the integrations that send notifications (webhook, e-mail, Slack, PagerDuty, ...).
//!
//! The alertmanager crate decodes `alertmanager.yml` with these types, builds each
//! receiver's [`Integration`]s with [`build_integrations`] and calls [`Notifier::notify`]
//! from its notification pipeline.

/// Declares an integration's notifier: its configuration, the templates, its HTTP client
/// (from the configuration's `http_config`) and any `extra` fields with their initial
/// values, and the `new` constructor every integration has.
macro_rules! notifier {
    ($(#[$m:meta])* $name:ident, $cfg:ty $(, { $($field:ident: $ty:ty = $init:expr),* $(,)? })?) => {
        $(#[$m])*
        pub struct $name {
            cfg: $cfg,
            #[allow(dead_code)]
            tmpl: std::sync::Arc<$crate::template::Template>,
            http: http_client::HttpClient,
            $($($field: $ty,)*)?
        }

        impl $name {
            /// A notifier for `cfg` (its receiver validated and with `apply_global` applied).
            ///
            /// # Errors
            /// An HTTP client that cannot be built.
            pub fn new(
                cfg: &$cfg,
                tmpl: &std::sync::Arc<$crate::template::Template>,
                http: &http_client::ClientOptions,
            ) -> Result<Self, $crate::error::NotifyError> {
                Ok(Self {
                    http: $crate::notify::client(cfg.http_config.as_ref(), http)?,
                    cfg: cfg.clone(),
                    tmpl: tmpl.clone(),
                    $($($field: $init,)*)?
                })
            }
        }
    };
}

pub mod alert;
pub mod chat;
pub mod config;
pub mod email;
pub mod error;
pub mod incidentio;
pub mod jira;
pub mod kv;
pub mod limit;
pub mod mattermost;
pub mod notify;
pub mod opsgenie;
pub mod pagerduty;
pub mod paging;
pub mod rocketchat;
pub mod slack;
pub mod smtp;
pub mod sns;
pub mod template;
pub mod webhook;

pub use alert::{Alert, AlertStatus, Data, Kv};
pub use config::{GlobalConfig, Receiver};
pub use error::{NotifyError, TemplateError};
pub use notify::{Integration, Notifier, NotifyContext, NotifyFuture, build_integrations};
pub use template::Template;
