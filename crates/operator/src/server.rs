//! What a Firewatch server takes from the operator crate (in place of the Operator's
//! generated `prometheus.yml`, rule ConfigMaps and config reloader): the watch started from the
//! configuration's `kubernetes_operator` section, and what it generates as the scrape
//! manager's jobs and the rules manager's in-memory rule files. A generated job that does not
//! validate, or whose name a job of the file already uses, is skipped with a log line naming
//! its object.

use std::collections::HashSet;
use std::path::PathBuf;

use config::kubernetes::Role;
use config::rules::RuleFile;
use config::{OperatorConfig, ScrapeConfig};
use discovery::kubernetes::KubernetesDiscovery;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::error::OperatorError;
use crate::relabel::Sharding;
use crate::watch::{Generated, run};

/// Where a pod finds its own namespace.
const SERVICE_ACCOUNT_NAMESPACE: &str = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

/// The directory shown as the rule files' location (`/api/v1/rules`' `file`): the objects'
/// rules are held in memory, named `<dir>/<namespace>-<name>-<uid>.yaml` as the Operator
/// names the files it writes.
pub const RULE_DIR: &str = "prometheusrule";

/// A running watch: what it generates, and how to stop it.
pub struct Running {
    /// The section it was started from.
    pub section: OperatorConfig,
    /// The latest generated configuration (empty until the first complete listing).
    pub generated: watch::Receiver<Generated>,
    /// Stops the watch.
    pub cancel: CancellationToken,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// The API client for `section`'s connection (the same as its Kubernetes discovery's).
///
/// # Errors
/// The connection settings cannot make a client (outside a cluster without `api_server`, an
/// unreadable kubeconfig file...).
pub async fn client(section: &OperatorConfig) -> Result<kube::Client, OperatorError> {
    let sd = section.kubernetes_sd_config(Role::Pod);
    let d = KubernetesDiscovery::new(sd).map_err(OperatorError::Client)?;
    d.client().await.map_err(OperatorError::Client)
}

/// The namespace the server runs in: the section's `namespace`, or in a cluster without it,
/// the service account's namespace.
#[must_use]
pub fn own_namespace(section: &OperatorConfig) -> String {
    let in_cluster = section.api_server.is_none() && section.kubeconfig_file.is_empty();
    if section.namespace.is_empty() && in_cluster {
        return std::fs::read_to_string(SERVICE_ACCOUNT_NAMESPACE)
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
    }
    section.namespace.clone()
}

/// How AlertmanagerConfig objects are merged for `section`: its
/// `alertmanagerConfigMatcherStrategy` (`OnNamespace` when unset) and the namespace the
/// Alertmanager runs in ([`own_namespace`]).
#[must_use]
pub fn merge_options(section: &OperatorConfig) -> crate::MergeOptions {
    crate::MergeOptions {
        strategy: section
            .alertmanager_config_matcher_strategy
            .clone()
            .unwrap_or_default()
            .kind,
        alertmanager_namespace: own_namespace(section),
    }
}

/// Starts watching the objects `section` selects (on the current Tokio runtime). A client
/// that cannot be made is logged and nothing is generated.
#[must_use]
pub fn start(section: &OperatorConfig) -> Running {
    let mut selection = section.clone();
    selection.namespace = own_namespace(section);
    let shards = Sharding {
        shards: section.shards.unwrap_or(1),
        shard: Some(section.shard.unwrap_or(0)),
    };
    let (tx, rx) = watch::channel(Generated::default());
    let cancel = CancellationToken::new();
    let token = cancel.clone();
    tokio::spawn(async move {
        let client = tokio::select! {
            () = token.cancelled() => return,
            c = client(&selection) => c,
        };
        match client {
            Ok(c) => run(c, selection, shards, tx, token).await,
            Err(e) => tracing::error!(error = %e, "cannot watch the Operator's resources"),
        }
    });
    Running {
        section: section.clone(),
        generated: rx,
        cancel,
    }
}

/// The generated scrape configurations as jobs of `cfg` (validated against its `global`
/// section, discovering through the section's connection). Jobs named in `taken` (the file's
/// own) and invalid ones are skipped, each with a log line naming it.
#[must_use]
pub fn scrape_jobs(
    cfg: &config::Config,
    generated: &Generated,
    taken: &HashSet<String>,
) -> Vec<ScrapeConfig> {
    let mut out = Vec::new();
    for value in &generated.scrape_configs {
        let job = value["job_name"].as_str().unwrap_or_default();
        if taken.contains(job) {
            tracing::warn!(
                job,
                "generated scrape config skipped: the configuration file has a job of the same name"
            );
            continue;
        }
        match cfg.generated_scrape_config(&value.to_string(), job) {
            Ok(sc) => out.push(sc),
            Err(e) => tracing::warn!(job, error = %e, "invalid generated scrape config skipped"),
        }
    }
    out
}

/// The selected PrometheusRules' rule files, in memory, named under [`RULE_DIR`].
#[must_use]
pub fn rule_files(generated: &Generated) -> Vec<(PathBuf, RuleFile)> {
    generated
        .rules
        .files
        .iter()
        .map(|(name, file)| (PathBuf::from(RULE_DIR).join(name), file.clone()))
        .collect()
}

/// The text of an `alertmanager.yml` with the selected AlertmanagerConfig objects merged in
/// as the Operator merges them (the text itself when none is selected); `file` names the
/// configuration in errors.
///
/// # Errors
/// The base text is not YAML.
pub fn alertmanager_config_text(
    generated: &Generated,
    text: &str,
    file: &std::path::Path,
    options: &crate::MergeOptions,
) -> Result<String, String> {
    if generated.alertmanager_configs.is_empty() {
        return Ok(text.to_owned());
    }
    let base: serde_json::Value = config::yaml::decode(text, file).map_err(|e| e.to_string())?;
    let objects: Vec<crate::AlertmanagerConfig> = generated
        .alertmanager_configs
        .iter()
        .filter_map(|v| serde_json::from_value(v.clone()).ok())
        .collect();
    let merged =
        crate::merge_alertmanager_configs_with(&base, &objects, &generated.assets, options);
    Ok(merged.config.to_string())
}
