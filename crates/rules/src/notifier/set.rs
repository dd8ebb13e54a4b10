//! One set of Alertmanagers (one entry of `alerting.alertmanagers`): its configuration, its
//! HTTP client, and the Alertmanagers its service discovery found, after `relabel_configs`.
//!
//! Each discovered target starts with its discovered labels, `__scheme__` and `__alerts_path__`
//! from the configuration, and its group's labels; `relabel_configs` may rewrite or drop it.
//! A kept target is the URL `<__scheme__>://<__address__><__alerts_path__>`.

use std::time::Duration;

use config::AlertmanagerConfig;
use discovery::TargetGroup;
use model::relabel::{RelabelConfig, process_builder};
use model::{Labels, LabelsBuilder};
use parking_lot::RwLock;

use super::client::AmClient;
use super::error::NotifierError;

const SCHEME_LABEL: &str = "__scheme__";
const ADDRESS_LABEL: &str = "__address__";
const PATH_LABEL: &str = "__alerts_path__";

/// The discovered members of a set.
#[derive(Debug, Default, Clone)]
pub(crate) struct Members {
    /// URLs of the Alertmanagers alerts go to, deduplicated.
    pub(crate) active: Vec<String>,
    /// URLs built from the labels of targets relabeling dropped.
    pub(crate) dropped: Vec<String>,
}

/// A set of Alertmanagers sharing one configuration.
#[derive(Debug)]
pub(crate) struct AlertmanagerSet {
    /// `config-<index>`, the key of the set's target groups from discovery.
    pub(crate) name: String,
    /// The configuration it was built from (a reload with an equal one keeps the members).
    pub(crate) config: AlertmanagerConfig,
    pub(crate) client: AmClient,
    pub(crate) timeout: Duration,
    /// Relabeling of alerts for this set only.
    pub(crate) alert_relabel: Vec<RelabelConfig>,
    relabel: Vec<RelabelConfig>,
    pub(crate) members: RwLock<Members>,
}

/// `/<prefix>/api/v2/alerts`, cleaned as Go's `path.Join`.
fn post_path(prefix: &str, version: &str) -> String {
    config::clean_path(&format!("/{prefix}/api/{version}/alerts"))
}

fn url_of(labels: &Labels) -> String {
    let path = labels.get(PATH_LABEL).unwrap_or_default();
    let sep = if path.is_empty() || path.starts_with('/') {
        ""
    } else {
        "/"
    };
    format!(
        "{}://{}{sep}{path}",
        labels.get(SCHEME_LABEL).unwrap_or_default(),
        labels.get(ADDRESS_LABEL).unwrap_or_default()
    )
}

impl AlertmanagerSet {
    /// Builds the set `name` from `config`.
    pub(crate) fn new(name: String, config: &AlertmanagerConfig) -> Result<Self, NotifierError> {
        if config.api_version != "v2" {
            return Err(NotifierError::ApiVersion {
                set: name,
                version: config.api_version.clone(),
            });
        }
        let client = AmClient::new(&name, &config.http_client())?;
        Ok(Self {
            client,
            timeout: config.timeout.to_std(),
            alert_relabel: config::relabel::rules(&config.alert_relabel_configs),
            relabel: config::relabel::rules(&config.relabel_configs),
            config: config.clone(),
            members: RwLock::new(Members::default()),
            name,
        })
    }

    /// The active and dropped Alertmanagers of one discovered group.
    ///
    /// # Errors
    /// A kept target whose address is not a valid `host:port` (the whole group is refused, as
    /// in Prometheus).
    fn members_of_group(&self, group: &TargetGroup) -> Result<(Vec<Labels>, Vec<Labels>), String> {
        let mut active = Vec::new();
        let mut dropped = Vec::new();
        let path = post_path(&self.config.path_prefix, &self.config.api_version);
        for target in &group.targets {
            let mut b = LabelsBuilder::default();
            for (k, v) in target {
                b.set(k, v);
            }
            b.set(SCHEME_LABEL, &self.config.scheme);
            b.set(PATH_LABEL, &path);
            for (k, v) in &group.labels {
                if !target.contains_key(k) {
                    b.set(k, v);
                }
            }
            let before = b.labels();
            if !process_builder(&mut b, &self.relabel) {
                dropped.push(before);
                continue;
            }
            let address = b.get(ADDRESS_LABEL).unwrap_or_default();
            if address.contains('/') {
                return Err(format!("{address:?} is not a valid hostname"));
            }
            active.push(b.labels());
        }
        Ok((active, dropped))
    }

    /// Replaces the members with those of `groups` (duplicates by URL removed). Returns the URLs
    /// of the active members.
    pub(crate) fn sync(&self, groups: &[TargetGroup]) -> Vec<String> {
        let mut members = Members::default();
        for g in groups {
            match self.members_of_group(g) {
                Ok((active, dropped)) => {
                    for am in &active {
                        let url = url_of(am);
                        if !members.active.contains(&url) {
                            members.active.push(url);
                        }
                    }
                    members.dropped.extend(dropped.iter().map(url_of));
                }
                Err(err) => {
                    tracing::error!(set = %self.name, %err, "Creating discovered Alertmanagers failed");
                }
            }
        }
        let active = members.active.clone();
        *self.members.write() = members;
        active
    }

    /// The URLs of the active Alertmanagers.
    pub(crate) fn active(&self) -> Vec<String> {
        self.members.read().active.clone()
    }
}

#[cfg(test)]
mod tests {
    use discovery::LabelSet;

    use super::*;

    fn set(yaml: &str) -> AlertmanagerSet {
        let text = format!(
            "alerting:\n  alertmanagers:\n  - {}\n",
            yaml.replace('\n', "\n    ")
        );
        let cfg = config::Config::from_yaml_str(&text, "/").unwrap();
        AlertmanagerSet::new(
            "config-0".into(),
            cfg.alerting.alertmanagers[0].as_ref().unwrap(),
        )
        .unwrap()
    }

    fn group(addrs: &[&str], labels: &[(&str, &str)]) -> TargetGroup {
        let labels: LabelSet = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        TargetGroup::from_addresses("0", addrs.iter().copied(), labels)
    }

    #[test]
    fn urls_from_scheme_prefix_and_address() {
        let s = set(
            "scheme: https\npath_prefix: /am/../alertmanager/\nstatic_configs: [{targets: [a:9093]}]",
        );
        let active = s.sync(&[group(&["a:9093", "b:9093", "a:9093"], &[])]);
        assert_eq!(
            active,
            [
                "https://a:9093/alertmanager/api/v2/alerts",
                "https://b:9093/alertmanager/api/v2/alerts"
            ]
        );
    }

    #[test]
    fn relabeling_rewrites_and_drops_targets() {
        let s = set(concat!(
            "static_configs: [{targets: [a:1]}]\n",
            "relabel_configs:\n",
            "- {source_labels: [env], regex: dev, action: drop}\n",
            "- {target_label: __alerts_path__, replacement: /custom/alerts}\n",
            "- {source_labels: [__address__], regex: 'b:(.*)', target_label: __scheme__, replacement: https}",
        ));
        s.sync(&[
            group(&["a:1", "b:2"], &[("env", "prod")]),
            group(&["c:3"], &[("env", "dev")]),
        ]);
        let m = s.members.read().clone();
        assert_eq!(
            m.active,
            ["http://a:1/custom/alerts", "https://b:2/custom/alerts"]
        );
        assert_eq!(m.dropped, ["http://c:3/api/v2/alerts"]);
    }

    #[test]
    fn address_with_slash_refuses_the_group() {
        let s = set(concat!(
            "static_configs: [{targets: [a:1]}]\n",
            "relabel_configs:\n",
            "- {source_labels: [__address__], regex: 'x', target_label: __address__, replacement: 'h/p'}",
        ));
        let active = s.sync(&[group(&["a:1", "x"], &[]), group(&["b:2"], &[])]);
        assert_eq!(active, ["http://b:2/api/v2/alerts"]);
    }
}
