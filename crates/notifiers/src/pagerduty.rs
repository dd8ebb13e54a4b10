//! The PagerDuty integration (Alertmanager's `notify/pagerduty/pagerduty.go`): Events API v2
//! with a `routing_key`, the v1 generic API with a `service_key`; the dedup / incident key
//! is the SHA-256 of the group key.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::alert::{AlertStatus, Data};
use crate::config::PagerdutyConfig;
use crate::error::NotifyError;
use crate::notify::{
    Expand, Notifier, NotifyContext, NotifyFuture, group_key_hash, post_json, secret_or_file,
    truncate_runes,
};

/// The Events API v1 endpoint (not configurable in Alertmanager).
pub const API_V1: &str = "https://events.pagerduty.com/generic/2010-04-15/create_event.json";

const MAX_V1_DESCRIPTION_RUNES: usize = 1024;
const MAX_V2_SUMMARY_RUNES: usize = 1024;

#[derive(Serialize, Default)]
struct Message {
    #[serde(skip_serializing_if = "String::is_empty")]
    routing_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    service_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    dedup_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    incident_key: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    event_type: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    description: String,
    event_action: String,
    payload: Option<Payload>,
    #[serde(skip_serializing_if = "String::is_empty")]
    client: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    client_url: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    details: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    images: Vec<Image>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    links: Vec<Link>,
}

#[derive(Serialize)]
struct Payload {
    summary: String,
    source: String,
    severity: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    timestamp: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    class: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    component: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    group: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    custom_details: BTreeMap<String, String>,
}

#[derive(Serialize)]
struct Image {
    src: String,
    alt: String,
    href: String,
}

#[derive(Serialize)]
struct Link {
    href: String,
    text: String,
}

notifier!(
    /// Sends to one `pagerduty_configs` entry.
    PagerDuty,
    PagerdutyConfig, { api_v1: String = API_V1.to_owned() }
);

impl PagerDuty {
    /// Sends v1 events to `url` instead of PagerDuty's (tests).
    #[must_use]
    pub fn with_api_v1(mut self, url: &str) -> Self {
        url.clone_into(&mut self.api_v1);
        self
    }

    fn is_v1(&self) -> bool {
        !self.cfg.service_key.is_empty() || !self.cfg.service_key_file.is_empty()
    }

    fn message(&self, ctx: &NotifyContext, data: &Data) -> Result<Message, NotifyError> {
        let c = &self.cfg;
        let resolved = data.status == AlertStatus::Resolved;
        let key = group_key_hash(&ctx.group_key);
        let mut x = Expand::new(&self.tmpl, data);
        let details: BTreeMap<String, String> = c
            .details
            .iter()
            .map(|(k, v)| (k.clone(), x.text(v)))
            .collect();
        let msg = if self.is_v1() {
            let service_key = secret_or_file(
                c.service_key.expose(),
                &c.service_key_file,
                "service_key_file",
            )?;
            let (description, _) =
                truncate_runes(&x.text(&c.description), MAX_V1_DESCRIPTION_RUNES);
            let mut m = Message {
                service_key: x.text(&service_key),
                event_type: if resolved { "resolve" } else { "trigger" }.into(),
                incident_key: key,
                description,
                details,
                ..Message::default()
            };
            if !resolved {
                m.client = x.text(&c.client);
                m.client_url = x.text(&c.client_url);
            }
            m
        } else {
            let routing_key = secret_or_file(
                c.routing_key.expose(),
                &c.routing_key_file,
                "routing_key_file",
            )?;
            let severity = if c.severity.is_empty() {
                "error"
            } else {
                &c.severity
            };
            let (summary, _) = truncate_runes(&x.text(&c.description), MAX_V2_SUMMARY_RUNES);
            let images = c
                .images
                .iter()
                .map(|i| Image {
                    src: x.text(&i.src),
                    alt: x.text(&i.alt),
                    href: x.text(&i.href),
                })
                .filter(|i| !i.src.is_empty())
                .collect();
            let links = c
                .links
                .iter()
                .map(|l| Link {
                    href: x.text(&l.href),
                    text: x.text(&l.text),
                })
                .filter(|l| !l.href.is_empty())
                .collect();
            Message {
                client: x.text(&c.client),
                client_url: x.text(&c.client_url),
                routing_key: x.text(&routing_key),
                event_action: if resolved { "resolve" } else { "trigger" }.into(),
                dedup_key: key,
                images,
                links,
                payload: Some(Payload {
                    summary,
                    source: x.text(&c.source),
                    severity: x.text(severity),
                    timestamp: String::new(),
                    class: x.text(&c.class),
                    component: x.text(&c.component),
                    group: x.text(&c.group),
                    custom_details: details,
                }),
                ..Message::default()
            }
        };
        x.finish()?;
        Ok(msg)
    }
}

impl Notifier for PagerDuty {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let msg = self.message(ctx, data)?;
            let url = if self.is_v1() {
                self.api_v1.clone()
            } else {
                self.cfg
                    .url
                    .as_ref()
                    .map(|u| u.as_str().to_owned())
                    .unwrap_or_default()
            };
            post_json(&self.http, &url, &msg).await.map(|_| ())
        })
    }
}
