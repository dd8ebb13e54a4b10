//! Prometheus configuration: `prometheus.yml` and rule files, with Prometheus's defaults,
//! validation and error texts, and positions (file, line, column) for every error.
//!
//! Entry points: [`Config::load`], [`Config::from_yaml_str`], [`rules::RuleFile::load`].
//! Secrets are [`Secret`]s: serialising a [`Config`] (for `/api/v1/status/config`) gives
//! Prometheus's YAML shape with defaults filled in and secrets shown as `<secret>`.

#[macro_use]
mod http;

pub mod alerting;
pub mod check;
pub mod discovery;
pub mod duration;
pub mod error;
pub mod glob;
pub mod global;
pub mod kubernetes;
pub mod operator;
pub mod relabel;
pub mod remote;
pub mod rules;
pub mod scrape;
pub mod secret;
pub mod storage;
pub mod yaml;

pub use http::{Authorization, BasicAuth, Header, HttpClientConfig, OAuth2, TlsConfig, TlsVersion};

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

pub use alerting::{AlertingConfig, AlertmanagerConfig};
pub use discovery::{DnsSdConfig, FileSdConfig, HttpSdConfig, StaticConfig};
pub use duration::{Duration, Size};
pub use error::{ConfigError, RuleError, RuleFileError};
pub use global::{GlobalConfig, RuntimeConfig, ScrapeProtocol, ValidationScheme};
pub use kubernetes::KubernetesSdConfig;
pub use operator::{LabelSelector, OperatorConfig};
pub use relabel::RelabelConfig;
pub use remote::{MetadataConfig, QueueConfig, RemoteReadConfig, RemoteWriteConfig};
pub use scrape::{ScrapeConfig, ScrapeConfigs};
pub use secret::{Secret, Url};
pub use storage::{OtlpConfig, StorageConfig, TracingConfig};

use yaml::{At, Invalid, go_quote, nullable};

/// The whole `prometheus.yml`, validated, with defaults and inherited values filled in and
/// relative file names resolved against the file's directory.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Defaults for the other sections.
    #[serde(default, deserialize_with = "crate::yaml::nullable")]
    pub global: GlobalConfig,
    /// Process settings.
    #[serde(default, skip_serializing_if = "is_default_runtime")]
    pub runtime: RuntimeConfig,
    /// Alertmanagers and alert relabeling.
    #[serde(default, deserialize_with = "crate::yaml::nullable")]
    pub alerting: AlertingConfig,
    /// Rule file globs.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub rule_files: Vec<String>,
    /// Globs of files holding more scrape configs.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub scrape_config_files: Vec<String>,
    /// The scrape jobs of this file (see [`Config::all_scrape_configs`] for the included ones).
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub scrape_configs: Vec<Option<ScrapeConfig>>,
    /// Storage settings.
    #[serde(default, deserialize_with = "crate::yaml::nullable")]
    pub storage: StorageConfig,
    /// Tracing export (checked only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<TracingConfig>,
    /// Remote write queues.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub remote_write: Vec<Option<RemoteWriteConfig>>,
    /// Remote read endpoints.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub remote_read: Vec<Option<RemoteReadConfig>>,
    /// OTLP receiver translation.
    #[serde(default, deserialize_with = "crate::yaml::nullable")]
    pub otlp: OtlpConfig,
    /// Firewatch's extension: the Prometheus Operator's resources read from the Kubernetes
    /// API ([`OperatorConfig`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes_operator: Option<OperatorConfig>,
}

fn is_default_runtime(r: &RuntimeConfig) -> bool {
    *r == RuntimeConfig::default()
}

pub(crate) fn scrape_default_scheme() -> String {
    "http".into()
}

/// Go's `config.JoinDir`: `path` relative to `dir`, unless empty or absolute.
#[must_use]
pub fn join_dir(dir: &Path, path: &str) -> String {
    if path.is_empty() || Path::new(path).is_absolute() {
        return path.to_string();
    }
    clean_path(&format!("{}/{path}", dir.to_string_lossy()))
}

/// Go's `filepath.Clean`: the shortest lexically equal path (no `.`, resolved `..`, single
/// separators).
#[must_use]
pub fn clean_path(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => match parts.last() {
                Some(last) if *last != ".." => {
                    parts.pop();
                }
                _ if rooted => {}
                _ => parts.push(".."),
            },
            c => parts.push(c),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".to_string(),
        (false, false) => joined,
    }
}

/// `^[^*]*(\*[^/]*)?$`: at most one `*`, in the last path element.
fn valid_rule_path(p: &str) -> bool {
    match p.find('*') {
        None => true,
        Some(i) => !p[i + 1..].contains(['*', '/']),
    }
}

impl Config {
    /// Reads, parses and validates a `prometheus.yml`.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            file: path.to_path_buf(),
            source,
        })?;
        let dir = path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
        let dir = if dir.as_os_str().is_empty() {
            PathBuf::from(".")
        } else {
            dir
        };
        Self::parse(&text, &dir, path)
    }

    /// Parses and validates configuration text; relative file names are resolved against
    /// `base_dir`. Errors name the file `<string>`.
    pub fn from_yaml_str(text: &str, base_dir: impl AsRef<Path>) -> Result<Config, ConfigError> {
        Self::parse(text, base_dir.as_ref(), Path::new("<string>"))
    }

    fn parse(text: &str, dir: &Path, file: &Path) -> Result<Config, ConfigError> {
        let mut cfg: Config = yaml::decode(text, file)?;
        cfg.validate()
            .map_err(|inv| yaml::locate(&inv, text, file))?;
        cfg.global.expand_external_labels();
        cfg.set_directory(dir);
        Ok(cfg)
    }

    /// Prometheus's checks of the whole file, in Prometheus's order, filling in defaults.
    fn validate(&mut self) -> Result<(), Invalid> {
        self.global.validate().key("global")?;
        for (i, sc) in self.scrape_configs.iter_mut().enumerate() {
            if let Some(sc) = sc {
                sc.check_decoded().index(i).key("scrape_configs")?;
            }
        }
        self.storage.tsdb.validate().key("tsdb").key("storage")?;
        if let Some(t) = &self.tracing {
            t.validate().key("tracing")?;
        }
        self.otlp.validate().key("otlp")?;
        if let Some(op) = &mut self.kubernetes_operator {
            op.validate().key("kubernetes_operator")?;
        }
        for (i, rf) in self.rule_files.iter().enumerate() {
            if !valid_rule_path(rf) {
                return Err(Invalid::new(format!(
                    "invalid rule file path {}",
                    go_quote(rf)
                )))
                .index(i)
                .key("rule_files");
            }
        }
        for (i, sf) in self.scrape_config_files.iter().enumerate() {
            if !valid_rule_path(sf) {
                return Err(Invalid::new(format!(
                    "invalid scrape config file path {}",
                    go_quote(sf)
                )))
                .index(i)
                .key("scrape_config_files");
            }
        }
        let mut jobs = std::collections::HashSet::new();
        for (i, sc) in self.scrape_configs.iter_mut().enumerate() {
            let Some(sc) = sc else {
                return Err(Invalid::new("empty or null scrape config section"))
                    .index(i)
                    .key("scrape_configs");
            };
            sc.validate(&self.global).index(i).key("scrape_configs")?;
            if !jobs.insert(sc.job_name.clone()) {
                return Err(Invalid::new(format!(
                    "found multiple scrape configs with job name {}",
                    go_quote(&sc.job_name)
                )))
                .key("job_name")
                .index(i)
                .key("scrape_configs");
            }
        }
        let scheme = self.global.metric_name_validation_scheme;
        self.alerting.validate(scheme).key("alerting")?;
        let mut names = std::collections::HashSet::new();
        for (i, rw) in self.remote_write.iter_mut().enumerate() {
            let Some(rw) = rw else {
                return Err(Invalid::new("empty or null remote write config section"))
                    .index(i)
                    .key("remote_write");
            };
            if !rw.name.is_empty() && !names.insert(rw.name.clone()) {
                return Err(Invalid::new(format!(
                    "found multiple remote write configs with job name {}",
                    go_quote(&rw.name)
                )))
                .key("name")
                .index(i)
                .key("remote_write");
            }
            rw.validate(scheme).index(i).key("remote_write")?;
        }
        let mut names = std::collections::HashSet::new();
        for (i, rr) in self.remote_read.iter_mut().enumerate() {
            let Some(rr) = rr else {
                return Err(Invalid::new("empty or null remote read config section"))
                    .index(i)
                    .key("remote_read");
            };
            rr.validate().index(i).key("remote_read")?;
            if !rr.name.is_empty() && !names.insert(rr.name.clone()) {
                return Err(Invalid::new(format!(
                    "found multiple remote read configs with job name {}",
                    go_quote(&rr.name)
                )))
                .key("name")
                .index(i)
                .key("remote_read");
            }
        }
        self.otlp.validate_translation(scheme).key("otlp")
    }

    /// Makes every relative file name relative to `dir`.
    fn set_directory(&mut self, dir: &Path) {
        self.global.query_log_file = join_dir(dir, &self.global.query_log_file);
        self.global.scrape_failure_log_file = join_dir(dir, &self.global.scrape_failure_log_file);
        self.alerting.set_directory(dir);
        if let Some(t) = &mut self.tracing {
            for f in [
                &mut t.tls_config.ca_file,
                &mut t.tls_config.cert_file,
                &mut t.tls_config.key_file,
            ] {
                *f = join_dir(dir, f);
            }
        }
        for f in self
            .rule_files
            .iter_mut()
            .chain(self.scrape_config_files.iter_mut())
        {
            *f = join_dir(dir, f);
        }
        for sc in self.scrape_configs.iter_mut().flatten() {
            sc.set_directory(dir);
        }
        for rw in self.remote_write.iter_mut().flatten() {
            rw.set_directory(dir);
        }
        for rr in self.remote_read.iter_mut().flatten() {
            rr.set_directory(dir);
        }
        if let Some(op) = &mut self.kubernetes_operator {
            op.set_directory(dir);
        }
    }

    /// The scrape jobs of this file followed by those of the `scrape_config_files`, each
    /// validated against this file's `global` section (Prometheus's `GetScrapeConfigs`).
    pub fn all_scrape_configs(&self) -> Result<Vec<ScrapeConfig>, ConfigError> {
        let mut out: Vec<ScrapeConfig> = self.scrape_configs.iter().flatten().cloned().collect();
        let mut first_seen: HashMap<String, String> = out
            .iter()
            .map(|s| (s.job_name.clone(), "main config file".to_string()))
            .collect();
        for pattern in &self.scrape_config_files {
            let files = glob::glob(pattern).map_err(|e| ConfigError::Other {
                message: format!(
                    "error retrieving scrape config files for {}: {e}",
                    go_quote(pattern)
                ),
            })?;
            for file in files {
                let abs = std::path::absolute(&file).unwrap_or_else(|_| file.clone());
                let wrap = |inner: ConfigError| ConfigError::Included {
                    file: abs.clone(),
                    inner: Box::new(inner),
                };
                let text = std::fs::read_to_string(&file).map_err(|source| {
                    wrap(ConfigError::Io {
                        file: file.clone(),
                        source,
                    })
                })?;
                let parsed: ScrapeConfigs = yaml::decode(&text, &file).map_err(wrap)?;
                let dir = file
                    .parent()
                    .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
                for (i, sc) in parsed.scrape_configs.into_iter().enumerate() {
                    let locate = |inv: Invalid| {
                        wrap(yaml::locate(
                            &inv.index(i).key("scrape_configs"),
                            &text,
                            &file,
                        ))
                    };
                    let Some(mut sc) = sc else {
                        return Err(locate(Invalid::new("empty or null scrape config section")));
                    };
                    sc.check_decoded().map_err(locate)?;
                    sc.validate(&self.global).map_err(locate)?;
                    if let Some(first) = first_seen.get(&sc.job_name) {
                        return Err(wrap(ConfigError::Other {
                            message: format!(
                                "found multiple scrape configs with job name {}, first found in {first}",
                                go_quote(&sc.job_name)
                            ),
                        }));
                    }
                    first_seen.insert(sc.job_name.clone(), go_quote(&abs.to_string_lossy()));
                    sc.set_directory(&dir);
                    out.push(sc);
                }
            }
        }
        Ok(out)
    }

    /// One generated scrape configuration (`text`: YAML or JSON, as the operator crate writes
    /// it for a ServiceMonitor, PodMonitor...), decoded and validated like a job of this file
    /// against its `global` section; its Kubernetes discovery sections get the
    /// `kubernetes_operator` section's API server connection. Errors name `origin`.
    pub fn generated_scrape_config(
        &self,
        text: &str,
        origin: &str,
    ) -> Result<ScrapeConfig, ConfigError> {
        let file = Path::new(origin);
        let mut sc: ScrapeConfig = yaml::decode(text, file)?;
        if let Some(op) = &self.kubernetes_operator {
            for sd in sc.kubernetes_sd_configs.iter_mut().flatten() {
                op.connect(sd);
            }
        }
        let locate = |inv: Invalid| yaml::locate(&inv, text, file);
        sc.check_decoded().map_err(locate)?;
        sc.validate(&self.global).map_err(locate)?;
        Ok(sc)
    }

    /// The checks Prometheus makes in agent mode: no alerting, rule files or remote read.
    pub fn check_agent_mode(&self) -> Result<(), ConfigError> {
        let refuse = |field: &str| {
            Err(ConfigError::Other {
                message: format!("field {field} is not allowed in agent mode"),
            })
        };
        if !self.alerting.alertmanagers.is_empty()
            || !self.alerting.alert_relabel_configs.is_empty()
        {
            return refuse("alerting");
        }
        if !self.rule_files.is_empty() {
            return refuse("rule_files");
        }
        if !self.remote_read.is_empty() {
            return refuse("remote_read");
        }
        Ok(())
    }

    /// The rule files the `rule_files` globs name, sorted per pattern.
    pub fn rule_file_paths(&self) -> Result<Vec<PathBuf>, ConfigError> {
        let mut out = Vec::new();
        for pattern in &self.rule_files {
            let files = glob::glob(pattern).map_err(|e| ConfigError::Other {
                message: format!("error retrieving rule files for {}: {e}", go_quote(pattern)),
            })?;
            out.extend(files);
        }
        Ok(out)
    }

    /// The configuration as YAML in Prometheus's shape, with defaults filled in and secrets
    /// shown as `<secret>` (what `/api/v1/status/config` returns).
    #[must_use]
    pub fn to_yaml(&self) -> String {
        let mut y = serde_saphyr::to_string(self)
            .unwrap_or_else(|e| format!("<error creating config string: {e}>"));
        if !y.ends_with('\n') {
            y.push('\n');
        }
        y
    }

    /// The scrape jobs of this file (null entries, refused on load, skipped).
    pub fn scrape_jobs(&self) -> impl Iterator<Item = &ScrapeConfig> {
        self.scrape_configs.iter().flatten()
    }

    /// The remote write queues of this file.
    pub fn remote_writes(&self) -> impl Iterator<Item = &RemoteWriteConfig> {
        self.remote_write.iter().flatten()
    }

    /// The remote read endpoints of this file.
    pub fn remote_reads(&self) -> impl Iterator<Item = &RemoteReadConfig> {
        self.remote_read.iter().flatten()
    }
}

impl Default for Config {
    fn default() -> Self {
        Self::from_yaml_str("", ".").expect("the empty configuration is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_config_has_defaults() {
        let c = Config::default();
        assert_eq!(c.global.scrape_interval, Duration::from_secs(60));
        assert_eq!(c.storage.exemplars.max_exemplars, 100_000);
        assert_eq!(
            c.otlp.translation_strategy,
            "UnderscoreEscapingWithSuffixes"
        );
    }

    #[test]
    fn rule_path_pattern() {
        assert!(valid_rule_path("my/*.rules"));
        assert!(valid_rule_path("first.rules"));
        assert!(!valid_rule_path("my/*/rule"));
        assert!(!valid_rule_path("a*b*"));
    }

    #[test]
    fn join_dir_keeps_absolute_and_empty() {
        assert_eq!(join_dir(Path::new("/etc/p"), "x.yml"), "/etc/p/x.yml");
        assert_eq!(join_dir(Path::new("/etc/p"), "/abs"), "/abs");
        assert_eq!(join_dir(Path::new("/etc/p"), ""), "");
        assert_eq!(join_dir(Path::new("."), "x.yml"), "x.yml");
        assert_eq!(join_dir(Path::new("a/b/../../c"), "x/./y"), "c/x/y");
        assert_eq!(clean_path("/../a//b/"), "/a/b");
        assert_eq!(clean_path("../../a"), "../../a");
        assert_eq!(clean_path("a/.."), ".");
        assert_eq!(join_dir(Path::new("/etc/p"), "./x.yml"), "/etc/p/x.yml");
    }
}
