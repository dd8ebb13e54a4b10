//! The webhook integration (Alertmanager's `notify/webhook/webhook.go`): POSTs the group as
//! JSON, version "4", with `groupKey` and `truncatedAlerts`, at most `max_alerts` alerts.

use std::borrow::Cow;

use serde::Serialize;

use crate::alert::Data;
use crate::config::WebhookConfig;
use crate::error::NotifyError;
use crate::notify::{Notifier, NotifyContext, NotifyFuture, json_request, send};

/// The webhook's JSON body: the notification data (of the alerts kept), version "4", the
/// group key and how many alerts `max_alerts` left out.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Message<'a> {
    /// The notification data (flattened, as Go embeds it): the notification's own when all
    /// its alerts are sent (no copy), else a copy of the data of the alerts kept.
    #[serde(flatten)]
    pub data: Cow<'a, Data>,
    /// Payload version: "4".
    pub version: &'static str,
    /// The group key.
    pub group_key: &'a str,
    /// How many alerts were left out by `max_alerts`.
    pub truncated_alerts: u64,
}

/// Builds the body for `data` with at most `max_alerts` alerts (0: all). As in Alertmanager,
/// the data (status, common labels and annotations) is that of the alerts kept.
#[must_use]
pub fn message<'a>(data: &'a Data, group_key: &'a str, max_alerts: u64) -> Message<'a> {
    let n = data.alerts.len() as u64;
    if max_alerts == 0 || n <= max_alerts {
        return Message {
            data: Cow::Borrowed(data),
            version: "4",
            group_key,
            truncated_alerts: 0,
        };
    }
    let keep = usize::try_from(max_alerts).unwrap_or(usize::MAX);
    Message {
        data: Cow::Owned(Data::new(
            &data.receiver,
            data.group_labels.clone(),
            data.alerts[..keep].to_vec(),
            &data.external_url,
        )),
        version: "4",
        group_key,
        truncated_alerts: n - max_alerts,
    }
}

notifier!(
    /// Sends to one `webhook_configs` entry.
    Webhook,
    WebhookConfig
);

impl Webhook {
    fn url(&self) -> Result<String, NotifyError> {
        if let Some(u) = &self.cfg.url {
            return Ok(u.expose().to_owned());
        }
        let s = std::fs::read_to_string(&self.cfg.url_file)
            .map_err(|e| NotifyError::permanent(format!("read url_file: {e}")))?;
        Ok(s.trim().to_owned())
    }
}

impl Notifier for Webhook {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let body = message(data, &ctx.group_key, self.cfg.max_alerts);
            let url = self.url()?;
            let mut req = json_request(&self.http, reqwest::Method::POST, &url, &body).await?;
            if !self.cfg.timeout.0.is_zero() {
                req = req.timeout(self.cfg.timeout.0);
            }
            send(req).await.map(|_| ())
        })
    }
}
