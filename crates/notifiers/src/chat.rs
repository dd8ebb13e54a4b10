//! The chat integrations with small JSON bodies: Discord (`notify/discord`), Microsoft Teams
//! (`notify/msteams`, `notify/msteamsv2`), Webex (`notify/webex`) and Telegram
//! (`notify/telegram`), each as Alertmanager builds them.

use serde_json::{Value, json};

use crate::alert::{AlertStatus, Data};
use crate::config::{DiscordConfig, MsTeamsConfig, MsTeamsV2Config, TelegramConfig, WebexConfig};
use crate::error::NotifyError;
use crate::notify::{
    Expand, Notifier, NotifyContext, NotifyFuture, post_json, secret_or_file, truncate_bytes,
    truncate_runes,
};

/// The URL of a webhook given inline or in a file.
fn webhook_url(url: Option<&crate::config::SecretUrl>, file: &str) -> Result<String, NotifyError> {
    match url {
        Some(u) => Ok(u.expose().to_owned()),
        None => secret_or_file("", file, "webhook_url_file"),
    }
}

notifier!(
    /// Sends to one `discord_configs` entry.
    Discord,
    DiscordConfig
);
notifier!(
    /// Sends to one `msteams_configs` entry (connector card).
    MsTeams,
    MsTeamsConfig
);
notifier!(
    /// Sends to one `msteamsv2_configs` entry (adaptive card through a workflow).
    MsTeamsV2,
    MsTeamsV2Config
);
notifier!(
    /// Sends to one `webex_configs` entry.
    Webex,
    WebexConfig
);
notifier!(
    /// Sends to one `telegram_configs` entry.
    Telegram,
    TelegramConfig
);

impl Discord {
    fn body(&self, data: &Data) -> Result<Value, NotifyError> {
        let mut x = Expand::new(&self.tmpl, data);
        let (title, _) = truncate_runes(&x.text(&self.cfg.title), 256);
        let (description, _) = truncate_runes(&x.text(&self.cfg.message), 4096);
        let (content, _) = truncate_runes(&x.text(&self.cfg.content), 2000);
        let color = match data.status {
            AlertStatus::Firing => 0x0099_2D22,
            AlertStatus::Resolved => 0x002E_CC71,
        };
        let mut body = json!({
            "content": content,
            "embeds": [{"title": title, "description": description, "color": color}],
        });
        if !self.cfg.username.is_empty() {
            body["username"] = json!(self.cfg.username);
        }
        if !self.cfg.avatar_url.is_empty() {
            body["avatar_url"] = json!(self.cfg.avatar_url);
        }
        x.finish()?;
        Ok(body)
    }
}

impl Notifier for Discord {
    fn notify<'a>(&'a self, _ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let body = self.body(data)?;
            let url = webhook_url(self.cfg.webhook_url.as_ref(), &self.cfg.webhook_url_file)?;
            post_json(&self.http, &url, &body).await.map(|_| ())
        })
    }
}

impl MsTeams {
    fn body(&self, data: &Data) -> Result<Value, NotifyError> {
        let mut x = Expand::new(&self.tmpl, data);
        let color = match data.status {
            AlertStatus::Firing => "8C1A1A",
            AlertStatus::Resolved => "2DC72D",
        };
        let body = json!({
            "@context": "http://schema.org/extensions",
            "type": "MessageCard",
            "title": x.text(&self.cfg.title),
            "summary": x.text(&self.cfg.summary),
            "text": x.text(&self.cfg.text),
            "themeColor": color,
        });
        x.finish()?;
        Ok(body)
    }
}

impl Notifier for MsTeams {
    fn notify<'a>(&'a self, _ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let body = self.body(data)?;
            let url = webhook_url(self.cfg.webhook_url.as_ref(), &self.cfg.webhook_url_file)?;
            post_json(&self.http, &url, &body).await.map(|_| ())
        })
    }
}

impl MsTeamsV2 {
    fn body(&self, data: &Data) -> Result<Value, NotifyError> {
        let mut x = Expand::new(&self.tmpl, data);
        let color = match data.status {
            AlertStatus::Firing => "Attention",
            AlertStatus::Resolved => "Good",
        };
        let body = json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.2",
                    "body": [
                        {"type": "TextBlock", "text": x.text(&self.cfg.title), "weight": "Bolder",
                         "size": "Medium", "wrap": true, "style": "heading", "color": color},
                        {"type": "TextBlock", "text": x.text(&self.cfg.text), "wrap": true},
                    ],
                    "msteams": {"width": "full"},
                },
            }],
        });
        x.finish()?;
        Ok(body)
    }
}

impl Notifier for MsTeamsV2 {
    fn notify<'a>(&'a self, _ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let body = self.body(data)?;
            let url = webhook_url(self.cfg.webhook_url.as_ref(), &self.cfg.webhook_url_file)?;
            post_json(&self.http, &url, &body).await.map(|_| ())
        })
    }
}

/// Webex's limit on a message, in bytes.
const WEBEX_MAX_MESSAGE_BYTES: usize = 7439;

impl Webex {
    fn body(&self, data: &Data) -> Result<Value, NotifyError> {
        let mut x = Expand::new(&self.tmpl, data);
        let (message, _) = truncate_bytes(&x.text(&self.cfg.message), WEBEX_MAX_MESSAGE_BYTES);
        let mut body = json!({ "markdown": message });
        let room = x.text(&self.cfg.room_id);
        if !room.is_empty() {
            body["roomId"] = json!(room);
        }
        x.finish()?;
        Ok(body)
    }
}

impl Notifier for Webex {
    fn notify<'a>(&'a self, _ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let body = self.body(data)?;
            let url = self
                .cfg
                .api_url
                .as_ref()
                .map(|u| u.as_str().to_owned())
                .unwrap_or_default();
            post_json(&self.http, &url, &body).await.map(|_| ())
        })
    }
}

impl Telegram {
    fn body(&self, data: &Data) -> Result<Value, NotifyError> {
        let c = &self.cfg;
        let mut x = Expand::new(&self.tmpl, data);
        let text = if c.parse_mode == "HTML" {
            x.html(&c.message)
        } else {
            x.text(&c.message)
        };
        let (text, _) = truncate_runes(&text, 4096);
        let mut body = json!({
            "chat_id": c.chat_id.to_string(),
            "text": text,
            "disable_web_page_preview": "true",
        });
        if c.message_thread_id != 0 {
            body["message_thread_id"] = json!(c.message_thread_id.to_string());
        }
        if !c.parse_mode.is_empty() {
            body["parse_mode"] = json!(c.parse_mode);
        }
        if c.disable_notifications {
            body["disable_notification"] = json!("true");
        }
        x.finish()?;
        Ok(body)
    }
}

impl Notifier for Telegram {
    fn notify<'a>(&'a self, _ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let body = self.body(data)?;
            let token = secret_or_file(
                self.cfg.bot_token.expose(),
                &self.cfg.bot_token_file,
                "bot_token_file",
            )?;
            let base = self
                .cfg
                .api_url
                .as_ref()
                .map(|u| u.as_str().trim_end_matches('/').to_owned())
                .unwrap_or_default();
            let url = format!("{base}/bot{token}/sendMessage");
            let resp = post_json(&self.http, &url, &body).await?;
            let v: Value = serde_json::from_str(&resp).unwrap_or(Value::Null);
            if v["ok"] == Value::Bool(false) {
                return Err(NotifyError::permanent(format!(
                    "telegram: {}",
                    v["description"].as_str().unwrap_or_default()
                )));
            }
            Ok(())
        })
    }
}
