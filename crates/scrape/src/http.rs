//! Fetching an exposition over HTTP: the client built from a scrape config's HTTP settings,
//! the `Accept` header from `scrape_protocols`, and the body size limit.

use std::sync::Once;
use std::time::Duration;

use config::{HttpClientConfig, ScrapeConfig, ScrapeProtocol};
use model::exposition::Format;

use crate::ScrapeError;

/// Installs rustls's ring provider once; reqwest is built without a default provider.
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// An HTTP client and the request settings of one scrape job.
#[derive(Debug, Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    accept: String,
    auth: Option<String>,
    basic: Option<(String, Option<String>)>,
    body_limit: Option<u64>,
    compression: bool,
    fallback: Option<Format>,
}

/// A fetched exposition.
#[derive(Debug)]
pub struct Fetched {
    /// The body, decompressed.
    pub body: Vec<u8>,
    /// The format the `Content-Type` names.
    pub format: Format,
}

fn read_file(path: &str, what: &str) -> Result<String, ScrapeError> {
    std::fs::read_to_string(path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| ScrapeError::Config(format!("unable to read {what} file {path}: {e}")))
}

/// The `Accept` header Prometheus sends for `protocols`: each with a falling `q`, then `*/*`.
#[must_use]
pub fn accept_header(protocols: &[ScrapeProtocol]) -> String {
    let usable: Vec<&str> = protocols
        .iter()
        .filter(|p| p.0 != "PrometheusProto")
        .filter_map(ScrapeProtocol::header)
        .collect();
    let mut weight = usable.len() + 1;
    let mut parts = Vec::with_capacity(usable.len() + 1);
    for h in usable {
        parts.push(format!("{h};q=0.{weight}"));
        weight -= 1;
    }
    parts.push(format!("*/*;q=0.{weight}"));
    parts.join(",")
}

fn protocol_format(p: &ScrapeProtocol) -> Option<Format> {
    match p.0.as_str() {
        "OpenMetricsText1.0.0" | "OpenMetricsText0.0.1" => Some(Format::OpenMetrics),
        "PrometheusText0.0.4" | "PrometheusText1.0.0" => Some(Format::Text),
        _ => None,
    }
}

impl Fetcher {
    /// A fetcher for the job `cfg`.
    ///
    /// # Errors
    /// Unreadable credential or certificate files, bad proxy URLs.
    pub fn new(cfg: &ScrapeConfig) -> Result<Self, ScrapeError> {
        install_crypto_provider();
        let http: HttpClientConfig = cfg.http_client();
        let mut builder = reqwest::Client::builder()
            .redirect(if http.follow_redirects {
                reqwest::redirect::Policy::limited(10)
            } else {
                reqwest::redirect::Policy::none()
            })
            .user_agent(concat!("Firewatch/", env!("CARGO_PKG_VERSION")))
            .no_gzip();
        if http.tls_config.insecure_skip_verify {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let ca = if http.tls_config.ca_file.is_empty() {
            http.tls_config.ca.clone()
        } else {
            read_file(&http.tls_config.ca_file, "CA")?
        };
        if !ca.is_empty() {
            let cert = reqwest::Certificate::from_pem(ca.as_bytes()).map_err(|e| {
                ScrapeError::Config(format!("unable to use specified CA cert: {e}"))
            })?;
            builder = builder.add_root_certificate(cert);
        }
        if let Some(proxy) = &http.proxy_url {
            let p = reqwest::Proxy::all(proxy.as_str())
                .map_err(|e| ScrapeError::Config(e.to_string()))?;
            builder = builder.proxy(p);
        } else if !http.proxy_from_environment {
            builder = builder.no_proxy();
        }
        let client = builder
            .build()
            .map_err(|e| ScrapeError::Config(e.to_string()))?;

        let auth = if let Some(a) = &http.authorization {
            let kind = if a.kind.is_empty() {
                "Bearer"
            } else {
                a.kind.as_str()
            };
            let creds = if a.credentials_file.is_empty() {
                a.credentials.expose().to_owned()
            } else {
                read_file(&a.credentials_file, "authorization credentials")?
            };
            Some(format!("{kind} {creds}"))
        } else if !http.bearer_token.is_empty() {
            Some(format!("Bearer {}", http.bearer_token.expose()))
        } else if !http.bearer_token_file.is_empty() {
            Some(format!(
                "Bearer {}",
                read_file(&http.bearer_token_file, "bearer token")?
            ))
        } else {
            None
        };
        let basic = match &http.basic_auth {
            Some(b) => {
                let user = if b.username_file.is_empty() {
                    b.username.clone()
                } else {
                    read_file(&b.username_file, "username")?
                };
                let pass = if b.password_file.is_empty() {
                    b.password.expose().to_owned()
                } else {
                    read_file(&b.password_file, "password")?
                };
                Some((user, Some(pass)))
            }
            None => None,
        };
        let protocols = cfg
            .scrape_protocols
            .clone()
            .unwrap_or_else(ScrapeProtocol::defaults);
        let limit = cfg.body_size_limit.bytes();
        Ok(Self {
            client,
            accept: accept_header(&protocols),
            auth,
            basic,
            body_limit: (limit > 0).then_some(limit as u64),
            compression: cfg.enable_compression,
            fallback: cfg
                .fallback_scrape_protocol
                .as_ref()
                .and_then(protocol_format),
        })
    }

    /// Fetches `url` within `timeout`.
    ///
    /// # Errors
    /// Connection errors, timeouts, non-200 answers, oversize bodies, unknown content types.
    pub async fn fetch(&self, url: &str, timeout: Duration) -> Result<Fetched, ScrapeError> {
        let mut req = self
            .client
            .get(url)
            .timeout(timeout)
            .header("Accept", &self.accept)
            .header(
                "X-Prometheus-Scrape-Timeout-Seconds",
                format!("{}", timeout.as_secs_f64()),
            );
        req = req.header(
            "Accept-Encoding",
            if self.compression { "gzip" } else { "identity" },
        );
        if let Some(a) = &self.auth {
            req = req.header("Authorization", a);
        }
        if let Some((u, p)) = &self.basic {
            req = req.basic_auth(u, p.as_ref());
        }
        let mut resp = req
            .send()
            .await
            .map_err(|e| ScrapeError::Http(discovery::http::error_text(&e)))?;
        if resp.status() != reqwest::StatusCode::OK {
            return Err(ScrapeError::Status(resp.status().to_string()));
        }
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let gzip = resp
            .headers()
            .get("content-encoding")
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"gzip"));
        let mut body = Vec::new();
        while let Some(chunk) = resp
            .chunk()
            .await
            .map_err(|e| ScrapeError::Http(discovery::http::error_text(&e)))?
        {
            body.extend_from_slice(&chunk);
            if self.body_limit.is_some_and(|l| body.len() as u64 > l) {
                return Err(ScrapeError::BodySizeLimit);
            }
        }
        if gzip {
            body = gunzip(&body, self.body_limit)?;
        }
        let format = if content_type.is_empty() {
            self.fallback.unwrap_or(Format::Text)
        } else {
            Format::from_content_type(&content_type)
        };
        Ok(Fetched { body, format })
    }
}

fn gunzip(data: &[u8], limit: Option<u64>) -> Result<Vec<u8>, ScrapeError> {
    use std::io::Read;
    let mut out = Vec::new();
    let decoder = flate2::read::GzDecoder::new(data);
    let cap = limit.map_or(u64::MAX, |l| l + 1);
    decoder
        .take(cap)
        .read_to_end(&mut out)
        .map_err(|e| ScrapeError::Http(format!("decompressing body: {e}")))?;
    if limit.is_some_and(|l| out.len() as u64 > l) {
        return Err(ScrapeError::BodySizeLimit);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_header_like_prometheus() {
        assert_eq!(
            accept_header(&ScrapeProtocol::defaults()),
            "application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
        );
        assert_eq!(
            accept_header(&[ScrapeProtocol::new("PrometheusText0.0.4")]),
            "text/plain;version=0.0.4;q=0.2,*/*;q=0.1"
        );
    }
}
