//! The HTTP client of one Alertmanager set, from its `http_client_config` (the shared
//! `http_client` crate: basic auth, authorization, OAuth 2.0, TLS, proxy, redirects, extra
//! headers), and the POST of one payload to one Alertmanager.
//!
//! Credentials given as files are read at each request, as Prometheus's round trippers do, so
//! a rotated token is picked up without a reload.

use std::time::Duration;

use config::HttpClientConfig;
use http_client::{HttpClient, go_error_text};

use super::error::NotifierError;

/// The client of one Alertmanager set.
#[derive(Debug, Clone)]
pub(crate) struct AmClient {
    client: HttpClient,
}

impl AmClient {
    /// Builds the client of set `set` from `http`.
    pub(crate) fn new(set: &str, http: &HttpClientConfig) -> Result<Self, NotifierError> {
        let client = HttpClient::new(http).map_err(|e| NotifierError::Client {
            set: set.to_owned(),
            message: e.to_string(),
        })?;
        Ok(Self { client })
    }

    /// POSTs `body` (JSON) to `url` within `timeout`; any 2xx answer is success.
    pub(crate) async fn post(
        &self,
        url: &str,
        body: &[u8],
        timeout: Duration,
    ) -> Result<(), String> {
        // Fetching credentials (an OAuth 2.0 token) counts against the timeout too.
        let req = tokio::time::timeout(timeout, self.client.post(url))
            .await
            .map_err(|_| format!("Post {url:?}: context deadline exceeded"))?
            .map_err(|e| e.to_string())?;
        let resp = req
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .body(body.to_vec())
            .send()
            .await
            .map_err(|e| go_error_text("POST", &e))?;
        let status = resp.status();
        // Read the body so the connection can be reused.
        let _ = resp.bytes().await;
        if !status.is_success() {
            return Err(format!("bad response status {status}"));
        }
        Ok(())
    }
}
