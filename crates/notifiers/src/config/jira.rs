//! `jira_configs` (Alertmanager's `notify/jira/config.go`, since 0.28): project, issue type,
//! templated summary/description (a string or `{template, enable_update}`), labels,
//! priority, transitions and extra `fields`, with Alertmanager's defaults and checks.

use serde::{Deserialize, Serialize};

use super::types::{GoDuration, HttpUrl};
use super::{tmpl, yes};
use config::HttpClientConfig;
use config::yaml::Invalid;

/// A templated issue field: a bare template or `{template, enable_update}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JiraField {
    /// Just the template.
    Template(String),
    /// The template and whether updates of an existing issue rewrite it.
    Full {
        /// Template.
        #[serde(default)]
        template: String,
        /// Rewrite the field when the issue is updated (true).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        enable_update: Option<bool>,
    },
}

impl JiraField {
    /// The template.
    #[must_use]
    pub fn template(&self) -> &str {
        match self {
            Self::Template(t) | Self::Full { template: t, .. } => t,
        }
    }

    /// Whether an update of an existing issue rewrites the field (Alertmanager's
    /// `EnableUpdateValue`, true unless set).
    #[must_use]
    pub fn enable_update(&self) -> bool {
        match self {
            Self::Template(_) => true,
            Self::Full { enable_update, .. } => enable_update.unwrap_or(true),
        }
    }
}

/// `jira_configs` entry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JiraConfig {
    /// Notify about resolved alerts (true).
    #[serde(default = "yes")]
    pub send_resolved: bool,
    /// HTTP client settings (global's when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_config: Option<HttpClientConfig>,
    /// REST API base, e.g. `https://x.atlassian.net/rest/api/2` (global `jira_api_url`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<HttpUrl>,
    /// `auto` (default), `cloud` or `datacenter`: where issues are searched.
    #[serde(default = "api_type")]
    pub api_type: String,
    /// Project key (template).
    #[serde(default)]
    pub project: String,
    /// Summary (template).
    #[serde(default = "summary")]
    pub summary: JiraField,
    /// Description (template).
    #[serde(default = "description")]
    pub description: JiraField,
    /// Labels (templates); `ALERT{group key hash}` is always added.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// Priority name (template).
    #[serde(default = "priority")]
    pub priority: String,
    /// Issue type name (template).
    #[serde(default)]
    pub issue_type: String,
    /// Transition applied to a done issue when its alerts fire again.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub reopen_transition: String,
    /// Transition applied when all alerts resolved.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub resolve_transition: String,
    /// Resolution of issues never reopened.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub wont_fix_resolution: String,
    /// How long after resolution an issue is reopened rather than a new one created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reopen_duration: Option<GoDuration>,
    /// Other issue fields (values expanded as templates where they are strings).
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub fields: serde_json::Map<String, serde_json::Value>,
}

fn api_type() -> String {
    "auto".into()
}
fn summary() -> JiraField {
    JiraField::Template(tmpl("jira.default.summary"))
}
fn description() -> JiraField {
    JiraField::Template(tmpl("jira.default.description"))
}
fn priority() -> String {
    tmpl("jira.default.priority")
}

impl JiraConfig {
    pub(crate) fn validate(&mut self) -> Result<(), Invalid> {
        if self.project.is_empty() {
            return Err(Invalid::new("missing project in jira_config"));
        }
        if self.issue_type.is_empty() {
            return Err(Invalid::new("missing issue_type in jira_config"));
        }
        if !matches!(self.api_type.as_str(), "auto" | "cloud" | "datacenter") {
            return Err(Invalid::new(
                "unknown api_type on jira_config, must be auto, cloud or datacenter",
            ));
        }
        Ok(())
    }
}
