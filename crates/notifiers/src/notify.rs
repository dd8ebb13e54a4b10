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
/// `http_config` and `http` options, and at most [`crate::limit::MAX_IN_FLIGHT`] of its
/// notifications sent at once.
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
            notifier: Arc::new(crate::limit::Limited::new(n, crate::limit::MAX_IN_FLIGHT)),
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
    macro_rules! each {
        ($list:expr, $name:literal, $ty:path) => {
            for (i, c) in $list.iter().enumerate() {
                add(
                    $name,
                    i,
                    c.send_resolved,
                    Arc::new(<$ty>::new(c, tmpl, http)?),
                );
            }
        };
    }
    each!(receiver.email_configs, "email", crate::email::Email);
    each!(
        receiver.pagerduty_configs,
        "pagerduty",
        crate::pagerduty::PagerDuty
    );
    each!(receiver.slack_configs, "slack", crate::slack::Slack);
    each!(
        receiver.opsgenie_configs,
        "opsgenie",
        crate::opsgenie::OpsGenie
    );
    each!(receiver.wechat_configs, "wechat", crate::paging::Wechat);
    each!(
        receiver.pushover_configs,
        "pushover",
        crate::paging::Pushover
    );
    each!(
        receiver.victorops_configs,
        "victorops",
        crate::paging::VictorOps
    );
    each!(receiver.telegram_configs, "telegram", crate::chat::Telegram);
    each!(receiver.webex_configs, "webex", crate::chat::Webex);
    each!(receiver.discord_configs, "discord", crate::chat::Discord);
    each!(receiver.msteams_configs, "msteams", crate::chat::MsTeams);
    each!(
        receiver.msteamsv2_configs,
        "msteamsv2",
        crate::chat::MsTeamsV2
    );
    each!(receiver.sns_configs, "sns", crate::sns::Sns);
    each!(receiver.jira_configs, "jira", crate::jira::Jira);
    each!(
        receiver.incidentio_configs,
        "incidentio",
        crate::incidentio::Incidentio
    );
    each!(
        receiver.rocketchat_configs,
        "rocketchat",
        crate::rocketchat::Rocketchat
    );
    each!(
        receiver.mattermost_configs,
        "mattermost",
        crate::mattermost::Mattermost
    );
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

/// A failed POST's text with the URL shown as `<redacted>`, as Alertmanager's `RedactURL`
/// does: notification URLs carry secrets (webhook and Slack URLs, keys and tokens in paths),
/// and the text reaches logs and the API.
pub(crate) fn redacted_post_error(e: &reqwest::Error) -> String {
    match e.url() {
        Some(_) => format!(
            "{} \"<redacted>\": {}",
            http_client::go_method("POST"),
            http_client::go_cause(e)
        ),
        None => http_client::go_cause(e),
    }
}

/// Sends a prepared request and checks its status; transport errors are retryable.
pub(crate) async fn send(req: reqwest::RequestBuilder) -> Result<String, NotifyError> {
    let resp = req
        .send()
        .await
        .map_err(|e| NotifyError::retryable(redacted_post_error(&e)))?;
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    check_status(status, &body)?;
    Ok(body)
}

/// Expands many template fields of one notification, keeping the first error (Alertmanager's
/// `notify.TmplText` pattern): the notification fails on a template error, not the process.
pub(crate) struct Expand<'a> {
    tmpl: &'a Template,
    data: &'a Data,
    err: Option<crate::error::TemplateError>,
}

impl<'a> Expand<'a> {
    pub(crate) fn new(tmpl: &'a Template, data: &'a Data) -> Self {
        Self {
            tmpl,
            data,
            err: None,
        }
    }

    /// `text` expanded with `text/template` ("" after an error).
    pub(crate) fn text(&mut self, text: &str) -> String {
        if self.err.is_some() {
            return String::new();
        }
        self.tmpl.execute_text(text, self.data).unwrap_or_else(|e| {
            self.err = Some(e);
            String::new()
        })
    }

    /// `text` expanded with `html/template`.
    pub(crate) fn html(&mut self, text: &str) -> String {
        if self.err.is_some() {
            return String::new();
        }
        self.tmpl.execute_html(text, self.data).unwrap_or_else(|e| {
            self.err = Some(e);
            String::new()
        })
    }

    /// The first error, if any.
    pub(crate) fn finish(self) -> Result<(), NotifyError> {
        match self.err {
            Some(e) => Err(NotifyError::permanent(format!("template error: {e}"))),
            None => Ok(()),
        }
    }
}

/// A secret given inline or in a file (read at each notification, trimmed).
pub(crate) fn secret_or_file(inline: &str, file: &str, what: &str) -> Result<String, NotifyError> {
    if file.is_empty() {
        return Ok(inline.to_owned());
    }
    std::fs::read_to_string(file)
        .map(|s| s.trim().to_owned())
        .map_err(|e| NotifyError::permanent(format!("read {what}: {e}")))
}

/// Go's `notify.TruncateInRunes`: at most `n` characters, the last one `…` when cut.
pub(crate) fn truncate_runes(s: &str, n: usize) -> (String, bool) {
    if s.chars().count() <= n {
        return (s.to_owned(), false);
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    (out, true)
}

/// Go's `notify.TruncateInBytes`: at most `n` bytes (whole characters), ending in `…` when cut.
pub(crate) fn truncate_bytes(s: &str, n: usize) -> (String, bool) {
    if s.len() <= n {
        return (s.to_owned(), false);
    }
    let budget = n.saturating_sub('…'.len_utf8());
    let mut end = budget;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    (format!("{}…", &s[..end]), true)
}

/// A request of `method` to `url` with `body` as JSON (ending in a newline, as Go's
/// `json.Encoder` writes it) and the client's credentials.
pub(crate) async fn json_request(
    http: &http_client::HttpClient,
    method: reqwest::Method,
    url: &str,
    body: &impl serde::Serialize,
) -> Result<reqwest::RequestBuilder, NotifyError> {
    let mut bytes = serde_json::to_vec(body).map_err(|e| NotifyError::permanent(e.to_string()))?;
    bytes.push(b'\n');
    Ok(http
        .request(method, url)
        .await
        .map_err(|e| NotifyError::retryable(e.to_string()))?
        .header("Content-Type", "application/json")
        .body(bytes))
}

/// Sends a JSON body with POST (Alertmanager's `notify.PostJSON`).
pub(crate) async fn post_json(
    http: &http_client::HttpClient,
    url: &str,
    body: &impl serde::Serialize,
) -> Result<String, NotifyError> {
    send(json_request(http, reqwest::Method::POST, url, body).await?).await
}

/// Alertmanager's `notify.Key.Hash`: the SHA-256 of the group key in hex (PagerDuty's dedup
/// key, OpsGenie's alias, VictorOps' entity id).
#[must_use]
pub fn group_key_hash(group_key: &str) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(group_key.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
