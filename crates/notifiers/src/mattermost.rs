//! The Mattermost integration (Alertmanager's `notify/mattermost/mattermost.go`, since 0.30):
//! an incoming-webhook post. Without `attachments`, the message's own fields (text, color,
//! title, fields...) form one attachment; with them, each configured attachment is expanded
//! and the text stays at the top. Text cut to 16383 characters; `priority` normalised as
//! Alertmanager does (standard unless urgent/important; acknowledgement only when not
//! standard; persistent notifications only when urgent).

use serde_json::{Map, Value, json};

use crate::alert::Data;
use crate::config::MattermostConfig;
use crate::error::NotifyError;
use crate::notify::{
    Expand, Notifier, NotifyContext, NotifyFuture, post_json, secret_or_file, truncate_runes,
};

notifier!(
    /// Sends to one `mattermost_configs` entry.
    Mattermost,
    MattermostConfig
);

/// The attachment keys in the order Alertmanager encodes them.
const ATTACHMENT_KEYS: [&str; 14] = [
    "fallback",
    "color",
    "pretext",
    "text",
    "author_name",
    "author_link",
    "author_icon",
    "title",
    "title_link",
    "fields",
    "thumb_url",
    "footer",
    "footer_icon",
    "image_url",
];

fn string<'v>(m: &'v Map<String, Value>, k: &str) -> &'v str {
    m.get(k).and_then(Value::as_str).unwrap_or_default()
}

fn put(m: &mut Map<String, Value>, k: &str, v: String) {
    if !v.is_empty() {
        m.insert(k.to_owned(), Value::String(v));
    }
}

/// One attachment from `src` (the configuration's own fields or one of its `attachments`);
/// `text` replaces `src`'s text when given.
fn attachment(x: &mut Expand<'_>, src: &Map<String, Value>, text: Option<&str>) -> Value {
    let mut att = Map::new();
    for k in ATTACHMENT_KEYS {
        if k == "fields" {
            let fields: Vec<Value> = src
                .get("fields")
                .and_then(Value::as_array)
                .map(|fs| {
                    fs.iter()
                        .filter_map(Value::as_object)
                        .map(|f| {
                            let mut o = Map::new();
                            put(&mut o, "title", x.text(string(f, "title")));
                            put(&mut o, "value", x.text(string(f, "value")));
                            if let Some(short) = f.get("short").and_then(Value::as_bool) {
                                o.insert("short".into(), json!(short));
                            }
                            Value::Object(o)
                        })
                        .collect()
                })
                .unwrap_or_default();
            if !fields.is_empty() {
                att.insert("fields".into(), Value::Array(fields));
            }
        } else if k == "text" {
            let t = text.map_or_else(|| x.text(string(src, "text")), str::to_owned);
            put(&mut att, k, t);
        } else {
            put(&mut att, k, x.text(string(src, k)));
        }
    }
    Value::Object(att)
}

impl Mattermost {
    /// The webhook body, as Alertmanager encodes it.
    ///
    /// # Errors
    /// The first template error.
    pub fn body(&self, data: &Data) -> Result<Value, NotifyError> {
        let c = &self.cfg;
        let mut x = Expand::new(&self.tmpl, data);
        let (text, _) = truncate_runes(&x.text(&c.text), 16383);
        // The configuration's own attachment fields (kept as written in `extra`).
        let mut own: Map<String, Value> = c
            .extra
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        own.remove("attachments");
        // Alertmanager's defaults for the attachment built from the configuration.
        for (k, name) in [
            ("color", "mattermost.default.color"),
            ("title", "mattermost.default.title"),
            ("title_link", "mattermost.default.titlelink"),
        ] {
            own.entry(k)
                .or_insert_with(|| Value::String(format!("{{{{ template \"{name}\" . }}}}")));
        }
        let configured: Vec<Map<String, Value>> = c
            .extra
            .get("attachments")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_object).cloned().collect())
            .unwrap_or_default();
        let mut body = Map::new();
        let attachments: Vec<Value> = if configured.is_empty() {
            vec![attachment(&mut x, &own, Some(&text))]
        } else {
            put(&mut body, "text", text);
            configured
                .iter()
                .map(|a| attachment(&mut x, a, None))
                .collect()
        };
        put(&mut body, "channel", x.text(&c.channel));
        let username = if c.username.is_empty() {
            x.text(r#"{{ template "mattermost.default.username" . }}"#)
        } else {
            x.text(&c.username)
        };
        put(&mut body, "username", username);
        put(&mut body, "icon_url", x.text(&c.icon_url));
        put(&mut body, "icon_emoji", x.text(&c.icon_emoji));
        body.insert("attachments".into(), Value::Array(attachments));
        put(&mut body, "type", x.text(string(&own, "type")));
        if let Some(card) = own
            .get("props")
            .and_then(Value::as_object)
            .map(|p| string(p, "card"))
            .filter(|c| !c.is_empty())
        {
            body.insert("props".into(), json!({"card": x.text(card)}));
        }
        if let Some(p) = own.get("priority").and_then(Value::as_object) {
            let level = x.text(string(p, "priority")).to_lowercase();
            if !string(p, "priority").is_empty() {
                let level = match level.as_str() {
                    "urgent" | "important" => level,
                    _ => "standard".to_owned(),
                };
                let flag = |k: &str| p.get(k).and_then(Value::as_bool).unwrap_or(false);
                let mut o = Map::new();
                o.insert("priority".into(), json!(level));
                if flag("requested_ack") && level != "standard" {
                    o.insert("requested_ack".into(), json!(true));
                }
                if flag("persistent_notifications") && level == "urgent" {
                    o.insert("persistent_notifications".into(), json!(true));
                }
                body.insert("priority".into(), Value::Object(o));
            }
        }
        x.finish()?;
        Ok(Value::Object(body))
    }
}

impl Notifier for Mattermost {
    fn notify<'a>(&'a self, _ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let url = match &self.cfg.webhook_url {
                Some(u) => u.expose().to_owned(),
                None => secret_or_file("", &self.cfg.webhook_url_file, "webhook_url_file")?,
            };
            if url.is_empty() {
                return Err(NotifyError::permanent("webhook url missing"));
            }
            let body = self.body(data)?;
            let channel = body["channel"].as_str().unwrap_or_default().to_owned();
            post_json(&self.http, &url, &body)
                .await
                .map(|_| ())
                .map_err(|e| NotifyError {
                    message: format!("channel {channel:?}: {}", e.message),
                    ..e
                })
        })
    }
}
