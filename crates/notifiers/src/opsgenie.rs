//! The OpsGenie integration (Alertmanager's `notify/opsgenie/opsgenie.go`): creates an alert
//! aliased by the group key's hash while the group fires, closes it when all resolve.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::alert::{AlertStatus, Data};
use crate::config::OpsGenieConfig;
use crate::error::NotifyError;
use crate::notify::{
    Expand, Notifier, NotifyContext, NotifyFuture, group_key_hash, json_request, secret_or_file,
    send, truncate_runes,
};

const MAX_MESSAGE_RUNES: usize = 130;

#[derive(Serialize)]
struct Create {
    alias: String,
    message: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    details: BTreeMap<String, String>,
    source: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    responders: Vec<Responder>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "String::is_empty")]
    note: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    priority: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    entity: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    actions: Vec<String>,
}

#[derive(Serialize, PartialEq, Default)]
struct Responder {
    #[serde(skip_serializing_if = "String::is_empty")]
    id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    name: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    username: String,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize)]
struct Close {
    source: String,
}

#[derive(Serialize)]
struct Update {
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
}

/// Alertmanager 0.25's `safeSplit`: trim the whole text, split on `sep`, drop empty parts
/// (the parts keep their spaces).
fn safe_split(s: &str, sep: char) -> Vec<String> {
    s.trim()
        .split(sep)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

notifier!(
    /// Sends to one `opsgenie_configs` entry.
    OpsGenie,
    OpsGenieConfig
);

/// One request of a notification: URL and JSON body.
type Req = (String, serde_json::Value);

impl OpsGenie {
    fn requests(&self, ctx: &NotifyContext, data: &Data) -> Result<Vec<Req>, NotifyError> {
        let c = &self.cfg;
        let base = c
            .api_url
            .as_ref()
            .map(|u| u.as_str().to_owned())
            .unwrap_or_default();
        let alias = group_key_hash(&ctx.group_key);
        let mut x = Expand::new(&self.tmpl, data);
        let mut details = data.common_labels.clone();
        for (k, v) in &c.details {
            details.insert(k.clone(), x.text(v));
        }
        let mut out = Vec::new();
        if data.status == AlertStatus::Resolved {
            let close = Close {
                source: x.text(&c.source),
            };
            out.push((
                format!("{base}v2/alerts/{alias}/close?identifierType=alias"),
                json(&close),
            ));
        } else {
            let (message, _) = truncate_runes(&x.text(&c.message), MAX_MESSAGE_RUNES);
            let mut responders = Vec::new();
            for r in &c.responders {
                let resp = Responder {
                    id: x.text(&r.id),
                    name: x.text(&r.name),
                    username: x.text(&r.username),
                    kind: x.text(&r.kind),
                };
                if resp == Responder::default() {
                    continue;
                }
                if resp.kind == "teams" {
                    for team in safe_split(&resp.name, ',') {
                        responders.push(Responder {
                            name: x.text(&team),
                            kind: "team".into(),
                            ..Responder::default()
                        });
                    }
                    continue;
                }
                responders.push(resp);
            }
            let description = x.text(&c.description);
            let create = Create {
                alias: alias.clone(),
                message: message.clone(),
                description: description.clone(),
                details: details.into(),
                source: x.text(&c.source),
                responders,
                tags: safe_split(&x.text(&c.tags), ','),
                note: x.text(&c.note),
                priority: x.text(&c.priority),
                entity: x.text(&c.entity),
                actions: safe_split(&x.text(&c.actions), ','),
            };
            out.push((format!("{base}v2/alerts"), json(&create)));
            if c.update_alerts {
                out.push((
                    format!("{base}v2/alerts/{alias}/message?identifierType=alias"),
                    json(&Update {
                        message: Some(message),
                        description: None,
                    }),
                ));
                out.push((
                    format!("{base}v2/alerts/{alias}/description?identifierType=alias"),
                    json(&Update {
                        message: None,
                        description: Some(description),
                    }),
                ));
            }
        }
        x.finish()?;
        Ok(out)
    }
}

fn json(v: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(v).unwrap_or_default()
}

impl Notifier for OpsGenie {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let key = secret_or_file(
                self.cfg.api_key.expose(),
                &self.cfg.api_key_file,
                "api_key_file",
            )?;
            for (i, (url, body)) in self.requests(ctx, data)?.into_iter().enumerate() {
                let method = if i > 0 {
                    reqwest::Method::PUT
                } else {
                    reqwest::Method::POST
                };
                let req = json_request(&self.http, method, &url, &body)
                    .await?
                    .header("Authorization", format!("GenieKey {key}"));
                send(req).await?;
            }
            Ok(())
        })
    }
}
