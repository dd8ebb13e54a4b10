//! The notifier seam (Alertmanager's `notify.Notifier` and `notify.Integration` in
//! `notify/notify.go`, `notify.Retrier` in `notify/util.go`): an integration only sends one
//! notification and says whether a failure is worth retrying; the pipeline that calls it
//! (dedup, retry with backoff, `send_resolved` filtering) lives in the alertmanager crate.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::alert::Data;
use crate::config::Receiver;
use crate::error::NotifyError;
use crate::template::Template;

/// What a notification is about besides its data.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotifyContext {
    /// The aggregation group's key (`{}/{}:{alertname="x"}`), the webhook's `groupKey`,
    /// the base of PagerDuty's dedup key and OpsGenie's alias.
    pub group_key: String,
}

/// The future a notifier returns.
pub type NotifyFuture<'a> = Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>>;

/// Sends one notification for one group.
pub trait Notifier: Send + Sync {
    /// Sends `data` (the group's alerts, resolved ones already filtered out when the
    /// integration does not want them).
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a>;
}

/// One configured integration of a receiver.
#[derive(Clone)]
pub struct Integration {
    /// `webhook`, `email`, `slack`, `pagerduty`, ... (Alertmanager's integration names).
    pub name: &'static str,
    /// Position among the receiver's integrations of this name.
    pub index: usize,
    /// Whether resolved alerts are sent.
    pub send_resolved: bool,
    /// The sender.
    pub notifier: Arc<dyn Notifier>,
}

impl std::fmt::Debug for Integration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Integration")
            .field("name", &self.name)
            .field("index", &self.index)
            .field("send_resolved", &self.send_resolved)
            .finish_non_exhaustive()
    }
}

/// Alertmanager's `notify.Retrier`: a 2xx status is success; 5xx and 429 are worth
/// retrying, other statuses are not. The text is Alertmanager's
/// (`unexpected status code 400: <body>`).
///
/// # Errors
/// A non-2xx status.
pub fn check_status(status: u16, body: &str) -> Result<(), NotifyError> {
    if (200..300).contains(&status) {
        return Ok(());
    }
    let mut msg = format!("unexpected status code {status}");
    if !body.is_empty() {
        msg = format!("{msg}: {body}");
    }
    if status >= 500 || status == 429 {
        Err(NotifyError::retryable(msg))
    } else {
        Err(NotifyError::permanent(msg))
    }
}

/// Builds the integrations of `receiver` (its configuration validated and with
/// [`Receiver::apply_global`] applied), each with its own HTTP client from its
/// `http_config` and `http` options.
///
/// # Errors
/// An HTTP client that cannot be built (unreadable TLS files, bad proxy) or an integration
/// type Firewatch cannot send to, naming the integration.
pub fn build_integrations(
    receiver: &Receiver,
    tmpl: &Arc<Template>,
    http: &http_client::ClientOptions,
) -> Result<Vec<Integration>, NotifyError> {
    let mut out = Vec::new();
    let mut add = |name: &'static str, index: usize, send_resolved: bool, n: Arc<dyn Notifier>| {
        out.push(Integration {
            name,
            index,
            send_resolved,
            notifier: n,
        });
    };
    for (i, c) in receiver.webhook_configs.iter().enumerate() {
        add(
            "webhook",
            i,
            c.send_resolved,
            Arc::new(crate::webhook::Webhook::new(c, tmpl, http)?),
        );
    }
    let unsupported = [
        ("email", receiver.email_configs.len()),
        ("pagerduty", receiver.pagerduty_configs.len()),
        ("slack", receiver.slack_configs.len()),
        ("opsgenie", receiver.opsgenie_configs.len()),
        ("wechat", receiver.wechat_configs.len()),
        ("pushover", receiver.pushover_configs.len()),
        ("victorops", receiver.victorops_configs.len()),
        ("sns", receiver.sns_configs.len()),
        ("telegram", receiver.telegram_configs.len()),
        ("webex", receiver.webex_configs.len()),
        ("discord", receiver.discord_configs.len()),
        ("msteams", receiver.msteams_configs.len()),
        ("msteamsv2", receiver.msteamsv2_configs.len()),
        ("rocketchat", receiver.rocketchat_configs.len()),
        ("mattermost", receiver.mattermost_configs.len()),
    ];
    if let Some((name, _)) = unsupported.iter().find(|(_, n)| *n > 0) {
        return Err(NotifyError::permanent(format!(
            "receiver {:?}: {name} integration is not supported yet",
            receiver.name
        )));
    }
    Ok(out)
}

/// Builds the HTTP client of an integration.
pub(crate) fn client(
    cfg: Option<&config::HttpClientConfig>,
    http: &http_client::ClientOptions,
) -> Result<http_client::HttpClient, NotifyError> {
    let cfg = cfg.cloned().unwrap_or_default();
    http_client::HttpClient::with_options(&cfg, http.clone())
        .map_err(|e| NotifyError::permanent(e.to_string()))
}

/// Sends a prepared request and checks its status; transport errors are retryable.
pub(crate) async fn send(req: reqwest::RequestBuilder) -> Result<String, NotifyError> {
    let resp = req
        .send()
        .await
        .map_err(|e| NotifyError::retryable(http_client::go_error_text("POST", &e)))?;
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    check_status(status, &body)?;
    Ok(body)
}
