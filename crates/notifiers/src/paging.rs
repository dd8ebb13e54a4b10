//! VictorOps (`notify/victorops`), WeChat (`notify/wechat`) and Pushover (`notify/pushover`)
//! as Alertmanager sends to them.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::alert::{AlertStatus, Data};
use crate::config::{PushoverConfig, VictorOpsConfig, WechatConfig};
use crate::error::NotifyError;
use crate::notify::{
    Expand, Notifier, NotifyContext, NotifyFuture, group_key_hash, post_json, secret_or_file, send,
    truncate_runes,
};

notifier!(
    /// Sends to one `victorops_configs` entry.
    VictorOps,
    VictorOpsConfig
);

impl VictorOps {
    fn request(&self, ctx: &NotifyContext, data: &Data) -> Result<(String, Value), NotifyError> {
        let c = &self.cfg;
        let key = secret_or_file(c.api_key.expose(), &c.api_key_file, "api_key_file")?;
        let mut x = Expand::new(&self.tmpl, data);
        let base = c
            .api_url
            .as_ref()
            .map(|u| u.as_str().to_owned())
            .unwrap_or_default();
        let url = format!("{base}{key}/{}", x.text(&c.routing_key));
        let mut message_type = x.text(&c.message_type);
        if data.status == AlertStatus::Firing
            && !matches!(message_type.as_str(), "INFO" | "WARNING" | "CRITICAL")
        {
            message_type = "CRITICAL".into();
        }
        if data.status == AlertStatus::Resolved {
            message_type = "RECOVERY".into();
        }
        let (state_message, _) = truncate_runes(&x.text(&c.state_message), 20480);
        let mut msg = BTreeMap::from([
            ("message_type".to_owned(), message_type),
            ("entity_id".to_owned(), group_key_hash(&ctx.group_key)),
            (
                "entity_display_name".to_owned(),
                x.text(&c.entity_display_name),
            ),
            ("state_message".to_owned(), state_message),
            ("monitoring_tool".to_owned(), x.text(&c.monitoring_tool)),
        ]);
        for (k, v) in &c.custom_fields {
            msg.insert(k.clone(), x.text(v));
        }
        x.finish()?;
        Ok((url, json!(msg)))
    }
}

impl Notifier for VictorOps {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let (url, body) = self.request(ctx, data)?;
            post_json(&self.http, &url, &body).await.map(|_| ())
        })
    }
}

notifier!(
    /// Sends to one `wechat_configs` entry; the access token is fetched first and kept two hours.
    Wechat,
    WechatConfig, { token: Mutex<Option<(String, Instant)>> = Mutex::new(None) }
);

impl Wechat {
    fn base(&self) -> String {
        self.cfg
            .api_url
            .as_ref()
            .map(|u| u.as_str().to_owned())
            .unwrap_or_default()
    }

    async fn access_token(&self, x: &mut Expand<'_>) -> Result<String, NotifyError> {
        let mut cached = self.token.lock().await;
        if let Some((t, at)) = &*cached
            && at.elapsed() < Duration::from_secs(7200)
        {
            return Ok(t.clone());
        }
        let secret = secret_or_file(
            self.cfg.api_secret.expose(),
            &self.cfg.api_secret_file,
            "api_secret_file",
        )?;
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("corpid", &x.text(&self.cfg.corp_id))
            .append_pair("corpsecret", &x.text(&secret))
            .finish();
        let url = format!("{}gettoken?{query}", self.base());
        let req = self
            .http
            .get(&url)
            .await
            .map_err(|e| NotifyError::retryable(e.to_string()))?;
        let body = send(req).await?;
        let v: Value = serde_json::from_str(&body)
            .map_err(|e| NotifyError::retryable(format!("wechat token response: {e}")))?;
        let token = v["access_token"].as_str().unwrap_or_default().to_owned();
        if token.is_empty() {
            return Err(NotifyError::permanent(format!(
                "invalid APISecret for CorpID: {}",
                self.cfg.corp_id
            )));
        }
        *cached = Some((token.clone(), Instant::now()));
        Ok(token)
    }
}

impl Notifier for Wechat {
    fn notify<'a>(&'a self, _ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let c = &self.cfg;
            let mut x = Expand::new(&self.tmpl, data);
            let token = self.access_token(&mut x).await?;
            let content = json!({"content": x.text(&c.message)});
            let empty = json!({"content": ""});
            let markdown = c.message_type == "markdown";
            let mut msg = serde_json::Map::new();
            msg.insert(
                "text".into(),
                if markdown {
                    empty.clone()
                } else {
                    content.clone()
                },
            );
            for (k, v) in [
                ("touser", x.text(&c.to_user)),
                ("toparty", x.text(&c.to_party)),
                ("totag", x.text(&c.to_tag)),
                ("agentid", x.text(&c.agent_id)),
                ("safe", "0".to_owned()),
                ("msgtype", c.message_type.clone()),
            ] {
                if !v.is_empty() {
                    msg.insert(k.into(), json!(v));
                }
            }
            msg.insert("markdown".into(), if markdown { content } else { empty });
            x.finish()?;
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .append_pair("access_token", &token)
                .finish();
            let url = format!("{}message/send?{query}", self.base());
            let body = post_json(&self.http, &url, &Value::Object(msg)).await?;
            let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let code = v["errcode"]
                .as_i64()
                .or_else(|| v["code"].as_i64())
                .unwrap_or(0);
            if code != 0 {
                return Err(NotifyError::permanent(format!(
                    "wechat: {}",
                    v["errmsg"]
                        .as_str()
                        .or(v["error"].as_str())
                        .unwrap_or_default()
                )));
            }
            Ok(())
        })
    }
}

/// Pushover's message API (not configurable in Alertmanager).
pub const PUSHOVER_API: &str = "https://api.pushover.net/1/messages.json";

notifier!(
    /// Sends to one `pushover_configs` entry: the parameters go in the query of an empty POST.
    Pushover,
    PushoverConfig, { api: String = PUSHOVER_API.to_owned() }
);

impl Pushover {
    /// Sends to `url` instead of Pushover's API (tests).
    #[must_use]
    pub fn with_api(mut self, url: &str) -> Self {
        url.clone_into(&mut self.api);
        self
    }

    fn params(&self, data: &Data) -> Result<Vec<(&'static str, String)>, NotifyError> {
        let c = &self.cfg;
        let token = secret_or_file(c.token.expose(), &c.token_file, "token_file")?;
        let user = secret_or_file(c.user_key.expose(), &c.user_key_file, "user_key_file")?;
        let mut x = Expand::new(&self.tmpl, data);
        let mut p = vec![("token", x.text(&token)), ("user", x.text(&user))];
        let (title, _) = truncate_runes(&x.text(&c.title), 250);
        p.push(("title", title));
        let message = if c.html {
            p.push(("html", "1".into()));
            x.html(&c.message)
        } else {
            if c.monospace {
                p.push(("monospace", "1".into()));
            }
            x.text(&c.message)
        };
        let (message, _) = truncate_runes(&message, 1024);
        let mut message = message.trim().to_owned();
        if message.is_empty() {
            message = "(no details)".into();
        }
        p.push(("message", message));
        let (url, _) = truncate_runes(&x.text(&c.url), 512);
        p.push(("url", url));
        p.push(("url_title", x.text(&c.url_title)));
        p.push(("priority", x.text(&c.priority)));
        p.push(("retry", c.retry.0.as_secs().to_string()));
        p.push(("expire", c.expire.0.as_secs().to_string()));
        if !c.ttl.0.is_zero() {
            p.push(("ttl", c.ttl.0.as_secs().to_string()));
        }
        p.push(("device", x.text(&c.device)));
        p.push(("sound", x.text(&c.sound)));
        x.finish()?;
        Ok(p)
    }
}

impl Notifier for Pushover {
    fn notify<'a>(&'a self, _ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let mut params = self.params(data)?;
            // Go's url.Values.Encode sorts by key.
            params.sort_by(|a, b| a.0.cmp(b.0));
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params)
                .finish();
            let url = format!("{}?{query}", self.api);
            let req = self
                .http
                .post(&url)
                .await
                .map_err(|e| NotifyError::retryable(e.to_string()))?
                .header("Content-Type", "text/plain");
            send(req).await.map(|_| ())
        })
    }
}
