//! `alerting`: where alerts are sent (Alertmanagers) and how they are relabeled first.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::discovery::{DnsSdConfig, FileSdConfig, HttpSdConfig, StaticConfig};
use crate::duration::Duration;
use crate::global::ValidationScheme;
use crate::kubernetes::KubernetesSdConfig;
use crate::relabel::{RelabelList, relabel_list, validate_list};
use crate::scrape::{SdList, validate_sd};
use crate::yaml::{At, Invalid, nullable};

/// The `alerting` section.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertingConfig {
    /// Relabeling applied to every alert before it is sent.
    #[serde(
        default,
        deserialize_with = "relabel_list",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub alert_relabel_configs: RelabelList,
    /// The Alertmanagers.
    #[serde(
        default,
        deserialize_with = "nullable",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub alertmanagers: Vec<Option<AlertmanagerConfig>>,
}

fn default_am_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_api_version() -> String {
    "v2".into()
}

with_http_client! {
    http2_default = "crate::http::yes";
    /// How a set of Alertmanagers is found and talked to.
    #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct AlertmanagerConfig {} {
        /// `http` or `https`.
        #[serde(default = "crate::scrape_default_scheme")]
        pub scheme: String,
        /// Path prefix before `/api/v2/alerts`.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        pub path_prefix: String,
        /// Send timeout (10s).
        #[serde(default = "default_am_timeout")]
        pub timeout: Duration,
        /// Alertmanager API version: only `v2`.
        #[serde(default = "default_api_version")]
        pub api_version: String,
        /// Relabeling of the discovered Alertmanager targets.
        #[serde(default, deserialize_with = "relabel_list", skip_serializing_if = "Vec::is_empty")]
        pub relabel_configs: RelabelList,
        /// Relabeling of alerts sent to these Alertmanagers.
        #[serde(default, deserialize_with = "relabel_list", skip_serializing_if = "Vec::is_empty")]
        pub alert_relabel_configs: RelabelList,
        /// Static Alertmanager addresses.
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

impl AlertingConfig {
    /// Prometheus's checks of the section.
    pub fn validate(&mut self, scheme: ValidationScheme) -> Result<(), Invalid> {
        if let Some(i) = self.alert_relabel_configs.iter().position(Option::is_none) {
            return Err(Invalid::new("empty or null alert relabeling rule"))
                .index(i)
                .key("alert_relabel_configs");
        }
        for (i, am) in self.alertmanagers.iter_mut().enumerate() {
            let Some(am) = am else { continue };
            am.check_decoded().index(i).key("alertmanagers")?;
        }
        validate_list(
            &self.alert_relabel_configs,
            "empty or null alert relabeling rule",
            scheme,
        )
        .key("alert_relabel_configs")?;
        for (i, am) in self.alertmanagers.iter().enumerate() {
            let Some(am) = am else { continue };
            let r = validate_list(&am.alert_relabel_configs, "", scheme)
                .key("alert_relabel_configs")
                .and_then(|()| {
                    validate_list(&am.relabel_configs, "", scheme).key("relabel_configs")
                });
            r.index(i).key("alertmanagers")?;
        }
        Ok(())
    }

    pub(crate) fn set_directory(&mut self, dir: &Path) {
        for am in self.alertmanagers.iter_mut().flatten() {
            am.set_http_directory(dir);
            for c in am.file_sd_configs.iter_mut().flatten() {
                c.set_directory(dir);
            }
            for c in am.http_sd_configs.iter_mut().flatten() {
                c.set_directory(dir);
            }
            for c in am.kubernetes_sd_configs.iter_mut().flatten() {
                c.set_directory(dir);
            }
        }
    }
}

impl AlertmanagerConfig {
    fn check_decoded(&mut self) -> Result<(), Invalid> {
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
        )?;
        if self.api_version != "v2" {
            return Err(Invalid::new(format!(
                "expected Alertmanager api version to be one of [v2] but got {}",
                self.api_version
            )))
            .key("api_version");
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
                "empty or null Alertmanager target relabeling rule",
            ))
            .index(i)
            .key("relabel_configs");
        }
        if let Some(i) = self.alert_relabel_configs.iter().position(Option::is_none) {
            return Err(Invalid::new(
                "empty or null Alertmanager alert relabeling rule",
            ))
            .index(i)
            .key("alert_relabel_configs");
        }
        Ok(())
    }
}
