//! `incidentio_configs` (Alertmanager's `notify/incidentio/config.go`, since 0.28): the alert
//! source URL (or a file holding it), its token (or a file), `max_alerts`, `timeout` and
//! `http_config`, with Alertmanager's defaults and checks.

use serde::{Deserialize, Serialize};

use super::types::{GoDuration, HttpUrl};
use super::yes;
use config::yaml::Invalid;
use config::{HttpClientConfig, Secret};

/// `incidentio_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IncidentioConfig {
    /// Notify about resolved alerts (true).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// The alert source's URL.
    #[serde(default)]
    pub url: Option<HttpUrl>,
    /// File holding the URL.
    #[serde(default)]
    pub url_file: String,
    /// The alert source's token, sent as `Authorization: Bearer`.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub alert_source_token: Secret,
    /// File holding the token (read when the integration is built).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alert_source_token_file: String,
    /// Most alerts per message (0: all); the rest are counted in `truncatedAlerts`.
    #[serde(default)]
    pub max_alerts: u64,
    /// Timeout of each request (0: none).
    #[serde(default)]
    pub timeout: GoDuration,
}

impl IncidentioConfig {
    /// The checks of Alertmanager's `IncidentioConfig.Validate` (run while decoding, before
    /// the global `http_config` is filled in), with its texts.
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        let err = |m: &str| Err(Invalid::new(m));
        if self.url.is_none() && self.url_file.is_empty() {
            return err("one of url or url_file must be configured");
        }
        if self.url.is_some() && !self.url_file.is_empty() {
            return err("at most one of url & url_file must be configured");
        }
        let token = !self.alert_source_token.is_empty() || !self.alert_source_token_file.is_empty();
        if !self.alert_source_token.is_empty() && !self.alert_source_token_file.is_empty() {
            return err(
                "at most one of alert_source_token & alert_source_token_file must be configured",
            );
        }
        match &self.http_config {
            Some(h) if h.authorization.is_some() && token => err(
                "cannot specify alert_source_token or alert_source_token_file when using http_config.authorization",
            ),
            Some(h) if h.authorization.is_none() && !token => err(
                "at least one of alert_source_token, alert_source_token_file or http_config.authorization must be configured",
            ),
            _ => Ok(()),
        }
    }
}
