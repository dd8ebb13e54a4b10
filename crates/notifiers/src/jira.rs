//! The Jira integration (Alertmanager's `notify/jira/jira.go`, since 0.28): an issue per
//! alert group, found again through its `ALERT{group key hash}` label by a JQL search, created
//! (POST `issue`) or updated (PUT `issue/KEY`, summary and description only when
//! `enable_update`), then moved by `resolve_transition` / `reopen_transition`.

use serde_json::{Map, Value, json};

use crate::alert::{AlertStatus, Data};
use crate::config::JiraConfig;
use crate::error::NotifyError;
use crate::notify::{
    Expand, Notifier, NotifyContext, NotifyFuture, group_key_hash, json_request, send,
    truncate_runes,
};

notifier!(
    /// Sends to one `jira_configs` entry.
    Jira,
    JiraConfig
);

/// Go's `url.URL.JoinPath`: one slash between the base and `elem`.
fn join(base: &str, elem: &str) -> String {
    format!(
        "{}/{}",
        base.trim_end_matches('/'),
        elem.trim_start_matches('/')
    )
}

/// Alertmanager's `DeepCopyWithTemplate`: strings expanded, and read as YAML when they then
/// hold a number, list, map or null; lists and maps copied element by element.
fn expand_value(x: &mut Expand<'_>, v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let t = x.text(s);
            match serde_saphyr::from_str::<Value>(&t) {
                Ok(Value::String(_)) | Err(_) => Value::String(t),
                Ok(structured) => structured,
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(|e| expand_value(x, e)).collect()),
        Value::Object(m) => Value::Object(
            m.iter()
                .map(|(k, e)| (k.clone(), expand_value(x, e)))
                .collect(),
        ),
        other => other.clone(),
    }
}

impl Jira {
    fn api_url(&self) -> String {
        self.cfg
            .api_url
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default()
    }

    /// The search request: its URL and body (`jql`, at most 2 issues, their status).
    ///
    /// # Errors
    /// A project template error.
    pub fn search_request(
        &self,
        data: &Data,
        group_hash: &str,
    ) -> Result<(String, Value), NotifyError> {
        let c = &self.cfg;
        let mut jql = String::new();
        if !c.wont_fix_resolution.is_empty() {
            jql.push_str(&format!(
                "(resolution is EMPTY or resolution != {}) and ",
                model::gofmt::quote(&c.wont_fix_resolution)
            ));
        }
        let reopen_minutes = c.reopen_duration.map_or(0, |d| d.0.as_secs() / 60);
        if data.status == AlertStatus::Firing
            && !c.reopen_transition.is_empty()
            && reopen_minutes > 0
        {
            jql.push_str(&format!(
                "(resolutiondate is EMPTY OR resolutiondate >= -{reopen_minutes}m) and "
            ));
        } else {
            jql.push_str("statusCategory != Done and ");
        }
        let mut x = Expand::new(&self.tmpl, data);
        let project = x.text(&c.project);
        x.finish()?;
        jql.push_str(&format!(
            "project={} and labels={} order by status ASC,resolutiondate DESC",
            model::gofmt::quote(&project),
            model::gofmt::quote(&format!("ALERT{{{group_hash}}}"))
        ));
        let base = self.api_url();
        let host = url::Url::parse(&base)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let cloud =
            c.api_type == "cloud" || (c.api_type == "auto" && host.ends_with("atlassian.net"));
        let url = if cloud {
            join(&base, "/search/jql").replacen("/rest/api/2/", "/rest/api/3/", 1)
        } else {
            join(&base, "/search")
        };
        Ok((
            url,
            json!({"fields": ["status"], "jql": jql, "maxResults": 2}),
        ))
    }

    /// The issue body for a new issue (or, with `update`, an existing one).
    ///
    /// # Errors
    /// The first template error; a description that is not JSON for API v3.
    pub fn issue_body(
        &self,
        data: &Data,
        group_hash: &str,
        update: bool,
    ) -> Result<Value, NotifyError> {
        let c = &self.cfg;
        let mut x = Expand::new(&self.tmpl, data);
        let (summary, _) = truncate_runes(&x.text(c.summary.template()), 255);
        let project = x.text(&c.project);
        let issue_type = x.text(&c.issue_type);
        let mut fields = Map::new();
        for (k, v) in &c.fields {
            fields.insert(k.clone(), expand_value(&mut x, v));
        }
        let (description, _) = truncate_runes(&x.text(c.description.template()), 32767);
        let mut labels: Vec<String> = c.labels.iter().map(|l| x.text(l)).collect();
        labels.push(format!("ALERT{{{group_hash}}}"));
        labels.sort();
        let priority = x.text(&c.priority);
        x.finish()?;
        let v3 = self.api_url().trim_end_matches('/').ends_with("/3");
        let description = if v3 {
            let d = description.trim();
            if d.is_empty() {
                None
            } else {
                Some(serde_json::from_str::<Value>(d).map_err(|_| {
                    NotifyError::permanent("description template: invalid JSON for API v3")
                })?)
            }
        } else {
            (!description.is_empty()).then_some(Value::String(description))
        };
        let mut f = Map::new();
        if !update || c.summary.enable_update() {
            f.insert("summary".into(), json!(summary));
        }
        if let Some(d) = description.filter(|_| !update || c.description.enable_update()) {
            f.insert("description".into(), d);
        }
        f.insert("issuetype".into(), json!({"name": issue_type}));
        f.insert("labels".into(), json!(labels));
        if !priority.is_empty() {
            f.insert("priority".into(), json!({"name": priority}));
        }
        f.insert("project".into(), json!({"key": project}));
        f.extend(fields);
        Ok(json!({"fields": f}))
    }

    async fn request(
        &self,
        method: reqwest::Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<String, NotifyError> {
        let req = match body {
            Some(b) => json_request(&self.http, method, url, b).await?,
            None => self
                .http
                .request(method, url)
                .await
                .map_err(|e| NotifyError::retryable(e.to_string()))?
                .header("Content-Type", "application/json"),
        };
        send(req.header("Accept-Language", "en")).await
    }

    async fn transition(&self, issue: &Value, firing: bool) -> Result<(), NotifyError> {
        let key = issue["key"].as_str().unwrap_or_default();
        let category = issue["fields"]["status"]["statusCategory"]["key"].as_str();
        let (Some(category), false) = (category, key.is_empty()) else {
            return Ok(());
        };
        let done = category == "done";
        let name = match (firing, done) {
            (true, true) => &self.cfg.reopen_transition,
            (false, false) => &self.cfg.resolve_transition,
            _ => return Ok(()),
        };
        if name.is_empty() {
            return Ok(());
        }
        let url = join(&self.api_url(), &format!("issue/{key}/transitions"));
        let list: Value =
            serde_json::from_str(&self.request(reqwest::Method::GET, &url, None).await?)
                .map_err(|e| NotifyError::permanent(e.to_string()))?;
        let id = list["transitions"]
            .as_array()
            .and_then(|ts| ts.iter().find(|t| t["name"] == json!(name)))
            .and_then(|t| t["id"].as_str())
            .ok_or_else(|| {
                NotifyError::permanent(format!("can't find transition {name} for issue {key}"))
            })?;
        let body = json!({"transition": {"id": id}});
        self.request(reqwest::Method::POST, &url, Some(&body))
            .await
            .map(|_| ())
    }
}

impl Notifier for Jira {
    fn notify<'a>(&'a self, ctx: &'a NotifyContext, data: &'a Data) -> NotifyFuture<'a> {
        Box::pin(async move {
            let hash = group_key_hash(&ctx.group_key);
            let firing = data.status == AlertStatus::Firing;
            let (search_url, search) = self.search_request(data, &hash)?;
            let found = self
                .request(reqwest::Method::POST, &search_url, Some(&search))
                .await
                .map_err(|e| NotifyError {
                    message: format!(
                        "failed to look up existing issues: HTTP request to JIRA API: {}",
                        e.message
                    ),
                    ..e
                })?;
            let found: Value = serde_json::from_str(&found).map_err(|e| {
                NotifyError::permanent(format!("failed to look up existing issues: {e}"))
            })?;
            let existing = found["issues"].as_array().and_then(|a| a.first()).cloned();
            let (method, path) = match &existing {
                None if !firing => return Ok(()),
                None => (reqwest::Method::POST, "issue".to_owned()),
                Some(i) => (
                    reqwest::Method::PUT,
                    format!("issue/{}", i["key"].as_str().unwrap_or_default()),
                ),
            };
            let body = self.issue_body(data, &hash, existing.is_some())?;
            let url = join(&self.api_url(), &path);
            self.request(method.clone(), &url, Some(&body))
                .await
                .map_err(|e| NotifyError {
                    message: format!("failed to {method} request to {path:?}: {}", e.message),
                    ..e
                })?;
            match existing {
                Some(i) => self.transition(&i, firing).await,
                None => Ok(()),
            }
        })
    }
}
