//! The one HTTP client of Firewatch's outgoing requests (scrapes, Alertmanagers, HTTP SD), built
//! from a `http_client_config` as Prometheus's `common/config.NewClientFromConfig` builds it.
//!
//! Covered: `basic_auth` (username/password inline or from files), `authorization` (type and
//! credentials or credentials file; a legacy `bearer_token(_file)` is treated as one), `oauth2`
//! client credentials (token cached until expiry), `tls_config` (CA, client certificate and key,
//! `server_name`, `insecure_skip_verify`, version range), `proxy_url` with `no_proxy` and
//! `proxy_connect_header`, `proxy_from_environment`, `follow_redirects`, `enable_http2` and
//! `http_headers` (values, secrets, files).
//!
//! As in Prometheus, secrets held in files are read at each request (a rotated token is used
//! without a reload) and the TLS files are compared at each request: when one changed, the
//! connection pool is rebuilt with the new material.
//!
//! Users: scrape (`scrape/src/http.rs`), the notifier (`rules/src/notifier/client.rs`), HTTP and
//! Kubernetes service discovery; next, remote write and the Alertmanager's integrations.

pub mod error;
mod go_error;
mod oauth2;
mod tls;

use std::sync::Arc;
use std::time::Duration;

use config::{HttpClientConfig, TlsConfig};
use parking_lot::Mutex;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

pub use go_error::{go_cause, go_error_text, go_method, request_error_text};

pub use error::HttpClientError;
use tls::TlsMaterial;

/// Installs rustls's `ring` provider as the process default unless one is installed already.
///
/// reqwest and kube are built without a bundled provider (see DESIGN.md); the binary installs it
/// at start-up, and this makes clients safe to use from tests and other embeddings too.
pub fn ensure_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Another thread may win the race; either way a provider is installed afterwards.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Settings of a client that are not part of the configuration file.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Timeout of each whole request (none: callers set one per request).
    pub timeout: Option<Duration>,
    /// Ask for gzip and decompress transparently (scrapes handle gzip themselves).
    pub gzip: bool,
    /// `User-Agent` of every request.
    pub user_agent: String,
}

impl Default for ClientOptions {
    fn default() -> Self {
        Self {
            timeout: None,
            gzip: true,
            user_agent: concat!("Firewatch/", env!("CARGO_PKG_VERSION")).to_owned(),
        }
    }
}

/// A value given inline or read from a file at each request (trimmed, as Prometheus does).
#[derive(Debug, Clone)]
enum Value {
    Inline(String),
    File(String),
}

impl Value {
    fn new(inline: &str, file: &str) -> Self {
        if file.is_empty() {
            Self::Inline(inline.to_owned())
        } else {
            Self::File(file.to_owned())
        }
    }

    fn resolve(&self, what: &str) -> Result<String, String> {
        match self {
            Self::Inline(s) => Ok(s.clone()),
            Self::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim().to_owned())
                .map_err(|e| format!("unable to read {what} file {path}: {e}")),
        }
    }
}

#[derive(Debug)]
enum Auth {
    None,
    Basic { user: Value, password: Value },
    Header { kind: String, credentials: Value },
    OAuth2(Box<oauth2::TokenSource>),
}

/// The parts of the configuration a rebuilt client needs again.
#[derive(Debug)]
struct Transport {
    tls: TlsConfig,
    follow_redirects: bool,
    http2: bool,
    proxy: Option<reqwest::Proxy>,
    proxy_from_environment: bool,
    options: ClientOptions,
}

impl Transport {
    fn build(&self, material: &TlsMaterial) -> Result<reqwest::Client, String> {
        let tls = tls::client_config(&self.tls, material, self.http2)?;
        let mut b = reqwest::Client::builder()
            .tls_backend_preconfigured(tls)
            .redirect(if self.follow_redirects {
                reqwest::redirect::Policy::limited(10)
            } else {
                reqwest::redirect::Policy::none()
            })
            .user_agent(self.options.user_agent.as_str())
            .gzip(self.options.gzip);
        if !self.http2 {
            b = b.http1_only();
        }
        if let Some(t) = self.options.timeout {
            b = b.timeout(t);
        }
        if let Some(p) = &self.proxy {
            b = b.proxy(p.clone());
        } else if !self.proxy_from_environment {
            b = b.no_proxy();
        }
        b.build().map_err(|e| e.to_string())
    }
}

#[derive(Debug)]
struct Built {
    material: TlsMaterial,
    client: reqwest::Client,
}

#[derive(Debug)]
struct Inner {
    transport: Transport,
    watch_files: bool,
    built: Mutex<Built>,
    auth: Auth,
    headers: Vec<(HeaderName, Value)>,
}

/// An HTTP client built from a `http_client_config`; cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpClient {
    inner: Arc<Inner>,
}

fn proxy(
    url: Option<&config::Url>,
    no_proxy: &str,
    connect: &std::collections::BTreeMap<String, Vec<config::Secret>>,
) -> Result<Option<reqwest::Proxy>, String> {
    let Some(url) = url.filter(|u| !u.as_str().is_empty()) else {
        return Ok(None);
    };
    let mut p = reqwest::Proxy::all(url.as_str()).map_err(|e| format!("invalid proxy_url: {e}"))?;
    if !no_proxy.is_empty() {
        p = p.no_proxy(reqwest::NoProxy::from_string(no_proxy));
    }
    if !connect.is_empty() {
        let mut h = HeaderMap::new();
        for (name, values) in connect {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| format!("invalid proxy_connect_header {name:?}: {e}"))?;
            for v in values {
                let v = HeaderValue::from_str(v.expose())
                    .map_err(|e| format!("invalid proxy_connect_header {name:?}: {e}"))?;
                h.append(n.clone(), v);
            }
        }
        p = p.headers(h);
    }
    Ok(Some(p))
}

impl HttpClient {
    /// A client for `cfg` with default options.
    ///
    /// # Errors
    /// Unreadable or invalid TLS material, bad proxy settings or header names.
    pub fn new(cfg: &HttpClientConfig) -> Result<Self, HttpClientError> {
        Self::with_options(cfg, ClientOptions::default())
    }

    /// A client for `cfg` with `options`.
    ///
    /// # Errors
    /// Unreadable or invalid TLS material, bad proxy settings or header names.
    pub fn with_options(
        cfg: &HttpClientConfig,
        options: ClientOptions,
    ) -> Result<Self, HttpClientError> {
        ensure_crypto_provider();
        let err = HttpClientError::Config;
        let transport = Transport {
            tls: cfg.tls_config.clone(),
            follow_redirects: cfg.follow_redirects,
            http2: cfg.enable_http2,
            proxy: proxy(
                cfg.proxy_url.as_ref(),
                &cfg.no_proxy,
                &cfg.proxy_connect_header,
            )
            .map_err(err)?,
            proxy_from_environment: cfg.proxy_from_environment,
            options,
        };
        let material = TlsMaterial::load(&cfg.tls_config).map_err(err)?;
        let client = transport.build(&material).map_err(err)?;
        let auth = auth(cfg)?;
        let mut headers = Vec::new();
        for (name, h) in cfg.http_headers.iter().flatten() {
            let n = HeaderName::from_bytes(name.as_bytes())
                .map_err(|e| err(format!("invalid header name {name:?}: {e}")))?;
            headers.extend(
                h.values
                    .iter()
                    .map(|v| (n.clone(), Value::Inline(v.clone()))),
            );
            headers.extend(
                h.secrets
                    .iter()
                    .map(|v| (n.clone(), Value::Inline(v.expose().to_owned()))),
            );
            headers.extend(h.files.iter().map(|f| (n.clone(), Value::File(f.clone()))));
        }
        Ok(Self {
            inner: Arc::new(Inner {
                watch_files: TlsMaterial::has_files(&cfg.tls_config),
                transport,
                built: Mutex::new(Built { material, client }),
                auth,
                headers,
            }),
        })
    }

    /// The current reqwest client: rebuilt first when a TLS file changed since the last build.
    fn client(&self) -> Result<reqwest::Client, String> {
        let inner = &self.inner;
        if !inner.watch_files {
            return Ok(inner.built.lock().client.clone());
        }
        let material = TlsMaterial::load(&inner.transport.tls)?;
        let mut built = inner.built.lock();
        if built.material != material {
            let client = inner.transport.build(&material)?;
            *built = Built { material, client };
        }
        Ok(built.client.clone())
    }

    /// A request of `method` to `url` carrying the configured credentials and headers; the
    /// caller adds its own headers, timeout and body, sends it and words transport errors with
    /// [`go_error_text`].
    ///
    /// # Errors
    /// Credentials that cannot be read or fetched (files, OAuth 2.0 token endpoint), or changed
    /// TLS files that are now invalid; the text is Go's `Get "URL": ...`.
    pub async fn request(
        &self,
        method: reqwest::Method,
        url: &str,
    ) -> Result<reqwest::RequestBuilder, HttpClientError> {
        let fail = |message: String| HttpClientError::Request {
            method: go_method(method.as_str()),
            url: url.to_owned(),
            message,
        };
        let client = self.client().map_err(fail)?;
        let mut req = client.request(method.clone(), url);
        match &self.inner.auth {
            Auth::None => {}
            Auth::Basic { user, password } => {
                let user = user.resolve("basic auth username").map_err(fail)?;
                let password = password.resolve("basic auth password").map_err(fail)?;
                req = req.basic_auth(user, Some(password));
            }
            Auth::Header { kind, credentials } => {
                let c = credentials
                    .resolve("authorization credentials")
                    .map_err(fail)?;
                req = req.header(reqwest::header::AUTHORIZATION, format!("{kind} {c}"));
            }
            Auth::OAuth2(source) => {
                let h = source.authorization().await.map_err(fail)?;
                req = req.header(reqwest::header::AUTHORIZATION, h);
            }
        }
        for (name, value) in &self.inner.headers {
            let v = value.resolve("header").map_err(fail)?;
            let v = HeaderValue::from_str(&v)
                .map_err(|e| fail(format!("invalid value of header {name}: {e}")))?;
            req = req.header(name, v);
        }
        Ok(req)
    }

    /// A GET request to `url`, as [`HttpClient::request`].
    ///
    /// # Errors
    /// As [`HttpClient::request`].
    pub async fn get(&self, url: &str) -> Result<reqwest::RequestBuilder, HttpClientError> {
        self.request(reqwest::Method::GET, url).await
    }

    /// A POST request to `url`, as [`HttpClient::request`].
    ///
    /// # Errors
    /// As [`HttpClient::request`].
    pub async fn post(&self, url: &str) -> Result<reqwest::RequestBuilder, HttpClientError> {
        self.request(reqwest::Method::POST, url).await
    }
}

fn auth(cfg: &HttpClientConfig) -> Result<Auth, HttpClientError> {
    if let Some(a) = &cfg.authorization {
        let kind = if a.kind.trim().is_empty() {
            "Bearer".to_owned()
        } else {
            a.kind.trim().to_owned()
        };
        return Ok(Auth::Header {
            kind,
            credentials: Value::new(a.credentials.expose(), &a.credentials_file),
        });
    }
    if !cfg.bearer_token.is_empty() || !cfg.bearer_token_file.is_empty() {
        return Ok(Auth::Header {
            kind: "Bearer".to_owned(),
            credentials: Value::new(cfg.bearer_token.expose(), &cfg.bearer_token_file),
        });
    }
    if let Some(b) = &cfg.basic_auth {
        return Ok(Auth::Basic {
            user: Value::new(&b.username, &b.username_file),
            password: Value::new(b.password.expose(), &b.password_file),
        });
    }
    if let Some(o) = &cfg.oauth2 {
        if o.grant_type == "urn:ietf:params:oauth:grant-type:jwt-bearer" {
            return Err(HttpClientError::Config(
                "oauth2 grant type jwt-bearer is not supported by Firewatch".to_owned(),
            ));
        }
        // The token endpoint is reached with the oauth2 section's own TLS and proxy settings.
        let token_cfg = HttpClientConfig {
            tls_config: o.tls_config.clone(),
            proxy_url: o.proxy_url.clone(),
            no_proxy: o.no_proxy.clone(),
            proxy_from_environment: o.proxy_from_environment,
            proxy_connect_header: o.proxy_connect_header.clone(),
            ..HttpClientConfig::default()
        };
        let token_client = HttpClient::new(&token_cfg)?;
        let client = token_client.client().map_err(HttpClientError::Config)?;
        return Ok(Auth::OAuth2(Box::new(oauth2::TokenSource::new(
            o.clone(),
            client,
        ))));
    }
    Ok(Auth::None)
}
