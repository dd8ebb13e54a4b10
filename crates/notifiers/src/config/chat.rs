//! Configurations of the chat integrations (`config/notifiers.go`): Slack, Microsoft Teams
//! (v1 and v2), Discord, Telegram, Webex, Rocket.Chat and Mattermost, with Alertmanager's
//! defaults and checks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use config::yaml::Invalid;
use config::{HttpClientConfig, Secret};

use super::types::{HttpUrl, SecretUrl};
use super::{is_false, no, tmpl, yes};

/// A Slack message action (button).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackAction {
    /// Action type (`button`).
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Button text (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Link (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// `default`, `primary` or `danger`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub style: String,
    /// Name of a message action.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Value of a message action.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Confirmation dialog.
    #[serde(default, rename = "confirm", skip_serializing_if = "Option::is_none")]
    pub confirm: Option<SlackConfirmationField>,
}

/// A Slack confirmation dialog.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfirmationField {
    /// Text (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Title (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// OK button text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ok_text: String,
    /// Dismiss button text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub dismiss_text: String,
}

/// A Slack attachment field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackField {
    /// Title (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Value (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
    /// Shown side by side (defaults to the config's `short_fields`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub short: Option<bool>,
}

/// `slack_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// Notify about resolved alerts (false).
    #[serde(default = "no")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Incoming webhook URL (or `chat.postMessage` with a bot token).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<SecretUrl>,
    /// File holding `api_url`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_url_file: String,
    /// Bot token (sent as `Authorization: Bearer`).
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub app_token: Secret,
    /// File holding `app_token`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub app_token_file: String,
    /// Web API URL used with `app_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_url: Option<HttpUrl>,
    /// Channel or user to post to.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// Bot user name (template).
    #[serde(default = "slack_username", skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Attachment colour (template).
    #[serde(default = "slack_color", skip_serializing_if = "String::is_empty")]
    pub color: String,
    /// Attachment title (template).
    #[serde(default = "slack_title", skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Attachment title link (template).
    #[serde(default = "slack_titlelink", skip_serializing_if = "String::is_empty")]
    pub title_link: String,
    /// Attachment pretext (template).
    #[serde(default = "slack_pretext", skip_serializing_if = "String::is_empty")]
    pub pretext: String,
    /// Attachment text (template).
    #[serde(default = "slack_text", skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Attachment fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<SlackField>,
    /// Default `short` of fields.
    #[serde(default)]
    pub short_fields: bool,
    /// Attachment footer (template).
    #[serde(default = "slack_footer", skip_serializing_if = "String::is_empty")]
    pub footer: String,
    /// Attachment fallback text (template).
    #[serde(default = "slack_fallback", skip_serializing_if = "String::is_empty")]
    pub fallback: String,
    /// Attachment callback id (template).
    #[serde(default = "slack_callbackid", skip_serializing_if = "String::is_empty")]
    pub callback_id: String,
    /// Icon emoji (template).
    #[serde(default = "slack_iconemoji", skip_serializing_if = "String::is_empty")]
    pub icon_emoji: String,
    /// Icon URL (template).
    #[serde(default = "slack_iconurl", skip_serializing_if = "String::is_empty")]
    pub icon_url: String,
    /// Attachment image URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_url: String,
    /// Attachment thumbnail URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thumb_url: String,
    /// Link channel names and user names.
    #[serde(default)]
    pub link_names: bool,
    /// Attachment fields with Markdown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mrkdwn_in: Vec<String>,
    /// Buttons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<SlackAction>,
    /// Update the message of the group instead of posting a new one (bot tokens only).
    #[serde(default, skip_serializing_if = "is_false")]
    pub update_message: bool,
}

fn slack_username() -> String {
    tmpl("slack.default.username")
}
fn slack_color() -> String {
    r#"{{ if eq .Status "firing" }}danger{{ else }}good{{ end }}"#.into()
}
fn slack_title() -> String {
    tmpl("slack.default.title")
}
fn slack_titlelink() -> String {
    tmpl("slack.default.titlelink")
}
fn slack_pretext() -> String {
    tmpl("slack.default.pretext")
}
fn slack_text() -> String {
    tmpl("slack.default.text")
}
fn slack_footer() -> String {
    tmpl("slack.default.footer")
}
fn slack_fallback() -> String {
    tmpl("slack.default.fallback")
}
fn slack_callbackid() -> String {
    tmpl("slack.default.callbackid")
}
fn slack_iconemoji() -> String {
    tmpl("slack.default.iconemoji")
}
fn slack_iconurl() -> String {
    tmpl("slack.default.iconurl")
}

impl SlackConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        use config::yaml::At;
        for (i, a) in self.actions.iter_mut().enumerate() {
            let r: Result<(), Invalid> = (|| {
                if a.kind.is_empty() {
                    return Err(Invalid::new("missing type in Slack action configuration"));
                }
                if a.text.is_empty() {
                    return Err(Invalid::new("missing text in Slack action configuration"));
                }
                if !a.url.is_empty() {
                    a.name.clear();
                    a.value.clear();
                    a.confirm = None;
                } else if a.name.is_empty() {
                    return Err(Invalid::new(
                        "missing name or url in Slack action configuration",
                    ));
                }
                if let Some(c) = &a.confirm
                    && c.text.is_empty()
                {
                    return Err(Invalid::new(
                        "missing text in Slack confirmation configuration",
                    ))
                    .key("confirm");
                }
                Ok(())
            })();
            r.index(i).key("actions")?;
        }
        for (i, f) in self.fields.iter().enumerate() {
            if f.title.is_empty() {
                return Err(Invalid::new("missing title in Slack field configuration"))
                    .index(i)
                    .key("fields");
            }
            if f.value.is_empty() {
                return Err(Invalid::new("missing value in Slack field configuration"))
                    .index(i)
                    .key("fields");
            }
        }
        if self.api_url.is_some() && !self.api_url_file.is_empty() {
            return Err(Invalid::new(
                "at most one of api_url & api_url_file must be configured",
            ));
        }
        if !self.app_token.is_empty() && !self.app_token_file.is_empty() {
            return Err(Invalid::new(
                "at most one of app_token & app_token_file must be configured",
            ));
        }
        if let Some(h) = &mut self.http_config {
            h.validate().key("http_config")?;
        }
        Ok(())
    }
}

/// `msteams_configs` entry (Office 365 connector cards).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsTeamsConfig {
    /// Notify about resolved alerts (true).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Incoming webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<SecretUrl>,
    /// File holding `webhook_url`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub webhook_url_file: String,
    /// Card title (template).
    #[serde(default = "msteams_title", skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Card summary (template).
    #[serde(default = "msteams_summary", skip_serializing_if = "String::is_empty")]
    pub summary: String,
    /// Card text (template).
    #[serde(default = "msteams_text", skip_serializing_if = "String::is_empty")]
    pub text: String,
}

fn msteams_title() -> String {
    tmpl("msteams.default.title")
}
fn msteams_summary() -> String {
    tmpl("msteams.default.summary")
}
fn msteams_text() -> String {
    tmpl("msteams.default.text")
}

/// `msteamsv2_configs` entry (Power Automate workflows, adaptive cards).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsTeamsV2Config {
    /// Notify about resolved alerts (true).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Workflow webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<SecretUrl>,
    /// File holding `webhook_url`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub webhook_url_file: String,
    /// Card title (template).
    #[serde(default = "msteamsv2_title", skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Card text (template).
    #[serde(default = "msteamsv2_text", skip_serializing_if = "String::is_empty")]
    pub text: String,
}

fn msteamsv2_title() -> String {
    tmpl("msteamsv2.default.title")
}
fn msteamsv2_text() -> String {
    tmpl("msteamsv2.default.text")
}

fn webhook_url_checks(url: bool, file: bool) -> Result<(), Invalid> {
    if !url && !file {
        return Err(Invalid::new(
            "one of webhook_url or webhook_url_file must be configured",
        ));
    }
    if url && file {
        return Err(Invalid::new(
            "at most one of webhook_url & webhook_url_file must be configured",
        ));
    }
    Ok(())
}

impl MsTeamsConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        webhook_url_checks(
            self.webhook_url.is_some(),
            !self.webhook_url_file.is_empty(),
        )
    }
}

impl MsTeamsV2Config {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        webhook_url_checks(
            self.webhook_url.is_some(),
            !self.webhook_url_file.is_empty(),
        )
    }
}

/// `discord_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordConfig {
    /// Notify about resolved alerts (true).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<SecretUrl>,
    /// File holding `webhook_url`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub webhook_url_file: String,
    /// Message content outside the embed (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub content: String,
    /// Embed title (template).
    #[serde(default = "discord_title", skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Embed description (template).
    #[serde(default = "discord_message", skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Bot user name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Bot avatar URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub avatar_url: String,
}

fn discord_title() -> String {
    tmpl("discord.default.title")
}
fn discord_message() -> String {
    tmpl("discord.default.message")
}

impl DiscordConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        webhook_url_checks(
            self.webhook_url.is_some(),
            !self.webhook_url_file.is_empty(),
        )
    }
}

/// `telegram_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramConfig {
    /// Notify about resolved alerts (true).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Bot API URL (global `telegram_api_url`).
    #[serde(default)]
    pub api_url: Option<HttpUrl>,
    /// Bot token.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub bot_token: Secret,
    /// File holding the bot token.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub bot_token_file: String,
    /// Chat id.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub chat_id: i64,
    /// Topic (thread) id.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub message_thread_id: i64,
    /// Message (template).
    #[serde(default = "telegram_message", skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Send silently.
    #[serde(default, skip_serializing_if = "is_false")]
    pub disable_notifications: bool,
    /// `Markdown`, `MarkdownV2`, `HTML` (default) or empty.
    #[serde(
        default = "telegram_parse_mode",
        skip_serializing_if = "String::is_empty"
    )]
    pub parse_mode: String,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(v: &i64) -> bool {
    *v == 0
}
fn telegram_message() -> String {
    tmpl("telegram.default.message")
}
fn telegram_parse_mode() -> String {
    "HTML".into()
}

impl TelegramConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        if !self.bot_token.is_empty() && !self.bot_token_file.is_empty() {
            return Err(Invalid::new(
                "at most one of bot_token & bot_token_file must be configured",
            ));
        }
        if self.chat_id == 0 {
            return Err(Invalid::new("missing chat_id on telegram_config"));
        }
        if !matches!(
            self.parse_mode.as_str(),
            "" | "Markdown" | "MarkdownV2" | "HTML"
        ) {
            return Err(Invalid::new(
                "unknown parse_mode on telegram_config, must be Markdown, MarkdownV2, HTML or empty string",
            ));
        }
        Ok(())
    }
}

/// `webex_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebexConfig {
    /// Notify about resolved alerts (true).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// HTTP client settings (must carry `authorization`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Messages API URL (global `webex_api_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<HttpUrl>,
    /// Message (template).
    #[serde(default = "webex_message", skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Room id.
    #[serde(default)]
    pub room_id: String,
}

fn webex_message() -> String {
    tmpl("webex.default.message")
}

impl WebexConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        if self.room_id.is_empty() {
            return Err(Invalid::new("missing room_id on webex_config"));
        }
        let has_auth = self.http_config.as_ref().is_some_and(|h| {
            h.authorization.is_some()
                || !h.bearer_token.is_empty()
                || !h.bearer_token_file.is_empty()
        });
        if !has_auth {
            return Err(Invalid::new(
                "missing webex_configs.http_config.authorization",
            ));
        }
        Ok(())
    }
}

/// A Rocket.Chat attachment field.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RocketchatAttachmentField {
    /// Shown side by side.
    #[serde(default)]
    pub short: Option<bool>,
    /// Title (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Value (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub value: String,
}

/// A Rocket.Chat attachment button.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RocketchatAttachmentAction {
    /// Button type.
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Button text (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Link (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Image URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_url: String,
    /// Open in a web view.
    #[serde(default)]
    pub is_webview: bool,
    /// Web view height.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub webview_height_ratio: String,
    /// Message sent on click (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub msg: String,
    /// Show the message in the chat window.
    #[serde(default)]
    pub msg_in_chat_window: bool,
    /// `sendMessage` or `respondWithMessage`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub msg_processing_type: String,
}

/// `rocketchat_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RocketchatConfig {
    /// Notify about resolved alerts (false).
    #[serde(default = "no")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// API URL (global `rocketchat_api_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<HttpUrl>,
    /// Token id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<Secret>,
    /// File holding the token id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_id_file: String,
    /// Token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// File holding the token.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_file: String,
    /// Channel.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// Colour (template).
    #[serde(default = "rocketchat_color", skip_serializing_if = "String::is_empty")]
    pub color: String,
    /// Title (template).
    #[serde(default = "rocketchat_title", skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Title link (template).
    #[serde(
        default = "rocketchat_titlelink",
        skip_serializing_if = "String::is_empty"
    )]
    pub title_link: String,
    /// Text (template).
    #[serde(default = "rocketchat_text", skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Fields.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<RocketchatAttachmentField>,
    /// Default `short` of fields.
    #[serde(default)]
    pub short_fields: bool,
    /// Emoji (template).
    #[serde(default = "rocketchat_emoji", skip_serializing_if = "String::is_empty")]
    pub emoji: String,
    /// Icon URL (template).
    #[serde(
        default = "rocketchat_iconurl",
        skip_serializing_if = "String::is_empty"
    )]
    pub icon_url: String,
    /// Image URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub image_url: String,
    /// Thumbnail URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub thumb_url: String,
    /// Link names.
    #[serde(default)]
    pub link_names: bool,
    /// Buttons.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<RocketchatAttachmentAction>,
}

fn rocketchat_color() -> String {
    r#"{{ if eq .Status "firing" }}red{{ else }}green{{ end }}"#.into()
}
fn rocketchat_title() -> String {
    tmpl("rocketchat.default.title")
}
fn rocketchat_titlelink() -> String {
    tmpl("rocketchat.default.titlelink")
}
fn rocketchat_text() -> String {
    tmpl("rocketchat.default.text")
}
fn rocketchat_emoji() -> String {
    tmpl("rocketchat.default.emoji")
}
fn rocketchat_iconurl() -> String {
    tmpl("rocketchat.default.iconurl")
}

impl RocketchatConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        if self.token.is_some() && !self.token_file.is_empty() {
            return Err(Invalid::new(
                "at most one of token & token_file must be configured",
            ));
        }
        if self.token_id.is_some() && !self.token_id_file.is_empty() {
            return Err(Invalid::new(
                "at most one of token_id & token_id_file must be configured",
            ));
        }
        Ok(())
    }
}

/// `mattermost_configs` entry (incoming webhook). Fields beyond these are kept as written.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MattermostConfig {
    /// Notify about resolved alerts (true).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Webhook URL (global `mattermost_webhook_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<SecretUrl>,
    /// File holding `webhook_url`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub webhook_url_file: String,
    /// Channel.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub channel: String,
    /// User name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// Text (template).
    #[serde(default = "mattermost_text", skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Icon URL.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub icon_url: String,
    /// Icon emoji.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub icon_emoji: String,
    /// Other settings (attachments, props, priority), passed through.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

fn mattermost_text() -> String {
    tmpl("mattermost.default.text")
}

impl MattermostConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        if self.webhook_url.is_some() && !self.webhook_url_file.is_empty() {
            return Err(Invalid::new(
                "at most one of webhook_url & webhook_url_file must be configured",
            ));
        }
        Ok(())
    }
}
