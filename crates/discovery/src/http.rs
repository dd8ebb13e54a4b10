//! HTTP-based discovery (`http_sd_configs`): GET a URL returning a JSON list of target groups.
//!
//! Prometheus's rules: the response must be `200`, with Content-Type `application/json`
//! (optionally `; charset=utf-8`), holding a JSON array of `{targets, labels}` objects. Each
//! group's source is `url:index` and it carries `__meta_url`; when the list shrinks, the
//! vanished indexes are sent as empty groups. A failed refresh keeps the previous groups.

use std::time::Duration;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::discoverer::Discoverer;
use config::HttpSdConfig;

use crate::error::DiscoveryError;
use crate::targetgroup::TargetGroup;
use http_client::{ClientOptions, HttpClient, go_error_text};

/// The label carrying the URL a group was fetched from.
pub const URL_LABEL: &str = "__meta_url";

/// Discovers targets from an HTTP endpoint.
#[derive(Debug)]
pub struct HttpDiscovery {
    options: HttpSdConfig,
    client: HttpClient,
    last_len: usize,
}

/// Whether a Content-Type header value is what HTTP SD accepts.
#[must_use]
pub fn is_json_content_type(value: &str) -> bool {
    let v = value.trim().to_ascii_lowercase();
    let Some(rest) = v.strip_prefix("application/json") else {
        return false;
    };
    if rest.is_empty() {
        return true;
    }
    let Some(rest) = rest.strip_prefix(';') else {
        return false;
    };
    matches!(
        rest.trim_start().strip_prefix("charset="),
        Some("utf-8" | "\"utf-8\"")
    )
}

impl HttpDiscovery {
    /// Validates the section (the `config` crate's checks) and builds the client.
    ///
    /// # Errors
    /// When the URL is not `http(s)://host...` or the client cannot be built.
    pub fn new(mut options: HttpSdConfig) -> Result<Self, DiscoveryError> {
        let cfg_err = |e: &dyn std::fmt::Display| DiscoveryError::config("http", e);
        options.validate().map_err(|e| cfg_err(&e))?;
        let client = HttpClient::with_options(
            &options.http_client(),
            ClientOptions {
                timeout: Some(options.refresh_interval.to_std()),
                ..ClientOptions::default()
            },
        )
        .map_err(|e| cfg_err(&e))?;
        Ok(Self {
            options,
            client,
            last_len: 0,
        })
    }

    /// Fetches the groups once; vanished indexes since the last call come back empty.
    ///
    /// # Errors
    /// Transport errors, a status other than 200, a wrong content type or an invalid body.
    pub async fn fetch(&mut self) -> Result<Vec<TargetGroup>, DiscoveryError> {
        let url = &self.options.url;
        let http_err = |message: String| DiscoveryError::Http {
            url: url.clone(),
            message,
        };
        let req = self
            .client
            .get(url)
            .await
            .map_err(|e| http_err(e.to_string()))?
            .header("Accept", "application/json")
            .header(
                "X-Prometheus-Refresh-Interval-Seconds",
                format_seconds(self.options.refresh_interval.to_std()),
            );
        let resp = req
            .send()
            .await
            .map_err(|e| http_err(go_error_text("GET", &e)))?;
        let status = resp.status();
        if status != reqwest::StatusCode::OK {
            return Err(http_err(format!(
                "server returned HTTP status {} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )));
        }
        let ctype = resp
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        if !is_json_content_type(&ctype) {
            return Err(http_err(format!("unsupported content type {ctype:?}")));
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| http_err(go_error_text("GET", &e)))?;
        let mut out = parse_response(url, &body)?;
        let n = out.len();
        out.extend((n..self.last_len).map(|i| TargetGroup::empty(format!("{url}:{i}"))));
        self.last_len = n;
        Ok(out)
    }
}

/// Decodes the body of an HTTP SD response from `url` (untrusted): a JSON list of target
/// groups, none of them `null`, each given its source (`<url>:<index>`) and the
/// `__meta_url` label.
///
/// # Errors
/// The body is not such a list.
pub fn parse_response(url: &str, body: &[u8]) -> Result<Vec<TargetGroup>, DiscoveryError> {
    let groups: Vec<Option<TargetGroup>> =
        serde_json::from_slice(body).map_err(|e| DiscoveryError::Parse {
            origin: url.to_owned(),
            message: e.to_string(),
        })?;
    let mut out = Vec::with_capacity(groups.len());
    for (i, g) in groups.into_iter().enumerate() {
        let mut g = g.ok_or_else(|| DiscoveryError::Parse {
            origin: url.to_owned(),
            message: "nil target group item found".to_owned(),
        })?;
        g.source = format!("{url}:{i}");
        g.labels.insert(URL_LABEL.to_owned(), url.to_owned());
        out.push(g);
    }
    Ok(out)
}

fn format_seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{}", d.as_secs())
    } else {
        format!("{s}")
    }
}

impl Discoverer for HttpDiscovery {
    async fn run(self, tx: mpsc::Sender<Vec<TargetGroup>>, cancel: CancellationToken) {
        let interval = self.options.refresh_interval.to_std();
        crate::refresh::run("http", interval, tx, cancel, self).await;
    }
}

impl crate::refresh::Refresh for HttpDiscovery {
    async fn refresh(&mut self) -> Result<Vec<TargetGroup>, DiscoveryError> {
        let groups = self.fetch().await;
        if groups.is_err() {
            crate::metrics::SD.http_failures.inc();
        }
        groups
    }
}

/// A failed request in Go's words with its URL (`"URL": dial tcp ...: connection refused`,
/// `"URL": context deadline exceeded`); see [`http_client::go_error_text`] for the
/// form with the method.
#[must_use]
pub fn error_text(e: &reqwest::Error) -> String {
    http_client::request_error_text(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_types() {
        assert!(is_json_content_type("application/json"));
        assert!(is_json_content_type("Application/JSON; charset=UTF-8"));
        assert!(is_json_content_type("application/json;charset=\"utf-8\""));
        assert!(!is_json_content_type("application/json; charset=latin1"));
        assert!(!is_json_content_type("text/plain"));
        assert!(!is_json_content_type(""));
    }

    #[test]
    fn url_validation() {
        assert!(HttpDiscovery::new(HttpSdConfig::new("ftp://x/")).is_err());
        assert!(HttpDiscovery::new(HttpSdConfig::new("")).is_err());
        assert!(HttpDiscovery::new(HttpSdConfig::new("http://127.0.0.1:1/sd")).is_ok());
    }
}
