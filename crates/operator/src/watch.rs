//! Watching the Operator's objects through the Kubernetes API (the informers of
//! prometheus-operator's `pkg/prometheus/server/operator.go`, without the operator): lists and
//! watches ServiceMonitors, PodMonitors, PrometheusRules and Namespaces, and after every change
//! publishes the scrape configurations and rule files of the selected objects. An object that
//! does not decode is skipped with a log line naming it.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use futures::stream::BoxStream;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use serde_json::Value;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::assets::{AssetKind, AssetRef, Assets};
use crate::error::OperatorError;
use crate::podmonitor::{PodMonitor, pod_scrape_configs};
use crate::prometheusrule::{PrometheusRule, RuleFiles, rule_files};
use crate::relabel::Sharding;
use crate::selection::{Labels, OperatorSelection, Select};
use crate::servicemonitor::{ObjectMeta, ServiceMonitor, scrape_configs};

/// What the selected objects generate.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    /// Scrape configurations (`prometheus.yml` shape): ServiceMonitors' then PodMonitors',
    /// each ordered by namespace and name.
    pub scrape_configs: Vec<Value>,
    /// Rule files by name, and the rejected PrometheusRules.
    pub rules: RuleFiles,
}

const KINDS: [(&str, &str, &str, &str); 4] = [
    (
        "monitoring.coreos.com",
        "v1",
        "ServiceMonitor",
        "servicemonitors",
    ),
    ("monitoring.coreos.com", "v1", "PodMonitor", "podmonitors"),
    (
        "monitoring.coreos.com",
        "v1",
        "PrometheusRule",
        "prometheusrules",
    ),
    ("", "v1", "Namespace", "namespaces"),
];

/// The objects seen, per kind, by `namespace/name`.
#[derive(Default)]
struct Cache {
    kinds: [BTreeMap<String, Value>; 4],
    /// Lists being (re)built after a watch (re)start.
    init: [Option<BTreeMap<String, Value>>; 4],
}

fn key(o: &DynamicObject) -> String {
    format!(
        "{}/{}",
        o.metadata.namespace.as_deref().unwrap_or(""),
        o.metadata.name.as_deref().unwrap_or("")
    )
}

fn decode<T: serde::de::DeserializeOwned>(kind: &str, key: &str, v: &Value) -> Option<T> {
    match serde_json::from_value(v.clone()) {
        Ok(t) => Some(t),
        Err(e) => {
            tracing::warn!(kind, object = key, error = %e, "invalid object skipped");
            None
        }
    }
}

impl Cache {
    /// Applies one event; whether the visible objects changed.
    fn apply(&mut self, i: usize, ev: Event<DynamicObject>) -> bool {
        let value = |o: &DynamicObject| serde_json::to_value(o).unwrap_or(Value::Null);
        match ev {
            Event::Init => {
                self.init[i] = Some(BTreeMap::new());
                false
            }
            Event::InitApply(o) => {
                if let Some(m) = &mut self.init[i] {
                    m.insert(key(&o), value(&o));
                }
                false
            }
            Event::InitDone => {
                self.kinds[i] = self.init[i].take().unwrap_or_default();
                true
            }
            Event::Apply(o) => {
                self.kinds[i].insert(key(&o), value(&o));
                true
            }
            Event::Delete(o) => {
                self.kinds[i].remove(&key(&o));
                true
            }
        }
    }

    fn generate(
        &self,
        selection: &OperatorSelection,
        shards: Sharding,
        assets: &Assets,
    ) -> Generated {
        let namespaces: BTreeMap<String, Labels> = self.kinds[3]
            .iter()
            .map(|(k, v)| {
                let labels =
                    serde_json::from_value(v["metadata"]["labels"].clone()).unwrap_or_default();
                (k.trim_start_matches('/').to_owned(), labels)
            })
            .collect();
        let sms: Vec<ServiceMonitor> = self.kinds[0]
            .iter()
            .filter_map(|(k, v)| decode("ServiceMonitor", k, v))
            .collect();
        let pms: Vec<PodMonitor> = self.kinds[1]
            .iter()
            .filter_map(|(k, v)| decode("PodMonitor", k, v))
            .collect();
        let prs: Vec<PrometheusRule> = self.kinds[2]
            .iter()
            .filter_map(|(k, v)| decode("PrometheusRule", k, v))
            .collect();
        let mut scrape = Vec::new();
        let skip = |kind: &str, m: &ObjectMeta, e: &OperatorError| {
            tracing::warn!(kind, object = %format!("{}/{}", m.namespace, m.name), error = %e, "invalid object skipped");
        };
        for sm in selection.select(&sms, &namespaces) {
            match scrape_configs(sm, shards, assets) {
                Ok(c) => scrape.extend(c),
                Err(e) if assets.is_wanted(&e) => {}
                Err(e) => skip("ServiceMonitor", &sm.metadata, &e),
            }
        }
        for pm in selection.select(&pms, &namespaces) {
            match pod_scrape_configs(pm, shards, assets) {
                Ok(c) => scrape.extend(c),
                Err(e) if assets.is_wanted(&e) => {}
                Err(e) => skip("PodMonitor", &pm.metadata, &e),
            }
        }
        Generated {
            scrape_configs: scrape,
            rules: rule_files(selection.select(&prs, &namespaces)),
        }
    }
}

/// Watches the objects until `cancel`, publishing what the selected ones generate on `out`
/// after the first complete listing and after every change. Watch errors (410 Gone included)
/// are retried with backoff by kube's watcher, which relists.
pub async fn run(
    client: Client,
    selection: OperatorSelection,
    shards: Sharding,
    out: watch::Sender<Generated>,
    cancel: CancellationToken,
) {
    let streams: Vec<BoxStream<'static, (usize, Event<DynamicObject>)>> = KINDS
        .iter()
        .enumerate()
        .map(|(i, (group, version, kind, plural))| {
            let gvk = GroupVersionKind::gvk(group, version, kind);
            let ar = ApiResource::from_gvk_with_plural(&gvk, plural);
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
            watcher::watcher(api, watcher::Config::default())
                .filter_map(move |r| async move {
                    match r {
                        Ok(ev) => Some((i, ev)),
                        Err(e) => {
                            tracing::warn!(kind = KINDS[i].2, error = %e, "watch failed, retrying");
                            tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                            None
                        }
                    }
                })
                .boxed()
        })
        .collect();
    let mut events = futures::stream::select_all(streams);
    let mut cache = Cache::default();
    let mut assets = Assets::default();
    let mut listed = [false; 4];
    let mut published = false;
    // Secrets and ConfigMaps are read with GET (no watch, as the Operator's RBAC allows):
    // read again at this interval so rotated credentials are picked up.
    let mut refresh = tokio::time::interval(ASSET_REFRESH);
    refresh.tick().await;
    loop {
        let changed = tokio::select! {
            () = cancel.cancelled() => return,
            _ = refresh.tick() => {
                assets.clear();
                true
            }
            next = events.next() => {
                let Some((i, ev)) = next else { return };
                if matches!(ev, Event::InitDone) {
                    listed[i] = true;
                }
                cache.apply(i, ev)
            }
        };
        if !changed || !listed.iter().all(|l| *l) {
            continue;
        }
        // A monitor's translation stops at its first value not loaded yet: load what was
        // asked for and translate again, until nothing more is (each round loads at least
        // one object per waiting monitor; a monitor references at most a handful).
        let mut generated = cache.generate(&selection, shards, &assets);
        for _ in 0..MAX_ASSET_ROUNDS {
            let wanted = assets.take_wanted();
            if wanted.is_empty() {
                break;
            }
            load_assets(&client, wanted, &mut assets).await;
            generated = cache.generate(&selection, shards, &assets);
        }
        assets.take_wanted();
        let same = {
            let old = out.borrow();
            old.scrape_configs == generated.scrape_configs
                && old.rules.files == generated.rules.files
                && old.rules.rejected == generated.rules.rejected
        };
        if !same || !published {
            published = true;
            out.send_replace(generated);
        }
    }
}

/// At most this many rounds of loading referenced objects per change (a monitor references
/// at most eight: CA, certificate, key, user, password, credentials, client id and secret).
const MAX_ASSET_ROUNDS: usize = 9;

/// How often referenced Secrets and ConfigMaps are read again.
const ASSET_REFRESH: std::time::Duration = std::time::Duration::from_secs(60);

/// GETs each wanted Secret or ConfigMap into `assets` (a missing one is recorded as
/// `not found`, another failure with its text).
async fn load_assets(client: &Client, wanted: BTreeSet<AssetRef>, assets: &mut Assets) {
    for (kind, namespace, name) in wanted {
        let gvk = GroupVersionKind::gvk(
            "",
            "v1",
            if kind == AssetKind::Secret {
                "Secret"
            } else {
                "ConfigMap"
            },
        );
        let ar = ApiResource::from_gvk_with_plural(&gvk, kind.plural());
        let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), &namespace, &ar);
        match api.get_opt(&name).await {
            Ok(Some(o)) => assets.insert_object(kind, &namespace, &name, &o.data),
            Ok(None) => assets.insert(kind, &namespace, &name, Err("not found".into())),
            Err(e) => {
                tracing::warn!(kind = kind.name(), object = %format!("{namespace}/{name}"), error = %e, "cannot read");
                assets.insert(kind, &namespace, &name, Err(e.to_string()));
            }
        }
    }
}
