//! The HTTP client settings shared by scrape configs, Alertmanagers, remote write/read and
//! some discovery mechanisms (Prometheus's `common/config.HTTPClientConfig`).
//!
//! Prometheus inlines these fields into each owner; [`with_http_client!`] does the same for
//! Firewatch's structs (serde's `flatten` cannot be combined with refusing unknown fields),
//! and each owner converts to and from the standalone [`HttpClientConfig`].

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::secret::{Secret, Url};
use crate::yaml::{At, Invalid, go_quote, nullable};

pub(crate) fn yes() -> bool {
    true
}

pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// HTTP basic authentication.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasicAuth {
    /// The user name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    /// A file holding the user name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username_file: String,
    /// A reference to a user name held elsewhere.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username_ref: String,
    /// The password.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub password: Secret,
    /// A file holding the password.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password_file: String,
    /// A reference to a password held elsewhere.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password_ref: String,
}

/// Credentials sent in the `Authorization` header.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authorization {
    /// The scheme (`Bearer` when empty).
    #[serde(default, rename = "type", skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The credentials.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub credentials: Secret,
    /// A file holding the credentials.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credentials_file: String,
    /// A reference to credentials held elsewhere.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub credentials_ref: String,
}

/// TLS settings of a client.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// CA certificate(s), PEM.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca: String,
    /// Client certificate, PEM.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert: String,
    /// Client key, PEM.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub key: Secret,
    /// File with the CA certificate(s).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca_file: String,
    /// File with the client certificate.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert_file: String,
    /// File with the client key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_file: String,
    /// Reference to a CA held elsewhere.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ca_ref: String,
    /// Reference to a certificate held elsewhere.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub cert_ref: String,
    /// Reference to a key held elsewhere.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_ref: String,
    /// Server name for SNI and verification.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub server_name: String,
    /// Skip verification of the server's certificate.
    #[serde(default)]
    pub insecure_skip_verify: bool,
    /// Lowest TLS version: `TLS10`..`TLS13`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<TlsVersion>,
    /// Highest TLS version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_version: Option<TlsVersion>,
}

/// A TLS protocol version as Prometheus names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TlsVersion {
    /// TLS 1.0.
    #[serde(rename = "TLS10")]
    Tls10,
    /// TLS 1.1.
    #[serde(rename = "TLS11")]
    Tls11,
    /// TLS 1.2.
    #[serde(rename = "TLS12")]
    Tls12,
    /// TLS 1.3.
    #[serde(rename = "TLS13")]
    Tls13,
}

impl TlsConfig {
    /// Whether nothing is set (then it is not shown, as in Prometheus).
    #[must_use]
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// Prometheus's checks of the TLS settings.
    pub fn validate(&self) -> Result<(), Invalid> {
        let count = |v: &[bool]| v.iter().filter(|b| **b).count();
        if count(&[
            !self.ca.is_empty(),
            !self.ca_file.is_empty(),
            !self.ca_ref.is_empty(),
        ]) > 1
        {
            return Err(Invalid::new(
                "at most one of ca, ca_file & ca_ref must be configured",
            ));
        }
        let cert = count(&[
            !self.cert.is_empty(),
            !self.cert_file.is_empty(),
            !self.cert_ref.is_empty(),
        ]);
        if cert > 1 {
            return Err(Invalid::new(
                "at most one of cert, cert_file & cert_ref must be configured",
            ));
        }
        let key = count(&[
            !self.key.is_empty(),
            !self.key_file.is_empty(),
            !self.key_ref.is_empty(),
        ]);
        if key > 1 {
            return Err(Invalid::new(
                "at most one of key and key_file must be configured",
            ));
        }
        if cert > 0 && key == 0 {
            return Err(Invalid::new(
                "exactly one of key or key_file must be configured when a client certificate is configured",
            ));
        }
        if key > 0 && cert == 0 {
            return Err(Invalid::new(
                "exactly one of cert or cert_file must be configured when a client key is configured",
            ));
        }
        Ok(())
    }

    fn set_directory(&mut self, dir: &std::path::Path) {
        for f in [&mut self.ca_file, &mut self.cert_file, &mut self.key_file] {
            *f = crate::join_dir(dir, f);
        }
    }
}

/// Extra headers sent with each request: literal values, secrets and values read from files.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// Literal values.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub values: Vec<String>,
    /// Secret values.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub secrets: Vec<Secret>,
    /// Files whose contents are values.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub files: Vec<String>,
}

/// The headers Prometheus refuses in `http_headers` (canonical spelling).
const RESERVED_HEADERS: &[&str] = &[
    "Authorization",
    "Host",
    "Content-Encoding",
    "Content-Length",
    "Content-Type",
    "User-Agent",
    "Connection",
    "Keep-Alive",
    "Proxy-Authenticate",
    "Proxy-Authorization",
    "Www-Authenticate",
    "Accept-Encoding",
    "X-Prometheus-Remote-Write-Version",
    "X-Prometheus-Remote-Read-Version",
    "X-Prometheus-Scrape-Timeout-Seconds",
    "X-Amz-Date",
    "X-Amz-Security-Token",
    "X-Amz-Content-Sha256",
];

/// Go's `http.CanonicalHeaderKey`: each dash-separated word capitalised.
#[must_use]
pub fn canonical_header(name: &str) -> String {
    if name.contains(|c: char| c == ' ' || !c.is_ascii()) {
        return name.to_string();
    }
    let mut out = String::with_capacity(name.len());
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper {
            c.to_ascii_uppercase()
        } else {
            c.to_ascii_lowercase()
        });
        upper = c == '-';
    }
    out
}

/// OAuth 2.0 client credentials (or JWT bearer) used to fetch tokens.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuth2 {
    /// Client id.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_id: String,
    /// Client secret.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub client_secret: Secret,
    /// File holding the client secret.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_secret_file: String,
    /// Reference to a client secret held elsewhere.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_secret_ref: String,
    /// Key id for JWT bearer grants.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_certificate_key_id: String,
    /// Private key for JWT bearer grants.
    #[serde(default, skip_serializing_if = "Secret::is_empty")]
    pub client_certificate_key: Secret,
    /// File holding that key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_certificate_key_file: String,
    /// Reference to that key.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub client_certificate_key_ref: String,
    /// Grant type (client credentials when empty).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub grant_type: String,
    /// JWT signature algorithm (RS256, RS384, RS512).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub signature_algorithm: String,
    /// JWT issuer.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub iss: String,
    /// JWT audience.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub audience: String,
    /// Extra JWT claims.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub claims: BTreeMap<String, String>,
    /// Scopes to request.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub scopes: Vec<String>,
    /// The token endpoint.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token_url: String,
    /// Extra parameters for the token endpoint.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub endpoint_params: BTreeMap<String, String>,
    /// TLS towards the token endpoint.
    #[serde(
        default,
        deserialize_with = "crate::yaml::nullable",
        skip_serializing_if = "crate::http::TlsConfig::is_default"
    )]
    pub tls_config: TlsConfig,
    /// Proxy towards the token endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proxy_url: Option<Url>,
    /// Hosts that bypass the proxy.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub no_proxy: String,
    /// Use the proxy from the environment.
    #[serde(default, skip_serializing_if = "is_false")]
    pub proxy_from_environment: bool,
    /// Headers for the proxy's CONNECT.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub proxy_connect_header: BTreeMap<String, Vec<Secret>>,
}

/// An HTTP client's settings, standalone (owners hold the same fields inline).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HttpClientConfig {
    /// Basic authentication.
    pub basic_auth: Option<BasicAuth>,
    /// `Authorization` header credentials (a legacy bearer token is moved here).
    pub authorization: Option<Authorization>,
    /// OAuth 2.0.
    pub oauth2: Option<OAuth2>,
    /// Legacy bearer token.
    pub bearer_token: Secret,
    /// Legacy bearer token file.
    pub bearer_token_file: String,
    /// TLS.
    pub tls_config: TlsConfig,
    /// Follow 3xx redirects.
    pub follow_redirects: bool,
    /// Allow HTTP/2.
    pub enable_http2: bool,
    /// Proxy URL.
    pub proxy_url: Option<Url>,
    /// Hosts that bypass the proxy.
    pub no_proxy: String,
    /// Use the proxy from the environment.
    pub proxy_from_environment: bool,
    /// Headers for the proxy's CONNECT.
    pub proxy_connect_header: BTreeMap<String, Vec<Secret>>,
    /// Extra request headers.
    pub http_headers: Option<BTreeMap<String, Header>>,
}

impl Default for HttpClientConfig {
    fn default() -> Self {
        Self {
            basic_auth: None,
            authorization: None,
            oauth2: None,
            bearer_token: Secret::default(),
            bearer_token_file: String::new(),
            tls_config: TlsConfig::default(),
            follow_redirects: true,
            enable_http2: true,
            proxy_url: None,
            no_proxy: String::new(),
            proxy_from_environment: false,
            proxy_connect_header: BTreeMap::new(),
            http_headers: None,
        }
    }
}

impl HttpClientConfig {
    /// Prometheus's checks, with its texts; also moves a legacy `bearer_token(_file)` into
    /// `authorization` and defaults the authorization type to `Bearer`, as Prometheus does.
    pub fn validate(&mut self) -> Result<(), Invalid> {
        let has_bearer = !self.bearer_token.is_empty() || !self.bearer_token_file.is_empty();
        if !self.bearer_token.is_empty() && !self.bearer_token_file.is_empty() {
            return Err(Invalid::new(
                "at most one of bearer_token & bearer_token_file must be configured",
            ));
        }
        if (self.basic_auth.is_some() || self.oauth2.is_some()) && has_bearer {
            return Err(Invalid::new(
                "at most one of basic_auth, oauth2, bearer_token & bearer_token_file must be configured",
            ));
        }
        if let Some(b) = &self.basic_auth {
            let n = [
                !b.username.is_empty(),
                !b.username_file.is_empty(),
                !b.username_ref.is_empty(),
            ];
            if n.iter().filter(|x| **x).count() > 1 {
                return Err(Invalid::new(
                    "at most one of basic_auth username, username_file & username_ref must be configured",
                ))
                .key("basic_auth");
            }
            let n = [
                !b.password.is_empty(),
                !b.password_file.is_empty(),
                !b.password_ref.is_empty(),
            ];
            if n.iter().filter(|x| **x).count() > 1 {
                return Err(Invalid::new(
                    "at most one of basic_auth password, password_file & password_ref must be configured",
                ))
                .key("basic_auth");
            }
        }
        if let Some(a) = &mut self.authorization {
            if has_bearer {
                return Err(Invalid::new(
                    "authorization is not compatible with bearer_token & bearer_token_file",
                ));
            }
            let n = [
                !a.credentials.is_empty(),
                !a.credentials_file.is_empty(),
                !a.credentials_ref.is_empty(),
            ];
            if n.iter().filter(|x| **x).count() > 1 {
                return Err(Invalid::new(
                    "at most one of authorization credentials & credentials_file must be configured",
                ))
                .key("authorization");
            }
            a.kind = a.kind.trim().to_string();
            if a.kind.is_empty() {
                a.kind = "Bearer".to_string();
            }
            if a.kind.eq_ignore_ascii_case("basic") {
                return Err(Invalid::new(
                    "authorization type cannot be set to \"basic\", use \"basic_auth\" instead",
                ))
                .key("authorization");
            }
            if self.basic_auth.is_some() || self.oauth2.is_some() {
                return Err(Invalid::new(
                    "at most one of basic_auth, oauth2 & authorization must be configured",
                ));
            }
        } else if !self.bearer_token.is_empty() {
            self.authorization = Some(Authorization {
                kind: "Bearer".into(),
                credentials: std::mem::take(&mut self.bearer_token),
                ..Authorization::default()
            });
        } else if !self.bearer_token_file.is_empty() {
            self.authorization = Some(Authorization {
                kind: "Bearer".into(),
                credentials_file: std::mem::take(&mut self.bearer_token_file),
                ..Authorization::default()
            });
        }
        if let Some(o) = &self.oauth2 {
            if self.basic_auth.is_some() {
                return Err(Invalid::new(
                    "at most one of basic_auth, oauth2 & authorization must be configured",
                ));
            }
            if o.client_id.is_empty() {
                return Err(Invalid::new("oauth2 client_id must be configured")).key("oauth2");
            }
            if o.token_url.is_empty() {
                return Err(Invalid::new("oauth2 token_url must be configured")).key("oauth2");
            }
            let n = [
                !o.client_secret.is_empty(),
                !o.client_secret_file.is_empty(),
                !o.client_secret_ref.is_empty(),
            ];
            if o.grant_type != "urn:ietf:params:oauth:grant-type:jwt-bearer"
                && n.iter().filter(|x| **x).count() > 1
            {
                return Err(Invalid::new(
                    "at most one of oauth2 client_secret, client_secret_file & client_secret_ref must be configured using grant-type=client_credentials",
                ))
                .key("oauth2");
            }
            o.tls_config.validate().key("tls_config").key("oauth2")?;
        }
        self.tls_config.validate().key("tls_config")?;
        validate_proxy(
            self.proxy_url.as_ref(),
            &self.no_proxy,
            self.proxy_from_environment,
            &self.proxy_connect_header,
        )?;
        if let Some(h) = &self.http_headers {
            for name in h.keys() {
                let c = canonical_header(name);
                if RESERVED_HEADERS.contains(&c.as_str()) {
                    return Err(Invalid::new(format!(
                        "setting header {} is not allowed",
                        go_quote(&c)
                    )))
                    .key("http_headers");
                }
            }
        }
        Ok(())
    }

    /// Makes relative file names relative to `dir` (the configuration file's directory).
    pub fn set_directory(&mut self, dir: &std::path::Path) {
        self.tls_config.set_directory(dir);
        if let Some(b) = &mut self.basic_auth {
            b.username_file = crate::join_dir(dir, &b.username_file);
            b.password_file = crate::join_dir(dir, &b.password_file);
        }
        if let Some(a) = &mut self.authorization {
            a.credentials_file = crate::join_dir(dir, &a.credentials_file);
        }
        if let Some(o) = &mut self.oauth2 {
            o.client_secret_file = crate::join_dir(dir, &o.client_secret_file);
            o.client_certificate_key_file = crate::join_dir(dir, &o.client_certificate_key_file);
            o.tls_config.set_directory(dir);
        }
        if let Some(h) = &mut self.http_headers {
            for v in h.values_mut() {
                for f in &mut v.files {
                    *f = crate::join_dir(dir, f);
                }
            }
        }
        self.bearer_token_file = crate::join_dir(dir, &self.bearer_token_file);
    }
}

fn validate_proxy(
    url: Option<&Url>,
    no_proxy: &str,
    from_env: bool,
    connect: &BTreeMap<String, Vec<Secret>>,
) -> Result<(), Invalid> {
    let has_url = url.is_some_and(|u| !u.as_str().is_empty());
    if !connect.is_empty() && !from_env && !has_url {
        return Err(Invalid::new(
            "if proxy_connect_header is configured, proxy_url or proxy_from_environment must also be configured",
        ));
    }
    if from_env && has_url {
        return Err(Invalid::new(
            "if proxy_from_environment is configured, proxy_url must not be configured",
        ));
    }
    if from_env && !no_proxy.is_empty() {
        return Err(Invalid::new(
            "if proxy_from_environment is configured, no_proxy must not be configured",
        ));
    }
    if url.is_none() && !no_proxy.is_empty() {
        return Err(Invalid::new(
            "if no_proxy is configured, proxy_url must also be configured",
        ));
    }
    Ok(())
}

/// Declares a struct with Prometheus's inline HTTP client fields between two groups of its
/// own fields, plus `http_client()` / `set_http_client()` to convert to and from
/// [`HttpClientConfig`]. `enable_http2` defaults to the function given first.
macro_rules! with_http_client {
    (http2_default = $h2:literal;
     $(#[$m:meta])* pub struct $name:ident { $($before:tt)* } { $($after:tt)* }) => {
        $(#[$m])*
        pub struct $name {
            $($before)*
            /// Basic authentication.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub basic_auth: Option<$crate::http::BasicAuth>,
            /// `Authorization` header credentials.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub authorization: Option<$crate::http::Authorization>,
            /// OAuth 2.0.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub oauth2: Option<$crate::http::OAuth2>,
            /// Legacy bearer token (moved into `authorization` on load).
            #[serde(default, skip_serializing_if = "crate::secret::Secret::is_empty")]
            pub bearer_token: $crate::Secret,
            /// Legacy bearer token file (moved into `authorization` on load).
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub bearer_token_file: String,
            /// TLS.
            #[serde(default, deserialize_with = "crate::yaml::nullable", skip_serializing_if = "crate::http::TlsConfig::is_default")]
            pub tls_config: $crate::http::TlsConfig,
            /// Follow 3xx redirects.
            #[serde(default = "crate::http::yes")]
            pub follow_redirects: bool,
            /// Allow HTTP/2.
            #[serde(default = $h2)]
            pub enable_http2: bool,
            /// Proxy URL.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub proxy_url: Option<$crate::Url>,
            /// Hosts that bypass the proxy.
            #[serde(default, skip_serializing_if = "String::is_empty")]
            pub no_proxy: String,
            /// Use the proxy from the environment.
            #[serde(default, skip_serializing_if = "crate::http::is_false")]
            pub proxy_from_environment: bool,
            /// Headers for the proxy's CONNECT.
            #[serde(default, deserialize_with = "crate::yaml::nullable",
                    skip_serializing_if = "std::collections::BTreeMap::is_empty")]
            pub proxy_connect_header: std::collections::BTreeMap<String, Vec<$crate::Secret>>,
            /// Extra request headers.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub http_headers: Option<std::collections::BTreeMap<String, $crate::http::Header>>,
            $($after)*
        }

        impl $name {
            /// The HTTP client settings as one value.
            #[must_use]
            pub fn http_client(&self) -> $crate::http::HttpClientConfig {
                $crate::http::HttpClientConfig {
                    basic_auth: self.basic_auth.clone(),
                    authorization: self.authorization.clone(),
                    oauth2: self.oauth2.clone(),
                    bearer_token: self.bearer_token.clone(),
                    bearer_token_file: self.bearer_token_file.clone(),
                    tls_config: self.tls_config.clone(),
                    follow_redirects: self.follow_redirects,
                    enable_http2: self.enable_http2,
                    proxy_url: self.proxy_url.clone(),
                    no_proxy: self.no_proxy.clone(),
                    proxy_from_environment: self.proxy_from_environment,
                    proxy_connect_header: self.proxy_connect_header.clone(),
                    http_headers: self.http_headers.clone(),
                }
            }

            /// Replaces the HTTP client settings.
            pub fn set_http_client(&mut self, c: $crate::http::HttpClientConfig) {
                self.basic_auth = c.basic_auth;
                self.authorization = c.authorization;
                self.oauth2 = c.oauth2;
                self.bearer_token = c.bearer_token;
                self.bearer_token_file = c.bearer_token_file;
                self.tls_config = c.tls_config;
                self.follow_redirects = c.follow_redirects;
                self.enable_http2 = c.enable_http2;
                self.proxy_url = c.proxy_url;
                self.no_proxy = c.no_proxy;
                self.proxy_from_environment = c.proxy_from_environment;
                self.proxy_connect_header = c.proxy_connect_header;
                self.http_headers = c.http_headers;
            }

            /// Validates the HTTP client settings (normalising them as Prometheus does).
            fn validate_http_client(&mut self) -> Result<(), $crate::yaml::Invalid> {
                let mut c = self.http_client();
                c.validate()?;
                self.set_http_client(c);
                Ok(())
            }

            /// Makes the HTTP client's relative file names relative to `dir`.
            fn set_http_directory(&mut self, dir: &std::path::Path) {
                let mut c = self.http_client();
                c.set_directory(dir);
                self.set_http_client(c);
            }
        }
    };
}

/// The serde form of a standalone [`HttpClientConfig`], a nested `http_config:` section as
/// Alertmanager's receivers and `global:` write it.
#[allow(dead_code)]
mod section {
    use serde::{Deserialize, Serialize};

    with_http_client! {
        http2_default = "crate::http::yes";
        /// The fields of a `http_config:` section.
        #[derive(Clone, Debug, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Section {} {}
    }

    impl From<&super::HttpClientConfig> for Section {
        fn from(c: &super::HttpClientConfig) -> Self {
            let c = c.clone();
            Section {
                basic_auth: c.basic_auth,
                authorization: c.authorization,
                oauth2: c.oauth2,
                bearer_token: c.bearer_token,
                bearer_token_file: c.bearer_token_file,
                tls_config: c.tls_config,
                follow_redirects: c.follow_redirects,
                enable_http2: c.enable_http2,
                proxy_url: c.proxy_url,
                no_proxy: c.no_proxy,
                proxy_from_environment: c.proxy_from_environment,
                proxy_connect_header: c.proxy_connect_header,
                http_headers: c.http_headers,
            }
        }
    }
}

impl Serialize for HttpClientConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        section::Section::from(self).serialize(s)
    }
}

impl<'de> Deserialize<'de> for HttpClientConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(section::Section::deserialize(d)?.http_client())
    }
}
