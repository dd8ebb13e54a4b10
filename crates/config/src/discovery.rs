//! Service-discovery sections Firewatch runs: `static_configs`, `file_sd_configs`,
//! `http_sd_configs`, `dns_sd_configs` (and `kubernetes_sd_configs` in [`crate::kubernetes`]).

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::join_dir;
use crate::yaml::{At, Invalid, go_quote, nullable};

/// A static target group: addresses and the labels they share.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// `host:port` addresses.
    #[serde(default, deserialize_with = "nullable")]
    pub targets: Vec<String>,
    /// Labels for every target of the group.
    #[serde(
        default,
        deserialize_with = "crate::yaml::unique_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
}

impl StaticConfig {
    /// Prometheus's check that a target is an address, not a URL.
    pub fn check_targets(&self) -> Result<(), Invalid> {
        for (i, t) in self.targets.iter().enumerate() {
            if t.contains('/') {
                return Err(Invalid::new(format!(
                    "{} is not a valid hostname",
                    go_quote(t)
                )))
                .index(i)
                .key("targets");
            }
        }
        Ok(())
    }
}

fn default_file_refresh() -> Duration {
    Duration::from_secs(300)
}

/// Targets read from JSON or YAML files (re-read on change and every `refresh_interval`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSdConfig {
    /// File names; the last path element may hold one `*`.
    #[serde(default, deserialize_with = "nullable")]
    pub files: Vec<String>,
    /// Re-read interval (5m).
    #[serde(default = "default_file_refresh")]
    pub refresh_interval: Duration,
}

impl Default for FileSdConfig {
    fn default() -> Self {
        Self {
            files: Vec::new(),
            refresh_interval: default_file_refresh(),
        }
    }
}

impl FileSdConfig {
    /// Prometheus's checks.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.files.is_empty() {
            return Err(Invalid::new(
                "file service discovery config must contain at least one path name",
            ));
        }
        for (i, f) in self.files.iter().enumerate() {
            if !valid_file_sd_name(f) {
                return Err(Invalid::new(format!(
                    "path name {} is not valid for file discovery",
                    go_quote(f)
                )))
                .index(i)
                .key("files");
            }
        }
        Ok(())
    }

    pub(crate) fn set_directory(&mut self, dir: &Path) {
        for f in &mut self.files {
            *f = join_dir(dir, f);
        }
    }
}

/// Whether `name` is a file name (or pattern) file SD reads: Prometheus's
/// `^[^*]*(\*[^/]*)?\.(json|yml|yaml|JSON|YML|YAML)$`.
#[must_use]
pub fn valid_file_sd_name(name: &str) -> bool {
    let Some((stem, ext)) = name.rsplit_once('.') else {
        return false;
    };
    if !matches!(ext, "json" | "yml" | "yaml" | "JSON" | "YML" | "YAML") {
        return false;
    }
    match stem.find('*') {
        None => true,
        Some(i) => !stem[i + 1..].contains(['*', '/']),
    }
}

fn default_http_refresh() -> Duration {
    Duration::from_secs(60)
}

with_http_client! {
    http2_default = "crate::http::yes";
    /// Targets fetched as JSON from an HTTP endpoint.
    #[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct HttpSdConfig {
        /// Re-fetch interval (1m).
        #[serde(default = "default_http_refresh")]
        pub refresh_interval: Duration,
        /// The endpoint.
        #[serde(default)]
        pub url: String,
    } {}
}

impl HttpSdConfig {
    /// A section for `url` with every other field at its default.
    #[must_use]
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            ..crate::yaml::defaults()
        }
    }

    /// Prometheus's checks.
    pub fn validate(&mut self) -> Result<(), Invalid> {
        if self.url.is_empty() {
            return Err(Invalid::new("URL is missing"));
        }
        let u = crate::Url::parse(&self.url)
            .map_err(Invalid::new)
            .key("url")?;
        if u.scheme() != "http" && u.scheme() != "https" {
            return Err(Invalid::new("URL scheme must be 'http' or 'https'")).key("url");
        }
        if u.host().is_empty() {
            return Err(Invalid::new("host is missing in URL")).key("url");
        }
        self.validate_http_client()
    }

    pub(crate) fn set_directory(&mut self, dir: &Path) {
        self.set_http_directory(dir);
    }
}

fn default_dns_refresh() -> Duration {
    Duration::from_secs(30)
}

fn default_dns_type() -> String {
    "SRV".into()
}

/// Targets from DNS records (SRV, A, AAAA, MX, NS).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DnsSdConfig {
    /// Names to resolve.
    #[serde(default, deserialize_with = "nullable")]
    pub names: Vec<String>,
    /// Re-resolve interval (30s).
    #[serde(default = "default_dns_refresh")]
    pub refresh_interval: Duration,
    /// Record type (SRV).
    #[serde(default = "default_dns_type", rename = "type")]
    pub kind: String,
    /// Port for record types other than SRV.
    #[serde(default)]
    pub port: u16,
}

impl Default for DnsSdConfig {
    fn default() -> Self {
        Self {
            names: Vec::new(),
            refresh_interval: default_dns_refresh(),
            kind: default_dns_type(),
            port: 0,
        }
    }
}

impl DnsSdConfig {
    /// Prometheus's checks.
    pub fn validate(&self) -> Result<(), Invalid> {
        if self.names.is_empty() {
            return Err(Invalid::new(
                "DNS-SD config must contain at least one SRV record name",
            ));
        }
        match self.kind.to_ascii_uppercase().as_str() {
            "SRV" => Ok(()),
            "A" | "AAAA" | "MX" | "NS" if self.port == 0 => Err(Invalid::new(
                "a port is required in DNS-SD configs for all record types except SRV",
            )),
            "A" | "AAAA" | "MX" | "NS" => Ok(()),
            _ => Err(Invalid::new(format!(
                "invalid DNS-SD records type {}",
                self.kind
            )))
            .key("type"),
        }
    }
}
