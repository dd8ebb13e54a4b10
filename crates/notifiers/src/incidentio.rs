//! The incident.io integration (Alertmanager's `notify/incidentio/incidentio.go`, since
//! 0.28): POSTs the group as the webhook's JSON with version "1" to an alert source URL,
//! authenticated by the alert source token as a bearer token; at most `max_alerts` alerts,
//! and only the first one when the body would exceed incident.io's 512 KiB limit.

use serde::Deserialize;

use crate::alert::Data;
use crate::config::IncidentioConfig;
use crate::error::NotifyError;
use crate::notify::{Notifier, NotifyContext, NotifyFuture, redacted_post_error};

/// The largest body incident.io accepts.
pub const MAX_PAYLOAD_SIZE: usize = 512 * 1024;

/// Sends to one `incidentio_configs` entry.
pub struct Incidentio {
    cfg: IncidentioConfig,
    http: http_client::HttpClient,
}

impl Incidentio {
    /// A notifier for `cfg` (its receiver validated and with `apply_global` applied). The
    /// token (inline or read from its file now) replaces any authorization of `http_config`.
    ///
    /// # Errors
    /// An unreadable token file, an HTTP client that cannot be built.
    pub fn new(
        cfg: &IncidentioConfig,
        _tmpl: &std::sync::Arc<crate::template::Template>,
        http: &http_client::ClientOptions,
    ) -> Result<Self, NotifyError> {
        let mut token = cfg.alert_source_token.expose().to_owned();
        if !cfg.alert_source_token_file.is_empty() {
            let t = std::fs::read_to_string(&cfg.alert_source_token_file).map_err(|e| {
                NotifyError::permanent(format!("failed to read alert_source_token_file: {e}"))
            })?;
            token = t.trim().to_owned();
        }
        let mut hc = cfg.http_config.clone().unwrap_or_default();
        if !token.is_empty() {
            hc.authorization = Some(config::Authorization {
                kind: "Bearer".to_owned(),
                credentials: config::Secret::new(token),
                ..config::Authorization::default()
            });
        }
        Ok(Self {
            http: crate::notify::client(Some(&hc), http)?,
            cfg: cfg.clone(),
        })
    }

    fn url(&self) -> Result<String, NotifyError> {
        if let Some(u) = &self.cfg.url {
            return Ok(u.as_str().to_owned());
        }
        let s = std::fs::read_to_string(&self.cfg.url_file)
            .map_err(|e| NotifyError::permanent(format!("read url_file: {e}")))?;
        Ok(s.trim().to_owned())
    }
}

/// The body for `data`: the webhook's message with version "1", at most `max_alerts`
/// alerts; over [`MAX_PAYLOAD_SIZE`] only the first alert is kept (and sent even if still
/// too large, as Alertmanager does).
///
/// # Errors
/// The message cannot be encoded.
pub fn body(data: &Data, group_key: &str, max_alerts: u64) -> Result<Vec<u8>, NotifyError> {
    let mut msg = crate::webhook::message(data, group_key, max_alerts);
    msg.version = "1";
    let encode = |m: &crate::webhook::Message<'_>| {
        serde_json::to_vec(m)
            .map(|mut b| {
                b.push(b'\n');
                b
            })
            .map_err(|e| {
                NotifyError::permanent(format!("failed to encode incident.io message: {e}"))
            })
    };
    let buf = encode(&msg)?;
    if buf.len() <= MAX_PAYLOAD_SIZE || msg.data.alerts.len() <= 1 {
        return Ok(buf);
    }
    let original = buf.len();
    msg.data.to_mut().alerts.truncate(1);
    let buf = encode(&msg)?;
    if buf.len() <= MAX_PAYLOAD_SIZE {
        tracing::warn!(
            original_size = original,
            final_size = buf.len(),
            max_size = MAX_PAYLOAD_SIZE,
            "Truncated alert content due to incident.io payload size limit"
        );
    } else {
        tracing::error!(
            original_size = original,
            final_size = buf.len(),
            max_size = MAX_PAYLOAD_SIZE,
            "Truncated alert content due to incident.io payload size limit, but still exceeds limit"
        );
    }
    Ok(buf)
}

/// What incident.io says in an error answer: `message`, `error` and the `errors` joined.
fn details(body: &str) -> String {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        message: String,
        #[serde(default)]
        errors: Vec<String>,
        #[serde(default)]
        error: String,
    }
    let Ok(a) = serde_json::from_str::<Answer>(body) else {
        return String::new();
    };
    let mut parts = Vec::new();
    if !a.message.is_empty() {
        parts.push(a.message);
    }
    if !a.error.is_empty() {
        parts.push(a.error);
    }
    if !a.errors.is_empty() {
        parts.push(a.errors.join(", "));
    }
    parts.join(": ")
}

impl Notifier for Incidentio {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let bytes = body(data, &ctx.group_key, self.cfg.max_alerts)?;
            let url = self.url()?;
            let mut req = self
                .http
                .request(reqwest::Method::POST, &url)
                .await
                .map_err(|e| NotifyError::retryable(e.to_string()))?
                .header("Content-Type", "application/json")
                .body(bytes);
            let timeout = self.cfg.timeout.0;
            if !timeout.is_zero() {
                req = req.timeout(timeout);
            }
            let resp = req.send().await.map_err(|e| {
                let mut m = redacted_post_error(&e);
                if e.is_timeout() && !timeout.is_zero() {
                    m = format!(
                        "{m}: configured incident.io timeout reached ({})",
                        self.cfg.timeout
                    );
                }
                NotifyError::retryable(m)
            })?;
            let status = resp.status().as_u16();
            if (200..300).contains(&status) {
                return Ok(());
            }
            let text = resp.text().await.unwrap_or_default();
            let mut msg = format!("unexpected status code {status}");
            let d = details(&text);
            if !d.is_empty() {
                msg = format!("{msg}: {d}");
            }
            if status >= 500 || status == 429 {
                Err(NotifyError::retryable(msg))
            } else {
                Err(NotifyError::permanent(msg))
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_details_as_alertmanager() {
        for (body, want) in [
            (
                r#"{"message":"bad","error":"x","errors":["a","b"]}"#,
                "bad: x: a, b",
            ),
            (r#"{"message":"invalid token"}"#, "invalid token"),
            ("not json", ""),
            ("{}", ""),
        ] {
            assert_eq!(details(body), want, "{body}");
        }
    }
}
