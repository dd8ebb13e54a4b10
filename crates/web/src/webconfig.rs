//! The web configuration file (`--web.config.file`), in the exporter-toolkit format Prometheus
//! uses: `tls_server_config`, `http_server_config` and `basic_auth_users` (bcrypt hashes), with
//! its validation and error texts, and the rustls server configuration it yields.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::server::WebPkiClientVerifier;
use serde::Deserialize;

use crate::cert_reload::{ReloadingCert, read_pem};
use crate::error::WebConfigError;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebConfig {
    /// TLS settings; TLS is on when any certificate, key or client setting is given.
    #[serde(default)]
    pub tls_server_config: TlsServerConfig,
    /// HTTP settings.
    #[serde(default)]
    pub http_server_config: HttpServerConfig,
    /// Rate limiting: at most `burst` requests at once, refilled one per `interval`.
    #[serde(default)]
    pub rate_limit: Option<RateLimit>,
    /// User name → bcrypt hash of the password; empty: no authentication.
    #[serde(default)]
    pub basic_auth_users: BTreeMap<String, String>,
    /// The file this was loaded from, read again by the server when it changes.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// `tls_server_config`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsServerConfig {
    /// Inline certificate (PEM).
    #[serde(default)]
    pub cert: String,
    /// Inline key (PEM).
    #[serde(default)]
    pub key: String,
    /// Inline client CA certificates (PEM).
    #[serde(default)]
    pub client_ca: String,
    /// Certificate file, relative to the config file's directory.
    #[serde(default)]
    pub cert_file: String,
    /// Key file.
    #[serde(default)]
    pub key_file: String,
    /// `NoClientCert`, `RequestClientCert`, `RequireAnyClientCert`, `VerifyClientCertIfGiven`
    /// or `RequireAndVerifyClientCert`.
    #[serde(default)]
    pub client_auth_type: String,
    /// Client CA file.
    #[serde(default)]
    pub client_ca_file: String,
    /// Allowed TLS 1.2 cipher suites by Go name (empty: the defaults).
    #[serde(default)]
    pub cipher_suites: Vec<String>,
    /// Curve preferences (`CurveP256`, `CurveP384`, `CurveP521`, `X25519`).
    #[serde(default)]
    pub curve_preferences: Vec<String>,
    /// Lowest TLS version (`TLS10`..`TLS13`; default TLS12).
    #[serde(default)]
    pub min_version: Option<String>,
    /// Highest TLS version (default TLS13).
    #[serde(default)]
    pub max_version: Option<String>,
    /// Ignored, as by Go's TLS stack nowadays.
    #[serde(default)]
    pub prefer_server_cipher_suites: Option<bool>,
    /// SANs a client certificate must carry one of.
    #[serde(default)]
    pub client_allowed_sans: Option<Vec<String>>,
}

/// `http_server_config`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpServerConfig {
    /// Offer HTTP/2 over TLS.
    #[serde(default = "yes")]
    pub http2: bool,
    /// Extra response headers (only the security headers exporter-toolkit allows).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

impl Default for HttpServerConfig {
    fn default() -> Self {
        Self {
            http2: true,
            headers: BTreeMap::new(),
        }
    }
}

/// `rate_limit`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Burst size.
    #[serde(default)]
    pub burst: u64,
    /// Interval between requests (Go duration).
    #[serde(default)]
    pub interval: String,
}

/// Headers that may be configured, with their allowed values (none listed: any value).
const ALLOWED_HEADERS: &[(&str, &[&str])] = &[
    ("Strict-Transport-Security", &[]),
    ("X-Content-Type-Options", &["nosniff"]),
    ("X-Frame-Options", &["deny", "sameorigin"]),
    ("X-XSS-Protection", &[]),
    ("Content-Security-Policy", &[]),
];

const TLS_VERSIONS: &[&str] = &["TLS10", "TLS11", "TLS12", "TLS13"];
const CURVES: &[&str] = &["CurveP256", "CurveP384", "CurveP521", "X25519"];

impl RateLimit {
    /// The interval in milliseconds; 0 (unset) means no limit.
    ///
    /// # Errors
    /// The interval is not a duration.
    pub fn interval_ms(&self) -> Result<i64, WebConfigError> {
        if self.interval.is_empty() {
            return Ok(0);
        }
        promql::parser::parse_duration(&self.interval).map_err(|_| {
            WebConfigError::Invalid(format!("invalid rate_limit interval {:?}", self.interval))
        })
    }
}

impl TlsServerConfig {
    /// Whether TLS is configured at all.
    #[must_use]
    pub fn is_enabled(&self) -> bool {
        [
            &self.cert_file,
            &self.cert,
            &self.key_file,
            &self.key,
            &self.client_ca_file,
            &self.client_ca,
            &self.client_auth_type,
        ]
        .iter()
        .any(|s| !s.is_empty())
    }
}

impl WebConfig {
    /// Reads and validates `path`; relative file names in it are relative to its directory.
    ///
    /// # Errors
    /// The file cannot be read or parsed, a field is unknown, a password is not a bcrypt hash,
    /// a header or TLS setting is invalid (exporter-toolkit's texts).
    pub fn load(path: &Path) -> Result<Self, WebConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| WebConfigError::Read {
            path: path.to_path_buf(),
            source: e,
        })?;
        let mut cfg = Self::parse(&text).map_err(|e| e.in_file(path))?;
        let dir = path.parent().unwrap_or(Path::new("."));
        let join = |p: &mut String| {
            if !p.is_empty() && Path::new(p.as_str()).is_relative() {
                *p = dir.join(&*p).display().to_string();
            }
        };
        join(&mut cfg.tls_server_config.cert_file);
        join(&mut cfg.tls_server_config.key_file);
        join(&mut cfg.tls_server_config.client_ca_file);
        if cfg.tls_server_config.is_enabled() {
            cfg.rustls_config().map_err(|e| e.in_file(path))?;
        }
        cfg.source = Some(path.to_path_buf());
        Ok(cfg)
    }

    /// Parses and validates the YAML text (file names are left as written).
    ///
    /// # Errors
    /// As [`WebConfig::load`], without the TLS file checks.
    pub fn parse(text: &str) -> Result<Self, WebConfigError> {
        let cfg: WebConfig = if text.trim().is_empty() {
            WebConfig::default()
        } else {
            serde_saphyr::from_str(text).map_err(|e| WebConfigError::Yaml {
                path: PathBuf::new(),
                message: e.to_string(),
            })?
        };
        for (k, v) in &cfg.http_server_config.headers {
            let Some((_, allowed)) = ALLOWED_HEADERS.iter().find(|(name, _)| name == k) else {
                return Err(WebConfigError::Invalid(format!(
                    "HTTP header {k:?} can not be configured"
                )));
            };
            if !allowed.is_empty() && !allowed.contains(&v.as_str()) {
                return Err(WebConfigError::Invalid(format!(
                    "invalid value for {k}. Expected one of: {allowed:?}, but got: {v:?}"
                )));
            }
        }
        for (user, hash) in &cfg.basic_auth_users {
            if hash.parse::<bcrypt::HashParts>().is_err() {
                return Err(WebConfigError::Invalid(format!(
                    "crypto/bcrypt: hashedSecret too short to be a bcrypted password (user {user:?})"
                )));
            }
        }
        if let Some(rl) = &cfg.rate_limit {
            rl.interval_ms()?;
        }
        let tls = &cfg.tls_server_config;
        for v in [&tls.min_version, &tls.max_version].into_iter().flatten() {
            if !TLS_VERSIONS.contains(&v.as_str()) {
                return Err(WebConfigError::Invalid(format!("unknown TLS version: {v}")));
            }
        }
        for c in &tls.curve_preferences {
            if !CURVES.contains(&c.as_str()) {
                return Err(WebConfigError::Invalid(format!("unknown curve: {c}")));
            }
        }
        for c in &tls.cipher_suites {
            if !tls12_suites().iter().any(|s| suite_name(s) == *c) {
                return Err(WebConfigError::Invalid(format!("unknown cipher: {c}")));
            }
        }
        Ok(cfg)
    }

    /// The rustls server configuration for `tls_server_config`.
    ///
    /// # Errors
    /// Missing certificate or key, unreadable files, an unknown client auth type, client CAs
    /// without a client auth policy, no TLS version between min and max.
    pub fn rustls_config(&self) -> Result<Arc<rustls::ServerConfig>, WebConfigError> {
        let t = &self.tls_server_config;
        if t.cert_file.is_empty() && t.cert.is_empty() {
            return Err(WebConfigError::Invalid(
                "missing one of cert or cert_file".to_owned(),
            ));
        }
        if t.key_file.is_empty() && t.key.is_empty() {
            return Err(WebConfigError::Invalid(
                "missing one of key or key_file".to_owned(),
            ));
        }
        let ca_pem = read_pem(&t.client_ca_file, &t.client_ca, "client_ca_file")?;
        let mut roots = rustls::RootCertStore::empty();
        for c in CertificateDer::pem_slice_iter(&ca_pem) {
            let c = c.map_err(|e| WebConfigError::Invalid(format!("client CA: {e}")))?;
            roots
                .add(c)
                .map_err(|e| WebConfigError::Invalid(format!("client CA: {e}")))?;
        }
        let has_ca = !t.client_ca_file.is_empty() || !t.client_ca.is_empty();
        if t.client_allowed_sans.is_some() {
            return Err(WebConfigError::Invalid(
                "client_allowed_sans is not supported by Firewatch".to_owned(),
            ));
        }
        let provider = Arc::new(self.provider());
        let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
            .with_protocol_versions(&self.versions()?)
            .map_err(|e| WebConfigError::Invalid(e.to_string()))?;
        let verify = |allow_unauthenticated: bool| {
            let b = WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots.clone()),
                provider.clone(),
            );
            let b = if allow_unauthenticated {
                b.allow_unauthenticated()
            } else {
                b
            };
            b.build()
                .map_err(|e| WebConfigError::Invalid(format!("client CA: {e}")))
        };
        let builder = match t.client_auth_type.as_str() {
            "" | "NoClientCert" => {
                if has_ca {
                    return Err(WebConfigError::Invalid(
                        "client CA's have been configured without a Client Auth Policy".to_owned(),
                    ));
                }
                builder.with_no_client_auth()
            }
            "VerifyClientCertIfGiven" => builder.with_client_cert_verifier(verify(true)?),
            "RequireAndVerifyClientCert" => builder.with_client_cert_verifier(verify(false)?),
            "RequestClientCert" => builder.with_client_cert_verifier(Arc::new(
                crate::client_auth::AnyClientCert::new(provider.clone(), false),
            )),
            "RequireAnyClientCert" | "RequireClientCert" => {
                builder.with_client_cert_verifier(Arc::new(crate::client_auth::AnyClientCert::new(
                    provider.clone(),
                    true,
                )))
            }
            other => {
                return Err(WebConfigError::Invalid(format!(
                    "invalid ClientAuth: {other}"
                )));
            }
        };
        let mut cfg =
            builder.with_cert_resolver(Arc::new(ReloadingCert::new(t.clone(), provider)?));
        cfg.alpn_protocols = if self.http_server_config.http2 {
            vec![b"h2".to_vec(), b"http/1.1".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        Ok(Arc::new(cfg))
    }

    /// The TLS versions rustls supports between `min_version` and `max_version`.
    fn versions(&self) -> Result<Vec<&'static rustls::SupportedProtocolVersion>, WebConfigError> {
        let t = &self.tls_server_config;
        let rank = |v: &Option<String>, default: usize| {
            v.as_deref()
                .and_then(|v| TLS_VERSIONS.iter().position(|x| *x == v))
                .unwrap_or(default)
        };
        let (min, max) = (rank(&t.min_version, 2), rank(&t.max_version, 3));
        let mut out = Vec::new();
        if min <= 2 && max >= 2 {
            out.push(&rustls::version::TLS12);
        }
        if min <= 3 && max >= 3 {
            out.push(&rustls::version::TLS13);
        }
        if out.is_empty() {
            return Err(WebConfigError::Invalid(
                "no supported versions satisfy MinVersion and MaxVersion".to_owned(),
            ));
        }
        Ok(out)
    }

    /// The ring provider restricted to the configured TLS 1.2 suites and curves.
    fn provider(&self) -> rustls::crypto::CryptoProvider {
        let t = &self.tls_server_config;
        let mut p = rustls::crypto::ring::default_provider();
        if !t.cipher_suites.is_empty() {
            p.cipher_suites.retain(|s| match s {
                rustls::SupportedCipherSuite::Tls12(_) => {
                    t.cipher_suites.iter().any(|c| *c == suite_name(s))
                }
                rustls::SupportedCipherSuite::Tls13(_) => true,
            });
        }
        if !t.curve_preferences.is_empty() {
            let wanted: Vec<rustls::NamedGroup> = t
                .curve_preferences
                .iter()
                .filter_map(|c| match c.as_str() {
                    "CurveP256" => Some(rustls::NamedGroup::secp256r1),
                    "CurveP384" => Some(rustls::NamedGroup::secp384r1),
                    "CurveP521" => Some(rustls::NamedGroup::secp521r1),
                    "X25519" => Some(rustls::NamedGroup::X25519),
                    _ => None,
                })
                .collect();
            p.kx_groups.retain(|g| wanted.contains(&g.name()));
        }
        p
    }
}

fn tls12_suites() -> Vec<rustls::SupportedCipherSuite> {
    rustls::crypto::ring::default_provider()
        .cipher_suites
        .into_iter()
        .filter(|s| matches!(s, rustls::SupportedCipherSuite::Tls12(_)))
        .collect()
}

/// A suite's IANA name, which Go also uses for TLS 1.2 suites.
fn suite_name(s: &rustls::SupportedCipherSuite) -> String {
    format!("{:?}", s.suite())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_problem() {
        let err = |y: &str| WebConfig::parse(y).unwrap_err().to_string();
        assert!(err("basic_auth_users:\n  john: doe\n").contains("hashedSecret too short"));
        assert!(
            err("tls_server_config:\n  min_version: TLS111\n")
                .contains("unknown TLS version: TLS111")
        );
        assert!(
            err("tls_server_config:\n  curve_preferences: [CurveP257]\n").contains("unknown curve")
        );
        assert!(
            err("tls_server_config:\n  cipher_suites: [TLS_INVENTED]\n").contains("unknown cipher")
        );
        assert!(
            err("http_server_config:\n  headers:\n    X-Frame-Options: allow\n")
                .contains("invalid value for X-Frame-Options")
        );
        assert!(
            err("http_server_config:\n  headers:\n    Server: x\n")
                .contains("HTTP header \"Server\" can not be configured")
        );
        assert!(err("junk: 1\n").contains("junk"), "unknown fields refused");
        let cfg = WebConfig::parse("tls_server_config:\n  cert_file: x.crt\n").unwrap();
        assert!(
            cfg.rustls_config()
                .unwrap_err()
                .to_string()
                .contains("missing one of key or key_file")
        );
        let cfg =
            WebConfig::parse("tls_server_config:\n  client_auth_type: Foo\n  cert: x\n  key: y\n")
                .unwrap();
        assert!(cfg.tls_server_config.is_enabled());
    }

    #[test]
    fn suites_have_go_names() {
        assert!(
            tls12_suites()
                .iter()
                .any(|s| suite_name(s) == "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")
        );
        let cfg = WebConfig::parse(
            "tls_server_config:\n  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]\n",
        )
        .unwrap();
        assert_eq!(cfg.tls_server_config.cipher_suites.len(), 1);
    }
}
