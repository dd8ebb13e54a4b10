//! Configurations of the webhook, e-mail and paging integrations (`config/notifiers.go`):
//! webhook, email, PagerDuty, OpsGenie, VictorOps, Pushover, WeChat and SNS, with
//! Alertmanager's defaults and checks.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use config::yaml::Invalid;
use config::{HttpClientConfig, Secret, TlsConfig};

use super::types::{GoDuration, HostPort, HttpUrl, SecretUrl};
use super::{is_false, no, tmpl, yes};

/// `webhook_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Notify about resolved alerts (true).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// URL to POST to.
    #[serde(default)]
    pub url: Option<SecretUrl>,
    /// File holding the URL.
    #[serde(default)]
    pub url_file: String,
    /// Most alerts per message (0: all); the rest are counted in `truncatedAlerts`.
    #[serde(default)]
    pub max_alerts: u64,
    /// Timeout of each request (0: none).
    #[serde(default)]
    pub timeout: GoDuration,
}

impl WebhookConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        if self.url.is_none() && self.url_file.is_empty() {
            return Err(Invalid::new("one of url or url_file must be configured"));
        }
        if self.url.is_some() && !self.url_file.is_empty() {
            return Err(Invalid::new(
                "at most one of url & url_file must be configured",
            ));
        }
        Ok(())
    }
}

/// `email_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Notify about resolved alerts (false).
    #[serde(default = "no")]
    pub send_resolved: bool,
    /// Recipients (template; comma-separated addresses).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub to: String,
    /// Sender (global `smtp_from`; template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// HELO/EHLO name (global `smtp_hello`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub hello: String,
    /// SMTP server (global `smtp_smarthost`).
    #[serde(default, skip_serializing_if = "HostPort::is_empty")]
    pub smarthost: HostPort,
    /// User name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth_username: String,
    /// Password (PLAIN, LOGIN).
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub auth_password: Secret,
    /// File holding the password.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth_password_file: String,
    /// CRAM-MD5 secret.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub auth_secret: Secret,
    /// File holding the CRAM-MD5 secret.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth_secret_file: String,
    /// PLAIN identity.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth_identity: String,
    /// Headers (templates); names canonicalised (`Subject`, `To`, `From`...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// HTML body (template).
    #[serde(default = "email_html", skip_serializing_if = "String::is_empty")]
    pub html: String,
    /// Text body (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// Require STARTTLS (global `smtp_require_tls`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_tls: Option<bool>,
    /// Use TLS from the first byte (port 465 does by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub force_implicit_tls: Option<bool>,
    /// TLS settings (global `smtp_tls_config`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_config: Option<TlsConfig>,
}

fn email_html() -> String {
    tmpl("email.default.html")
}

/// The subject used when `headers` has none.
pub const DEFAULT_EMAIL_SUBJECT: &str = r#"{{ template "email.default.subject" . }}"#;

/// Go's `textproto.CanonicalMIMEHeaderKey`.
pub(crate) fn canonical_mime_header(h: &str) -> String {
    if h.bytes().any(|b| !(b.is_ascii_alphanumeric() || b == b'-')) {
        return h.to_owned();
    }
    let mut up = true;
    h.chars()
        .map(|c| {
            let out = if up {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            up = c == '-';
            out
        })
        .collect()
}

impl EmailConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        if self.to.is_empty() {
            return Err(Invalid::new("missing to address in email config"));
        }
        let mut normalized = BTreeMap::new();
        for (h, v) in std::mem::take(&mut self.headers) {
            let n = canonical_mime_header(&h);
            if normalized.contains_key(&n) {
                return Err(Invalid::new(format!(
                    "duplicate header {n:?} in email config"
                )));
            }
            normalized.insert(n, v);
        }
        self.headers = normalized;
        if !self.auth_password.is_empty() && !self.auth_password_file.is_empty() {
            return Err(Invalid::new(
                "at most one of auth_password & auth_password_file must be configured",
            ));
        }
        if !self.auth_secret.is_empty() && !self.auth_secret_file.is_empty() {
            return Err(Invalid::new(
                "at most one of auth_secret & auth_secret_file must be configured",
            ));
        }
        Ok(())
    }
}

/// A PagerDuty link.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyLink {
    /// Target (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub href: String,
    /// Text (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
}

/// A PagerDuty image.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyImage {
    /// Source (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub src: String,
    /// Alternative text (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub alt: String,
    /// Link (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub href: String,
}

/// `pagerduty_configs` entry: Events API v2 with `routing_key`, v1 with `service_key`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerdutyConfig {
    /// Notify about resolved alerts (true).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Events API v1 service key.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub service_key: Secret,
    /// File holding the service key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service_key_file: String,
    /// Events API v2 routing key.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub routing_key: Secret,
    /// File holding the routing key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub routing_key_file: String,
    /// Events API URL (global `pagerduty_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<HttpUrl>,
    /// Client name (template).
    #[serde(default = "pd_client", skip_serializing_if = "String::is_empty")]
    pub client: String,
    /// Client URL (template).
    #[serde(default = "pd_client_url", skip_serializing_if = "String::is_empty")]
    pub client_url: String,
    /// Summary / description (template).
    #[serde(default = "pd_description", skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Custom details (templates); the four defaults are added when absent.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
    /// Images.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<PagerdutyImage>,
    /// Links.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<PagerdutyLink>,
    /// Source (template; `client` when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Severity (template; `error` when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub severity: String,
    /// Class (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub class: String,
    /// Component (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub component: String,
    /// Group (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
}

fn pd_client() -> String {
    tmpl("pagerduty.default.client")
}
fn pd_client_url() -> String {
    tmpl("pagerduty.default.clientURL")
}
fn pd_description() -> String {
    r#"{{ template "pagerduty.default.description" .}}"#.into()
}

/// Details every PagerDuty event carries unless the configuration sets the same key.
pub const DEFAULT_PAGERDUTY_DETAILS: [(&str, &str); 4] = [
    (
        "firing",
        r#"{{ template "pagerduty.default.instances" .Alerts.Firing }}"#,
    ),
    (
        "resolved",
        r#"{{ template "pagerduty.default.instances" .Alerts.Resolved }}"#,
    ),
    ("num_firing", "{{ .Alerts.Firing | len }}"),
    ("num_resolved", "{{ .Alerts.Resolved | len }}"),
];

impl PagerdutyConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        if self.routing_key.is_empty()
            && self.service_key.is_empty()
            && self.routing_key_file.is_empty()
            && self.service_key_file.is_empty()
        {
            return Err(Invalid::new(
                "missing service or routing key in PagerDuty config",
            ));
        }
        if !self.routing_key.is_empty() && !self.routing_key_file.is_empty() {
            return Err(Invalid::new(
                "at most one of routing_key & routing_key_file must be configured",
            ));
        }
        if !self.service_key.is_empty() && !self.service_key_file.is_empty() {
            return Err(Invalid::new(
                "at most one of service_key & service_key_file must be configured",
            ));
        }
        if self.source.is_empty() {
            self.source.clone_from(&self.client);
        }
        for (k, v) in DEFAULT_PAGERDUTY_DETAILS {
            self.details
                .entry(k.to_owned())
                .or_insert_with(|| v.to_owned());
        }
        Ok(())
    }
}

/// An OpsGenie responder.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsGenieConfigResponder {
    /// Id (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Name (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// User name (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// `team`, `teams`, `user`, `escalation` or `schedule` (or a template).
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
}

/// `opsgenie_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpsGenieConfig {
    /// Notify about resolved alerts (true).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// API key.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub api_key: Secret,
    /// File holding the API key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_key_file: String,
    /// API URL (global `opsgenie_api_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<HttpUrl>,
    /// Message (template).
    #[serde(default = "og_message", skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Description (template).
    #[serde(default = "og_description", skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Source (template).
    #[serde(default = "og_source", skip_serializing_if = "String::is_empty")]
    pub source: String,
    /// Details (templates).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub details: BTreeMap<String, String>,
    /// Entity (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub entity: String,
    /// Responders.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub responders: Vec<OpsGenieConfigResponder>,
    /// Actions, comma-separated (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub actions: String,
    /// Tags, comma-separated (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tags: String,
    /// Note (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// Priority P1..P5 (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub priority: String,
    /// Update message and description of an open alert.
    #[serde(default, skip_serializing_if = "is_false")]
    pub update_alerts: bool,
}

fn og_message() -> String {
    tmpl("opsgenie.default.message")
}
fn og_description() -> String {
    tmpl("opsgenie.default.description")
}
fn og_source() -> String {
    tmpl("opsgenie.default.source")
}

const OPSGENIE_TYPES: &str = "^(team|teams|user|escalation|schedule)$";

impl OpsGenieConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        if !self.api_key.is_empty() && !self.api_key_file.is_empty() {
            return Err(Invalid::new(
                "at most one of api_key & api_key_file must be configured",
            ));
        }
        for r in &mut self.responders {
            let shown = format!("{{{} {} {} {}}}", r.id, r.name, r.username, r.kind);
            if r.id.is_empty() && r.username.is_empty() && r.name.is_empty() {
                return Err(Invalid::new(format!(
                    "opsGenieConfig responder {shown} has to have at least one of id, username or name specified"
                )));
            }
            if r.kind.contains("{{") {
                if let Err(e) = gotmpl::Template::new("").parse(&r.kind) {
                    return Err(Invalid::new(format!(
                        "opsGenieConfig responder {shown} type is not a valid template: {e}"
                    )));
                }
            } else {
                r.kind = r.kind.to_lowercase();
                if !matches!(
                    r.kind.as_str(),
                    "team" | "teams" | "user" | "escalation" | "schedule"
                ) {
                    return Err(Invalid::new(format!(
                        "opsGenieConfig responder {shown} type does not match valid options {OPSGENIE_TYPES}"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// `victorops_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VictorOpsConfig {
    /// Notify about resolved alerts (true).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// API key.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub api_key: Secret,
    /// File holding the API key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_key_file: String,
    /// API URL (global `victorops_api_url`).
    #[serde(default)]
    pub api_url: Option<HttpUrl>,
    /// Routing key.
    #[serde(default)]
    pub routing_key: String,
    /// `CRITICAL`, `WARNING`, `INFO` (template).
    #[serde(default = "vo_message_type")]
    pub message_type: String,
    /// State message (template).
    #[serde(default = "vo_state_message")]
    pub state_message: String,
    /// Entity display name (template).
    #[serde(default = "vo_entity_display_name")]
    pub entity_display_name: String,
    /// Monitoring tool (template).
    #[serde(default = "vo_monitoring_tool")]
    pub monitoring_tool: String,
    /// Extra fields (templates).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub custom_fields: BTreeMap<String, String>,
}

fn vo_message_type() -> String {
    "CRITICAL".into()
}
fn vo_state_message() -> String {
    tmpl("victorops.default.state_message")
}
fn vo_entity_display_name() -> String {
    tmpl("victorops.default.entity_display_name")
}
fn vo_monitoring_tool() -> String {
    tmpl("victorops.default.monitoring_tool")
}

impl VictorOpsConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        if self.routing_key.is_empty() {
            return Err(Invalid::new("missing Routing key in VictorOps config"));
        }
        if !self.api_key.is_empty() && !self.api_key_file.is_empty() {
            return Err(Invalid::new(
                "at most one of api_key & api_key_file must be configured",
            ));
        }
        for f in [
            "routing_key",
            "message_type",
            "state_message",
            "entity_display_name",
            "monitoring_tool",
            "entity_id",
            "entity_state",
        ] {
            if self.custom_fields.contains_key(f) {
                return Err(Invalid::new(format!(
                    "victorOps config contains custom field {f} which cannot be used as it conflicts with the fixed/static fields"
                )));
            }
        }
        Ok(())
    }
}

/// `pushover_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PushoverConfig {
    /// Notify about resolved alerts (true).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// Recipient user key.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub user_key: Secret,
    /// File holding the user key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub user_key_file: String,
    /// Application token.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub token: Secret,
    /// File holding the token.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_file: String,
    /// Title (template).
    #[serde(default = "po_title", skip_serializing_if = "String::is_empty")]
    pub title: String,
    /// Message (template).
    #[serde(default = "po_message", skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Supplementary URL (template).
    #[serde(default = "po_url", skip_serializing_if = "String::is_empty")]
    pub url: String,
    /// Title of the URL (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub url_title: String,
    /// Device (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub device: String,
    /// Sound (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sound: String,
    /// Priority (template).
    #[serde(default = "po_priority", skip_serializing_if = "String::is_empty")]
    pub priority: String,
    /// Retry of emergency messages (1m).
    #[serde(default = "po_retry")]
    pub retry: GoDuration,
    /// Expiry of emergency messages (1h).
    #[serde(default = "po_expire")]
    pub expire: GoDuration,
    /// Time to live (0: none).
    #[serde(default, skip_serializing_if = "is_zero_duration")]
    pub ttl: GoDuration,
    /// Message is HTML.
    #[serde(default, skip_serializing_if = "is_false")]
    pub html: bool,
    /// Message is monospace.
    #[serde(default, skip_serializing_if = "is_false")]
    pub monospace: bool,
}

fn po_title() -> String {
    tmpl("pushover.default.title")
}
fn po_message() -> String {
    tmpl("pushover.default.message")
}
fn po_url() -> String {
    tmpl("pushover.default.url")
}
fn po_priority() -> String {
    r#"{{ if eq .Status "firing" }}2{{ else }}0{{ end }}"#.into()
}
fn po_retry() -> GoDuration {
    GoDuration(std::time::Duration::from_secs(60))
}
fn po_expire() -> GoDuration {
    GoDuration(std::time::Duration::from_secs(3600))
}
fn is_zero_duration(d: &GoDuration) -> bool {
    d.0.is_zero()
}

impl PushoverConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        let user = !self.user_key.is_empty();
        let user_file = !self.user_key_file.is_empty();
        if !user && !user_file {
            return Err(Invalid::new(
                "one of user_key or user_key_file must be configured",
            ));
        }
        if user && user_file {
            return Err(Invalid::new(
                "at most one of user_key & user_key_file must be configured",
            ));
        }
        let token = !self.token.is_empty();
        let token_file = !self.token_file.is_empty();
        if !token && !token_file {
            return Err(Invalid::new(
                "one of token or token_file must be configured",
            ));
        }
        if token && token_file {
            return Err(Invalid::new(
                "at most one of token & token_file must be configured",
            ));
        }
        if self.html && self.monospace {
            return Err(Invalid::new(
                "at most one of monospace & html must be configured",
            ));
        }
        Ok(())
    }
}

/// `wechat_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatConfig {
    /// Notify about resolved alerts (false).
    #[serde(default = "no")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// API secret (global `wechat_api_secret`).
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub api_secret: Secret,
    /// File holding the API secret.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_secret_file: String,
    /// Corp id (global `wechat_api_corp_id`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub corp_id: String,
    /// Message (template).
    #[serde(default = "wc_message", skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// API URL (global `wechat_api_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<HttpUrl>,
    /// Users (template).
    #[serde(default = "wc_to_user", skip_serializing_if = "String::is_empty")]
    pub to_user: String,
    /// Parties (template).
    #[serde(default = "wc_to_party", skip_serializing_if = "String::is_empty")]
    pub to_party: String,
    /// Tags (template).
    #[serde(default = "wc_to_tag", skip_serializing_if = "String::is_empty")]
    pub to_tag: String,
    /// Agent id (template).
    #[serde(default = "wc_agent_id", skip_serializing_if = "String::is_empty")]
    pub agent_id: String,
    /// `text` (default) or `markdown`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message_type: String,
}

fn wc_message() -> String {
    tmpl("wechat.default.message")
}
fn wc_to_user() -> String {
    tmpl("wechat.default.to_user")
}
fn wc_to_party() -> String {
    tmpl("wechat.default.to_party")
}
fn wc_to_tag() -> String {
    tmpl("wechat.default.to_tag")
}
fn wc_agent_id() -> String {
    tmpl("wechat.default.agent_id")
}

impl WechatConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        if self.message_type.is_empty() {
            self.message_type = "text".into();
        }
        if !matches!(self.message_type.as_str(), "text" | "markdown") {
            return Err(Invalid::new(format!(
                "weChat message type {:?} does not match valid options ^(text|markdown)$",
                self.message_type
            )));
        }
        if !self.api_secret.is_empty() && !self.api_secret_file.is_empty() {
            return Err(Invalid::new(
                "at most one of api_secret & api_secret_file must be configured",
            ));
        }
        Ok(())
    }
}

/// AWS SigV4 settings of an SNS config.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SigV4Config {
    /// Region.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub region: String,
    /// Access key id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub access_key: String,
    /// Secret access key.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub secret_key: Secret,
    /// Shared credentials profile.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub profile: String,
    /// Role to assume.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub role_arn: String,
    /// Use the FIPS endpoint.
    #[serde(default, skip_serializing_if = "is_false")]
    pub use_fips_sts_endpoint: bool,
}

/// `sns_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SnsConfig {
    /// Notify about resolved alerts (true).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// SNS API URL (the region's endpoint when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub api_url: String,
    /// Signing settings.
    #[serde(default)]
    pub sigv4: SigV4Config,
    /// Topic ARN (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub topic_arn: String,
    /// Phone number for SMS (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub phone_number: String,
    /// Target ARN (template).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target_arn: String,
    /// Subject (template).
    #[serde(default = "sns_subject", skip_serializing_if = "String::is_empty")]
    pub subject: String,
    /// Message (template).
    #[serde(default = "sns_message", skip_serializing_if = "String::is_empty")]
    pub message: String,
    /// Message attributes.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, String>,
}

fn sns_subject() -> String {
    tmpl("sns.default.subject")
}
fn sns_message() -> String {
    tmpl("sns.default.message")
}

impl SnsConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        let a = self.target_arn.is_empty();
        let b = self.topic_arn.is_empty();
        let c = self.phone_number.is_empty();
        // Alertmanager's condition, kept as written: (a != b) != c.
        if (a != b) != c {
            return Err(Invalid::new(
                "must provide either a Target ARN, Topic ARN, or Phone Number for SNS config",
            ));
        }
        Ok(())
    }
}
