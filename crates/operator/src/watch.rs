//! Watching the Operator's objects through the Kubernetes API (the informers of
//! prometheus-operator's `pkg/prometheus/server/operator.go`, without the operator): lists and
//! watches ServiceMonitors, PodMonitors, PrometheusRules, Probes, ScrapeConfigs (each only when
//! the configuration has its selector) and Namespaces, and after every change
//! publishes the scrape configurations and rule files of the selected objects. The Secrets and
//! ConfigMaps they reference are read once, then watched while referenced
//! ([`crate::assetwatch`]). An object that does not decode is skipped with a log line naming it.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use futures::StreamExt;
use futures::stream::BoxStream;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind};
use kube::runtime::watcher::{self, Event};
use kube::{Api, Client};
use serde_json::Value;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::alertmanagerconfig::{AlertmanagerConfig, merge_alertmanager_configs};
use crate::assets::{AssetKind, AssetRef, Assets};
use crate::assetwatch::AssetWatches;
use crate::error::OperatorError;
use crate::options::ScrapeOptions;
use crate::podmonitor::{PodMonitor, pod_scrape_configs};
use crate::probe::{Probe, probe_scrape_config};
use crate::prometheusrule::{PrometheusRule, RuleFiles, rule_files};
use crate::relabel::Sharding;
use crate::scrapeclass::parse_scrape_classes;
use crate::scrapeconfig::{ScrapeConfig, scrape_config_job};
use crate::selection::{Kind, Labels, OperatorSelection, Select};
use crate::servicemonitor::{ObjectMeta, ServiceMonitor, scrape_configs};

/// What the selected objects generate.
#[derive(Debug, Clone, Default)]
pub struct Generated {
    /// Scrape configurations (`prometheus.yml` shape): ServiceMonitors', PodMonitors',
    /// Probes' then ScrapeConfigs', each ordered by namespace and name.
    pub scrape_configs: Vec<Value>,
    /// Rule files by name, and the rejected PrometheusRules.
    pub rules: RuleFiles,
    /// The selected AlertmanagerConfig objects as served (`alertmanagerConfigSelector`), by
    /// namespace and name, for [`crate::merge_alertmanager_configs`].
    pub alertmanager_configs: Vec<Value>,
    /// The Secrets and ConfigMaps read for them.
    pub assets: Arc<Assets>,
}

/// The kinds watched: `(group, version, kind, plural)`; the namespaces last.
const KINDS: [(&str, &str, &str, &str); N] = [
    (GROUP, "v1", "ServiceMonitor", "servicemonitors"),
    (GROUP, "v1", "PodMonitor", "podmonitors"),
    (GROUP, "v1", "PrometheusRule", "prometheusrules"),
    (GROUP, "v1", "Probe", "probes"),
    (GROUP, "v1alpha1", "ScrapeConfig", "scrapeconfigs"),
    (
        GROUP,
        "v1alpha1",
        "AlertmanagerConfig",
        "alertmanagerconfigs",
    ),
    ("", "v1", "Namespace", "namespaces"),
];
const GROUP: &str = "monitoring.coreos.com";
const N: usize = 7;
/// Where each kind is in [`KINDS`].
const SM: usize = 0;
const PM: usize = 1;
const PR: usize = 2;
const PROBE: usize = 3;
const SC: usize = 4;
const AMC: usize = 5;
const NS: usize = 6;

/// The objects seen, per kind, by `namespace/name`.
#[derive(Default)]
struct Cache {
    kinds: [BTreeMap<String, Value>; N],
    /// Lists being (re)built after a watch (re)start.
    init: [Option<BTreeMap<String, Value>>; N],
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
        let namespaces: BTreeMap<String, Labels> = self.kinds[NS]
            .iter()
            .map(|(k, v)| {
                let labels =
                    serde_json::from_value(v["metadata"]["labels"].clone()).unwrap_or_default();
                (k.trim_start_matches('/').to_owned(), labels)
            })
            .collect();
        let sms: Vec<ServiceMonitor> = self.kinds[SM]
            .iter()
            .filter_map(|(k, v)| decode("ServiceMonitor", k, v))
            .collect();
        let pms: Vec<PodMonitor> = self.kinds[PM]
            .iter()
            .filter_map(|(k, v)| decode("PodMonitor", k, v))
            .collect();
        let probes: Vec<Probe> = self.kinds[PROBE]
            .iter()
            .filter_map(|(k, v)| decode("Probe", k, v))
            .collect();
        let scs: Vec<ScrapeConfig> = self.kinds[SC]
            .iter()
            .filter_map(|(k, v)| decode("ScrapeConfig", k, v))
            .collect();
        let prs: Vec<PrometheusRule> = self.kinds[PR]
            .iter()
            .filter_map(|(k, v)| decode("PrometheusRule", k, v))
            .collect();
        let mut scrape = Vec::new();
        let skip = |kind: &str, m: &ObjectMeta, e: &OperatorError| {
            tracing::warn!(kind, object = %format!("{}/{}", m.namespace, m.name), error = %e, "invalid object skipped");
        };
        let monitor_options = ScrapeOptions {
            sharding: shards,
            service_discovery_role: selection.service_discovery_role,
            scrape_classes: parse_scrape_classes(&selection.scrape_classes).into(),
        };
        for sm in selection.select(&sms, &namespaces) {
            match scrape_configs(sm, monitor_options.clone(), assets) {
                Ok(c) => scrape.extend(c),
                Err(e) if assets.is_wanted(&e) => {}
                Err(e) => skip("ServiceMonitor", &sm.metadata, &e),
            }
        }
        for pm in selection.select(&pms, &namespaces) {
            match pod_scrape_configs(pm, monitor_options.clone(), assets) {
                Ok(c) => scrape.extend(c),
                Err(e) if assets.is_wanted(&e) => {}
                Err(e) => skip("PodMonitor", &pm.metadata, &e),
            }
        }
        for p in selection.select(&probes, &namespaces) {
            match probe_scrape_config(p, monitor_options.clone(), assets) {
                Ok(c) => scrape.push(c),
                Err(e) if assets.is_wanted(&e) => {}
                Err(e) => skip("Probe", &p.metadata, &e),
            }
        }
        for sc in selection.select(&scs, &namespaces) {
            match scrape_config_job(sc, monitor_options.clone(), assets) {
                Ok(c) => scrape.push(c),
                Err(e) if assets.is_wanted(&e) => {}
                Err(e) => skip("ScrapeConfig", &sc.metadata, &e),
            }
        }
        let mut amcs = Vec::new();
        let mut raw = Vec::new();
        for (k, v) in &self.kinds[AMC] {
            if let Some(a) = decode::<AlertmanagerConfig>("AlertmanagerConfig", k, v)
                && selection.selects(
                    Kind::AlertmanagerConfig,
                    &a.metadata,
                    namespaces.get(&a.metadata.namespace),
                )
            {
                amcs.push(a);
                raw.push(v.clone());
            }
        }
        if !amcs.is_empty() {
            // A dry merge asks `assets` for every Secret the objects reference.
            let _ = merge_alertmanager_configs(&Value::Null, &amcs, assets);
        }
        Generated {
            alertmanager_configs: raw,
            assets: Arc::new(assets.clone()),
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
    // Only the kinds the configuration selects are watched (a cluster may lack the CRDs of
    // the others, and the server's role need not grant them).
    let kinds = [
        Some(Kind::ServiceMonitor),
        Some(Kind::PodMonitor),
        Some(Kind::PrometheusRule),
        Some(Kind::Probe),
        Some(Kind::ScrapeConfig),
        Some(Kind::AlertmanagerConfig),
        None,
    ];
    let watched: Vec<bool> = kinds
        .iter()
        .map(|k| k.is_none_or(|k| selection.selectors_of(k).0.is_some()))
        .collect();
    let streams: Vec<BoxStream<'static, (usize, Event<DynamicObject>)>> = KINDS
        .iter()
        .enumerate()
        .filter(|(i, _)| watched[*i])
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
    let mut listed: Vec<bool> = watched.iter().map(|w| !w).collect();
    let mut published = false;
    // Secrets and ConfigMaps are read with one GET when first referenced, then watched
    // (each on its own) while referenced, so a rotated credential is picked up at once.
    let mut asset_watches = AssetWatches::new(client.clone(), &cancel);
    loop {
        let changed = tokio::select! {
            () = cancel.cancelled() => return,
            (r, object) = asset_watches.next() => assets.update(&r, object.as_ref()),
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
            assets.take_used();
            generated = cache.generate(&selection, shards, &assets);
        }
        assets.take_wanted();
        // The last translation looked up every object still referenced: watch those, forget
        // the others.
        let used = assets.take_used();
        assets.retain(&used);
        asset_watches.follow(&used);
        let same = {
            let old = out.borrow();
            old.scrape_configs == generated.scrape_configs
                && old.rules.files == generated.rules.files
                && old.rules.rejected == generated.rules.rejected
                && old.alertmanager_configs == generated.alertmanager_configs
                && (generated.alertmanager_configs.is_empty() || old.assets == generated.assets)
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
