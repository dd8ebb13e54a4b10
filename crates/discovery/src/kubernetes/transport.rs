//! kube-rs driven over the shared HTTP client: a tower service that sends kube's requests
//! through [`HttpClient`], so `api_server` honours the whole `http_client_config` (TLS with
//! client certificates, rotated token files, basic auth, oauth2, proxy, redirects, HTTP/2)
//! exactly as scrapes and HTTP SD do.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http_client::{HttpClient, go_error_text};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Sends kube's path-only requests to `base` through the shared client.
#[derive(Clone, Debug)]
pub(crate) struct SharedTransport {
    client: HttpClient,
    base: String,
}

impl SharedTransport {
    /// A transport to the API server at `base` (scheme, host and an optional path prefix).
    pub(crate) fn new(client: HttpClient, base: &str) -> Self {
        Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
        }
    }
}

impl tower::Service<http::Request<kube::client::Body>> for SharedTransport {
    type Response = http::Response<reqwest::Body>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<kube::client::Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
            let url = format!("{}{path}", this.base);
            let body = body.collect_bytes().await?;
            let method = parts.method.clone();
            let mut rb = this.client.request(parts.method, &url).await?;
            rb = rb.headers(parts.headers);
            if !body.is_empty() {
                rb = rb.body(body);
            }
            let resp = rb
                .send()
                .await
                .map_err(|e| BoxError::from(go_error_text(method.as_str(), &e)))?;
            Ok(http::Response::from(resp))
        })
    }
}
