//! The Slack integration (Alertmanager's `notify/slack/slack.go`): one attachment with
//! title, text, fields and actions, to an incoming webhook (`api_url`) or, with a bot
//! token (`app_token`), to `chat.postMessage`.

use serde::Serialize;

use crate::alert::Data;
use crate::config::SlackConfig;
use crate::error::NotifyError;
use crate::notify::{
    Expand, Notifier, NotifyContext, NotifyFuture, json_request, secret_or_file, truncate_runes,
};

/// Slack's limit on attachment titles, in characters.
const MAX_TITLE_RUNES: usize = 1024;

#[derive(Serialize)]
struct Request {
    #[serde(skip_serializing_if = "String::is_empty")]
    channel: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_emoji: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    icon_url: String,
    #[serde(skip_serializing_if = "crate::config::is_false")]
    link_names: bool,
    attachments: Vec<Attachment>,
}

#[derive(Serialize)]
struct Attachment {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title_link: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pretext: String,
    text: String,
    fallback: String,
    callback_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<Field>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<Action>,
    #[serde(skip_serializing_if = "String::is_empty")]
    image_url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    thumb_url: String,
    footer: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    color: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    mrkdwn_in: Vec<String>,
}

#[derive(Serialize)]
struct Field {
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
    short: bool,
}

#[derive(Serialize)]
struct Action {
    #[serde(rename = "type", skip_serializing_if = "String::is_empty")]
    kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    url: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    style: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    confirm: Option<Confirm>,
}

#[derive(Serialize)]
struct Confirm {
    #[serde(skip_serializing_if = "String::is_empty")]
    text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    title: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    ok_text: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    dismiss_text: String,
}

notifier!(
    /// Sends to one `slack_configs` entry.
    Slack,
    SlackConfig
);

impl Slack {
    fn request(&self, data: &Data) -> Result<Request, NotifyError> {
        let c = &self.cfg;
        let mut x = Expand::new(&self.tmpl, data);
        let (title, _) = truncate_runes(&x.text(&c.title), MAX_TITLE_RUNES);
        let mrkdwn_in = if c.mrkdwn_in.is_empty() {
            vec!["fallback".into(), "pretext".into(), "text".into()]
        } else {
            c.mrkdwn_in.clone()
        };
        let fields = c
            .fields
            .iter()
            .map(|f| Field {
                title: x.text(&f.title),
                value: x.text(&f.value),
                short: f.short.unwrap_or(c.short_fields),
            })
            .collect();
        let actions = c
            .actions
            .iter()
            .map(|a| Action {
                kind: x.text(&a.kind),
                text: x.text(&a.text),
                url: x.text(&a.url),
                style: x.text(&a.style),
                name: x.text(&a.name),
                value: x.text(&a.value),
                confirm: a.confirm.as_ref().map(|f| Confirm {
                    title: x.text(&f.title),
                    text: x.text(&f.text),
                    ok_text: x.text(&f.ok_text),
                    dismiss_text: x.text(&f.dismiss_text),
                }),
            })
            .collect();
        let att = Attachment {
            title,
            title_link: x.text(&c.title_link),
            pretext: x.text(&c.pretext),
            text: x.text(&c.text),
            fallback: x.text(&c.fallback),
            callback_id: x.text(&c.callback_id),
            fields,
            actions,
            image_url: x.text(&c.image_url),
            thumb_url: x.text(&c.thumb_url),
            footer: x.text(&c.footer),
            color: x.text(&c.color),
            mrkdwn_in,
        };
        let req = Request {
            channel: x.text(&c.channel),
            username: x.text(&c.username),
            icon_emoji: x.text(&c.icon_emoji),
            icon_url: x.text(&c.icon_url),
            link_names: c.link_names,
            attachments: vec![att],
        };
        x.finish()?;
        Ok(req)
    }
}

/// Slack answers errors with 200: `ok` (webhooks) or `{"ok":true}` (Web API) mean success.
fn check_body(content_type: &str, body: &str) -> Result<(), NotifyError> {
    if content_type.starts_with("application/json") {
        let v: serde_json::Value = serde_json::from_str(body).map_err(|e| {
            NotifyError::retryable(format!("could not unmarshal JSON response {body:?}: {e}"))
        })?;
        if v["ok"] != serde_json::Value::Bool(true) {
            return Err(NotifyError::permanent(format!(
                "error response from Slack: {}",
                v["error"].as_str().unwrap_or_default()
            )));
        }
        return Ok(());
    }
    if body != "ok" {
        return Err(NotifyError::permanent(format!(
            "received an error response from Slack: {body}"
        )));
    }
    Ok(())
}

impl Notifier for Slack {
    fn notify<'a>(&'a self, _ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let req = self.request(data)?;
            let c = &self.cfg;
            let token = secret_or_file(c.app_token.expose(), &c.app_token_file, "app_token_file")?;
            let url = if token.is_empty() {
                match &c.api_url {
                    Some(u) => u.expose().to_owned(),
                    None => secret_or_file("", &c.api_url_file, "api_url_file")?,
                }
            } else {
                c.app_url
                    .as_ref()
                    .map_or(crate::config::SLACK_POST_MESSAGE, |u| u.as_str())
                    .to_owned()
            };
            let mut r = json_request(&self.http, reqwest::Method::POST, &url, &req).await?;
            if !token.is_empty() {
                r = r.header("Authorization", format!("Bearer {token}"));
            }
            let resp = r
                .send()
                .await
                .map_err(|e| NotifyError::retryable(crate::notify::redacted_post_error(&e)))?;
            let status = resp.status().as_u16();
            let ct = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let text = resp.text().await.unwrap_or_default();
            let channel = &req.channel;
            crate::notify::check_status(status, &text)
                .and_then(|()| check_body(&ct, &text))
                .map_err(|e| NotifyError {
                    retry: e.retry,
                    message: format!("channel {channel:?}: {}", e.message),
                })
        })
    }
}
