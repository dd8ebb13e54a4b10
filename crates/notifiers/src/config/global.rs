//! The `global:` section of `alertmanager.yml` (`config.GlobalConfig` and
//! `DefaultGlobalConfig` in Alertmanager's `config/config.go`): defaults that receivers
//! inherit when they leave a field unset.

use serde::{Deserialize, Serialize};

use config::yaml::Invalid;
use config::{Duration, HttpClientConfig, Secret, TlsConfig};

use super::types::{HostPort, HttpUrl, SecretUrl};

fn default_resolve_timeout() -> Duration {
    Duration::from_secs(300)
}
fn default_smtp_hello() -> String {
    "localhost".into()
}
fn yes() -> bool {
    true
}
fn default_http_config() -> Option<HttpClientConfig> {
    Some(HttpClientConfig::default())
}
fn default_smtp_tls() -> Option<TlsConfig> {
    Some(TlsConfig::default())
}
fn url(s: &str) -> Option<HttpUrl> {
    Some(HttpUrl::known(s))
}
fn default_pagerduty_url() -> Option<HttpUrl> {
    url("https://events.pagerduty.com/v2/enqueue")
}
fn default_opsgenie_url() -> Option<HttpUrl> {
    url("https://api.opsgenie.com/")
}
fn default_wechat_url() -> Option<HttpUrl> {
    url("https://qyapi.weixin.qq.com/cgi-bin/")
}
fn default_victorops_url() -> Option<HttpUrl> {
    url("https://alert.victorops.com/integrations/generic/20131114/alert/")
}
fn default_telegram_url() -> Option<HttpUrl> {
    url("https://api.telegram.org")
}
fn default_webex_url() -> Option<HttpUrl> {
    url("https://webexapis.com/v1/messages")
}
fn default_rocketchat_url() -> Option<HttpUrl> {
    url("https://open.rocket.chat/")
}
fn default_slack_app_url() -> Option<HttpUrl> {
    url(SLACK_POST_MESSAGE)
}

/// Slack's Web API method that bot tokens post to.
pub const SLACK_POST_MESSAGE: &str = "https://slack.com/api/chat.postMessage";

/// The whole `global:` section with Alertmanager's defaults. Serialising gives Alertmanager's
/// shape with secrets as `<secret>` (what `amtool config show` prints).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GlobalConfig {
    /// Time after which an alert without `endsAt` is declared resolved (5m).
    #[serde(default = "default_resolve_timeout")]
    pub resolve_timeout: Duration,
    /// HTTP client settings of every receiver that sets none.
    #[serde(
        default = "default_http_config",
        skip_serializing_if = "Option::is_none"
    )]
    pub http_config: Option<HttpClientConfig>,
    /// Jira Cloud API URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jira_api_url: Option<HttpUrl>,
    /// Default sender address of e-mails.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub smtp_from: String,
    /// Host name sent in HELO/EHLO (`localhost`).
    #[serde(
        default = "default_smtp_hello",
        skip_serializing_if = "String::is_empty"
    )]
    pub smtp_hello: String,
    /// Default SMTP server `host:port`.
    #[serde(default, skip_serializing_if = "HostPort::is_empty")]
    pub smtp_smarthost: HostPort,
    /// Default SMTP user name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub smtp_auth_username: String,
    /// Default SMTP password.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub smtp_auth_password: Secret,
    /// File holding the default SMTP password.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub smtp_auth_password_file: String,
    /// Default CRAM-MD5 secret.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub smtp_auth_secret: Secret,
    /// File holding the default CRAM-MD5 secret.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub smtp_auth_secret_file: String,
    /// Default PLAIN identity.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub smtp_auth_identity: String,
    /// Require STARTTLS (true).
    #[serde(default = "yes")]
    pub smtp_require_tls: bool,
    /// TLS settings of SMTP connections.
    #[serde(default = "default_smtp_tls", skip_serializing_if = "Option::is_none")]
    pub smtp_tls_config: Option<TlsConfig>,
    /// Default Slack webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack_api_url: Option<SecretUrl>,
    /// File holding the default Slack webhook URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub slack_api_url_file: String,
    /// Default Slack bot token.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub slack_app_token: Secret,
    /// File holding the default Slack bot token.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub slack_app_token_file: String,
    /// Slack Web API URL used with bot tokens (`chat.postMessage`).
    #[serde(
        default = "default_slack_app_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub slack_app_url: Option<HttpUrl>,
    /// PagerDuty Events API URL.
    #[serde(
        default = "default_pagerduty_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub pagerduty_url: Option<HttpUrl>,
    /// OpsGenie API URL.
    #[serde(
        default = "default_opsgenie_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub opsgenie_api_url: Option<HttpUrl>,
    /// Default OpsGenie API key.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub opsgenie_api_key: Secret,
    /// File holding the default OpsGenie API key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub opsgenie_api_key_file: String,
    /// WeChat API URL.
    #[serde(
        default = "default_wechat_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub wechat_api_url: Option<HttpUrl>,
    /// Default WeChat API secret.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub wechat_api_secret: Secret,
    /// File holding the default WeChat API secret.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub wechat_api_secret_file: String,
    /// Default WeChat corp id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub wechat_api_corp_id: String,
    /// VictorOps API URL.
    #[serde(
        default = "default_victorops_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub victorops_api_url: Option<HttpUrl>,
    /// Default VictorOps API key.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub victorops_api_key: Secret,
    /// File holding the default VictorOps API key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub victorops_api_key_file: String,
    /// Telegram Bot API URL.
    #[serde(
        default = "default_telegram_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub telegram_api_url: Option<HttpUrl>,
    /// Default Telegram bot token.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub telegram_bot_token: Secret,
    /// File holding the default Telegram bot token.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub telegram_bot_token_file: String,
    /// Webex messages API URL.
    #[serde(default = "default_webex_url", skip_serializing_if = "Option::is_none")]
    pub webex_api_url: Option<HttpUrl>,
    /// Rocket.Chat API URL.
    #[serde(
        default = "default_rocketchat_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub rocketchat_api_url: Option<HttpUrl>,
    /// Default Rocket.Chat token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rocketchat_token: Option<Secret>,
    /// File holding the default Rocket.Chat token.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rocketchat_token_file: String,
    /// Default Rocket.Chat token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rocketchat_token_id: Option<Secret>,
    /// File holding the default Rocket.Chat token id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub rocketchat_token_id_file: String,
    /// Default Mattermost webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mattermost_webhook_url: Option<SecretUrl>,
    /// File holding the default Mattermost webhook URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub mattermost_webhook_url_file: String,
}

impl Default for GlobalConfig {
    fn default() -> Self {
        Self {
            resolve_timeout: default_resolve_timeout(),
            http_config: default_http_config(),
            jira_api_url: None,
            smtp_from: String::new(),
            smtp_hello: default_smtp_hello(),
            smtp_smarthost: HostPort::default(),
            smtp_auth_username: String::new(),
            smtp_auth_password: Secret::default(),
            smtp_auth_password_file: String::new(),
            smtp_auth_secret: Secret::default(),
            smtp_auth_secret_file: String::new(),
            smtp_auth_identity: String::new(),
            smtp_require_tls: true,
            smtp_tls_config: default_smtp_tls(),
            slack_api_url: None,
            slack_api_url_file: String::new(),
            slack_app_token: Secret::default(),
            slack_app_token_file: String::new(),
            slack_app_url: default_slack_app_url(),
            pagerduty_url: default_pagerduty_url(),
            opsgenie_api_url: default_opsgenie_url(),
            opsgenie_api_key: Secret::default(),
            opsgenie_api_key_file: String::new(),
            wechat_api_url: default_wechat_url(),
            wechat_api_secret: Secret::default(),
            wechat_api_secret_file: String::new(),
            wechat_api_corp_id: String::new(),
            victorops_api_url: default_victorops_url(),
            victorops_api_key: Secret::default(),
            victorops_api_key_file: String::new(),
            telegram_api_url: default_telegram_url(),
            telegram_bot_token: Secret::default(),
            telegram_bot_token_file: String::new(),
            webex_api_url: default_webex_url(),
            rocketchat_api_url: default_rocketchat_url(),
            rocketchat_token: None,
            rocketchat_token_file: String::new(),
            rocketchat_token_id: None,
            rocketchat_token_id_file: String::new(),
            mattermost_webhook_url: None,
            mattermost_webhook_url_file: String::new(),
        }
    }
}

fn at_most(a: bool, b: bool, msg: &str) -> Result<(), Invalid> {
    if a && b {
        Err(Invalid::new(msg))
    } else {
        Ok(())
    }
}

impl GlobalConfig {
    /// Alertmanager's checks of the global section (in `Config.UnmarshalYAML`), with its
    /// texts; also validates `http_config` as Prometheus's common config does.
    ///
    /// # Errors
    /// The first failing check.
    pub fn validate(&mut self) -> Result<(), Invalid> {
        use config::yaml::At;
        if let Some(h) = &mut self.http_config {
            h.validate().key("http_config")?;
        }
        at_most(
            self.slack_api_url.is_some(),
            !self.slack_api_url_file.is_empty(),
            "at most one of slack_api_url & slack_api_url_file must be configured",
        )?;
        at_most(
            !self.slack_app_token.is_empty(),
            !self.slack_app_token_file.is_empty(),
            "at most one of slack_app_token & slack_app_token_file must be configured",
        )?;
        let has_token = !self.slack_app_token.is_empty() || !self.slack_app_token_file.is_empty();
        let has_url = self.slack_api_url.is_some() || !self.slack_api_url_file.is_empty();
        let url_is_api = self
            .slack_api_url
            .as_ref()
            .is_some_and(|u| u.expose() == SLACK_POST_MESSAGE);
        at_most(
            has_token,
            has_url && !url_is_api,
            "at most one of slack_app_token/slack_app_token_file & slack_api_url/slack_api_url_file must be configured",
        )?;
        at_most(
            !self.opsgenie_api_key.is_empty(),
            !self.opsgenie_api_key_file.is_empty(),
            "at most one of opsgenie_api_key & opsgenie_api_key_file must be configured",
        )?;
        at_most(
            !self.victorops_api_key.is_empty(),
            !self.victorops_api_key_file.is_empty(),
            "at most one of victorops_api_key & victorops_api_key_file must be configured",
        )?;
        at_most(
            !self.smtp_auth_password.is_empty(),
            !self.smtp_auth_password_file.is_empty(),
            "at most one of smtp_auth_password & smtp_auth_password_file must be configured",
        )?;
        at_most(
            self.rocketchat_token.is_some(),
            !self.rocketchat_token_file.is_empty(),
            "at most one of rocketchat_token & rocketchat_token_file must be configured",
        )?;
        at_most(
            self.rocketchat_token_id.is_some(),
            !self.rocketchat_token_id_file.is_empty(),
            "at most one of rocketchat_token_id & rocketchat_token_id_file must be configured",
        )?;
        at_most(
            !self.smtp_auth_secret.is_empty(),
            !self.smtp_auth_secret_file.is_empty(),
            "at most one of smtp_auth_secret & smtp_auth_secret_file must be configured",
        )?;
        at_most(
            !self.wechat_api_secret.is_empty(),
            !self.wechat_api_secret_file.is_empty(),
            "at most one of wechat_api_secret & wechat_api_secret_file must be configured",
        )?;
        at_most(
            !self.telegram_bot_token.is_empty(),
            !self.telegram_bot_token_file.is_empty(),
            "at most one of telegram_bot_token & telegram_bot_token_file must be configured",
        )?;
        at_most(
            self.mattermost_webhook_url.is_some(),
            !self.mattermost_webhook_url_file.is_empty(),
            "at most one of mattermost_webhook_url & mattermost_webhook_url_file must be configured",
        )?;
        Ok(())
    }

    /// The HTTP client settings receivers inherit (Prometheus's defaults when unset).
    #[must_use]
    pub fn http_client(&self) -> HttpClientConfig {
        self.http_config.clone().unwrap_or_default()
    }
}
