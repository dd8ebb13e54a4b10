//! Receivers and the `global:` section of `alertmanager.yml` (Alertmanager's
//! `config/config.go` and `config/notifiers.go`): every integration's configuration with
//! Alertmanager's defaults, checks and error texts, and [`Receiver::apply_global`], which
//! fills unset fields from `global:` as Alertmanager's `Load` does.
//!
//! Order of checks, as in Alertmanager: each receiver's [`Receiver::validate`] (the checks
//! Go runs while decoding), then [`GlobalConfig::validate`], then for each receiver in order
//! the uniqueness of its name and [`Receiver::apply_global`].

mod chat;
mod global;
mod incidentio;
mod jira;
mod paging;
pub mod types;

use serde::{Deserialize, Serialize};

use config::yaml::{At, Invalid};

pub use chat::{
    DiscordConfig, MattermostConfig, MsTeamsConfig, MsTeamsV2Config, RocketchatAttachmentAction,
    RocketchatAttachmentField, RocketchatConfig, SlackAction, SlackConfig, SlackConfirmationField,
    SlackField, TelegramConfig, WebexConfig,
};
pub use global::{GlobalConfig, SLACK_POST_MESSAGE};
pub use incidentio::IncidentioConfig;
pub use jira::{JiraConfig, JiraField};
#[allow(unused_imports)]
pub(crate) use paging::canonical_mime_header;
pub use paging::{
    DEFAULT_EMAIL_SUBJECT, DEFAULT_PAGERDUTY_DETAILS, EmailConfig, OpsGenieConfig,
    OpsGenieConfigResponder, PagerdutyConfig, PagerdutyImage, PagerdutyLink, PushoverConfig,
    SigV4Config, SnsConfig, VictorOpsConfig, WebhookConfig, WechatConfig,
};
pub use types::{GoDuration, HostPort, HttpUrl, SecretUrl};

pub(crate) fn yes() -> bool {
    true
}
pub(crate) fn no() -> bool {
    false
}
#[allow(clippy::trivially_copy_pass_by_ref)]
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}
/// `{{ template "NAME" . }}`, the form of Alertmanager's default field values.
pub(crate) fn tmpl(name: &str) -> String {
    format!("{{{{ template \"{name}\" . }}}}")
}

/// A named receiver and its integrations.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Receiver {
    /// Unique name, referenced by routes.
    #[serde(default)]
    pub name: String,
    /// E-mail.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email_configs: Vec<EmailConfig>,
    /// PagerDuty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pagerduty_configs: Vec<PagerdutyConfig>,
    /// Slack.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slack_configs: Vec<SlackConfig>,
    /// Generic webhooks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webhook_configs: Vec<WebhookConfig>,
    /// OpsGenie.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opsgenie_configs: Vec<OpsGenieConfig>,
    /// WeChat.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wechat_configs: Vec<WechatConfig>,
    /// Pushover.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pushover_configs: Vec<PushoverConfig>,
    /// VictorOps (Splunk On-Call).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub victorops_configs: Vec<VictorOpsConfig>,
    /// Amazon SNS.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sns_configs: Vec<SnsConfig>,
    /// Telegram.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub telegram_configs: Vec<TelegramConfig>,
    /// Webex.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub webex_configs: Vec<WebexConfig>,
    /// Discord.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub discord_configs: Vec<DiscordConfig>,
    /// Microsoft Teams (connector cards).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub msteams_configs: Vec<MsTeamsConfig>,
    /// Microsoft Teams (workflows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub msteamsv2_configs: Vec<MsTeamsV2Config>,
    /// Rocket.Chat.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rocketchat_configs: Vec<RocketchatConfig>,
    /// Mattermost.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mattermost_configs: Vec<MattermostConfig>,
    /// Jira.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub jira_configs: Vec<JiraConfig>,
    /// incident.io.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidentio_configs: Vec<IncidentioConfig>,
}

fn each<T>(
    list: &mut [T],
    key: &str,
    mut f: impl FnMut(&mut T) -> Result<(), Invalid>,
) -> Result<(), Invalid> {
    for (i, c) in list.iter_mut().enumerate() {
        f(c).index(i).key(key)?;
    }
    Ok(())
}

fn inherit_http(h: &mut Option<config::HttpClientConfig>, g: &GlobalConfig) {
    if h.is_none() {
        h.clone_from(&g.http_config);
    }
}

fn err<T>(msg: &str) -> Result<T, Invalid> {
    Err(Invalid::new(msg))
}

impl Receiver {
    /// The checks Alertmanager runs while decoding a receiver and its integrations
    /// (`UnmarshalYAML` of each config), normalising as it does (canonical e-mail header
    /// names, lower-case OpsGenie responder types, PagerDuty's default details, WeChat's
    /// `text` message type). Errors carry the path below the receiver
    /// (`slack_configs[0].actions[1]`).
    ///
    /// # Errors
    /// The first failing check, with Alertmanager's text.
    pub fn validate(&mut self) -> Result<(), Invalid> {
        if self.name.is_empty() {
            return err("missing name in receiver");
        }
        each(
            &mut self.email_configs,
            "email_configs",
            EmailConfig::validate,
        )?;
        each(
            &mut self.pagerduty_configs,
            "pagerduty_configs",
            PagerdutyConfig::validate,
        )?;
        each(
            &mut self.slack_configs,
            "slack_configs",
            SlackConfig::validate,
        )?;
        each(
            &mut self.webhook_configs,
            "webhook_configs",
            WebhookConfig::validate,
        )?;
        each(
            &mut self.opsgenie_configs,
            "opsgenie_configs",
            OpsGenieConfig::validate,
        )?;
        each(
            &mut self.wechat_configs,
            "wechat_configs",
            WechatConfig::validate,
        )?;
        each(
            &mut self.pushover_configs,
            "pushover_configs",
            PushoverConfig::validate,
        )?;
        each(
            &mut self.victorops_configs,
            "victorops_configs",
            VictorOpsConfig::validate,
        )?;
        each(&mut self.sns_configs, "sns_configs", SnsConfig::validate)?;
        each(
            &mut self.telegram_configs,
            "telegram_configs",
            TelegramConfig::validate,
        )?;
        each(
            &mut self.webex_configs,
            "webex_configs",
            WebexConfig::validate,
        )?;
        each(
            &mut self.discord_configs,
            "discord_configs",
            DiscordConfig::validate,
        )?;
        each(
            &mut self.msteams_configs,
            "msteams_configs",
            MsTeamsConfig::validate,
        )?;
        each(
            &mut self.msteamsv2_configs,
            "msteamsv2_configs",
            MsTeamsV2Config::validate,
        )?;
        each(
            &mut self.rocketchat_configs,
            "rocketchat_configs",
            RocketchatConfig::validate,
        )?;
        each(&mut self.jira_configs, "jira_configs", JiraConfig::validate)?;
        each(
            &mut self.incidentio_configs,
            "incidentio_configs",
            IncidentioConfig::validate,
        )?;
        each(
            &mut self.mattermost_configs,
            "mattermost_configs",
            MattermostConfig::validate,
        )?;
        Ok(())
    }

    /// Fills unset fields from `global:` and checks what must then be set, as Alertmanager's
    /// `Config.UnmarshalYAML` does for each receiver (its texts: `no global SMTP smarthost
    /// set`, `no global OpsGenie API Key set either inline or in a file`...). URL paths of
    /// OpsGenie, WeChat and VictorOps get a trailing `/`.
    ///
    /// # Errors
    /// The first missing setting, with the path of the integration below the receiver.
    #[allow(clippy::too_many_lines)]
    pub fn apply_global(&mut self, g: &GlobalConfig) -> Result<(), Invalid> {
        each(&mut self.webhook_configs, "webhook_configs", |c| {
            inherit_http(&mut c.http_config, g);
            Ok(())
        })?;
        each(&mut self.incidentio_configs, "incidentio_configs", |c| {
            inherit_http(&mut c.http_config, g);
            Ok(())
        })?;
        each(&mut self.email_configs, "email_configs", |c| {
            if c.tls_config.is_none() {
                c.tls_config.clone_from(&g.smtp_tls_config);
            }
            if c.smarthost.is_empty() {
                if g.smtp_smarthost.is_empty() {
                    return err("no global SMTP smarthost set");
                }
                c.smarthost = g.smtp_smarthost.clone();
            }
            if c.from.is_empty() {
                if g.smtp_from.is_empty() {
                    return err("no global SMTP from set");
                }
                c.from.clone_from(&g.smtp_from);
            }
            if c.hello.is_empty() {
                c.hello.clone_from(&g.smtp_hello);
            }
            if c.auth_username.is_empty() {
                c.auth_username.clone_from(&g.smtp_auth_username);
            }
            if c.auth_password.is_empty() && c.auth_password_file.is_empty() {
                c.auth_password = g.smtp_auth_password.clone();
                c.auth_password_file.clone_from(&g.smtp_auth_password_file);
            }
            if c.auth_secret.is_empty() && c.auth_secret_file.is_empty() {
                c.auth_secret = g.smtp_auth_secret.clone();
                c.auth_secret_file.clone_from(&g.smtp_auth_secret_file);
            }
            if c.auth_identity.is_empty() {
                c.auth_identity.clone_from(&g.smtp_auth_identity);
            }
            if c.require_tls.is_none() {
                c.require_tls = Some(g.smtp_require_tls);
            }
            Ok(())
        })?;
        each(&mut self.slack_configs, "slack_configs", |c| {
            inherit_http(&mut c.http_config, g);
            let has_url = c.api_url.is_some() || !c.api_url_file.is_empty();
            let has_token = !c.app_token.is_empty() || !c.app_token_file.is_empty();
            if has_url && has_token {
                return err(
                    "at most one of app_token/app_token_file & api_url/api_url_file must be configured",
                );
            }
            if !has_url && !has_token {
                let g_token = !g.slack_app_token.is_empty() || !g.slack_app_token_file.is_empty();
                let g_url = g.slack_api_url.is_some() || !g.slack_api_url_file.is_empty();
                if g_token {
                    c.app_token = g.slack_app_token.clone();
                    c.app_token_file.clone_from(&g.slack_app_token_file);
                } else if g_url {
                    c.api_url.clone_from(&g.slack_api_url);
                    c.api_url_file.clone_from(&g.slack_api_url_file);
                } else {
                    return err("no Slack API URL nor App token set either inline or in a file");
                }
            }
            let uses_token = !c.app_token.is_empty() || !c.app_token_file.is_empty();
            if uses_token && c.app_url.is_none() {
                c.app_url.clone_from(&g.slack_app_url);
            }
            let url_is_api = c
                .api_url
                .as_ref()
                .is_some_and(|u| u.expose() == SLACK_POST_MESSAGE || u.expose().is_empty());
            let bot = uses_token || url_is_api || !c.api_url_file.is_empty();
            if c.update_message && !bot {
                return err(
                    "update_message can only be used with bot tokens. api_url must be set to https://slack.com/api/chat.postMessage",
                );
            }
            Ok(())
        })?;
        each(&mut self.pushover_configs, "pushover_configs", |c| {
            inherit_http(&mut c.http_config, g);
            Ok(())
        })?;
        each(&mut self.pagerduty_configs, "pagerduty_configs", |c| {
            inherit_http(&mut c.http_config, g);
            if c.url.is_none() {
                if g.pagerduty_url.is_none() {
                    return err("no global PagerDuty URL set");
                }
                c.url.clone_from(&g.pagerduty_url);
            }
            Ok(())
        })?;
        each(&mut self.opsgenie_configs, "opsgenie_configs", |c| {
            inherit_http(&mut c.http_config, g);
            let Some(u) = c.api_url.as_ref().or(g.opsgenie_api_url.as_ref()) else {
                return err("no global OpsGenie URL set");
            };
            c.api_url = Some(u.with_trailing_slash());
            if c.api_key.is_empty() && c.api_key_file.is_empty() {
                if g.opsgenie_api_key.is_empty() && g.opsgenie_api_key_file.is_empty() {
                    return err("no global OpsGenie API Key set either inline or in a file");
                }
                c.api_key = g.opsgenie_api_key.clone();
                c.api_key_file.clone_from(&g.opsgenie_api_key_file);
            }
            Ok(())
        })?;
        each(&mut self.wechat_configs, "wechat_configs", |c| {
            inherit_http(&mut c.http_config, g);
            let Some(u) = c.api_url.as_ref().or(g.wechat_api_url.as_ref()) else {
                return err("no global Wechat URL set");
            };
            c.api_url = Some(u.with_trailing_slash());
            if c.api_secret.is_empty() && c.api_secret_file.is_empty() {
                if g.wechat_api_secret.is_empty() && g.wechat_api_secret_file.is_empty() {
                    return err("no global Wechat Api Secret set either inline or in a file");
                }
                c.api_secret = g.wechat_api_secret.clone();
                c.api_secret_file.clone_from(&g.wechat_api_secret_file);
            }
            if c.corp_id.is_empty() {
                if g.wechat_api_corp_id.is_empty() {
                    return err("no global Wechat CorpID set");
                }
                c.corp_id.clone_from(&g.wechat_api_corp_id);
            }
            Ok(())
        })?;
        each(&mut self.victorops_configs, "victorops_configs", |c| {
            inherit_http(&mut c.http_config, g);
            let Some(u) = c.api_url.as_ref().or(g.victorops_api_url.as_ref()) else {
                return err("no global VictorOps URL set");
            };
            c.api_url = Some(u.with_trailing_slash());
            if c.api_key.is_empty() && c.api_key_file.is_empty() {
                if g.victorops_api_key.is_empty() && g.victorops_api_key_file.is_empty() {
                    return err("no global VictorOps API Key set");
                }
                c.api_key = g.victorops_api_key.clone();
                c.api_key_file.clone_from(&g.victorops_api_key_file);
            }
            Ok(())
        })?;
        each(&mut self.sns_configs, "sns_configs", |c| {
            inherit_http(&mut c.http_config, g);
            Ok(())
        })?;
        each(&mut self.telegram_configs, "telegram_configs", |c| {
            inherit_http(&mut c.http_config, g);
            if c.api_url.is_none() {
                c.api_url.clone_from(&g.telegram_api_url);
            }
            if c.bot_token.is_empty() && c.bot_token_file.is_empty() {
                if g.telegram_bot_token.is_empty() && g.telegram_bot_token_file.is_empty() {
                    return err("missing bot_token or bot_token_file on telegram_config");
                }
                c.bot_token = g.telegram_bot_token.clone();
                c.bot_token_file.clone_from(&g.telegram_bot_token_file);
            }
            Ok(())
        })?;
        each(&mut self.discord_configs, "discord_configs", |c| {
            inherit_http(&mut c.http_config, g);
            if c.webhook_url.is_none() && c.webhook_url_file.is_empty() {
                return err("no discord webhook URL or URLFile provided");
            }
            Ok(())
        })?;
        each(&mut self.webex_configs, "webex_configs", |c| {
            inherit_http(&mut c.http_config, g);
            if c.api_url.is_none() {
                if g.webex_api_url.is_none() {
                    return err("no global Webex URL set");
                }
                c.api_url.clone_from(&g.webex_api_url);
            }
            Ok(())
        })?;
        each(&mut self.msteams_configs, "msteams_configs", |c| {
            inherit_http(&mut c.http_config, g);
            if c.webhook_url.is_none() && c.webhook_url_file.is_empty() {
                return err("no msteams webhook URL or URLFile provided");
            }
            Ok(())
        })?;
        each(&mut self.msteamsv2_configs, "msteamsv2_configs", |c| {
            inherit_http(&mut c.http_config, g);
            if c.webhook_url.is_none() && c.webhook_url_file.is_empty() {
                return err("no msteamsv2 webhook URL or URLFile provided");
            }
            Ok(())
        })?;
        each(&mut self.rocketchat_configs, "rocketchat_configs", |c| {
            inherit_http(&mut c.http_config, g);
            if c.api_url.is_none() {
                c.api_url.clone_from(&g.rocketchat_api_url);
            }
            if c.token_id.is_none() && c.token_id_file.is_empty() {
                if g.rocketchat_token_id.is_none() && g.rocketchat_token_id_file.is_empty() {
                    return err("no global Rocketchat TokenID set either inline or in a file");
                }
                c.token_id.clone_from(&g.rocketchat_token_id);
                c.token_id_file.clone_from(&g.rocketchat_token_id_file);
            }
            if c.token.is_none() && c.token_file.is_empty() {
                if g.rocketchat_token.is_none() && g.rocketchat_token_file.is_empty() {
                    return err("no global Rocketchat Token set either inline or in a file");
                }
                c.token.clone_from(&g.rocketchat_token);
                c.token_file.clone_from(&g.rocketchat_token_file);
            }
            Ok(())
        })?;
        each(&mut self.jira_configs, "jira_configs", |c| {
            inherit_http(&mut c.http_config, g);
            if c.api_url.is_none() {
                if g.jira_api_url.is_none() {
                    return err("no global Jira Cloud URL set");
                }
                c.api_url.clone_from(&g.jira_api_url);
            }
            Ok(())
        })?;
        each(&mut self.mattermost_configs, "mattermost_configs", |c| {
            inherit_http(&mut c.http_config, g);
            if c.webhook_url.is_none() && c.webhook_url_file.is_empty() {
                if g.mattermost_webhook_url.is_none() && g.mattermost_webhook_url_file.is_empty() {
                    return err("missing webhook_url or webhook_url_file on mattermost_config");
                }
                c.webhook_url.clone_from(&g.mattermost_webhook_url);
                c.webhook_url_file
                    .clone_from(&g.mattermost_webhook_url_file);
            }
            Ok(())
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
