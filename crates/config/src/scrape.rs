//! `scrape_configs`: one job's targets, how they are scraped, and what is kept.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::discovery::{DnsSdConfig, FileSdConfig, HttpSdConfig, StaticConfig};
use crate::duration::{Duration, Size};
use crate::global::{
    ESCAPING_SCHEMES, GlobalConfig, ScrapeProtocol, ValidationScheme, is_zero,
    validate_scrape_protocols,
};
use crate::join_dir;
use crate::kubernetes::KubernetesSdConfig;
use crate::relabel::{RelabelList, relabel_list, validate_list};
use crate::yaml::{At, Invalid, go_quote, nullable};

fn default_metrics_path() -> String {
    "/metrics".into()
}

fn default_scheme() -> String {
    "http".into()
}

fn is_zero_f64(v: &f64) -> bool {
    *v == 0.0
}

/// Service-discovery lists, each entry possibly `null` (refused on validation).
pub type SdList<T> = Vec<Option<T>>;

with_http_client! {
    http2_default = "crate::http::yes";
    /// One scrape job (every field of Prometheus 3's `scrape_config`). After loading, the
    /// fields Prometheus inherits from `global` hold the effective values.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct ScrapeConfig {
        /// The `job` label's default value; unique in the configuration.
        #[serde(default)]
        pub job_name: String,
        /// Keep the target's labels on conflict instead of renaming them `exported_*`.
        #[serde(default, skip_serializing_if = "crate::http::is_false")]
        pub honor_labels: bool,
        /// Use the timestamps the target exposes.
        #[serde(default = "crate::http::yes")]
        pub honor_timestamps: bool,
        /// Mark series stale when an exposed timestamp disappears.
        #[serde(default)]
        pub track_timestamps_staleness: bool,
        /// URL query parameters.
        #[serde(default, deserialize_with = "nullable", skip_serializing_if = "BTreeMap::is_empty")]
        pub params: BTreeMap<String, Vec<String>>,
        /// Scrape interval (from `global` when unset).
        #[serde(default, skip_serializing_if = "Duration::is_zero")]
        pub scrape_interval: Duration,
        /// Scrape timeout (from `global`, at most the interval, when unset).
        #[serde(default, skip_serializing_if = "Duration::is_zero")]
        pub scrape_timeout: Duration,
        /// Protocols to negotiate, most wanted first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub scrape_protocols: Option<Vec<ScrapeProtocol>>,
        /// Protocol assumed when the target's Content-Type is missing or unknown.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub fallback_scrape_protocol: Option<ScrapeProtocol>,
        /// Scrape native histograms.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub scrape_native_histograms: Option<bool>,
        /// Keep classic histograms even when a native one is exposed.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub always_scrape_classic_histograms: Option<bool>,
        /// Convert classic histograms to native histograms with custom buckets.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub convert_classic_histograms_to_nhcb: Option<bool>,
        /// File to which scrape failures are logged.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub scrape_failure_log_file: String,
        /// HTTP path of the metrics.
        #[serde(default = "default_metrics_path")]
        pub metrics_path: String,
        /// `http` or `https`.
        #[serde(default = "default_scheme")]
        pub scheme: String,
        /// Ask for gzip-compressed responses.
        #[serde(default = "crate::http::yes")]
        pub enable_compression: bool,
        /// Largest uncompressed body accepted (0: none).
        #[serde(default, skip_serializing_if = "Size::is_zero")]
        pub body_size_limit: Size,
        /// Samples per scrape after metric relabeling (0: none).
        #[serde(default, skip_serializing_if = "is_zero")]
        pub sample_limit: u64,
        /// Targets after target relabeling (0: none).
        #[serde(default, skip_serializing_if = "is_zero")]
        pub target_limit: u64,
        /// Labels per series (0: none).
        #[serde(default, skip_serializing_if = "is_zero")]
        pub label_limit: u64,
        /// Label name length (0: none).
        #[serde(default, skip_serializing_if = "is_zero")]
        pub label_name_length_limit: u64,
        /// Label value length (0: none).
        #[serde(default, skip_serializing_if = "is_zero")]
        pub label_value_length_limit: u64,
        /// Native histogram buckets, merged down to this many (0: none).
        #[serde(default, skip_serializing_if = "is_zero")]
        pub native_histogram_bucket_limit: u64,
        /// Smallest bucket growth factor; buckets are merged to reach it.
        #[serde(default, skip_serializing_if = "is_zero_f64")]
        pub native_histogram_min_bucket_factor: f64,
        /// Dropped targets kept for the API (0: all).
        #[serde(default, skip_serializing_if = "is_zero")]
        pub keep_dropped_targets: u64,
        /// Name validation (from `global` when unset).
        #[serde(default)]
        pub metric_name_validation_scheme: ValidationScheme,
        /// Escaping requested from targets.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub metric_name_escaping_scheme: String,
        /// Store extra scrape metrics.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub extra_scrape_metrics: Option<bool>,
    } {
        /// Target relabeling.
        #[serde(default, deserialize_with = "relabel_list", skip_serializing_if = "Vec::is_empty")]
        pub relabel_configs: RelabelList,
        /// Metric relabeling.
        #[serde(default, deserialize_with = "relabel_list", skip_serializing_if = "Vec::is_empty")]
        pub metric_relabel_configs: RelabelList,
        /// Static target groups.
        #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
        pub static_configs: SdList<StaticConfig>,
        /// File discovery.
        #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
        pub file_sd_configs: SdList<FileSdConfig>,
        /// HTTP discovery.
        #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
        pub http_sd_configs: SdList<HttpSdConfig>,
        /// DNS discovery.
        #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
        pub dns_sd_configs: SdList<DnsSdConfig>,
        /// Kubernetes discovery.
        #[serde(default, deserialize_with = "nullable", skip_serializing_if = "Vec::is_empty")]
        pub kubernetes_sd_configs: SdList<KubernetesSdConfig>,
    }
}

/// Checks each entry of an SD list with `check`, refusing null entries.
pub(crate) fn validate_sd<T>(
    list: &mut SdList<T>,
    key: &str,
    mut check: impl FnMut(&mut T) -> Result<(), Invalid>,
) -> Result<(), Invalid> {
    for (i, item) in list.iter_mut().enumerate() {
        match item {
            None => {
                return Err(Invalid::new(format!("empty or null section in {key}")))
                    .index(i)
                    .key(key);
            }
            Some(c) => check(c).index(i).key(key)?,
        }
    }
    Ok(())
}

impl ScrapeConfig {
    /// The checks Prometheus makes while decoding a scrape config (discovery sections, job
    /// name, HTTP client, static targets, null relabel rules).
    pub(crate) fn check_decoded(&mut self) -> Result<(), Invalid> {
        self.check_discovery()?;
        if self.job_name.is_empty() {
            return Err(Invalid::new("job_name is empty"));
        }
        self.validate_http_client()?;
        if self.relabel_configs.is_empty() {
            for (i, sc) in self.static_configs.iter().enumerate() {
                if let Some(sc) = sc {
                    sc.check_targets().index(i).key("static_configs")?;
                }
            }
        }
        if let Some(i) = self.relabel_configs.iter().position(Option::is_none) {
            return Err(Invalid::new(
                "empty or null target relabeling rule in scrape config",
            ))
            .index(i)
            .key("relabel_configs");
        }
        if let Some(i) = self.metric_relabel_configs.iter().position(Option::is_none) {
            return Err(Invalid::new(
                "empty or null metric relabeling rule in scrape config",
            ))
            .index(i)
            .key("metric_relabel_configs");
        }
        Ok(())
    }

    fn check_discovery(&mut self) -> Result<(), Invalid> {
        validate_sd(&mut self.static_configs, "static_configs", |_| Ok(()))?;
        validate_sd(&mut self.file_sd_configs, "file_sd_configs", |c| {
            c.validate()
        })?;
        validate_sd(
            &mut self.http_sd_configs,
            "http_sd_configs",
            HttpSdConfig::validate,
        )?;
        validate_sd(&mut self.dns_sd_configs, "dns_sd_configs", |c| c.validate())?;
        validate_sd(
            &mut self.kubernetes_sd_configs,
            "kubernetes_sd_configs",
            KubernetesSdConfig::validate,
        )
    }

    /// Prometheus's `Validate(global)`: fills in what is inherited from `global` and checks
    /// intervals, protocols, name schemes and relabel rules.
    pub fn validate(&mut self, global: &GlobalConfig) -> Result<(), Invalid> {
        let job = go_quote(&self.job_name);
        if self.scrape_interval.is_zero() {
            self.scrape_interval = global.scrape_interval;
        }
        if self.scrape_timeout > self.scrape_interval {
            return Err(Invalid::new(format!(
                "scrape timeout greater than scrape interval for scrape config with job name {job}"
            )))
            .key("scrape_timeout");
        }
        if self.scrape_timeout.is_zero() {
            self.scrape_timeout = global.scrape_timeout.min(self.scrape_interval);
        }
        if self.body_size_limit.is_zero() {
            self.body_size_limit = global.body_size_limit;
        }
        for (mine, theirs) in [
            (&mut self.sample_limit, global.sample_limit),
            (&mut self.target_limit, global.target_limit),
            (&mut self.label_limit, global.label_limit),
            (
                &mut self.label_name_length_limit,
                global.label_name_length_limit,
            ),
            (
                &mut self.label_value_length_limit,
                global.label_value_length_limit,
            ),
            (&mut self.keep_dropped_targets, global.keep_dropped_targets),
        ] {
            if *mine == 0 {
                *mine = theirs;
            }
        }
        if self.scrape_failure_log_file.is_empty() {
            self.scrape_failure_log_file
                .clone_from(&global.scrape_failure_log_file);
        }
        if self.scrape_native_histograms.is_none() {
            self.scrape_native_histograms = global.scrape_native_histograms;
        }
        if self.extra_scrape_metrics.is_none() {
            self.extra_scrape_metrics = global.extra_scrape_metrics;
        }
        if self.scrape_protocols.is_none() {
            self.scrape_protocols = Some(match &global.scrape_protocols {
                Some(p) => p.clone(),
                None if self.scrape_native_histograms == Some(true) => {
                    ScrapeProtocol::proto_first_defaults()
                }
                None => ScrapeProtocol::defaults(),
            });
        }
        if let Some(p) = &self.scrape_protocols {
            validate_scrape_protocols(p)
                .map_err(|e| Invalid::new(format!("{e} for scrape config with job name {job}")))
                .key("scrape_protocols")?;
        }
        if let Some(p) = &self.fallback_scrape_protocol {
            p.validate()
                .map_err(|e| {
                    Invalid::new(format!(
                        "invalid fallback_scrape_protocol for scrape config with job name {job}: {e}"
                    ))
                })
                .key("fallback_scrape_protocol")?;
        }
        self.resolve_name_schemes(global)?;
        self.convert_classic_histograms_to_nhcb
            .get_or_insert(global.convert_classic_histograms_to_nhcb);
        self.always_scrape_classic_histograms
            .get_or_insert(global.always_scrape_classic_histograms);
        let scheme = self.metric_name_validation_scheme;
        validate_list(
            &self.relabel_configs,
            "empty or null target relabeling rule in scrape config",
            scheme,
        )
        .key("relabel_configs")?;
        validate_list(
            &self.metric_relabel_configs,
            "empty or null metric relabeling rule in scrape config",
            scheme,
        )
        .key("metric_relabel_configs")
    }

    fn resolve_name_schemes(&mut self, global: &GlobalConfig) -> Result<(), Invalid> {
        let local_unset = self.metric_name_validation_scheme == ValidationScheme::Unset;
        if local_unset {
            self.metric_name_validation_scheme = match global.metric_name_validation_scheme {
                ValidationScheme::Legacy => ValidationScheme::Legacy,
                _ => ValidationScheme::Utf8,
            };
        }
        let global_escaping = match global.metric_name_escaping_scheme.as_str() {
            "" if global.metric_name_validation_scheme == ValidationScheme::Legacy => "underscores",
            "" => "allow-utf-8",
            s if ESCAPING_SCHEMES.contains(&s) => s,
            s => {
                return Err(Invalid::new(format!(
                    "unknown global name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got {}",
                    go_quote(s)
                )));
            }
        };
        if self.metric_name_escaping_scheme.is_empty() {
            self.metric_name_escaping_scheme = if local_unset {
                global_escaping.to_string()
            } else if self.metric_name_validation_scheme == ValidationScheme::Legacy {
                "underscores".to_string()
            } else {
                "allow-utf-8".to_string()
            };
        }
        match self.metric_name_escaping_scheme.as_str() {
            "allow-utf-8" if self.metric_name_validation_scheme != ValidationScheme::Utf8 => Err(Invalid::new(
                "utf8 metric names requested but validation scheme is not set to UTF8",
            )),
            s if ESCAPING_SCHEMES.contains(&s) => Ok(()),
            s => Err(Invalid::new(format!(
                "unknown scrape config name escaping method specified, must be one of 'allow-utf-8', 'underscores', 'dots', or 'values', got {}",
                go_quote(s)
            )))
            .key("metric_name_escaping_scheme"),
        }
    }

    /// Makes relative file names relative to `dir`.
    pub fn set_directory(&mut self, dir: &Path) {
        self.set_http_directory(dir);
        self.scrape_failure_log_file = join_dir(dir, &self.scrape_failure_log_file);
        for c in self.file_sd_configs.iter_mut().flatten() {
            c.set_directory(dir);
        }
        for c in self.http_sd_configs.iter_mut().flatten() {
            c.set_directory(dir);
        }
        for c in self.kubernetes_sd_configs.iter_mut().flatten() {
            c.set_directory(dir);
        }
    }

    /// Whether native histograms are scraped.
    #[must_use]
    pub fn scrape_native_histograms_enabled(&self) -> bool {
        self.scrape_native_histograms == Some(true)
    }

    /// The static target groups (null entries, refused on load, skipped).
    #[must_use]
    pub fn static_groups(&self) -> Vec<&StaticConfig> {
        self.static_configs.iter().flatten().collect()
    }
}

/// A file named by `scrape_config_files`: only `scrape_configs`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScrapeConfigs {
    /// The jobs.
    #[serde(default, deserialize_with = "nullable")]
    pub scrape_configs: Vec<Option<ScrapeConfig>>,
}
