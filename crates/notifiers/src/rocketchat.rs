//! The Rocket.Chat integration (Alertmanager's `notify/rocketchat/rocketchat.go`, since
//! 0.28): one `chat.postMessage` with a single attachment (title cut to 1024 characters,
//! fields, button actions), authenticated by the `X-Auth-Token` and `X-User-Id` headers; an
//! answer without `"success": true` is a failure.

use serde_json::{Map, Value, json};

use crate::alert::Data;
use crate::config::RocketchatConfig;
use crate::error::NotifyError;
use crate::notify::{
    Expand, Notifier, NotifyContext, NotifyFuture, json_request, secret_or_file, send,
    truncate_runes,
};

notifier!(
    /// Sends to one `rocketchat_configs` entry.
    Rocketchat,
    RocketchatConfig
);

/// Inserts `v` under `k` unless it is empty (Go's `omitempty` on strings).
fn put(m: &mut Map<String, Value>, k: &str, v: String) {
    if !v.is_empty() {
        m.insert(k.to_owned(), Value::String(v));
    }
}

/// Go's `url.URL.JoinPath(elem)`: the base's path and `elem` joined by one slash.
fn join_path(base: &str, elem: &str) -> String {
    format!("{}/{elem}", base.trim_end_matches('/'))
}

impl Rocketchat {
    /// The `chat.postMessage` body, as Alertmanager encodes it.
    ///
    /// # Errors
    /// The first template error.
    pub fn body(&self, data: &Data) -> Result<Value, NotifyError> {
        let c = &self.cfg;
        let mut x = Expand::new(&self.tmpl, data);
        let (title, _) = truncate_runes(&x.text(&c.title), 1024);
        let mut att = Map::new();
        put(&mut att, "title", title);
        put(&mut att, "title_link", x.text(&c.title_link));
        put(&mut att, "text", x.text(&c.text));
        put(&mut att, "image_url", x.text(&c.image_url));
        put(&mut att, "thumb_url", x.text(&c.thumb_url));
        put(&mut att, "color", x.text(&c.color));
        if !c.fields.is_empty() {
            let fields: Vec<Value> = c
                .fields
                .iter()
                .map(|f| {
                    let mut m = Map::new();
                    m.insert("short".into(), json!(f.short.unwrap_or(c.short_fields)));
                    put(&mut m, "title", x.text(&f.title));
                    put(&mut m, "value", x.text(&f.value));
                    Value::Object(m)
                })
                .collect();
            att.insert("fields".into(), Value::Array(fields));
        }
        if !c.actions.is_empty() {
            let actions: Vec<Value> = c
                .actions
                .iter()
                .map(|a| {
                    let mut m = Map::new();
                    // Only buttons are supported.
                    m.insert("type".into(), json!("button"));
                    put(&mut m, "text", x.text(&a.text));
                    put(&mut m, "url", x.text(&a.url));
                    m.insert("is_webview".into(), json!(false));
                    put(&mut m, "msg", x.text(&a.msg));
                    m.insert("msg_in_chat_window".into(), json!(false));
                    Value::Object(m)
                })
                .collect();
            att.insert("actions".into(), Value::Array(actions));
        }
        let mut body = Map::new();
        put(&mut body, "channel", x.text(&c.channel));
        put(&mut body, "emoji", x.text(&c.emoji));
        put(&mut body, "avatar", x.text(&c.icon_url));
        body.insert("attachments".into(), json!([Value::Object(att)]));
        x.finish()?;
        Ok(Value::Object(body))
    }

    fn credentials(&self) -> Result<(String, String), NotifyError> {
        let c = &self.cfg;
        let token = secret_or_file(
            c.token.as_ref().map_or("", |s| s.expose()),
            &c.token_file,
            "token_file",
        )?;
        let token_id = secret_or_file(
            c.token_id.as_ref().map_or("", |s| s.expose()),
            &c.token_id_file,
            "token_id_file",
        )?;
        Ok((token, token_id))
    }
}

impl Notifier for Rocketchat {
    fn notify<'a>(&'a self, _ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let body = self.body(data)?;
            let (token, token_id) = self.credentials()?;
            let base = self
                .cfg
                .api_url
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default();
            let url = join_path(&base, "api/v1/chat.postMessage");
            let channel = body["channel"].as_str().unwrap_or_default().to_owned();
            let req = json_request(&self.http, reqwest::Method::POST, &url, &body)
                .await?
                .header("X-Auth-Token", token)
                .header("X-User-Id", token_id);
            let answer = send(req).await.map_err(|e| NotifyError {
                message: format!("channel {channel:?}: {}", e.message),
                ..e
            })?;
            check_answer(&answer)
                .map_err(|e| NotifyError::permanent(format!("channel {channel:?}: {e}")))
        })
    }
}

/// Rocket.Chat answers 200 with `{"success": false, "error": "..."}` on failure.
fn check_answer(body: &str) -> Result<(), String> {
    let v: Value = serde_json::from_str(body)
        .map_err(|e| format!("could not unmarshal JSON response {body:?}: {e}"))?;
    if v["success"] == json!(true) {
        Ok(())
    } else {
        Err(format!(
            "error response from Rocketchat: {}",
            v["error"].as_str().unwrap_or_default()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_join_and_answers() {
        assert_eq!(
            join_path("http://rc:3000/", "api/v1/chat.postMessage"),
            "http://rc:3000/api/v1/chat.postMessage"
        );
        assert_eq!(
            join_path("http://rc/base", "api/v1/chat.postMessage"),
            "http://rc/base/api/v1/chat.postMessage"
        );
        assert!(check_answer(r#"{"success":true}"#).is_ok());
        assert_eq!(
            check_answer(r#"{"success":false,"error":"no channel"}"#).unwrap_err(),
            "error response from Rocketchat: no channel"
        );
        assert!(
            check_answer("<html>")
                .unwrap_err()
                .starts_with("could not unmarshal")
        );
    }
}
