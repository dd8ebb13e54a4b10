//! The HTTP client of one Alertmanager set, from its `http_client_config` (basic auth,
//! authorization, legacy bearer token, TLS, proxy, redirects, extra headers), and the POST of one
//! payload to one Alertmanager.
//!
//! Credentials given as files are read at each request, as Prometheus's round trippers do, so
//! a rotated token is picked up without a reload.

use std::time::Duration;

use config::{HttpClientConfig, TlsVersion};

use super::error::NotifierError;

/// A value given inline or read from a file at each use.
#[derive(Debug, Clone)]
enum Credential {
    Inline(String),
    File(String),
}

impl Credential {
    fn new(inline: &str, file: &str) -> Self {
        if file.is_empty() {
            Self::Inline(inline.to_owned())
        } else {
            Self::File(file.to_owned())
        }
    }

    fn resolve(&self) -> Result<String, String> {
        match self {
            Self::Inline(s) => Ok(s.clone()),
            Self::File(path) => std::fs::read_to_string(path)
                .map(|s| s.trim().to_owned())
                .map_err(|e| format!("unable to read file {path}: {e}")),
        }
    }
}

#[derive(Debug, Clone)]
enum Auth {
    None,
    Header {
        kind: String,
        credentials: Credential,
    },
    Basic {
        user: Credential,
        password: Credential,
    },
}

/// The client of one Alertmanager set.
#[derive(Debug, Clone)]
pub(crate) struct AmClient {
    client: reqwest::Client,
    auth: Auth,
    headers: Vec<(String, Credential)>,
}

fn read(set: &str, what: &'static str, path: &str) -> Result<String, NotifierError> {
    std::fs::read_to_string(path).map_err(|source| NotifierError::ReadFile {
        set: set.to_owned(),
        what,
        path: path.to_owned(),
        source,
    })
}

fn inline_or_file(
    set: &str,
    what: &'static str,
    inline: &str,
    file: &str,
) -> Result<String, NotifierError> {
    if file.is_empty() {
        Ok(inline.to_owned())
    } else {
        read(set, what, file)
    }
}

impl AmClient {
    /// Builds the client of set `set` from `http`.
    pub(crate) fn new(set: &str, http: &HttpClientConfig) -> Result<Self, NotifierError> {
        discovery::ensure_crypto_provider();
        let client_err = |message: String| NotifierError::Client {
            set: set.to_owned(),
            message,
        };
        let mut builder = reqwest::Client::builder()
            .redirect(if http.follow_redirects {
                reqwest::redirect::Policy::limited(10)
            } else {
                reqwest::redirect::Policy::none()
            })
            .user_agent(concat!("Firewatch/", env!("CARGO_PKG_VERSION")));
        if !http.enable_http2 {
            builder = builder.http1_only();
        }
        let tls = &http.tls_config;
        if tls.insecure_skip_verify {
            builder = builder.danger_accept_invalid_certs(true);
        }
        let ca = inline_or_file(set, "CA", &tls.ca, &tls.ca_file)?;
        if !ca.is_empty() {
            let cert = reqwest::Certificate::from_pem(ca.as_bytes())
                .map_err(|e| client_err(format!("unable to use specified CA cert: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let cert = inline_or_file(set, "client certificate", &tls.cert, &tls.cert_file)?;
        let key = inline_or_file(set, "client key", tls.key.expose(), &tls.key_file)?;
        if !cert.is_empty() && !key.is_empty() {
            let pem = format!("{cert}\n{key}");
            let id = reqwest::Identity::from_pem(pem.as_bytes())
                .map_err(|e| client_err(format!("unable to use client certificate: {e}")))?;
            builder = builder.identity(id);
        }
        if let Some(v) = tls.min_version {
            builder = builder.tls_version_min(tls_version(v));
        }
        if let Some(v) = tls.max_version {
            builder = builder.tls_version_max(tls_version(v));
        }
        if http.oauth2.is_some() {
            tracing::warn!(
                set,
                "oauth2 is not supported for Alertmanagers yet; requests go without it"
            );
        }
        if let Some(proxy) = &http.proxy_url {
            let mut p =
                reqwest::Proxy::all(proxy.as_str()).map_err(|e| client_err(e.to_string()))?;
            if !http.no_proxy.is_empty() {
                p = p.no_proxy(reqwest::NoProxy::from_string(&http.no_proxy));
            }
            builder = builder.proxy(p);
        } else if !http.proxy_from_environment {
            builder = builder.no_proxy();
        }
        let client = builder.build().map_err(|e| client_err(e.to_string()))?;

        let auth = if let Some(a) = &http.authorization {
            Auth::Header {
                kind: if a.kind.is_empty() {
                    "Bearer".to_owned()
                } else {
                    a.kind.clone()
                },
                credentials: Credential::new(a.credentials.expose(), &a.credentials_file),
            }
        } else if !http.bearer_token.is_empty() || !http.bearer_token_file.is_empty() {
            Auth::Header {
                kind: "Bearer".to_owned(),
                credentials: Credential::new(http.bearer_token.expose(), &http.bearer_token_file),
            }
        } else if let Some(b) = &http.basic_auth {
            Auth::Basic {
                user: Credential::new(&b.username, &b.username_file),
                password: Credential::new(b.password.expose(), &b.password_file),
            }
        } else {
            Auth::None
        };
        let mut headers = Vec::new();
        for (name, h) in http.http_headers.iter().flatten() {
            headers.extend(
                h.values
                    .iter()
                    .map(|v| (name.clone(), Credential::Inline(v.clone()))),
            );
            headers.extend(
                h.secrets
                    .iter()
                    .map(|v| (name.clone(), Credential::Inline(v.expose().to_owned()))),
            );
            headers.extend(
                h.files
                    .iter()
                    .map(|f| (name.clone(), Credential::File(f.clone()))),
            );
        }
        Ok(Self {
            client,
            auth,
            headers,
        })
    }

    /// POSTs `body` (JSON) to `url` within `timeout`; any 2xx answer is success.
    pub(crate) async fn post(
        &self,
        url: &str,
        body: &[u8],
        timeout: Duration,
    ) -> Result<(), String> {
        let mut req = self
            .client
            .post(url)
            .timeout(timeout)
            .header("Content-Type", "application/json")
            .body(body.to_vec());
        match &self.auth {
            Auth::None => {}
            Auth::Header { kind, credentials } => {
                req = req.header(
                    "Authorization",
                    format!("{kind} {}", credentials.resolve()?),
                );
            }
            Auth::Basic { user, password } => {
                req = req.basic_auth(user.resolve()?, Some(password.resolve()?));
            }
        }
        for (name, value) in &self.headers {
            req = req.header(name.as_str(), value.resolve()?);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| discovery::http::error_text(&e))?;
        let status = resp.status();
        // Read the body so the connection can be reused.
        let _ = resp.bytes().await;
        if !status.is_success() {
            return Err(format!("bad response status {status}"));
        }
        Ok(())
    }
}

fn tls_version(v: TlsVersion) -> reqwest::tls::Version {
    match v {
        TlsVersion::Tls10 => reqwest::tls::Version::TLS_1_0,
        TlsVersion::Tls11 => reqwest::tls::Version::TLS_1_1,
        TlsVersion::Tls12 => reqwest::tls::Version::TLS_1_2,
        TlsVersion::Tls13 => reqwest::tls::Version::TLS_1_3,
    }
}
